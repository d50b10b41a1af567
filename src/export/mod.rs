//! `goalert-provisioning export`: an existing GoAlert as custom resources, ready to commit.
//!
//! `read` takes a snapshot of GoAlert with an administrator's session, `manifests` turns it into
//! typed custom resources (pure, so unit-tested without GoAlert) with one builder per kind in
//! `specs`, `references` says how they refer to each other and `names` gives them stable
//! Kubernetes names. Applying the output to the same GoAlert adopts everything and changes
//! nothing; applying it to an empty one recreates the same setup.

mod manifests;
mod names;
mod read;
mod references;
mod specs;

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

/// How an export is cut into files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SplitBy {
    /// One file per kind (users.yaml, rotations.yaml, ...), in a directory.
    Kind,
}

/// The file in a split export that lists what was left out: not YAML, so `kubectl apply -f dir/`
/// skips it.
pub const NOT_EXPORTED_FILE: &str = "NOT-EXPORTED.txt";

impl Manifests {
    /// Multi-document YAML, kinds in dependency order; the warnings come first, as comments, so
    /// a reviewer of the committed file sees what is not in it.
    pub fn to_yaml(&self, source: &str) -> String {
        let mut out = header(
            "users, rotations, schedules, escalation policies and services",
            source,
        );
        for warning in &self.warnings {
            out.push_str(&format!("# Not exported: {}\n", warning.replace('\n', " ")));
        }
        for (_, documents) in self.by_kind() {
            out.push_str(&documents);
        }
        out
    }

    /// One file per kind, named after it, plus [`NOT_EXPORTED_FILE`] when something was left
    /// out; kinds without objects get no file. Names and order are the same on every export.
    pub fn to_files(&self, split: SplitBy, source: &str) -> Vec<(String, String)> {
        let SplitBy::Kind = split;
        let mut files: Vec<(String, String)> = self
            .by_kind()
            .into_iter()
            .filter(|(_, documents)| !documents.is_empty())
            .map(|(kind, documents)| {
                let noun = kind.trim_end_matches(".yaml").replace('-', " ");
                (kind.to_owned(), header(&noun, source) + &documents)
            })
            .collect();
        if !self.warnings.is_empty() {
            let mut text = String::from("Not exported (left as it is in GoAlert):\n");
            for warning in &self.warnings {
                text.push_str(&format!("- {}\n", warning.replace('\n', " ")));
            }
            files.push((NOT_EXPORTED_FILE.to_owned(), text));
        }
        files
    }

    /// Each kind's file name and documents (each starting with `---`), in dependency order.
    fn by_kind(&self) -> [(&'static str, String); 5] {
        fn documents<K: serde::Serialize>(objects: &[K]) -> String {
            objects
                .iter()
                .map(|object| {
                    let yaml = serde_yaml::to_string(object).expect("custom resources serialize to YAML");
                    format!("---\n{yaml}")
                })
                .collect()
        }
        [
            ("users.yaml", documents(&self.users)),
            ("rotations.yaml", documents(&self.rotations)),
            ("schedules.yaml", documents(&self.schedules)),
            ("escalation-policies.yaml", documents(&self.policies)),
            ("services.yaml", documents(&self.services)),
        ]
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

fn header(what: &str, source: &str) -> String {
    format!(
        "# GoAlert {what}, exported from\n# {source} by goalert-provisioning {}.\n",
        env!("CARGO_PKG_VERSION")
    )
}

/// Writes each file into `dir` (created if missing), only once the whole export succeeded.
pub fn write_files(dir: &Path, files: &[(String, String)]) -> Result<(), Error> {
    let failed = |target: &Path| {
        let target = target.display().to_string();
        move |source| Error::Write { target, source }
    };
    std::fs::create_dir_all(dir).map_err(failed(dir))?;
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(failed(&path))?;
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{GoAlertRotation, GoAlertUser, rotation::GoAlertRotationSpec, user::GoAlertUserSpec};

    #[test]
    fn split_by_kind_gives_one_file_per_kind_in_dependency_order() {
        let user: GoAlertUserSpec =
            serde_json::from_value(serde_json::json!({ "email": "a@example.com" })).unwrap();
        let rotation: GoAlertRotationSpec = serde_json::from_value(serde_json::json!({
            "timeZone": "Etc/UTC", "type": "Daily", "start": "2026-01-05T09:00:00Z"
        }))
        .unwrap();
        let manifests = Manifests {
            users: vec![GoAlertUser::new("a", user.clone()), GoAlertUser::new("b", user)],
            rotations: vec![GoAlertRotation::new("r", rotation)],
            warnings: vec!["user \"x\" is not exported".into()],
            ..Manifests::default()
        };
        let files = manifests.to_files(SplitBy::Kind, "http://goalert.test/");
        let names: Vec<_> = files.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["users.yaml", "rotations.yaml", NOT_EXPORTED_FILE]);
        assert_eq!(files[0].1.matches("kind: GoAlertUser").count(), 2);
        assert!(files[0].1.starts_with("# GoAlert users, exported from"));
        assert!(files[2].1.contains("- user \"x\" is not exported"));
        let whole = manifests.to_yaml("http://goalert.test/");
        let joined: String = files[..2]
            .iter()
            .map(|(_, text)| text.split_once("---\n").unwrap().1)
            .collect::<Vec<_>>()
            .join("---\n");
        assert!(whole.ends_with(&joined), "the same documents as the single file");
    }
}
