#!/usr/bin/env python3
"""Load on a running `assay serve`: a paced mix of recommend, search and event batches, then
ingestion throughput in batches of 1,000 events.

Standard library only. User ids, item ids and queries come from a simulated shop folder
(`assay simulate --out DIR`). The mix is open-loop: requests are started on a fixed schedule
at --rate per second over --workers connections, so a slow answer does not slow the offered
load. Prints one JSON object: per-route count, errors, p50/p99/max in ms, the server's RSS at
the start and the end, ingestion events/s, and the load average.
"""

import argparse
import csv
import http.client
import json
import os
import random
import threading
import time
import urllib.parse


def read_column(path, column, limit=None):
    with open(path, newline="", encoding="utf-8") as f:
        out = []
        for row in csv.DictReader(f, delimiter="\t" if path.endswith(".tsv") else ","):
            out.append(row[column])
            if limit and len(out) >= limit:
                break
    return out


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    i = min(len(sorted_values) - 1, int(round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[i]


class Client:
    def __init__(self, host, port, key):
        self.connection = http.client.HTTPConnection(host, port, timeout=30)
        self.headers = {"Content-Type": "application/json"}
        if key:
            self.headers["Authorization"] = f"Bearer {key}"

    def call(self, method, path, body=None):
        try:
            self.connection.request(method, path, body=body, headers=self.headers)
            response = self.connection.getresponse()
            data = response.read()
            return response.status, data
        except (OSError, http.client.HTTPException):
            self.connection.close()
            return 0, b""


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--addr", default="127.0.0.1:7700")
    parser.add_argument("--key", default=os.environ.get("ASSAY_KEY"))
    parser.add_argument("--shop", required=True, help="the simulated shop folder")
    parser.add_argument("--pid", type=int, required=True, help="the server's process id (RSS)")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rate", type=float, default=200, help="requests per second")
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--mode", default="hybrid", help="search mode")
    parser.add_argument("--batch", type=int, default=20, help="events per batch in the mix")
    parser.add_argument("--ingest-batches", type=int, default=50, help="batches of 1,000 after the mix")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fresh-queries", action="store_true",
                        help="append a unique token to every search, so none repeats (no query-vector cache hit)")
    args = parser.parse_args()

    host, port = args.addr.rsplit(":", 1)
    users = read_column(os.path.join(args.shop, "users.csv"), "user_id")
    items = read_column(os.path.join(args.shop, "items.csv"), "item_id")
    queries = read_column(os.path.join(args.shop, "judgments.tsv"), "query", limit=20000)
    queries = sorted(set(queries)) or ["shoes"]
    kinds = ["click", "click", "click", "cart", "purchase"]

    rng = random.Random(args.seed)
    schedule = []
    n = int(args.seconds * args.rate)
    for i in range(n):
        r = rng.random()
        if r < 0.7:
            path = f"/recommend/{urllib.parse.quote(rng.choice(users), safe='')}?k=10"
            schedule.append((i / args.rate, "recommend", "GET", path, None))
        elif r < 0.9:
            q = rng.choice(queries)
            if args.fresh_queries:
                q = f"{q} q{i}"
            q = urllib.parse.quote(q)
            schedule.append((i / args.rate, "search", "GET", f"/search?q={q}&k=10&mode={args.mode}", None))
        else:
            batch = [
                {"user": rng.choice(users), "item": rng.choice(items), "kind": rng.choice(kinds)}
                for _ in range(args.batch)
            ]
            schedule.append((i / args.rate, "events", "POST", "/events", json.dumps(batch)))

    # The share of searches whose query came earlier in the run: what a cache of recent
    # query vectors can answer without the model.
    seen, repeats, searches = set(), 0, 0
    for _, route, _, path, _ in schedule:
        if route == "search":
            searches += 1
            repeats += path in seen
            seen.add(path)

    latencies = {"recommend": [], "search": [], "events": []}
    errors = {"recommend": 0, "search": 0, "events": 0}
    lag = []
    lock = threading.Lock()
    next_index = [0]
    rss_start = rss_kib(args.pid)
    start = time.perf_counter() + 0.2

    def worker():
        client = Client(host, int(port), args.key)
        while True:
            with lock:
                i = next_index[0]
                next_index[0] += 1
            if i >= len(schedule):
                return
            at, route, method, path, body = schedule[i]
            wait = start + at - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            began = time.perf_counter()
            status, _ = client.call(method, path, body)
            took = (time.perf_counter() - began) * 1000
            with lock:
                lag.append(max(0.0, began - (start + at)) * 1000)
                latencies[route].append(took)
                if status != 200:
                    errors[route] += 1

    threads = [threading.Thread(target=worker) for _ in range(args.workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    rss_mix_end = rss_kib(args.pid)

    # Ingestion: batches of 1,000 on one connection, each acknowledged before the next. The
    # bodies are made before the clock starts, so that the time is the server's, not Python's.
    client = Client(host, int(port), args.key)
    ingest_errors = 0
    bodies = [
        json.dumps([
            {"user": rng.choice(users), "item": rng.choice(items), "kind": rng.choice(kinds)}
            for _ in range(1000)
        ])
        for _ in range(args.ingest_batches)
    ]
    began = time.perf_counter()
    for body in bodies:
        status, _ = client.call("POST", "/events", body)
        ingest_errors += status != 200
    ingest_seconds = time.perf_counter() - began

    routes = {}
    for route, values in latencies.items():
        values.sort()
        routes[route] = {
            "requests": len(values),
            "errors": errors[route],
            "p50_ms": percentile(values, 50),
            "p99_ms": percentile(values, 99),
            "max_ms": values[-1] if values else None,
        }
    lag.sort()
    print(json.dumps({
        "offered_rate": args.rate,
        "achieved_rate": round(len(schedule) / elapsed, 1),
        "seconds": round(elapsed, 1),
        "search_mode": args.mode,
        "routes": routes,
        "schedule_lag_p99_ms": percentile(lag, 99),
        "search_repeat_share": round(repeats / max(searches, 1), 3),
        "rss_kib_start": rss_start,
        "rss_kib_end_of_mix": rss_mix_end,
        "rss_kib_end": rss_kib(args.pid),
        "ingest_events_per_s": round(args.ingest_batches * 1000 / ingest_seconds),
        "ingest_batches": args.ingest_batches,
        "ingest_errors": ingest_errors,
        "loadavg": os.getloadavg(),
    }, indent=2))


if __name__ == "__main__":
    main()
