//! The preflight passes against the reference AS and fails against a broken discovery document.

use uma_conformance::{Verdict, discovery_checks, report};
use uma_reference_server::{Config, Server};

#[tokio::test]
async fn the_reference_as_passes_the_discovery_preflight() {
    // Arrange
    let server = Server::builder(Config::demo())
        .memory()
        .start()
        .await
        .expect("server starts");

    // Act
    let checks = discovery_checks(server.issuer()).await;
    let rep = report(server.issuer(), checks);
    server.shutdown().await;

    // Assert
    assert!(rep.summary.pass >= 6, "{rep:?}");
    assert_eq!(rep.summary.fail, 0, "{rep:?}");
}

#[tokio::test]
async fn a_wrong_issuer_in_the_discovery_document_fails_g_as_03() {
    // Arrange: the AS announces an issuer other than the one it is reached at.
    let config = Config {
        issuer: "https://elsewhere.example".into(),
        ..Config::demo()
    };
    let server = Server::builder(config).memory().start().await.expect("server starts");
    let reached_at = format!("http://{}", server.local_addr());

    // Act
    let checks = discovery_checks(&reached_at).await;
    server.shutdown().await;

    // Assert
    let g_as_03 = checks
        .iter()
        .find(|c| c.requirement == "G-AS-03")
        .expect("G-AS-03 checked");
    assert_eq!(g_as_03.verdict, Verdict::Fail);
}
