#!/usr/bin/env python3
"""The Python baseline of scripts/bench-app-backup: a backup the way the Python Cache Manager
takes one, N times in a row, timed step by step.

One backup (`--keys-mode each`, the Cache Manager as it is: it loads the keys for every backup):
    1. load the app's keys from the key JSON and unlock them: PBKDF2-HMAC-SHA256 with
       1,000,000 iterations, AES-GCM unseal of the private key (enc_check.unlock);
    2. read the live file and decrypt it: ECDH + HKDF, GCM tag check, zlib inflate when the
       flag says so (enc_check.decrypt) -- the "verified by decrypting" step;
    3. copy it into the backup directory as `{name}_{YYYYmmdd_HHMMSS}_{i}.enc`
       (shutil.copy2; the counter keeps 100 backups a second apart) and fsync the copy;
    4. keep the newest --keep (10) backups of the app, delete the rest.
`--keys-mode once` unlocks the keys once before the loop (timed apart) and does steps 2-4 per
backup: the fair comparison with a daemon that keeps keys unlocked.

    bench_cache_manager_backup.py backup --keys KEYS --app APP --name NAME --backup-dir DIR
                                         [-n 100] [--keys-mode each|once] [--keep 10] FILE
    bench_cache_manager_backup.py fsync-floor --dir DIR [-n 20] SIZE...

Both print one JSON object on stdout. `fsync-floor` writes SIZE bytes of random data to a
fresh file and fsyncs it, n times per size, reporting the median fsync and write+fsync times:
the floor of any durable backup on this machine, measured in the same run.

Runs on the venv of scripts/test (cryptography, kyber-py); imports enc_check beside it.
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import enc_check  # noqa: E402  (the independent .enc implementation beside this file)


def unlock(keys_path, app):
    service, entries = enc_check.load_keys(keys_path)
    return enc_check.unlock(service, entries, app)


def backup_once(args, keys, i):
    """One backup; returns the seconds spent in each step."""
    steps = {}
    t0 = time.perf_counter()
    if keys is None:
        kind, _public, private = unlock(args.keys, args.app)
    else:
        kind, _public, private = keys
    t1 = time.perf_counter()
    with open(args.file, "rb") as f:
        data = f.read()
    enc_check.decrypt(kind, private, data)  # raises CheckError unless the tag verifies
    t2 = time.perf_counter()
    stamp = time.strftime("%Y%m%d_%H%M%S")
    target = os.path.join(args.backup_dir, f"{args.name}_{stamp}_{i:05d}.enc")
    shutil.copy2(args.file, target)
    fd = os.open(target, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    t3 = time.perf_counter()
    prefix = args.name + "_"
    backups = sorted(n for n in os.listdir(args.backup_dir) if n.startswith(prefix))
    for old in backups[: max(0, len(backups) - args.keep)]:
        os.remove(os.path.join(args.backup_dir, old))
    t4 = time.perf_counter()
    steps["unlock"] = t1 - t0
    steps["read_decrypt"] = t2 - t1
    steps["copy_fsync"] = t3 - t2
    steps["prune"] = t4 - t3
    return steps


def run_backups(args):
    os.makedirs(args.backup_dir, exist_ok=True)
    keys = None
    unlock_once_s = None
    if args.keys_mode == "once":
        t = time.perf_counter()
        keys = unlock(args.keys, args.app)
        unlock_once_s = time.perf_counter() - t
    per_backup = []
    totals = {}
    start = time.perf_counter()
    for i in range(args.n):
        t = time.perf_counter()
        steps = backup_once(args, keys, i)
        per_backup.append(time.perf_counter() - t)
        for name, seconds in steps.items():
            totals[name] = totals.get(name, 0.0) + seconds
    elapsed = time.perf_counter() - start
    return {
        "file": os.path.basename(args.file),
        "size": os.path.getsize(args.file),
        "n": args.n,
        "keys": args.keys_mode,
        "unlock_once_s": unlock_once_s,
        "elapsed_s": elapsed,
        "per_backup_s": per_backup,
        "median_s": statistics.median(per_backup),
        "step_mean_s": {name: total / args.n for name, total in totals.items()},
    }


def fsync_floor(args):
    os.makedirs(args.dir, exist_ok=True)
    rows = []
    for size in args.sizes:
        payload = os.urandom(size)
        fsync_s, total_s = [], []
        for i in range(args.n):
            path = os.path.join(args.dir, f"floor-{size}-{i}")
            t0 = time.perf_counter()
            with open(path, "wb") as f:
                f.write(payload)
                f.flush()
                t1 = time.perf_counter()
                os.fsync(f.fileno())
            t2 = time.perf_counter()
            fsync_s.append(t2 - t1)
            total_s.append(t2 - t0)
            os.remove(path)
        rows.append({"size": size, "fsync_median_s": statistics.median(fsync_s),
                     "write_fsync_median_s": statistics.median(total_s)})
    return {"fsync_floor": rows}


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    backup = commands.add_parser("backup")
    backup.add_argument("--keys", required=True)
    backup.add_argument("--app", required=True)
    backup.add_argument("--name", required=True)
    backup.add_argument("--backup-dir", required=True)
    backup.add_argument("-n", type=int, default=100)
    backup.add_argument("--keys-mode", dest="keys_mode", choices=("each", "once"),
                        default="each")
    backup.add_argument("--keep", type=int, default=10)
    backup.add_argument("file")
    floor = commands.add_parser("fsync-floor")
    floor.add_argument("--dir", required=True)
    floor.add_argument("-n", type=int, default=20)
    floor.add_argument("sizes", type=int, nargs="+")
    args = parser.parse_args(argv)
    result = run_backups(args) if args.command == "backup" else fsync_floor(args)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
