//! The container image: .dockerignore as Docker reads it, and the Dockerfile's static build,
//! without a Docker engine, run as the image would run it.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use e2e::{
    chart::{one, render},
    operator_binary, outside_cargo_test, repo_root, run, run_ok, testbed, unique_name,
};
use serde_json::json;

/// The cargo invocation and flags of the Dockerfile's build stage.
const DOCKER_RUSTFLAGS: &str = "-C target-feature=+crt-static";
const DOCKER_CARGO_ARGS: [&str; 7] = [
    "build",
    "--release",
    "--locked",
    "--bin",
    "goalert-provisioning",
    "--bin",
    "gctl",
];

/// Docker's .dockerignore rules, as far as this project's file uses them: patterns anchored at
/// the context root, `*` within one path element, `!` re-includes, the last match wins.
fn docker_ignored(rules: &[(bool, String)], path: &str) -> bool {
    fn glob(pattern: &[u8], text: &[u8]) -> bool {
        match (pattern.first(), text.first()) {
            (None, None) => true,
            (Some(b'*'), _) => {
                glob(&pattern[1..], text)
                    || (!text.is_empty() && text[0] != b'/' && glob(pattern, &text[1..]))
            }
            (Some(b'?'), Some(t)) if *t != b'/' => glob(&pattern[1..], &text[1..]),
            (Some(p), Some(t)) if p == t => glob(&pattern[1..], &text[1..]),
            _ => false,
        }
    }
    let mut ignored = false;
    for (negated, pattern) in rules {
        let pattern = pattern.trim_end_matches('/');
        // A pattern matches the path or any directory above it.
        let mut prefix = String::new();
        let mut matched = false;
        for part in path.split('/') {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
            if glob(pattern.as_bytes(), prefix.as_bytes()) {
                matched = true;
            }
        }
        if matched {
            ignored = !negated;
        }
    }
    ignored
}

fn copy_build_context(from: &Path, to: &Path, rules: &[(bool, String)], relative: &str) {
    for entry in std::fs::read_dir(from.join(relative)).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        let path = if relative.is_empty() {
            name
        } else {
            format!("{relative}/{name}")
        };
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            // Descend even into ignored directories: a later `!` rule may bring files back.
            copy_build_context(from, to, rules, &path);
        } else if kind.is_file() && !docker_ignored(rules, &path) {
            let target = to.join(&path);
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn dockerignore_rules_behave_like_dockers() {
    let rules = vec![
        (false, "target/".to_owned()),
        (false, "*.md".to_owned()),
        (true, "README.md".to_owned()),
    ];
    assert!(docker_ignored(&rules, "target/debug/x"));
    assert!(docker_ignored(&rules, "NOTES.md"));
    assert!(!docker_ignored(&rules, "README.md"));
    assert!(
        !docker_ignored(&rules, "docs/gitops.md"),
        "patterns are anchored at the root"
    );
    assert!(!docker_ignored(&rules, "src/main.rs"));
}

#[test]
fn static_binaries_match_the_dockerfile() {
    let dockerfile = std::fs::read_to_string(repo_root().join("Dockerfile")).unwrap();
    // The paths and flags this test reproduces are the Dockerfile's.
    for needle in [
        format!("ENV RUSTFLAGS=\"{DOCKER_RUSTFLAGS}\""),
        "target=\"$(uname -m)-unknown-linux-gnu\"".to_owned(),
        "cargo build --release --locked --target \"$target\" --bin goalert-provisioning --bin gctl"
            .to_owned(),
        "cp \"target/$target/release/goalert-provisioning\" \"target/$target/release/gctl\" /out/".to_owned(),
        "FROM gcr.io/distroless/static-debian12:nonroot".to_owned(),
        "COPY --from=build /out/goalert-provisioning /goalert-provisioning".to_owned(),
        "COPY --from=build /out/gctl /gctl".to_owned(),
        "USER 65532:65532".to_owned(),
        "ENTRYPOINT [\"/goalert-provisioning\"]".to_owned(),
        "CMD [\"run\"]".to_owned(),
    ] {
        assert!(
            dockerfile.contains(&needle),
            "the Dockerfile no longer contains {needle}"
        );
    }
    let stages: Vec<_> = dockerfile.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(stages.len(), 2, "multi-stage: build, then the runtime image");
    // The chart runs the image's entrypoint with `run` and the same non-root user.
    let objects = render(
        "x",
        "ns",
        &["goalert.url=https://g.example.com", "goalert.apiKey=k"],
    );
    let pod = &one(&objects, "Deployment")["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsUser"], 65532);
    assert_eq!(pod["containers"][0]["args"], json!(["run"]));

    // Build the Dockerfile's binaries from the build context the Dockerfile sees (.dockerignore
    // applied), in a target directory of their own.
    let rules: Vec<(bool, String)> = std::fs::read_to_string(repo_root().join(".dockerignore"))
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.strip_prefix('!') {
            Some(rest) => (true, rest.to_owned()),
            None => (false, l.to_owned()),
        })
        .collect();
    let work = std::env::var("CARGO_TARGET_DIR")
        .map(|d| PathBuf::from(format!("{d}-static")))
        .unwrap_or_else(|_| repo_root().join("target/static"));
    let context = work.join("context");
    let _ = std::fs::remove_dir_all(&context);
    copy_build_context(repo_root(), &context, &rules, "");
    assert!(context.join("Cargo.lock").exists() && context.join("src/main.rs").exists());
    assert!(!context.join("target").exists() && !context.join(".git").exists());

    let triple = format!("{}-unknown-linux-gnu", std::env::consts::ARCH);
    let installed = run_ok(
        Command::new("rustup").args(["target", "list", "--installed"]),
        None,
    );
    assert!(
        installed.lines().any(|l| l.trim() == triple),
        "{triple} not installed: {installed}"
    );
    run_ok(
        outside_cargo_test(&mut Command::new("cargo"))
            .args(DOCKER_CARGO_ARGS)
            .args(["--target", &triple])
            .env("RUSTFLAGS", DOCKER_RUSTFLAGS)
            .env("CARGO_TARGET_DIR", work.join("target"))
            .current_dir(&context),
        None,
    );
    let release = work.join("target").join(&triple).join("release");
    let root = tempfile::tempdir().unwrap();
    for binary in ["goalert-provisioning", "gctl"] {
        let path = release.join(binary);
        let file = run_ok(Command::new("file").arg(&path), None);
        assert!(
            file.contains("statically linked") || file.contains("static-pie linked"),
            "{file}"
        );
        let ldd = run(Command::new("ldd").arg(&path), None);
        let ldd = format!(
            "{}{}",
            String::from_utf8_lossy(&ldd.stdout),
            String::from_utf8_lossy(&ldd.stderr)
        );
        assert!(
            ldd.contains("not a dynamic executable") || ldd.contains("statically linked"),
            "{ldd}"
        );
        std::fs::copy(&path, root.path().join(binary)).unwrap();
    }

    // Run them as the image would: in a root file system holding only them, what distroless
    // static adds (passwd, CA certificates, /tmp) and what Kubernetes mounts (/etc/hosts),
    // as user 65532. Needs root for chroot.
    let is_root = run_ok(Command::new("id").arg("-u"), None).trim() == "0";
    if !is_root {
        eprintln!("not root: skipping the run in an empty root file system");
        return;
    }
    let r = root.path();
    std::fs::create_dir_all(r.join("etc/ssl/certs")).unwrap();
    std::fs::create_dir_all(r.join("tmp")).unwrap();
    // tempdir makes 0700 directories; the image's root is world-readable, /tmp world-writable.
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(r, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(r.join("tmp"), std::fs::Permissions::from_mode(0o1777)).unwrap();
    std::fs::write(
        r.join("etc/passwd"),
        "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n",
    )
    .unwrap();
    std::fs::write(
        r.join("etc/hosts"),
        "127.0.0.1 localhost goalert.testbed.internal\n",
    )
    .unwrap();
    if Path::new("/etc/ssl/certs/ca-certificates.crt").exists() {
        std::fs::copy(
            "/etc/ssl/certs/ca-certificates.crt",
            r.join("etc/ssl/certs/ca-certificates.crt"),
        )
        .unwrap();
    }
    let chroot_binary = ["/usr/sbin/chroot", "/usr/bin/chroot"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("chroot (coreutils)");
    let chroot = |args: &[&str]| {
        let mut command = Command::new(chroot_binary);
        command
            .arg("--userspec=65532:65532")
            .arg(r)
            .args(args)
            .env_clear();
        command
    };
    let document = run_ok(
        &mut chroot(&["/goalert-provisioning", "print-api-key-query"]),
        None,
    );
    let expected = run_ok(Command::new(operator_binary()).arg("print-api-key-query"), None);
    assert_eq!(document, expected);
    run_ok(&mut chroot(&["/gctl", "--version"]), None);
    // An HTTP round trip to the testbed's GoAlert: minting an API key.
    let mint = |url: &str| {
        run(
            chroot(&[
                "/goalert-provisioning",
                "create-api-key",
                "--goalert-url",
                url,
                "--name",
            ])
            .arg(unique_name("static build"))
            .args(["--username", &testbed().admin_user])
            .env("GOALERT_PASSWORD", &testbed().admin_password),
            None,
        )
    };
    let minted = mint(&testbed().goalert_url);
    let key = String::from_utf8_lossy(&minted.stdout);
    assert!(
        minted.status.success() && key.trim().len() > 20,
        "no key minted: {key} {}",
        String::from_utf8_lossy(&minted.stderr)
    );
    // A host name resolved through /etc/hosts without glibc's shared NSS modules: GoAlert answers
    // (it refuses a login whose host is not its public URL's, which proves the request arrived);
    // an unknown name fails to resolve.
    let by_name = mint(
        &testbed()
            .goalert_url
            .replace("127.0.0.1", "goalert.testbed.internal"),
    );
    let stderr = String::from_utf8_lossy(&by_name.stderr);
    assert!(stderr.contains("GoAlert answered HTTP"), "{stderr}");
    let unknown = mint(&testbed().goalert_url.replace("127.0.0.1", "no-such-host.invalid"));
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        !unknown.status.success() && !stderr.contains("GoAlert answered HTTP"),
        "{stderr}"
    );
}
