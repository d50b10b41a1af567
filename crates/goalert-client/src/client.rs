//! The HTTP side of talking to GoAlert: authentication, one-request-at-a-time, bounded retries,
//! and turning GoAlert's answers into typed errors.
//!
//! GoAlert serves one request at a time per session or API key (then queues up to 100 for 20 s,
//! then answers 429 or 408), so every request of one [`GoAlert`] goes through a single permit:
//! queueing happens here, where it is cheap and visible, not in GoAlert.

use std::{sync::Arc, time::Duration};

use graphql_client::{GraphQLQuery, QueryBody};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{Mutex, Semaphore};
use url::Url;

use super::error::{Error, FieldError, Result};
use crate::secret::Secret;

/// How the client proves who it is to GoAlert.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// An admin GraphQL API key, bound by GoAlert to one exact operations document.
    ApiKey(Secret),
    /// A GoAlert user's username and password; the client logs in and logs in again when the
    /// session ends.
    Login { username: String, password: Secret },
    /// A session token from an earlier login (gctl keeps one on disk).
    Session(Secret),
}

const MAX_ATTEMPTS: u32 = 4;
const LOGIN_PATH: &str = "api/v2/identity/providers/basic?noRedirect=1";
const GRAPHQL_PATH: &str = "api/graphql";

/// Told about every request a [`GoAlert`] sends, after its retries: how a user of the client
/// counts and times requests (the operator's Prometheus metrics) without this crate knowing how.
pub trait RequestObserver: Send + Sync + 'static {
    fn observe(&self, operation: &str, elapsed: Duration, error: Option<&Error>);
}

/// A GoAlert server, as one set of credentials sees it.
#[derive(Clone)]
pub struct GoAlert {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    credentials: Credentials,
    /// The current session token when logging in with a username and password.
    session: Mutex<Option<Secret>>,
    in_flight: Semaphore,
    observer: Option<Arc<dyn RequestObserver>>,
}

#[derive(Deserialize)]
struct Response {
    data: Option<Value>,
    #[serde(default)]
    errors: Vec<GraphQlError>,
}

#[derive(Deserialize)]
struct GraphQlError {
    message: String,
    #[serde(default)]
    extensions: Extensions,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Extensions {
    code: Option<String>,
    #[serde(default)]
    is_field_error: bool,
    field_name: Option<String>,
    #[serde(default)]
    is_multi_field_error: bool,
    #[serde(default)]
    field_errors: Vec<WireFieldError>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireFieldError {
    field_name: String,
    message: String,
}

impl GoAlert {
    /// `base` is GoAlert's public URL, for example `https://goalert.example.com`.
    pub fn new(base: &str, credentials: Credentials) -> Result<Self, url::ParseError> {
        let mut base = Url::parse(base)?;
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        crate::tls::ensure_crypto_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            // GoAlert gives up on a queued request after 20 s and on any request after 2 min.
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("goalert-provisioning/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a TLS backend is compiled in");
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base,
                session: Mutex::new(None),
                credentials,
                in_flight: Semaphore::new(1),
                observer: None,
            }),
        })
    }

    /// Tells `observer` about every request: its operation, duration and outcome.
    pub fn with_observer(self, observer: impl RequestObserver) -> Self {
        let inner = Arc::into_inner(self.inner).expect("with_observer is called before the client is shared");
        Self {
            inner: Arc::new(Inner {
                observer: Some(Arc::new(observer)),
                ..inner
            }),
        }
    }

    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// A link into GoAlert's web UI, for example `services/<id>`.
    pub fn ui_url(&self, path: &str) -> String {
        self.inner.base.join(path).map(String::from).unwrap_or_default()
    }

    /// Runs one typed operation.
    pub async fn run<Q: GraphQLQuery>(&self, variables: Q::Variables) -> Result<Q::ResponseData>
    where
        Q::Variables: Serialize,
    {
        let body = Q::build_query(variables);
        let operation = body.operation_name;
        let data = self.post(&body).await?;
        serde_json::from_value(data).map_err(|e| Error::Decode {
            operation,
            detail: e.to_string(),
        })
    }

    /// Logs in with the username and password and returns the session token.
    pub async fn login(&self) -> Result<Secret> {
        let Credentials::Login { username, password } = &self.inner.credentials else {
            return Err(Error::Unauthorized {
                detail: "these credentials cannot log in".into(),
            });
        };
        let url = self.endpoint(LOGIN_PATH);
        for attempt in 1..=MAX_ATTEMPTS {
            let response = self
                .inner
                .http
                .post(url.clone())
                // GoAlert checks the Referer of a login against its public URL.
                .header(reqwest::header::REFERER, self.inner.base.as_str())
                .form(&[("username", username.as_str()), ("password", password.expose())])
                .send()
                .await
                .map_err(|e| self.unreachable(&e))?;
            let status = response.status().as_u16();
            let retry_after = retry_after(&response);
            let body = response.text().await.map_err(|e| self.unreachable(&e))?;
            match status {
                200 => return Ok(Secret::new(body.trim())),
                408 | 429 if attempt < MAX_ATTEMPTS => backoff(attempt, retry_after).await,
                408 | 429 => return Err(Error::Busy { status, retry_after }),
                400 | 401 | 403 => {
                    return Err(Error::Unauthorized {
                        detail: first_line(&body),
                    });
                }
                _ => {
                    return Err(Error::Http {
                        operation: "login",
                        status,
                        body: first_line(&body),
                    });
                }
            }
        }
        unreachable!("the last attempt returns")
    }

    async fn post<V: Serialize>(&self, body: &QueryBody<V>) -> Result<Value> {
        let _permit = self
            .inner
            .in_flight
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let started = std::time::Instant::now();
        let result = self.post_with_retries(body).await;
        if let Some(observer) = &self.inner.observer {
            observer.observe(body.operation_name, started.elapsed(), result.as_ref().err());
        }
        result
    }

    async fn post_with_retries<V: Serialize>(&self, body: &QueryBody<V>) -> Result<Value> {
        let operation = body.operation_name;
        let url = self.endpoint(GRAPHQL_PATH);
        let mut logged_in_again = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let token = self.token().await?;
            let response = self
                .inner
                .http
                .post(url.clone())
                .bearer_auth(token.expose())
                .json(body)
                .send()
                .await
                .map_err(|e| self.unreachable(&e))?;
            let status = response.status().as_u16();
            let retry_after = retry_after(&response);
            let text = response.text().await.map_err(|e| self.unreachable(&e))?;
            match status {
                // 422 carries GraphQL validation errors in the same shape as 200.
                200 | 422 => return parse_response(operation, status, &text),
                401 if self.can_log_in() && !logged_in_again => {
                    logged_in_again = true;
                    *self.inner.session.lock().await = None;
                }
                401 | 403 => {
                    return Err(Error::Unauthorized {
                        detail: first_line(&text),
                    });
                }
                408 | 429 if attempt < MAX_ATTEMPTS => backoff(attempt, retry_after).await,
                408 | 429 => return Err(Error::Busy { status, retry_after }),
                _ => {
                    return Err(Error::Http {
                        operation,
                        status,
                        body: first_line(&text),
                    });
                }
            }
        }
    }

    fn can_log_in(&self) -> bool {
        matches!(self.inner.credentials, Credentials::Login { .. })
    }

    async fn token(&self) -> Result<Secret> {
        match &self.inner.credentials {
            Credentials::ApiKey(key) | Credentials::Session(key) => Ok(key.clone()),
            Credentials::Login { .. } => {
                let mut session = self.inner.session.lock().await;
                if let Some(token) = session.as_ref() {
                    return Ok(token.clone());
                }
                let token = self.login().await?;
                *session = Some(token.clone());
                Ok(token)
            }
        }
    }

    fn endpoint(&self, path: &str) -> Url {
        self.inner
            .base
            .join(path)
            .expect("endpoint paths are valid relative URLs")
    }

    fn unreachable(&self, error: &reqwest::Error) -> Error {
        // reqwest's Display hides the cause (connection refused, DNS, TLS); the chain has it.
        let mut detail = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            detail = format!("{detail}: {cause}");
            source = cause.source();
        }
        Error::Unreachable {
            url: self.inner.base.to_string(),
            detail,
        }
    }
}

fn parse_response(operation: &'static str, status: u16, text: &str) -> Result<Value> {
    let response: Response = serde_json::from_str(text).map_err(|_| Error::Http {
        operation,
        status,
        body: first_line(text),
    })?;
    if let Some(error) = response.errors.into_iter().next() {
        return Err(classify(operation, error));
    }
    response.data.ok_or_else(|| Error::Decode {
        operation,
        detail: "no data and no errors".into(),
    })
}

fn classify(operation: &'static str, error: GraphQlError) -> Error {
    let GraphQlError { message, extensions } = error;
    if extensions.code.as_deref() == Some("invalid_query") {
        return Error::ApiKeyDocumentMismatch;
    }
    let fields = if extensions.is_multi_field_error {
        extensions
            .field_errors
            .into_iter()
            .map(|f| FieldError {
                field: f.field_name,
                message: f.message,
            })
            .collect()
    } else if let (true, Some(field)) = (extensions.is_field_error, extensions.field_name) {
        vec![FieldError {
            field,
            message: message.clone(),
        }]
    } else {
        Vec::new()
    };
    let lower = message.to_lowercase();
    if lower.contains("already exists") || lower.contains("already in use") || lower.contains("duplicate") {
        return Error::AlreadyExists {
            field: fields.into_iter().next().map(|f| f.field),
            message,
        };
    }
    // GoAlert's answer to deleting what a foreign key still points at (an escalation policy a
    // service uses): a field error "is currently in use" on the referring field.
    if lower.contains("currently in use") {
        return Error::InUse { message };
    }
    if !fields.is_empty() {
        return Error::Invalid { fields, message };
    }
    // app/inithttp.go: "Request canceled: external call limit reached for this request".
    if lower.contains("external call limit reached") {
        return Error::TooCostly { operation, message };
    }
    Error::GraphQl { operation, message }
}

fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let seconds = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds))
}

async fn backoff(attempt: u32, retry_after: Option<Duration>) {
    let exponential = Duration::from_millis(250 * 2u64.pow(attempt));
    tokio::time::sleep(retry_after.unwrap_or(exponential).min(Duration::from_secs(10))).await;
}

/// GoAlert's error bodies are short text; keep the first line and bound its length.
fn first_line(body: &str) -> String {
    body.lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(300)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(json: Value) -> Error {
        parse_response("Op", 200, &json.to_string()).unwrap_err()
    }

    #[test]
    fn wrong_document_is_its_own_error() {
        let err = error(serde_json::json!({
            "errors": [{"message": "wrong query for API key", "extensions": {"code": "invalid_query"}}],
            "data": null
        }));
        assert!(matches!(err, Error::ApiKeyDocumentMismatch));
        assert!(err.to_string().contains("print-api-key-query"));
    }

    #[test]
    fn a_request_goalert_cancels_for_its_cost_is_its_own_error() {
        let err = error(serde_json::json!({
            "errors": [{"message": "Request canceled: external call limit reached for this request. Total calls: 101"}],
            "data": null
        }));
        assert!(matches!(err, Error::TooCostly { operation: "Op", .. }), "{err:?}");
    }

    #[test]
    fn field_errors_keep_the_field() {
        let err = error(serde_json::json!({
            "errors": [{"message": "must begin with a letter", "extensions": {"isFieldError": true, "fieldName": "Name"}}]
        }));
        let Error::Invalid { fields, .. } = err else {
            panic!("expected Invalid")
        };
        assert_eq!(
            fields,
            vec![FieldError {
                field: "Name".into(),
                message: "must begin with a letter".into()
            }]
        );
    }

    #[test]
    fn multi_field_errors_keep_every_field() {
        let err = error(serde_json::json!({
            "errors": [{"message": "multiple errors", "extensions": {"isMultiFieldError": true,
                "fieldErrors": [{"fieldName": "a", "message": "bad a"}, {"fieldName": "b", "message": "bad b"}]}}]
        }));
        assert_eq!(err.to_string(), "GoAlert rejected the input: a: bad a; b: bad b");
    }

    #[test]
    fn name_taken_is_already_exists() {
        let err = error(serde_json::json!({
            "errors": [{"message": "Name already in use", "extensions": {"isFieldError": true, "fieldName": "Name"}}]
        }));
        assert!(matches!(err, Error::AlreadyExists { field: Some(ref f), .. } if f == "Name"));
    }

    #[test]
    fn deleting_what_is_still_used_is_in_use() {
        // GoAlert v0.34.1's answer to deleteAll for an escalation policy a service uses.
        let err = error(serde_json::json!({
            "errors": [{"message": "is currently in use", "extensions": {"fieldName": "EscalationPolicyID", "isFieldError": true}}],
            "data": null
        }));
        assert!(matches!(err, Error::InUse { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "GoAlert refuses to delete it: it is currently in use"
        );
    }

    #[test]
    fn non_json_body_is_an_http_error() {
        let err = parse_response("Op", 422, "boom\nmore").unwrap_err();
        assert!(matches!(err, Error::Http { status: 422, ref body, .. } if body == "boom"));
    }

    #[test]
    fn base_url_gets_a_trailing_slash() {
        let client = GoAlert::new(
            "http://goalert.test/prefix",
            Credentials::ApiKey(Secret::new("k")),
        )
        .unwrap();
        assert_eq!(
            client.endpoint(GRAPHQL_PATH).as_str(),
            "http://goalert.test/prefix/api/graphql"
        );
        assert_eq!(
            client.ui_url("services/abc"),
            "http://goalert.test/prefix/services/abc"
        );
    }
}
