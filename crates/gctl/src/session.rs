//! A logged-in GoAlert session for one context: logging in and out, keeping the token fresh, and
//! turning "401" into "log in again".

use std::time::Duration;

use graphql_client::GraphQLQuery;
use serde::Serialize;
use url::Url;

use super::{
    config::{Config, Store},
    error::{Error, Result},
};
use goalert_client::{self as goalert, Credentials, GoAlert, Secret};

/// GoAlert's session cookie. Sent as a cookie (not a Bearer token), a session signed with an
/// older key comes back re-signed in `Set-Cookie`; that is how a stored session stays valid
/// beyond the 30 days GoAlert keeps old signing keys.
const SESSION_COOKIE: &str = "goalert_session.2";
/// How often gctl asks GoAlert to re-sign its session (the signing key rotates daily).
const REFRESH_AFTER: Duration = Duration::from_secs(12 * 60 * 60);
const LOGOUT_PATH: &str = "api/v2/identity/logout";
const GRAPHQL_PATH: &str = "api/graphql";

pub struct Session {
    client: GoAlert,
    token: Secret,
    pub context: String,
    pub url: Url,
}

/// Parses a GoAlert URL and refuses plain http except to this machine.
pub fn parse_url(raw: &str) -> Result<Url> {
    let url = Url::parse(raw).map_err(|e| Error::Usage(format!("invalid URL {raw:?}: {e}")))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(Error::InsecureUrl { url: raw.to_owned() }),
        other => Err(Error::Usage(format!(
            "unsupported URL scheme {other:?}: use https"
        ))),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Logs in with a username and password and returns the new session token.
pub async fn login(url: &Url, username: &str, password: Secret) -> Result<Secret> {
    let client = GoAlert::new(
        url.as_str(),
        Credentials::Login {
            username: username.to_owned(),
            password,
        },
    )
    .map_err(|e| Error::Usage(format!("invalid URL {url}: {e}")))?;
    client.login().await.map_err(|e| match e {
        goalert::Error::Unauthorized { detail } => Error::LoginRefused {
            url: url.to_string(),
            detail,
        },
        other => Error::GoAlert(other),
    })
}

impl Session {
    /// The session of `requested` (or the current context), refreshed if it is due.
    pub async fn open(store: &Store, config: &Config, requested: Option<&str>) -> Result<Self> {
        let name = requested
            .or(config.current_context.as_deref())
            .ok_or(Error::NotLoggedIn { context: None })?;
        let context = config.contexts.get(name).ok_or_else(|| Error::NotFound {
            what: format!("context {name:?} (see `gctl context list`)"),
        })?;
        let token = store.token(name)?.ok_or_else(|| Error::NotLoggedIn {
            context: Some(name.to_owned()),
        })?;
        let url = Url::parse(&context.url).map_err(|e| Error::ConfigSyntax {
            path: store.token_path(name),
            detail: format!("context {name:?} has an invalid URL: {e}"),
        })?;
        let mut session = Self::new(name, url, token)?;
        if store.token_age(name).is_some_and(|age| age > REFRESH_AFTER) {
            session.refresh(store).await?;
        }
        Ok(session)
    }

    pub fn new(context: &str, url: Url, token: Secret) -> Result<Self> {
        let client = GoAlert::new(url.as_str(), Credentials::Session(token.clone()))
            .map_err(|e| Error::Usage(format!("invalid URL {url}: {e}")))?;
        Ok(Self {
            client,
            token,
            context: context.to_owned(),
            url,
        })
    }

    /// Runs one typed operation; an ended session becomes [`Error::SessionExpired`].
    pub async fn run<Q: GraphQLQuery>(&self, variables: Q::Variables) -> Result<Q::ResponseData>
    where
        Q::Variables: Serialize,
    {
        self.client.run::<Q>(variables).await.map_err(|e| self.explain(e))
    }

    /// A link into GoAlert's web UI.
    pub fn ui_url(&self, path: &str) -> String {
        self.client.ui_url(path)
    }

    /// Ends the session in GoAlert, so the token is useless even if a copy survives somewhere.
    pub async fn logout(&self) -> Result<()> {
        let response = http()
            .post(self.endpoint(LOGOUT_PATH))
            .bearer_auth(self.token.expose())
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        match response.status().as_u16() {
            200..=299 => Ok(()),
            status => Err(Error::GoAlert(goalert::Error::Http {
                operation: "logout",
                status,
                body: response.text().await.unwrap_or_default(),
            })),
        }
    }

    /// Asks GoAlert whether the session is still good, presenting it as a cookie so GoAlert
    /// re-signs it when its signing key has rotated, and stores whatever comes back.
    async fn refresh(&mut self, store: &Store) -> Result<()> {
        let response = http()
            .post(self.endpoint(GRAPHQL_PATH))
            .header(
                reqwest::header::COOKIE,
                format!("{SESSION_COOKIE}={}", self.token.expose()),
            )
            .json(&serde_json::json!({ "query": "{ user { id } }" }))
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        if response.status() == reqwest::StatusCode::UNAUTHORIZED {
            return Err(self.expired());
        }
        let renewed = response
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find_map(renewed_session);
        match renewed {
            Some(token) => {
                store.save_token(&self.context, &token)?;
                *self = Self::new(&self.context.clone(), self.url.clone(), token)?;
                Ok(())
            }
            None => store.touch_token(&self.context),
        }
    }

    fn endpoint(&self, path: &str) -> Url {
        let mut base = self.url.clone();
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        base.join(path).expect("endpoint paths are valid relative URLs")
    }

    fn explain(&self, error: goalert::Error) -> Error {
        match error {
            goalert::Error::Unauthorized { .. } => self.expired(),
            other => Error::GoAlert(other),
        }
    }

    fn expired(&self) -> Error {
        Error::SessionExpired {
            context: self.context.clone(),
            url: self.url.to_string(),
        }
    }

    fn unreachable(&self, error: reqwest::Error) -> Error {
        Error::GoAlert(goalert::Error::Unreachable {
            url: self.url.to_string(),
            detail: error.to_string(),
        })
    }
}

fn http() -> reqwest::Client {
    goalert_client::tls::ensure_crypto_provider();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("gctl/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("a TLS backend is compiled in")
}

/// The new token in a `Set-Cookie` header, if GoAlert re-signed the session (an empty value
/// clears the cookie and is not a token).
fn renewed_session(set_cookie: &str) -> Option<Secret> {
    let (name, rest) = set_cookie.split_once('=')?;
    let value = rest.split(';').next()?.trim();
    (name.trim() == SESSION_COOKIE && !value.is_empty()).then(|| Secret::new(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_only_for_this_machine() {
        assert!(parse_url("https://goalert.example.com").is_ok());
        assert!(parse_url("http://localhost:8081").is_ok());
        assert!(parse_url("http://127.0.0.1:8081").is_ok());
        assert!(parse_url("http://[::1]:8081").is_ok());
        assert!(matches!(
            parse_url("http://goalert.example.com"),
            Err(Error::InsecureUrl { .. })
        ));
        assert!(matches!(parse_url("ftp://x"), Err(Error::Usage(_))));
    }

    #[test]
    fn only_a_non_empty_session_cookie_is_a_renewed_token() {
        let renewed = renewed_session("goalert_session.2=Unew; Path=/; HttpOnly").unwrap();
        assert_eq!(renewed.expose(), "Unew");
        assert!(renewed_session("goalert_session.2=; Path=/; Max-Age=0").is_none());
        assert!(renewed_session("other=Ux; Path=/").is_none());
    }
}
