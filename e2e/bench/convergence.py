#!/usr/bin/env python3
"""The "convergence" benchmark (run it with `e2e/bench.sh convergence`, see convergence.sh).

One run measures, on the testbed's GoAlert and kube-apiserver:
1. the lower bound: the organisation created directly with the fewest GraphQL requests (nested
   inputs, one admin credential, one request at a time);
2. the same organisation as custom resources, converged by the operator (one admin credential of
   the same kind: an API key each, or with --credential session the administrator's sessions):
   time to every resource Ready, GoAlert requests per resource (the operator's metrics),
   Kubernetes requests per resource (the apiserver's own apiserver_request_total), RSS;
3. a restart of the operator, then the steady state over several short resync periods.
It writes convergence.md and convergence.json: every figure beside its target.

A team is 10 resources: 5 users (an e-mail contact method and a notification rule each), a weekly
rotation, a schedule, a two-step escalation policy and 2 services with a Grafana and an
Alertmanager key.
"""

import argparse
import os
import time

from benchlib import (GROUP, WRITE_VERBS, GoAlert, Operator, admin, apiserver_requests, apply, by_request, by_verb,
                      delta, goalert_requests, goalert_seconds, goalert_served, kubectl, log, mint_key, mutation_names,
                      per_operation, ready_count, rss_target_mib, run_id, wait_until, write_report)

TEAM_SIZE = 5
RESOURCES_PER_TEAM = TEAM_SIZE + 5
EVERY_DAY = [True] * 7

DIRECT_DOCUMENT = """\
mutation CreateUser($input: CreateUserInput!) {
  createUser(input: $input) { id }
}
mutation CreateContactMethod($input: CreateUserContactMethodInput!) {
  createUserContactMethod(input: $input) { id }
}
mutation CreateRotation($input: CreateRotationInput!) {
  createRotation(input: $input) { id }
}
mutation CreateSchedule($input: CreateScheduleInput!) {
  createSchedule(input: $input) { id }
}
mutation CreateEscalationPolicy($input: CreateEscalationPolicyInput!) {
  createEscalationPolicy(input: $input) { id }
}
mutation CreateService($input: CreateServiceInput!) {
  createService(input: $input) { id integrationKeys { id href } }
}
"""


# --- the organisation ------------------------------------------------------------------------


def team_names(run, prefix, team):
    title = f"{prefix} {run} Team {team}"
    return {
        "emails": [f"{prefix.lower()[:2]}-{run}-t{team}-u{i}@bench.example.com" for i in range(TEAM_SIZE)],
        "users": [f"{title} User {i}" for i in range(TEAM_SIZE)],
        "rotation": f"{title} Rotation",
        "schedule": f"{title} Schedule",
        "policy": f"{title} Policy",
        "services": [f"{title} API", f"{title} Worker"],
    }


def create_directly(goalert, run, teams):
    """The lower bound: every object with the fewest requests GoAlert v0.34.1 allows; `teams` is
    a count, or the range of team numbers to create."""
    for team in range(teams) if isinstance(teams, int) else teams:
        names = team_names(run, "Direct", team)
        users = []
        for email, name in zip(names["emails"], names["users"]):
            user = goalert.run(
                "CreateUser",
                {"input": {"username": email.split("@")[0][-24:], "password": os.urandom(12).hex(),
                           "name": name, "email": email, "role": "user"}},
            )["createUser"]["id"]
            goalert.run(
                "CreateContactMethod",
                {"input": {"userID": user, "name": "Work e-mail",
                           "dest": {"type": "builtin-smtp-email", "args": {"email_address": email}},
                           "newUserNotificationRule": {"delayMinutes": 0}}},
            )
            users.append(user)
        rotation = goalert.run(
            "CreateRotation",
            {"input": {"name": names["rotation"], "timeZone": "Etc/UTC", "start": "2026-01-05T09:00:00Z",
                       "type": "weekly", "shiftLength": 1, "userIDs": users}},
        )["createRotation"]["id"]
        schedule = goalert.run(
            "CreateSchedule",
            {"input": {"name": names["schedule"], "timeZone": "Etc/UTC", "targets": [
                {"target": {"id": rotation, "type": "rotation"},
                 "rules": [{"start": "00:00", "end": "00:00", "weekdayFilter": EVERY_DAY}]}]}},
        )["createSchedule"]["id"]
        policy = goalert.run(
            "CreateEscalationPolicy",
            {"input": {"name": names["policy"], "repeat": 2, "steps": [
                {"delayMinutes": 5, "targets": [{"id": rotation, "type": "rotation"}]},
                {"delayMinutes": 15, "targets": [{"id": schedule, "type": "schedule"},
                                                 {"id": users[0], "type": "user"}]}]}},
        )["createEscalationPolicy"]["id"]
        for service in names["services"]:
            goalert.run(
                "CreateService",
                {"input": {"name": service, "escalationPolicyID": policy, "newIntegrationKeys": [
                    {"type": "grafana", "name": "grafana"},
                    {"type": "prometheusAlertmanager", "name": "alertmanager"}]}},
            )


def manifests(run, namespace, teams):
    """The same organisation as custom resources, as a new user would write it."""
    items = []

    def add(kind, name, spec):
        items.append({"apiVersion": f"{GROUP}/v1alpha1", "kind": kind,
                      "metadata": {"name": name, "namespace": namespace}, "spec": spec})

    for team in range(teams):
        names = team_names(run, "Operator", team)
        prefix = f"team-{team}"
        users = [f"{prefix}-user-{i}" for i in range(TEAM_SIZE)]
        for resource, email, name in zip(users, names["emails"], names["users"]):
            add("GoAlertUser", resource, {
                "email": email, "displayName": name,
                "contactMethods": [{"name": "Work e-mail", "type": "Email", "value": email}],
                "notificationRules": [{"contactMethod": "Work e-mail", "delayMinutes": 0}]})
        add("GoAlertRotation", f"{prefix}-rotation", {
            "rotationName": names["rotation"], "type": "Weekly", "shiftLength": 1,
            "start": "2026-01-05T09:00:00Z", "timeZone": "Etc/UTC",
            "participants": [{"name": user} for user in users]})
        add("GoAlertSchedule", f"{prefix}-schedule", {
            "scheduleName": names["schedule"], "timeZone": "Etc/UTC",
            "targets": [{"rotationRef": {"name": f"{prefix}-rotation"}, "rules": [{}]}]})
        add("GoAlertEscalationPolicy", f"{prefix}-policy", {
            "escalationPolicyName": names["policy"], "repeat": 2, "steps": [
                {"delayMinutes": 5, "targets": [{"rotationRef": {"name": f"{prefix}-rotation"}}]},
                {"delayMinutes": 15, "targets": [{"scheduleRef": {"name": f"{prefix}-schedule"}},
                                                 {"userRef": {"name": users[0]}}]}]})
        for index, service in enumerate(names["services"]):
            secret = f"{prefix}-service-{index}-goalert"
            add("GoAlertService", f"{prefix}-service-{index}", {
                "serviceName": service, "escalationPolicyRef": {"name": f"{prefix}-policy"},
                "integrationKeys": [
                    {"name": "grafana", "type": "Grafana", "secretRef": {"name": secret, "key": "grafana-url"}},
                    {"name": "alertmanager", "type": "PrometheusAlertmanager",
                     "secretRef": {"name": secret, "key": "alertmanager-url"}}]})
    return items


# --- the run -----------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--resources", type=int, default=1000)
    parser.add_argument("--steady-resync", type=int, default=60)
    parser.add_argument("--steady-periods", type=int, default=3)
    parser.add_argument("--operator", required=True)
    parser.add_argument("--credential", choices=["key", "session"], default="key")
    parser.add_argument("--document", required=True)
    parser.add_argument("--results", required=True)
    args = parser.parse_args()
    teams = max(1, args.resources // RESOURCES_PER_TEAM)
    n = teams * RESOURCES_PER_TEAM
    run = run_id()
    namespace = f"bench-{run}"
    url = os.environ["GOALERT_URL"]
    mutations = mutation_names(args.document)
    with open(args.document) as f:
        operator_document = f.read()
    state = os.environ["TESTBED_STATE"]

    goalert_admin = admin(url)
    if args.credential == "key":
        direct = GoAlert(url, mint_key(goalert_admin, f"bench direct {run}", DIRECT_DOCUMENT), DIRECT_DOCUMENT)
        operator_key, operator_env = mint_key(goalert_admin, f"bench operator {run}", operator_document), {}
    else:
        # The testbed administrator's own sessions, one each: GoAlert serves a session's
        # requests one at a time too.
        direct = admin(url)
        direct.document = DIRECT_DOCUMENT
        operator_key = None
        operator_env = {"GOALERT_USERNAME": os.environ["GOALERT_ADMIN_USER"],
                        "GOALERT_PASSWORD": os.environ["GOALERT_ADMIN_PASSWORD"]}

    log(f"lower bound: {teams} teams ({n} resources) created directly, serially")
    started = time.monotonic()
    create_directly(direct, run, teams)
    direct_seconds = time.monotonic() - started
    log(f"lower bound: {direct_seconds:.1f}s, {direct.requests} requests")

    log(f"applying {n} custom resources in namespace {namespace}")
    kubectl("create", "namespace", namespace)
    apply(manifests(run, namespace, teams))

    kube_before = apiserver_requests()
    served_before = goalert_served()
    operator = Operator(args.operator, namespace, operator_key, "1h", f"{state}/logs/bench-operator.log",
                        env=operator_env)
    ready_after = operator.wait_ready()
    time.sleep(2)
    kube_started = apiserver_requests()
    limit = max(600, 3 * n)
    converged = wait_until("every resource Ready", limit, lambda: ready_count(operator.metrics(), namespace) >= n)
    converge_seconds = time.monotonic() - operator.started
    text = operator.metrics()
    ready = ready_count(text, namespace)
    kube_converged = apiserver_requests()
    rss_converged = operator.rss_mib()
    total, writes, ops_converged = goalert_requests(text, mutations)
    busy_converged = goalert_seconds(text)
    served_posts, served_mutations = (after - before for after, before in zip(goalert_served(), served_before))
    log(f"operator: {ready:.0f}/{n} Ready after {converge_seconds:.1f}s, {total:.0f} GoAlert requests")
    operator.stop()

    # A restart reads everything once; then the steady state over several resync periods.
    resync = args.steady_resync
    operator = Operator(args.operator, namespace, operator_key, f"{resync}s",
                        f"{state}/logs/bench-operator-restart.log", env=operator_env)
    operator.wait_ready()
    restart_started = time.monotonic()
    # The first pass is over when every resource has been reconciled (and reported Ready) once;
    # each one's first resync is then one period after its own first reconcile.
    wait_until("the restart's first pass", limit,
               lambda: ready_count(operator.metrics(), namespace) >= n, interval=0.5)
    restart_seconds = time.monotonic() - restart_started
    text = operator.metrics()
    restart_total, restart_writes, ops_restart = goalert_requests(text, mutations)
    kube_steady_before = apiserver_requests()
    served_steady_before = goalert_served()
    log(f"restart pass: {restart_seconds:.1f}s, {restart_total:.0f} GoAlert requests; "
        f"steady state for {args.steady_periods} x {resync}s")
    time.sleep(args.steady_periods * resync)
    text = operator.metrics()
    steady_total, steady_writes, ops_steady = goalert_requests(text, mutations)
    kube_steady = delta(apiserver_requests(), kube_steady_before)
    served_steady, served_steady_mutations = (
        after - before for after, before in zip(goalert_served(), served_steady_before))
    rss_steady = operator.rss_mib()
    operator.stop()

    kube_converging = delta(kube_converged, kube_before)
    lists_after_start = by_verb(delta(kube_converged, kube_started), {"LIST"})
    steady_requests = steady_total - restart_total
    steady_mutations = steady_writes - restart_writes
    figures = {
        "resources": n,
        "teams": teams,
        "credential": args.credential,
        "lower_bound_seconds": round(direct_seconds, 1),
        "lower_bound_requests_per_resource": round(direct.requests / n, 3),
        "operator_converged": bool(converged),
        "operator_ready_resources": int(ready),
        "operator_start_to_ready_seconds": round(ready_after, 3),
        "operator_seconds": round(converge_seconds, 1),
        "ratio": round(converge_seconds / direct_seconds, 2),
        "goalert_requests_per_resource": round(total / n, 3),
        "goalert_mutations_per_resource": round(writes / n, 3),
        "goalert_requests_by_operation_per_resource": per_operation(ops_converged, n),
        "goalert_busy_seconds": round(sum(busy_converged.values()), 1),
        "goalert_busy_share": round(sum(busy_converged.values()) / converge_seconds, 3),
        "goalert_seconds_by_operation": {op: round(v, 1) for op, v in
                                         sorted(busy_converged.items(), key=lambda kv: -kv[1]) if v >= 0.05},
        "lower_bound_busy_seconds": round(sum(direct.seconds.values()), 1),
        "lower_bound_seconds_by_operation": {op: round(v, 1) for op, v in
                                             sorted(direct.seconds.items(), key=lambda kv: -kv[1])},
        "goalert_side_requests": int(served_posts),
        "goalert_side_mutations": int(served_mutations),
        "operator_side_requests": int(total),
        "operator_side_mutations": int(writes),
        "kubernetes_writes_per_resource": round(by_verb(kube_converging, WRITE_VERBS) / n, 3),
        "kubernetes_gets_per_resource": round(by_verb(kube_converging, {"GET"}) / n, 3),
        "kubernetes_lists_after_start": int(lists_after_start),
        "kubernetes_requests_converging": by_request(kube_converging),
        "rss_mib_converged": round(rss_converged, 1),
        "restart_seconds": round(restart_seconds, 1),
        "restart_goalert_requests_per_resource": round(restart_total / n, 3),
        "restart_goalert_requests_by_operation_per_resource": per_operation(ops_restart, n),
        "steady_resync_seconds": resync,
        "steady_periods": args.steady_periods,
        "steady_goalert_requests_per_resource_per_resync": round(steady_requests / n / args.steady_periods, 3),
        "steady_goalert_requests_by_operation": {k: int(v) for k, v in delta(ops_steady, ops_restart).items()},
        "steady_goalert_mutations": int(steady_mutations),
        "steady_goalert_side_requests": int(served_steady),
        "steady_goalert_side_mutations": int(served_steady_mutations),
        "steady_operator_side_requests": int(steady_requests),
        "steady_kubernetes_writes": int(by_verb(kube_steady, WRITE_VERBS)),
        "steady_kubernetes_requests": by_request(kube_steady),
        "rss_mib_steady": round(rss_steady, 1),
    }
    write_reports(args.results, figures)
    # GoAlert objects stay (the testbed is thrown away after the run unless KEEP_TESTBED is set);
    # the namespace's resources keep their finalizers with no operator, so the namespace stays.


def agree(operator_count, goalert_count):
    """The two counts are read a moment apart, so a request or two may fall between them."""
    return abs(operator_count - goalert_count) <= max(2, 0.01 * goalert_count)


def write_reports(folder, f):
    n = f["resources"]
    rss_target = rss_target_mib(n)
    rows = [
        ("Convergence: operator (s)", f["operator_seconds"], None, None),
        ("Convergence: direct GraphQL lower bound (s)", f["lower_bound_seconds"], None, None),
        ("Ratio operator / lower bound", f["ratio"], "<= 1.25", f["ratio"] <= 1.25),
        ("Every resource Ready", f"{f['operator_ready_resources']}/{n}", f"{n}/{n}", f["operator_converged"]),
        ("GoAlert requests per resource (operator)", f["goalert_requests_per_resource"],
         f"lower bound {f['lower_bound_requests_per_resource']}", None),
        ("GoAlert mutations per resource (operator)", f["goalert_mutations_per_resource"], None, None),
        ("GoAlert busy answering: operator / lower bound (s)",
         f"{f['goalert_busy_seconds']} / {f['lower_bound_busy_seconds']}", None, None),
        ("Share of the operator's convergence GoAlert was busy", f"{f['goalert_busy_share']:.0%}", None, None),
        ("Converging: requests counted by the operator / by GoAlert",
         f"{f['operator_side_requests']} / {f['goalert_side_requests']}", "agree",
         agree(f["operator_side_requests"], f["goalert_side_requests"])),
        ("Converging: mutations counted by the operator / by GoAlert",
         f"{f['operator_side_mutations']} / {f['goalert_side_mutations']}", "agree",
         agree(f["operator_side_mutations"], f["goalert_side_mutations"])),
        ("Kubernetes writes per resource while converging", f["kubernetes_writes_per_resource"], "<= 3",
         f["kubernetes_writes_per_resource"] <= 3),
        ("Kubernetes GETs per resource while converging", f["kubernetes_gets_per_resource"], "0 (watch caches)",
         f["kubernetes_gets_per_resource"] == 0),
        ("Kubernetes LISTs after start", f["kubernetes_lists_after_start"], "0", f["kubernetes_lists_after_start"] == 0),
        ("Operator RSS after converging (MiB)", f["rss_mib_converged"], f"<= {rss_target:.0f}",
         f["rss_mib_converged"] <= rss_target),
        ("Start to ready (s)", f["operator_start_to_ready_seconds"], "< 1", f["operator_start_to_ready_seconds"] < 1),
        ("Restart: first pass (s)", f["restart_seconds"], None, None),
        ("Restart: GoAlert requests per resource", f["restart_goalert_requests_per_resource"], None, None),
        (f"Steady state: GoAlert requests per resource per resync ({f['steady_periods']} x {f['steady_resync_seconds']}s)",
         f["steady_goalert_requests_per_resource_per_resync"], "<= 0.1",
         f["steady_goalert_requests_per_resource_per_resync"] <= 0.1),
        ("Steady state: GoAlert mutations", f["steady_goalert_mutations"], "0", f["steady_goalert_mutations"] == 0),
        ("Steady state: requests counted by the operator / by GoAlert",
         f"{f['steady_operator_side_requests']} / {f['steady_goalert_side_requests']}", "agree",
         agree(f["steady_operator_side_requests"], f["steady_goalert_side_requests"])),
        ("Steady state: Kubernetes writes", f["steady_kubernetes_writes"], "0", f["steady_kubernetes_writes"] == 0),
        ("Operator RSS after the steady state (MiB)", f["rss_mib_steady"], f"<= {rss_target:.0f}",
         f["rss_mib_steady"] <= rss_target),
    ]
    intro = [
        "Measured in one run on the benchmark testbed (`e2e/bench.sh convergence`): the lower bound",
        "creates the same objects with nested GraphQL inputs, serially, with one admin credential; the",
        f"operator uses one too (here: {'an API key each' if f['credential'] == 'key' else 'a session each'}).",
        "GoAlert requests from the operator's",
        "`goalert_provisioning_goalert_requests_total`, checked against GoAlert's own count (POST",
        "requests in `goalert_http_server_requests_total`, `Mutation.*` resolvers in",
        "`goalert_graphql_resolver__count`); Kubernetes requests from the apiserver's",
        "`apiserver_request_total` (custom resources, Secrets, claim ConfigMaps, Events).",
    ]
    sections = [(title, f[key]) for title, key in [
        ("GoAlert requests per resource while converging, by operation", "goalert_requests_by_operation_per_resource"),
        ("Seconds GoAlert spent answering the operator while converging, by operation", "goalert_seconds_by_operation"),
        ("Seconds GoAlert spent answering the lower bound, by operation", "lower_bound_seconds_by_operation"),
        ("GoAlert requests per resource on restart, by operation", "restart_goalert_requests_by_operation_per_resource"),
        ("GoAlert requests in the steady state, by operation", "steady_goalert_requests_by_operation"),
        ("Kubernetes requests while converging", "kubernetes_requests_converging"),
        ("Kubernetes requests in the steady state", "steady_kubernetes_requests"),
    ]]
    write_report(folder, f"Convergence benchmark: {n} resources ({f['teams']} teams)", intro, rows, f, sections)


if __name__ == "__main__":
    main()
