//! The README's demo, run as a newcomer runs it (`e2e/demo.sh`), on a testbed of its own ports:
//! it leaves the operator running with both admission webhooks and every example Ready, the
//! command it prints to show a refused manifest is refused with the webhook's message, and
//! GoAlert's URL serves GoAlert's web UI. The web UI build (about 8 minutes and 1.1 GB from npm
//! the first time, then cached) is part of the run with `E2E_DEMO_WEB_UI=1`; otherwise the demo
//! runs with `GOALERT_WEB_UI=0` and the UI is checked only when its build is cached already.
#![cfg(feature = "e2e")]

use std::process::{Command, Output};

use e2e::{free_port, outside_cargo_test, repo_root};
use serde_json::Value;

/// The demo's environment: its own state folder and ports, so it never meets the test testbed.
struct Demo {
    env: Vec<(&'static str, String)>,
    state: tempfile::TempDir,
}

impl Demo {
    fn new(web_ui: bool) -> Self {
        let state = tempfile::tempdir().unwrap();
        let mut env = vec![
            (
                "TESTBED_STATE",
                state.path().join("testbed").display().to_string(),
            ),
            ("GOALERT_WEB_UI", if web_ui { "1" } else { "0" }.to_owned()),
        ];
        for name in [
            "POSTGRES_PORT",
            "GOALERT_PORT",
            "ETCD_PORT",
            "ETCD_PEER_PORT",
            "APISERVER_PORT",
            "METRICS_PORT",
            "WEBHOOK_PORT",
        ] {
            env.push((name, free_port().to_string()));
        }
        Demo { env, state }
    }

    fn run(&self, program: &str, args: &[&str]) -> Output {
        let kubeconfig = self.state.path().join("testbed/kubeconfig");
        outside_cargo_test(&mut Command::new(program))
            .args(args)
            .current_dir(repo_root())
            .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
            .env("KUBECONFIG", kubeconfig)
            .output()
            .unwrap_or_else(|e| panic!("{program}: {e}"))
    }

    fn port(&self, name: &str) -> &str {
        &self.env.iter().find(|(k, _)| *k == name).unwrap().1
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.run("bash", &["e2e/down.sh"]);
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_demo_shows_the_whole_product() {
    let web_ui_built = std::env::var("E2E_DEMO_WEB_UI").is_ok_and(|v| v == "1");
    let demo = Demo::new(web_ui_built);
    let started = demo.run("bash", &["e2e/demo.sh"]);
    let (stdout, stderr) = (text(&started.stdout), text(&started.stderr));
    assert!(
        started.status.success(),
        "e2e/demo.sh failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("GoAlert provisioning demo is running."),
        "{stdout}"
    );

    // Every example Ready.
    let listed = demo.run("kubectl", &["get", "goalert", "-o", "json"]);
    let list: Value = serde_json::from_slice(&listed.stdout).unwrap();
    let items = list["items"].as_array().unwrap();
    assert!(items.len() >= 6, "the examples: {list}");
    for item in items {
        let ready = item["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Ready" && c["status"] == "True");
        assert!(
            ready,
            "{} {} is not Ready: {}",
            item["kind"], item["metadata"]["name"], item["status"]
        );
    }

    // The command the demo prints is refused by the validating webhook, with its message.
    let command = stdout
        .lines()
        .map(str::trim)
        .find(|line| line.starts_with("kubectl apply -f "))
        .unwrap_or_else(|| panic!("no command to show a refused manifest in:\n{stdout}"));
    let file = command.trim_start_matches("kubectl apply -f ");
    let refused = demo.run("kubectl", &["apply", "-f", file]);
    assert!(!refused.status.success(), "{command} was admitted");
    assert!(
        text(&refused.stderr).contains("is not an IANA time zone name"),
        "{}",
        text(&refused.stderr)
    );

    // GoAlert's URL: its own web UI where the demo has it, and the demo says which.
    let goalert = format!("http://127.0.0.1:{}", demo.port("GOALERT_PORT"));
    let bundle = demo.run("curl", &["-fsS", &format!("{goalert}/static/app.js")]);
    if web_ui_built || bundle.status.success() {
        assert!(
            bundle.status.success(),
            "no web UI bundle at {goalert}/static/app.js"
        );
        assert!(
            bundle.stdout.len() > 1_000_000,
            "a {} byte bundle",
            bundle.stdout.len()
        );
        let index = text(&demo.run("curl", &["-fsS", &format!("{goalert}/")]).stdout);
        assert!(
            index.contains("<script") && index.contains("/static/app.js"),
            "{index}"
        );
        assert!(stdout.contains("web UI: open it in a browser"), "{stdout}");
    } else {
        assert!(stdout.contains("API only"), "{stdout}");
    }
}
