#!/usr/bin/env python3
"""kill -9 trials of `assay serve` during ingestion and retraining.

Each trial starts the server on the same store with frequent background retraining, sends
batches of events whose timestamps number them, kills the server with SIGKILL at a random
moment, and then checks, with the server down:
  - every event of every acknowledged batch is in the store;
  - `PRAGMA integrity_check` answers ok;
  - the active model version's folder is complete (the next start opens it, which the next
    trial checks through /health).
Prints one JSON object with the counts. Standard library only.
"""

import argparse
import csv
import http.client
import json
import os
import random
import signal
import sqlite3
import subprocess
import threading
import time

BASE_TS = 2_000_000_000


def read_column(path, column, limit):
    with open(path, newline="", encoding="utf-8") as f:
        return [row[column] for _, row in zip(range(limit), csv.DictReader(f))]


def wait_health(port, deadline):
    while time.time() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/health")
            r = c.getresponse()
            body = r.read()
            if r.status == 200:
                return json.loads(body)
        except OSError:
            pass
        time.sleep(0.05)
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--assay", required=True, help="the assay binary")
    parser.add_argument("--shop", required=True)
    parser.add_argument("--store", required=True)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--port", type=int, default=7791)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--retrain-events", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-seconds", type=float, default=1200,
                        help="start no trial after this many seconds (the run is bounded)")
    args = parser.parse_args()
    started_at = time.time()

    rng = random.Random(args.seed)
    users = read_column(os.path.join(args.shop, "users.csv"), "user_id", 2000)
    items = read_column(os.path.join(args.shop, "items.csv"), "item_id", 2000)
    acknowledged = set()
    counter = 0
    results = {"trials": 0, "started": 0, "acknowledged_events": 0, "missing_events": 0,
               "integrity_failures": 0, "start_failures": 0, "active_versions_seen": set(),
               "stopped_by_time": False}
    for trial in range(args.trials):
        if time.time() - started_at > args.max_seconds:
            results["stopped_by_time"] = True
            break
        server = subprocess.Popen(
            [args.assay, "serve", args.shop, "--store", args.store, "--addr", f"127.0.0.1:{args.port}",
             "--encoder", "hash", "--no-auth", "--retrain-events", str(args.retrain_events)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        health = wait_health(args.port, time.time() + 120)
        results["trials"] += 1
        if health is None:
            results["start_failures"] += 1
            server.kill()
            server.wait()
            continue
        results["started"] += 1
        results["active_versions_seen"].add(health.get("model_version"))
        stop = threading.Event()

        def ingest():
            nonlocal counter
            c = http.client.HTTPConnection("127.0.0.1", args.port, timeout=30)
            while not stop.is_set():
                stamps = list(range(counter, counter + args.batch))
                counter += args.batch
                batch = [{"user": rng.choice(users), "item": rng.choice(items), "kind": "click",
                          "timestamp": BASE_TS + s} for s in stamps]
                try:
                    c.request("POST", "/events", body=json.dumps(batch),
                              headers={"Content-Type": "application/json"})
                    r = c.getresponse()
                    r.read()
                    if r.status == 200:
                        acknowledged.update(stamps)
                except (OSError, http.client.HTTPException):
                    return

        thread = threading.Thread(target=ingest)
        thread.start()
        time.sleep(rng.uniform(0.05, 1.5))
        server.send_signal(signal.SIGKILL)
        server.wait()
        stop.set()
        thread.join()
        db = sqlite3.connect(args.store)
        ok = db.execute("PRAGMA integrity_check").fetchone()[0]
        stored = {row[0] - BASE_TS for row in db.execute("SELECT ts FROM events WHERE ts >= ?", (BASE_TS,))}
        active = db.execute("SELECT version FROM models WHERE active = 1").fetchall()
        models = db.execute("SELECT COUNT(*) FROM models").fetchone()[0]
        db.close()
        if ok != "ok":
            results["integrity_failures"] += 1
        results["missing_events"] = len(acknowledged - stored)
        results["acknowledged_events"] = len(acknowledged)
        results["model_versions_recorded"] = models
        results["last_active"] = [a[0] for a in active]
    # One last start checks that the last trial's active model opens.
    server = subprocess.Popen(
        [args.assay, "serve", "--store", args.store, "--addr", f"127.0.0.1:{args.port}",
         "--encoder", "hash", "--no-auth"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    health = wait_health(args.port, time.time() + 120)
    server.send_signal(signal.SIGINT)
    server.wait()
    results["final_start_ok"] = health is not None
    results["active_versions_seen"] = sorted(v for v in results["active_versions_seen"] if v is not None)
    results["loadavg"] = os.getloadavg()
    results["seconds"] = round(time.time() - started_at, 1)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
