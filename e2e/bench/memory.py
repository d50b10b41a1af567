#!/usr/bin/env python3
"""The "memory" benchmark (run it with `e2e/bench.sh memory`, see memory.sh).

The operator's resident memory (VmRSS) with N custom resources in its namespace, for each N of
--sizes: convergence's organisation of teams, every resource with `suspend: true`, so the
operator watches, caches and reconciles each one (writing its Suspended condition once) without
a GoAlert object behind it. Each size gets a fresh operator, sampled every few seconds over
several resync periods once its first pass is over. Then, with the largest size, --secrets
unrelated Secrets are created in the same namespace while it runs, and it is sampled again.
It writes memory.md and memory.json.
"""

import argparse
import json
import os
import subprocess
import time

from benchlib import Operator, admin, apply, kubectl, log, mint_key, rss_target_mib, run_id, wait_until, write_report
from convergence import RESOURCES_PER_TEAM, manifests

KINDS = "goalertusers,goalertrotations,goalertschedules,goalertescalationpolicies,goalertservices"
SAMPLE_SECONDS = 5
# RSS counts as flat when the last sample is within this of the first (allocator noise).
FLAT_MIB, FLAT_SHARE = 2.0, 0.05


def sample(operator, seconds):
    """RSS (MiB) every SAMPLE_SECONDS for `seconds`."""
    rss = []
    deadline = time.monotonic() + seconds
    while True:
        rss.append(round(operator.rss_mib(), 1))
        if time.monotonic() >= deadline:
            return rss
        time.sleep(SAMPLE_SECONDS)


def flat(rss):
    return rss[-1] - rss[0] <= max(FLAT_MIB, FLAT_SHARE * rss[0])


def suspended_count(namespace):
    """Resources whose Suspended condition the operator has written: its first pass over them."""
    try:
        listed = json.loads(kubectl("get", KINDS, "-n", namespace, "-o", "json"))
    except subprocess.CalledProcessError:
        return 0  # an API server busy with the first pass times out; asked again
    return sum(1 for item in listed["items"]
               if any(c["type"] == "Suspended" for c in (item.get("status") or {}).get("conditions", [])))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", required=True)
    parser.add_argument("--secrets", type=int, required=True)
    parser.add_argument("--resync", type=int, required=True)
    parser.add_argument("--periods", type=int, required=True)
    parser.add_argument("--operator", required=True)
    parser.add_argument("--document", required=True)
    parser.add_argument("--results", required=True)
    args = parser.parse_args()
    run = run_id()
    namespace = f"bench-memory-{run}"
    state = os.environ["TESTBED_STATE"]
    window = args.resync * args.periods
    with open(args.document) as f:
        key = mint_key(admin(os.environ["GOALERT_URL"]), f"bench memory {run}", f.read())
    kubectl("create", "namespace", namespace)

    # The organisation, suspended; each size adds the teams the one before it did not have.
    sizes = sorted(max(1, int(size) // RESOURCES_PER_TEAM) * RESOURCES_PER_TEAM for size in args.sizes.split(","))
    items = manifests(run, namespace, sizes[-1] // RESOURCES_PER_TEAM)
    for item in items:
        item["spec"]["suspend"] = True
    measured, created, operator = [], 0, None
    for n in sizes:
        log(f"{n} resources: creating {n - created}")
        apply(items[created:n], workers=4)
        created = n
        operator = Operator(args.operator, namespace, key, f"{args.resync}s",
                            f"{state}/logs/bench-operator-memory-{n}.log")
        operator.wait_ready()
        first_pass = wait_until(f"{n} resources reconciled once", max(300, n / 10),
                                lambda: suspended_count(namespace) >= n, interval=5)
        log(f"{n} resources: sampling RSS for {args.periods} x {args.resync}s")
        measured.append({"resources": n, "first_pass_done": first_pass, "rss_mib": sample(operator, window)})
        if n != sizes[-1]:
            operator.stop()

    log(f"creating {args.secrets} unrelated Secrets in {namespace}")
    secrets = [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"unrelated-{i}", "namespace": namespace},
                "stringData": {"token": f"unrelated secret {i}"}} for i in range(args.secrets)]
    apply(secrets, workers=4)
    with_secrets = sample(operator, window)
    operator.stop()

    rows = []
    for m in measured:
        n, rss = m["resources"], m["rss_mib"]
        target = rss_target_mib(n)
        rows.append((f"{n:,} resources: RSS (MiB), max over {args.periods} x {args.resync}s", max(rss),
                     f"<= {target:.0f}", max(rss) <= target and m["first_pass_done"]))
        rows.append((f"{n:,} resources: first / last sample (MiB)", f"{rss[0]} / {rss[-1]}", "flat", flat(rss)))
    largest = measured[-1]["rss_mib"]
    rows.append((f"{sizes[-1]:,} resources and {args.secrets:,} unrelated Secrets: RSS (MiB), max", max(with_secrets),
                 f"<= {max(largest) + max(FLAT_MIB, FLAT_SHARE * max(largest)):.1f} (no growth)",
                 max(with_secrets) <= max(largest) + max(FLAT_MIB, FLAT_SHARE * max(largest))))
    rows.append(("  first / last sample (MiB)", f"{with_secrets[0]} / {with_secrets[-1]}", "flat", flat(with_secrets)))
    # The largest size's operator runs through both windows: its whole run is 2 x periods resyncs.
    whole = largest + with_secrets
    rows.append((f"{sizes[-1]:,} resources, one operator over {2 * args.periods} resyncs "
                 f"({2 * window / 60:.0f} min): first / last sample (MiB)",
                 f"{whole[0]} / {whole[-1]}", "flat", flat(whole)))
    intro = [
        "Measured in one run on the benchmark testbed (`e2e/bench.sh memory`): VmRSS of the operator",
        "(watching one namespace, no webhooks, no leader election) every "
        f"{SAMPLE_SECONDS} s over {args.periods} resync periods of {args.resync} s,",
        "after its first pass. The resources are the convergence benchmark's organisation (users with a",
        "contact method and a rule, rotations, schedules, two-step policies, services with two keys),",
        "each with `suspend: true`: the operator lists, watches and caches every one and writes its",
        "Suspended condition once, but no GoAlert object exists behind it and nothing is read from",
        "GoAlert, so resyncs do not call GoAlert either. The Secrets are created in the watched",
        "namespace while the operator runs; they carry none of the operator's labels. Flat: the last",
        f"sample within max({FLAT_MIB:.0f} MiB, {FLAT_SHARE:.0%}) of the first.",
    ]
    samples_section = {f"{m['resources']:,} resources": m["rss_mib"] for m in measured}
    samples_section[f"{sizes[-1]:,} resources and {args.secrets:,} Secrets"] = with_secrets
    write_report(args.results, f"Memory benchmark: up to {sizes[-1]:,} resources", intro, rows,
                 {"sizes": measured, "secrets": args.secrets, "rss_mib_with_secrets": with_secrets,
                  "resync_seconds": args.resync, "periods": args.periods},
                 [("RSS samples (MiB)", samples_section)])
    # The resources stay: the testbed is thrown away after the run unless KEEP_TESTBED is set.


if __name__ == "__main__":
    main()
