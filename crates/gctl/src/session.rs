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

const LOGIN_PATH: &str = "api/v2/identity/providers/basic?noRedirect=1";

/// Logs in with a username and password and returns the new session token.
///
/// GoAlert accepts a login only when its Referer matches GoAlert's public URL; otherwise it
/// answers with a redirect to `<public URL>?login_error=invalid+referer`. gctl does not follow
/// redirects here, so it can say which URL to use instead.
pub async fn login(url: &Url, username: &str, password: Secret) -> Result<Secret> {
    let response = http_without_redirects()
        .post(endpoint(url, LOGIN_PATH))
        .header(reqwest::header::REFERER, base(url).as_str())
        .form(&[("username", username), ("password", password.expose())])
        .send()
        .await
        .map_err(|e| unreachable(url, e))?;
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .map(str::to_owned);
    let body = response.text().await.map_err(|e| unreachable(url, e))?;
    match status {
        200 => Ok(Secret::new(body.trim())),
        400 | 401 | 403 => Err(Error::LoginRefused {
            url: url.to_string(),
            detail: body.lines().next().unwrap_or_default().trim().to_owned(),
        }),
        429 | 408 => Err(Error::GoAlert(goalert::Error::Busy {
            status,
            retry_after: None,
        })),
        300..=399 => Err(Error::WrongUrl {
            url: url.to_string(),
            hint: wrong_url_hint(url, location.as_deref()),
        }),
        404 | 405 => Err(Error::WrongUrl {
            url: url.to_string(),
            hint: format!(
                "GoAlert answered HTTP {status}, so this is not GoAlert's base URL (a page of its web \
                 UI, or a path under it?); try `gctl login --url {}`",
                origin(url)
            ),
        }),
        _ => Err(Error::GoAlert(goalert::Error::Http {
            operation: "login",
            status,
            body: body.lines().next().unwrap_or_default().to_owned(),
        })),
    }
}

/// What to say when GoAlert redirects a login: its referer check names the public URL.
fn wrong_url_hint(url: &Url, location: Option<&str>) -> String {
    let public = location
        .and_then(|l| url.join(l).ok())
        .filter(|l| l.query_pairs().any(|(k, _)| k == "login_error"))
        .map(|mut l| {
            l.set_query(None);
            l
        });
    match public {
        Some(public) => format!(
            "GoAlert accepts logins only through its public URL, {public} (its referer check \
             rejected {url}); run `gctl login --url {public}`, or, through a port-forward, keep \
             the forward and ask an admin to add its URL to Auth.RefererURLs"
        ),
        None => format!(
            "GoAlert redirected the login to {}; log in with GoAlert's own base URL",
            location.unwrap_or("another page")
        ),
    }
}

/// `https://host:port/` of a URL.
fn origin(url: &Url) -> String {
    let mut origin = url.clone();
    origin.set_path("/");
    origin.set_query(None);
    origin.set_fragment(None);
    origin.to_string()
}

fn base(url: &Url) -> Url {
    let mut base = url.clone();
    base.set_query(None);
    base.set_fragment(None);
    if !base.path().ends_with('/') {
        base.set_path(&format!("{}/", base.path()));
    }
    base
}

fn endpoint(url: &Url, path: &str) -> Url {
    base(url)
        .join(path)
        .expect("endpoint paths are valid relative URLs")
}

fn unreachable(url: &Url, error: reqwest::Error) -> Error {
    let mut detail = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        detail = format!("{detail}: {cause}");
        source = cause.source();
    }
    Error::GoAlert(goalert::Error::Unreachable {
        url: url.to_string(),
        detail,
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

    /// Sends a GraphQL document as it is and returns GoAlert's whole answer (`data` and
    /// `errors`), as `gctl api` prints it.
    pub async fn graphql(
        &self,
        query: &str,
        variables: Option<serde_json::Value>,
    ) -> Result<serde_json::Value> {
        let mut body = serde_json::json!({ "query": query });
        if let Some(variables) = variables {
            body["variables"] = variables;
        }
        self.send(body).await
    }

    /// [`Self::graphql`] for one named operation of a document with several.
    pub async fn graphql_operation(
        &self,
        query: &str,
        variables: Option<serde_json::Value>,
        operation: &str,
    ) -> Result<serde_json::Value> {
        let mut body = serde_json::json!({ "query": query, "operationName": operation });
        if let Some(variables) = variables {
            body["variables"] = variables;
        }
        self.send(body).await
    }

    async fn send(&self, body: serde_json::Value) -> Result<serde_json::Value> {
        let response = http()
            .post(self.endpoint(GRAPHQL_PATH))
            .bearer_auth(self.token.expose())
            .json(&body)
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(|e| self.unreachable(e))?;
        match status {
            200 | 422 => serde_json::from_str(&text).map_err(|e| {
                Error::GoAlert(goalert::Error::Decode {
                    operation: "graphql",
                    detail: e.to_string(),
                })
            }),
            401 => Err(self.expired()),
            408 | 429 => Err(Error::GoAlert(goalert::Error::Busy {
                status,
                retry_after: None,
            })),
            _ => Err(Error::GoAlert(goalert::Error::Http {
                operation: "graphql",
                status,
                body: text.lines().next().unwrap_or_default().to_owned(),
            })),
        }
    }

    /// Like [`Self::graphql`], but GoAlert's first error is an error and only `data` is returned.
    pub async fn graphql_data(
        &self,
        query: &str,
        variables: Option<serde_json::Value>,
    ) -> Result<serde_json::Value> {
        let mut answer = self.graphql(query, variables).await?;
        if let Some(error) = answer["errors"].get(0) {
            return Err(Error::GoAlert(goalert::Error::GraphQl {
                operation: "graphql",
                message: error["message"].as_str().unwrap_or("unknown error").to_owned(),
            }));
        }
        Ok(answer["data"].take())
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
        endpoint(&self.url, path)
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
        unreachable(&self.url, error)
    }
}

fn http() -> reqwest::Client {
    client(reqwest::Client::builder())
}

fn http_without_redirects() -> reqwest::Client {
    client(reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()))
}

fn client(builder: reqwest::ClientBuilder) -> reqwest::Client {
    goalert_client::tls::ensure_crypto_provider();
    builder
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
    fn a_referer_redirect_names_the_public_url_to_log_in_with() {
        let forwarded = Url::parse("http://localhost:8080").unwrap();
        let hint = wrong_url_hint(
            &forwarded,
            Some("http://goalert.example.com/?login_error=invalid+referer"),
        );
        assert!(
            hint.contains("gctl login --url http://goalert.example.com/"),
            "{hint}"
        );
        let pasted = Url::parse("https://goalert.example.com/alerts/42?x=1").unwrap();
        assert_eq!(origin(&pasted), "https://goalert.example.com/");
        assert_eq!(
            endpoint(&pasted, "api/graphql").as_str(),
            "https://goalert.example.com/alerts/42/api/graphql"
        );
    }

    #[test]
    fn only_a_non_empty_session_cookie_is_a_renewed_token() {
        let renewed = renewed_session("goalert_session.2=Unew; Path=/; HttpOnly").unwrap();
        assert_eq!(renewed.expose(), "Unew");
        assert!(renewed_session("goalert_session.2=; Path=/; Max-Age=0").is_none());
        assert!(renewed_session("other=Ux; Path=/").is_none());
    }
}
