//! The guarded HTTP path against scripted authorization servers on loopback: the preflight never
//! sends a credential to an origin the profile does not allow, reads at most the body cap, names
//! the real cause of every failure, parses the PAT response, and leaves what the conformance
//! scenarios judge (a missing required member, a claimed capability the AS lacks) to them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use axum::Json;
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uma_conformance::outcome::Severity;
use uma_conformance::profile::{AsAccess, Environment};
use uma_conformance::run::preflight;
use uma_conformance::{Profile, Report, RunRequest, Verdict, exit};

const MIB: u64 = 1 << 20;

/// Serves `router` on 127.0.0.1 (any port) until the test ends; returns its base URL.
async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}")
}

/// A router that counts every request it gets.
fn counting(hits: Arc<AtomicUsize>) -> axum::Router {
    axum::Router::new().fallback(move || {
        hits.fetch_add(1, Ordering::SeqCst);
        async { Json(json!({"access_token": "stolen", "token_type": "Bearer"})) }
    })
}

/// A discovery document of `base` with every member the suites use, minus `without`.
fn discovery(base: &str, without: &[&str]) -> Value {
    let mut doc = json!({
        "issuer": base,
        "token_endpoint": format!("{base}/token"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["urn:ietf:params:oauth:grant-type:uma-ticket", "client_credentials"],
        "permission_endpoint": format!("{base}/permission"),
        "resource_registration_endpoint": format!("{base}/resource_set"),
        "uma_profiles_supported": ["https://vendor.example/uma/pkce"],
        "code_challenge_methods_supported": ["S256"],
    });
    for w in without {
        doc.as_object_mut().unwrap().remove(*w);
    }
    doc
}

/// An AS that serves `doc(base)` as its discovery document and `token` at its token endpoint.
async fn scripted_as(doc: impl Fn(&str) -> Value + Send + 'static, token: Value) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let doc = doc(&base);
    let router = axum::Router::new()
        .route(
            "/.well-known/uma2-configuration",
            get(move || {
                let d = doc.clone();
                async move { Json(d) }
            }),
        )
        .route(
            "/token",
            post(move || {
                let t = token.clone();
                async move { Json(t) }
            }),
        );
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    base
}

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

async fn run_profile(text: &str, filter: &str) -> Report {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("target.yaml");
    std::fs::write(&path, text).unwrap();
    let req = RunRequest {
        target: Some(path),
        filter: Some(filter.into()),
        jobs: 2,
        ..RunRequest::default()
    };
    uma_conformance::run(&req).await.unwrap()
}

#[tokio::test]
async fn the_preflight_refuses_a_cross_origin_token_endpoint_before_sending_any_credential() {
    // Arrange: a second loopback server plays the foreign origin and counts what reaches it.
    let hits = Arc::new(AtomicUsize::new(0));
    let foreign = serve(counting(hits.clone())).await;
    let theirs = foreign.clone();
    let base = scripted_as(
        move |base| {
            let mut d = discovery(base, &[]);
            d["token_endpoint"] = json!(format!("{theirs}/token"));
            d
        },
        json!({"access_token": "pat-value-1234", "token_type": "Bearer"}),
    )
    .await;
    let text = profile_text(&base, &format!("allowed_origins: [\"{base}\"]\n"));

    // Act
    let report = run_profile(&text, "as/discovery/uma2-configuration").await;

    // Assert
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the foreign origin got a request");
    assert_eq!(exit::of(&report), exit::CONFIG);
    let refused = report
        .preflight
        .problems
        .iter()
        .find(|p| p.severity == Severity::Error && p.what.contains("`token_endpoint` outside the allowed origins"))
        .unwrap_or_else(|| panic!("{:?}", report.preflight.problems));
    assert!(refused.what.contains(&format!("{foreign}/token")), "{}", refused.what);
    assert!(
        report.scenarios.iter().all(|s| s.exchanges.is_empty()),
        "a scenario sent a request"
    );
}

/// Serves one answer of `total` bytes without a length (the end is the connection's), counting
/// the bytes written until the peer goes away.
async fn endless_json(total: u64, sent: Arc<AtomicU64>) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let Ok((mut sock, _)) = listener.accept().await else {
            return;
        };
        let mut req = [0u8; 4096];
        let _ = sock.read(&mut req).await;
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n";
        if sock.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let chunk = vec![b' '; 64 * 1024];
        let mut written = 0;
        while written < total {
            if sock.write_all(&chunk).await.is_err() {
                return;
            }
            written += chunk.len() as u64;
            sent.store(written, Ordering::SeqCst);
        }
    });
    (base, task)
}

#[tokio::test]
async fn the_preflight_stops_reading_a_huge_discovery_document_at_the_body_cap() {
    // Arrange: 50 MiB of whitespace, streamed.
    let sent = Arc::new(AtomicU64::new(0));
    let (base, server) = endless_json(50 * MIB, sent.clone()).await;

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
    let _ = tokio::time::timeout(std::time::Duration::from_secs(60), server).await;
    let written = sent.load(Ordering::SeqCst);
    assert!(
        written < 24 * MIB,
        "the server wrote {written} bytes before the harness hung up"
    );
}

#[tokio::test]
async fn a_discovery_answer_in_html_is_reported_as_not_json_with_its_first_bytes() {
    // Arrange
    let base = serve(axum::Router::new().route(
        "/.well-known/uma2-configuration",
        get(|| async { Html("<html><body>please log in</body></html>") }),
    ))
    .await;

    // Act
    let found = preflight_of(&profile_text(&base, "")).await;

    // Assert
    let errs = errors(&found);
    assert!(
        errs.iter()
            .any(|e| e.contains("not JSON: first bytes \"<html><body>please log in")
                && e.contains("content-type text/html")),
        "{errs:?}"
    );
    assert!(
        found
            .report
            .problems
            .iter()
            .all(|p| !p.fix.contains("start the authorization server"))
    );
}

#[tokio::test]
async fn a_discovery_request_nobody_answers_names_the_timeout() {
    // Arrange: a listener that accepts and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            open.push(sock);
        }
    });

    // Act
    let found = preflight_of(&profile_text(&base, "request_timeout_seconds: 1\n")).await;

    // Assert
    let errs = errors(&found);
    assert!(
        errs.iter()
            .any(|e| e.starts_with("cannot reach") && e.contains("no answer within 1 s")),
        "{errs:?}"
    );
    held.abort();
}

#[tokio::test]
async fn a_refused_connection_says_connection_refused() {
    // Arrange: a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();

    // Act
    let found = preflight_of(&profile_text(&format!("http://127.0.0.1:{port}"), "")).await;

    // Assert
    let errs = errors(&found);
    assert!(errs.iter().any(|e| e.contains("connection refused")), "{errs:?}");
}

#[tokio::test]
async fn a_pat_response_without_an_access_token_is_a_configuration_problem_naming_the_body() {
    // Arrange
    let base = scripted_as(
        |b| discovery(b, &[]),
        json!({"token_type": "Bearer", "note": "no token here"}),
    )
    .await;

    // Act
    let found = preflight_of(&profile_text(&base, "")).await;

    // Assert
    let errs = errors(&found);
    assert!(
        errs.iter()
            .any(|e| e.contains("without an `access_token` string") && e.contains("no token here")),
        "{errs:?}"
    );
}

#[tokio::test]
async fn a_pat_that_is_not_a_bearer_token_is_a_configuration_problem() {
    // Arrange
    let base = scripted_as(
        |b| discovery(b, &[]),
        json!({"access_token": "pat-value-1234", "token_type": "DPoP"}),
    )
    .await;

    // Act
    let found = preflight_of(&profile_text(&base, "")).await;

    // Assert
    let errs = errors(&found);
    assert!(
        errs.iter().any(|e| e.contains("token_type is `DPoP`, not Bearer")),
        "{errs:?}"
    );
    assert!(
        errs.iter().all(|e| !e.contains("pat-value-1234")),
        "the PAT is quoted: {errs:?}"
    );
}

#[tokio::test]
async fn a_discovery_document_without_permission_endpoint_fails_f_as_04_instead_of_stopping_the_run() {
    // Arrange: the AS lacks permission_endpoint and registration_endpoint, yet the profile
    // claims dcr and maps the ICG+PKCE profile URI the AS advertises.
    let base = scripted_as(
        |b| discovery(b, &["permission_endpoint"]),
        json!({"access_token": "pat-value-1234", "token_type": "bearer"}),
    )
    .await;
    let text = profile_text(
        &base,
        "capabilities: [dcr]\nprofile_uris: { icg-pkce: \"https://vendor.example/uma/pkce\" }\n",
    );

    // Act
    let report = run_profile(&text, "as/discovery/").await;

    // Assert: no configuration error, a warning naming the member, and F-AS-04 failed.
    let problems = &report.preflight.problems;
    assert!(problems.iter().all(|p| p.severity != Severity::Error), "{problems:?}");
    assert!(
        problems
            .iter()
            .any(|p| p.what.contains("no `permission_endpoint` (F-AS-04)")),
        "{problems:?}"
    );
    let doc = report
        .scenarios
        .iter()
        .find(|s| s.id == "as/discovery/uma2-configuration")
        .expect("the discovery scenario ran");
    assert_eq!(doc.verdict, Verdict::Fail, "{:?}", doc.checks);
    assert!(
        doc.checks.iter().any(|c| c.verdict == Verdict::Fail
            && c.requirement.as_ref().is_some_and(|r| r.as_str() == "F-AS-04")
            && c.title.contains("permission_endpoint")),
        "{:?}",
        doc.checks
    );
    assert_ne!(exit::of(&report), exit::CONFIG);

    // The claimed dcr is dropped with its reason; the mapped profile URI counts as advertised.
    let dcr = report
        .scenarios
        .iter()
        .find(|s| s.id == "as/discovery/registration-endpoint")
        .unwrap();
    assert_eq!(dcr.verdict, Verdict::Skip);
    assert_eq!(
        dcr.reason.as_deref(),
        Some("claimed dcr but discovery has no registration_endpoint")
    );
    let pkce = report
        .scenarios
        .iter()
        .find(|s| s.id == "as/discovery/pkce-advertised")
        .unwrap();
    assert!(
        pkce.checks
            .iter()
            .any(|c| c.title.contains("uma_profiles_supported") && c.verdict == Verdict::Pass),
        "{:?} {:?}",
        pkce.verdict,
        pkce.checks
    );
}

#[tokio::test]
async fn a_scenario_request_to_an_origin_outside_the_rule_is_refused_and_an_oversized_body_is_cut() {
    // Arrange: a one-file suite whose steps go to a remote origin and to a 2 MiB answer.
    let big = serve(axum::Router::new().route(
        "/big",
        get(|| async { ([("content-type", "text/plain")], vec![b'x'; 2 * MIB as usize]).into_response() }),
    ))
    .await;
    let suites = tempfile::tempdir().unwrap();
    let dir = suites.path().join("as/guard");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("big.yaml"),
        format!(
            "id: as/guard/big\ntitle: a big answer\nrequirements: [G-AS-01]\nsteps:\n  - http: {{ url: \"{big}/big\" }}\n    expect: {{ req: G-AS-01, status: 200 }}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("remote.yaml"),
        "id: as/guard/remote\ntitle: a remote origin\nrequirements: [G-AS-01]\nsteps:\n  - http: { url: \"https://remote.example/x\" }\n    expect: { req: G-AS-01, status: 200 }\n",
    )
    .unwrap();
    let req = RunRequest {
        suites: suites.path().to_path_buf(),
        roles: vec![uma_conformance::Role::As],
        jobs: 1,
        ..RunRequest::default()
    };

    // Act: against the embedded reference AS.
    let report = uma_conformance::run(&req).await.unwrap();

    // Assert
    let by_id = |id: &str| report.scenarios.iter().find(|s| s.id == id).unwrap();
    let remote = by_id("as/guard/remote");
    assert_eq!(remote.verdict, Verdict::Error);
    assert!(
        remote
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("refusing to send a request to https://remote.example/x")),
        "{:?}",
        remote.reason
    );
    let cut = by_id("as/guard/big");
    assert_eq!(cut.verdict, Verdict::Pass, "{:?}", cut.checks);
    assert_eq!(
        cut.exchanges[0].transport_error.as_deref(),
        Some("body larger than 1048576 bytes; the rest was not read")
    );
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
