//! The clock adapter (`clock: {kind: command}` in an AS profile, fixtures/targets/adapters/README.md):
//! against an AS the harness does not embed, an expiry scenario asks the adapter to move the AS's
//! clock instead of sleeping through the lifetime, and it runs while no other scenario does (the
//! clock moves for every client of the AS).
//!
//! The AS is the reference AS served by this test with its own router (so the test sees every
//! request it gets), started like a third-party deployment from the example configuration
//! `fixtures/targets/servers/reference-server.yaml` and driven through the example profile
//! `fixtures/targets/reference.yaml`. The adapter is a real program (a bash script) that posts
//! the harness's request to an admin endpoint of this test, which moves the AS's whole clock
//! (`Clock::advance`). Without the harness's exclusive lock, the other scenarios' requests reach
//! the AS while the adapter runs, and the first test fails (checked by turning the lock off).

use crate::examples;

use examples::{example, free_port, with_reference_secrets};

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};
use uma_conformance::{Report, RunRequest, Verdict};
use uma_reference_server::SharedCtx;
use uma_reference_server::{Config, test_app};

/// How long the admin endpoint takes to move the clock: long enough that a scenario running
/// beside the waiting one would send requests meanwhile.
const ADVANCE_TAKES: Duration = Duration::from_millis(300);

/// How late the AS answers each request.
const AS_LATENCY: Duration = Duration::from_millis(5);

/// What the test saw: when each AS request arrived, and each adapter call.
#[derive(Default)]
struct Seen {
    requests: Vec<Instant>,
    advances: Vec<Advance>,
}

struct Advance {
    start: Instant,
    end: Instant,
    request: Value,
}

#[derive(Clone)]
struct Admin {
    ctx: SharedCtx,
    seen: Arc<Mutex<Seen>>,
    /// `Some(error)`: the adapter answers `{"ok": false, "error": …}` and moves nothing.
    refuse: Option<&'static str>,
}

async fn advance(State(admin): State<Admin>, Json(request): Json<Value>) -> Json<Value> {
    let start = Instant::now();
    tokio::time::sleep(ADVANCE_TAKES).await;
    let answer = match admin.refuse {
        Some(error) => json!({"ok": false, "error": error}),
        None => {
            let secs = request["seconds"].as_f64().unwrap_or(0.0).ceil() as i64;
            admin.ctx.clock.advance(secs);
            json!({"ok": true})
        }
    };
    let end = Instant::now();
    admin
        .seen
        .lock()
        .unwrap()
        .advances
        .push(Advance { start, end, request });
    Json(answer)
}

/// Each AS request is recorded and answered a little late, so that the scenarios of the run
/// overlap in time as they would against a remote AS.
async fn record(State(seen): State<Arc<Mutex<Seen>>>, req: Request, next: Next) -> Response {
    seen.lock().unwrap().requests.push(Instant::now());
    tokio::time::sleep(AS_LATENCY).await;
    next.run(req).await
}

async fn serve(router: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

/// The adapter: posts its stdin to the admin endpoint (`host:port` in `$1`) and prints the
/// answer's body. Bash builtins (`/dev/tcp`) and `cat`, so that it starts in milliseconds and the
/// clock moves while the other scenarios of the run would still be running.
const ADAPTER: &str = r#"
body=$(cat)
exec 3<>"/dev/tcp/${1%:*}/${1#*:}"
printf 'POST /clock HTTP/1.0\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s' "${#body}" "$body" >&3
answer=$(cat <&3)
printf '%s\n' "${answer#*$'\r\n\r\n'}"
"#;

/// Runs the `as::ticket` and `as::token` scenarios (`as::t`; one of them, `as::ticket::expired`,
/// waits for its ticket to expire) against the reference AS through the example profile with a clock adapter.
async fn run(refuse: Option<&'static str>) -> (Report, Seen, String) {
    let dir = tempfile::tempdir().unwrap();
    let (as_port, idp_port) = (free_port(), free_port());
    let ports = |t: String| {
        t.replace("127.0.0.1:8080", &format!("127.0.0.1:{as_port}"))
            .replace("9555", &idp_port.to_string())
    };
    let config_file = dir.path().join("server.yaml");
    std::fs::write(&config_file, ports(example("servers/reference-server.yaml"))).unwrap();
    let config = Config::from_file_with(&config_file, &[]).unwrap();
    let issuer = format!("http://127.0.0.1:{as_port}");
    let (router, ctx) = test_app(config, &issuer).await.unwrap();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let router = router.layer(middleware::from_fn_with_state(seen.clone(), record));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", as_port)).await.unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let admin = serve(axum::Router::new().route("/clock", post(advance)).with_state(Admin {
        ctx,
        seen: seen.clone(),
        refuse,
    }))
    .await;

    let script = dir.path().join("clock-adapter.sh");
    std::fs::write(&script, ADAPTER).unwrap();
    let mut profile = with_reference_secrets(ports(example("reference.yaml")));
    profile.push_str(&format!(
        "clock: {{ kind: command, command: [bash, {}, \"{admin}\"], timeout_seconds: 10 }}\n",
        script.display()
    ));
    let path = dir.path().join("target.yaml");
    std::fs::write(&path, profile).unwrap();
    let report = uma_conformance::run(&RunRequest {
        target: Some(path),
        filter: Some("as::t".into()),
        jobs: 4,
        ..RunRequest::default()
    })
    .await
    .unwrap();
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    (report, seen, issuer)
}

fn scenario<'r>(report: &'r Report, id: &str) -> &'r uma_conformance::outcome::ScenarioResult {
    report
        .scenarios
        .iter()
        .find(|s| s.id == id)
        .unwrap_or_else(|| panic!("{id} ran"))
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expiry_scenario_moves_the_clock_through_the_adapter_and_runs_alone() {
    // Act
    let (report, seen, issuer) = run(None).await;

    // Assert: the expiry scenario passed, on a clock the adapter moved once by the declared
    // ticket lifetime plus the scenario's margin (the profile declares 5 s; the scenario adds 1.5).
    let expired = scenario(&report, "as/ticket/expired");
    assert_eq!(expired.verdict, Verdict::Pass, "{expired:#?}");
    assert!(expired.checks.iter().any(|c| c.requirement.is_some()), "{expired:#?}");
    assert_eq!(seen.advances.len(), 1, "one wait in the selection");
    assert_eq!(
        seen.advances[0].request,
        json!({"action": "advance-clock", "issuer": issuer, "seconds": 6.5})
    );
    // Assert: other scenarios ran in the same run, with several at a time...
    assert!(report.scenarios.len() > 10, "{} scenarios", report.scenarios.len());
    assert!(
        report
            .scenarios
            .iter()
            .all(|s| s.verdict == Verdict::Pass || s.verdict == Verdict::Skip),
        "{:#?}",
        report
            .scenarios
            .iter()
            .filter(|s| !matches!(s.verdict, Verdict::Pass | Verdict::Skip))
            .collect::<Vec<_>>()
    );
    // ...but none of them sent the AS anything while the adapter moved its clock.
    let a = &seen.advances[0];
    let during = seen.requests.iter().filter(|t| **t >= a.start && **t <= a.end).count();
    assert_eq!(during, 0, "{during} requests reached the AS while its clock moved");
    assert!(
        seen.requests.len() > 50,
        "the run exercised the AS: {} requests",
        seen.requests.len()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_adapter_that_cannot_move_the_clock_is_a_set_up_error_without_a_requirement() {
    // Act
    let (report, seen, _) = run(Some("the clock is stuck")).await;

    // Assert: the scenario ends in `error`, naming the adapter's answer; nothing is blamed on the AS.
    assert_eq!(seen.advances.len(), 1);
    let expired = scenario(&report, "as/ticket/expired");
    assert_eq!(expired.verdict, Verdict::Error, "{expired:#?}");
    let text = format!("{expired:?}");
    assert!(text.contains("the clock is stuck"), "{text}");
    assert!(
        expired
            .checks
            .iter()
            .all(|c| c.verdict != Verdict::Fail && (c.verdict != Verdict::Error || c.requirement.is_none())),
        "{expired:#?}"
    );
}
