#!/usr/bin/env python3
"""The "adoption" benchmark (run it with `e2e/bench.sh adoption`, see adoption.sh).

On a GoAlert holding an organisation made by GoAlert's own data generator, one run measures:
1. `goalert-provisioning export` reading it (median of a few rounds: it only reads);
2. the export applied to the same GoAlert in one `kubectl apply`, with the operator running and
   allowed to adopt (the namespace is privileged): time until every resource is Ready, GoAlert
   requests and mutations (the operator's goalert_provisioning_goalert_requests_total),
   Kubernetes requests (the API server's apiserver_request_total) and RSS.
It writes adoption.md and adoption.json: every figure beside its target.
"""

import argparse
import collections
import json
import os
import re
import statistics
import subprocess
import time

from benchlib import (WRITE_VERBS, Operator, admin, apiserver_requests, apply, by_request, by_verb, delta,
                      goalert_requests, kubectl, log, mint_key, mutation_names, per_operation, ready_count,
                      run_id, wait_until, write_report)


def export(binary, url, namespace):
    """The export's manifests, its summary line and its wall time."""
    env = {"PATH": os.environ["PATH"], "GOALERT_URL": url, "GOALERT_USERNAME": os.environ["GOALERT_ADMIN_USER"],
           "GOALERT_PASSWORD": os.environ["GOALERT_ADMIN_PASSWORD"]}
    started = time.perf_counter()
    done = subprocess.run([binary, "export", "--namespace", namespace], env=env, capture_output=True, text=True,
                          check=True)
    seconds = time.perf_counter() - started
    summary = next((line for line in done.stderr.splitlines() if "exported" in line), "").strip()
    return done.stdout, summary, seconds


def adopted_count(namespace, kinds):
    listed = json.loads(kubectl("get", ",".join(kinds), "-n", namespace, "-o", "json"))
    return sum(1 for item in listed["items"] if (item.get("status") or {}).get("adopted"))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--goalert-url", required=True)
    parser.add_argument("--mult", required=True)
    parser.add_argument("--export-rounds", type=int, default=3)
    parser.add_argument("--operator", required=True)
    parser.add_argument("--document", required=True)
    parser.add_argument("--results", required=True)
    args = parser.parse_args()
    url = args.goalert_url
    namespace = f"bench-adoption-{run_id()}"
    mutations = mutation_names(args.document)
    with open(args.document) as f:
        operator_document = f.read()
    state = os.environ["TESTBED_STATE"]

    log(f"export: {args.export_rounds} rounds")
    runs = [export(args.operator, url, namespace) for _ in range(args.export_rounds)]
    manifests, summary = runs[0][0], runs[0][1]
    if any(run[0] != manifests for run in runs):
        raise RuntimeError("the same GoAlert exported different manifests")
    export_seconds = statistics.median(run[2] for run in runs)
    by_kind = collections.Counter(re.findall(r"^kind: (GoAlert\w+)$", manifests, re.MULTILINE))
    n = sum(by_kind.values())
    log(f"export: {summary} ({n} objects) in {export_seconds:.2f}s")

    kubectl("create", "namespace", namespace)
    key = mint_key(admin(url), f"bench adoption {namespace}", operator_document)
    # Adoption is allowed in the privileged namespaces (docs/security.md).
    operator = Operator(args.operator, namespace, key, "1h", f"{state}/logs/bench-operator-adoption.log",
                        goalert_url=url, env={"PRIVILEGED_NAMESPACES": namespace})
    operator.wait_ready()
    requests_before = goalert_requests(operator.metrics(), mutations)
    kube_before = apiserver_requests()

    log(f"applying the export ({n} objects) in namespace {namespace}")
    started = time.monotonic()
    apply(manifests, namespace)
    applied_seconds = time.monotonic() - started
    ready_all = wait_until("every resource Ready", max(600, 3 * n),
                           lambda: ready_count(operator.metrics(), namespace) >= n, interval=0.5)
    adoption_seconds = time.monotonic() - started
    text = operator.metrics()
    ready = ready_count(text, namespace)
    rss = operator.rss_mib()
    kube = delta(apiserver_requests(), kube_before)
    total, writes, ops = goalert_requests(text, mutations)
    total -= requests_before[0]
    writes -= requests_before[1]
    ops = delta(ops, requests_before[2])
    operator.stop()
    adopted = adopted_count(namespace, by_kind)
    log(f"adoption: {ready:.0f}/{n} Ready after {adoption_seconds:.1f}s, {total:.0f} GoAlert requests, "
        f"{writes:.0f} mutations")

    figures = {
        "resetdb_mult": args.mult,
        "export_summary": summary,
        "resources": n,
        "resources_by_kind": dict(sorted(by_kind.items())),
        "export_seconds": round(export_seconds, 2),
        "export_rounds": args.export_rounds,
        "apply_seconds": round(applied_seconds, 2),
        "adoption_seconds": round(adoption_seconds, 2),
        "ratio": round(adoption_seconds / export_seconds, 2),
        "every_resource_ready": bool(ready_all),
        "ready_resources": int(ready),
        "adopted_resources": adopted,
        "goalert_requests": int(total),
        "goalert_requests_per_resource": round(total / n, 3),
        "goalert_mutations": int(writes),
        "goalert_requests_by_operation_per_resource": per_operation(ops, n),
        # The operator never applies server-side: APPLY is kubectl's, one per object.
        "kubernetes_writes_per_resource": round(by_verb(kube, WRITE_VERBS - {"APPLY"}) / n, 3),
        "kubernetes_gets_per_resource": round(by_verb(kube, {"GET"}) / n, 3),
        "kubernetes_requests": by_request(kube),
        "rss_mib": round(rss, 1),
    }
    rows = [
        ("Organisation (resetdb -mult " + args.mult + ")", summary.removeprefix("goalert-provisioning: "), None, None),
        (f"Export (s, median of {args.export_rounds})", figures["export_seconds"], None, None),
        ("Adoption: apply to every resource Ready (s)", figures["adoption_seconds"], None, None),
        ("  of which `kubectl apply` (s)", figures["apply_seconds"], None, None),
        ("Ratio adoption / export", figures["ratio"], "<= 2", figures["ratio"] <= 2),
        ("Every resource Ready", f"{ready:.0f}/{n}", f"{n}/{n}", ready_all and ready >= n),
        ("Resources adopted (status.adopted)", f"{adopted}/{n}", f"{n}/{n}", adopted == n),
        ("GoAlert mutations", figures["goalert_mutations"], "0", figures["goalert_mutations"] == 0),
        ("GoAlert requests per resource", figures["goalert_requests_per_resource"], None, None),
        ("Kubernetes writes per resource (but kubectl's APPLY)", figures["kubernetes_writes_per_resource"], None, None),
        ("Kubernetes GETs per resource", figures["kubernetes_gets_per_resource"], None, None),
        ("Operator RSS after adopting (MiB)", figures["rss_mib"], None, None),
    ]
    intro = [
        "Measured in one run on the benchmark testbed (`e2e/bench.sh adoption`): GoAlert's data",
        "generator (devtools/resetdb --with-rand-data) fills a database of its own, served by a",
        "GoAlert started as the testbed's (API only, so no engine cycle moves the data). The export",
        "logs in as the administrator; the operator uses one admin API key and may adopt. GoAlert",
        "requests from the operator's `goalert_provisioning_goalert_requests_total` (from the apply",
        "on); Kubernetes requests from the API server's `apiserver_request_total` from the apply on,",
        "`kubectl apply`'s own included (its APPLY per object is left out of the writes per resource).",
    ]
    sections = [
        ("Resources by kind", figures["resources_by_kind"]),
        ("GoAlert requests per resource, by operation", figures["goalert_requests_by_operation_per_resource"]),
        ("Kubernetes requests", figures["kubernetes_requests"]),
    ]
    write_report(args.results, f"Adoption benchmark: {n} resources", intro, rows, figures, sections)
    # The namespace's resources keep their finalizers with no operator, so the namespace stays;
    # adoption.sh drops the generated GoAlert's database.


if __name__ == "__main__":
    main()
