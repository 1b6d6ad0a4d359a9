#!/usr/bin/env python3
"""Writes a large app-cache JSON document for scripts/bench-app-backup.

The document looks like an image app's cache (one entry per file: a content hash, a path, a
random embedding in base64, a time and tags) and is far from trivially compressible: the
hashes, names and embeddings are random. Its size is chosen so that, once zlib'd at the best
level as the apps' writer does, it comes to about --target-bytes (the .enc file's size): the
ratio is measured on a sample first.

    bench_make_cache.py --target-bytes 50000000 [--zlib-out OUT.zlib] OUT.json

--zlib-out also writes the document zlib'd at level 9, the exact payload the apps' writer (and
enc_check.py encrypt) puts in the file, for timing the inflate alone. Prints {"json_bytes",
"estimated_zlib_bytes", "entries"} (and "zlib_bytes") on stdout. Deterministic for a given
--seed (the bytes come from random.Random, not os.urandom).
"""

import argparse
import base64
import json
import random
import sys
import zlib


def entry(rng, i):
    digest = rng.randbytes(32).hex()
    return digest[:24], {
        "path": f"/home/user/Pictures/{rng.randbytes(4).hex()}/{digest[:16]}.png",
        "sha256": digest,
        "embedding": base64.b64encode(rng.randbytes(384)).decode(),
        "mtime": 1_700_000_000.0 + i * 1.5,
        "tags": ["portrait", "landscape", "favourite"][: i % 4],
    }


def document(rng, count):
    return {"version": 3, "images": dict(entry(rng, i) for i in range(count))}


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target-bytes", type=int, default=50_000_000)
    parser.add_argument("--seed", type=int, default=20261121)
    parser.add_argument("--zlib-out")
    parser.add_argument("out")
    args = parser.parse_args(argv)

    sample_count = 2000
    sample = json.dumps(document(random.Random(args.seed + 1), sample_count)).encode()
    ratio = len(zlib.compress(sample, 9)) / len(sample)
    per_entry = len(sample) / sample_count
    count = max(1, round(args.target_bytes / ratio / per_entry))

    data = json.dumps(document(random.Random(args.seed), count)).encode()
    with open(args.out, "wb") as f:
        f.write(data)
    report = {"json_bytes": len(data), "estimated_zlib_bytes": round(len(data) * ratio),
              "entries": count}
    if args.zlib_out:
        compressed = zlib.compress(data, 9)
        with open(args.zlib_out, "wb") as f:
            f.write(compressed)
        report["zlib_bytes"] = len(compressed)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
