//! Helpers for the end-to-end tests in tests/: they run against the testbed that `e2e/up.sh`
//! starts (a real kube-apiserver and a real GoAlert), never against fakes.

pub mod chart;
pub mod faults;
pub mod health;
pub mod scene;
pub mod webhooks;

use std::{
    collections::{BTreeMap, HashMap},
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    sync::OnceLock,
    time::{Duration, Instant},
};

use goalert_client::{Credentials, GoAlert, secret::Secret};
use serde_json::{Value, json};

/// The running testbed, as described by `$TESTBED_STATE/env`.
pub struct Testbed {
    pub goalert_url: String,
    pub admin_user: String,
    pub admin_password: String,
    pub kubeconfig: PathBuf,
    pub db_url: String,
}

pub fn testbed() -> &'static Testbed {
    static TESTBED: OnceLock<Testbed> = OnceLock::new();
    TESTBED.get_or_init(|| {
        let state =
            std::env::var("TESTBED_STATE").unwrap_or_else(|_| "/tmp/goalert-provisioning-testbed".into());
        let path = PathBuf::from(&state).join("env");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "the end-to-end tests need the testbed: run e2e/up.sh first ({}: {e})",
                path.display()
            )
        });
        let vars: HashMap<_, _> = text
            .lines()
            .filter_map(|line| line.strip_prefix("export ")?.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Testbed {
            goalert_url: vars["GOALERT_URL"].clone(),
            admin_user: vars["GOALERT_ADMIN_USER"].clone(),
            admin_password: vars["GOALERT_ADMIN_PASSWORD"].clone(),
            kubeconfig: PathBuf::from(&vars["KUBECONFIG"]),
            db_url: vars["GOALERT_DB_URL"].clone(),
        }
    })
}

impl Testbed {
    /// A client logged in as GoAlert's administrator.
    pub fn admin(&self) -> GoAlert {
        self.admin_of(&self.goalert_url)
    }

    /// A client logged in as the administrator of the GoAlert at `url` (the testbed's, or a
    /// [`FreshGoAlert`]: both have the same administrator).
    pub fn admin_of(&self, url: &str) -> GoAlert {
        GoAlert::new(
            url,
            Credentials::Login {
                username: self.admin_user.clone(),
                password: Secret::new(&self.admin_password),
            },
        )
        .unwrap()
    }

    /// Sends any GraphQL document with the administrator's session: for setting up test
    /// scenarios the operator itself never sends.
    pub async fn admin_graphql(&self, query: &str, variables: Value) -> Value {
        self.admin_graphql_of(&self.goalert_url, query, variables).await
    }

    /// [`Testbed::admin_graphql`] against the GoAlert at `url`.
    pub async fn admin_graphql_of(&self, url: &str, query: &str, variables: Value) -> Value {
        let token = self.admin_of(url).login().await.expect("administrator login");
        let response: Value = reqwest::Client::new()
            .post(format!("{url}/api/graphql"))
            .bearer_auth(token.expose())
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(response.get("errors").is_none(), "GraphQL errors: {response}");
        response["data"].clone()
    }

    /// Mints an admin API key bound to `document`, as an administrator would in GoAlert's UI.
    pub async fn mint_api_key(&self, document: &str) -> String {
        let data = self
            .admin_graphql(
                "mutation($input: CreateGQLAPIKeyInput!) { createGQLAPIKey(input: $input) { token } }",
                json!({ "input": {
                    "name": unique_name("e2e key"),
                    "description": "minted by an end-to-end test",
                    "expiresAt": "2099-01-01T00:00:00Z",
                    "role": "admin",
                    "query": document,
                }}),
            )
            .await;
        data["createGQLAPIKey"]["token"].as_str().unwrap().to_owned()
    }

    /// Runs SQL against GoAlert's database, for scenarios only a database can stage (an ended session).
    pub fn sql(&self, statement: &str) {
        assert!(self.try_sql(statement), "psql failed: {statement}");
    }

    /// [`Testbed::sql`] for clean-ups, which must not panic while a failed test unwinds.
    pub fn try_sql(&self, statement: &str) -> bool {
        Command::new("psql")
            .args([&self.db_url, "-q", "-c", statement])
            .status()
            .is_ok_and(|status| status.success())
    }
}

/// A GoAlert of a test's own, on a new database in the testbed's PostgreSQL: empty but for the
/// testbed's administrator, with the testbed's flags and notifier configuration. For tests that
/// need to know everything a GoAlert holds, which the shared one cannot promise while other tests
/// run. Stopped, and its database dropped, when dropped.
pub struct FreshGoAlert {
    pub url: String,
    database: String,
    child: Child,
    /// The server's command line, for [`FreshGoAlert::start_again`].
    args: Vec<String>,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl FreshGoAlert {
    const ENCRYPTION_KEY: &str = "e2e-fresh-goalert-key";

    pub async fn start() -> Self {
        Self::start_on(Filling::Empty, None).await
    }

    /// An empty GoAlert whose server reaches PostgreSQL through 127.0.0.1:`db_port` (a
    /// [`faults::TcpProxy`] in front of the testbed's PostgreSQL, to restart the database path).
    pub async fn start_with_db_port(db_port: u16) -> Self {
        Self::start_on(Filling::Empty, Some(db_port)).await
    }

    /// A GoAlert whose database GoAlert's own data generator (devtools/resetdb, built by
    /// e2e/install.sh) filled with a random organisation: `mult` scales its counts (1 makes
    /// about 1,600 users and 400 services), `seed` picks it. The server runs in API-only mode,
    /// so no engine cycle changes the data while a test compares database dumps.
    pub async fn generated(mult: &str, seed: &str) -> Self {
        Self::start_on(Filling::Generated { mult, seed }, None).await
    }

    async fn start_on(filling: Filling<'_>, db_port: Option<u16>) -> Self {
        goalert_client::tls::ensure_crypto_provider();
        let tb = testbed();
        let database = unique_name("goalert").replace(' ', "_");
        let (server, query) = tb
            .db_url
            .rsplit_once('/')
            .expect("a database URL names its database");
        let (_, options) = query.split_once('?').unwrap_or((query, ""));
        let db_url = format!("{server}/{database}?{options}");
        let run = |program: &str, args: &[&str]| {
            let output = Command::new(program)
                .args(args)
                .output()
                .unwrap_or_else(|e| panic!("{program} from the testbed is on PATH: {e}"));
            assert!(
                output.status.success(),
                "{program} {args:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        };
        let goalert = |args: &[&str]| {
            let mut with_db = args.to_vec();
            with_db.extend(["--db-url", db_url.as_str()]);
            run("goalert", &with_db);
        };
        match filling {
            Filling::Empty => {
                tb.sql(&format!("CREATE DATABASE {database}"));
                goalert(&["migrate"]);
            }
            Filling::Generated { mult, seed } => {
                // resetdb creates the database itself (through the `postgres` one) and migrates it.
                let admin_db = format!("{server}/postgres?{options}");
                run(
                    "resetdb",
                    &[
                        "-with-rand-data",
                        "-mult",
                        mult,
                        "-seed",
                        seed,
                        "-db-url",
                        &db_url,
                        "-admin-db-url",
                        &admin_db,
                    ],
                );
            }
        }
        goalert(&[
            "add-user",
            "--admin",
            "--user",
            &tb.admin_user,
            "--pass",
            &tb.admin_password,
            "--email",
            "admin@example.com",
        ]);
        // Before the server starts, so it starts with the configuration in place.
        goalert(&[
            "set-config",
            "--data-encryption-key",
            Self::ENCRYPTION_KEY,
            "--data",
            include_str!("../../e2e/goalert-config.json"),
        ]);

        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("goalert.log");
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let server_db_url = match db_port {
            Some(db_port) => {
                let mut through = url::Url::parse(&db_url).unwrap();
                through.set_port(Some(db_port)).unwrap();
                through.to_string()
            }
            None => db_url.clone(),
        };
        let mut args: Vec<String> = [
            "--db-url",
            &server_db_url,
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--public-url",
            &url,
            "--data-encryption-key",
            Self::ENCRYPTION_KEY,
            "--stub-notifiers",
            "--experimental",
            "univ-keys",
        ]
        .map(str::to_owned)
        .to_vec();
        if matches!(filling, Filling::Generated { .. }) {
            args.push("--api-only".into());
        }
        let child = Self::spawn(&args, &log);
        let fresh = Self {
            url,
            database,
            child,
            args,
            log,
            _dir: dir,
        };
        fresh.wait_until_up().await;
        fresh
    }

    fn spawn(args: &[String], log: &Path) -> Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        Command::new("goalert")
            .args(args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start goalert")
    }

    async fn wait_until_up(&self) {
        let health = format!("{}/health", self.url);
        eventually("the fresh GoAlert is up", Duration::from_secs(60), || async {
            match reqwest::get(&health).await {
                Ok(response) if response.status().is_success() => Ok(()),
                other => Err(format!("{other:?}\n{}", self.logs())),
            }
        })
        .await;
    }

    /// Stops the server (SIGKILL); its database stays.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the server again on the same port and database; waits until it is healthy.
    pub async fn start_again(&mut self) {
        self.stop();
        self.child = Self::spawn(&self.args, &self.log);
        self.wait_until_up().await;
    }

    pub fn admin(&self) -> GoAlert {
        testbed().admin_of(&self.url)
    }

    /// `pg_dump --data-only` of this GoAlert's database, without the tables that change when
    /// nobody changes anything: `tables_that_move` (for example the sessions logins create).
    pub fn dump(&self, tables_that_move: &[&str]) -> String {
        let tb = testbed();
        let (server, query) = tb.db_url.rsplit_once('/').unwrap();
        let (_, options) = query.split_once('?').unwrap_or((query, ""));
        let mut command = Command::new("pg_dump");
        command.args([
            "--data-only",
            "--inserts",
            "--no-comments",
            &format!("{server}/{}?{options}", self.database),
        ]);
        for table in tables_that_move {
            command.arg(format!("--exclude-table-data={table}"));
        }
        let output = command.output().expect("pg_dump from PostgreSQL's package");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        // pg_dump brackets its output with a random \restrict key, new on every run.
        let dump = String::from_utf8(output.stdout).unwrap();
        let lines = dump
            .lines()
            .filter(|l| !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict"));
        lines.collect::<Vec<_>>().join("\n")
    }

    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        testbed().admin_graphql_of(&self.url, query, variables).await
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// What a [`FreshGoAlert`]'s database starts with.
enum Filling<'a> {
    Empty,
    Generated { mult: &'a str, seed: &'a str },
}

impl Drop for FreshGoAlert {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let dropped = testbed().try_sql(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.database));
        if !dropped {
            eprintln!("could not drop the fresh GoAlert's database {}", self.database);
        }
    }
}

/// A name no other test run used, within GoAlert's IDName rules (letters, digits, spaces).
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix} {}{nanos}{n}", std::process::id())
}

/// [`unique_name`] as Kubernetes accepts it for a namespace or a Helm release: lowercase, dashes,
/// at most 63 characters.
pub fn unique_dns_name(prefix: &str) -> String {
    let name = format!(
        "{prefix}-{}",
        unique_name("").trim().to_lowercase().replace(' ', "-")
    );
    name.chars()
        .take(63)
        .collect::<String>()
        .trim_end_matches('-')
        .to_owned()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The repository root: this crate lives in its e2e/ folder.
pub fn repo_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// A binary of the workspace, from the target folder this test was built in. The tests run the
/// operator and gctl as their users do, as separate processes; e2e/test.sh builds them first.
pub fn workspace_binary(name: &str) -> PathBuf {
    let test = std::env::current_exe().expect("the test knows its own path");
    // target/<profile>/deps/<test> → target/<profile>/<name>
    let binary = test
        .parent()
        .and_then(Path::parent)
        .expect("tests run from target/<profile>/deps")
        .join(name);
    assert!(
        binary.exists(),
        "{} is not built: run `cargo build --bins` first (e2e/test.sh does)",
        binary.display()
    );
    binary
}

/// A command that builds with cargo as a user's shell would, without the variables `cargo test`
/// sets for the test. Build scripts watch some of them (ring reruns when `CARGO_MANIFEST_DIR`
/// or `CARGO_PKG_NAME` changes), so the inherited ones rebuild every crate above ring: on CI that
/// was a second copy of the debug build, which once filled the disk.
pub fn outside_cargo_test(command: &mut Command) -> &mut Command {
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        let set_by_cargo_test = name == "CARGO"
            || name == "OUT_DIR"
            || name == "LD_LIBRARY_PATH"
            || name == "RUST_RECURSION_COUNT"
            || [
                "CARGO_PKG_",
                "CARGO_MANIFEST_",
                "CARGO_BIN_EXE_",
                "CARGO_CRATE_",
                "CARGO_TARGET_TMPDIR",
                "CARGO_PRIMARY_PACKAGE",
            ]
            .iter()
            .any(|prefix| name.starts_with(prefix));
        if set_by_cargo_test {
            command.env_remove(name.as_ref());
        }
    }
    command
}

pub fn operator_binary() -> PathBuf {
    workspace_binary("goalert-provisioning")
}

/// The operator running out of cluster as a child process; killed when dropped.
pub struct Operator {
    child: Child,
    pub metrics_port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

/// The environment an [`Operator`] starts with (and nothing else of the test's): the testbed's
/// admin kubeconfig, every namespace, no leader election, unless the test says otherwise.
pub struct OperatorBuilder {
    env: BTreeMap<String, String>,
}

impl Operator {
    /// Starts `goalert-provisioning run` with the testbed's admin kubeconfig, limited to
    /// `namespace` (so concurrent tests do not share objects) and treating it as privileged
    /// (docs/security.md), with the given GoAlert settings
    /// (environment variables such as GOALERT_URL, GOALERT_API_KEY, RESYNC_PERIOD).
    pub fn start(namespace: &str, env: &[(&str, &str)]) -> Self {
        Self::builder().watch_namespace(namespace).envs(env).start()
    }

    /// An operator to start with other settings than [`Operator::start`]'s: another kubeconfig,
    /// every namespace, leader election.
    pub fn builder() -> OperatorBuilder {
        OperatorBuilder { env: BTreeMap::new() }
            .env("PATH", &std::env::var("PATH").unwrap_or_default())
            .kubeconfig(&testbed().kubeconfig)
            .env("RUST_LOG", "info")
            // Concurrent tests run many operators; the leader election test turns it back on.
            .env("LEADER_ELECTION", "false")
    }
}

impl OperatorBuilder {
    /// Limited to `namespace` (WATCH_NAMESPACE), which it treats as privileged
    /// (PRIVILEGED_NAMESPACES): the tests act as the platform team there; e2e_tenancy plays
    /// tenants.
    pub fn watch_namespace(self, namespace: &str) -> Self {
        self.env("WATCH_NAMESPACE", namespace)
            .env("PRIVILEGED_NAMESPACES", namespace)
    }

    /// Authenticates to the API server with the kubeconfig at `path` instead of the admin's.
    pub fn kubeconfig(self, path: &Path) -> Self {
        self.env("KUBECONFIG", path.to_str().expect("a UTF-8 kubeconfig path"))
    }

    /// Sets (or replaces) one environment variable.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.insert(key.to_owned(), value.to_owned());
        self
    }

    pub fn envs(self, env: &[(&str, &str)]) -> Self {
        env.iter()
            .fold(self, |builder, (key, value)| builder.env(key, value))
    }

    /// Leaves `key` unset, so the operator uses its own default (for LEADER_ELECTION: on).
    pub fn without(mut self, key: &str) -> Self {
        self.env.remove(key);
        self
    }

    pub fn start(self) -> Operator {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("operator.log");
        let metrics_port = free_port();
        let child = Command::new(operator_binary())
            .arg("run")
            .env_clear()
            .env("METRICS_BIND_ADDRESS", format!("127.0.0.1:{metrics_port}"))
            .envs(&self.env)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start the operator");
        Operator {
            child,
            metrics_port,
            log,
            _dir: dir,
        }
    }
}

impl Operator {
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kills the process at once (SIGKILL), as a crash or an OOM kill would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The process's resident memory (VmRSS in /proc/<pid>/status), in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/<pid>/status")
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        let url = format!("http://127.0.0.1:{}{path}", self.metrics_port);
        match reqwest::get(&url).await {
            Ok(response) => (
                response.status().as_u16(),
                response.text().await.unwrap_or_default(),
            ),
            Err(_) => (0, String::new()),
        }
    }

    /// Polls /readyz until `accept(status, body)` holds; panics with the logs after `limit`.
    pub async fn wait_for_readyz(&self, limit: Duration, accept: impl Fn(u16, &str) -> bool) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let (status, body) = self.get("/readyz").await;
            if accept(status, &body) {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "readyz never matched; last {status}: {body}\noperator log:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Kubernetes client with the testbed's admin kubeconfig.
pub async fn kube_client() -> kube::Client {
    let kubeconfig = kube::config::Kubeconfig::read_from(&testbed().kubeconfig).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    kube::Client::try_from(config).unwrap()
}

/// A fresh namespace for one test.
pub async fn namespace(prefix: &str) -> String {
    let name = unique_dns_name(prefix);
    create_namespace(&name, &[]).await;
    name
}

/// Creates the namespace `name` with `labels`, or gives them to the one already there (a fixed
/// name, kept from an earlier run on a kept testbed).
pub async fn create_namespace(name: &str, labels: &[(&str, &str)]) {
    use k8s_openapi::api::core::v1::Namespace;
    let namespaces: kube::Api<Namespace> = kube::Api::all(kube_client().await);
    let labels: BTreeMap<_, _> = labels.iter().copied().collect();
    let object = json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": { "name": name, "labels": labels },
    });
    namespaces
        .patch(
            name,
            &kube::api::PatchParams::apply("e2e").force(),
            &kube::api::Patch::Apply(object),
        )
        .await
        .unwrap_or_else(|e| panic!("creating the namespace {name}: {e}"));
}

/// Deletes every goalert.heystaq.com object in `namespace` and waits until they are gone. Call
/// it while the namespace's operator still runs: it removes the finalizers, and no resource is
/// left behind claiming GoAlert objects (an operator watching every namespace, as one chart test
/// runs, would otherwise take such leftovers up again on a kept testbed).
pub fn remove_goalert_objects(namespace: &str) {
    // Dependents first, each kind gone before the next: GoAlert refuses to delete what is still
    // in use, and a refused deletion waits for its backoff.
    for kind in plurals().into_iter().rev() {
        let (ok, _, stderr) = kubectl(
            &[
                "delete",
                "-n",
                namespace,
                &kind,
                "--all",
                "--wait",
                "--timeout=120s",
            ],
            None,
        );
        assert!(ok, "removing the {kind} in {namespace}: {stderr}");
    }
}

/// The plurals of every kind, in dependency order.
pub fn plurals() -> Vec<String> {
    goalert_provisioning::api::kinds()
        .iter()
        .map(|kind| kind.plural.clone())
        .collect()
}

/// Runs `command` with `stdin` as its input and collects its output.
pub fn run(command: &mut Command, stdin: Option<&str>) -> Output {
    use std::io::Write;
    command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

/// [`run`] for a command that must succeed; returns its stdout.
pub fn run_ok(command: &mut Command, stdin: Option<&str>) -> String {
    let out = run(command, stdin);
    assert!(
        out.status.success(),
        "{command:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// [`run`] for a command that must fail; returns its stderr.
pub fn run_fails(command: &mut Command, stdin: Option<&str>) -> String {
    let out = run(command, stdin);
    assert!(
        !out.status.success(),
        "{command:?} should have failed but printed:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stderr).unwrap()
}

/// kubectl with the testbed's admin kubeconfig, for [`run`] (a test may set another KUBECONFIG).
pub fn kubectl_command() -> Command {
    let mut command = Command::new("kubectl");
    command.env("KUBECONFIG", &testbed().kubeconfig);
    command
}

/// Runs kubectl against the testbed; returns (success, stdout, stderr).
pub fn kubectl(args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let output = run(kubectl_command().args(args), stdin);
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// [`kubectl`] that must succeed; returns its stdout.
pub fn kubectl_ok(args: &[&str]) -> String {
    run_ok(kubectl_command().args(args), None)
}

/// Polls `check` until it returns `Some`, or panics with `what` and the last value seen.
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + limit;
    loop {
        match check().await {
            Ok(value) => return value,
            Err(last) if Instant::now() > deadline => panic!("{what}: not within {limit:?}; last: {last}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(300)).await,
        }
    }
}
