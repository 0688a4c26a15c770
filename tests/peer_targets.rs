//! RS and client targets described by a profile, the way a third party tests its own product: the
//! reference RS and the reference client run as separate servers configured with the fixed AS
//! address of the profile (`counterpart.as_port`), and the harness runs the RS and client suites
//! against them through `--target`. Every scenario must pass, as against the embedded ones.

use crate::examples;

use examples::free_port;

use std::net::SocketAddr;

use uma_conformance::outcome::Severity;
use uma_conformance::{Report, Role, RunRequest, Verdict, exit};
use uma_reference_server::types::ClientSecret;

fn any() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

async fn run(profile: &str, dir: &tempfile::TempDir) -> Report {
    let path = dir.path().join("target.yaml");
    std::fs::write(&path, profile).unwrap();
    let req = RunRequest {
        target: Some(path),
        strict: true,
        ..RunRequest::default()
    };
    uma_conformance::run(&req).await.unwrap()
}

fn assert_all_pass(report: &Report, role: Role) {
    assert!(
        report.preflight.problems.iter().all(|p| p.severity != Severity::Error),
        "{:?}",
        report.preflight.problems
    );
    assert!(
        report.scenarios.len() >= 8,
        "only {} scenarios ran",
        report.scenarios.len()
    );
    for s in &report.scenarios {
        assert_eq!(s.role, role);
        assert!(
            matches!(s.verdict, Verdict::Pass | Verdict::Skip),
            "{}: {:?} {:?} {:?}",
            s.trial,
            s.verdict,
            s.reason,
            s.checks
                .iter()
                .filter(|c| c.verdict != Verdict::Pass)
                .collect::<Vec<_>>()
        );
    }
    assert_eq!(exit::of(report), exit::PASS);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_separately_started_rs_passes_the_rs_suite_through_its_profile() {
    let as_port = free_port();
    let cfg = uma_reference_server::rs::RsConfig::new(
        format!("http://127.0.0.1:{as_port}"),
        "example-rs".to_string(),
        ClientSecret::new("example-rs-secret"),
    );
    // Started before the harness's AS exists: it registers its resources on first use.
    let rs = uma_reference_server::rs::ResourceServer::start(cfg, any())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let profile = format!(
        "name: reference RS (separate)\nrole: rs\ncounterpart: {{ as_port: {as_port} }}\nrs:\n  base_url: {}\n  as_client: {{ client_id: example-rs, client_secret: example-rs-secret }}\n  requests:\n    read: {{ path: /photos/beach, scope: view }}\n    other-scope: {{ path: /photos/beach/download, scope: download }}\n    other-resource: {{ path: /photos/sunset, scope: view }}\n",
        rs.base_url()
    );
    let report = run(&profile, &dir).await;
    assert_all_pass(&report, Role::Rs);
    rs.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_rs_configured_with_an_issuer_path_passes_through_counterpart_as_path() {
    // Keycloak's layout (libraries that name their AS by a server URL and a realm): the harness's
    // AS serves discovery and every endpoint under the issuer's path.
    let as_port = free_port();
    let cfg = uma_reference_server::rs::RsConfig::new(
        format!("http://127.0.0.1:{as_port}/realms/interop"),
        "example-rs".to_string(),
        ClientSecret::new("example-rs-secret"),
    );
    let rs = uma_reference_server::rs::ResourceServer::start(cfg, any())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let profile = format!(
        "name: reference RS (issuer path)\nrole: rs\ncounterpart: {{ as_port: {as_port}, as_path: /realms/interop }}\nrs:\n  base_url: {}\n  as_client: {{ client_id: example-rs, client_secret: example-rs-secret }}\n  requests:\n    read: {{ path: /photos/beach, scope: view }}\n    other-scope: {{ path: /photos/beach/download, scope: download }}\n    other-resource: {{ path: /photos/sunset, scope: view }}\n",
        rs.base_url()
    );
    let report = run(&profile, &dir).await;
    assert_all_pass(&report, Role::Rs);
    // Recorded at the issuer's path, the path written once.
    let want = format!("http://127.0.0.1:{as_port}/realms/interop/resource_set");
    let registered = report
        .scenarios
        .iter()
        .flat_map(|s| &s.exchanges)
        .any(|e| e.url == want);
    assert!(registered, "no resource registration at {want} was recorded");
    rs.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_issuer_path_that_is_not_a_plain_path_is_refused() {
    for bad in ["realms", "/realms/", "/realms/../x", "/a b", "/realms?x=1"] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("target.yaml");
        let profile = format!(
            "name: x\nrole: rs\ncounterpart: {{ as_path: \"{bad}\" }}\nrs:\n  base_url: http://127.0.0.1:9\n  as_client: {{ client_id: a, client_secret: b }}\n  requests:\n    read: {{ path: /a }}\n    other-scope: {{ path: /b }}\n    other-resource: {{ path: /c }}\n"
        );
        std::fs::write(&path, profile).unwrap();
        let req = RunRequest {
            target: Some(path),
            ..RunRequest::default()
        };
        let err = uma_conformance::run(&req).await.expect_err(bad);
        assert!(err.to_string().contains("as_path"), "{bad}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_separately_started_client_passes_the_client_suite_through_its_profile() {
    let (as_port, rs_port) = (free_port(), free_port());
    let issuer = format!("http://127.0.0.1:{as_port}");
    let mut cfg =
        uma_reference_server::client::ClientConfig::new("example-client", ClientSecret::new("example-client-secret"));
    cfg.trusted_issuers = Some(vec![issuer]);
    let client = uma_reference_server::client::ReferenceClient::start(cfg, any())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let profile = format!(
        "name: reference client (separate)\nrole: client\ncounterpart: {{ as_port: {as_port}, rs_port: {rs_port} }}\nclient:\n  start_url: \"{}/start?resource={{resource}}&user={{user}}&id_token={{id_token}}\"\n  registration:\n    client_id: example-client\n    client_secret: example-client-secret\n    scopes: [view, download]\n    claims_redirect_uris: [{}]\n  capabilities: [claims-pushing, interactive-claims, polling, rpt-upgrade, pct, profile:icg-pkce, profile:icg-iss]\n  quiet_window_ms: 200\n",
        client.base_url(),
        client.claims_redirect_uri()
    );
    let report = run(&profile, &dir).await;
    assert_all_pass(&report, Role::Client);
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_profile_for_an_rs_that_is_not_running_is_a_configuration_error_not_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let dead = free_port();
    let profile = format!(
        "name: nobody home\nrole: rs\nrs:\n  base_url: http://127.0.0.1:{dead}\n  as_client: {{ client_id: nobody, client_secret: nobody-secret }}\n  requests:\n    read: {{ path: /a }}\n    other-scope: {{ path: /b }}\n    other-resource: {{ path: /c }}\n"
    );
    let report = run(&profile, &dir).await;
    assert!(
        report.scenarios.iter().all(|s| s.verdict == Verdict::Error),
        "an unreachable RS is never a conformance failure"
    );
    let problem = report
        .preflight
        .problems
        .iter()
        .find(|p| p.severity == Severity::Error)
        .unwrap();
    assert!(
        problem.what.contains("cannot reach the resource server"),
        "{}",
        problem.what
    );
    assert_eq!(exit::of(&report), exit::CONFIG);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_command_started_client_runs_the_scenarios_that_need_no_browser() {
    let (as_port, rs_port) = (free_port(), free_port());
    let mut cfg = uma_reference_server::client::ClientConfig::new("cli-client", ClientSecret::new("cli-client-secret"));
    cfg.trusted_issuers = Some(vec![format!("http://127.0.0.1:{as_port}")]);
    let client = uma_reference_server::client::ReferenceClient::start(cfg, any())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The command: curl asks the client to fetch {resource}, as a command-line client would.
    let profile = format!(
        "name: command client\nrole: client\ncounterpart: {{ as_port: {as_port}, rs_port: {rs_port} }}\nclient:\n  start_command:\n    command: [curl, -s, -f, --max-time, \"20\", \"{}/start?resource={{resource}}&user={{user}}&id_token={{id_token}}&token={{access_token}}\"]\n  registration:\n    client_id: cli-client\n    client_secret: cli-client-secret\n    scopes: [view, download]\n    claims_redirect_uris: [{}]\n  capabilities: [claims-pushing, polling, rpt-upgrade, pct]\n  quiet_window_ms: 200\n",
        client.base_url(),
        client.claims_redirect_uri()
    );
    let report = run(&profile, &dir).await;
    let skipped: Vec<_> = report.scenarios.iter().filter(|s| s.verdict == Verdict::Skip).collect();
    assert!(
        skipped
            .iter()
            .any(|s| s.reason.as_deref().unwrap_or("").contains("browser-client")),
        "claims-gathering scenarios are skipped for a client without a browser"
    );
    let ran: Vec<_> = report.scenarios.iter().filter(|s| s.verdict != Verdict::Skip).collect();
    assert!(ran.len() >= 6, "{} scenarios ran", ran.len());
    for s in &ran {
        assert_eq!(s.verdict, Verdict::Pass, "{}: {:?}", s.trial, s.reason);
    }
    // Every run of the command is an exchange: the command line (the access token the harness
    // got for the client redacted), stdout, the exit status and stderr.
    let runs: Vec<_> = ran
        .iter()
        .flat_map(|s| s.exchanges.iter())
        .filter(|e| e.method == "EXEC")
        .collect();
    assert!(runs.len() >= ran.len(), "{} command runs recorded", runs.len());
    for e in &runs {
        assert!(e.url.starts_with("curl -s -f"), "{}", e.url);
        assert!(
            e.url.contains("&token=[secret-"),
            "the access token is redacted: {}",
            e.url
        );
        let code = e.command.as_ref().and_then(|c| c.exit_status);
        assert!(code.is_some(), "the exit status is recorded: {e:?}");
        assert_eq!(e.status, Some(if code == Some(0) { 200 } else { 500 }), "{e:?}");
    }
    assert!(
        runs.iter()
            .any(|e| e.command.as_ref().and_then(|c| c.exit_status) == Some(0)),
        "a flow that ends with the resource exits 0"
    );
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_client_command_is_recorded_with_its_exit_status_and_stderr() {
    let (as_port, rs_port) = (free_port(), free_port());
    let dir = tempfile::tempdir().unwrap();
    let profile = format!(
        "name: failing command\nrole: client\ncounterpart: {{ as_port: {as_port}, rs_port: {rs_port} }}\nclient:\n  start_command:\n    command: [sh, -c, \"echo no route to {{resource}} >&2; echo partial; exit 7\"]\n  registration:\n    client_id: cli-client\n    client_secret: cli-client-secret\n    scopes: [view]\n    claims_redirect_uris: [\"http://127.0.0.1:9/cb\"]\n  quiet_window_ms: 100\n"
    );
    let path = dir.path().join("target.yaml");
    std::fs::write(&path, profile).unwrap();
    let req = RunRequest {
        target: Some(path),
        filter: Some("client::flow::open-policy".into()),
        ..RunRequest::default()
    };
    let report = uma_conformance::run(&req).await.unwrap();
    let scenario = &report.scenarios[0];
    let e = scenario
        .exchanges
        .iter()
        .find(|e| e.method == "EXEC")
        .unwrap_or_else(|| {
            panic!(
                "the command run is recorded; the scenario ended {:?}: {:?}",
                scenario.verdict, scenario.reason
            )
        });
    let run = e.command.as_ref().expect("with how it ended");
    assert_eq!(run.exit_status, Some(7));
    assert!(run.stderr.contains("no route to http://127.0.0.1:"), "{run:?}");
    assert_eq!(e.response_body.as_deref(), Some("partial\n"));
    assert_eq!(e.status, Some(500));
}
