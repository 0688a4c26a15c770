//! Reusing a browser session for the next claims pass, as fresh as a new one.
//!
//! A new WebDriver session is a new Chromium process: about a second of CPU, the largest part
//! of a pass against a local AS. After a pass that ended (back at the claims redirection URI or
//! settled on a page of the AS), the session is emptied instead and kept for the next pass:
//!
//! - the pass's tab is replaced by a new one (no history, no `sessionStorage`, no page left
//!   running a script), and a session with any other window open (a popup) is not reused;
//! - every cookie and the HTTP cache are cleared (Chrome DevTools Protocol, through
//!   chromedriver's `goog/cdp/execute`), and every kind of site storage (local storage,
//!   IndexedDB, cache storage, service workers) of each origin the pass loaded a document from;
//! - what is left of the performance log is read and dropped, so the next pass's traffic starts
//!   empty.
//!
//! Any step failing closes the session instead; the next pass then gets a new one.

use std::collections::BTreeSet;

use fantoccini::Client;
use serde_json::{Value, json};

use super::network::Network;

/// A Chrome DevTools Protocol command, through chromedriver.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/goog/cdp/execute", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (reqwest::Method, Option<String>) {
        let body = json!({"cmd": self.cmd, "params": self.params});
        (reqwest::Method::POST, Some(body.to_string()))
    }
}

async fn cdp(client: &Client, cmd: &'static str, params: Value) -> Result<(), String> {
    client
        .issue_cmd(Cdp { cmd, params })
        .await
        .map(drop)
        .map_err(|e| format!("{cmd}: {e}"))
}

/// The origins (`scheme://host:port`) of `urls`, each once.
pub(super) fn origins<'a>(urls: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    urls.into_iter()
        .filter_map(|u| url::Url::parse(u).ok())
        .map(|u| u.origin())
        .filter(url::Origin::is_tuple)
        .map(|o| o.ascii_serialization())
        .collect()
}

/// Empties the session `client` after a pass that loaded documents from `origins`, for the
/// next pass. An error means the session must not be reused.
pub(super) async fn empty(client: &Client, origins: &BTreeSet<String>) -> Result<(), String> {
    let e = |what: &'static str| move |err: fantoccini::error::CmdError| format!("{what}: {err}");
    let windows = client.windows().await.map_err(e("listing the windows"))?;
    if windows.len() != 1 {
        return Err(format!("{} windows open", windows.len()));
    }
    let fresh = client.new_window(true).await.map_err(e("opening a tab"))?.handle;
    client.close_window().await.map_err(e("closing the pass's tab"))?;
    client
        .switch_to_window(fresh)
        .await
        .map_err(e("switching to the new tab"))?;
    cdp(client, "Network.clearBrowserCookies", json!({})).await?;
    cdp(client, "Network.clearBrowserCache", json!({})).await?;
    for origin in origins {
        cdp(
            client,
            "Storage.clearDataForOrigin",
            json!({"origin": origin, "storageTypes": "all"}),
        )
        .await?;
    }
    Network::default().read(client).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_scheme_host_and_port_each_once() {
        let got = origins([
            "http://127.0.0.1:9/c/claims?ticket=abc",
            "http://127.0.0.1:9/other",
            "https://as.example/claims",
            "data:text/html,x",
            "not a url",
        ]);
        assert_eq!(
            got.into_iter().collect::<Vec<_>>(),
            ["http://127.0.0.1:9", "https://as.example"]
        );
    }
}
