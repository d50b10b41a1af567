#!/usr/bin/env python3
"""The "image" benchmark (run it with `e2e/bench.sh image`, see image.sh).

The sizes of the static binaries the Dockerfile copies into the image, and the time the shipped
operator takes from its start to /readyz answering 200 (GoAlert and the API server both reached),
started several times against the testbed, watching an empty namespace. It writes image.md and
image.json.
"""

import argparse
import os
import statistics
import subprocess

from benchlib import Operator, admin, kubectl, log, mint_key, run_id, write_report

MIB = 1024 * 1024


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binaries", required=True)
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--document", required=True)
    parser.add_argument("--results", required=True)
    args = parser.parse_args()
    operator_binary = os.path.join(args.binaries, "goalert-provisioning")
    sizes = {name: os.path.getsize(os.path.join(args.binaries, name)) for name in ["goalert-provisioning", "gctl"]}
    linking = subprocess.run(["file", "-b", operator_binary], capture_output=True, text=True).stdout.strip()

    run = run_id()
    namespace = f"bench-image-{run}"
    kubectl("create", "namespace", namespace)
    with open(args.document) as f:
        key = mint_key(admin(os.environ["GOALERT_URL"]), f"bench image {run}", f.read())
    starts, rss = [], []
    log(f"start to ready: {args.starts} starts")
    for i in range(args.starts):
        operator = Operator(operator_binary, namespace, key, "1h",
                            f"{os.environ['TESTBED_STATE']}/logs/bench-operator-image-{i}.log")
        starts.append(operator.wait_ready())
        rss.append(operator.rss_mib())
        operator.stop()
    start = statistics.median(starts)

    figures = {
        "binary_bytes": sizes,
        "total_bytes": sum(sizes.values()),
        "operator_linking": linking,
        "start_to_ready_seconds": [round(s, 3) for s in starts],
        "start_to_ready_median_seconds": round(start, 3),
        "rss_mib_at_ready": [round(r, 1) for r in rss],
    }
    rows = [(f"/{name} (MiB)", f"{size / MIB:.1f}", None, None) for name, size in sizes.items()]
    rows += [
        ("Both binaries, the image's own layer (MiB)", f"{sum(sizes.values()) / MIB:.1f}", None, None),
        ("/goalert-provisioning is static", "yes" if "static" in linking else "no", "yes", "static" in linking),
        (f"Start to ready (s, median of {args.starts})", figures["start_to_ready_median_seconds"], "< 1", start < 1),
        ("RSS at ready (MiB, median)", round(statistics.median(rss), 1), None, None),
    ]
    intro = [
        "Measured in one run on the benchmark testbed (`e2e/bench.sh image`): the binaries built with the",
        "Dockerfile's cargo command and RUSTFLAGS (`-C target-feature=+crt-static`, the host's",
        "`*-unknown-linux-gnu` target) are the files the image copies to / on distroless static; the base",
        "layer is not measured here (no Docker engine). Start to ready: from the process's start until",
        "/readyz answers 200, with GoAlert (one admin API key) and the API server reachable, watching",
        "an empty namespace.",
    ]
    write_report(args.results, "Image size and start to ready", intro, rows, figures,
                 [("Start to ready, each start (s)", dict(enumerate(figures["start_to_ready_seconds"], 1)))])


if __name__ == "__main__":
    main()
