//! The claims-gathering drivers against the reference AS run as a separate deployment (the
//! example profile `fixtures/targets/reference.yaml` and its server configuration, ports
//! replaced, secrets inline):
//!
//! - `browser`: headless Chromium through chromedriver fills the reference's claims page, and
//!   the page of the `claims-page-script` variant, whose form only a script builds; the form
//!   driver on that page is an `error` naming the cause, never a `fail`;
//! - `manual`: a scripted "person" reads the printed link from the harness's console, completes
//!   the page, and the AS's redirect back reaches the harness's loopback callback; nobody at
//!   all is an `error` at the bound.
//!
//! Without `chromium` and `chromedriver` the browser tests say so loudly and pass, unless `CI`
//! is set (`.ci/run` installs both).

use crate::examples;

use examples::{example, free_port, with_reference_secrets};

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use uma_conformance::{Report, RunRequest, Verdict};
use uma_reference_server::variants::Variant;
use uma_reference_server::{Config, Server};

fn have_browser() -> bool {
    let found = |n: &str| uma_conformance::counterpart::browser::which(n).is_some();
    if found("chromium") && found("chromedriver") {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but chromium or chromedriver is missing: .ci/run installs them"
    );
    eprintln!(
        "\n*** SKIPPED: chromium and chromedriver are not installed (apt-get install chromium chromium-driver) ***\n"
    );
    false
}

/// The reference AS of the example on free ports (the claims redirection URIs on `callback`),
/// and the example profile pointing at it.
struct Deployment {
    server: Server,
    dir: tempfile::TempDir,
    profile: String,
}

impl Deployment {
    async fn start(variants: &[Variant], callback: u16) -> Self {
        let (as_port, idp_port) = (free_port(), free_port());
        let ports = |t: String| {
            t.replace("127.0.0.1:8080", &format!("127.0.0.1:{as_port}"))
                .replace("9555", &idp_port.to_string())
                .replace("127.0.0.1:9/", &format!("127.0.0.1:{callback}/"))
                // A browser session takes seconds to open on a busy machine.
                .replace("lifetimes: { ticket: 5", "lifetimes: { ticket: 60")
        };
        let dir = tempfile::tempdir().unwrap();
        let config_file = dir.path().join("server.yaml");
        std::fs::write(&config_file, ports(example("servers/reference-server.yaml"))).unwrap();
        let config = Config::from_file_with(&config_file, variants).unwrap();
        let server = Server::builder(config).memory().port(as_port).start().await.unwrap();
        let profile = with_reference_secrets(ports(example("reference.yaml")));
        Self { server, dir, profile }
    }

    /// The profile with another `claims:` line.
    fn profile_with(&self, claims: &str) -> std::path::PathBuf {
        let text = self
            .profile
            .replace("claims: { driver: form, fill: { email: \"{email}\" } }", claims);
        assert!(text.contains(claims));
        let path = self.dir.path().join("target.yaml");
        std::fs::write(&path, text).unwrap();
        path
    }

    async fn run(&self, claims: &str, filter: &str) -> Report {
        let req = RunRequest {
            target: Some(self.profile_with(claims)),
            filter: Some(filter.into()),
            artifacts: Some(self.dir.path().join("out")),
            ..RunRequest::default()
        };
        uma_conformance::run(&req).await.unwrap()
    }
}

fn verdicts(report: &Report) -> Vec<(String, Verdict)> {
    report.scenarios.iter().map(|s| (s.id.clone(), s.verdict)).collect()
}

fn no_fail_warn_or_error(report: &Report) {
    let bad: Vec<_> = report
        .scenarios
        .iter()
        .flat_map(|s| s.checks.iter().map(move |c| (s.id.clone(), c)))
        .filter(|(_, c)| matches!(c.verdict, Verdict::Fail | Verdict::Warn | Verdict::Error))
        .map(|(id, c)| format!("{id}: {} {:?}: {}", c.title, c.verdict, c.actual))
        .collect();
    assert!(bad.is_empty(), "{bad:#?}");
}

const BROWSER: &str = "claims: { driver: browser, fill: { email: \"{email}\" } }";
const SCRIPTED_STEPS: &str = "claims: { driver: browser, timeout_seconds: 40, steps: [{ wait_for: \"#claims form\" }, { fill: { selector: \"input[type=email]\", value: \"{email}\" } }, { click: \"button[value={button}]\" }] }";

#[tokio::test(flavor = "multi_thread")]
async fn the_reference_claims_page_passes_with_the_browser_driver_as_with_the_form_driver() {
    if !have_browser() {
        return;
    }
    // Arrange
    let d = Deployment::start(&[], 9).await;

    // Act
    let browser = d.run(BROWSER, "claims-interaction").await;
    let form = d
        .run(
            "claims: { driver: form, fill: { email: \"{email}\" } }",
            "claims-interaction",
        )
        .await;
    d.server.shutdown().await;

    // Assert
    no_fail_warn_or_error(&browser);
    assert_eq!(verdicts(&browser), verdicts(&form));
    let flow = browser
        .scenarios
        .iter()
        .find(|s| s.id == "as/claims-interaction/full-flow")
        .unwrap();
    assert_eq!(flow.verdict, Verdict::Pass);
    let methods: Vec<&str> = flow.exchanges.iter().map(|e| e.method.as_str()).collect();
    assert!(methods.contains(&"BROWSER"), "{methods:?}");
    let posted = flow
        .exchanges
        .iter()
        .find(|e| e.method == "POST" && e.url.ends_with("/claims"))
        .expect("the browser's form post is an exchange");
    let body = posted.request_body.as_deref().unwrap_or_default();
    assert!(body.contains("csrf_token") && !body.contains('='), "names only: {body}");
    assert!(
        posted.response_headers.iter().any(|(k, _)| k == "location"),
        "{posted:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_claims_page_built_by_script_passes_with_the_browser_driver_and_is_an_error_for_the_form_driver() {
    if !have_browser() {
        return;
    }
    // Arrange
    let d = Deployment::start(&[Variant::ClaimsPageScript], 9).await;

    // Act
    let browser = d.run(SCRIPTED_STEPS, "claims-interaction").await;
    let form = d
        .run(
            "claims: { driver: form, fill: { email: \"{email}\" } }",
            "claims-interaction/full-flow",
        )
        .await;
    d.server.shutdown().await;

    // Assert
    no_fail_warn_or_error(&browser);
    assert!(
        browser
            .scenarios
            .iter()
            .all(|s| s.verdict == Verdict::Pass || s.verdict == Verdict::Skip)
    );
    let flow = &form.scenarios[0];
    assert_eq!(flow.verdict, Verdict::Error, "{:#?}", flow.checks);
    assert!(flow.checks.iter().all(|c| c.verdict != Verdict::Fail));
    let error = flow.checks.iter().find(|c| c.verdict == Verdict::Error).unwrap();
    assert!(
        error.actual.contains("built by JavaScript") && error.actual.contains("driver: browser"),
        "{}",
        error.actual
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_browser_step_that_never_matches_is_an_error_with_a_screenshot_named_without_secrets() {
    if !have_browser() {
        return;
    }
    // Arrange
    let d = Deployment::start(&[], 9).await;

    // Act
    let report = d
        .run(
            "claims: { driver: browser, timeout_seconds: 10, steps: [{ click: \"#no-such-button\" }] }",
            "claims-interaction/full-flow",
        )
        .await;
    d.server.shutdown().await;

    // Assert
    let flow = &report.scenarios[0];
    assert_eq!(flow.verdict, Verdict::Error);
    let error = flow.checks.iter().find(|c| c.verdict == Verdict::Error).unwrap();
    assert!(error.actual.contains("#no-such-button"), "{}", error.actual);
    let shot = d
        .dir
        .path()
        .join("out/screenshots/as-claims-interaction-full-flow-step6.png");
    assert!(
        error
            .actual
            .contains("screenshots/as-claims-interaction-full-flow-step"),
        "{}",
        error.actual
    );
    let png = std::fs::read(&shot).unwrap_or_else(|e| panic!("{}: {e}", shot.display()));
    assert!(png.starts_with(b"\x89PNG"));
}

/// Runs the CLI with the manual driver; `person` gets each line the harness prints.
async fn manual_run(d: &Deployment, claims: &str, person: bool) -> (i32, Report, String) {
    let profile = d.profile_with(claims);
    let out = d.dir.path().join("manual-out");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_uma-conformance"))
        .args(["run", "--target"])
        .arg(&profile)
        .args(["--filter", "claims-interaction/full-flow", "--out"])
        .arg(&out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut console = String::new();
    let http = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let mut email = String::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        console.push_str(&line);
        console.push('\n');
        if let Some((_, rest)) = line.split_once("complete the claims page as ") {
            email = rest.split_whitespace().next().unwrap_or_default().to_string();
        }
        let Some(link) = line.split_whitespace().find(|w| w.contains("/go/")).filter(|_| person) else {
            continue;
        };
        // The person: opens the link, fills the claims page and shares (the browser follows
        // the redirects: to the AS's page, and back to the harness's callback).
        let page = http.get(link).send().await.unwrap();
        let page_url = page.url().to_string();
        let html = page.text().await.unwrap();
        let form = uma_conformance::counterpart::forms::parse_forms(&html).remove(0);
        let mut values = std::collections::BTreeMap::new();
        values.insert("email".to_string(), email.clone());
        let body = form.fill(&values, Some("submit"));
        let action = url::Url::parse(&page_url)
            .unwrap()
            .join(form.action.as_deref().unwrap_or(""))
            .unwrap();
        let done = http.post(action).form(&body).send().await.unwrap();
        assert_eq!(done.status(), reqwest::StatusCode::OK);
    }
    let status = tokio::time::timeout(std::time::Duration::from_secs(120), child.wait())
        .await
        .unwrap()
        .unwrap();
    let text = std::fs::read_to_string(out.join("report.json")).unwrap();
    for name in ["ticket=", "state="] {
        for (i, _) in text.match_indices(name) {
            let next = &text[i + name.len()..(i + name.len() + 1).min(text.len())];
            assert!(
                next == "[" || next == "&" || next == "\"",
                "a raw {name} value in report.json"
            );
        }
    }
    let report: Report = serde_json::from_str(&text).unwrap();
    (status.code().unwrap_or(-1), report, console)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_manual_driver_completes_with_a_scripted_person_following_the_printed_link() {
    // Arrange
    let callback = free_port();
    let d = Deployment::start(&[], callback).await;

    // Act
    let (code, report, console) = manual_run(&d, "claims: { driver: manual, timeout_seconds: 60 }", true).await;
    d.server.shutdown().await;

    // Assert
    assert_eq!(code, 0, "{console}");
    assert_eq!(
        report.scenarios[0].verdict,
        Verdict::Pass,
        "{:#?}",
        report.scenarios[0].checks
    );
    assert!(
        console.contains(&format!("http://127.0.0.1:{callback}/go/")),
        "{console}"
    );
    assert!(!console.contains("ticket="), "{console}");
    let manual = report.scenarios[0]
        .exchanges
        .iter()
        .find(|e| e.method == "MANUAL")
        .unwrap();
    assert!(
        manual
            .response_headers
            .iter()
            .any(|(k, v)| k == "location" && v.contains("ticket="))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_manual_driver_without_a_person_is_an_error_at_its_bound_never_a_fail() {
    // Arrange
    let callback = free_port();
    let d = Deployment::start(&[], callback).await;

    // Act
    let (code, report, console) = manual_run(&d, "claims: { driver: manual, timeout_seconds: 2 }", false).await;
    d.server.shutdown().await;

    // Assert
    assert_eq!(code, uma_conformance::exit::ERROR, "{console}");
    let flow = &report.scenarios[0];
    assert_eq!(flow.verdict, Verdict::Error);
    assert!(flow.checks.iter().all(|c| c.verdict != Verdict::Fail));
    let error = flow.checks.iter().find(|c| c.verdict == Verdict::Error).unwrap();
    assert!(
        error.actual.contains("nobody completed the claims page within 2 s"),
        "{}",
        error.actual
    );
}

/// Pages on one loopback origin: `/set` leaves state behind (a cookie set by the server and
/// one set by script, local and session storage) and goes back; `/probe` goes back with what
/// it finds (the cookie the server saw, and the script's view).
async fn state_pages() -> (String, tokio::task::JoinHandle<()>) {
    use axum::http::header;
    use axum::response::Html;
    async fn set() -> impl axum::response::IntoResponse {
        (
            [(header::SET_COOKIE, "server=1; Path=/")],
            Html(
                "<script>document.cookie = 'script=1; path=/'; localStorage.setItem('l', '1'); \
                 sessionStorage.setItem('s', '1'); location.replace('/back?set');</script>",
            ),
        )
    }
    async fn probe(headers: axum::http::HeaderMap) -> Html<String> {
        let server = if headers.contains_key(header::COOKIE) {
            "cookie"
        } else {
            "none"
        };
        Html(format!(
            "<script>location.replace('/back?' + new URLSearchParams({{server: '{server}', \
             cookie: document.cookie, local: localStorage.length, session: sessionStorage.length, \
             history: history.length}}));</script>"
        ))
    }
    let app = axum::Router::new()
        .route("/set", axum::routing::get(set))
        .route("/probe", axum::routing::get(probe))
        .route("/back", axum::routing::get(|| async { "back" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (origin, task)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_browser_session_reused_for_the_next_pass_keeps_nothing_of_the_last_one() {
    use uma_conformance::counterpart::browser::{Arrival, Browser, Pass, SESSIONS};
    if !have_browser() {
        return;
    }
    // Arrange: the pages, and a browser of our own.
    let (origin, _pages) = state_pages().await;
    let shots = tempfile::tempdir().unwrap();
    let browser = std::sync::Arc::new(Browser::start(None, None, false).await.unwrap());
    let pass = |page: &str| Pass {
        start: format!("{origin}/{page}"),
        back: format!("{origin}/back"),
        steps: Vec::new(),
        set_fields: Vec::new(),
        drop_cookies: false,
        timeout: std::time::Duration::from_secs(40),
        screenshot: shots.path().join("shot.png"),
        secrets: Vec::new(),
    };
    let back = |arrival: Arrival| match arrival {
        Arrival::Back(url) => url,
        Arrival::Stayed(url) => panic!("the pass stayed at {url}"),
    };

    // Act: a probe in a new session (nothing is ready yet), then passes that leave state
    // behind, each followed by a probe.
    let fresh = browser.run(&pass("probe")).await.unwrap();
    let mut dirtied = Vec::new();
    let mut probes = Vec::new();
    for _ in 0..3 {
        let set = browser.run(&pass("set")).await.unwrap();
        assert!(back(set.arrival).ends_with("/back?set"));
        dirtied.push(set.session);
        probes.push(browser.run(&pass("probe")).await.unwrap());
    }

    // Assert: every probe found what a new session finds (no cookie, no storage), at least
    // one ran in a session that had run `/set`, and no pass needed a session of its own.
    let expected = back(fresh.arrival.clone());
    assert!(expected.contains("server=none&cookie=&local=0&session=0"), "{expected}");
    let mut sessions = std::collections::BTreeSet::from([fresh.session.clone()]);
    for probe in &probes {
        assert_eq!(back(probe.arrival.clone()), expected);
        sessions.insert(probe.session.clone());
    }
    sessions.extend(dirtied.iter().cloned());
    assert!(
        probes.iter().any(|p| dirtied.contains(&p.session)),
        "no probe ran in a session that had run /set: {sessions:?}"
    );
    assert!(sessions.len() <= SESSIONS, "{} sessions for 7 passes", sessions.len());
}
