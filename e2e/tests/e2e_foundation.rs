//! The foundation's chain, end to end: testbed up → operator out of cluster with the admin
//! kubeconfig → authenticated to the real GoAlert → ready → real GraphQL reads.
#![cfg(feature = "e2e")]

use std::{process::Command, time::Duration};

use e2e::{Operator, free_port, operator_binary, testbed};
use goalert_client::secret::Secret;
use goalert_client::{self as goalert, Credentials, GoAlert, OPERATOR_DOCUMENT};

const READY_WITHIN: Duration = Duration::from_secs(30);
/// These operators only prove the connection; they watch a namespace with nothing in it.
const NO_OBJECTS: &str = "foundation-tests-watch-nothing";

fn ready(status: u16, _: &str) -> bool {
    status == 200
}

fn not_ready_because(reason: &'static str) -> impl Fn(u16, &str) -> bool {
    move |status, body| status == 503 && body.contains(reason)
}

/// Mints the key the way the README tells administrators to: with the operator's own command.
fn create_api_key_with_the_cli() -> String {
    let tb = testbed();
    let output = Command::new(operator_binary())
        .args([
            "create-api-key",
            "--goalert-url",
            &tb.goalert_url,
            "--name",
            &e2e::unique_name("operator"),
        ])
        .env("GOALERT_USERNAME", &tb.admin_user)
        .env("GOALERT_PASSWORD", &tb.admin_password)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "create-api-key failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

#[test]
fn print_api_key_query_prints_the_document_byte_for_byte() {
    let output = Command::new(operator_binary())
        .arg("print-api-key-query")
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(String::from_utf8(output.stdout).unwrap(), OPERATOR_DOCUMENT);
}

#[tokio::test]
async fn operator_with_a_key_for_its_document_becomes_ready() {
    let key = create_api_key_with_the_cli();
    let operator = Operator::start(
        NO_OBJECTS,
        &[("GOALERT_URL", &testbed().goalert_url), ("GOALERT_API_KEY", &key)],
    );
    let body = operator.wait_for_readyz(READY_WITHIN, ready).await;
    assert_eq!(body, "[+]goalert ok\n[+]kubernetes ok\n");

    // Readiness came from a real GraphQL read, counted by the operator's own metrics.
    let (status, metrics) = operator.get("/metrics").await;
    assert_eq!(status, 200);
    assert!(
        metrics.contains(
            r#"goalert_provisioning_goalert_requests_total{operation="OperatorHealth",result="success"}"#
        ),
        "{metrics}"
    );
    assert!(
        !operator.logs().contains(&key),
        "the API key leaked into the logs"
    );
}

#[tokio::test]
async fn operator_with_a_service_user_login_becomes_ready() {
    let tb = testbed();
    let operator = Operator::start(
        NO_OBJECTS,
        &[
            ("GOALERT_URL", &tb.goalert_url),
            ("GOALERT_USERNAME", &tb.admin_user),
            ("GOALERT_PASSWORD", &tb.admin_password),
        ],
    );
    operator.wait_for_readyz(READY_WITHIN, ready).await;
    assert!(
        !operator.logs().contains(&tb.admin_password),
        "the password leaked into the logs"
    );
}

#[tokio::test]
async fn a_wrong_key_is_reported_and_not_ready() {
    let mut operator = Operator::start(
        NO_OBJECTS,
        &[
            ("GOALERT_URL", &testbed().goalert_url),
            ("GOALERT_API_KEY", "eyJub3QiOiJhIGtleSJ9.e30.c2ln"),
        ],
    );
    let body = operator
        .wait_for_readyz(READY_WITHIN, not_ready_because("GoAlert refused the credentials"))
        .await;
    assert!(body.contains("[+]kubernetes ok"), "{body}");
    assert!(
        operator.is_running(),
        "the operator must stay up and report, not exit or panic"
    );
    assert!(!operator.logs().contains("panicked"));
}

#[tokio::test]
async fn a_key_for_another_document_says_how_to_mint_the_right_one() {
    let stale_document = "query OperatorHealth { systemLimits { id } }\n";
    let key = testbed().mint_api_key(stale_document).await;
    let mut operator = Operator::start(
        NO_OBJECTS,
        &[("GOALERT_URL", &testbed().goalert_url), ("GOALERT_API_KEY", &key)],
    );
    operator
        .wait_for_readyz(READY_WITHIN, not_ready_because("print-api-key-query"))
        .await;

    // One clear message, not a retry storm: the check backs off for a minute after this error.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (_, metrics) = operator.get("/metrics").await;
    assert!(
        metrics.contains(r#"operation="OperatorHealth",result="ApiKeyDocumentMismatch"} 1"#),
        "expected exactly one attempt: {metrics}"
    );
    assert_eq!(
        operator.logs().matches("wrong query for API key").count(),
        1,
        "{}",
        operator.logs()
    );
    assert!(operator.is_running());
}

#[tokio::test]
async fn an_unreachable_goalert_is_reported_and_not_ready() {
    let closed_port = free_port();
    let mut operator = Operator::start(
        NO_OBJECTS,
        &[
            ("GOALERT_URL", &format!("http://127.0.0.1:{closed_port}")),
            ("GOALERT_API_KEY", "key"),
        ],
    );
    let body = operator
        .wait_for_readyz(READY_WITHIN, not_ready_because("cannot reach GoAlert"))
        .await;
    assert!(
        body.contains(&format!("127.0.0.1:{closed_port}")),
        "the message names the URL: {body}"
    );
    assert!(operator.is_running());
}

#[tokio::test]
async fn the_client_logs_in_again_when_its_session_ends() {
    let tb = testbed();
    let client = tb.admin();
    client.check_access().await.expect("first request logs in");
    // End every session of the administrator, as a logout elsewhere or an expiry would.
    tb.sql("DELETE FROM auth_user_sessions");
    client
        .check_access()
        .await
        .expect("the client logs in again and retries once");
}

#[tokio::test]
async fn a_bad_password_is_unauthorized() {
    let tb = testbed();
    let client = GoAlert::new(
        &tb.goalert_url,
        Credentials::Login {
            username: tb.admin_user.clone(),
            password: Secret::new("not-the-password"),
        },
    )
    .unwrap();
    let error = client.check_access().await.unwrap_err();
    assert!(matches!(error, goalert::Error::Unauthorized { .. }), "{error:?}");
}

#[tokio::test]
async fn concurrent_callers_share_one_request_slot_without_429s() {
    let key = testbed().mint_api_key(OPERATOR_DOCUMENT).await;
    let client = GoAlert::new(&testbed().goalert_url, Credentials::ApiKey(Secret::new(key))).unwrap();
    let calls = (0..40).map(|_| {
        let client = client.clone();
        tokio::spawn(async move { client.check_access().await })
    });
    for call in futures::future::join_all(calls).await {
        call.unwrap().expect("every queued call succeeds");
    }
}
