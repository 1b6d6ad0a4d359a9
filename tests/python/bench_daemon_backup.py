#!/usr/bin/env python3
"""The daemon side of scripts/bench-app-backup: N backups of one registered app, timed.

    bench_daemon_backup.py cachectl --cachectl PATH --socket SOCK --app NAME [-n 100]
        one `cachectl backup create NAME` process per backup: the user's path, process
        start-up, connect and handshake included;
    bench_daemon_backup.py socket --socket SOCK --app NAME [-n 100]
        one connection, N `backup_create` requests one after the other (each waits for its
        answer: the daemon runs one operation per app at a time);
    bench_daemon_backup.py verify --socket SOCK --app NAME [-n 3]
        `backup_verify` of the app's stored backups, n times: the daemon decrypting backups
        it already holds (read, SHA-256, GCM, inflate), no writes but the catalog.

Each prints one JSON object on stdout. The socket client speaks docs/protocol.md (length
prefix, MessagePack envelopes) with the `msgpack` package.
"""

import argparse
import json
import os
import socket
import statistics
import struct
import subprocess
import sys
import time

import msgpack


class Client:
    """The smallest client of docs/protocol.md section 12: one connection, one request at a
    time, `progress` answers counted and skipped."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.next_id = 1
        self.progress = 0
        self.call("hello", protocol=1, client="bench_daemon_backup.py/1")

    def _read(self, n):
        chunks = []
        while n:
            chunk = self.sock.recv(min(n, 1 << 20))
            if not chunk:
                raise ConnectionError("cachemgrd closed the connection")
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def call(self, op, **args):
        request_id = self.next_id
        self.next_id += 1
        payload = msgpack.packb({"id": request_id, "body": {op: args}}, use_bin_type=True)
        self.sock.sendall(struct.pack(">I", len(payload)) + payload)
        while True:
            (length,) = struct.unpack(">I", self._read(4))
            message = msgpack.unpackb(self._read(length), raw=False)
            ((name, fields),) = message["body"].items()
            if name == "progress":
                self.progress += 1
                continue
            if name == "error":
                raise RuntimeError(f"{op}: {fields['kind']}: {fields['message']}")
            if message["id"] != request_id:
                raise RuntimeError(f"answer for id {message['id']}, expected {request_id}")
            return name, fields


def summary(kind, app, per, extra=None):
    result = {
        "mode": kind,
        "app": app,
        "n": len(per),
        "elapsed_s": sum(per),
        "per_backup_s": per,
        "median_s": statistics.median(per),
        "p90_s": sorted(per)[int(0.9 * (len(per) - 1))],
    }
    result.update(extra or {})
    return result


def via_cachectl(args):
    command = [args.cachectl, "--socket", args.socket, "backup", "create", args.app]
    per = []
    for _ in range(args.n):
        t = time.perf_counter()
        done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        per.append(time.perf_counter() - t)
        if done.returncode != 0:
            raise RuntimeError(f"cachectl failed ({done.returncode}): {done.stderr.decode()}")
    return summary("cachectl", args.app, per)


def via_socket(args):
    client = Client(args.socket)
    per = []
    size = None
    for _ in range(args.n):
        t = time.perf_counter()
        name, fields = client.call("backup_create", app=args.app, pin=False)
        per.append(time.perf_counter() - t)
        if name != "backup":
            raise RuntimeError(f"backup_create answered {name}")
        size = fields.get("size", size)
    return summary("socket", args.app, per, {"progress_frames": client.progress, "size": size})


def verify(args):
    client = Client(args.socket)
    per, checked = [], 0
    for _ in range(args.n):
        t = time.perf_counter()
        name, fields = client.call("backup_verify", app=args.app)
        per.append(time.perf_counter() - t)
        if name != "verified" or fields["bad"]:
            raise RuntimeError(f"backup_verify answered {name} {fields}")
        checked = fields["checked"]
    return {"mode": "verify", "app": args.app, "runs": args.n, "backups_checked": checked,
            "per_run_s": per, "median_s": statistics.median(per)}


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", choices=("cachectl", "socket", "verify"))
    parser.add_argument("--socket", required=True)
    parser.add_argument("--app", required=True)
    parser.add_argument("--cachectl")
    parser.add_argument("-n", type=int, default=100)
    args = parser.parse_args(argv)
    if args.mode == "cachectl" and not (args.cachectl and os.access(args.cachectl, os.X_OK)):
        parser.error("cachectl mode needs --cachectl PATH")
    run = {"cachectl": via_cachectl, "socket": via_socket, "verify": verify}[args.mode]
    print(json.dumps(run(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
