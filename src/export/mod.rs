//! `goalert-provisioning export`: an existing GoAlert as custom resources, ready to commit.
//!
//! `read` takes a snapshot of GoAlert with an administrator's session, `manifests` turns it into
//! typed custom resources (pure, so unit-tested without GoAlert), `names` gives them stable
//! Kubernetes names. Applying the output to the same GoAlert adopts everything and changes
//! nothing; applying it to an empty one recreates the same setup.

mod manifests;
mod names;
mod read;

use std::{io::Write, path::Path};

pub use manifests::Manifests;

use goalert_client::GoAlert;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    GoAlert(#[from] goalert_client::Error),

    #[error(
        "export reads every user's contact methods and identities, which only a GoAlert administrator \
         may: {name:?} is not one; log in with an administrator's username and password"
    )]
    NotAdministrator { name: String },

    #[error("cannot write the manifests to {target}: {source}")]
    Write {
        target: String,
        #[source]
        source: std::io::Error,
    },
}

/// Reads everything in GoAlert and builds its manifests; `namespace` goes into each object's
/// metadata when given.
pub async fn export(goalert: &GoAlert, namespace: Option<&str>) -> Result<Manifests, Error> {
    let snapshot = read::snapshot(goalert).await?;
    Ok(manifests::build(&snapshot, namespace))
}

impl Manifests {
    /// Multi-document YAML, kinds in dependency order; the warnings come first, as comments, so
    /// a reviewer of the committed file sees what is not in it.
    pub fn to_yaml(&self, source: &str) -> String {
        let mut out = format!(
            "# GoAlert users, rotations, schedules, escalation policies and services, exported from\n\
             # {source} by goalert-provisioning {}.\n",
            env!("CARGO_PKG_VERSION")
        );
        for warning in &self.warnings {
            out.push_str(&format!("# Not exported: {}\n", warning.replace('\n', " ")));
        }
        let documents = (self.users.iter().map(serde_yaml::to_string))
            .chain(self.rotations.iter().map(serde_yaml::to_string))
            .chain(self.schedules.iter().map(serde_yaml::to_string))
            .chain(self.policies.iter().map(serde_yaml::to_string))
            .chain(self.services.iter().map(serde_yaml::to_string));
        for document in documents {
            out.push_str("---\n");
            out.push_str(&document.expect("custom resources serialize to YAML"));
        }
        out
    }

    /// One line for people: how many objects of each kind, and how many warnings.
    pub fn summary(&self) -> String {
        format!(
            "{} users, {} rotations, {} schedules, {} escalation policies, {} services; {} warnings",
            self.users.len(),
            self.rotations.len(),
            self.schedules.len(),
            self.policies.len(),
            self.services.len(),
            self.warnings.len()
        )
    }
}

/// Writes `yaml` to `path`, or to stdout without one. The file is written only once the whole
/// export succeeded, so a failed export never leaves a partial file behind.
pub fn write(path: Option<&Path>, yaml: &str) -> Result<(), Error> {
    match path {
        Some(path) => std::fs::write(path, yaml).map_err(|source| Error::Write {
            target: path.display().to_string(),
            source,
        }),
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(yaml.as_bytes())
                .and_then(|()| stdout.flush())
                .map_err(|source| Error::Write {
                    target: "stdout".into(),
                    source,
                })
        }
    }
}
