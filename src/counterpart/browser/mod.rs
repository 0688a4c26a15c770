//! The `browser` claims-gathering driver: a real headless Chromium, driven through WebDriver
//! (chromedriver, with the fantoccini client), plays the requesting party at the AS's claims
//! pages, scripted by the profile's `steps:`.
//!
//! chromedriver is started on a free loopback port the first time a scenario needs it and is
//! stopped (by its own handle) when the run ends; each claims pass gets a browser session as
//! fresh as a new one (a new session, or one emptied after an earlier pass: module `reuse`),
//! at most [`SESSIONS`] at once. A pass is bounded by the profile's timeout;
//! after the last step the driver waits for the browser to arrive back at the claims
//! redirection URI, or to settle on another page of the AS (an error page): both are answers
//! the scenario judges. Anything else (a selector that never matches, a page that never
//! settles, chromedriver missing) is a harness `error`, with a screenshot of the page.
//!
//! What a screenshot can show: what the requesting party would see. Before it is taken, the
//! driver empties every password field and every field holding a value the caller marks secret
//! (profile values from the environment); hidden fields (CSRF tokens) are never drawn. Its
//! file name is made of the scenario id and the step number only.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use serde_json::json;

use crate::profile::BrowserStep;

mod drive;
mod launch;
mod network;
mod reuse;

use drive::drive;

use launch::{LAUNCHES, launch};
pub use network::Hop;
use network::Network;

/// Browser sessions at once (each is a Chromium process).
pub const SESSIONS: usize = 2;
/// How long a page of the AS must stay unchanged, after the last step, to count as the AS's
/// answer (no redirect back).
pub const SETTLE: Duration = Duration::from_secs(2);
/// How often the driver looks at the page while it waits.
const POLL: Duration = Duration::from_millis(100);
/// The most chromedriver may take to come up.
const STARTUP: Duration = Duration::from_secs(30);

/// Why a browser pass could not be completed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct BrowserError {
    /// What went wrong, with no secret in it (URLs lose their query).
    pub message: String,
    /// What the driver did before it stopped.
    pub log: Vec<String>,
    /// The screenshot taken when it stopped, if one could be.
    pub screenshot: Option<PathBuf>,
    /// The browser's traffic until then.
    pub hops: Vec<Hop>,
}

/// Where a pass ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arrival {
    /// The browser arrived at the claims redirection URI: this full URL.
    Back(String),
    /// The browser settled on another page (an error page of the AS): this URL.
    Stayed(String),
}

/// One pass through the claims pages.
#[derive(Debug, Clone)]
pub struct Pass {
    /// The claims interaction URL to open.
    pub start: String,
    /// The claims redirection URI without query or fragment: arriving there ends the pass.
    pub back: String,
    /// The steps, placeholders already replaced.
    pub steps: Vec<BrowserStep>,
    /// Scenario overrides applied just before the first click: form values by field name, a
    /// forged `csrf_token`, and dropping the cookies.
    pub set_fields: Vec<(String, String)>,
    /// Drop every cookie before the first click.
    pub drop_cookies: bool,
    /// The bound of the whole pass.
    pub timeout: Duration,
    /// Where to write a screenshot on failure.
    pub screenshot: PathBuf,
    /// Values to empty from the page before a screenshot.
    pub secrets: Vec<String>,
}

/// The outcome of a pass: where it ended, what the driver did and the browser's traffic.
#[derive(Debug, Clone)]
pub struct Done {
    /// Where it ended.
    pub arrival: Arrival,
    /// What the driver did, one line per action (URLs without their query).
    pub log: Vec<String>,
    /// The page loads and redirects the browser went through, in order (from Chromium's
    /// performance log).
    pub hops: Vec<Hop>,
    /// The WebDriver session the pass ran in: a session emptied and reused (module `reuse`)
    /// shows the same id again.
    pub session: String,
}

/// The browser of a run: chromedriver, started on first use.
#[derive(Debug)]
pub struct Browser {
    chromedriver: tokio::process::Child,
    url: String,
    chromium: PathBuf,
    accept_private_ca: bool,
    slots: tokio::sync::Semaphore,
    /// Sessions opened ahead of need (a pass must not wait seconds for Chromium while its
    /// ticket ages) or emptied after a pass, with their ids.
    ready: std::sync::Mutex<Vec<(Client, String)>>,
    /// Sessions open or being opened, ready or in use.
    live: std::sync::atomic::AtomicUsize,
}

impl Drop for Browser {
    /// Ends the sessions opened ahead of need (Chromium outlives a killed chromedriver), then
    /// chromedriver is killed by its handle. Plain blocking HTTP on loopback, bounded.
    fn drop(&mut self) {
        use std::io::Write;
        let ids: Vec<String> = self
            .ready
            .get_mut()
            .map(|r| r.drain(..).map(|(_, id)| id).collect())
            .unwrap_or_default();
        let addr = self.url.trim_start_matches("http://").to_string();
        for id in ids {
            let Ok(sock) = addr.parse::<std::net::SocketAddr>() else {
                break;
            };
            if let Ok(mut stream) = std::net::TcpStream::connect_timeout(&sock, Duration::from_secs(1)) {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let _ = write!(
                    stream,
                    "DELETE /session/{id} HTTP/1.1\r\nhost: {addr}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
                let _ = std::io::Read::read(&mut stream, &mut [0u8; 512]);
            }
        }
    }
}

/// Finds a program on the PATH (or takes a path as given).
pub fn which(name: &str) -> Option<PathBuf> {
    let p = Path::new(name);
    if p.components().count() > 1 {
        return p.is_file().then(|| p.to_path_buf());
    }
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

/// A URL without its query and fragment (for logs and messages: the query holds tickets).
pub fn shown(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            let had = u.query().is_some() || u.fragment().is_some();
            u.set_query(None);
            u.set_fragment(None);
            format!("{u}{}", if had { "?…" } else { "" })
        }
        Err(_) => "(not a URL)".into(),
    }
}

impl Browser {
    /// Starts chromedriver. `accept_private_ca`: the target's certificates come from a CA the
    /// profile names (or the run's own test CA), which the harness has verified on the same
    /// origin; Chromium does not know that CA, so the session accepts the certificates.
    pub async fn start(
        chromedriver: Option<&str>,
        chromium: Option<&str>,
        accept_private_ca: bool,
    ) -> Result<Self, String> {
        let driver_name = chromedriver.unwrap_or("chromedriver");
        let chromium_name = chromium.unwrap_or("chromium");
        let missing = |what: &str| {
            format!(
                "the browser driver needs {what} (Debian: apt-get install chromium chromium-driver; or set \
                 `claims.chromedriver` / `claims.chromium` in the profile)"
            )
        };
        let driver_path = which(driver_name).ok_or_else(|| missing(driver_name))?;
        let chromium = which(chromium_name).ok_or_else(|| missing(chromium_name))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| e.to_string())?;
        // A port asked of the kernel and released may be taken before chromedriver binds it
        // (by a counterpart of the same run starting on port 0): chromedriver then exits, and
        // it is started again on another port.
        let mut up = None;
        for _ in 0..LAUNCHES {
            up = launch(&driver_path, &http).await?;
            if up.is_some() {
                break;
            }
        }
        let Some((child, url)) = up else {
            return Err(format!(
                "chromedriver ({}) exited at start {LAUNCHES} times (is its port taken?)",
                driver_path.display()
            ));
        };
        Ok(Self {
            chromedriver: child,
            url,
            chromium,
            accept_private_ca,
            slots: tokio::sync::Semaphore::new(SESSIONS),
            ready: std::sync::Mutex::new(Vec::new()),
            live: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    /// Opens sessions in the background until [`SESSIONS`] are open (ready or in use).
    pub fn warm(self: &Arc<Self>) {
        use std::sync::atomic::Ordering::SeqCst;
        let missing = self
            .live
            .fetch_update(SeqCst, SeqCst, |n| Some(n.max(SESSIONS)))
            .map_or(0, |n| SESSIONS.saturating_sub(n));
        for _ in 0..missing {
            let me = Arc::clone(self);
            tokio::spawn(async move {
                match me.session().await {
                    Ok(client) => me.keep(client).await,
                    Err(_) => {
                        me.live.fetch_sub(1, SeqCst);
                    }
                }
            });
        }
    }

    /// Puts an open session among the ready ones, or closes it when [`SESSIONS`] are ready.
    async fn keep(&self, client: Client) {
        let id = client.session_id().await.ok().flatten().unwrap_or_default();
        let extra = match self.ready.lock() {
            Ok(mut r) if r.len() < SESSIONS => {
                r.push((client, id));
                None
            }
            _ => Some(client),
        };
        if let Some(client) = extra {
            self.close(client).await;
        }
    }

    /// Ends a session.
    async fn close(&self, client: Client) {
        let _ = client.close().await;
        self.live.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }

    async fn session(&self) -> Result<Client, String> {
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert("acceptInsecureCerts".into(), json!(self.accept_private_ca));
        caps.insert("goog:loggingPrefs".into(), json!({"performance": "ALL"}));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": self.chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", "--window-size=1024,900",
                ],
            }),
        );
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .map_err(|e| format!("chromedriver could not open a browser session: {e}"))
    }

    /// Runs one pass in a fresh session.
    pub async fn run(self: &Arc<Self>, pass: &Pass) -> Result<Done, BrowserError> {
        let mut log = Vec::new();
        let fail = |message: String, log: Vec<String>, screenshot| BrowserError {
            message,
            log,
            screenshot,
            hops: Vec::new(),
        };
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|_| fail("the browser was shut down".into(), Vec::new(), None))?;
        let deadline = Instant::now() + pass.timeout;
        let waiting = self.ready.lock().ok().and_then(|mut r| r.pop());
        let client = match waiting {
            Some((c, _)) => c,
            None => {
                self.live.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                match self.session().await {
                    Ok(c) => c,
                    Err(m) => {
                        self.live.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                        return Err(fail(m, Vec::new(), None));
                    }
                }
            }
        };
        self.warm();
        let session = client.session_id().await.ok().flatten().unwrap_or_default();
        let mut net = Network::default();
        let result = tokio::time::timeout(pass.timeout, drive(&client, pass, deadline, &mut log, &mut net)).await;
        let outcome = match result {
            Ok(Ok(arrival)) => {
                net.read(&client).await;
                Ok(Done {
                    arrival,
                    log,
                    hops: net.hops,
                    session,
                })
            }
            Ok(Err(message)) => {
                let shot = screenshot(&client, pass).await;
                net.read(&client).await;
                Err(BrowserError {
                    hops: net.hops,
                    ..fail(message, log, shot)
                })
            }
            Err(_) => {
                let shot = screenshot(&client, pass).await;
                net.read(&client).await;
                Err(BrowserError {
                    hops: net.hops,
                    ..fail(
                        format!(
                            "the browser pass did not finish within {} s (last: {})",
                            pass.timeout.as_secs(),
                            log.last().map_or("opening the claims page", String::as_str)
                        ),
                        log,
                        shot,
                    )
                })
            }
        };
        // A session that ended a pass as expected is emptied for the next one; after an error
        // (a page that never settled, a lost window) it is closed.
        let emptied = match &outcome {
            Ok(done) => {
                let urls = done.hops.iter().map(|h| h.url.as_str());
                let origins = reuse::origins(urls.chain([pass.start.as_str(), pass.back.as_str()]));
                reuse::empty(&client, &origins).await.is_ok()
            }
            Err(_) => false,
        };
        if emptied {
            self.keep(client).await;
        } else {
            self.close(client).await;
        }
        outcome
    }

    /// Stops chromedriver (also done when the browser is dropped).
    pub async fn stop(mut self) {
        let _ = self.chromedriver.kill().await;
    }
}

/// Empties password fields and fields holding a secret, then saves a screenshot.
async fn screenshot(client: &Client, pass: &Pass) -> Option<PathBuf> {
    let _ = client
        .execute(
            "var secrets = arguments[0]; var els = document.querySelectorAll('input, textarea'); \
             for (var i = 0; i < els.length; i++) { var e = els[i]; \
               if (e.type === 'password' || secrets.indexOf(e.value) >= 0) e.value = ''; } return true;",
            vec![json!(pass.secrets)],
        )
        .await;
    let png = tokio::time::timeout(Duration::from_secs(10), client.screenshot())
        .await
        .ok()?
        .ok()?;
    if let Some(dir) = pass.screenshot.parent() {
        std::fs::create_dir_all(dir).ok()?;
    }
    std::fs::write(&pass.screenshot, png).ok()?;
    Some(pass.screenshot.clone())
}

/// A file name for a screenshot: the scenario id and the step number, nothing else.
pub fn screenshot_name(scenario: &str, step: usize) -> String {
    let slug: String = scenario
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("{}-step{}.png", slug.trim_matches('-'), step + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_urls_lose_their_query_and_fragment() {
        assert_eq!(
            shown("http://127.0.0.1:9/c/claims?ticket=abc&state=s#f"),
            "http://127.0.0.1:9/c/claims?…"
        );
        assert_eq!(shown("https://as.example/claims"), "https://as.example/claims");
        assert_eq!(shown("::"), "(not a URL)");
    }

    #[test]
    fn screenshot_names_are_made_of_the_scenario_id_and_step_only() {
        assert_eq!(
            screenshot_name("as/claims-interaction/full-flow", 2),
            "as-claims-interaction-full-flow-step3.png"
        );
    }
}
