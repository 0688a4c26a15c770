//! report.html in a real browser: Debian's headless Chromium, driven by chromedriver over its
//! WebDriver HTTP API (reqwest; no WebDriver crate needed). The page of a failing run opens from
//! `file://`, its failures section is displayed, a filter hides what it should, no SEVERE entry
//! reaches the browser console, and a screenshot is kept under the target directory (a CI
//! artefact, never committed).
//!
//! Without `chromium` and `chromedriver` the test says so loudly and passes, unless `CI` is set:
//! then it fails (`.ci/run` installs both).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};
use uma_conformance::report::{self, Context, stable};
use uma_conformance::{Catalogue, Redactor, Role, RunRequest, run};
use uma_reference_server::Quirk;

/// The W3C key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

/// chromedriver, stopped by its PID when the test ends (even on a panic).
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Session {
    http: reqwest::Client,
    base: String,
}

impl Session {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let mut req = self.http.request(method, &url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
        let v: Value = resp.json().await.unwrap_or_else(|e| panic!("{url}: {e}"));
        if let Some(err) = v["value"]["error"].as_str() {
            panic!("{url}: {err}: {}", v["value"]["message"]);
        }
        v["value"].clone()
    }

    async fn element(&self, css: &str) -> String {
        let v = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}"))
            .to_string()
    }

    async fn displayed(&self, css: &str) -> bool {
        let id = self.element(css).await;
        self.call(reqwest::Method::GET, &format!("/element/{id}/displayed"), None)
            .await
            .as_bool()
            .unwrap_or(false)
    }
}

/// The report of a failing run (the AS ticket scenarios under a quirk: some fail, most pass),
/// written as every format.
async fn failing_report(out: &Path) -> PathBuf {
    let req = RunRequest {
        filter: Some("as::ticket::".into()),
        quirks: vec![Quirk::NoTicketRotation],
        roles: vec![Role::As],
        jobs: 1,
        ..RunRequest::default()
    };
    let mut r = run(&req).await.expect("the fixture run");
    stable::stabilize(&mut r);
    let catalogue = Catalogue::load(&req.catalogue).unwrap();
    report::write_all(&r, &Redactor::new(), &Context::new(&catalogue), out).unwrap();
    out.join("report.html")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_its_failures_filters_and_logs_no_error_in_headless_chromium() {
    let (Some(chromium), Some(chromedriver)) = (which("chromium"), which("chromedriver")) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but chromium or chromedriver is missing: .ci/run installs them"
        );
        eprintln!(
            "\n*** SKIPPED: chromium and chromedriver are not installed (apt-get install chromium chromium-driver) ***\n"
        );
        return;
    };
    // Arrange: the page of a failing run, and chromedriver on a free loopback port.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("html-browser");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let page = failing_report(&dir.join("report")).await;
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let log = std::fs::File::create(dir.join("chromedriver.log")).unwrap();
    let _driver = Driver(
        Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    // Bounded: at most 30 s for chromedriver to come up (a bound, not a timed assertion).
    let mut ready = false;
    for _ in 0..300 {
        if let Ok(r) = http.get(format!("{base}/status")).send().await
            && let Ok(v) = r.json::<Value>().await
            && v["value"]["ready"] == true
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        ready,
        "chromedriver did not start (see {})",
        dir.join("chromedriver.log").display()
    );
    let profile = dir.join("chromium-profile");
    let caps = json!({"capabilities": {"alwaysMatch": {
        "browserName": "chrome",
        "goog:loggingPrefs": {"browser": "ALL"},
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
                "--window-size=1280,1600", format!("--user-data-dir={}", profile.display()),
            ],
        },
    }}});
    let created: Value = http
        .post(format!("{base}/session"))
        .json(&caps)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["value"]["sessionId"]
        .as_str()
        .unwrap_or_else(|| panic!("no session: {created}"))
        .to_string();
    let s = Session {
        http,
        base: format!("{base}/session/{id}"),
    };

    // Act: open the page from file://.
    let url = format!("file://{}", page.display());
    s.call(reqwest::Method::POST, "/url", Some(json!({ "url": url }))).await;

    // Assert: the failures come first and are visible.
    assert!(s.displayed("#failures").await, "the failures section is not displayed");
    assert!(s.displayed("#failures .finding.fail").await, "no failure is displayed");
    assert!(s.displayed("#status").await);
    // A filter: "failures only" hides passing scenarios and keeps the failing one.
    assert!(s.displayed("details.scenario[data-verdict='pass']").await);
    let button = s.element("#only-failures").await;
    s.call(
        reqwest::Method::POST,
        &format!("/element/{button}/click"),
        Some(json!({})),
    )
    .await;
    assert!(
        !s.displayed("details.scenario[data-verdict='pass']").await,
        "the filter did not hide a passing scenario"
    );
    assert!(s.displayed("details.scenario[data-verdict='fail']").await);
    // No console error.
    let logs = s
        .call(reqwest::Method::POST, "/se/log", Some(json!({"type": "browser"})))
        .await;
    let severe: Vec<&Value> = logs
        .as_array()
        .map(|a| a.iter().filter(|e| e["level"] == "SEVERE").collect())
        .unwrap_or_default();
    assert!(severe.is_empty(), "console errors: {severe:?}");
    // The screenshot, as a CI artefact.
    let png = s.call(reqwest::Method::GET, "/screenshot", None).await;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(png.as_str().unwrap_or_default())
        .unwrap();
    assert!(bytes.starts_with(b"\x89PNG"), "the screenshot is not a PNG");
    let shot = dir.join("report-html.png");
    std::fs::write(&shot, &bytes).unwrap();
    eprintln!("screenshot: {}", shot.display());
    let _ = s.http.delete(&s.base).send().await;
}
