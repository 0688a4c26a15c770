//! Remote targets: a profile may name a non-loopback target only when it says so
//! (`allow_remote: true`, or `allowed_origins`), and every request then stays within the
//! target's origins. Nothing here contacts a non-loopback address: the refusals happen when the
//! profile loads, and the accepted profiles are only loaded and their guarded path asked.

use crate::examples;

use examples::{example, with_secrets};

use uma_conformance::profile::{AsAccess, Profile};
use uma_conformance::{RunRequest, exit};

/// The example AS profile moved to `https://as.example/realms/demo`, secrets inline.
fn remote_as(extra: &str) -> String {
    let text = example("reference-tls.yaml")
        .replace("https://127.0.0.1:8443/realms/demo", "https://as.example/realms/demo")
        .replace("  ca_file: tls-ca.pem", "  insecure_skip_verify: false");
    format!("{}{extra}", with_secrets(text, |_| "test-secret".into()))
}

fn as_access(text: &str) -> AsAccess {
    let Profile::As(p) = Profile::parse(text, "remote.yaml").unwrap() else {
        panic!("an AS profile")
    };
    AsAccess::from_profile(*p, "remote.yaml").unwrap()
}

#[test]
fn a_remote_issuer_without_allow_remote_is_refused_when_the_profile_loads() {
    // Act
    let e = Profile::parse(&remote_as(""), "remote.yaml").unwrap_err().to_string();

    // Assert
    assert!(e.contains("remote.yaml"), "{e}");
    assert!(e.contains("`issuer`"), "{e}");
    assert!(e.contains("only loopback origins are allowed"), "{e}");
    assert!(e.contains("allow_remote: true"), "{e}");
}

#[tokio::test]
async fn a_run_with_a_refused_remote_profile_stops_before_any_request() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("remote.yaml");
    std::fs::write(&path, remote_as("")).unwrap();

    // Act: the library run and the CLI both stop at the profile.
    let lib = uma_conformance::run(&RunRequest {
        target: Some(path.clone()),
        ..RunRequest::default()
    })
    .await;
    let cli = std::process::Command::new(env!("CARGO_BIN_EXE_uma-conformance"))
        .args(["run", "--target"])
        .arg(&path)
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();

    // Assert
    assert!(
        matches!(lib, Err(uma_conformance::RunError::Profile(_))),
        "{:?}",
        lib.map(|r| r.summary)
    );
    assert_eq!(cli.status.code(), Some(exit::CONFIG));
    let stderr = String::from_utf8_lossy(&cli.stderr);
    assert!(stderr.contains("only loopback origins are allowed"), "{stderr}");
    assert!(!dir.path().join("out/report.json").exists());
}

#[test]
fn allow_remote_admits_the_targets_own_origin_and_loopback_and_nothing_else() {
    // Act
    let access = as_access(&remote_as("allow_remote: true\n"));
    let policy = access.http_policy().unwrap();

    // Assert: only asked, never sent.
    assert!(policy.check("https://as.example/realms/demo/token").is_ok());
    assert!(policy.check("http://127.0.0.1:9555/jwks").is_ok());
    let e = policy.check("https://login.example/authorize").unwrap_err().to_string();
    assert!(e.contains("not the target's (https://as.example)"), "{e}");
    assert!(e.contains("allowed_origins"), "{e}");
    assert!(policy.check("http://as.example/realms/demo/token").is_err());
}

#[test]
fn an_allowed_origins_list_admits_exactly_its_origins() {
    // Act
    let access = as_access(&remote_as(
        "allowed_origins: [\"https://as.example\", \"https://login.example\"]\n",
    ));
    let policy = access.http_policy().unwrap();

    // Assert
    assert!(policy.check("https://as.example/realms/demo/token").is_ok());
    assert!(policy.check("https://login.example/authorize").is_ok());
    assert!(policy.check("https://other.example/").is_err());
    assert!(policy.check("http://127.0.0.1:9555/jwks").is_err());
}

#[test]
fn a_remote_resource_server_needs_allow_remote_too() {
    // Arrange
    let rs = example("example-rs.yaml")
        .replace("http://127.0.0.1:8081", "https://rs.example")
        .replace("{ env: EXAMPLE_RS_SECRET }", "test-secret");

    // Act
    let refused = Profile::parse(&rs, "rs.yaml").unwrap_err().to_string();
    let accepted = Profile::parse(&format!("{rs}allow_remote: true\n"), "rs.yaml");

    // Assert
    assert!(
        refused.contains("`rs.base_url`") && refused.contains("allow_remote"),
        "{refused}"
    );
    let Ok(Profile::Rs(p)) = accepted else {
        panic!("{:?}", accepted.err().map(|e| e.to_string()))
    };
    let policy = p.http_policy().unwrap();
    assert!(policy.check("https://rs.example/photos/beach").is_ok());
    assert!(policy.check("https://other.example/").is_err());
}
