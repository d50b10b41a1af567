//! Faults for the fault tests: a TCP proxy that can cut a process off from a server (the
//! kube-apiserver) without killing either, and a record of what each scenario did and found,
//! for the report `e2e/faults.sh` writes.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

use serde::Serialize;
use tokio::{
    net::{TcpListener, TcpStream},
    sync::watch,
};

/// Forwards 127.0.0.1:`port` to `upstream` byte for byte (TLS passes through untouched) until
/// cut: then open connections are dropped and new ones are accepted but never answered, as a
/// network partition looks to a client. Stops when dropped.
pub struct TcpProxy {
    pub port: u16,
    cut: watch::Sender<bool>,
    accept: tokio::task::JoinHandle<()>,
}

impl TcpProxy {
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (cut, cut_seen) = watch::channel(false);
        let accept = tokio::spawn(async move {
            // Held, unanswered, while cut: a partition, not a refusal.
            let mut stalled = Vec::new();
            while let Ok((client, _)) = listener.accept().await {
                if *cut_seen.borrow() {
                    stalled.push(client);
                    continue;
                }
                let mut cut_seen = cut_seen.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let mut client = client;
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut_seen.wait_for(|cut| *cut) => {}
                    }
                });
            }
        });
        Self { port, cut, accept }
    }

    /// Cuts every connection, open and future.
    pub fn cut(&self) {
        self.cut.send_replace(true);
    }

    /// A copy of the testbed's kubeconfig whose server is this proxy (the serving certificate
    /// is for 127.0.0.1, so TLS verifies through it).
    pub fn kubeconfig(&self, dir: &Path) -> PathBuf {
        let original = std::fs::read_to_string(&crate::testbed().kubeconfig).unwrap();
        let mut config: serde_yaml::Value = serde_yaml::from_str(&original).unwrap();
        for cluster in config["clusters"].as_sequence_mut().unwrap() {
            cluster["cluster"]["server"] = format!("https://127.0.0.1:{}", self.port).into();
        }
        let path = dir.join("kubeconfig-through-proxy");
        std::fs::write(&path, serde_yaml::to_string(&config).unwrap()).unwrap();
        path
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
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
