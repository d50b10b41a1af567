//! What GitOps tools make of an object's status: the Argo CD health check of docs/gitops.md, run
//! by Lua 5.4 as Argo CD runs it, and kstatus (sigs.k8s.io/cli-utils, what Flux waits on), built
//! by e2e/install.sh.

use std::{
    io::Write as _,
    process::{Command, Stdio},
};

use serde_json::Value;

use crate::repo_root;

/// The Lua block of docs/gitops.md, as users copy it into Argo CD.
fn health_lua() -> String {
    let doc = std::fs::read_to_string(repo_root().join("docs/gitops.md")).unwrap();
    let start = doc
        .find("<!-- argocd-health-lua")
        .expect("marker in docs/gitops.md");
    let block = &doc[start..];
    let code = &block[block.find("```lua\n").unwrap() + "```lua\n".len()..];
    code[..code.find("\n```").unwrap()].to_owned()
}

/// A JSON value as a Lua table constructor (Argo CD hands the object to Lua the same way).
fn lua_literal(value: &Value) -> String {
    match value {
        Value::Null => "nil".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("{s:?}"),
        Value::Array(items) => format!(
            "{{{}}}",
            items.iter().map(lua_literal).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("[{k:?}] = {}", lua_literal(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn run(program: &str, args: &[&str], input: &str, install_hint: &str) -> String {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program} ({install_hint}): {e}"));
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{program} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Argo CD's health (status, message) of `object`, by the check in docs/gitops.md.
pub fn argocd_health(object: &Value) -> (String, String) {
    let program = format!(
        "obj = {}\nlocal function health()\n{}\nend\nlocal hs = health()\nio.write(hs.status, \"\\n\", hs.message or \"\")\n",
        lua_literal(object),
        health_lua()
    );
    let text = run(
        "lua5.4",
        &["-"],
        &program,
        "Debian package lua5.4; e2e/install.sh installs it",
    );
    let (status, message) = text.split_once('\n').unwrap();
    (status.to_owned(), message.to_owned())
}

/// kstatus's verdict (Current, InProgress, Failed, Terminating, ...) and message for `object`.
pub fn kstatus(object: &Value) -> (String, String) {
    let list = serde_json::json!({ "apiVersion": "v1", "kind": "List", "items": [object] });
    let text = run(
        "kstatus",
        &[],
        &list.to_string(),
        "built from sigs.k8s.io/cli-utils by e2e/install.sh",
    );
    let (_, verdict) = text.trim_end().split_once(' ').unwrap();
    let (status, message) = verdict.split_once(' ').unwrap_or((verdict, ""));
    (status.to_owned(), message.to_owned())
}
