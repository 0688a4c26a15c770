//! Driving one pass: opening the claims page, the profile's steps, and waiting for the browser
//! to come back to the claims redirection URI or to settle on another page of the AS.

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use serde_json::{Value, json};

use super::network::Network;
use super::{Arrival, POLL, Pass, SETTLE, shown};
use crate::profile::BrowserStep;

fn left(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

async fn current(client: &Client) -> Result<String, String> {
    client
        .current_url()
        .await
        .map(|u| u.to_string())
        .map_err(|e| format!("the browser lost its page: {e}"))
}

async fn find(client: &Client, selector: &str, deadline: Instant) -> Result<fantoccini::elements::Element, String> {
    client
        .wait()
        .at_most(left(deadline))
        .every(POLL)
        .for_element(Locator::Css(selector))
        .await
        .map_err(|e| format!("no element matches `{selector}` on {}: {e}", "the page"))
}

pub(super) async fn drive(
    client: &Client,
    pass: &Pass,
    deadline: Instant,
    log: &mut Vec<String>,
    net: &mut Network,
) -> Result<Arrival, String> {
    let arrived = |u: &str| u.starts_with(&pass.back);
    client
        .goto(&pass.start)
        .await
        .map_err(|e| format!("the browser could not open {}: {e}", shown(&pass.start)))?;
    log.push(format!("open {}", shown(&pass.start)));
    let first = current(client).await?;
    if arrived(&first) {
        log.push(format!("back at {}", shown(&first)));
        return Ok(Arrival::Back(first));
    }
    // Like the form driver, fill only a page the AS served with 200: another status is its
    // answer (an error page).
    net.read(client).await;
    if let Some(status) = net.hops.iter().rev().find_map(|h| h.status)
        && status != 200
    {
        log.push(format!("the AS answered {status}: no step run"));
        return Ok(Arrival::Stayed(first));
    }
    let mut overridden = false;
    for step in &pass.steps {
        let here = current(client).await?;
        if arrived(&here) {
            log.push("back at the claims redirection URI before the steps ended".into());
            return Ok(Arrival::Back(here));
        }
        log.push(match step {
            BrowserStep::Fill { selector, .. } => format!("fill {selector}"),
            BrowserStep::Click(selector) => format!("click {selector}"),
            BrowserStep::WaitFor(selector) => format!("wait for {selector}"),
            BrowserStep::WaitForUrl(prefix) => format!("wait for {}", shown(prefix)),
        });
        match step {
            BrowserStep::Fill { selector, value } => {
                let el = find(client, selector, deadline).await?;
                el.clear()
                    .await
                    .map_err(|e| format!("cannot clear `{selector}`: {e}"))?;
                el.send_keys(value)
                    .await
                    .map_err(|e| format!("cannot type into `{selector}`: {e}"))?;
            }
            BrowserStep::Click(selector) => {
                let el = find(client, selector, deadline).await?;
                if !overridden {
                    overridden = true;
                    apply_overrides(client, pass, log).await?;
                }
                mark(client).await?;
                el.click()
                    .await
                    .map_err(|e| format!("cannot click `{selector}`: {e}"))?;
            }
            BrowserStep::WaitFor(selector) => {
                find(client, selector, deadline).await?;
            }
            BrowserStep::WaitForUrl(prefix) => loop {
                let u = current(client).await?;
                if u.starts_with(prefix.as_str()) {
                    break;
                }
                if arrived(&u) {
                    return Ok(Arrival::Back(u));
                }
                if left(deadline).is_zero() {
                    return Err(format!("the page never reached {}", shown(prefix)));
                }
                tokio::time::sleep(POLL).await;
            },
        }
    }
    settle(client, pass, deadline, log).await
}

/// The scenario's changes to the form (values, a forged CSRF token, no cookies).
async fn apply_overrides(client: &Client, pass: &Pass, log: &mut Vec<String>) -> Result<(), String> {
    for (name, value) in &pass.set_fields {
        let done = client
            .execute(
                "var els = document.getElementsByName(arguments[0]); \
                 if (!els.length) return false; els[0].value = arguments[1]; return true;",
                vec![json!(name), json!(value)],
            )
            .await
            .map_err(|e| format!("cannot set the field {name}: {e}"))?;
        if done != json!(true) {
            return Err(format!("the page has no field named {name} to set"));
        }
        log.push(format!("set field {name}"));
    }
    if pass.drop_cookies {
        client
            .delete_all_cookies()
            .await
            .map_err(|e| format!("cannot drop the cookies: {e}"))?;
        log.push("dropped every cookie".into());
    }
    Ok(())
}

/// Marks the current document, so that a new one (a navigation) can be told apart.
async fn mark(client: &Client) -> Result<(), String> {
    client
        .execute("window.__umaConformanceMark = true; return true;", vec![])
        .await
        .map(|_| ())
        .map_err(|e| format!("cannot run a script in the page: {e}"))
}

/// Waits for the browser to arrive back, or to settle on a new page of the AS.
async fn settle(client: &Client, pass: &Pass, deadline: Instant, log: &mut Vec<String>) -> Result<Arrival, String> {
    let mut last = String::new();
    let mut since = Instant::now();
    loop {
        let u = current(client).await?;
        if u.starts_with(&pass.back) {
            log.push(format!("back at {}", shown(&u)));
            return Ok(Arrival::Back(u));
        }
        if u != last {
            last = u.clone();
            since = Instant::now();
        }
        // A navigation failed (the claims redirection URI does not answer) or not yet started:
        // Chromium's error page has no script access, and the old page still has its mark.
        let state = client
            .execute(
                "return [document.readyState, window.__umaConformanceMark === true];",
                vec![],
            )
            .await
            .unwrap_or(Value::Null);
        let new_page = state[0] == "complete" && state[1] == false;
        if new_page && since.elapsed() >= SETTLE {
            log.push(format!("stayed at {}", shown(&u)));
            return Ok(Arrival::Stayed(u));
        }
        if left(deadline).is_zero() {
            return Err(format!(
                "the browser neither came back to the claims redirection URI nor settled on another page (at {})",
                shown(&u)
            ));
        }
        tokio::time::sleep(POLL).await;
    }
}
