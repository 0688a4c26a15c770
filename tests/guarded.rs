//! The guarded HTTP path against hand-written servers, for what wiremock cannot play (the
//! scripted and faulty counterparts are in `tests/hostile.rs`): a body that never ends, a body
//! that drips after its headers, a port nobody listens on; and the identity providers of two
//! runs at once.

use crate::examples;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uma_conformance::Profile;
use uma_conformance::outcome::Severity;
use uma_conformance::profile::{AsAccess, Environment};
use uma_conformance::run::preflight;

const MIB: u64 = 1 << 20;

fn profile_text(issuer: &str, extra: &str) -> String {
    format!(
        "name: scripted AS\nrole: as\nissuer: {issuer}\nallow_http: true\nclients:\n  rs: {{ client_id: rs, client_secret: rs-secret-value }}\n  client: {{ client_id: c, client_secret: c-secret-value, scopes: [view] }}\npolicy: {{ kind: manual }}\n{extra}"
    )
}

fn access(text: &str) -> AsAccess {
    match Profile::parse_in(text, "test.yaml", &Environment::from_pairs([])).unwrap() {
        Profile::As(p) => AsAccess::from_profile(*p, "test.yaml").unwrap(),
        other => panic!("not an AS profile: {other:?}"),
    }
}

async fn preflight_of(text: &str) -> preflight::Found {
    let a = access(text);
    let policy = a.http_policy().unwrap();
    preflight::run(&a, &policy).await
}

fn errors(found: &preflight::Found) -> Vec<String> {
    found
        .report
        .problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .map(|p| p.what.clone())
        .collect()
}

/// Answers one request with a 200 JSON head (plus `head`), then `total` bytes of whitespace
/// in pieces of `piece` bytes with `pause` between them, counting the bytes written until the
/// peer goes away.
async fn hand_served(
    head: &str,
    total: u64,
    piece: usize,
    pause: Duration,
    sent: Arc<AtomicU64>,
) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let head = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n{head}\r\n");
    let task = tokio::spawn(async move {
        let Ok((mut sock, _)) = listener.accept().await else {
            return;
        };
        let mut req = [0u8; 4096];
        let _ = sock.read(&mut req).await;
        if sock.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let chunk = vec![b' '; piece];
        let mut written = 0;
        while written < total {
            if sock.write_all(&chunk).await.is_err() || sock.flush().await.is_err() {
                return;
            }
            written += chunk.len() as u64;
            sent.store(written, Ordering::SeqCst);
            tokio::time::sleep(pause).await;
        }
    });
    (base, task)
}

#[tokio::test]
async fn the_preflight_stops_reading_a_huge_discovery_document_at_the_body_cap() {
    // Arrange: 50 MiB of whitespace, streamed without a length.
    let sent = Arc::new(AtomicU64::new(0));
    let (base, server) = hand_served("", 50 * MIB, 64 * 1024, Duration::ZERO, sent.clone()).await;

    // Act
    let found = preflight_of(&profile_text(&base, "")).await;

    // Assert
    let errs = errors(&found);
    assert!(
        errs.iter().any(|e| e.contains("body larger than 1048576 bytes")),
        "{errs:?}"
    );
    assert!(
        errs.iter().all(|e| !e.contains("cannot reach")),
        "the server answered: {errs:?}"
    );
    // The server stops when the harness drops the connection (bounded wait, not a timing check).
    let _ = tokio::time::timeout(Duration::from_secs(60), server).await;
    let written = sent.load(Ordering::SeqCst);
    assert!(
        written < 24 * MIB,
        "the server wrote {written} bytes before the harness hung up"
    );
}

#[tokio::test]
async fn a_discovery_body_that_drips_after_its_headers_is_cut_off_by_the_request_timeout() {
    // Arrange: the head at once (announcing 64 bytes), then one byte every 250 ms, 16 s in
    // all; the profile allows 1 s per request, body included.
    let sent = Arc::new(AtomicU64::new(0));
    let (base, server) = hand_served(
        "content-length: 64\r\n",
        64,
        1,
        Duration::from_millis(250),
        sent.clone(),
    )
    .await;

    // Act
    let found = preflight_of(&profile_text(&base, "request_timeout_seconds: 1\n")).await;

    // Assert: a configuration problem naming the timeout of an AS that did answer.
    let errs = errors(&found);
    assert!(
        errs.iter().any(|e| e.contains("unusable") && e.contains("within 1 s")),
        "{errs:?}"
    );
    assert!(
        errs.iter().all(|e| !e.contains("cannot reach")),
        "it answered: {errs:?}"
    );
    // The harness hung up before the body was whole (bounded wait, not a timing check).
    let _ = tokio::time::timeout(Duration::from_secs(30), server).await;
    let written = sent.load(Ordering::SeqCst);
    assert!(written < 64, "the harness read the whole drip ({written} bytes)");
}

#[tokio::test]
async fn a_refused_connection_says_connection_refused() {
    // Arrange: a port nobody listens on.
    let port = examples::free_port();

    // Act
    let found = preflight_of(&profile_text(&format!("http://127.0.0.1:{port}"), "")).await;

    // Assert
    let errs = errors(&found);
    assert!(errs.iter().any(|e| e.contains("connection refused")), "{errs:?}");
}

#[tokio::test]
async fn two_runs_identity_providers_start_at_once_on_free_ports() {
    // Arrange / Act: the default profile IdP port is 0.
    let default_port = uma_conformance::profile::IdpProfile::default().port;
    let (a, b) = tokio::join!(
        uma_conformance::counterpart::idp::TestIdp::start(default_port),
        uma_conformance::counterpart::idp::TestIdp::start(default_port)
    );

    // Assert
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_ne!(a.issuer(), b.issuer());
    let port = |i: &str| i.parse::<url::Url>().unwrap().port().unwrap();
    assert_ne!(port(a.issuer()), 0);
    let _: SocketAddr = a.issuer().trim_start_matches("http://").parse().unwrap();
}
