//! Target `structured_specs`: specs of each kind generated from the kind's own CRD schema (the
//! fuzz input decides which fields are set and to what, from strings the validators care
//! about), checked by the kind's validators against a cluster of other generated objects and
//! GoAlert answering one fixed way, then posted to the webhooks as an AdmissionReview.
//!
//! The schema, not `#[derive(Arbitrary)]` on the spec types, drives the generation: the types in
//! src/api stay free of fuzzing, and a value the schema allows but serde refuses is found too.

use std::{sync::Arc, time::Duration};

use arbitrary::{Result, Unstructured};
use goalert_provisioning::{
    api::{
        GROUP, GoAlertAdmin, GoAlertEscalationPolicy, GoAlertRotation, GoAlertSchedule, GoAlertService,
        GoAlertUser, kind::Description, kinds,
    },
    tenancy::Governed,
    webhooks::{
        review::Findings,
        validate::{self, Admitted, ClusterView, MissingNames, Pending},
    },
};
use serde_json::{Map, Value, json};

use crate::{OPERATOR_NAMESPACE, TENANT_NAMESPACE, lookups::Answers, review};

/// Names, e-mails, IDs, times and zones the validators compare, plus ones they must refuse. Small,
/// so that generated objects often collide with each other.
pub const STRINGS: &[&str] = &[
    "",
    "a",
    "alice",
    "primary",
    "Platform Primary",
    "platform-primary",
    "PLATFORM PRIMARY",
    "2024",
    "a b ",
    "alice@example.com",
    "Alice@Example.COM",
    "not-an-email",
    "a@b",
    "+17635550101",
    "+1",
    "00000000-0000-0000-0000-000000000001",
    "00000000-0000-0000-0000-00000000000A",
    "Europe/Berlin",
    "UTC",
    "Mars/Olympus_Mons",
    "2026-01-05T09:00:00+01:00",
    "2026-13-45T99:00:00Z",
    "09:00",
    "24:00",
    "Monday",
    "Generic",
    "Grafana",
    "Admin",
    "User",
    "General.ApplicationName",
    "Mobile",
    "ünïcödé ☎",
    "\u{0}",
];

/// The fuzz body.
pub fn structured_specs(data: &[u8]) {
    // Running out of input ends a case early; what was generated so far has been checked.
    let _ = generate_and_check(&mut Unstructured::new(data));
}

fn generate_and_check(u: &mut Unstructured) -> Result<()> {
    let kind = u.choose(kinds())?;
    let namespace = *u.choose(&[OPERATOR_NAMESPACE, TENANT_NAMESPACE])?;
    let name = string(u)?;
    let object = object(u, kind, &name, namespace)?;
    let old = if u.arbitrary()? {
        Some(self::object(u, kind, &name, namespace)?)
    } else {
        None
    };
    let mut view = ClusterView::default();
    for _ in 0..u.int_in_range(0..=3)? {
        let other = u.choose(kinds())?;
        let other_namespace = *u.choose(&[OPERATOR_NAMESPACE, TENANT_NAMESPACE])?;
        let other_name = string(u)?;
        add_to_view(
            &mut view,
            other,
            self::object(u, other, &other_name, other_namespace)?,
        );
    }
    let answers = *u.choose(&Answers::ALL)?;
    let missing = *u.choose(&[MissingNames::Deny, MissingNames::Warn])?;
    let case = Case {
        namespace,
        view: &view,
        answers,
        missing,
    };
    match kind.kind.as_str() {
        "GoAlertUser" => case.check::<GoAlertUser>(&object, old.as_ref()),
        "GoAlertRotation" => case.check::<GoAlertRotation>(&object, old.as_ref()),
        "GoAlertSchedule" => case.check::<GoAlertSchedule>(&object, old.as_ref()),
        "GoAlertEscalationPolicy" => case.check::<GoAlertEscalationPolicy>(&object, old.as_ref()),
        "GoAlertService" => case.check::<GoAlertService>(&object, old.as_ref()),
        "GoAlertAdmin" => case.check::<GoAlertAdmin>(&object, old.as_ref()),
        other => unreachable!("kinds() lists {other}, which the fuzzer does not know"),
    }
    let operation = match (&old, u.ratio(1, 8)?) {
        (_, true) => "DELETE",
        (Some(_), false) => "UPDATE",
        (None, false) => "CREATE",
    };
    let review = admission_review(kind, &name, namespace, operation, Some(&object), old.as_ref());
    review::review_bytes(&serde_json::to_vec(&review).expect("JSON values serialize"));
    Ok(())
}

/// An AdmissionReview of an object of `kind`, as the API server sends it.
pub fn admission_review(
    kind: &Description,
    name: &str,
    namespace: &str,
    operation: &str,
    object: Option<&Value>,
    old: Option<&Value>,
) -> Value {
    let version = &kind.crd.spec.versions[0].name;
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "00000000-0000-0000-0000-0000000000f0",
            "kind": { "group": GROUP, "version": version, "kind": kind.kind },
            "resource": { "group": GROUP, "version": version, "resource": kind.plural },
            "name": name,
            "namespace": namespace,
            "operation": operation,
            "userInfo": { "username": "fuzzer" },
            "object": object,
            "oldObject": old,
            "dryRun": false,
        }
    })
}

/// What one generated case is checked against.
struct Case<'a> {
    namespace: &'a str,
    view: &'a ClusterView,
    answers: Answers,
    missing: MissingNames,
}

impl Case<'_> {
    /// Runs the kind's rules the way a review does (tenancy first, then the pure check, then the
    /// references), and checks that every finding names a field path.
    fn check<K: Admitted + Governed>(&self, object: &Value, old: Option<&Value>) {
        // A spec the types refuse is the review's "spec: cannot be read", which the routes check.
        let Ok(object) = serde_json::from_value::<K>(object.clone()) else {
            return;
        };
        let old = old.and_then(|old| serde_json::from_value::<K>(old.clone()).ok());
        for refusal in object.refusals(&crate::tenancy()) {
            assert!(
                review::is_field_path(&refusal.field),
                "a refusal names no field: {refusal:?}"
            );
        }
        let mut findings = Findings::default();
        let mut pending = Pending::default();
        object.check(old.as_ref(), self.view, &mut findings, &mut pending);
        for phone in &pending.phone_numbers {
            assert!(
                review::is_field_path(&phone.field),
                "a phone number without a field: {phone:?}"
            );
        }
        review::block_on(validate::resolve(
            self.namespace,
            &object.references(),
            &pending,
            self.view,
            &self.answers,
            Duration::from_secs(1),
            self.missing,
            &mut findings,
        ));
        for error in &findings.errors {
            assert!(
                review::is_field_path(&error.field),
                "a finding names no field: {error:?}"
            );
            assert!(!error.message.is_empty(), "a finding says nothing: {error:?}");
        }
    }
}

fn add_to_view(view: &mut ClusterView, kind: &Description, object: Value) {
    fn push<K: serde::de::DeserializeOwned>(objects: &mut Vec<Arc<K>>, object: Value) {
        // The watch caches only hold objects the API server accepted, so the types can read them.
        if let Ok(object) = serde_json::from_value(object) {
            objects.push(Arc::new(object));
        }
    }
    match kind.kind.as_str() {
        "GoAlertUser" => push(&mut view.users, object),
        "GoAlertRotation" => push(&mut view.rotations, object),
        "GoAlertSchedule" => push(&mut view.schedules, object),
        "GoAlertEscalationPolicy" => push(&mut view.policies, object),
        "GoAlertService" => push(&mut view.services, object),
        "GoAlertAdmin" => push(&mut view.admins, object),
        other => unreachable!("kinds() lists {other}, which the fuzzer does not know"),
    }
}

/// An object of `kind` whose spec follows the kind's CRD schema, mostly.
fn object(u: &mut Unstructured, kind: &Description, name: &str, namespace: &str) -> Result<Value> {
    let version = &kind.crd.spec.versions[0];
    let schema = version
        .schema
        .as_ref()
        .and_then(|s| s.open_api_v3_schema.as_ref())
        .map(|s| serde_json::to_value(s).expect("schemas serialize"))
        .unwrap_or_default();
    let spec = value(u, &schema["properties"]["spec"], 0)?;
    Ok(json!({
        "apiVersion": format!("{GROUP}/{}", version.name),
        "kind": kind.kind,
        "metadata": { "name": name, "namespace": namespace },
        "spec": spec,
    }))
}

/// Nesting beyond this gets leaves only (the schemas are at most five levels deep).
const MAX_DEPTH: usize = 8;

/// A value for `schema`; one in sixteen ignores the schema, as a value that got past a disabled
/// CRD validation (or a webhook called directly) would.
fn value(u: &mut Unstructured, schema: &Value, depth: usize) -> Result<Value> {
    if depth >= MAX_DEPTH || u.ratio(1, 16)? {
        return wild(u);
    }
    if let Some(choices) = schema["enum"].as_array().filter(|c| !c.is_empty()) {
        return Ok(u.choose(choices)?.clone());
    }
    if schema["x-kubernetes-int-or-string"] == true {
        return Ok(if u.arbitrary()? {
            json!(integer(u)?)
        } else {
            json!(string(u)?)
        });
    }
    match schema["type"].as_str() {
        Some("object") => {
            let mut map = Map::new();
            let required: Vec<&str> = schema["required"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if let Some(properties) = schema["properties"].as_object() {
                for (key, property) in properties {
                    if required.contains(&key.as_str()) || u.arbitrary::<bool>()? {
                        map.insert(key.clone(), value(u, property, depth + 1)?);
                    }
                }
            }
            if let Some(values) = schema.get("additionalProperties").filter(|v| v.is_object()) {
                for _ in 0..u.int_in_range(0..=3)? {
                    map.insert(string(u)?, value(u, values, depth + 1)?);
                }
            }
            Ok(Value::Object(map))
        }
        Some("array") => {
            let length = u.int_in_range(0..=4)?;
            (0..length)
                .map(|_| value(u, &schema["items"], depth + 1))
                .collect::<Result<_>>()
                .map(Value::Array)
        }
        Some("string") => Ok(json!(string(u)?)),
        Some("integer") => Ok(json!(integer(u)?)),
        Some("number") => Ok(json!(u.arbitrary::<f64>()?)),
        Some("boolean") => Ok(json!(u.arbitrary::<bool>()?)),
        _ => wild(u),
    }
}

/// A value of any type.
fn wild(u: &mut Unstructured) -> Result<Value> {
    Ok(match u.int_in_range(0..=5)? {
        0 => Value::Null,
        1 => json!(u.arbitrary::<bool>()?),
        2 => json!(integer(u)?),
        3 => json!(string(u)?),
        4 => json!([]),
        _ => json!({}),
    })
}

fn string(u: &mut Unstructured) -> Result<String> {
    Ok(match u.int_in_range(0..=7)? {
        0 => u.arbitrary::<String>()?,
        1 => "x".repeat(u.int_in_range(60..=300)?),
        _ => (*u.choose(STRINGS)?).to_owned(),
    })
}

fn integer(u: &mut Unstructured) -> Result<i64> {
    Ok(match u.int_in_range(0..=3)? {
        0 => u.arbitrary()?,
        _ => *u.choose(&[
            0,
            1,
            -1,
            2,
            3,
            59,
            60,
            1440,
            10_000,
            i64::from(i32::MAX),
            i64::MAX,
        ])?,
    })
}
