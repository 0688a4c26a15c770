//! `uma-reference-server rs`: the reference resource server run standalone against a running
//! reference AS process.

use crate::common;

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::process::{AsProcess, BIN, STARTUP};

/// A running `uma-reference-server rs`; killed on drop.
struct RsProcess {
    child: Child,
    base_url: String,
}

impl Drop for RsProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rs_command(issuer: &str, extra: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(["rs", "--as-issuer", issuer, "--client-id", "demo-rs"])
        .args(["--client-secret-env", "UMA_TEST_RS_SECRET", "--port", "0"])
        .args(extra)
        .env("UMA_TEST_RS_SECRET", "demo-rs-secret")
        .env("RUST_LOG", "uma_reference_server=debug")
        .stdin(Stdio::null());
    c
}

impl RsProcess {
    fn start(issuer: &str, extra: &[&str]) -> Self {
        let mut child = rs_command(issuer, extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let mut guard = Self {
            child,
            base_url: String::new(),
        };
        guard.base_url = rx.recv_timeout(STARTUP).expect("a base URL line");
        assert!(guard.base_url.starts_with("http://127.0.0.1:"), "{}", guard.base_url);
        guard
    }
}

#[tokio::test]
async fn the_rs_subcommand_prints_its_base_url_and_challenges_with_the_as_issuer() {
    // Arrange
    let dir = tempfile::tempdir().expect("temp dir");
    let as_ = AsProcess::start(
        &["--data-dir".into(), dir.path().as_os_str().to_owned()],
        dir.path().join("as.log"),
    );
    let rs = RsProcess::start(&as_.issuer, &["--quirk", "rs-wrong-as-uri"]);
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client");

    // Act
    let r = http
        .get(format!("{}/photos/beach", rs.base_url))
        .send()
        .await
        .expect("RS answers");

    // Assert
    assert_eq!(r.status().as_u16(), 401);
    let challenge = r.headers()["www-authenticate"].to_str().expect("ASCII").to_owned();
    let expected = format!(
        "UMA realm=\"photoz\", as_uri=\"{}/.well-known/uma2-configuration\", ticket=\"",
        as_.issuer
    );
    assert!(challenge.starts_with(&expected), "{challenge}");
    drop(rs);
    as_.stop();
}

#[test]
fn an_as_quirk_or_a_missing_secret_variable_is_a_usage_error() {
    // Act
    let as_quirk = rs_command("http://127.0.0.1:9", &["--quirk", "default-permit"])
        .output()
        .expect("runs");
    let no_secret = rs_command("http://127.0.0.1:9", &[])
        .env_remove("UMA_TEST_RS_SECRET")
        .output()
        .expect("runs");

    // Assert
    assert_eq!(as_quirk.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&as_quirk.stderr).contains("default-permit"));
    assert_eq!(no_secret.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_secret.stderr).contains("UMA_TEST_RS_SECRET"));
}
