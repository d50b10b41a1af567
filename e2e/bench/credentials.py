#!/usr/bin/env python3
"""The "credentials" benchmark (run it with `e2e/bench.sh credentials`, see credentials.sh).

For each credential count k of --credentials, convergence's lower bound (its organisation of
teams created directly, with nested inputs) is made with k admin API keys at once: the teams are
dealt out between k threads, each sending one request at a time with its own key, as the
operator would with k credentials and never two writes to one object at once. What it measures
is GoAlert's side only: the time to create --resources objects, and the speed-up over one key.
It writes credentials.md and credentials.json.
"""

import argparse
import concurrent.futures
import os
import time

from benchlib import GoAlert, admin, log, mint_key, run_id, write_report
from convergence import DIRECT_DOCUMENT, RESOURCES_PER_TEAM, create_directly

# Parallelism is worth its complexity only if it saves at least this share of the time.
WORTH_IT = 1.25


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--resources", type=int, required=True)
    parser.add_argument("--credentials", required=True)
    parser.add_argument("--results", required=True)
    args = parser.parse_args()
    teams = max(1, args.resources // RESOURCES_PER_TEAM)
    n = teams * RESOURCES_PER_TEAM
    url = os.environ["GOALERT_URL"]
    goalert_admin = admin(url)
    counts = sorted({int(k) for k in args.credentials.split(",")})

    measured = {}
    for k in counts:
        run = run_id()
        clients = [GoAlert(url, mint_key(goalert_admin, f"bench credentials {run} {i}", DIRECT_DOCUMENT),
                           DIRECT_DOCUMENT) for i in range(k)]
        log(f"{k} credential(s): {n} resources")
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(k) as pool:
            # Whole teams per thread: a team's objects refer to each other, as a resource's do.
            done = pool.map(lambda i: create_directly(clients[i], run, range(i, teams, k)), range(k))
            list(done)
        seconds = time.monotonic() - started
        measured[k] = {"seconds": round(seconds, 1), "requests": sum(c.requests for c in clients)}
        log(f"{k} credential(s): {seconds:.1f}s")

    one = measured[counts[0]]["seconds"]
    rows = []
    for k in counts:
        speedup = one / measured[k]["seconds"]
        measured[k]["speedup"] = round(speedup, 2)
        rows.append((f"{k} credential(s): {n} resources created (s)", measured[k]["seconds"], None, None))
        if k != counts[0]:
            rows.append((f"  speed-up over {counts[0]}", f"{speedup:.2f}x",
                         f">= {WORTH_IT}x to be worth shipping", speedup >= WORTH_IT))
    intro = [
        "Measured in one run on the benchmark testbed (`e2e/bench.sh credentials`): convergence's",
        f"organisation ({teams} teams of {RESOURCES_PER_TEAM} resources) created directly with nested",
        "inputs, once per credential count, the teams dealt out between that many admin API keys sending",
        "at the same time (one request in flight per key). GoAlert's side only: whether more",
        "credentials would let the operator converge sooner.",
    ]
    write_report(args.results, f"Credentials benchmark: {n} resources with {', '.join(map(str, counts))} keys",
                 intro, rows, {"resources": n, "by_credentials": measured})


if __name__ == "__main__":
    main()
