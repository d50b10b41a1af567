#!/usr/bin/env bash
# gctl's benchmarks: each gctl command beside the raw GraphQL requests it needs for the same
# answer, sent with curl over one session, timed in the same run (median of several rounds).
#   - `gctl oncall` with 200 schedules (target: within 2x of the raw requests)
#   - `gctl alert list --all` over 10,000 alerts (target: within 2x)
#   - `gctl rca report` over a day of 5,000 alerts (target: within 2x)
# Run through e2e/bench.sh (it starts the benchmark testbed and builds release binaries):
#   e2e/bench.sh gctl
# Writes $BENCH_RESULTS/gctl.md and $BENCH_RESULTS/gctl.json.
set -euo pipefail
# A failed seeding step inside $(...) must stop the run, not leave a benchmark of nothing.
shopt -s inherit_errexit
. e2e/lib.sh
ROUNDS=${GCTL_BENCH_ROUNDS:-5}
GCTL=$BENCH_BIN/gctl
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export GCTL_CONFIG=$WORK/config TZ=UTC

TOKEN=$(curl -fsS -H "Referer: $GOALERT_URL/" --data-urlencode "username=$GOALERT_ADMIN_USER" \
  --data-urlencode "password=$GOALERT_ADMIN_PASSWORD" "$GOALERT_URL/api/v2/identity/providers/basic?noRedirect=1")
gql() { # document-as-JSON: one raw GraphQL request, the answer on stdout
  curl -fsS -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' "$GOALERT_URL/api/graphql" -d "$1"
}
sql() { psql "$GOALERT_DB_URL" -Atq -c "$1"; }

# --- Data (created once per testbed; a kept testbed reuses it) ------------------------------
log "gctl bench: seeding 200 schedules, 10,000 alerts and a day of 5,000"
have=$(sql "SELECT count(*) FROM schedules WHERE name LIKE 'bench-schedule-%'")
if ((have < 200)); then
  # A kept testbed may hold the user from an interrupted run.
  user=$(sql "SELECT id FROM users WHERE name = 'Bench User'")
  [ -n "$user" ] || user=$(gql '{"query":"mutation{createUser(input:{username:\"benchuser\",password:\"bench-password\",name:\"Bench User\"}){id}}"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["createUser"]["id"])')
  for i in $(seq $((have + 1)) 200); do
    gql "{\"query\":\"mutation{createSchedule(input:{name:\\\"bench-schedule-$i\\\",timeZone:\\\"UTC\\\",targets:[{newRotation:{name:\\\"bench-rotation-$i\\\",timeZone:\\\"UTC\\\",start:\\\"2026-01-01T08:00:00Z\\\",type:daily,userIDs:[\\\"$user\\\"]},rules:[{}]}]}){id}}\"}" >/dev/null
  done
fi
service() { # name count window-seconds: a service with `count` alerts spread over the window
  local id key
  id=$(sql "SELECT id FROM services WHERE name = '$1'")
  if [ -z "$id" ]; then
    id=$(gql "{\"query\":\"mutation{createService(input:{name:\\\"$1\\\",newEscalationPolicy:{name:\\\"$1-policy\\\"},newIntegrationKeys:[{type:generic,name:\\\"monitoring\\\"}]}){id}}\"}" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["createService"]["id"])')
  fi
  if (($(sql "SELECT count(*) FROM alerts WHERE service_id = '$id'") == 0)); then
    key=$(sql "SELECT id FROM integration_keys WHERE service_id = '$id'")
    # Like the engine leaves a storm: 150 unacknowledged (GoAlert allows 200 a service), the
    # rest acknowledged or closed, each with its "created" log entry.
    sql "WITH a AS (INSERT INTO alerts (service_id, source, status, summary, details, dedup_key, created_at)
      SELECT '$id', 'generic', (CASE WHEN g <= 150 THEN 'triggered' WHEN g % 2 = 0 THEN 'active' ELSE 'closed' END)::enum_alert_status,
        'bench alert ' || g, 'bench details ' || g, CASE WHEN g <= 150 OR g % 2 = 0 THEN 'auto:1:bench-' || g END,
        now() - (g::bigint * $3 / $2) * interval '1 second'
      FROM generate_series(1, $2) g RETURNING id, created_at)
      INSERT INTO alert_logs (alert_id, timestamp, event, message, sub_type, sub_integration_key_id)
      SELECT id, created_at, 'created', '', 'integration_key', '$key' FROM a" >/dev/null
  fi
  # A kept testbed was seeded earlier: move the alerts with the clock, newest at now again, so
  # "a day" still holds all of them.
  sql "WITH d AS (SELECT now() - max(created_at) AS d FROM alerts WHERE service_id = '$id'),
      a AS (UPDATE alerts SET created_at = created_at + (SELECT d FROM d) WHERE service_id = '$id')
    UPDATE alert_logs SET timestamp = timestamp + (SELECT d FROM d)
    WHERE alert_id IN (SELECT id FROM alerts WHERE service_id = '$id')" >/dev/null
  echo "$id"
}
STORM=$(service bench-storm 10000 604800)
DAY=$(service bench-day 5000 86000)

GCTL_PASSWORD=$GOALERT_ADMIN_PASSWORD "$GCTL" login --url "$GOALERT_URL" -u "$GOALERT_ADMIN_USER" >/dev/null

# --- Raw requests: the minimum GoAlert needs for each answer ---------------------------------
# Written out as a small client so that every page's cursor feeds the next request.
cat >"$WORK/raw.py" <<'PY'
import json, os, sys, urllib.request
url, token = os.environ["GOALERT_URL"] + "/api/graphql", os.environ["TOKEN"]
def gql(query, variables):
    request = urllib.request.Request(url, json.dumps({"query": query, "variables": variables}).encode(),
        {"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    answer = json.load(urllib.request.urlopen(request))
    if answer.get("errors"):
        raise RuntimeError("GoAlert: " + answer["errors"][0]["message"])
    return answer["data"]
def pages(query, variables, field, first=None):
    # A page GoAlert cancels for costing more than 100 database calls is asked for again with
    # half as many items, as gctl does; the fewest requests that fit are the minimum.
    after, items = "", []
    while True:
        try:
            page = gql(query, dict(variables, after=after, **({"first": first} if first else {})))[field]
        except RuntimeError as error:
            if first and first > 1 and "external call limit" in str(error):
                first //= 2
                continue
            sys.exit(str(error))
        items += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            return items
        after = page["pageInfo"]["endCursor"]
kind = sys.argv[1]
if kind == "oncall":
    # Every schedule's shifts and every policy's steps (direct targets), each page as large as fits
    # GoAlert's 100 calls a request (nested fields cost calls of their own).
    start, end = sys.argv[2], sys.argv[3]
    s = pages("query($first:Int!,$after:String!,$s:ISOTimestamp!,$e:ISOTimestamp!){schedules(input:{first:$first,after:$after}){nodes{id name shifts(start:$s,end:$e){userID user{name} start end truncated}} pageInfo{endCursor hasNextPage}}}",
              {"s": start, "e": end}, "schedules", first=10)
    p = pages("query($first:Int!,$after:String!){escalationPolicies(input:{first:$first,after:$after}){nodes{id name steps{stepNumber delayMinutes actions{type args displayInfo{... on DestinationDisplayInfo{text}}}}} pageInfo{endCursor hasNextPage}}}",
              {}, "escalationPolicies", first=20)
    print(len(s), len(p))
elif kind == "alerts":
    # Every alert of the service, 1000 a page (GoAlert's alert maximum), in an order that pages.
    a = pages("query($after:String!,$svc:ID!){alerts(input:{first:1000,after:$after,sort:statusID,filterByServiceID:[$svc],filterByStatus:[StatusUnacknowledged,StatusAcknowledged,StatusClosed]}){nodes{alertID status summary details createdAt service{id name}} pageInfo{endCursor hasNextPage}}}",
              {"svc": sys.argv[2]}, "alerts")
    print(len(a))
elif kind == "rca":
    # Every alert of the day with its log, as many a page as fit GoAlert's limit.
    a = pages("query($after:String!,$svc:ID!,$since:ISOTimestamp!){alerts(input:{first:64,after:$after,sort:statusID,filterByServiceID:[$svc],notCreatedBefore:$since,filterByStatus:[StatusUnacknowledged,StatusAcknowledged,StatusClosed]}){nodes{alertID status summary details createdAt service{id name} recentEvents(input:{limit:50}){nodes{timestamp message state{details status}} pageInfo{hasNextPage}}} pageInfo{endCursor hasNextPage}}}",
              {"svc": sys.argv[2], "since": sys.argv[3]}, "alerts")
    print(len(a))
PY
export TOKEN
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
week_ago=$(date -u -d '-7 days' +%Y-%m-%dT%H:%M:%SZ)
week_ahead=$(date -u -d '+7 days' +%Y-%m-%dT%H:%M:%SZ)
day_ago=$(date -u -d '-24 hours' +%Y-%m-%dT%H:%M:%SZ)

# What one request for all 200 schedules' shifts does (GoAlert's call limit refuses it).
single=$(gql "{\"query\":\"{schedules(input:{first:149}){nodes{id shifts(start:\\\"$week_ago\\\",end:\\\"$week_ahead\\\"){userID}}}}\"}" |
  python3 -c 'import json,sys; d=json.load(sys.stdin); print((d.get("errors") or [{"message":"ok"}])[0]["message"])')

median() { # command...: median wall seconds over $ROUNDS runs
  python3 - "$ROUNDS" "$@" <<'PY'
import subprocess, sys, time
rounds, command = int(sys.argv[1]), sys.argv[2:]
times = []
for _ in range(rounds):
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    times.append(time.perf_counter() - started)
times.sort()
print(f"{times[len(times) // 2]:.3f}")
PY
}

log "gctl bench: measuring ($ROUNDS rounds each)"
oncall_gctl=$(median "$GCTL" oncall -o json)
oncall_raw=$(median python3 "$WORK/raw.py" oncall "$week_ago" "$week_ahead")
list_gctl=$(median "$GCTL" alert list --all --status all --service bench-storm -o json)
list_raw=$(median python3 "$WORK/raw.py" alerts "$STORM")
rca_gctl=$(median "$GCTL" rca report --since 24h --service bench-day -o json)
rca_raw=$(median python3 "$WORK/raw.py" rca "$DAY" "$day_ago")
listed=$("$GCTL" alert list --all --status all --service bench-storm --ids | wc -l)
investigated=$("$GCTL" rca report --since 24h --service bench-day -o json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["alerts"]))')
schedules=$(sql "SELECT count(*) FROM schedules")
((listed == 10000 && investigated == 5000)) ||
  die "gctl bench: gctl found $listed of 10,000 alerts and $investigated of a day's 5,000; the seeding failed"

python3 - "$BENCH_RESULTS" <<PY
import json, sys
rows = [
    ("gctl oncall ($schedules schedules)", $oncall_gctl, $oncall_raw),
    ("gctl alert list --all ($listed alerts)", $list_gctl, $list_raw),
    ("gctl rca report ($investigated alerts in a day)", $rca_gctl, $rca_raw),
]
results = [{"benchmark": name, "gctlSeconds": g, "rawSeconds": r, "ratio": round(g / r, 2), "target": 2.0,
            "met": g / r <= 2.0} for name, g, r in rows]
out = sys.argv[1]
json.dump({"rounds": $ROUNDS, "singleRequestForAllSchedules": "$single", "results": results},
          open(out + "/gctl.json", "w"), indent=2)
with open(out + "/gctl.md", "w") as md:
    md.write("# gctl benchmarks\n\nMedian wall time of $ROUNDS rounds, gctl ($BENCH_PROFILE build) beside the raw GraphQL "
             "requests GoAlert needs for the same answer, sent over one session in the same run.\n\n")
    md.write("| Benchmark | gctl (s) | raw requests (s) | ratio | target |\n|---|---|---|---|---|\n")
    for r in results:
        md.write(f"| {r['benchmark']} | {r['gctlSeconds']:.3f} | {r['rawSeconds']:.3f} | {r['ratio']:.2f} | "
                 f"<= 2.0 {'met' if r['met'] else 'MISSED'} |\n")
    md.write("\nOne request for every schedule's shifts, as a single raw call would ask, gets from GoAlert: "
             "\"$single\". The raw baseline therefore pages ten schedules a request, as gctl does.\n")
print(open(out + "/gctl.md").read())
PY
