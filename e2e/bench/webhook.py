#!/usr/bin/env python3
"""The "webhook" benchmark (run it with `e2e/bench.sh webhook`, see webhook.sh).

The operator serves both admission webhooks for one namespace, registered with the testbed's API
server as webhooks/{validating,mutating}.yaml register them (self-managed certificate), as the
end-to-end tests run it. For each number of concurrent clients, bench-load measures:
1. AdmissionReviews of a GoAlertRotation CREATE posted directly to /validate and to /mutate;
2. server-side dry-run creates of the same rotation through the API server, which calls both
   webhooks (nothing is stored);
3. the same dry-run creates in a namespace no webhook matches: the API server's own share.
The rotation names a GoAlertUser of the namespace (suspended, so the operator never asks GoAlert
about it): the validating webhook finds it in its watch cache.
It writes webhook.md and webhook.json.
"""

import argparse
import json
import os
import subprocess
import tempfile

from benchlib import Operator, admin, free_port, kubectl, log, mint_key, run_id, wait_until, write_report

# Issue #14's reference figures for reviews sent directly to the webhook: (per second, p99 ms).
REFERENCE = {1: (2567, 1.2), 50: (4053, 24)}


def rotation(namespace):
    return {"apiVersion": "goalert.heystaq.com/v1alpha1", "kind": "GoAlertRotation",
            "metadata": {"name": "bench-rotation", "namespace": namespace},
            "spec": {"rotationName": "Bench Rotation", "type": "Weekly", "shiftLength": 1,
                     "start": "2026-01-05T09:00:00Z", "timeZone": "Etc/UTC",
                     "participants": [{"name": "bench-user"}]}}


def review(namespace):
    """The AdmissionReview the API server sends for creating rotation()."""
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "6a1c4e8e-0000-4000-8000-000000000001",
        "kind": {"group": "goalert.heystaq.com", "version": "v1alpha1", "kind": "GoAlertRotation"},
        "resource": {"group": "goalert.heystaq.com", "version": "v1alpha1", "resource": "goalertrotations"},
        "requestKind": {"group": "goalert.heystaq.com", "version": "v1alpha1", "kind": "GoAlertRotation"},
        "requestResource": {"group": "goalert.heystaq.com", "version": "v1alpha1", "resource": "goalertrotations"},
        "name": "bench-rotation", "namespace": namespace, "operation": "CREATE",
        "userInfo": {"username": "testbed-admin", "groups": ["system:masters", "system:authenticated"]},
        "object": rotation(namespace), "oldObject": None, "dryRun": True,
        "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"}}}


def register(configuration, namespace, port):
    """webhooks/{validating,mutating}.yaml under a name of this run's, calling 127.0.0.1:port,
    for `namespace` only (as e2e/src/webhooks.rs registers them)."""
    for file in ["webhooks/validating.yaml", "webhooks/mutating.yaml"]:
        config = json.loads(kubectl("create", "--dry-run=client", "-o", "json", "-f", file))
        config["metadata"]["name"] = configuration
        for webhook in config["webhooks"]:
            path = webhook["clientConfig"]["url"].rsplit("/", 1)[1]
            webhook["clientConfig"]["url"] = f"https://127.0.0.1:{port}/{path}"
            webhook["namespaceSelector"] = {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
        kubectl("apply", "-f", "-", stdin=json.dumps(config))


def webhooks_called(namespace):
    """Whether the API server calls the webhooks yet: a misspelt zone only they can refuse."""
    done = subprocess.run(["kubectl", "apply", "--dry-run=server", "-n", namespace, "-f",
                           "e2e/bad-manifests/rotation-unknown-time-zone.yaml"], capture_output=True, text=True)
    return done.returncode != 0 and "is not an IANA time zone name" in done.stderr


def load(args, name, url, body, expect=None, headers=()):
    """bench-load's figures for each client count of --clients, POSTing `body` to `url`."""
    with tempfile.NamedTemporaryFile("w", suffix=".json") as file:
        json.dump(body, file)
        file.flush()
        command = [args.load, "--url", url, "--body", file.name, "--clients", args.clients,
                   "--seconds", str(args.seconds)]
        for header in headers:
            command += ["--header", header]
        if expect:
            command += ["--expect", expect]
        log(f"{name}: {args.clients} clients, {args.seconds:.0f}s each")
        return json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", required=True)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--operator", required=True)
    parser.add_argument("--load", required=True)
    parser.add_argument("--document", required=True)
    parser.add_argument("--results", required=True)
    args = parser.parse_args()
    run = run_id()
    namespace, plain = f"bench-webhook-{run}", f"bench-webhook-plain-{run}"
    configuration = f"goalert-provisioning-{namespace}"
    state = os.environ["TESTBED_STATE"]
    with open(args.document) as f:
        key = mint_key(admin(os.environ["GOALERT_URL"]), f"bench webhook {run}", f.read())

    for name in (namespace, plain):
        kubectl("create", "namespace", name)
    port = free_port()
    register(configuration, namespace, port)
    operator = Operator(args.operator, namespace, key, "1h", f"{state}/logs/bench-operator-webhook.log", env={
        "PRIVILEGED_NAMESPACES": namespace, "POD_NAMESPACE": namespace,
        "WEBHOOK_CERT_MODE": "self-managed", "WEBHOOK_BIND_ADDRESS": f"127.0.0.1:{port}",
        "WEBHOOK_CERT_IP_SANS": "127.0.0.1", "WEBHOOK_CONFIGURATION_NAME": configuration,
        "WEBHOOK_SECRET_NAME": "goalert-provisioning-webhook-tls"})
    try:
        operator.wait_ready(check=lambda body: "[+]webhooks ok" in body)
        if not wait_until("the API server calls the webhooks", 30, lambda: webhooks_called(namespace), 0.5):
            raise RuntimeError("the API server never called the webhooks")
        user = {"apiVersion": "goalert.heystaq.com/v1alpha1", "kind": "GoAlertUser",
                "metadata": {"name": "bench-user", "namespace": namespace},
                "spec": {"email": f"bench-{run}@bench.example.com", "displayName": "Bench User", "suspend": True}}
        kubectl("apply", "-f", "-", stdin=json.dumps(user))
        server = kubectl("config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}")
        token = kubectl("config", "view", "--minify", "--raw", "-o", "jsonpath={.users[0].user.token}")

        direct = f"https://127.0.0.1:{port}"
        dry_run = "/apis/goalert.heystaq.com/v1alpha1/namespaces/{}/goalertrotations?dryRun=All"
        auth = [f"Authorization: Bearer {token}"]
        series = {
            "direct /validate": load(args, "validate", direct + "/validate", review(namespace), '"allowed":true'),
            "direct /mutate": load(args, "mutate", direct + "/mutate", review(namespace), '"allowed":true'),
            "API server dry-run create, both webhooks": load(
                args, "apiserver", server + dry_run.format(namespace), rotation(namespace), headers=auth),
            "API server dry-run create, no webhook (baseline)": load(
                args, "baseline", server + dry_run.format(plain), rotation(plain), headers=auth),
        }
        rss = operator.rss_mib()
    finally:
        operator.stop()
        for kind in ["validatingwebhookconfiguration", "mutatingwebhookconfiguration"]:
            subprocess.run(["kubectl", "delete", kind, configuration, "--ignore-not-found"], capture_output=True)
    report(args, series, rss)
    # A series that got no answer at all measured nothing: the suite is broken, not slow.
    silent = [name for name, results in series.items() for r in results if r["answers"] == 0]
    if silent:
        raise SystemExit(f"no answer counted in: {', '.join(silent)} (webhook.md has the first errors)")


def report(args, series, rss):
    rows = []
    for name, results in series.items():
        for r in results:
            target, met = None, None
            reference = REFERENCE.get(r["clients"]) if name == "direct /validate" else None
            if reference:
                target = f">= {reference[0]:,}/s, p99 <= {reference[1]} ms (issue #14, direct)"
                met = r["perSecond"] >= reference[0] and r["p99Ms"] <= reference[1] and r["errors"] == 0
            errors = f", {r['errors']} errors" if r["errors"] else ""
            clients = f"{r['clients']} client" + ("s" if r["clients"] != 1 else "")
            rows.append((f"{name}, {clients}",
                         f"{r['perSecond']:,.0f}/s, p50 {r['p50Ms']:.2f} ms, p99 {r['p99Ms']:.2f} ms{errors}",
                         target, met))
    rows.append(("Operator RSS after the load (MiB)", round(rss, 1), None, None))
    errors = {f"{name}, {r['clients']} clients": r["firstError"]
              for name, results in series.items() for r in results if r["firstError"]}
    intro = [
        "Measured in one run on the benchmark testbed (`e2e/bench.sh webhook`) with the e2e crate's load",
        "generator `bench-load`: each client has a connection of its own and sends its next request when",
        f"the answer arrives, for {args.seconds:.0f} s after a 2 s warm-up. Direct: AdmissionReviews of a",
        "GoAlertRotation CREATE (naming a user of the namespace) posted to the operator's HTTPS endpoints.",
        "Through the API server: server-side dry-run creates of that rotation (the API server calls the",
        "mutating, then the validating webhook; nothing is stored), beside the same creates in a namespace",
        "no webhook matches. The load generator, the operator and the API server share the machine's",
        f"{os.cpu_count()} cores.",
    ]
    write_report(args.results, "Admission webhook benchmark", intro, rows,
                 {"series": series, "rss_mib": round(rss, 1), "seconds": args.seconds},
                 [("First error of each series", errors)])


if __name__ == "__main__":
    main()
