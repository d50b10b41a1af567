//! What the rest of the operator knows about a kind, said once per kind.
//!
//! Each kind's module implements [`Kind`] (and [`GoAlertKind`] when it stands for one GoAlert
//! object); [`kinds`] lists them. The controllers, the webhooks, the export and the tests that
//! hold the chart's lists to the truth all read from here, so adding a kind is one new module plus
//! one line in [`kinds`] (docs/development.md has the checklist).

use std::{borrow::Cow, sync::LazyLock};

use k8s_openapi::{
    NamespaceResourceScope, apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
};
use kube::{CustomResourceExt, Resource};

use super::{
    GoAlertAdmin, GoAlertEscalationPolicy, GoAlertRotation, GoAlertSchedule, GoAlertService, GoAlertUser,
    Management, ObjectRef, Status, UserRef, common::goalert_name,
};
use goalert_client::model::TargetType;

/// A kind of custom resource.
pub trait Kind: Resource<DynamicType = (), Scope = NamespaceResourceScope> + CustomResourceExt {
    /// What GoAlert calls objects of this kind, in messages ("escalation policy").
    const NOUN: &'static str;
    /// The spec field that names the GoAlert object (metadata.name when unset), for kinds whose
    /// GoAlert objects have names GoAlert keeps unique.
    const NAME_FIELD: Option<&'static str> = None;
    /// Whether the operator creates Secrets owned by resources of this kind. Their owner
    /// references block the owner's deletion, which needs `update` on the kind's `finalizers`.
    const OWNS_SECRETS: bool = false;

    /// The status every kind shares.
    fn common_status(&self) -> Option<&Status>;

    /// The value of [`Kind::NAME_FIELD`], when set.
    fn spec_name(&self) -> Option<&str> {
        None
    }

    /// Every reference the spec holds, with its field path: the one walk behind the controllers'
    /// dependency watches, the webhook's reference checks and its warnings on DELETE.
    fn references(&self) -> Vec<Reference> {
        Vec::new()
    }

    /// The name the object has (or will get) in GoAlert, for kinds with a [`Kind::NAME_FIELD`].
    fn goalert_name(&self) -> Option<String> {
        Self::NAME_FIELD?;
        self.spec_name().or(self.meta().name.as_deref()).map(goalert_name)
    }

    /// The GoAlert ID the operator recorded in status.
    fn goalert_id(&self) -> Option<&str> {
        self.common_status()?.goalert_id.as_deref()
    }
}

/// A kind that stands for one GoAlert object.
pub trait GoAlertKind: Kind {
    /// GoAlert's name for this type of object (for example in `deleteAll`).
    const TARGET: TargetType;
    /// Path of an object's page in GoAlert's UI, before its ID (for example `rotations`).
    const UI_PATH: &'static str;

    /// The spec's adoption, deletion, observe-only, drift, resync and suspend settings.
    fn management(&self) -> &Management;
}

/// Implements [`Kind::common_status`] the way every kind does: `status.common`.
macro_rules! common_status {
    () => {
        fn common_status(&self) -> Option<&crate::api::Status> {
            self.status.as_ref().map(|s| &s.common)
        }
    };
}
pub(crate) use common_status;

/// One kind, as the lists outside Rust see it.
#[derive(Debug, Clone)]
pub struct Description {
    /// For example `GoAlertRotation`.
    pub kind: String,
    /// For example `goalertrotations`.
    pub plural: String,
    pub noun: &'static str,
    /// [`Kind::NAME_FIELD`].
    pub name_field: Option<&'static str>,
    /// [`Kind::OWNS_SECRETS`].
    pub owns_secrets: bool,
    /// GoAlert's type and UI path, for kinds that stand for one GoAlert object.
    pub goalert: Option<(TargetType, &'static str)>,
    pub crd: CustomResourceDefinition,
}

fn describe<K: Kind>(goalert: Option<(TargetType, &'static str)>) -> Description {
    Description {
        kind: K::kind(&()).into_owned(),
        plural: K::plural(&()).into_owned(),
        noun: K::NOUN,
        name_field: K::NAME_FIELD,
        owns_secrets: K::OWNS_SECRETS,
        goalert,
        crd: K::crd(),
    }
}

fn object<K: GoAlertKind>() -> Description {
    describe::<K>(Some((K::TARGET, K::UI_PATH)))
}

/// Every kind, in dependency order (a kind only references kinds before it). Built once: the
/// webhooks read it on every review.
pub fn kinds() -> &'static [Description] {
    static KINDS: LazyLock<Vec<Description>> = LazyLock::new(|| {
        vec![
            object::<GoAlertUser>(),
            object::<GoAlertRotation>(),
            object::<GoAlertSchedule>(),
            object::<GoAlertEscalationPolicy>(),
            object::<GoAlertService>(),
            describe::<GoAlertAdmin>(None),
        ]
    });
    &KINDS
}

/// The kinds a reference can point at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RefKind {
    User,
    Rotation,
    Schedule,
    EscalationPolicy,
}

impl RefKind {
    /// The kind's name, for example `GoAlertRotation`.
    pub fn kind(self) -> Cow<'static, str> {
        match self {
            Self::User => GoAlertUser::kind(&()),
            Self::Rotation => GoAlertRotation::kind(&()),
            Self::Schedule => GoAlertSchedule::kind(&()),
            Self::EscalationPolicy => GoAlertEscalationPolicy::kind(&()),
        }
    }

    /// What GoAlert calls it, in messages.
    pub fn noun(self) -> &'static str {
        match self {
            Self::User => GoAlertUser::NOUN,
            Self::Rotation => GoAlertRotation::NOUN,
            Self::Schedule => GoAlertSchedule::NOUN,
            Self::EscalationPolicy => GoAlertEscalationPolicy::NOUN,
        }
    }

    /// The reference kind for a kind's name, if references can point at it.
    pub fn of(kind: &str) -> Option<Self> {
        [Self::User, Self::Rotation, Self::Schedule, Self::EscalationPolicy]
            .into_iter()
            .find(|candidate| candidate.kind() == kind)
    }
}

/// How a reference names its target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A custom resource in the same namespace.
    Name(String),
    /// An object in GoAlert by its (case-insensitive) name.
    GoAlertName(String),
    GoAlertId(String),
    /// A GoAlert user by e-mail.
    Email(String),
}

/// One reference in a spec, with the path of the field that holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// Path of the reference object, for example `spec.escalationPolicyRef`.
    pub field: String,
    pub kind: RefKind,
    pub target: Target,
}

impl Reference {
    pub fn object(field: String, kind: RefKind, reference: &ObjectRef) -> Option<Self> {
        let target = match reference {
            ObjectRef { name: Some(n), .. } => Target::Name(n.clone()),
            ObjectRef {
                goalert_name: Some(n),
                ..
            } => Target::GoAlertName(n.clone()),
            ObjectRef {
                goalert_id: Some(id), ..
            } => Target::GoAlertId(id.clone()),
            _ => return None,
        };
        Some(Self { field, kind, target })
    }

    pub fn user(field: String, reference: &UserRef) -> Option<Self> {
        let target = match reference {
            UserRef { name: Some(n), .. } => Target::Name(n.clone()),
            UserRef { email: Some(e), .. } => Target::Email(e.clone()),
            UserRef {
                goalert_id: Some(id), ..
            } => Target::GoAlertId(id.clone()),
            _ => return None,
        };
        Some(Self {
            field,
            kind: RefKind::User,
            target,
        })
    }

    /// The path of the field that is set, for example `spec.escalationPolicyRef.name`.
    pub fn path(&self) -> String {
        let leaf = match self.target {
            Target::Name(_) => "name",
            Target::GoAlertName(_) => "goalertName",
            Target::GoAlertId(_) => "goalertId",
            Target::Email(_) => "email",
        };
        format!("{}.{leaf}", self.field)
    }

    /// Whether this reference names the custom resource `kind`/`name` (of the same namespace).
    pub fn names(&self, kind: RefKind, name: &str) -> bool {
        self.kind == kind && self.target == Target::Name(name.to_owned())
    }

    /// The name of the custom resource of kind `kind` this reference names, if it names one.
    pub fn resource_name(&self, kind: &str) -> Option<&str> {
        match &self.target {
            Target::Name(name) if self.kind.kind() == kind => Some(name),
            _ => None,
        }
    }
}

/// `list[index]`, the path of one item of a list field.
pub fn at(list: &str, index: usize) -> String {
    format!("{list}[{index}]")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_kind_has_its_own_noun() {
        let nouns: BTreeSet<_> = kinds().iter().map(|k| k.noun).collect();
        assert_eq!(nouns.len(), kinds().len(), "every kind has its own noun");
    }

    #[test]
    fn every_kind_a_reference_can_name_is_found_by_its_name() {
        for kind in [
            RefKind::User,
            RefKind::Rotation,
            RefKind::Schedule,
            RefKind::EscalationPolicy,
        ] {
            assert_eq!(RefKind::of(&kind.kind()), Some(kind));
            assert!(
                kinds()
                    .iter()
                    .any(|k| k.kind == kind.kind() && k.noun == kind.noun())
            );
        }
        assert_eq!(RefKind::of("GoAlertService"), None);
    }

    /// The chart and the out-of-cluster webhook configurations name the kinds in YAML lists of
    /// their own: a line that names two kinds or more is such a list and must name every kind.
    /// (The end-to-end tests read [`kinds`] itself.)
    #[test]
    fn every_list_of_kinds_outside_rust_names_every_kind() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let plurals: BTreeSet<String> = kinds().iter().map(|k| k.plural.clone()).collect();
        let templates = root.join("charts/goalert-provisioning/templates");
        let mut files: Vec<_> = std::fs::read_dir(&templates)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        files.extend(["webhooks/mutating.yaml", "webhooks/validating.yaml"].map(|f| root.join(f)));
        let mut lists = 0;
        for file in &files {
            let text = std::fs::read_to_string(file).unwrap();
            for (number, line) in text.lines().enumerate() {
                let named: BTreeSet<String> = line
                    .split(|c: char| !c.is_ascii_lowercase())
                    .filter(|word| word.starts_with("goalert") && word.ends_with('s'))
                    .map(str::to_owned)
                    .collect();
                if named.len() >= 2 {
                    lists += 1;
                    assert_eq!(named, plurals, "{}:{}: {line}", file.display(), number + 1);
                }
            }
        }
        assert!(lists >= 6, "the lists of kinds were not found ({lists})");
        // The operator role's subresource rules, one line per kind: status for every kind,
        // finalizers for exactly the kinds that own Secrets.
        let helpers = std::fs::read_to_string(templates.join("_helpers.tpl")).unwrap();
        for kind in kinds() {
            let rule = |subresource: &str| helpers.contains(&format!("- {}/{subresource}\n", kind.plural));
            assert!(rule("status"), "_helpers.tpl: no rule for {}/status", kind.plural);
            assert_eq!(
                rule("finalizers"),
                kind.owns_secrets,
                "_helpers.tpl: {}/finalizers is granted if and only if the kind owns Secrets",
                kind.plural
            );
        }
    }

    fn schema_pattern(kind: &str, path: &[&str]) -> regex::Regex {
        let description = kinds().iter().find(|k| k.kind == kind).unwrap();
        let mut schema =
            serde_json::to_value(&description.crd.spec.versions[0].schema).unwrap()["openAPIV3Schema"]
                .clone();
        for property in path {
            schema = schema["properties"][property].clone();
        }
        regex::Regex::new(schema["pattern"].as_str().unwrap()).unwrap()
    }

    /// The CRD's e-mail pattern is the API server's coarse first line; every address GoAlert's
    /// rule ([`super::super::common::is_email`]) accepts passes it.
    #[test]
    fn every_email_goalert_accepts_passes_the_crd_pattern() {
        let pattern = schema_pattern("GoAlertUser", &["spec", "email"]);
        for email in [
            "a@b.c",
            "first.last+tag@mail.example.com",
            "o'hara@example.ie",
            "user@xn--bcher-kva.example",
            "a@b.c.d.e",
        ] {
            assert!(super::super::common::is_email(email), "{email}");
            assert!(pattern.is_match(email), "{email}");
        }
        for email in ["a@b", "a b@c.d", "a@b@c.d", "@b.c"] {
            assert!(!super::super::common::is_email(email), "{email}");
            assert!(!pattern.is_match(email), "{email}");
        }
    }
}
