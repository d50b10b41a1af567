//! gctl end to end: the built binary against the real GoAlert of the testbed. Every scenario is
//! seeded through GoAlert's own API (users, a rotation in a schedule, an escalation policy,
//! services with integration keys) and alerts arrive through the integration keys, the way
//! monitoring sends them. Results are read back from GoAlert, not from gctl.
#![cfg(feature = "e2e")]

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

use e2e::{free_port, testbed, unique_name};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Helpers

/// GraphQL as GoAlert's administrator, logged in once per test.
struct Admin {
    token: String,
    http: reqwest::Client,
}

impl Admin {
    async fn new() -> Self {
        let token = testbed().admin().login().await.expect("administrator login");
        Self {
            token: token.expose().to_owned(),
            http: reqwest::Client::new(),
        }
    }

    async fn gql(&self, query: &str, variables: Value) -> Value {
        let response: Value = self
            .http
            .post(format!("{}/api/graphql", testbed().goalert_url))
            .bearer_auth(&self.token)
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

    async fn create_user(&self, prefix: &str) -> Person {
        let digits: String = unique_name("").chars().filter(char::is_ascii_digit).collect();
        let username = format!("{prefix}{}", &digits[digits.len().saturating_sub(16)..]);
        let password = "gctl-e2e-password".to_owned();
        let data = self
            .gql(
                "mutation($input: CreateUserInput!) { createUser(input: $input) { id } }",
                json!({ "input": { "username": username, "password": password, "name": username } }),
            )
            .await;
        Person {
            id: data["createUser"]["id"].as_str().unwrap().to_owned(),
            username,
            password,
        }
    }

    async fn alert(&self, id: i64) -> Value {
        let data = self
            .gql(
                "query($id: Int!) { alert(id: $id) { alertID status summary recentEvents(input: {limit: 50}) { nodes { message } } } }",
                json!({ "id": id }),
            )
            .await;
        data["alert"].clone()
    }
}

struct Person {
    id: String,
    username: String,
    password: String,
}

/// What one run of the binary did.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn from(output: Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// gctl with a configuration directory of its own, so tests never share a login.
struct Gctl {
    config: tempfile::TempDir,
}

impl Gctl {
    fn new() -> Self {
        Self {
            config: tempfile::tempdir().unwrap(),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(e2e::workspace_binary("gctl"));
        command.args(args);
        self.isolate(&mut command);
        command
    }

    /// Nothing inherited but PATH, gctl's directory first (so a shell finds this gctl, as it
    /// finds an installed one).
    fn isolate(&self, command: &mut Command) {
        let binary = e2e::workspace_binary("gctl");
        let path = format!(
            "{}:{}",
            binary.parent().unwrap().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        command
            .env_clear()
            .env("PATH", path)
            .env("GCTL_CONFIG", self.config.path())
            .env("TZ", "UTC")
            .stdin(Stdio::null());
    }

    /// What bash offers at a TAB after `words` (the last is the word under the cursor) through
    /// the script `gctl completion bash` prints, called the way bash calls it. At an empty word
    /// the options come too, after the values.
    fn bash_completions(&self, words: &[&str]) -> (Vec<String>, Run) {
        const TAB: &str = r#"source <(gctl completion bash)
COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_TYPE=9
_clap_complete_gctl gctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
printf '%s\n' "${COMPREPLY[@]}""#;
        let mut command = Command::new("bash");
        command.args(["-c", TAB, "bash", "gctl"]).args(words);
        self.isolate(&mut command);
        let run = Run::from(command.output().unwrap());
        let offered = run
            .stdout
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        (offered, run)
    }

    fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().unwrap())
    }

    fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = self.command(args);
        command.envs(env.iter().copied());
        Run::from(command.output().unwrap())
    }

    /// Runs with `-o json`, insists on success and parses stdout.
    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        let run = self.run(&all);
        assert_eq!(run.code, 0, "gctl {args:?} failed: {}", run.stderr);
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", run.stdout))
    }

    fn login(&self, person: &Person) -> Run {
        self.run_with(
            &["login", "--url", &testbed().goalert_url, "-u", &person.username],
            &[("GCTL_PASSWORD", &person.password)],
        )
    }

    fn token_file(&self) -> PathBuf {
        let url = url::Url::parse(&testbed().goalert_url).unwrap();
        let context = format!("{}-{}", url.host_str().unwrap(), url.port().unwrap());
        self.config
            .path()
            .join("sessions")
            .join(format!("{context}.token"))
    }
}

struct Service {
    id: String,
    name: String,
    key: String,
}

/// A team: Alice and Bob rotate daily in a schedule (Alice now, Bob from 12 hours from now);
/// the policy pages the schedule first and Bob directly 5 minutes later. Three services share
/// the policy; the first has a heartbeat monitor. Alice is logged in with gctl.
struct Team {
    admin: Admin,
    gctl: Gctl,
    alice: Person,
    bob: Person,
    schedule: String,
    policy: String,
    services: Vec<Service>,
}

impl Team {
    async fn new(names: &[&str]) -> Self {
        let admin = Admin::new().await;
        let alice = admin.create_user("alice").await;
        let bob = admin.create_user("bob").await;
        let schedule = unique_name("primary");
        let policy = unique_name("policy");
        let rotation_start = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(12);
        let mut services: Vec<Service> = Vec::new();
        for name in names {
            let name = unique_name(name);
            let policy_input = if let Some(first) = services.first() {
                json!({ "escalationPolicyID": admin.gql(
                    "query($id: ID!) { service(id: $id) { escalationPolicyID } }",
                    json!({ "id": first.id }),
                ).await["service"]["escalationPolicyID"] })
            } else {
                json!({ "newEscalationPolicy": {
                    "name": policy,
                    "steps": [
                        { "delayMinutes": 5, "newSchedule": {
                            "name": schedule,
                            "timeZone": "UTC",
                            "targets": [{
                                "newRotation": {
                                    "name": unique_name("rotation"),
                                    "timeZone": "UTC",
                                    "start": rotation_start.to_string(),
                                    "type": "daily",
                                    "userIDs": [alice.id, bob.id],
                                },
                                "rules": [{}],
                            }],
                        }},
                        { "delayMinutes": 5, "targets": [{ "type": "user", "id": bob.id }] },
                    ],
                }})
            };
            let mut input = json!({
                "name": name,
                "newIntegrationKeys": [{ "type": "generic", "name": "monitoring" }],
            });
            input
                .as_object_mut()
                .unwrap()
                .extend(policy_input.as_object().unwrap().clone());
            if services.is_empty() {
                input["newHeartbeatMonitors"] = json!([{ "name": "nightly-backup", "timeoutMinutes": 60 }]);
            }
            let created = admin
                .gql(
                    "mutation($input: CreateServiceInput!) { createService(input: $input) { id integrationKeys { id } } }",
                    json!({ "input": input }),
                )
                .await;
            services.push(Service {
                id: created["createService"]["id"].as_str().unwrap().to_owned(),
                name,
                key: created["createService"]["integrationKeys"][0]["id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            });
        }
        wait_until_goalert_pages_both(&admin, &services[0].id).await;
        let gctl = Gctl::new();
        let login = gctl.login(&alice);
        assert_eq!(login.code, 0, "login failed: {}", login.stderr);
        Self {
            admin,
            gctl,
            alice,
            bob,
            schedule,
            policy,
            services,
        }
    }

    /// Sends an alert through a service's integration key, as monitoring does; returns its ID.
    async fn fire(&self, service: usize, summary: &str) -> i64 {
        let service = &self.services[service];
        let status = reqwest::Client::new()
            .post(format!(
                "{}/api/v2/generic/incoming?token={}",
                testbed().goalert_url,
                service.key
            ))
            .form(&[
                ("summary", summary),
                ("details", "sent by the gctl end-to-end test"),
            ])
            .send()
            .await
            .unwrap()
            .status();
        assert!(status.is_success(), "integration key refused the alert: {status}");
        let data = self
            .admin
            .gql(
                "query($id: ID!, $s: String!) { alerts(input: {filterByServiceID: [$id], search: $s, first: 1, filterByStatus: [StatusUnacknowledged, StatusAcknowledged, StatusClosed]}) { nodes { alertID } } }",
                json!({ "id": service.id, "s": summary }),
            )
            .await;
        data["alerts"]["nodes"][0]["alertID"].as_i64().unwrap()
    }

    /// Closes an alert through the integration key (the monitor saw it recover).
    async fn resolve(&self, service: usize, summary: &str) {
        let service = &self.services[service];
        reqwest::Client::new()
            .post(format!(
                "{}/api/v2/generic/incoming?token={}",
                testbed().goalert_url,
                service.key
            ))
            .form(&[
                ("summary", summary),
                ("details", "sent by the gctl end-to-end test"),
                ("action", "close"),
            ])
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap();
    }

    /// GoAlert's own answer: who is on call in the schedule between `start` and `end`.
    async fn schedule_shifts(&self, start: jiff::Timestamp, end: jiff::Timestamp) -> Vec<(String, String)> {
        let schedules = self
            .admin
            .gql(
                "query($s: String!) { schedules(input: {search: $s, first: 5}) { nodes { id name } } }",
                json!({ "s": self.schedule }),
            )
            .await;
        let id = schedules["schedules"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == self.schedule.as_str())
            .unwrap()["id"]
            .clone();
        let data = self
            .admin
            .gql(
                "query($id: ID!, $start: ISOTimestamp!, $end: ISOTimestamp!) { schedule(id: $id) { shifts(start: $start, end: $end) { userID start } } }",
                json!({ "id": id, "start": start.to_string(), "end": end.to_string() }),
            )
            .await;
        data["schedule"]["shifts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["userID"].as_str().unwrap().to_owned(),
                    s["start"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }
}

/// GoAlert's engine works out who is on call for a new policy in its next cycle (every 5 s).
async fn wait_until_goalert_pages_both(admin: &Admin, service_id: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let data = admin
            .gql(
                "query($id: ID!) { service(id: $id) { onCallUsers { userID } } }",
                json!({ "id": service_id }),
            )
            .await;
        if data["service"]["onCallUsers"].as_array().unwrap().len() == 2 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "GoAlert never put the team on call: {data}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn ids(rows: &Value) -> Vec<i64> {
    let mut ids: Vec<i64> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    ids
}

fn user_ids(rows: &Value) -> Vec<String> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r["userId"].as_str().unwrap().to_owned())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Sessions

#[tokio::test]
async fn login_whoami_logout_with_a_private_token_file() {
    let admin = Admin::new().await;
    let person = admin.create_user("carol").await;
    let gctl = Gctl::new();

    let login = gctl.login(&person);
    assert_eq!(login.code, 0, "{}", login.stderr);
    assert!(
        login.stdout.contains(&format!("as {}", person.username)),
        "{}",
        login.stdout
    );

    let token_file = gctl.token_file();
    let token = std::fs::read_to_string(&token_file).unwrap();
    assert!(token.starts_with('U'), "a GoAlert session token is stored");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            mode(&token_file),
            0o600,
            "token file is readable by its owner only"
        );
        assert_eq!(mode(token_file.parent().unwrap()), 0o700);
    }

    let whoami = gctl.json(&["whoami"]);
    assert_eq!(whoami["id"], person.id.as_str());
    assert_eq!(whoami["name"], person.username.as_str());
    let table = gctl.run(&["whoami"]);
    assert!(table.stdout.contains(&person.username));
    assert!(
        !table.stdout.contains(&token) && !login.stdout.contains(&token) && !login.stderr.contains(&token)
    );

    let contexts = gctl.json(&["context", "list"]);
    assert_eq!(contexts[0]["current"], true);
    assert_eq!(contexts[0]["loggedIn"], true);
    let config = std::fs::read_to_string(gctl.config.path().join("config.yaml")).unwrap();
    assert!(!config.contains(&token), "the shareable config holds no token");

    let logout = gctl.run(&["logout"]);
    assert_eq!(logout.code, 0, "{}", logout.stderr);
    assert!(!token_file.exists(), "logout forgets the token");
    // The session really ended in GoAlert: the old token no longer works.
    let status = reqwest::Client::new()
        .post(format!("{}/api/graphql", testbed().goalert_url))
        .bearer_auth(&token)
        .json(&json!({ "query": "{ user { id } }" }))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401);

    let after = gctl.run(&["whoami"]);
    assert_eq!(after.code, 3);
    assert!(after.stderr.contains("gctl login"), "{}", after.stderr);
}

#[tokio::test]
async fn contexts_keep_several_instances_apart() {
    let admin = Admin::new().await;
    let person = admin.create_user("dave").await;
    let gctl = Gctl::new();
    let url = testbed().goalert_url.clone();
    let password = [("GCTL_PASSWORD", person.password.as_str())];
    for name in ["primary", "secondary"] {
        let run = gctl.run_with(
            &["login", "--url", &url, "-u", &person.username, "--context", name],
            &password,
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    let contexts = gctl.json(&["context", "list"]);
    let current: Vec<&str> = contexts
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["current"] == true)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(current, ["secondary"], "the last login becomes current");

    assert_eq!(gctl.run(&["context", "use", "primary"]).code, 0);
    assert_eq!(gctl.run(&["logout"]).code, 0);
    assert_eq!(gctl.run(&["whoami"]).code, 3, "primary is logged out");
    assert_eq!(
        gctl.json(&["--context", "secondary", "whoami"])["id"],
        person.id.as_str()
    );
    assert_eq!(gctl.run(&["--context", "nowhere", "whoami"]).code, 6);

    // Logging in again needs no URL: the context remembers it.
    let again = gctl.run_with(&["login"], &password);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(gctl.json(&["whoami"])["context"], "primary");
}

#[tokio::test]
async fn failures_have_clear_messages_and_documented_exit_codes() {
    let admin = Admin::new().await;
    let person = admin.create_user("erin").await;
    let gctl = Gctl::new();
    let url = testbed().goalert_url.clone();

    let bad_password = gctl.run_with(
        &["login", "--url", &url, "-u", &person.username],
        &[("GCTL_PASSWORD", "not-the-password")],
    );
    assert_eq!(bad_password.code, 4);
    assert!(
        bad_password.stderr.contains("refused the login"),
        "{}",
        bad_password.stderr
    );

    let dead = format!("http://127.0.0.1:{}", free_port());
    let unreachable = gctl.run_with(
        &["login", "--url", &dead, "-u", "x"],
        &[("GCTL_PASSWORD", "whatever1")],
    );
    assert_eq!(unreachable.code, 5);
    assert!(
        unreachable.stderr.contains("cannot reach GoAlert"),
        "{}",
        unreachable.stderr
    );

    let plain_http = gctl.run_with(
        &["login", "--url", "http://goalert.example.com", "-u", "x"],
        &[("GCTL_PASSWORD", "whatever1")],
    );
    assert_eq!(plain_http.code, 2);
    assert!(
        plain_http.stderr.contains("refusing plain http"),
        "{}",
        plain_http.stderr
    );

    let not_logged_in = gctl.run(&["alert", "list"]);
    assert_eq!(not_logged_in.code, 3);
    assert!(
        not_logged_in.stderr.contains("gctl login --url"),
        "{}",
        not_logged_in.stderr
    );

    assert_eq!(gctl.login(&person).code, 0);
    // GoAlert ends the session (expiry, or an admin ending it): gctl says to log in again.
    testbed().sql(&format!(
        "DELETE FROM auth_user_sessions WHERE user_id = '{}'",
        person.id
    ));
    let expired = gctl.run(&["alert", "list"]);
    assert_eq!(expired.code, 3);
    assert!(
        expired.stderr.contains("has ended") && expired.stderr.contains("gctl login"),
        "{}",
        expired.stderr
    );

    let usage = gctl.run(&["oncall", "--at", "sometime"]);
    assert_eq!(usage.code, 2);
}

// ---------------------------------------------------------------------------------------------
// On call

#[tokio::test]
async fn oncall_now_at_and_next_match_goalert() {
    let team = Team::new(&["payments"]).await;
    let now = jiff::Timestamp::now();
    // GoAlert works in whole minutes: a narrower window can come back empty.
    let minute = jiff::SignedDuration::from_mins(1);

    // Now: the schedule's current shift, as GoAlert reports it.
    let now_rows = team.gctl.json(&["oncall", "--schedule", &team.schedule]);
    let goalert_now: Vec<String> = team
        .schedule_shifts(now, now + minute)
        .await
        .into_iter()
        .map(|s| s.0)
        .collect();
    assert_eq!(user_ids(&now_rows), goalert_now);
    assert_eq!(user_ids(&now_rows), [team.alice.id.as_str()]);

    // At a moment tomorrow the rotation has handed over to Bob.
    let later = now + jiff::SignedDuration::from_hours(18);
    let at_rows = team
        .gctl
        .json(&["oncall", "--schedule", &team.schedule, "--at", &later.to_string()]);
    let goalert_at: Vec<String> = team
        .schedule_shifts(later, later + minute)
        .await
        .into_iter()
        .map(|s| s.0)
        .collect();
    assert_eq!(user_ids(&at_rows), goalert_at);
    assert_eq!(user_ids(&at_rows), [team.bob.id.as_str()]);

    // Next: the shifts starting within two days, in GoAlert's order.
    let next_rows = team
        .gctl
        .json(&["oncall", "--schedule", &team.schedule, "--next", "--window", "2d"]);
    let goalert_next: Vec<String> = team
        .schedule_shifts(now, now + jiff::SignedDuration::from_hours(48))
        .await
        .into_iter()
        .filter(|(_, start)| start.parse::<jiff::Timestamp>().unwrap() > now)
        .map(|s| s.0)
        .collect();
    assert_eq!(user_ids(&next_rows), goalert_next);
    assert_eq!(user_ids(&next_rows), [team.bob.id.clone(), team.alice.id.clone()]);

    // A service now is GoAlert's own onCallUsers: Alice through the schedule, Bob directly.
    let service = team.gctl.json(&["oncall", "--service", &team.services[0].name]);
    let data = team
        .admin
        .gql(
            "query($id: ID!) { service(id: $id) { onCallUsers { userID stepNumber } } }",
            json!({ "id": team.services[0].id }),
        )
        .await;
    let mut expected: Vec<(String, i64)> = data["service"]["onCallUsers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["userID"].as_str().unwrap().to_owned(),
                u["stepNumber"].as_i64().unwrap() + 1,
            )
        })
        .collect();
    let mut got: Vec<(String, i64)> = service
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["userId"].as_str().unwrap().to_owned(),
                r["step"].as_i64().unwrap(),
            )
        })
        .collect();
    expected.sort();
    got.sort();
    assert_eq!(got, expected);
    assert!(got.contains(&(team.alice.id.clone(), 1)) && got.contains(&(team.bob.id.clone(), 2)));

    // The policy tomorrow: Bob in both steps.
    let policy_later = team
        .gctl
        .json(&["oncall", "--policy", &team.policy, "--at", &later.to_string()]);
    assert_eq!(
        user_ids(&policy_later),
        [team.bob.id.clone(), team.bob.id.clone()]
    );

    // --me: Alice's own shift and the service she is on call for.
    let mine = team.gctl.json(&["oncall", "--me"]);
    let vias: Vec<&str> = mine
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["via"].as_str().unwrap())
        .collect();
    assert!(
        vias.contains(&format!("schedule {}", team.schedule).as_str()),
        "{vias:?}"
    );
    assert!(
        vias.iter().any(|v| v.contains(&team.services[0].name)),
        "{vias:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Alerts

#[tokio::test]
async fn alert_list_filters_by_status_service_text_and_time() {
    let team = Team::new(&["search", "billing"]).await;
    let disk = team.fire(0, "disk full on db-1").await;
    let latency = team.fire(0, "p99 latency high").await;
    let invoices = team.fire(1, "invoice job failed").await;
    team.admin
        .gql(
            "mutation($ids: [Int!]!) { updateAlerts(input: {alertIDs: $ids, newStatus: StatusAcknowledged}) { alertID } }",
            json!({ "ids": [latency] }),
        )
        .await;

    let search_service = team.services[0].name.as_str();
    let by_service = team.gctl.json(&["alert", "list", "--service", search_service]);
    assert_eq!(ids(&by_service), [disk, latency]);
    assert_eq!(by_service[0]["service"], search_service);

    let unacked = team.gctl.json(&[
        "alert",
        "list",
        "--service",
        search_service,
        "--status",
        "unacked",
    ]);
    assert_eq!(ids(&unacked), [disk]);
    let acked = team
        .gctl
        .json(&["alert", "list", "--service", search_service, "--status", "acked"]);
    assert_eq!(ids(&acked), [latency]);
    assert_eq!(acked[0]["status"], "acked");

    let text = team.gctl.json(&[
        "alert",
        "list",
        "--search",
        "invoice job",
        "--service",
        &team.services[1].name,
    ]);
    assert_eq!(ids(&text), [invoices]);

    let both = team.gctl.json(&[
        "alert",
        "list",
        "--service",
        search_service,
        "--service",
        &team.services[1].name,
        "--since",
        "10m",
    ]);
    assert_eq!(ids(&both), [disk, latency, invoices]);
    let future = team
        .gctl
        .json(&["alert", "list", "--service", search_service, "--until", "1h ago"]);
    assert_eq!(ids(&future), Vec::<i64>::new());

    // Mine: Alice is on call for every service of the team, so its alerts are hers.
    let mine = team.gctl.json(&["alert", "list", "--mine", "--status", "all"]);
    assert!(ids(&mine).contains(&disk) && ids(&mine).contains(&invoices));

    // YAML carries the same data.
    let run = team
        .gctl
        .run(&["alert", "list", "--service", search_service, "-o", "yaml"]);
    let yaml: Value = serde_yaml::from_str(&run.stdout).unwrap();
    assert_eq!(ids(&yaml), [disk, latency]);

    // The table a person reads.
    let table = team.gctl.run(&["alert", "list", "--service", search_service]);
    let header = table.stdout.lines().next().unwrap();
    assert!(header.starts_with("ID") && header.contains("STATUS") && header.contains("SUMMARY"));
    assert!(table.stdout.contains("disk full on db-1") && !table.stdout.contains("\x1b["));
}

#[tokio::test]
async fn ack_close_and_escalate_change_the_real_alerts() {
    let team = Team::new(&["orders"]).await;
    let first = team.fire(0, "orders queue backing up").await;
    let second = team.fire(0, "orders worker crashed").await;
    let third = team.fire(0, "orders db slow").await;

    let ack = team.gctl.json(&["alert", "ack", &first.to_string()]);
    assert_eq!(ack[0]["status"], "acked");
    assert_eq!(team.admin.alert(first).await["status"], "StatusAcknowledged");

    // Bulk changes ask first; with nobody at a terminal to answer, nothing changes.
    let refused = team
        .gctl
        .run(&["alert", "close", &second.to_string(), &third.to_string()]);
    assert_eq!(refused.code, 7);
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);
    assert_eq!(team.admin.alert(second).await["status"], "StatusUnacknowledged");

    let closed = team
        .gctl
        .run(&["alert", "close", &second.to_string(), &third.to_string(), "--yes"]);
    assert_eq!(closed.code, 0, "{}", closed.stderr);
    for id in [second, third] {
        assert_eq!(team.admin.alert(id).await["status"], "StatusClosed");
    }

    let escalated = team.gctl.run(&["alert", "escalate", &first.to_string()]);
    assert_eq!(escalated.code, 0, "{}", escalated.stderr);
    let log = team.admin.alert(first).await["recentEvents"]["nodes"].to_string();
    assert!(
        log.contains(&format!("Escalation requested by {}", team.alice.username)),
        "{log}"
    );

    // show: the same log, oldest first, with the escalation in it.
    let shown = team.gctl.json(&["alert", "show", &first.to_string()]);
    let messages: Vec<&str> = shown["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert!(messages[0].starts_with("Created via monitoring"), "{messages:?}");
    assert!(messages.iter().any(|m| m.starts_with("Acknowledged by")));
    assert!(messages.iter().any(|m| m.starts_with("Escalation requested")));

    let missing = team.gctl.run(&["alert", "show", "999999999"]);
    assert_eq!(missing.code, 6);
}

#[tokio::test]
async fn alert_list_watch_redraws_in_place_in_a_terminal() {
    let team = Team::new(&["watched"]).await;
    team.fire(0, "first watched alert").await;
    let socket = format!("gctl-e2e-{}", std::process::id());
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .arg("-L")
            .arg(&socket)
            .args(args)
            .output()
            .expect("tmux is installed")
    };
    let config = format!("GCTL_CONFIG={}", team.gctl.config.path().display());
    let started = tmux(&[
        "new-session",
        "-d",
        "-s",
        "watch",
        "-x",
        "200",
        "-y",
        "40",
        "-e",
        &config,
        "-e",
        "TZ=UTC",
        "-e",
        "NO_COLOR=1",
        &e2e::workspace_binary("gctl").display().to_string(),
        "alert",
        "list",
        "--service",
        &team.services[0].name,
        "--watch",
        "--interval",
        "1s",
    ]);
    assert!(
        started.status.success(),
        "{}",
        String::from_utf8_lossy(&started.stderr)
    );
    let screen =
        || String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", "watch"]).stdout).into_owned();
    let wait_for = |what: &str| {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let shown = screen();
            if shown.contains(what) {
                return shown;
            }
            assert!(
                Instant::now() < deadline,
                "the screen never showed {what:?}:\n{shown}"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    };

    let first = wait_for("first watched alert");
    assert!(first.contains("gctl alert list: 1 alert at"), "{first}");
    assert!(
        first
            .lines()
            .any(|l| l.starts_with("ID") && l.contains("SUMMARY")),
        "{first}"
    );

    team.fire(0, "second watched alert").await;
    let second = wait_for("second watched alert");
    assert!(second.contains("gctl alert list: 2 alerts at"), "{second}");
    // Redrawn in place: one header on the screen, not a scrolling log of refreshes.
    assert_eq!(second.matches("gctl alert list:").count(), 1, "{second}");
    assert!(second.contains("first watched alert"));
    tmux(&["kill-server"]);
}

// ---------------------------------------------------------------------------------------------
// Services

#[tokio::test]
async fn service_status_shows_the_chain_keys_heartbeats_and_counts() {
    let team = Team::new(&["storefront"]).await;
    let open = team.fire(0, "storefront 500s").await;
    let done = team.fire(0, "storefront slow").await;
    team.admin
        .gql(
            "mutation($ids: [Int!]!) { updateAlerts(input: {alertIDs: $ids, newStatus: StatusClosed}) { alertID } }",
            json!({ "ids": [done] }),
        )
        .await;
    let name = &team.services[0].name;
    let status = team.gctl.json(&["service", "status", name]);

    assert_eq!(status["name"], name.as_str());
    assert_eq!(ids(&status["openAlerts"]), [open]);
    assert_eq!(
        status["alertCounts"],
        json!({ "unacked": 1, "acked": 0, "closed": 1 })
    );

    let chain: Vec<(i64, i64, String, String)> = status["escalationChain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["step"].as_i64().unwrap(),
                r["pagesAfterMinutes"].as_i64().unwrap(),
                r["userId"].as_str().unwrap().to_owned(),
                r["via"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        chain,
        [
            (1, 0, team.alice.id.clone(), format!("schedule {}", team.schedule)),
            (2, 5, team.bob.id.clone(), "user".to_owned()),
        ]
    );

    let key = &status["integrationKeys"][0];
    assert_eq!(key["name"], "monitoring");
    assert_eq!(key["maskedToken"], format!("****{}", &team.services[0].key[32..]));
    assert_eq!(status["heartbeatMonitors"][0]["name"], "nightly-backup");
    assert_eq!(status["heartbeatMonitors"][0]["state"], "inactive");
    let days = status["recentDays"].as_array().unwrap();
    assert_eq!(days.len(), 7);
    assert_eq!(days.last().unwrap()["alerts"], 2, "today's two alerts");

    let table = team.gctl.run(&["service", "status", name]);
    assert!(
        !table.stdout.contains(&team.services[0].key),
        "the full key is never shown"
    );
    for section in [
        "Open alerts",
        "Who gets paged now",
        "Integration keys",
        "Heartbeat monitors",
        "Alerts per day",
    ] {
        assert!(
            table.stdout.contains(section),
            "missing {section}:\n{}",
            table.stdout
        );
    }
}

// ---------------------------------------------------------------------------------------------
// RCA

/// Moves an alert and its log back in time, so an incident replays at realistic spacing
/// (GoAlert stamps alerts from integration keys with the time they arrive).
fn backdate(alert: i64, minutes: i64) {
    testbed().sql(&format!(
        "UPDATE alerts SET created_at = created_at - interval '{minutes} minutes' WHERE id = {alert}; \
         UPDATE alert_logs SET timestamp = timestamp - interval '{minutes} minutes' WHERE alert_id = {alert}"
    ));
}

#[tokio::test]
async fn rca_finds_the_timeline_the_correlated_group_and_the_noise() {
    let team = Team::new(&["database", "api", "checkout", "disk"]).await;
    // 40 and 30 minutes ago the disk monitor flapped: alerts closed by the monitor within seconds.
    let flap_one = team.fire(3, "disk usage 91% on db-1").await;
    team.resolve(3, "disk usage 91% on db-1").await;
    let flap_two = team.fire(3, "disk usage 92% on db-1").await;
    team.resolve(3, "disk usage 92% on db-1").await;
    // 12 minutes ago the database fell over, and the API and checkout followed within minutes.
    let database = team.fire(0, "database primary down").await;
    let api = team.fire(1, "api error rate 40%").await;
    let checkout = team.fire(2, "checkout failing").await;
    for (alert, minutes) in [
        (flap_one, 40),
        (flap_two, 30),
        (database, 12),
        (api, 10),
        (checkout, 9),
    ] {
        backdate(alert, minutes);
    }
    team.gctl.json(&["alert", "ack", &database.to_string()]);

    let window: Vec<String> = team
        .services
        .iter()
        .flat_map(|s| ["--service".to_owned(), s.name.clone()])
        .chain(["--since".to_owned(), "1h".to_owned()])
        .collect();
    let with = |cmd: &[&str]| -> Vec<String> {
        cmd.iter()
            .map(|s| s.to_string())
            .chain(window.iter().cloned())
            .collect()
    };
    let run = |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        team.gctl.json(&args)
    };

    let timeline = run(with(&["rca", "timeline"]));
    let entries = timeline.as_array().unwrap();
    let times: Vec<jiff::Timestamp> = entries
        .iter()
        .map(|e| e["time"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "the timeline is in time order"
    );
    let created_order: Vec<i64> = entries
        .iter()
        .filter(|e| e["event"].as_str().unwrap().starts_with("Created"))
        .map(|e| e["alertId"].as_i64().unwrap())
        .collect();
    assert_eq!(created_order, [flap_one, flap_two, database, api, checkout]);

    let groups = run(with(&["rca", "groups", "--gap", "5m"]));
    assert_eq!(groups.as_array().unwrap().len(), 1, "{groups}");
    assert_eq!(groups[0]["alertIds"], json!([database, api, checkout]));
    let services: Vec<&str> = groups[0]["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(services.len(), 3);

    let noise = run(with(&["rca", "noise", "--quick", "5m"]));
    assert_eq!(noise[0]["service"], team.services[3].name.as_str(), "{noise}");
    assert_eq!(
        (
            noise[0]["alerts"].as_i64(),
            noise[0]["closedQuickly"].as_i64(),
            noise[0]["neverAcked"].as_i64()
        ),
        (Some(2), Some(2), Some(2))
    );
    let database_row = noise
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["service"] == team.services[0].name.as_str())
        .unwrap();
    assert_eq!(database_row["neverAcked"], 0);

    let report_file = team.gctl.config.path().join("postmortem.md");
    let mut report_args = with(&["rca", "report", "--title", "Database outage"]);
    report_args.extend(["--file".to_owned(), report_file.display().to_string()]);
    let report_args: Vec<&str> = report_args.iter().map(String::as_str).collect();
    let written = team.gctl.run(&report_args);
    assert_eq!(written.code, 0, "{}", written.stderr);
    let report = std::fs::read_to_string(&report_file).unwrap();
    assert!(report.starts_with("# Database outage\n"));
    for section in [
        "## Alerts",
        "## Who was paged",
        "## Correlated alerts",
        "## Timeline",
        "## Noise",
        "## Root cause",
        "## Action items",
    ] {
        assert!(report.contains(section), "missing {section}:\n{report}");
    }
    assert!(
        report.contains("1. ") && report.contains(&format!("#{database}, #{api}, #{checkout}")),
        "{report}"
    );
    let acked_by = format!("| {} (Web) |", team.alice.username);
    assert!(report.contains(&acked_by), "time to ack and who acked:\n{report}");
}

// ---------------------------------------------------------------------------------------------
// Contact methods

#[tokio::test]
async fn contact_verify_enables_a_provisioned_contact_method() {
    let team = Team::new(&["contact"]).await;
    team.admin
        .gql(
            "mutation { setConfig(input: [{id: \"Webhook.Enable\", value: \"true\"}]) }",
            json!({}),
        )
        .await;
    // Provisioned for Alice (as the operator would): GoAlert creates it disabled.
    let created = team
        .admin
        .gql(
            "mutation($input: CreateUserContactMethodInput!) { createUserContactMethod(input: $input) { id disabled } }",
            json!({ "input": {
                "userID": team.alice.id,
                "name": "pager hook",
                "dest": { "type": "builtin-webhook", "args": { "webhook_url": format!("http://127.0.0.1:{}/hook", free_port()) } },
            }}),
        )
        .await;
    let id = created["createUserContactMethod"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(created["createUserContactMethod"]["disabled"], true);

    let unverified = team.gctl.json(&["contact", "verify"]);
    assert_eq!(unverified[0]["name"], "pager hook");
    assert_eq!(unverified[0]["verified"], false);

    let sent = team.gctl.run(&["contact", "verify", "pager hook", "--send"]);
    assert_eq!(sent.code, 0, "{}", sent.stderr);
    let code = verification_code(&id);

    let wrong = team.gctl.run(&[
        "contact",
        "verify",
        "pager hook",
        "--code",
        &((code % 999_999) + 1).to_string(),
    ]);
    assert_ne!(wrong.code, 0, "a wrong code is refused");

    let verified = team
        .gctl
        .run(&["contact", "verify", "pager hook", "--code", &code.to_string()]);
    assert_eq!(verified.code, 0, "{}", verified.stderr);
    let read_back = team
        .admin
        .gql(
            "query($id: ID!) { userContactMethod(id: $id) { disabled } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(read_back["userContactMethod"]["disabled"], false);
    assert_eq!(team.gctl.json(&["contact", "list"])[0]["verified"], true);
}

/// The code GoAlert sent, read where a test can: its database.
fn verification_code(contact_method: &str) -> u32 {
    let output = Command::new("psql")
        .args([
            &testbed().db_url,
            "-At",
            "-c",
            &format!("SELECT code FROM user_verification_codes WHERE contact_method_id = '{contact_method}'"),
        ])
        .output()
        .unwrap();
    String::from_utf8(output.stdout)
        .unwrap()
        .trim()
        .parse()
        .expect("a verification code was stored")
}

// ---------------------------------------------------------------------------------------------
// Help and completions

#[test]
fn every_command_has_examples_and_completions_are_generated() {
    let gctl = Gctl::new();
    for command in [
        vec!["login"],
        vec!["logout"],
        vec!["whoami"],
        vec!["context", "list"],
        vec!["oncall"],
        vec!["alert", "list"],
        vec!["alert", "show"],
        vec!["alert", "ack"],
        vec!["alert", "close"],
        vec!["alert", "escalate"],
        vec!["service", "status"],
        vec!["rca", "timeline"],
        vec!["rca", "groups"],
        vec!["rca", "noise"],
        vec!["rca", "report"],
        vec!["contact", "list"],
        vec!["contact", "verify"],
        vec!["completion"],
    ] {
        let mut args = command.clone();
        args.push("--help");
        let help = gctl.run(&args);
        assert_eq!(help.code, 0);
        assert!(
            help.stdout.contains("Examples:"),
            "gctl {} --help has no examples",
            command.join(" ")
        );
    }
    let long_help = gctl.run(&["--help"]);
    assert!(long_help.stdout.contains("Exit codes:"));
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let script = gctl.run(&["completion", shell]);
        assert_eq!(script.code, 0, "{}", script.stderr);
        assert!(
            script.stdout.contains("GCTL_COMPLETE"),
            "{shell}: {}",
            script.stdout
        );
    }
    // Commands and options complete too, without a session.
    let (offered, _) = gctl.bash_completions(&["alert", "a"]);
    assert_eq!(offered, ["ack"]);
    let (offered, _) = gctl.bash_completions(&["alert", "list", "--sta"]);
    assert_eq!(offered, ["--status"]);
}

// ---------------------------------------------------------------------------------------------
// Under a real incident (#18): alert storms, bulk actions, direct targets, shift edges

/// A service of its own (an empty policy, one generic integration key) and `count` alerts in
/// it, written straight into GoAlert's database the way its engine leaves them after a storm:
/// the first `unacked` unacknowledged (GoAlert allows 200 per service), the rest acknowledged
/// or closed, one a second going back in time, each with its "created" log entry. Returns the
/// service's name and the alert IDs, newest first.
async fn storm(admin: &Admin, count: usize, unacked: usize) -> (String, String, Vec<i64>) {
    let name = unique_name("storm");
    let created = admin
        .gql(
            "mutation($input: CreateServiceInput!) { createService(input: $input) { id integrationKeys { id } } }",
            json!({ "input": {
                "name": name,
                "newEscalationPolicy": { "name": unique_name("storm-ep") },
                "newIntegrationKeys": [{ "type": "generic", "name": "monitoring" }],
            }}),
        )
        .await;
    let service = created["createService"]["id"].as_str().unwrap().to_owned();
    let key = created["createService"]["integrationKeys"][0]["id"]
        .as_str()
        .unwrap();
    testbed().sql(&format!(
        "WITH a AS (INSERT INTO alerts (service_id, source, status, summary, details, dedup_key, created_at) \
         SELECT '{service}', 'generic', \
           (CASE WHEN g <= {unacked} THEN 'triggered' WHEN g % 2 = 0 THEN 'active' ELSE 'closed' END)::enum_alert_status, \
           'storm alert ' || g, 'storm details: host db-' || g || ' answers slowly', \
           CASE WHEN g <= {unacked} OR g % 2 = 0 THEN 'auto:1:storm-' || g END, now() - g * interval '1 second' \
         FROM generate_series(1, {count}) g RETURNING id, created_at) \
         INSERT INTO alert_logs (alert_id, timestamp, event, message, sub_type, sub_integration_key_id) \
         SELECT id, created_at, 'created', '', 'integration_key', '{key}' FROM a"
    ));
    let ids = psql_ids(&format!(
        "SELECT id FROM alerts WHERE service_id = '{service}' ORDER BY id DESC"
    ));
    assert_eq!(ids.len(), count);
    (name, service, ids)
}

fn psql_ids(query: &str) -> Vec<i64> {
    let output = Command::new("psql")
        .args([&testbed().db_url, "-Atq", "-c", query])
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.trim().parse().unwrap())
        .collect()
}

fn listed(run: &Run) -> Vec<i64> {
    run.stdout.lines().map(|l| l.trim().parse().unwrap()).collect()
}

#[tokio::test]
async fn an_alert_storm_pages_past_149_alerts_lists_every_one_and_searches_details() {
    let admin = Admin::new().await;
    let (name, service, all) = storm(&admin, 2500, 150).await;
    let person = admin.create_user("storm").await;
    let gctl = Gctl::new();
    assert_eq!(gctl.login(&person).code, 0);

    // Past GoAlert's first page (where v0.34's dateID sort fails): the newest 150, newest first.
    let page = gctl.json(&[
        "alert",
        "list",
        "--service",
        &name,
        "--status",
        "all",
        "--limit",
        "150",
    ]);
    let got: Vec<i64> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(got, all[..150]);

    // Every one, IDs only, for scripts.
    let every = gctl.run(&[
        "alert",
        "list",
        "--service",
        &name,
        "--status",
        "all",
        "--all",
        "--ids",
    ]);
    assert_eq!(every.code, 0, "{}", every.stderr);
    assert_eq!(listed(&every), all);

    // A person sees how many there are beyond the first 100.
    let table = gctl.run(&["alert", "list", "--service", &name, "--status", "all"]);
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert_eq!(table.stdout.lines().count(), 101, "a header and 100 alerts");
    assert!(
        table.stderr.contains("newest 100 of 2500 alerts"),
        "{}",
        table.stderr
    );

    // --search reads the details too, beyond the first page.
    let found = gctl.json(&[
        "alert",
        "list",
        "--service",
        &name,
        "--status",
        "all",
        "--search",
        "host DB-2222 answers",
    ]);
    let found: Vec<i64> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        found,
        psql_ids(&format!(
            "SELECT id FROM alerts WHERE service_id = '{service}' AND details LIKE '%host db-2222 answers%'"
        ))
    );

    // service status and the investigation read the whole storm too.
    let status = gctl.run(&["service", "status", &name, "-o", "json"]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    let report = gctl.json(&["rca", "report", "--service", &name, "--since", "2h"]);
    assert_eq!(report["alerts"].as_array().unwrap().len(), all.len());
    assert!(
        report["alerts"][0]["source"]
            .as_str()
            .unwrap()
            .contains("monitoring")
    );
}

#[tokio::test]
async fn bulk_changes_are_batched_idempotent_and_account_for_every_alert() {
    let admin = Admin::new().await;
    let (name, service, _) = storm(&admin, 160, 160).await;
    let person = admin.create_user("bulk").await;
    let gctl = Gctl::new();
    assert_eq!(gctl.login(&person).code, 0);
    let ids = psql_ids(&format!(
        "SELECT id FROM alerts WHERE service_id = '{service}' ORDER BY id"
    ));
    let args: Vec<String> = ids.iter().map(i64::to_string).collect();
    let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();

    // 160 alerts in one command: every one closed, and said so.
    let mut close = vec!["alert", "close"];
    close.extend(&arg_refs);
    close.extend(["--yes", "-o", "json"]);
    let closed = gctl.run(&close);
    assert_eq!(closed.code, 0, "{}", closed.stderr);
    let results: Value = serde_json::from_str(&closed.stdout).unwrap();
    assert_eq!(results.as_array().unwrap().len(), 160);
    assert!(
        results
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["result"] == "changed" && r["status"] == "closed"),
        "{results}"
    );
    assert_eq!(
        psql_ids(&format!(
            "SELECT count(*) FROM alerts WHERE service_id = '{service}' AND status = 'closed'"
        )),
        [160]
    );

    // Again: already closed is no error; an unknown ID is, and the others are still reported.
    let again = gctl.run(&[
        "alert",
        "close",
        &args[0],
        &args[1],
        "999999999",
        "--yes",
        "-o",
        "json",
    ]);
    assert_eq!(again.code, 6, "{}", again.stderr);
    let results: Value = serde_json::from_str(&again.stdout).unwrap();
    let outcome = |id: &str| {
        results
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id.parse::<i64>().unwrap())
            .unwrap()["result"]
            .clone()
    };
    assert_eq!(outcome(&args[0]), "already");
    assert_eq!(outcome("999999999"), "notFound");
    assert!(again.stderr.contains("999999999"), "{}", again.stderr);
    let ack_closed = gctl.run(&["alert", "ack", &args[0]]);
    assert_eq!(ack_closed.code, 0, "{}", ack_closed.stderr);
    assert!(
        ack_closed.stdout.contains("already closed"),
        "{}",
        ack_closed.stdout
    );

    // By filter: asks first (nobody at a terminal here), then acts on every match with --yes.
    let (name2, service2, _) = storm(&admin, 30, 30).await;
    let asked = gctl.run(&["alert", "ack", "--service", &name2]);
    assert_eq!(asked.code, 7, "{}", asked.stderr);
    let acked = gctl.run(&["alert", "ack", "--service", &name2, "--yes"]);
    assert_eq!(acked.code, 0, "{}", acked.stderr);
    assert_eq!(
        psql_ids(&format!(
            "SELECT count(*) FROM alerts WHERE service_id = '{service2}' AND status = 'active'"
        )),
        [30]
    );
    let twice = gctl.run(&[
        "alert",
        "ack",
        &psql_ids(&format!(
            "SELECT id FROM alerts WHERE service_id = '{service2}' LIMIT 1"
        ))[0]
            .to_string(),
    ]);
    assert_eq!(twice.code, 0);
    assert!(twice.stdout.contains("already acknowledged"), "{}", twice.stdout);
    let _ = name;
}

#[tokio::test]
async fn escalate_takes_several_alerts_and_raised_alerts_page_the_service() {
    let team = Team::new(&["escalated"]).await;
    let first = team.fire(0, "escalated one").await;
    let second = team.fire(0, "escalated two").await;
    let run = team
        .gctl
        .run(&["alert", "escalate", &first.to_string(), &second.to_string(), "-y"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    for id in [first, second] {
        let log = team.admin.alert(id).await["recentEvents"]["nodes"].to_string();
        assert!(log.contains("Escalation requested"), "{log}");
    }

    // Raised from the terminal: a real alert on the service, created by Alice in person.
    let created = team.gctl.json(&[
        "alert",
        "create",
        "--service",
        &team.services[0].name,
        "--summary",
        "need a DBA now",
        "--yes",
    ]);
    let id = created["id"].as_i64().unwrap();
    let alert = team.admin.alert(id).await;
    assert_eq!(alert["summary"], "need a DBA now");
    // The noise report names who raised it, as the timeline does, not "unknown".
    let noise = team.gctl.json(&[
        "rca",
        "noise",
        "--service",
        &team.services[0].name,
        "--since",
        "1h",
    ]);
    let sources: Vec<String> = noise
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["source"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        sources.iter().any(|s| s.contains(&team.alice.username)),
        "{sources:?}"
    );
    assert!(!sources.iter().any(|s| s == "unknown"), "{sources:?}");

    // An inverted window is a usage error, not "No alerts".
    let inverted = team
        .gctl
        .run(&["alert", "list", "--since", "1h", "--until", "2h"]);
    assert_eq!(inverted.code, 2, "{}", inverted.stderr);
    let inverted = team
        .gctl
        .run(&["rca", "timeline", "--since", "1h", "--until", "2h"]);
    assert_eq!(inverted.code, 2, "{}", inverted.stderr);
}

#[tokio::test]
async fn oncall_shows_direct_targets_real_names_and_real_shift_edges() {
    let team = Team::new(&["direct"]).await;
    let now = jiff::Timestamp::now();

    // Everyone: Bob is paged directly by step 2 of the policy, not through a schedule.
    let everyone = team.gctl.json(&["oncall"]);
    let direct = format!("policy {} step 2", team.policy);
    assert!(
        everyone
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["userId"] == team.bob.id.as_str() && r["via"] == direct.as_str()),
        "{everyone}"
    );

    // --me names Alice as she is called, in every row.
    let mine = team.gctl.json(&["oncall", "--me"]);
    assert!(!mine.as_array().unwrap().is_empty());
    assert!(
        mine.as_array()
            .unwrap()
            .iter()
            .all(|r| r["user"] == team.alice.username.as_str()),
        "{mine}"
    );

    // Shift edges: Alice's shift ends at the daily handoff, 12 hours from the rotation's start
    // a day ago; Bob's next shift runs the whole day after it, not to the edge of a query window.
    let handoffs = team
        .schedule_shifts(now, now + jiff::SignedDuration::from_hours(48))
        .await;
    let handoff: jiff::Timestamp = handoffs
        .iter()
        .find(|(u, _)| *u == team.bob.id)
        .unwrap()
        .1
        .parse()
        .unwrap();
    let current = team.gctl.json(&["oncall", "--schedule", &team.schedule]);
    assert_eq!(
        current[0]["end"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap(),
        handoff
    );
    let next = team
        .gctl
        .json(&["oncall", "--schedule", &team.schedule, "--next", "--window", "1d"]);
    let bob = next
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["userId"] == team.bob.id.as_str())
        .unwrap();
    assert_eq!(
        bob["start"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap(),
        handoff
    );
    assert_eq!(
        bob["end"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap(),
        handoff + jiff::SignedDuration::from_hours(24)
    );
}

#[tokio::test]
async fn login_says_which_url_goalert_accepts_and_small_failures_are_clear() {
    let admin = Admin::new().await;
    let person = admin.create_user("referer").await;
    let gctl = Gctl::new();
    // What a port-forward gives: the same GoAlert under another name than its public URL.
    let public = url::Url::parse(&testbed().goalert_url).unwrap();
    let forwarded = format!("http://localhost:{}", public.port().unwrap());
    let run = gctl.run_with(
        &["login", "--url", &forwarded, "-u", &person.username],
        &[("GCTL_PASSWORD", &person.password)],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("referer"), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("gctl login --url {public}")),
        "{}",
        run.stderr
    );

    // A URL pasted from the browser is a page of the UI, not GoAlert's base URL.
    let pasted = format!("{}/alerts/42", testbed().goalert_url);
    let run = gctl.run_with(
        &["login", "--url", &pasted, "-u", &person.username],
        &[("GCTL_PASSWORD", &person.password)],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("not GoAlert's base URL"), "{}", run.stderr);

    // An empty --password-stdin is refused before GoAlert sees it.
    let mut command = gctl.command(&[
        "login",
        "--url",
        &testbed().goalert_url,
        "-u",
        &person.username,
        "--password-stdin",
    ]);
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdin.take());
    let output = Run::from(child.wait_with_output().unwrap());
    assert_eq!(output.code, 2, "{}", output.stderr);
    assert!(output.stderr.contains("empty password"), "{}", output.stderr);

    // A reader that goes away early is no crash.
    let mut child = gctl
        .command(&["completion", "bash"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!String::from_utf8_lossy(&output.stderr).contains("panicked"));
}

/// A TCP forwarder in front of the testbed's GoAlert that can drop every connection and come
/// back on the same port: a flaky network, with the real GoAlert behind it.
struct Flaky {
    port: u16,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Flaky {
    async fn start() -> Self {
        let mut flaky = Self {
            port: free_port(),
            task: None,
        };
        flaky.resume().await;
        flaky
    }

    async fn resume(&mut self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .unwrap();
        let upstream = url::Url::parse(&testbed().goalert_url).unwrap();
        let upstream = format!("127.0.0.1:{}", upstream.port().unwrap());
        self.task = Some(tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                connections.spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        }));
    }

    fn drop_everything(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_survives_a_dropped_connection_and_fits_the_screen() {
    let team = Team::new(&["flaky"]).await;
    for i in 0..30 {
        team.fire(0, &format!("flaky alert {i}")).await;
    }
    // The session works through any URL of the same GoAlert; only logging in checks the URL.
    let mut flaky = Flaky::start().await;
    let config_file = team.gctl.config.path().join("config.yaml");
    let config = std::fs::read_to_string(&config_file).unwrap();
    std::fs::write(
        &config_file,
        config.replace(
            &testbed().goalert_url,
            &format!("http://127.0.0.1:{}", flaky.port),
        ),
    )
    .unwrap();

    let socket = format!("gctl-e2e-flaky-{}", std::process::id());
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .arg("-L")
            .arg(&socket)
            .args(args)
            .output()
            .unwrap()
    };
    let config = format!("GCTL_CONFIG={}", team.gctl.config.path().display());
    let started = tmux(&[
        "new-session",
        "-d",
        "-s",
        "watch",
        "-x",
        "120",
        "-y",
        "15",
        "-e",
        &config,
        "-e",
        "TZ=UTC",
        "-e",
        "NO_COLOR=1",
        &e2e::workspace_binary("gctl").display().to_string(),
        "alert",
        "list",
        "--service",
        &team.services[0].name,
        "--watch",
        "--interval",
        "1s",
    ]);
    assert!(started.status.success());
    let screen =
        || String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", "watch"]).stdout).into_owned();
    let wait_for = async |what: &str| {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let shown = screen();
            if shown.contains(what) {
                return shown;
            }
            assert!(
                Instant::now() < deadline,
                "the screen never showed {what:?}:\n{shown}"
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    };
    let first = wait_for("more (a taller terminal").await;
    assert!(first.contains("gctl alert list: 30 alerts"), "{first}");
    assert!(first.lines().count() <= 15, "{first}");

    flaky.drop_everything();
    let stale = wait_for("retrying in").await;
    assert!(
        stale.contains("stale:") && stale.contains("flaky alert"),
        "{stale}"
    );
    flaky.resume().await;
    team.fire(0, "flaky alert after the outage").await;
    let back = wait_for("31 alerts").await;
    assert!(!back.contains("stale:"), "{back}");
    tmux(&["kill-server"]);
}

#[tokio::test]
async fn lists_maintenance_cover_me_and_raw_graphql_work_on_the_real_goalert() {
    let team = Team::new(&["listed"]).await;
    let service = &team.services[0];

    // The lists find the names the other commands take.
    let names = |args: &[&str]| -> String {
        let run = team.gctl.run(args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.stdout
    };
    assert_eq!(
        names(&["service", "list", &service.name, "--names"]),
        format!("{}\n", service.name)
    );
    assert_eq!(
        names(&["schedule", "list", &team.schedule, "--names"]),
        format!("{}\n", team.schedule)
    );
    assert_eq!(
        names(&["policy", "list", &team.policy, "--names"]),
        format!("{}\n", team.policy)
    );
    let users = team.gctl.json(&["user", "list", &team.bob.username]);
    assert_eq!(users[0]["id"], team.bob.id.as_str());

    // Maintenance: GoAlert holds the service's maintenance until the asked time, then not.
    let on = team
        .gctl
        .json(&["service", "maintenance", &service.name, "--for", "1h"]);
    let until: jiff::Timestamp = on["maintenanceUntil"].as_str().unwrap().parse().unwrap();
    let read = async || {
        team.admin
            .gql(
                "query($id: ID!) { service(id: $id) { maintenanceExpiresAt } }",
                json!({ "id": service.id }),
            )
            .await["service"]["maintenanceExpiresAt"]
            .clone()
    };
    let held: jiff::Timestamp = read().await.as_str().unwrap().parse().unwrap();
    assert!(
        (held - until).abs() < jiff::SignedDuration::from_secs(2),
        "{held} vs {until}"
    );
    team.gctl
        .json(&["service", "maintenance", &service.name, "--off"]);
    assert!(read().await.is_null());

    // Cover me: Bob takes Alice's shift for two hours, as a GoAlert override.
    let cover = team.gctl.json(&[
        "override",
        "add",
        "--schedule",
        &team.schedule,
        "--user",
        &team.bob.username,
        "--for",
        "2h",
        "--yes",
    ]);
    let override_id = cover["id"].as_str().unwrap();
    let data = team
        .admin
        .gql(
            "query($id: ID!) { userOverride(id: $id) { addUserID removeUserID } }",
            json!({ "id": override_id }),
        )
        .await;
    assert_eq!(data["userOverride"]["addUserID"], team.bob.id.as_str());
    assert_eq!(data["userOverride"]["removeUserID"], team.alice.id.as_str());

    // Raw GraphQL with the session: GoAlert's whole answer, exit 1 when it has errors.
    let raw = team.gctl.run(&["api", "{ user { id } }"]);
    assert_eq!(raw.code, 0, "{}", raw.stderr);
    let answer: Value = serde_json::from_str(&raw.stdout).unwrap();
    assert_eq!(answer["data"]["user"]["id"], team.alice.id.as_str());
    let wrong = team.gctl.run(&["api", "{ nothingLikeThis }"]);
    assert_eq!(wrong.code, 1);
    assert!(wrong.stdout.contains("nothingLikeThis"), "{}", wrong.stdout);
}

// ---------------------------------------------------------------------------------------------
// Shell completion from the saved session

#[tokio::test]
async fn shell_completion_offers_the_real_services_open_alerts_and_contexts() {
    let team = Team::new(&["completed", "completed"]).await;
    let open = team.fire(0, "completion open").await;
    let closed = team.fire(1, "completion closed").await;
    team.resolve(1, "completion closed").await;
    let gctl = &team.gctl;
    let context = gctl
        .token_file()
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let values = |offered: Vec<String>| -> Vec<String> {
        offered.into_iter().filter(|c| !c.starts_with('-')).collect()
    };

    // Service names: GoAlert's, from what is typed, wherever a service is taken.
    for words in [
        &["service", "status", "Comple"][..],
        &["alert", "list", "--service", "comple"],
        &["--context", &context, "rca", "report", "--service", "completed"],
    ] {
        let (offered, run) = gctl.bash_completions(words);
        assert_eq!(run.stderr, "", "{words:?}");
        for service in &team.services {
            assert!(offered.contains(&service.name), "{words:?}: {offered:?}");
        }
        assert!(
            offered
                .iter()
                .all(|name| name.to_lowercase().starts_with("completed")),
            "{offered:?}"
        );
    }

    // Alert IDs: the newest 100 open alerts, as GoAlert has them. Other tests raise alerts at
    // the same time, so the answer is compared with GoAlert's just before and just after.
    let newest_open = || {
        psql_ids("SELECT id FROM alerts WHERE status <> 'closed' ORDER BY id DESC LIMIT 100")
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
    };
    let mut agreed = false;
    // Under a full parallel run other tests raise alerts every few hundred milliseconds: try
    // until a completion falls between two equal answers.
    for _ in 0..40 {
        let before = newest_open();
        let (offered, run) = gctl.bash_completions(&["alert", "ack", ""]);
        if before != newest_open() {
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            continue;
        }
        assert_eq!(run.stderr, "");
        assert_eq!(values(offered), before);
        agreed = true;
        if before.contains(&open.to_string()) {
            break;
        }
    }
    assert!(agreed, "GoAlert's open alerts never held still");
    for command in ["show", "close", "escalate"] {
        let (offered, _) = gctl.bash_completions(&["alert", command, ""]);
        assert!(!offered.contains(&closed.to_string()), "{offered:?}");
    }
    // Shells that show descriptions get each alert's summary and service.
    if newest_open().contains(&open.to_string()) {
        let fish = gctl.run_with(
            &["--", "gctl", "alert", "show", &open.to_string()],
            &[("GCTL_COMPLETE", "fish")],
        );
        let line = format!("{open}\tcompletion open ({})", team.services[0].name);
        assert!(fish.stdout.lines().any(|l| l == line), "{}", fish.stdout);
    }

    // Contexts, from the configuration.
    for words in [&["--context", ""][..], &["context", "use", ""]] {
        let (offered, _) = gctl.bash_completions(words);
        assert_eq!(values(offered), [context.as_str()], "{words:?}");
    }

    // No session, an unknown context, a GoAlert that never answers: no candidates, no message,
    // no prompt, and no long wait.
    let stranger = Gctl::new();
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    std::fs::create_dir_all(stranger.config.path().join("sessions")).unwrap();
    std::fs::write(
        stranger.config.path().join("config.yaml"),
        format!(
            "current-context: silent\ncontexts:\n  silent:\n    url: http://{}\n    username: alice\n",
            silent.local_addr().unwrap()
        ),
    )
    .unwrap();
    std::fs::write(stranger.config.path().join("sessions/silent.token"), "U-token").unwrap();
    for (who, words) in [
        (&Gctl::new(), &["alert", "ack", ""][..]),
        (gctl, &["--context", "nosuch", "service", "status", ""]),
        (&stranger, &["alert", "ack", ""]),
        (&stranger, &["oncall", "--service", ""]),
    ] {
        let started = Instant::now();
        let (offered, run) = who.bash_completions(words);
        let offered = values(offered);
        assert!(
            offered.is_empty() && run.stderr.is_empty(),
            "{words:?}: {offered:?} {}",
            run.stderr
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{words:?} took {:?}",
            started.elapsed()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Acting on a filter, and times in the reader's zone

#[tokio::test]
async fn filters_act_on_my_alerts_or_every_match_and_tables_name_their_time_zone() {
    let team = Team::new(&["filtered"]).await;
    let mine = [
        team.fire(0, "filtered one").await,
        team.fire(0, "filtered two").await,
    ];
    let (storm_name, storm_service, _) = storm(&team.admin, 120, 120).await;
    let count = |status: &str| {
        psql_ids(&format!(
            "SELECT count(*) FROM alerts WHERE service_id = '{storm_service}' AND status = '{status}'"
        ))[0]
    };

    // --mine: the alerts of the services Alice is on call for, and nobody else's.
    let acked = team.gctl.run(&["alert", "ack", "--mine", "--yes"]);
    assert_eq!(acked.code, 0, "{}", acked.stderr);
    for id in mine {
        assert_eq!(team.admin.alert(id).await["status"], "StatusAcknowledged");
    }
    assert_eq!(count("triggered"), 120);

    // A filter acts on the newest 100 and says how many match; --all acts on every one.
    let newest = team
        .gctl
        .run(&["alert", "close", "--service", &storm_name, "--yes"]);
    assert_eq!(newest.code, 0, "{}", newest.stderr);
    assert!(
        newest
            .stderr
            .contains("120 alerts match; acting on the newest 100"),
        "{}",
        newest.stderr
    );
    assert_eq!(count("closed"), 100);
    let every = team
        .gctl
        .run(&["alert", "close", "--service", &storm_name, "--all", "--yes"]);
    assert_eq!(every.code, 0, "{}", every.stderr);
    assert_eq!(count("closed"), 120);

    // Tables show times in the reader's zone and name it; --utc (or GCTL_UTC) shows UTC.
    let list = [
        "alert",
        "list",
        "--status",
        "all",
        "--service",
        &team.services[0].name,
    ];
    let created: jiff::Timestamp = team
        .admin
        .gql(
            "query($id: Int!) { alert(id: $id) { createdAt } }",
            json!({ "id": mine[1] }),
        )
        .await["alert"]["createdAt"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let shown = |zone: &str| {
        created
            .in_tz(zone)
            .unwrap()
            .strftime("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    let berlin = team.gctl.run_with(&list, &[("TZ", "Europe/Berlin")]);
    assert!(
        berlin.stdout.contains("CREATED (Europe/Berlin)"),
        "{}",
        berlin.stdout
    );
    assert!(
        berlin.stdout.contains(&shown("Europe/Berlin")),
        "{}",
        berlin.stdout
    );
    let mut with_utc = list.to_vec();
    with_utc.push("--utc");
    for run in [
        team.gctl.run_with(&with_utc, &[("TZ", "Europe/Berlin")]),
        team.gctl
            .run_with(&list, &[("TZ", "Europe/Berlin"), ("GCTL_UTC", "1")]),
    ] {
        assert!(run.stdout.contains("CREATED (UTC)"), "{}", run.stdout);
        assert!(run.stdout.contains(&shown("UTC")), "{}", run.stdout);
    }

    // Times ahead read "in ...", as input and as output: Bob's shift starts in 12 hours.
    let ahead = team
        .gctl
        .json(&["oncall", "--schedule", &team.schedule, "--at", "in 13h"]);
    assert_eq!(user_ids(&ahead), [team.bob.id.as_str()]);
    let next = team
        .gctl
        .run(&["oncall", "--schedule", &team.schedule, "--next", "--window", "1d"]);
    assert_eq!(next.code, 0, "{}", next.stderr);
    let bob = next
        .stdout
        .lines()
        .find(|l| l.contains(&team.bob.username))
        .unwrap_or_else(|| panic!("{}", next.stdout));
    assert!(bob.contains("(in 11h") || bob.contains("(in 12h"), "{bob}");
}
