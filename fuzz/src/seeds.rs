//! The seed corpus of `review_bytes`: every custom resource in examples/ and e2e/bad-manifests/
//! as the AdmissionReviews the API server would send for it: CREATE in the operator's namespace
//! and in a tenant's, UPDATE from the file's previous object of the kind (or from an empty
//! spec), and DELETE. Plus reviews that are not ours or not whole.

use std::path::Path;

use goalert_provisioning::api::kinds;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{OPERATOR_NAMESPACE, TENANT_NAMESPACE, specs::admission_review};

/// The folders, relative to the repository root, whose YAML files seed the corpus.
pub const FOLDERS: [&str; 2] = ["examples", "e2e/bad-manifests"];

/// Each seed with a file name that says where it came from.
pub fn reviews(root: &Path) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut seeds = vec![
        ("not-ours".to_owned(), not_ours()),
        (
            "no-request".to_owned(),
            json!({ "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview" }),
        ),
    ];
    for folder in FOLDERS {
        let mut files: Vec<_> = std::fs::read_dir(root.join(folder))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
            .collect();
        files.sort();
        for file in files {
            let stem = file
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(&file)?;
            let objects = serde_yaml::Deserializer::from_str(&text)
                .filter_map(|document| Value::deserialize(document).ok())
                .collect::<Vec<_>>();
            for (index, object) in objects.iter().enumerate() {
                let previous = objects[..index]
                    .iter()
                    .rev()
                    .find(|o| o["kind"] == object["kind"]);
                for (operation, review) in from_object(object, previous) {
                    seeds.push((format!("{stem}-{index}-{operation}"), review));
                }
            }
        }
    }
    Ok(seeds
        .into_iter()
        .map(|(name, review)| {
            (
                name,
                serde_json::to_vec_pretty(&review).expect("JSON values serialize"),
            )
        })
        .collect())
}

/// The reviews of one object of ours (none for other objects).
fn from_object(object: &Value, previous: Option<&Value>) -> Vec<(&'static str, Value)> {
    let Some(kind) = kinds().iter().find(|k| object["kind"] == k.kind.as_str()) else {
        return Vec::new();
    };
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    let placed = |namespace: &str| {
        let mut object = object.clone();
        object["metadata"]["namespace"] = json!(namespace);
        object
    };
    let mut old = placed(TENANT_NAMESPACE);
    old["spec"] = previous.map_or_else(|| json!({}), |p| p["spec"].clone());
    let review = |namespace, operation, object: Option<&Value>, old: Option<&Value>| {
        admission_review(kind, name, namespace, operation, object, old)
    };
    let tenant = placed(TENANT_NAMESPACE);
    vec![
        ("create", review(TENANT_NAMESPACE, "CREATE", Some(&tenant), None)),
        (
            "create-privileged",
            review(
                OPERATOR_NAMESPACE,
                "CREATE",
                Some(&placed(OPERATOR_NAMESPACE)),
                None,
            ),
        ),
        (
            "update",
            review(TENANT_NAMESPACE, "UPDATE", Some(&tenant), Some(&old)),
        ),
        ("delete", review(TENANT_NAMESPACE, "DELETE", None, Some(&tenant))),
    ]
}

/// A review of a kind this webhook does not review.
fn not_ours() -> Value {
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "00000000-0000-0000-0000-0000000000f1",
            "kind": { "group": "", "version": "v1", "kind": "Secret" },
            "resource": { "group": "", "version": "v1", "resource": "secrets" },
            "name": "s",
            "namespace": TENANT_NAMESPACE,
            "operation": "CREATE",
            "userInfo": {},
            "object": { "apiVersion": "v1", "kind": "Secret", "metadata": { "name": "s" } },
        }
    })
}
