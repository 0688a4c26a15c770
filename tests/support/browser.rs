//! A real headless browser for the page tests (report.html, matrix.html): Debian's Chromium,
//! driven by chromedriver over its WebDriver HTTP API (reqwest; no WebDriver crate needed).
//! chromedriver listens on a free loopback port and is stopped by its PID when the test ends,
//! even on a panic.
//!
//! Without `chromium` and `chromedriver` [`start`] says so loudly and returns `None` (the test
//! passes), unless `CI` is set: then it fails (`.ci/run` installs both).

#![allow(dead_code, reason = "each test binary uses a part of it")]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

/// The W3C key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

/// chromedriver, stopped by its PID when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A browser session (and the chromedriver behind it).
pub(crate) struct Browser {
    http: reqwest::Client,
    base: String,
    _driver: Driver,
}

/// Starts chromedriver and a headless Chromium session, with its files (log, profile) in `dir`;
/// `None` when they are not installed and `CI` is not set.
pub(crate) async fn start(dir: &Path) -> Option<Browser> {
    let (Some(chromium), Some(chromedriver)) = (which("chromium"), which("chromedriver")) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but chromium or chromedriver is missing: .ci/run installs them"
        );
        eprintln!(
            "\n*** SKIPPED: chromium and chromedriver are not installed (apt-get install chromium chromium-driver) ***\n"
        );
        return None;
    };
    std::fs::create_dir_all(dir).unwrap();
    let port = crate::examples::free_port();
    let log_path = dir.join("chromedriver.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let driver = Driver(
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
    assert!(ready, "chromedriver did not start (see {})", log_path.display());
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
    Some(Browser {
        http,
        base: format!("{base}/session/{id}"),
        _driver: driver,
    })
}

impl Browser {
    /// One WebDriver command; panics on a WebDriver error.
    pub(crate) async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
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

    /// Opens a local file (`file://`).
    pub(crate) async fn open(&self, page: &Path) {
        let url = format!("file://{}", page.display());
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    /// The first element matching a CSS selector.
    pub(crate) async fn element(&self, css: &str) -> String {
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

    /// Whether the first element matching a CSS selector is displayed.
    pub(crate) async fn displayed(&self, css: &str) -> bool {
        let id = self.element(css).await;
        self.call(reqwest::Method::GET, &format!("/element/{id}/displayed"), None)
            .await
            .as_bool()
            .unwrap_or(false)
    }

    /// Clicks the first element matching a CSS selector (an `<option>` selects it).
    pub(crate) async fn click(&self, css: &str) {
        let id = self.element(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/click"), Some(json!({})))
            .await;
    }

    /// Runs a script in the page and returns its value.
    pub(crate) async fn script(&self, js: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": js, "args": []})),
        )
        .await
    }

    /// The SEVERE entries of the browser console.
    pub(crate) async fn severe_console_entries(&self) -> Vec<Value> {
        let logs = self
            .call(reqwest::Method::POST, "/se/log", Some(json!({"type": "browser"})))
            .await;
        logs.as_array()
            .map(|a| a.iter().filter(|e| e["level"] == "SEVERE").cloned().collect())
            .unwrap_or_default()
    }

    /// Saves a screenshot of the page as a PNG (a CI artefact, never committed).
    pub(crate) async fn screenshot(&self, path: &Path) {
        let png = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap_or_default())
            .unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "the screenshot is not a PNG");
        std::fs::write(path, &bytes).unwrap();
        eprintln!("screenshot: {}", path.display());
    }

    /// Ends the session (chromedriver stops when the browser is dropped).
    pub(crate) async fn close(self) {
        let _ = self.http.delete(&self.base).send().await;
    }
}
