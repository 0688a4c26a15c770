//! Hostile targets, scripted with wiremock: authorization servers that answer garbage, answer
//! late, redirect, or send huge bodies, and a resource server whose challenge is malformed. Each
//! test states its hostile behaviour in a few lines and checks two things: the kind of verdict
//! (a harness or transport problem is a preflight problem or an `error` check without a
//! requirement ID; a protocol violation is a `fail` citing its requirement), and that the
//! message names the real cause.
//!
//! Protocol-true counterparts stay the reference servers behind the recorder; wiremock cannot
//! play a body that never ends or one that drips after its headers, which `tests/guarded.rs`
//! serves by hand.

use std::time::Duration;

use serde_json::{Value, json};
use uma_conformance::outcome::{CheckKind, Severity};
use uma_conformance::{Report, RunRequest, Verdict, exit};
use wiremock::http::HeaderValue;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const MIB: usize = 1 << 20;
const DISCOVERY: &str = "/.well-known/uma2-configuration";

/// A discovery document of `base` with every member the suites use.
fn discovery(base: &str) -> Value {
    json!({
        "issuer": base,
        "token_endpoint": format!("{base}/token"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["urn:ietf:params:oauth:grant-type:uma-ticket", "client_credentials"],
        "permission_endpoint": format!("{base}/permission"),
        "resource_registration_endpoint": format!("{base}/resource_set"),
        "uma_profiles_supported": ["https://vendor.example/uma/pkce"],
        "code_challenge_methods_supported": ["S256"],
    })
}

/// Mounts `answer` for `GET path` (or any method on `POST` paths) on `server`.
async fn on(server: &MockServer, verb: &str, at: &str, answer: ResponseTemplate) {
    Mock::given(method(verb))
        .and(path(at))
        .respond_with(answer)
        .mount(server)
        .await;
}

/// An AS serving `doc` as its discovery document and `token` (a JSON body) at its token
/// endpoint.
async fn scripted_as(doc: impl FnOnce(&str) -> Value, token: Value) -> MockServer {
    let server = MockServer::start().await;
    let doc = doc(&server.uri());
    on(&server, "GET", DISCOVERY, ResponseTemplate::new(200).set_body_json(doc)).await;
    on(
        &server,
        "POST",
        "/token",
        ResponseTemplate::new(200).set_body_json(token),
    )
    .await;
    server
}

fn pat() -> Value {
    json!({"access_token": "pat-value-1234", "token_type": "Bearer"})
}

fn profile_text(issuer: &str, extra: &str) -> String {
    format!(
        "name: scripted AS\nrole: as\nissuer: {issuer}\nallow_http: true\nclients:\n  rs: {{ client_id: rs, client_secret: rs-secret-value }}\n  client: {{ client_id: c, client_secret: c-secret-value, scopes: [view] }}\npolicy: {{ kind: manual }}\n{extra}"
    )
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
    // Bounded: a hostile target never holds a run for long.
    tokio::time::timeout(Duration::from_secs(120), uma_conformance::run(&req))
        .await
        .expect("the run ends in bounded time")
        .unwrap()
}

/// The discovery scenario against `server`, with `extra` profile lines.
async fn discovery_run(server: &MockServer, extra: &str) -> Report {
    run_profile(&profile_text(&server.uri(), extra), "as/discovery/uma2-configuration").await
}

/// The preflight's error, which must name `cause`; the run stops as a configuration problem:
/// exit 2, every scenario an `error` without a requirement, no check failed.
fn stopped_by_the_preflight(report: &Report, cause: &str) -> String {
    let what = report
        .preflight
        .problems
        .iter()
        .find(|p| p.severity == Severity::Error)
        .map(|p| p.what.clone())
        .unwrap_or_else(|| panic!("no preflight error: {:?}", report.preflight.problems));
    assert!(what.contains(cause), "{what}");
    assert_eq!(exit::of(report), exit::CONFIG);
    assert!(!report.scenarios.is_empty());
    for s in &report.scenarios {
        assert_eq!(s.verdict, Verdict::Error, "{}", s.trial);
        assert!(
            s.reason.as_deref().is_some_and(|r| r.contains(cause)),
            "{}: {:?}",
            s.trial,
            s.reason
        );
        assert!(
            s.checks
                .iter()
                .all(|c| c.requirement.is_none() && c.verdict != Verdict::Fail),
            "{}: {:?}",
            s.trial,
            s.checks
        );
    }
    what
}

async fn requests_to(server: &MockServer) -> usize {
    server.received_requests().await.map_or(0, |r| r.len())
}

#[tokio::test]
async fn a_discovery_answer_in_html_stops_the_run_naming_its_content_type_and_first_bytes() {
    // Hostile: the issuer serves a login page where the discovery document should be.
    let server = MockServer::start().await;
    let page = ResponseTemplate::new(200).set_body_raw("<html><body>please log in</body></html>", "text/html");
    on(&server, "GET", DISCOVERY, page).await;

    let report = run_profile(&profile_text(&server.uri(), ""), "as/discovery/").await;

    let what = stopped_by_the_preflight(&report, "not JSON: first bytes \"<html><body>please log in");
    assert!(what.contains("content-type text/html"), "{what}");
    assert!(
        report
            .preflight
            .problems
            .iter()
            .all(|p| !p.fix.contains("start the authorization server")),
        "it answered: the fix is not to start it"
    );
}

#[tokio::test]
async fn a_discovery_document_with_members_of_the_wrong_type_fails_g_as_07_naming_them() {
    // Hostile: the document is JSON, but `token_endpoint` is a number and
    // `response_types_supported` a string. A protocol violation: a fail citing G-AS-07.
    let server = scripted_as(
        |base| {
            let mut d = discovery(base);
            d["token_endpoint"] = json!(42);
            d["response_types_supported"] = json!("code");
            d
        },
        pat(),
    )
    .await;

    let report = discovery_run(&server, "").await;

    let s = &report.scenarios[0];
    let failed: Vec<_> = s
        .checks
        .iter()
        .filter(|c| c.verdict == Verdict::Fail && c.requirement_str() == "G-AS-07")
        .collect();
    assert!(!failed.is_empty(), "{:?}", s.checks);
    let said: String = failed.iter().map(|c| format!("{} {}\n", c.title, c.actual)).collect();
    for member in ["token_endpoint", "response_types_supported"] {
        assert!(said.contains(member), "{member} is not named: {said}");
    }
    assert!(
        s.checks.iter().all(|c| c.verdict != Verdict::Error),
        "nothing here is a harness problem: {:?}",
        s.checks
    );
    assert_eq!(exit::of(&report), exit::FAIL);
}

#[tokio::test]
async fn a_token_endpoint_answering_garbage_for_the_pat_stops_the_run_quoting_it() {
    // Hostile: the PAT request gets a 200 whose body is not JSON.
    let server = MockServer::start().await;
    on(
        &server,
        "GET",
        DISCOVERY,
        ResponseTemplate::new(200).set_body_json(discovery(&server.uri())),
    )
    .await;
    on(
        &server,
        "POST",
        "/token",
        ResponseTemplate::new(200).set_body_raw("access_token=oops&token_type=bearer", "text/plain"),
    )
    .await;

    let report = discovery_run(&server, "").await;

    let what = stopped_by_the_preflight(&report, "not JSON");
    assert!(what.contains("content-type text/plain"), "{what}");
}

#[tokio::test]
async fn a_pat_response_without_an_access_token_stops_the_run_quoting_the_body() {
    // Hostile: the PAT response is JSON without `access_token`.
    let server = scripted_as(discovery, json!({"token_type": "Bearer", "note": "no token here"})).await;

    let report = discovery_run(&server, "").await;

    let what = stopped_by_the_preflight(&report, "without an `access_token` string");
    assert!(what.contains("no token here"), "{what}");
}

#[tokio::test]
async fn a_pat_that_is_not_a_bearer_token_stops_the_run_without_quoting_the_pat() {
    // Hostile: the PAT comes back as a DPoP token, which the harness cannot use.
    let server = scripted_as(
        discovery,
        json!({"access_token": "pat-value-1234", "token_type": "DPoP"}),
    )
    .await;

    let report = discovery_run(&server, "").await;

    let what = stopped_by_the_preflight(&report, "token_type is `DPoP`, not Bearer");
    assert!(!what.contains("pat-value-1234"), "the PAT is quoted: {what}");
}

#[tokio::test]
async fn a_discovery_answer_later_than_the_request_timeout_names_the_timeout() {
    // Hostile: the AS holds its answer for 5 s; the profile allows 1 s per request.
    let server = MockServer::start().await;
    let late = ResponseTemplate::new(200)
        .set_body_json(discovery(&server.uri()))
        .set_delay(Duration::from_secs(5));
    on(&server, "GET", DISCOVERY, late).await;

    let report = discovery_run(&server, "request_timeout_seconds: 1\n").await;

    let what = stopped_by_the_preflight(&report, "no answer within 1 s");
    assert!(what.starts_with("cannot reach"), "{what}");
}

#[tokio::test]
async fn a_redirected_discovery_is_not_followed_and_names_the_redirect() {
    // Hostile: discovery answers 302 to another origin, which counts what reaches it.
    let foreign = MockServer::start().await;
    on(
        &foreign,
        "GET",
        DISCOVERY,
        ResponseTemplate::new(200).set_body_json(json!({})),
    )
    .await;
    let server = MockServer::start().await;
    let moved = ResponseTemplate::new(302).insert_header("location", format!("{}{DISCOVERY}", foreign.uri()));
    on(&server, "GET", DISCOVERY, moved).await;

    let report = run_profile(&profile_text(&server.uri(), ""), "as/discovery/").await;

    let what = stopped_by_the_preflight(&report, "answered HTTP 302 (a redirect to ");
    assert!(
        what.contains(&format!("{}{DISCOVERY}, not followed", foreign.uri())),
        "{what}"
    );
    assert_eq!(requests_to(&foreign).await, 0, "the redirect was followed");
}

#[tokio::test]
async fn a_token_endpoint_redirecting_elsewhere_never_gets_the_credentials_resent_there() {
    // Hostile: the PAT request (client credentials in it) gets a 307 to another origin.
    let foreign = MockServer::start().await;
    on(
        &foreign,
        "POST",
        "/token",
        ResponseTemplate::new(200).set_body_json(pat()),
    )
    .await;
    let server = MockServer::start().await;
    on(
        &server,
        "GET",
        DISCOVERY,
        ResponseTemplate::new(200).set_body_json(discovery(&server.uri())),
    )
    .await;
    let moved = ResponseTemplate::new(307).insert_header("location", format!("{}/token", foreign.uri()));
    on(&server, "POST", "/token", moved).await;

    let report = discovery_run(&server, "").await;

    let what = stopped_by_the_preflight(&report, "cannot get a PAT: HTTP 307 (a redirect to ");
    assert!(what.contains("not followed"), "{what}");
    assert_eq!(
        requests_to(&foreign).await,
        0,
        "the credentials went to the redirect target"
    );
}

#[tokio::test]
async fn a_cross_origin_token_endpoint_is_refused_before_any_credential_is_sent() {
    // Hostile: discovery names a token endpoint at an origin the profile does not allow.
    let foreign = MockServer::start().await;
    on(
        &foreign,
        "POST",
        "/token",
        ResponseTemplate::new(200).set_body_json(pat()),
    )
    .await;
    let theirs = foreign.uri();
    let server = scripted_as(
        |base| {
            let mut d = discovery(base);
            d["token_endpoint"] = json!(format!("{theirs}/token"));
            d
        },
        pat(),
    )
    .await;
    let text = profile_text(&server.uri(), &format!("allowed_origins: [\"{}\"]\n", server.uri()));

    let report = run_profile(&text, "as/discovery/uma2-configuration").await;

    let what = stopped_by_the_preflight(&report, "`token_endpoint` outside the allowed origins");
    assert!(what.contains(&format!("{theirs}/token")), "{what}");
    assert_eq!(requests_to(&foreign).await, 0, "the foreign origin got a request");
    assert!(report.scenarios.iter().all(|s| s.exchanges.is_empty()));
}

#[tokio::test]
async fn a_discovery_document_over_the_body_cap_is_refused_naming_the_cap() {
    // Hostile: a 2 MiB discovery document (announced by its length): over the default 1 MiB.
    let server = MockServer::start().await;
    let huge = ResponseTemplate::new(200).set_body_raw(vec![b' '; 2 * MIB], "application/json");
    on(&server, "GET", DISCOVERY, huge).await;

    let report = discovery_run(&server, "").await;

    let what = stopped_by_the_preflight(&report, "body larger than 1048576 bytes");
    assert!(!what.contains("cannot reach"), "the AS answered: {what}");
}

#[tokio::test]
async fn the_profiles_max_body_bytes_is_the_cap() {
    // Hostile: an 8 KiB discovery document (a valid one, padded) against `max_body_bytes: 4096`.
    let server = MockServer::start().await;
    let mut doc = discovery(&server.uri());
    doc["padding"] = json!("x".repeat(8 * 1024));
    on(&server, "GET", DISCOVERY, ResponseTemplate::new(200).set_body_json(doc)).await;

    let report = discovery_run(&server, "max_body_bytes: 4096\n").await;

    stopped_by_the_preflight(&report, "body larger than 4096 bytes");
    let fix = &report.preflight.problems[0].fix;
    assert!(fix.contains("max_body_bytes"), "{fix}");
}

#[tokio::test]
async fn a_scenario_answer_over_the_cap_is_cut_and_its_exchange_says_so() {
    // Hostile: a step's URL answers 2 MiB. The step still gets its status; the exchange
    // records that the rest was not read. The embedded reference AS is the target.
    let big = MockServer::start().await;
    on(
        &big,
        "GET",
        "/big",
        ResponseTemplate::new(200).set_body_raw(vec![b'x'; 2 * MIB], "text/plain"),
    )
    .await;
    let suites = tempfile::tempdir().unwrap();
    let dir = suites.path().join("as/guard");
    std::fs::create_dir_all(&dir).unwrap();
    let scenario = |id: &str, url: &str| {
        format!(
            "id: as/guard/{id}\ntitle: {id}\nrequirements: [G-AS-01]\nsteps:\n  - http: {{ url: \"{url}\" }}\n    expect: {{ req: G-AS-01, status: 200 }}\n"
        )
    };
    std::fs::write(dir.join("big.yaml"), scenario("big", &format!("{}/big", big.uri()))).unwrap();
    std::fs::write(dir.join("remote.yaml"), scenario("remote", "https://remote.example/x")).unwrap();
    let req = RunRequest {
        suites: suites.path().to_path_buf(),
        roles: vec![uma_conformance::Role::As],
        jobs: 1,
        ..RunRequest::default()
    };

    let report = uma_conformance::run(&req).await.unwrap();

    let by_id = |id: &str| report.scenarios.iter().find(|s| s.id == id).unwrap();
    let cut = by_id("as/guard/big");
    assert_eq!(cut.verdict, Verdict::Pass, "{:?}", cut.checks);
    assert_eq!(
        cut.exchanges[0].transport_error.as_deref(),
        Some("body larger than 1048576 bytes; the rest was not read")
    );
    // A step to an origin outside the rule is a harness error without a requirement.
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
    assert!(
        remote
            .checks
            .iter()
            .all(|c| c.requirement.is_none() && c.kind == CheckKind::Harness),
        "{:?}",
        remote.checks
    );
}

fn rs_profile(base: &str, extra: &str) -> String {
    format!(
        "name: scripted RS\nrole: rs\n{extra}rs:\n  base_url: {base}\n  as_client: {{ client_id: scripted-rs, client_secret: scripted-rs-secret }}\n  requests:\n    read: {{ path: /a }}\n    other-scope: {{ path: /b }}\n    other-resource: {{ path: /c }}\n"
    )
}

#[tokio::test]
async fn an_rs_whose_challenge_is_garbage_fails_g_rs_03_and_its_control_bytes_are_escaped_on_the_console() {
    // Hostile: every tokenless request gets 401 with a WWW-Authenticate that is no UMA
    // challenge (an unterminated quoted ticket, no as_uri) and carries U+009B (CSI on 8-bit
    // terminals) among its bytes. Run through the CLI, as a user would.
    let rs = MockServer::start().await;
    let garbage = HeaderValue::from_bytes(b"UMA realm=\"photos\xc2\x9b2J\", ticket=\"tkt-0123456789").unwrap();
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(401).insert_header("www-authenticate", garbage))
        .mount(&rs)
        .await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rs.yaml"), rs_profile(&rs.uri(), "")).unwrap();

    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_uma-conformance"))
        .args([
            "run",
            "--strict",
            "--target",
            "rs.yaml",
            "--filter",
            "rs::challenge::tokenless",
            "--out",
            "out",
        ])
        .current_dir(dir.path())
        .output();
    let out = tokio::time::timeout(Duration::from_secs(120), out)
        .await
        .unwrap()
        .unwrap();

    // A protocol violation: exit 1, G-RS-03 failed, and the finding names what is wrong.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(exit::FAIL), "{stdout}");
    let text = std::fs::read_to_string(dir.path().join("out/report.json")).unwrap();
    let report: Report = serde_json::from_str(&text).unwrap();
    let s = &report.scenarios[0];
    let g_rs_03 = s
        .checks
        .iter()
        .find(|c| c.requirement_str() == "G-RS-03" && c.verdict == Verdict::Fail)
        .unwrap_or_else(|| panic!("{:?}", s.checks));
    assert!(
        g_rs_03.actual.contains("no challenge: unterminated quoted-string"),
        "{}",
        g_rs_03.actual
    );
    // What the garbage left untestable (the ticket the RS asked for) is an error without a
    // requirement.
    for c in s.checks.iter().filter(|c| c.verdict == Verdict::Error) {
        assert!(c.requirement.is_none() && c.kind == CheckKind::Harness, "{c:?}");
    }
    // The console shows the finding with the control character escaped, never raw.
    assert!(stdout.contains("fail[G-RS-03]"), "{stdout}");
    assert!(
        !stdout.contains('\u{9b}'),
        "a raw control character reached the console"
    );
    assert!(stdout.contains("\\u{9b}2J"), "{stdout}");
}

#[tokio::test]
async fn a_faulty_rs_gets_findings_and_errors_in_bounded_time_never_a_panic() {
    // Hostile: `read` answers with a malformed challenge, `other-scope` holds its answer for
    // 30 s (the profile allows 1 s), `other-resource` is a plain 500.
    let rs = MockServer::start().await;
    let broken = ResponseTemplate::new(401).insert_header("www-authenticate", "UMA ticket=\"unterminated");
    on(&rs, "GET", "/a", broken).await;
    on(
        &rs,
        "GET",
        "/b",
        ResponseTemplate::new(200).set_delay(Duration::from_secs(30)),
    )
    .await;
    on(&rs, "GET", "/c", ResponseTemplate::new(500).set_body_string("boom")).await;
    let profile = rs_profile(&rs.uri(), "request_timeout_seconds: 1\n");
    let run = |text: String| async move {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("target.yaml");
        std::fs::write(&path, text).unwrap();
        let req = RunRequest {
            target: Some(path),
            strict: true,
            ..RunRequest::default()
        };
        tokio::time::timeout(Duration::from_secs(120), uma_conformance::run(&req))
            .await
            .expect("the run ends in bounded time")
            .unwrap()
    };

    // The two runs wait on the same kind of timeout, so they go at once (issue 13): 16 s one
    // after the other, 15 s together, as the run where every request times out is most of it.
    let (report, timed_out) = tokio::join!(
        run(profile.clone()),
        run(profile.replace("read: { path: /a }", "read: { path: /b }"))
    );

    // The malformed challenge is a finding; what could not be tested says why, without a
    // requirement.
    let tokenless = report
        .scenarios
        .iter()
        .find(|s| s.id == "rs/challenge/tokenless")
        .unwrap();
    assert!(
        tokenless
            .checks
            .iter()
            .any(|c| c.requirement_str() == "G-RS-03" && c.verdict == Verdict::Fail),
        "{:?}",
        tokenless.checks
    );
    for s in &report.scenarios {
        if s.verdict == Verdict::Error {
            assert!(s.reason.as_deref().is_some_and(|r| !r.is_empty()), "{}", s.trial);
        }
        for c in s.checks.iter().filter(|c| c.verdict == Verdict::Error) {
            assert!(
                c.requirement.is_none() && c.kind == CheckKind::Harness,
                "{}: {c:?}",
                s.trial
            );
        }
    }

    // Hostile: every request is the one that never answers in time. No answer is never a
    // conformance failure: every scenario that runs is an error naming the timeout.
    let report = timed_out;

    assert_eq!(
        report.summary.checks.fail, 0,
        "no answer is never a conformance failure"
    );
    let ran: Vec<_> = report.scenarios.iter().filter(|s| s.verdict != Verdict::Skip).collect();
    assert!(!ran.is_empty());
    for s in ran {
        assert_eq!(s.verdict, Verdict::Error, "{}", s.trial);
        let said = format!("{:?} {:?}", s.reason, s.checks);
        assert!(said.contains("within 1 s"), "{}: {said}", s.trial);
    }
}

#[tokio::test]
async fn a_discovery_document_without_permission_endpoint_fails_f_as_04_instead_of_stopping_the_run() {
    // Hostile: the AS lacks `permission_endpoint` and `registration_endpoint`, yet the profile
    // claims dcr and maps the ICG+PKCE profile URI the AS advertises. A missing member is the
    // scenarios' to judge (a fail citing F-AS-04), not a configuration error.
    let server = scripted_as(
        |b| {
            let mut d = discovery(b);
            d.as_object_mut().unwrap().remove("permission_endpoint");
            d
        },
        json!({"access_token": "pat-value-1234", "token_type": "bearer"}),
    )
    .await;
    let text = profile_text(
        &server.uri(),
        "capabilities: [dcr]\nprofile_uris: { icg-pkce: \"https://vendor.example/uma/pkce\" }\n",
    );

    let report = run_profile(&text, "as/discovery/").await;

    // No configuration error, a warning naming the member, and F-AS-04 failed.
    let problems = &report.preflight.problems;
    assert!(problems.iter().all(|p| p.severity != Severity::Error), "{problems:?}");
    assert!(
        problems
            .iter()
            .any(|p| p.what.contains("no `permission_endpoint` (F-AS-04)")),
        "{problems:?}"
    );
    let by_id = |id: &str| report.scenarios.iter().find(|s| s.id == id).unwrap();
    let doc = by_id("as/discovery/uma2-configuration");
    assert_eq!(doc.verdict, Verdict::Fail, "{:?}", doc.checks);
    assert!(
        doc.checks.iter().any(|c| c.verdict == Verdict::Fail
            && c.requirement_str() == "F-AS-04"
            && c.title.contains("permission_endpoint")),
        "{:?}",
        doc.checks
    );
    assert_ne!(exit::of(&report), exit::CONFIG);
    // The claimed dcr is dropped with its reason; the mapped profile URI counts as advertised.
    let dcr = by_id("as/discovery/registration-endpoint");
    assert_eq!(dcr.verdict, Verdict::Skip);
    assert_eq!(
        dcr.reason.as_deref(),
        Some("claimed dcr but discovery has no registration_endpoint")
    );
    let pkce = by_id("as/discovery/pkce-advertised");
    assert!(
        pkce.checks
            .iter()
            .any(|c| c.title.contains("uma_profiles_supported") && c.verdict == Verdict::Pass),
        "{:?} {:?}",
        pkce.verdict,
        pkce.checks
    );
}
