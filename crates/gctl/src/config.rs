//! Named contexts (one per GoAlert instance) and their session tokens on disk.
//!
//! `config.yaml` holds only what is safe to show (URLs, usernames, the current context); each
//! session token lives in its own file under `sessions/`, readable by the owner only (0600), so
//! the configuration can be printed or shared without leaking a login.

use std::{
    collections::BTreeMap,
    fs,
    io::Write,
    path::{Path, PathBuf},
    time::{Duration, SystemTime},
};

use serde::{Deserialize, Serialize};

use super::error::{Error, Result};
use goalert_client::Secret;

const CONFIG_FILE: &str = "config.yaml";
const SESSIONS_DIR: &str = "sessions";

/// One GoAlert instance gctl knows about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Context {
    pub url: String,
    pub username: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Config {
    pub current_context: Option<String>,
    #[serde(default)]
    pub contexts: BTreeMap<String, Context>,
}

/// gctl's configuration directory and what is in it.
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// `$GCTL_CONFIG`, else `$XDG_CONFIG_HOME/gctl`, else `~/.config/gctl`.
    pub fn locate() -> Result<Self> {
        let var = |name| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let dir = var("GCTL_CONFIG")
            .or_else(|| var("XDG_CONFIG_HOME").map(|d| d.join("gctl")))
            .or_else(|| var("HOME").map(|h| h.join(".config").join("gctl")))
            .ok_or_else(|| {
                Error::Usage("cannot find a configuration directory: set GCTL_CONFIG or HOME".into())
            })?;
        Ok(Self { dir })
    }

    pub fn at(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn load(&self) -> Result<Config> {
        let path = self.dir.join(CONFIG_FILE);
        match fs::read_to_string(&path) {
            Ok(text) => serde_yaml::from_str(&text).map_err(|e| Error::ConfigSyntax {
                path,
                detail: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(source) => Err(Error::Config { path, source }),
        }
    }

    pub fn save(&self, config: &Config) -> Result<()> {
        let text = serde_yaml::to_string(config).expect("the configuration serializes");
        self.write_private(&self.dir.join(CONFIG_FILE), &text)
    }

    pub fn token_path(&self, context: &str) -> PathBuf {
        self.dir.join(SESSIONS_DIR).join(format!("{context}.token"))
    }

    /// The stored session token of `context`, if it has one.
    pub fn token(&self, context: &str) -> Result<Option<Secret>> {
        let path = self.token_path(context);
        match fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text.trim()).filter(|t| !t.is_empty()).map(Secret::new)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::Config { path, source }),
        }
    }

    pub fn save_token(&self, context: &str, token: &Secret) -> Result<()> {
        self.write_private(&self.token_path(context), token.expose())
    }

    pub fn delete_token(&self, context: &str) -> Result<()> {
        let path = self.token_path(context);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::Config { path, source: e }),
            _ => Ok(()),
        }
    }

    /// How long ago the token of `context` was written or last confirmed fresh.
    pub fn token_age(&self, context: &str) -> Option<Duration> {
        let modified = fs::metadata(self.token_path(context)).ok()?.modified().ok()?;
        SystemTime::now().duration_since(modified).ok()
    }

    /// Marks the token as freshly confirmed without changing it.
    pub fn touch_token(&self, context: &str) -> Result<()> {
        let path = self.token_path(context);
        fs::File::options()
            .append(true)
            .open(&path)
            .and_then(|file| file.set_modified(SystemTime::now()))
            .map_err(|source| Error::Config { path, source })
    }

    /// Writes a file only its owner can read, in a directory only its owner can enter. The file
    /// is created with mode 0600 from the start (never briefly world-readable) and replaced
    /// atomically so a crash never leaves half a token.
    fn write_private(&self, path: &Path, contents: &str) -> Result<()> {
        let io = |source| Error::Config {
            path: path.to_owned(),
            source,
        };
        let parent = path.parent().expect("config paths have a parent");
        create_private_dir(parent).map_err(io)?;
        let temporary = path.with_extension("tmp");
        let mut options = fs::File::options();
        options.write(true).create(true).truncate(true);
        restrict_to_owner(&mut options);
        let mut file = options.open(&temporary).map_err(io)?;
        file.write_all(contents.as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
        fs::rename(&temporary, path).map_err(io)
    }
}

#[cfg(unix)]
fn restrict_to_owner(options: &mut fs::OpenOptions) {
    use std::os::unix::fs::OpenOptionsExt;
    options.mode(0o600);
}

#[cfg(not(unix))]
fn restrict_to_owner(_: &mut fs::OpenOptions) {}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dir)
}

/// Context names become file names, so they are limited to a safe alphabet.
pub fn validate_context_name(name: &str) -> Result<()> {
    let valid = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "invalid context name {name:?}: use letters, digits, '-', '_' and '.'"
        )))
    }
}

/// The context name `gctl login` picks when none is given: the URL's host (and port).
pub fn default_context_name(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or("goalert");
    match url.port() {
        Some(port) => format!("{host}-{port}"),
        None => host.to_owned(),
    }
    .chars()
    .map(|c| {
        if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
            c
        } else {
            '-'
        }
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_private_and_config_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(dir.path().join("gctl"));
        let mut config = Config::default();
        config.contexts.insert(
            "prod".into(),
            Context {
                url: "https://goalert.example.com".into(),
                username: "alice".into(),
            },
        );
        config.current_context = Some("prod".into());
        store.save(&config).unwrap();
        store.save_token("prod", &Secret::new("U-token")).unwrap();

        let loaded = store.load().unwrap();
        assert_eq!(loaded.current_context.as_deref(), Some("prod"));
        assert_eq!(loaded.contexts, config.contexts);
        assert_eq!(store.token("prod").unwrap().unwrap().expose(), "U-token");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(store.token_path("prod"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        store.delete_token("prod").unwrap();
        assert!(store.token("prod").unwrap().is_none());
    }

    #[test]
    fn context_names_are_safe_file_names() {
        assert!(validate_context_name("prod-eu.1").is_ok());
        assert!(validate_context_name("../etc").is_err());
        assert!(validate_context_name("").is_err());
        let url = url::Url::parse("http://127.0.0.1:8081").unwrap();
        assert_eq!(default_context_name(&url), "127.0.0.1-8081");
    }
}
