//! The settings a GoAlertAdmin lists, against what GoAlert holds: values resolved (from Secrets
//! where asked), compared in GoAlert's normal form, sent in one setConfig and one
//! setSystemLimits, and GoAlert's refusals pointed at the spec field with Secret values removed.

use std::collections::{BTreeMap, BTreeSet};

use crate::{
    api::{
        GoAlertAdmin,
        admin::{ConfigSetting, SystemLimit},
    },
    controller::{
        Context,
        error::{Error, Result, Shared},
        secrets,
    },
};
use goalert_client::{
    self as goalert, FieldError,
    model::{ConfigType, ConfigValue},
    secret::Secret,
};
use kube::{Api, ResourceExt};

/// What one pass did, by setting.
#[derive(Debug, Default)]
pub(super) struct Synced {
    /// The settings this resource applies (`status.managed`).
    pub(super) managed: Vec<String>,
    /// Inline values and limits that GoAlert held differently and were set.
    pub(super) changed: Vec<String>,
    /// Values from Secrets that GoAlert held differently and were set: as often a rotated Secret
    /// as a change made by hand, so never counted as drift.
    changed_from_secrets: Vec<String>,
}

impl Synced {
    /// What was set from Secrets, for the condition and Event (IDs only, never values).
    pub(super) fn set_from_secrets(&self) -> Option<String> {
        (!self.changed_from_secrets.is_empty())
            .then(|| format!("updated from Secrets: {}", self.changed_from_secrets.join(", ")))
    }
}

/// Makes GoAlert hold every listed setting that no other GoAlertAdmin lists. Sends nothing when
/// GoAlert already holds them; otherwise one setConfig with every differing setting (GoAlert
/// validates them together) and one setSystemLimits.
pub(super) async fn sync(obj: &GoAlertAdmin, ctx: &Context, shared: &[Shared]) -> Result<Synced> {
    let skip: BTreeSet<&str> = shared
        .iter()
        .flat_map(|s| s.settings.iter().map(String::as_str))
        .collect();
    let settings: Vec<_> = (obj.spec.config.iter().enumerate())
        .filter(|(_, s)| !skip.contains(s.id.as_str()))
        .collect();
    let limits: Vec<_> = (obj.spec.system_limits.iter().enumerate())
        .filter(|(_, l)| !skip.contains(l.id.to_string().as_str()))
        .collect();
    let mut synced = Synced {
        managed: (settings.iter().map(|(_, s)| s.id.clone()))
            .chain(limits.iter().map(|(_, l)| l.id.to_string()))
            .collect(),
        ..Synced::default()
    };
    if !settings.is_empty() {
        let wanted = resolve(obj, ctx, &settings).await?;
        let changes = config_changes(&wanted, &ctx.goalert.config().await?)?;
        if !changes.is_empty() {
            let ids: Vec<_> = changes.iter().map(|c| c.id).collect();
            tracing::debug!(name = %obj.name_any(), namespace = ?obj.namespace(), settings = ?ids, "setting GoAlert config");
            let values: Vec<_> = changes.iter().map(|c| (c.id, &c.value)).collect();
            ctx.goalert
                .set_config(&values)
                .await
                .map_err(|e| rejected(e, &wanted))?;
        }
        for change in changes {
            let list = if change.from_secret {
                &mut synced.changed_from_secrets
            } else {
                &mut synced.changed
            };
            list.push(change.id.to_owned());
        }
    }
    if !limits.is_empty() {
        let changes = limit_changes(&limits, &ctx.goalert.system_limits().await?)?;
        if !changes.is_empty() {
            ctx.goalert
                .set_system_limits(&changes)
                .await
                .map_err(|source| Error::GoAlert {
                    field: Some("spec.systemLimits".into()),
                    source,
                })?;
            synced.changed.extend(changes.into_iter().map(|(id, _)| id));
        }
    }
    Ok(synced)
}

/// A listed setting with its value, from the spec or read from its Secret.
#[derive(Debug)]
struct Wanted<'a> {
    /// Its place in spec.config.
    index: usize,
    id: &'a str,
    value: Value,
}

#[derive(Debug)]
enum Value {
    Inline(String),
    /// `source` says where it came from (`Secret "x" key "y"`) without showing it.
    FromSecret {
        value: Secret,
        source: String,
    },
}

impl Wanted<'_> {
    /// The spec field that holds or names the value.
    fn field(&self) -> String {
        match self.value {
            Value::Inline(_) => format!("spec.config[{}].value", self.index),
            Value::FromSecret { .. } => format!("spec.config[{}].valueFrom.secretKeyRef", self.index),
        }
    }
}

/// Reads the value of each setting, from the Secrets in the resource's namespace where asked.
async fn resolve<'a>(
    obj: &GoAlertAdmin,
    ctx: &Context,
    settings: &[(usize, &'a ConfigSetting)],
) -> Result<Vec<Wanted<'a>>> {
    let namespace = obj.namespace().unwrap_or_default();
    let secrets = Api::namespaced(ctx.kube.clone(), &namespace);
    let mut wanted = Vec::with_capacity(settings.len());
    for &(index, setting) in settings {
        let value = match (&setting.value, &setting.value_from) {
            (Some(value), None) => Value::Inline(value.clone()),
            (None, Some(from)) => {
                let reference = &from.secret_key_ref;
                let field = format!("spec.config[{index}].valueFrom.secretKeyRef");
                Value::FromSecret {
                    value: secrets::read_key(&secrets, reference, &field).await?,
                    source: format!("Secret {:?} key {:?}", reference.name, reference.key),
                }
            }
            _ => {
                return Err(Error::InvalidSpec {
                    field: format!("spec.config[{index}]"),
                    message: "set exactly one of value, valueFrom".into(),
                });
            }
        };
        wanted.push(Wanted {
            index,
            id: &setting.id,
            value,
        });
    }
    Ok(wanted)
}

/// A setting whose value GoAlert holds differently.
struct Change<'a> {
    id: &'a str,
    /// In GoAlert's form.
    value: Secret,
    from_secret: bool,
}

/// The settings GoAlert holds differently, compared in GoAlert's form so that a resync with
/// nothing changed sends nothing. Checks each against what GoAlert has: the ID exists, the value
/// fits its type, and settings GoAlert keeps secret come from a Secret.
fn config_changes<'a>(wanted: &[Wanted<'a>], current: &[ConfigValue]) -> Result<Vec<Change<'a>>> {
    let mut changes = Vec::new();
    for want in wanted {
        let Some(have) = current.iter().find(|c| c.id == want.id) else {
            return Err(Error::InvalidSpec {
                field: format!("spec.config[{}].id", want.index),
                message: unknown_setting(want.id, current),
            });
        };
        let normal = match &want.value {
            Value::Inline(_) if have.password => {
                return Err(Error::InvalidSpec {
                    field: want.field(),
                    message: format!(
                        "{} is a secret in GoAlert: read it from a Secret with valueFrom.secretKeyRef",
                        want.id
                    ),
                });
            }
            Value::Inline(value) => normal_form(have.kind, value).map_err(|allowed| Error::InvalidSpec {
                field: want.field(),
                message: format!("{} takes {allowed}, not {value:?}", want.id),
            })?,
            Value::FromSecret { value, source } => {
                normal_form(have.kind, value.expose()).map_err(|allowed| Error::Secret {
                    field: want.field(),
                    message: format!("{} takes {allowed}; the value in {source} is not", want.id),
                })?
            }
        };
        if normal != have.value.expose() {
            changes.push(Change {
                id: want.id,
                value: Secret::new(normal),
                from_secret: matches!(want.value, Value::FromSecret { .. }),
            });
        }
    }
    Ok(changes)
}

/// `raw` as GoAlert stores and returns it; the error says what the type takes.
fn normal_form(kind: ConfigType, raw: &str) -> Result<String, &'static str> {
    match kind {
        // A YAML block scalar (`|`) ends in a newline the author did not mean as part of the value.
        ConfigType::String => Ok(raw.trim_end_matches(['\n', '\r']).to_owned()),
        ConfigType::StringList => Ok(raw
            .lines()
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .collect::<Vec<_>>()
            .join("\n")),
        ConfigType::Integer => match raw.trim() {
            "" => Ok("0".into()),
            number => number
                .parse::<i32>()
                .map(|n| n.to_string())
                .map_err(|_| "a whole number (empty means 0)"),
        },
        ConfigType::Boolean => match raw.trim() {
            value @ ("true" | "false") => Ok(value.to_owned()),
            _ => Err(r#""true" or "false""#),
        },
    }
}

/// Says which IDs GoAlert has instead: those of the same section, else the sections.
fn unknown_setting(id: &str, current: &[ConfigValue]) -> String {
    let section_of = |id: &str| id.split('.').next().unwrap_or_default().to_owned();
    let section = section_of(id);
    let same_section: Vec<_> = (current.iter().map(|c| c.id.as_str()))
        .filter(|other| section_of(other) == section)
        .collect();
    if same_section.is_empty() {
        let mut sections: Vec<_> = current.iter().map(|c| section_of(&c.id)).collect();
        sections.dedup();
        format!(
            "GoAlert has no config setting {id:?}; its settings start with {}",
            sections.join(", ")
        )
    } else {
        format!(
            "GoAlert has no config setting {id:?}; its {section} settings are {}",
            same_section.join(", ")
        )
    }
}

/// The limits GoAlert holds differently, as (GoAlert's ID, value).
fn limit_changes(
    limits: &[(usize, &SystemLimit)],
    current: &BTreeMap<String, i64>,
) -> Result<Vec<(String, i64)>> {
    let mut changes = Vec::new();
    for &(index, limit) in limits {
        let id = limit.id.to_string();
        let value = i64::from(limit.value);
        match current.get(&id) {
            None => {
                return Err(Error::InvalidSpec {
                    field: format!("spec.systemLimits[{index}].id"),
                    message: format!(
                        "this GoAlert has no system limit {id}; it has {}",
                        current.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                });
            }
            Some(&have) if have == value => {}
            Some(_) => changes.push((id, value)),
        }
    }
    Ok(changes)
}

/// GoAlert's refusal of a setConfig, pointed at the spec field of the setting it names. Its
/// messages can quote the input ("invalid character 'x'"), so values from Secrets are taken out.
fn rejected(source: goalert::Error, wanted: &[Wanted]) -> Error {
    let field = match &source {
        goalert::Error::Invalid { fields, .. } => fields.first().and_then(|f| {
            let id = setting_of(&f.field);
            wanted.iter().find(|w| w.id == id).map(Wanted::field)
        }),
        _ => None,
    };
    Error::GoAlert {
        field,
        source: redact(source, wanted),
    }
}

/// The setting a GoAlert field name is about: GoAlert names `Twilio.AuthToken`, a value it could
/// not parse as `"Twilio.Enable".Value`, and a list item as `Services.RequiredLabels[2]`.
fn setting_of(field: &str) -> &str {
    let field = (field.strip_prefix('"').and_then(|f| f.split_once('"'))).map_or(field, |(id, _)| id);
    field.split_once('[').map_or(field, |(id, _)| id)
}

fn redact(error: goalert::Error, wanted: &[Wanted]) -> goalert::Error {
    let secrets: Vec<_> = (wanted.iter())
        .filter_map(|w| match &w.value {
            Value::FromSecret { value, .. } if !value.expose().is_empty() => Some((w.id, value)),
            _ => None,
        })
        .collect();
    let clean = |text: String, about_a_secret: bool| {
        // GoAlert's ASCII check quotes the one character it refuses.
        if about_a_secret && text.starts_with("invalid character") {
            return "contains a character GoAlert does not allow (printable ASCII only)".to_owned();
        }
        (secrets.iter()).fold(text, |text, (_, secret)| {
            text.replace(secret.expose(), "<redacted>")
        })
    };
    let about_a_secret = |field: &str| secrets.iter().any(|(id, _)| *id == setting_of(field));
    match error {
        goalert::Error::Invalid { fields, message } => {
            let any_secret = fields.iter().any(|f| about_a_secret(&f.field));
            goalert::Error::Invalid {
                fields: (fields.into_iter())
                    .map(|f| FieldError {
                        message: clean(f.message, about_a_secret(&f.field)),
                        field: f.field,
                    })
                    .collect(),
                message: clean(message, any_secret),
            }
        }
        goalert::Error::GraphQl { operation, message } => goalert::Error::GraphQl {
            operation,
            message: clean(message, false),
        },
        goalert::Error::Http {
            operation,
            status,
            body,
        } => goalert::Error::Http {
            operation,
            status,
            body: clean(body, false),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{super::tests::admin, *};

    fn current(id: &str, kind: ConfigType, value: &str) -> ConfigValue {
        ConfigValue {
            id: id.into(),
            kind,
            password: id.ends_with("Token"),
            value: Secret::new(value),
        }
    }

    fn inline<'a>(index: usize, id: &'a str, value: &str) -> Wanted<'a> {
        Wanted {
            index,
            id,
            value: Value::Inline(value.into()),
        }
    }

    fn from_secret<'a>(index: usize, id: &'a str, value: &str) -> Wanted<'a> {
        Wanted {
            index,
            id,
            value: Value::FromSecret {
                value: Secret::new(value),
                source: r#"Secret "twilio" key "token""#.into(),
            },
        }
    }

    #[test]
    fn values_compare_in_goalerts_form() {
        assert_eq!(
            normal_form(ConfigType::StringList, "a/b\n  c/d \n\n").unwrap(),
            "a/b\nc/d"
        );
        assert_eq!(normal_form(ConfigType::String, "Notice\n").unwrap(), "Notice");
        assert_eq!(normal_form(ConfigType::String, " kept ").unwrap(), " kept ");
        assert_eq!(normal_form(ConfigType::Integer, " 007").unwrap(), "7");
        assert_eq!(normal_form(ConfigType::Integer, "").unwrap(), "0");
        assert_eq!(normal_form(ConfigType::Boolean, "true\n").unwrap(), "true");
        assert_eq!(
            normal_form(ConfigType::Boolean, "yes"),
            Err(r#""true" or "false""#)
        );
        assert!(normal_form(ConfigType::Integer, "ten").is_err());
    }

    #[test]
    fn only_differing_settings_are_sent() {
        let have = [
            current(
                "Services.RequiredLabels",
                ConfigType::StringList,
                "team/name\nowner/email",
            ),
            current("Feedback.Enable", ConfigType::Boolean, "false"),
            current("Twilio.AuthToken", ConfigType::String, "old-token"),
        ];
        let want = [
            inline(0, "Services.RequiredLabels", "team/name\nowner/email\n"),
            inline(1, "Feedback.Enable", "true"),
            from_secret(2, "Twilio.AuthToken", "new-token"),
        ];
        let changes = config_changes(&want, &have).unwrap();
        let sent: Vec<_> = changes
            .iter()
            .map(|c| (c.id, c.value.expose(), c.from_secret))
            .collect();
        assert_eq!(
            sent,
            [
                ("Feedback.Enable", "true", false),
                ("Twilio.AuthToken", "new-token", true)
            ]
        );
        let in_sync = [inline(0, "Services.RequiredLabels", "team/name\nowner/email\n")];
        assert!(config_changes(&in_sync, &have).unwrap().is_empty());
    }

    #[test]
    fn bad_settings_name_the_field_and_what_is_allowed() {
        let have = [
            current("Twilio.Enable", ConfigType::Boolean, "false"),
            current("Twilio.AuthToken", ConfigType::String, ""),
            current("SMTP.Enable", ConfigType::Boolean, "false"),
        ];
        let error = |want: Wanted| config_changes(&[want], &have).err().unwrap().to_string();
        assert_eq!(
            error(inline(3, "Twilio.Enabled", "true")),
            r#"spec.config[3].id: GoAlert has no config setting "Twilio.Enabled"; its Twilio settings are Twilio.Enable, Twilio.AuthToken"#
        );
        assert_eq!(
            error(inline(0, "Mailgun.Enable", "true")),
            r#"spec.config[0].id: GoAlert has no config setting "Mailgun.Enable"; its settings start with Twilio, SMTP"#
        );
        assert_eq!(
            error(inline(1, "Twilio.Enable", "yes")),
            r#"spec.config[1].value: Twilio.Enable takes "true" or "false", not "yes""#
        );
        assert_eq!(
            error(inline(2, "Twilio.AuthToken", "hunter2")),
            "spec.config[2].value: Twilio.AuthToken is a secret in GoAlert: read it from a Secret with valueFrom.secretKeyRef"
        );
        let from_secret = error(from_secret(1, "Twilio.Enable", "hunter2"));
        assert_eq!(
            from_secret,
            r#"spec.config[1].valueFrom.secretKeyRef: Twilio.Enable takes "true" or "false"; the value in Secret "twilio" key "token" is not"#
        );
    }

    #[test]
    fn goalert_field_errors_point_at_the_setting_and_never_quote_a_secret() {
        let want = [
            inline(0, "Twilio.Enable", "true"),
            from_secret(1, "Twilio.AuthToken", "s3cr\u{e9}t-token"),
            inline(2, "Services.RequiredLabels", "a\nb"),
        ];
        let invalid = |fields: &[(&str, &str)]| goalert::Error::Invalid {
            fields: fields
                .iter()
                .map(|(field, message)| FieldError {
                    field: (*field).into(),
                    message: (*message).into(),
                })
                .collect(),
            message: fields[0].1.into(),
        };
        let error = rejected(
            invalid(&[("Twilio.AuthToken", "invalid character '\u{e9}'")]),
            &want,
        );
        assert_eq!(
            error.to_string(),
            "spec.config[1].valueFrom.secretKeyRef: GoAlert rejected the input: Twilio.AuthToken: contains a character GoAlert does not allow (printable ASCII only)"
        );
        assert!(!format!("{error:?}").contains('\u{e9}'));
        let error = rejected(
            invalid(&[("\"Twilio.Enable\".Value", "boolean value invalid")]),
            &want,
        );
        assert!(error.to_string().starts_with("spec.config[0].value: "), "{error}");
        let error = rejected(invalid(&[("Services.RequiredLabels[1]", "bad key")]), &want);
        assert!(error.to_string().starts_with("spec.config[2].value: "), "{error}");
        // A related setting the spec does not list: GoAlert's own words name it.
        let error = rejected(
            invalid(&[("Twilio.FromNumber", "required to enable Twilio")]),
            &want,
        );
        assert_eq!(
            error.to_string(),
            "GoAlert rejected the input: Twilio.FromNumber: required to enable Twilio"
        );
        let error = rejected(
            goalert::Error::GraphQl {
                operation: "SetConfig",
                message: "could not use s3cr\u{e9}t-token".into(),
            },
            &want,
        );
        assert!(!format!("{error} {error:?}").contains("s3cr"), "{error:?}");
        assert_eq!(error.reason(), "GoAlertError");
    }

    #[test]
    fn limits_are_compared_by_goalerts_id() {
        let spec = admin(
            "team",
            "limits",
            json!({ "systemLimits": [
                { "id": "ContactMethodsPerUser", "value": 10 },
                { "id": "EPStepsPerPolicy", "value": -1 },
            ]}),
        );
        let limits: Vec<_> = spec.spec.system_limits.iter().enumerate().collect();
        let current: BTreeMap<_, _> = [
            ("ContactMethodsPerUser".to_owned(), 10),
            ("EPStepsPerPolicy".to_owned(), 20),
        ]
        .into();
        assert_eq!(
            limit_changes(&limits, &current).unwrap(),
            [("EPStepsPerPolicy".to_owned(), -1)]
        );
        let older: BTreeMap<_, _> = [("ContactMethodsPerUser".to_owned(), 10)].into();
        assert_eq!(
            limit_changes(&limits, &older).unwrap_err().to_string(),
            "spec.systemLimits[1].id: this GoAlert has no system limit EPStepsPerPolicy; it has ContactMethodsPerUser"
        );
    }

    #[test]
    fn messages_name_settings_never_values() {
        let synced = Synced {
            managed: vec![],
            changed: vec!["General.ApplicationName".into()],
            changed_from_secrets: vec!["Twilio.AuthToken".into()],
        };
        assert_eq!(
            synced.set_from_secrets().unwrap(),
            "updated from Secrets: Twilio.AuthToken"
        );
        assert_eq!(Synced::default().set_from_secrets(), None);
    }
}
