//! The browser's traffic: Chromium's performance log (WebDriver's `se/log` command), read as
//! the page loads and redirects of the top document.

use fantoccini::Client;
use serde_json::Value;

/// One page load or redirect of the browser, as Chromium's network log tells it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hop {
    /// `GET` or `POST`.
    pub method: String,
    /// The URL requested.
    pub url: String,
    /// The names of the form fields a `POST` sent (never their values).
    pub fields: Vec<String>,
    /// The status, when an answer came.
    pub status: Option<u16>,
    /// The answer's headers.
    pub headers: Vec<(String, String)>,
    /// Why no answer came (Chromium's error text).
    pub failed: Option<String>,
}

/// Chromium's performance log, read as document loads and redirects.
#[derive(Debug, Default)]
pub(super) struct Network {
    pub(super) hops: Vec<Hop>,
    /// The Chromium request id of each hop.
    ids: Vec<String>,
}

/// WebDriver's (chromedriver's) log command, for the `performance` log.
#[derive(Debug)]
struct PerformanceLog;

impl fantoccini::wd::WebDriverCompatibleCommand for PerformanceLog {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (reqwest::Method, Option<String>) {
        (reqwest::Method::POST, Some(r#"{"type":"performance"}"#.into()))
    }
}

fn headers_of(v: &Value) -> Vec<(String, String)> {
    v.as_object()
        .map(|m| {
            m.iter()
                .flat_map(|(k, v)| {
                    // Chromium joins repeated headers with newlines.
                    v.as_str()
                        .unwrap_or_default()
                        .split('\n')
                        .map(|one| (k.to_ascii_lowercase(), one.to_string()))
                        .collect::<Vec<_>>()
                })
                .collect()
        })
        .unwrap_or_default()
}

impl Network {
    /// Reads (and so empties) the browser's performance log.
    pub(super) async fn read(&mut self, client: &Client) {
        let Ok(entries) = client.issue_cmd(PerformanceLog).await else {
            return;
        };
        for entry in entries.as_array().into_iter().flatten() {
            let Some(Ok(message)) = entry["message"].as_str().map(serde_json::from_str::<Value>) else {
                continue;
            };
            self.event(&message["message"]);
        }
    }

    fn hop(&mut self, id: &str) -> Option<&mut Hop> {
        let i = self.ids.iter().rposition(|x| x == id)?;
        self.hops.get_mut(i)
    }

    fn event(&mut self, m: &Value) {
        let p = &m["params"];
        if p["type"] != "Document" {
            return;
        }
        let id = p["requestId"].as_str().unwrap_or_default().to_string();
        match m["method"].as_str() {
            Some("Network.requestWillBeSent") => {
                let redirect = &p["redirectResponse"];
                if redirect.is_object()
                    && let Some(h) = self.hop(&id)
                {
                    h.status = redirect["status"].as_u64().map(|s| s as u16);
                    h.headers = headers_of(&redirect["headers"]);
                }
                let request = &p["request"];
                let fields = request["postData"]
                    .as_str()
                    .map(|body| {
                        url::form_urlencoded::parse(body.as_bytes())
                            .map(|(k, _)| k.into_owned())
                            .collect()
                    })
                    .unwrap_or_default();
                self.hops.push(Hop {
                    method: request["method"].as_str().unwrap_or("GET").to_string(),
                    url: request["url"].as_str().unwrap_or_default().to_string(),
                    fields,
                    ..Hop::default()
                });
                self.ids.push(id);
            }
            Some("Network.responseReceived") => {
                if let Some(h) = self.hop(&id) {
                    h.status = p["response"]["status"].as_u64().map(|s| s as u16);
                    h.headers = headers_of(&p["response"]["headers"]);
                }
            }
            Some("Network.loadingFailed") => {
                if let Some(h) = self.hop(&id)
                    && h.status.is_none()
                {
                    h.failed = p["errorText"].as_str().map(str::to_string);
                }
            }
            _ => {}
        }
    }
}
