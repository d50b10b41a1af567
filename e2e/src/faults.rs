//! Faults for the fault tests: a TCP proxy that can cut a process off from a server (the
//! kube-apiserver, PostgreSQL) without killing either, an HTTP proxy that answers for GoAlert
//! with errors, delays or garbage, a kube-apiserver of the test's own to restart, and a record of what each scenario did and found,
//! for the report `e2e/faults.sh` writes.

use std::{
    collections::{BTreeMap, VecDeque},
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use serde::Serialize;
use tokio::{
    net::{TcpListener, TcpStream},
    sync::watch,
};

/// What a [`TcpProxy`] does with connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    Pass,
    /// Open connections dropped; new ones accepted and never answered (a partition).
    Stall,
    /// Open connections dropped; new ones closed at once (a server restarting).
    Refuse,
}

/// Forwards 127.0.0.1:`port` to `upstream` byte for byte (TLS passes through untouched) until
/// cut: then open connections are dropped and new ones are accepted but never answered, as a
/// network partition looks to a client. [`TcpProxy::refuse`] drops them and closes new ones at
/// once instead (a server restarting); [`TcpProxy::restore`] passes again. Stops when dropped.
pub struct TcpProxy {
    pub port: u16,
    link: watch::Sender<Link>,
    accept: tokio::task::JoinHandle<()>,
}

impl TcpProxy {
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (link, mut link_seen) = watch::channel(Link::Pass);
        let accept = tokio::spawn(async move {
            // Held, unanswered, while stalled: a partition, not a refusal.
            let mut stalled = Vec::new();
            loop {
                let client = tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok((client, _)) => client,
                        Err(_) => return,
                    },
                    changed = link_seen.changed() => {
                        if changed.is_err() {
                            return;
                        }
                        if *link_seen.borrow() != Link::Stall {
                            stalled.clear();
                        }
                        continue;
                    }
                };
                let link = *link_seen.borrow();
                match link {
                    Link::Stall => {
                        stalled.push(client);
                        continue;
                    }
                    Link::Refuse => {
                        drop(client);
                        continue;
                    }
                    Link::Pass => {}
                }
                let mut link_seen = link_seen.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let mut client = client;
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = link_seen.wait_for(|link| *link != Link::Pass) => {}
                    }
                });
            }
        });
        Self { port, link, accept }
    }

    /// Cuts every connection, open and future.
    pub fn cut(&self) {
        self.link.send_replace(Link::Stall);
    }

    /// Drops every open connection and refuses new ones, as a restarting server does.
    pub fn refuse(&self) {
        self.link.send_replace(Link::Refuse);
    }

    /// Passes new connections again.
    pub fn restore(&self) {
        self.link.send_replace(Link::Pass);
    }

    /// A copy of the testbed's kubeconfig whose server is this proxy (the serving certificate
    /// is for 127.0.0.1, so TLS verifies through it).
    pub fn kubeconfig(&self, dir: &Path) -> PathBuf {
        kubeconfig_for_port(self.port, dir)
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

/// A copy of the testbed's kubeconfig whose server is 127.0.0.1:`port`.
pub fn kubeconfig_for_port(port: u16, dir: &Path) -> PathBuf {
    let original = std::fs::read_to_string(&crate::testbed().kubeconfig).unwrap();
    let mut config: serde_yaml::Value = serde_yaml::from_str(&original).unwrap();
    for cluster in config["clusters"].as_sequence_mut().unwrap() {
        cluster["cluster"]["server"] = format!("https://127.0.0.1:{port}").into();
    }
    let path = dir.join(format!("kubeconfig-{port}"));
    std::fs::write(&path, serde_yaml::to_string(&config).unwrap()).unwrap();
    path
}

/// The kube-apiserver's address, from the testbed's kubeconfig.
pub fn apiserver_address() -> SocketAddr {
    let config = std::fs::read_to_string(&crate::testbed().kubeconfig).unwrap();
    let config: serde_yaml::Value = serde_yaml::from_str(&config).unwrap();
    let server = config["clusters"][0]["cluster"]["server"].as_str().unwrap();
    let url = url::Url::parse(server).unwrap();
    SocketAddr::new(url.host_str().unwrap().parse().unwrap(), url.port().unwrap())
}

/// What one fault scenario did, checked and counted, for the suite's report.
#[derive(Debug, Default, Serialize)]
pub struct Finding {
    pub scenario: &'static str,
    pub done: String,
    pub checked: String,
    pub objects: usize,
    pub duplicates: usize,
    pub keys_working: usize,
    pub secrets_leaked: usize,
    pub seconds_to_recover: f64,
}

impl Finding {
    /// Appends the finding to `$FAULTS_REPORT` (JSON lines) when the suite set it; the normal
    /// test run has no report and keeps only the assertions.
    pub fn record(&self) {
        let Ok(path) = std::env::var("FAULTS_REPORT") else {
            return;
        };
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .expect("the report file can be written");
        writeln!(file, "{}", serde_json::to_string(self).unwrap()).unwrap();
    }
}

/// Whether the suite asked for the long versions (`e2e/faults.sh`), else the CI-sized ones.
pub fn long() -> bool {
    std::env::var("FAULTS_LONG").is_ok_and(|v| v == "1")
}

/// A small seeded generator (xorshift) for reproducible kill points: `FAULTS_SEED` or a
/// fixed default, printed by the tests so a failing run can be repeated.
pub struct Seeded(u64);

impl Seeded {
    pub fn from_env() -> Self {
        let seed = std::env::var("FAULTS_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0x5eed_fa17);
        eprintln!("FAULTS_SEED={seed}");
        Self(seed | 1)
    }

    /// A value in `0..bound`.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound.max(1)
    }
}

/// What a [`FaultProxy`] does with one HTTP request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forwarded to GoAlert, its answer returned.
    Pass,
    /// Answered with this HTTP status and an HTML error page, as a load balancer or a failing
    /// GoAlert answers (500, 502, 503).
    Status(u16),
    /// Forwarded after this delay.
    Delay(Duration),
    /// Answered 200 with a body that is no JSON (a captive portal, a truncated answer).
    Garbage,
}

impl Fault {
    fn label(self) -> &'static str {
        match self {
            Fault::Pass => "pass",
            Fault::Status(_) => "status",
            Fault::Delay(_) => "delay",
            Fault::Garbage => "garbage",
        }
    }
}

#[derive(Default)]
struct Faults {
    /// For each of the next requests, in order; then `mode`.
    next: VecDeque<Fault>,
    mode: Option<Fault>,
    counts: BTreeMap<&'static str, u64>,
}

impl Faults {
    fn take(&mut self) -> Fault {
        let fault = self.next.pop_front().unwrap_or(self.mode.unwrap_or(Fault::Pass));
        *self.counts.entry(fault.label()).or_default() += 1;
        fault
    }
}

/// An HTTP/1.1 proxy on 127.0.0.1 in front of a real GoAlert that injects faults per request:
/// pass, an error status, a delay or a garbage body, and counts what it did. Only what a
/// client that speaks plain HTTP/1.1 with Content-Length bodies sends (the operator's GoAlert
/// client) is understood. Stops when dropped.
pub struct FaultProxy {
    pub port: u16,
    faults: Arc<Mutex<Faults>>,
    accept: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    pub async fn start(upstream: &str) -> Self {
        goalert_client::tls::ensure_crypto_provider();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let faults = Arc::new(Mutex::new(Faults::default()));
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(120))
            .build()
            .unwrap();
        let upstream = upstream.trim_end_matches('/').to_owned();
        let shared = faults.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (faults, http, upstream) = (shared.clone(), http.clone(), upstream.clone());
                tokio::spawn(async move {
                    let _ = serve_connection(client, &faults, &http, &upstream).await;
                });
            }
        });
        Self { port, faults, accept }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The fault for every request from now on (after those queued with [`FaultProxy::then`]).
    pub fn set(&self, fault: Fault) {
        let mut faults = self.faults.lock().unwrap();
        faults.next.clear();
        faults.mode = Some(fault);
    }

    /// Faults for the next requests, one each, before the mode applies again.
    pub fn then(&self, next: impl IntoIterator<Item = Fault>) {
        self.faults.lock().unwrap().next.extend(next);
    }

    /// Requests seen so far, by what was done to them ("pass", "status", "delay", "garbage").
    pub fn counts(&self) -> BTreeMap<&'static str, u64> {
        self.faults.lock().unwrap().counts.clone()
    }

    /// Requests seen so far.
    pub fn requests(&self) -> u64 {
        self.counts().values().sum()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Serves the requests of one keep-alive connection until the client closes it.
async fn serve_connection(
    mut client: TcpStream,
    faults: &Mutex<Faults>,
    http: &reqwest::Client,
    upstream: &str,
) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buffer = Vec::new();
    loop {
        // The head, up to the blank line.
        let head_end = loop {
            if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            if buffer.len() > 1 << 16 {
                return Ok(());
            }
            let mut chunk = [0u8; 8192];
            let read = client.read(&mut chunk).await?;
            if read == 0 {
                return Ok(());
            }
            buffer.extend_from_slice(&chunk[..read]);
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let mut request_line = lines.next().unwrap_or_default().split(' ');
        let method = request_line.next().unwrap_or("GET").to_owned();
        let path = request_line.next().unwrap_or("/").to_owned();
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
            .collect();
        let length: usize = headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, value)| value.parse().ok())
            .unwrap_or(0);
        while buffer.len() < head_end + length {
            let mut chunk = [0u8; 8192];
            let read = client.read(&mut chunk).await?;
            if read == 0 {
                return Ok(());
            }
            buffer.extend_from_slice(&chunk[..read]);
        }
        let body = buffer[head_end..head_end + length].to_vec();
        buffer.drain(..head_end + length);

        let fault = faults.lock().unwrap().take();
        let (status, content_type, answer) = match fault {
            Fault::Status(status) => (
                status,
                "text/html".to_owned(),
                format!(
                    "<html><body><h1>{status} Bad Gateway</h1>injected by the fault proxy</body></html>\n"
                )
                .into_bytes(),
            ),
            Fault::Garbage => (
                200,
                "application/json".to_owned(),
                b"{\"data\": <<garbage from the fault proxy \x00\x01\xff".to_vec(),
            ),
            Fault::Pass | Fault::Delay(_) => {
                if let Fault::Delay(delay) = fault {
                    tokio::time::sleep(delay).await;
                }
                let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
                let mut request = http.request(method, format!("{upstream}{path}")).body(body);
                for (name, value) in &headers {
                    let skip = ["host", "content-length", "connection", "transfer-encoding"];
                    if !skip.iter().any(|s| name.eq_ignore_ascii_case(s)) {
                        request = request.header(name, value);
                    }
                }
                match request.send().await {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let content_type = response
                            .headers()
                            .get(reqwest::header::CONTENT_TYPE)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("text/plain")
                            .to_owned();
                        let answer = response.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
                        (status, content_type, answer)
                    }
                    // GoAlert itself is down: what a proxy in front of it answers.
                    Err(_) => (502, "text/plain".to_owned(), b"upstream unreachable\n".to_vec()),
                }
            }
        };
        let head = format!(
            "HTTP/1.1 {status} Fault Proxy\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n",
            answer.len()
        );
        client.write_all(head.as_bytes()).await?;
        client.write_all(&answer).await?;
    }
}

/// A kube-apiserver of a test's own on the testbed's etcd, started with the testbed
/// apiserver's own flags (and so its certificates and tokens) on another port: a test can stop
/// and start it without disturbing the testbed. Killed when dropped.
pub struct Apiserver {
    pub port: u16,
    args: Vec<String>,
    child: Option<std::process::Child>,
    log: PathBuf,
    dir: tempfile::TempDir,
}

impl Apiserver {
    pub async fn start() -> Self {
        let state = std::env::var("TESTBED_STATE").expect("TESTBED_STATE names the testbed's state");
        let pid = std::fs::read_to_string(format!("{state}/pids/kube-apiserver.pid")).unwrap();
        let cmdline = std::fs::read(format!("/proc/{}/cmdline", pid.trim())).unwrap();
        let mut words: Vec<String> = cmdline
            .split(|b| *b == 0)
            .filter(|w| !w.is_empty())
            .map(|w| String::from_utf8_lossy(w).into_owned())
            .collect();
        assert!(
            words.first().is_some_and(|w| w.ends_with("kube-apiserver")),
            "the testbed's kube-apiserver command line: {words:?}"
        );
        words.remove(0);
        let port = crate::free_port();
        if let Some(at) = words.iter().position(|w| w == "--secure-port") {
            words[at + 1] = port.to_string();
        }
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("kube-apiserver.log");
        let mut apiserver = Self {
            port,
            args: words,
            child: None,
            log,
            dir,
        };
        apiserver.start_again().await;
        apiserver
    }

    /// A kubeconfig for this apiserver, with the testbed's credentials.
    pub fn kubeconfig(&self) -> PathBuf {
        kubeconfig_for_port(self.port, self.dir.path())
    }

    /// Kills it (SIGKILL): every watch and request ends at once.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it (again) on the same port and waits until it is ready.
    pub async fn start_again(&mut self) {
        self.stop();
        let child = std::process::Command::new("kube-apiserver")
            .args(&self.args)
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&self.log).unwrap())
            .spawn()
            .expect("kube-apiserver from the testbed is on PATH");
        self.child = Some(child);
        let kubeconfig = self.kubeconfig();
        crate::eventually(
            "the test's kube-apiserver is ready",
            Duration::from_secs(120),
            || async {
                let output = std::process::Command::new("kubectl")
                    .args(["get", "--raw", "/readyz"])
                    .env("KUBECONFIG", &kubeconfig)
                    .output()
                    .unwrap();
                if output.status.success() {
                    Ok(())
                } else {
                    Err(String::from_utf8_lossy(&output.stderr).into_owned())
                }
            },
        )
        .await;
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Apiserver {
    fn drop(&mut self) {
        self.stop();
    }
}

/// How many GoAlert objects of `kind` ("services" or "users") have each name (e-mail for
/// users) matching `search`, in the GoAlert at `url`.
pub async fn count_by_name(url: &str, search: &str, kind: &str) -> BTreeMap<String, usize> {
    let field = if kind == "users" { "email" } else { "name" };
    let query = format!(
        "query($s: String!, $after: String) {{ {kind}(input: {{ search: $s, first: 100, after: $after }}) {{ nodes {{ {field} }} pageInfo {{ endCursor hasNextPage }} }} }}"
    );
    let mut counts = BTreeMap::new();
    let mut after: Option<String> = None;
    for _ in 0..50 {
        let page = crate::testbed()
            .admin_graphql_of(url, &query, serde_json::json!({ "s": search, "after": after }))
            .await;
        for node in page[kind]["nodes"].as_array().unwrap() {
            *counts
                .entry(node[field].as_str().unwrap().to_owned())
                .or_insert(0) += 1;
        }
        if page[kind]["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page[kind]["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    counts
}

/// The sum of the operator metric lines starting with `prefix` (a name, optionally with labels).
pub fn metric_sum(metrics: &str, prefix: &str) -> u64 {
    metrics
        .lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|v| v as u64)
        .sum()
}

/// A GoAlertUser with an explicit username: `username(run, i)` keeps usernames of one run apart
/// where the default (the e-mail's first 24 characters) would cut off the index.
/// `display_name` is the GoAlert user's name, which GoAlert's user search matches.
pub fn user_yaml_with_username(name: &str, email: &str, username: &str, display_name: &str) -> String {
    format!(
        "apiVersion: goalert.heystaq.com/v1alpha1\nkind: GoAlertUser\nmetadata:\n  name: {name}\nspec:\n  email: {email}\n  username: {username}\n  displayName: {display_name}\n"
    )
}

/// A username unique to run `run` (a [`crate::unique_name`]) and index `i`, within GoAlert's 24
/// characters.
pub fn username(run: &str, i: usize) -> String {
    let digits: String = run.chars().filter(char::is_ascii_digit).collect();
    let tail = &digits[digits.len().saturating_sub(14)..];
    format!("u{i}-{tail}")
}
