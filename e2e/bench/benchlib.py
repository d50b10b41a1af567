"""What the benchmark suites in e2e/bench/ share: GoAlert's API, the operator as a process, the
metrics both it and the API server expose, and the report every suite writes (a table with each
figure beside its target, as markdown and JSON).
"""

import atexit
import concurrent.futures
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

GROUP = "goalert.heystaq.com"
# What the operator reads and writes in Kubernetes (webhooks and leader election are off unless a
# suite turns them on): its kinds, Secrets, Events, and the claims (ConfigMaps in its own
# namespace).
OPERATOR_RESOURCES = {(GROUP, None), ("", "secrets"), ("", "configmaps"), ("events.k8s.io", "events"), ("", "events")}
WRITE_VERBS = {"POST", "PUT", "PATCH", "DELETE", "APPLY", "DELETECOLLECTION"}
SUITE = os.path.splitext(os.path.basename(sys.argv[0]))[0]
# Which build the figures are of (e2e/bench.sh's BENCH_PROFILE): release, or dev while a suite is
# being written.
BUILD = "debug" if os.environ.get("BENCH_PROFILE") == "dev" else "release"


def log(message):
    print(f"[bench {SUITE}] {message}", file=sys.stderr, flush=True)


class GoAlert:
    """GoAlert's GraphQL endpoint over one kept-alive connection, one request at a time."""

    def __init__(self, url, token, document=None):
        parsed = urllib.parse.urlsplit(url)
        self.connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=120)
        self.token = token
        self.document = document
        self.requests = 0
        # Seconds each operation took to answer, summed: how long GoAlert was busy with it.
        self.seconds = {}

    def run(self, operation, variables, query=None):
        body = {"operationName": operation, "variables": variables, "query": query or self.document}
        started = time.monotonic()
        self.connection.request(
            "POST",
            "/api/graphql",
            json.dumps(body),
            {"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
        )
        response = self.connection.getresponse()
        data = json.loads(response.read() or b"{}")
        self.requests += 1
        self.seconds[operation] = self.seconds.get(operation, 0) + time.monotonic() - started
        if response.status != 200 or data.get("errors"):
            raise RuntimeError(f"GoAlert {operation}: HTTP {response.status} {data.get('errors')}")
        return data["data"]


def login(url, username, password):
    parsed = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
    form = urllib.parse.urlencode({"username": username, "password": password})
    connection.request(
        "POST",
        "/api/v2/identity/providers/basic?noRedirect=1",
        form,
        {"Content-Type": "application/x-www-form-urlencoded", "Referer": url + "/"},
    )
    response = connection.getresponse()
    token = response.read().decode().strip()
    if response.status != 200:
        raise RuntimeError(f"GoAlert login failed: HTTP {response.status} {token}")
    return token


def admin(url):
    """The testbed administrator's session on the GoAlert at `url`."""
    return GoAlert(url, login(url, os.environ["GOALERT_ADMIN_USER"], os.environ["GOALERT_ADMIN_PASSWORD"]))


def mint_key(goalert_admin, name, document):
    expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 86400))
    mutation = """mutation($input: CreateGQLAPIKeyInput!) { createGQLAPIKey(input: $input) { token } }"""
    data = goalert_admin.run(
        None,
        {"input": {"name": name, "description": "benchmark", "expiresAt": expires, "role": "admin", "query": document}},
        query=mutation,
    )
    return data["createGQLAPIKey"]["token"]


def mutation_names(document):
    with open(document) as f:
        return set(re.findall(r"^mutation\s+(\w+)", f.read(), re.MULTILINE))


# --- metrics -----------------------------------------------------------------------------------

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def samples(text, name):
    for line in text.splitlines():
        match = SAMPLE.match(line)
        if match and match.group(1) == name:
            yield dict(LABEL.findall(match.group(2) or "")), float(match.group(3))


def http_get(port, path):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path)
    response = connection.getresponse()
    return response.status, response.read().decode()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Operator:
    """`goalert-provisioning run` out of cluster, watching one namespace, no leader election;
    `env` adds or overrides settings (for example the webhooks')."""

    def __init__(self, binary, namespace, api_key, resync, log_path, goalert_url=None, env=None):
        """`api_key` None: `env` gives the credentials (GOALERT_USERNAME and GOALERT_PASSWORD)."""
        self.port = free_port()
        settings = {
            "PATH": os.environ["PATH"], "KUBECONFIG": os.environ["KUBECONFIG"],
            "GOALERT_URL": goalert_url or os.environ["GOALERT_URL"],
            "METRICS_BIND_ADDRESS": f"127.0.0.1:{self.port}", "RESYNC_PERIOD": resync,
            "WATCH_NAMESPACE": namespace, "LEADER_ELECTION": "false", "RUST_LOG": os.environ.get("BENCH_OPERATOR_LOG", "info"), "NO_COLOR": "1",
        }
        if api_key is not None:
            settings["GOALERT_API_KEY"] = api_key
        settings.update(env or {})
        self.started = time.monotonic()
        self.process = subprocess.Popen([binary, "run"], env=settings, stdout=subprocess.DEVNULL,
                                        stderr=open(log_path, "w"))
        # A suite that fails half-way leaves no operator running (it would load the next run).
        atexit.register(self.stop)

    def metrics(self):
        status, text = http_get(self.port, "/metrics")
        if status != 200:
            raise RuntimeError(f"operator /metrics: HTTP {status}")
        return text

    def wait_ready(self, limit=60, check=None):
        """Seconds from the start until /readyz answers 200 (and its body passes `check`)."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("the operator exited")
            try:
                status, body = http_get(self.port, "/readyz")
                if status == 200 and (check is None or check(body)):
                    return time.monotonic() - self.started
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("the operator did not become ready")

    def rss_mib(self):
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self):
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def ready_count(text, namespace):
    return sum(value for labels, value in samples(text, "goalert_provisioning_managed_resources")
               if labels.get("namespace") == namespace and labels.get("ready") == "true")


def goalert_requests(text, mutations):
    """(all requests, mutations, by operation) from the operator's own counter."""
    by_operation = {}
    for labels, value in samples(text, "goalert_provisioning_goalert_requests_total"):
        by_operation[labels["operation"]] = by_operation.get(labels["operation"], 0) + value
    total = sum(by_operation.values())
    writes = sum(v for op, v in by_operation.items() if op in mutations)
    return total, writes, by_operation


def goalert_seconds(text):
    """Seconds GoAlert took to answer the operator, by operation, from the operator's histogram
    (timed from when the credential's one request slot is free: queueing is not in it)."""
    by_operation = {}
    for labels, value in samples(text, "goalert_provisioning_goalert_request_duration_seconds_sum"):
        by_operation[labels["operation"]] = by_operation.get(labels["operation"], 0) + value
    return by_operation


def goalert_served():
    """(POST requests, mutations) as GoAlert counts them on its own Prometheus listener (the
    benchmark testbed starts it with --listen-prometheus): every GraphQL request is a POST, and
    each of the operator's requests runs at most one mutation resolver."""
    url = os.environ.get("GOALERT_METRICS_URL")
    if not url:
        raise RuntimeError("GOALERT_METRICS_URL is unset: start the testbed through e2e/bench.sh")
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        text = response.read().decode()
    posts = sum(v for labels, v in samples(text, "goalert_http_server_requests_total")
                if labels.get("method", "").upper() == "POST")
    mutations = sum(v for labels, v in samples(text, "goalert_graphql_resolver__count")
                    if labels.get("name", "").startswith("Mutation."))
    return posts, mutations


def apiserver_requests():
    """The apiserver's request counter for what the operator touches, by (verb, resource)."""
    # Right after a thousand objects are applied the API server can time out once or twice.
    for attempt in range(5):
        try:
            text = kubectl("get", "--raw", "/metrics")
            break
        except subprocess.CalledProcessError:
            if attempt == 4:
                raise
            time.sleep(3)
    counts = {}
    for labels, value in samples(text, "apiserver_request_total"):
        group, resource = labels.get("group", ""), labels.get("resource", "")
        if (group, None) not in OPERATOR_RESOURCES and (group, resource) not in OPERATOR_RESOURCES:
            continue
        if labels.get("dry_run"):
            continue
        key = (labels.get("verb", ""), resource + ("/" + labels["subresource"] if labels.get("subresource") else ""))
        counts[key] = counts.get(key, 0) + value
    return counts


def delta(after, before):
    return {key: after.get(key, 0) - before.get(key, 0) for key in after if after.get(key, 0) != before.get(key, 0)}


def by_verb(counts, verbs):
    return sum(v for (verb, _), v in counts.items() if verb in verbs)


def per_operation(delta_ops, resources):
    return {op: round(v / resources, 3) for op, v in sorted(delta_ops.items(), key=lambda kv: -kv[1]) if v}


def by_request(counts):
    """Kubernetes request counts as report lines: "VERB resource" -> count."""
    return {f"{v} {r}": int(c) for (v, r), c in sorted(counts.items())}


# --- Kubernetes ---------------------------------------------------------------------------------


def kubectl(*args, stdin=None):
    return subprocess.run(["kubectl", *args], check=True, capture_output=True, input=stdin, text=True).stdout


def apply(objects, namespace=None, workers=1):
    """Server-side apply of a list of objects (dicts) or of manifests (text). kubectl sends one
    request an object; `workers` kubectl processes share a long list."""
    if isinstance(objects, str):
        kubectl("apply", "--server-side", *(["-n", namespace] if namespace else []), "-f", "-", stdin=objects)
        return
    chunks = [objects[i::workers] for i in range(workers)]
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        # list() waits for every chunk and raises the first failure.
        list(pool.map(lambda chunk: apply(json.dumps({"apiVersion": "v1", "kind": "List", "items": chunk}),
                                          namespace), chunks))


def rss_target_mib(resources):
    """The issue's memory targets: 40 MiB at 1,000 resources, 200 MiB at 10,000 (in between and
    beyond in proportion)."""
    return 40 if resources <= 1000 else 200 * resources / 10000


def wait_until(what, limit, check, interval=1.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    log(f"{what}: not reached within {limit:.0f}s")
    return False


def run_id():
    """A short name part no earlier run on the same testbed used."""
    return format(int(time.time()) % 10**8, "x")


# --- the report ---------------------------------------------------------------------------------


def write_report(folder, title, intro, rows, figures, sections=()):
    """Writes <suite>.md (`intro`, then a table of (figure, measured, target, met) rows, then
    `sections` of (title, {line: value})) and <suite>.json (`figures`), and prints the markdown."""
    lines = [f"# {title}", "", *intro, "", f"Build measured: {BUILD}.", "", "| Figure | Measured | Target | Met |", "| --- | --- | --- | --- |"]
    for name, value, target, met in rows:
        mark = "" if met is None else ("yes" if met else "**no**")
        lines.append(f"| {name} | {value} | {target or ''} | {mark} |")
    for heading, items in sections:
        lines += ["", f"## {heading}", ""]
        lines += [f"- {k}: {v}" for k, v in items.items()] or ["- none"]
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, f"{SUITE}.md"), "w") as out:
        out.write("\n".join(lines) + "\n")
    with open(os.path.join(folder, f"{SUITE}.json"), "w") as out:
        json.dump({"build": BUILD, **figures}, out, indent=2)
    print("\n".join(lines))
