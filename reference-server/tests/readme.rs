//! The README's curl walk-through, run as written against the real binary (only the port
//! differs): PAT → register → policy → permission → token → need_info → claim token → RPT →
//! introspect.

use crate::common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::process::AsProcess;

/// The shell block of the walk-through, from its `AS=` line to the end of the block.
fn walkthrough() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).expect("README.md");
    let start = readme
        .find("AS=http://127.0.0.1:8080\n")
        .expect("the walk-through starts with AS=http://127.0.0.1:8080");
    let len = readme[start..].find("```").expect("the walk-through block ends");
    readme[start..start + len].to_owned()
}

#[test]
fn the_readme_walkthrough_works_as_written() {
    // Arrange
    let dir = tempfile::tempdir().expect("temp dir");
    let server = AsProcess::start(
        &["--data-dir".into(), dir.path().as_os_str().to_owned()],
        dir.path().join("as.log"),
    );
    let script = walkthrough().replacen("AS=http://127.0.0.1:8080", &format!("AS={}", server.issuer), 1);
    assert!(
        Command::new("curl")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success()),
        "curl is needed"
    );

    // Act
    let mut child = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bash runs");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the walk-through did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    let stdout = String::from_utf8_lossy(&out.stdout);
    server.stop();

    // Assert
    assert!(
        out.status.success(),
        "the walk-through failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("\"error\":\"need_info\""), "{stdout}");
    let introspection = stdout.lines().last().expect("introspection output");
    assert!(introspection.contains("\"active\":true"), "{introspection}");
    assert!(
        introspection.contains("\"resource_scopes\":[\"view\"]"),
        "{introspection}"
    );
    assert!(!introspection.contains("\"scope\""), "{introspection}");
}
