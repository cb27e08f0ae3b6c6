#!/usr/bin/env python3
"""Continuous learning on a simulated shop: its events streamed in time order into a running
`assay serve`, a model version fitted after each chunk, and the version table printed.

The shop's events are sorted by time. The first chunk is the data the server imports at start
(version 1); each later chunk is sent through POST /events in batches, then POST /models fits a
version on everything so far. Each version's row shows the events it was fitted on, its test
recall@10 and ndcg@10 (RecBole protocol on the most recent preferences, each user-item pair
once) and the value of the chunk that arrived since the version before (test ndcg@10 with the
chunk minus without it, same split). At the end, the version before the last is activated
again and must serve exactly the lists it served when it was fitted (the re-ranker is off so
that lists are the model's). Standard library only; prints the table and one JSON line.
"""

import argparse
import csv
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time


def call(port, method, path, body=None, timeout=600):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    c.request(method, path, body=None if body is None else json.dumps(body),
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    if r.status != 200:
        raise RuntimeError(f"{method} {path}: {r.status} {data[:300]!r}")
    return json.loads(data)


def wait_health(port, deadline):
    while time.time() < deadline:
        try:
            return call(port, "GET", "/health", timeout=2)
        except (OSError, RuntimeError):
            time.sleep(0.2)
    raise RuntimeError("the server did not start")


def event_of(row):
    event = {"user": row["user_id"], "item": row["item_id"], "kind": row["kind"],
             "timestamp": int(row["timestamp"])}
    if row["value"]:
        event["value"] = float(row["value"])
    if row["source"]:
        event["source"] = row["source"]
    return event


def lists(port, users, k):
    return {u: [s["item"] for s in call(port, "GET", f"/recommend/{u}?k={k}")["items"]] for u in users}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--assay", default="target/release/assay")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--chunks", type=int, default=6, help="chunks after the first")
    parser.add_argument("--first", type=float, default=0.25, help="share of events imported at start")
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--port", type=int, default=7793)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--model", default="itemknn")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="assay-stream-")
    server = None
    try:
        shop = os.path.join(work, "shop")
        subprocess.run([args.assay, "simulate", "--out", shop, "--events", str(args.events),
                        "--seed", str(args.seed)], check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(shop, "events.csv"), newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            fields = reader.fieldnames
            rows = list(reader)
        rows.sort(key=lambda r: int(r["timestamp"]))
        cut = int(len(rows) * args.first)
        first = os.path.join(work, "first")
        shutil.copytree(shop, first)
        with open(os.path.join(first, "events.csv"), "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows[:cut])
        rest = rows[cut:]
        size = -(-len(rest) // args.chunks)
        chunks = [rest[i:i + size] for i in range(0, len(rest), size)]
        server = subprocess.Popen(
            [args.assay, "serve", first, "--store", os.path.join(work, "s.db"), "--addr",
             f"127.0.0.1:{args.port}", "--no-auth", "--encoder", "hash", "--no-bandit",
             "--model", args.model, "--seed", str(args.seed)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_health(args.port, time.time() + 600)
        probe = sorted({r["user_id"] for r in rows[:cut]})[:20]
        served = {1: lists(args.port, probe, 10)}
        sent = cut
        started = time.time()
        for chunk in chunks:
            for i in range(0, len(chunk), args.batch):
                call(args.port, "POST", "/events", [event_of(r) for r in chunk[i:i + args.batch]])
            sent += len(chunk)
            record = call(args.port, "POST", "/models")
            served[record["version"]] = lists(args.port, probe, 10)
        stream_seconds = time.time() - started
        models = call(args.port, "GET", "/models")
        models = models if isinstance(models, list) else models.get("models", models)
        print(f"{'version':>7} {'events':>8} {'pairs':>7} {'recall@10':>9} {'ndcg@10':>8} "
              f"{'new pairs':>9} {'value ndcg@10':>13}")
        table = []
        for m in models:
            metrics = m["metrics"]
            test = metrics.get("test", {})
            new = metrics.get("new_data", {})
            row = {"version": m["version"], "events": m["events"],
                   "window_pairs": metrics.get("window_pairs"), "recall": test.get("recall"),
                   "ndcg": test.get("ndcg"), "new_pairs": new.get("pairs"),
                   "value_ndcg": new.get("value_ndcg")}
            table.append(row)
            fmt = lambda v, w, d: f"{v:>{w}.{d}f}" if isinstance(v, float) else f"{'-':>{w}}"
            print(f"{row['version']:>7} {row['events']:>8} {row['window_pairs'] or 0:>7} "
                  f"{fmt(row['recall'], 9, 4)} {fmt(row['ndcg'], 8, 4)} "
                  f"{row['new_pairs'] or 0:>9} {fmt(row['value_ndcg'], 13, 4)}")
        last = max(served)
        call(args.port, "POST", f"/models/{last - 1}/activate")
        rollback_equal = lists(args.port, probe, 10) == served[last - 1]
        call(args.port, "POST", f"/models/{last}/activate")
        forward_equal = lists(args.port, probe, 10) == served[last]
        print(json.dumps({"versions": table, "events_streamed": sent - cut,
                          "stream_seconds": round(stream_seconds, 1),
                          "rollback_restores_lists": rollback_equal,
                          "roll_forward_restores_lists": forward_equal,
                          "loadavg": os.getloadavg()}))
    finally:
        if server is not None:
            server.send_signal(signal.SIGINT)
            server.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
