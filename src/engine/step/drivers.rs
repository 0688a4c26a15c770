//! The `browser` and `manual` claims drivers inside a `claims` step: after the harness's own
//! first request to the claims interaction endpoint (kept for the checks of the AS's first
//! answer), the requesting party's part is played by a real browser or by a person.
//!
//! Each pass is an exchange of the report (method `BROWSER` or `MANUAL`, the claims URL, what
//! the driver did as the request body, and the redirect back as the `Location` of the answer,
//! with no status). The browser's own page loads and redirects follow it as exchanges (from
//! Chromium's network log: method, URL, the names of the form fields it posted, status and
//! headers; no bodies). The step's response is the AS's last answer to the browser, as with the
//! form driver: the redirect back (its `Location` and parameters), or the page it stayed on.
//! The manual driver sees only the redirect back: its response has that `Location` and no
//! status, or nothing when the person reports an error page.

use std::time::Instant;

use super::{ScenarioCtx, StepError};
use crate::check::{Redirect, Response};
use crate::counterpart::browser::{Arrival, BrowserError, Hop, Pass, screenshot_name, shown};
use crate::counterpart::manual::{self, ManualPass};
use crate::outcome::Exchange;
use crate::profile::{BrowserStep, ClaimsDriver};

/// What the scenario asks of one pass, besides the page.
#[derive(Debug, Default)]
pub(super) struct Ask {
    /// The claims interaction URL.
    pub(super) start: String,
    /// The claims redirection URI (query and fragment dropped).
    pub(super) back: String,
    /// The button to press (`submit` unless the scenario says).
    pub(super) button: String,
    /// Field values the scenario sets (its `fill`, a forged `csrf_token`).
    pub(super) set_fields: Vec<(String, String)>,
    /// Drop the cookies before submitting.
    pub(super) drop_cookies: bool,
}

fn placeholders(ctx: &ScenarioCtx<'_>, ask: &Ask, text: &str) -> String {
    text.replace("{email}", &ctx.rqp.email)
        .replace("{sub}", &ctx.rqp.sub)
        .replace("{button}", &ask.button)
        .replace("{claims_redirect_uri}", &ask.back)
}

fn record(
    ctx: &mut ScenarioCtx<'_>,
    method: &str,
    ask: &Ask,
    log: &[String],
    back: Option<&str>,
    started: Instant,
) -> usize {
    ctx.exchanges.push(Exchange {
        step: ctx.step,
        method: method.into(),
        url: ask.start.clone(),
        request_body: Some(log.join("\n")),
        response_headers: back
            .map(|b| vec![("location".to_string(), b.to_string())])
            .unwrap_or_default(),
        duration_ms: started.elapsed().as_millis() as u64,
        ..Exchange::default()
    });
    ctx.exchanges.len() - 1
}

fn answer(back: Option<String>, exchange: usize) -> Response {
    let mut resp = Response {
        exchange: Some(exchange),
        ..Response::default()
    };
    if let Some(b) = back {
        resp.headers.push(("location".into(), b.clone()));
        resp.redirect = Some(Redirect::parse(&b));
    }
    resp
}

/// One pass with the browser driver.
pub(super) async fn browser(ctx: &mut ScenarioCtx<'_>, driver: &ClaimsDriver, ask: Ask) -> Result<Response, StepError> {
    let default_button = driver.submit.clone().unwrap_or_else(|| "submit".into());
    let steps = driver.browser_steps();
    let uses_button = steps.iter().any(|s| match s {
        BrowserStep::Click(sel) => sel.contains("{button}"),
        _ => false,
    });
    if ask.button != default_button && !uses_button {
        return Err(StepError::unusable(format!(
            "the scenario presses `{}` on the claims page, but no `click` of the profile's `claims.steps` uses `{{button}}`",
            ask.button
        )));
    }
    let steps = steps
        .into_iter()
        .map(|s| match s {
            BrowserStep::Fill { selector, value } => BrowserStep::Fill {
                selector: placeholders(ctx, &ask, &selector),
                value: placeholders(ctx, &ask, &value),
            },
            BrowserStep::Click(s) => BrowserStep::Click(placeholders(ctx, &ask, &s)),
            BrowserStep::WaitFor(s) => BrowserStep::WaitFor(placeholders(ctx, &ask, &s)),
            BrowserStep::WaitForUrl(s) => BrowserStep::WaitForUrl(placeholders(ctx, &ask, &s)),
        })
        .collect();
    let private_ca = ctx.env.net.tls().trusts_private_ca();
    let started = Instant::now();
    let browser = match ctx.env.claims.browser(driver, private_ca).await {
        Ok(b) => b,
        Err(e) => {
            record(ctx, "BROWSER", &ask, &[format!("not started: {e}")], None, started);
            return Err(StepError::unusable(e));
        }
    };
    let mut secrets: Vec<String> = ctx.env.authz.secrets().iter().map(|s| s.secret().to_string()).collect();
    secrets.extend(ctx.secrets.iter().cloned());
    let pass = Pass {
        start: ask.start.clone(),
        back: ask.back.clone(),
        steps,
        set_fields: ask.set_fields.clone(),
        drop_cookies: ask.drop_cookies,
        timeout: driver.timeout(),
        screenshot: ctx
            .env
            .claims
            .screenshot_path(&screenshot_name(&ctx.scenario.id, ctx.step)),
        secrets,
    };
    match browser.run(&pass).await {
        Ok(done) => {
            let back = match &done.arrival {
                Arrival::Back(u) => Some(u.clone()),
                Arrival::Stayed(_) => None,
            };
            let i = record(ctx, "BROWSER", &ask, &done.log, back.as_deref(), started);
            let last = record_hops(ctx, &done.hops, &ask.back);
            Ok(match last {
                Some((j, hop)) => {
                    let mut resp = Response {
                        status: hop.status.unwrap_or(0),
                        headers: hop.headers.clone(),
                        exchange: Some(j),
                        ..Response::default()
                    };
                    resp.redirect = resp
                        .header("location")
                        .filter(|l| l.starts_with(&ask.back) && (300..400).contains(&resp.status))
                        .map(Redirect::parse);
                    resp
                }
                None => answer(back, i),
            })
        }
        Err(BrowserError {
            message,
            log,
            screenshot,
            hops,
        }) => {
            record(ctx, "BROWSER", &ask, &log, None, started);
            record_hops(ctx, &hops, &ask.back);
            let shot = screenshot.map_or_else(
                || " (no screenshot could be taken)".to_string(),
                |p| format!("; screenshot: {}", p.display()),
            );
            Err(StepError::unusable(format!(
                "the browser driver failed: {message}{shot}"
            )))
        }
    }
}

/// Records the browser's page loads and redirects; returns the last one at the AS (not at the
/// claims redirection URI) and its exchange.
fn record_hops<'h>(ctx: &mut ScenarioCtx<'_>, hops: &'h [Hop], back: &str) -> Option<(usize, &'h Hop)> {
    let mut last = None;
    for hop in hops {
        ctx.exchanges.push(Exchange {
            step: ctx.step,
            method: hop.method.clone(),
            url: hop.url.clone(),
            request_body: (!hop.fields.is_empty())
                .then(|| format!("(sent by the browser; form fields: {})", hop.fields.join(", "))),
            status: hop.status,
            response_headers: hop.headers.clone(),
            transport_error: hop.failed.clone(),
            ..Exchange::default()
        });
        if !hop.url.starts_with(back) {
            last = Some((ctx.exchanges.len() - 1, hop));
        }
    }
    last
}

/// One pass with the manual driver.
pub(super) async fn manual(ctx: &mut ScenarioCtx<'_>, driver: &ClaimsDriver, ask: Ask) -> Result<Response, StepError> {
    if ask.drop_cookies || !ask.set_fields.is_empty() {
        return Err(StepError::unusable(
            "the manual driver cannot forge the claims form (drop its cookies, change its fields): this scenario needs \
             the form or browser driver",
        ));
    }
    let default_button = driver.submit.clone().unwrap_or_else(|| "submit".into());
    let action = if ask.button == default_button {
        "share the requested claims".to_string()
    } else {
        format!("decline (the `{}` button)", ask.button)
    };
    let pass = ManualPass {
        start: ask.start.clone(),
        back: ask.back.clone(),
        task: format!(
            "claims (manual driver), scenario {}: complete the claims page as {} and {action}",
            ctx.scenario.id, ctx.rqp.email
        ),
        timeout: driver.timeout(),
    };
    let started = Instant::now();
    let result = {
        let _desk = ctx.env.claims.desk().await;
        manual::run(&pass, |s| eprintln!("{s}")).await
    };
    match result {
        Ok(back) => {
            let log = ["link printed".to_string(), format!("back at {}", shown(&back))];
            let i = record(ctx, "MANUAL", &ask, &log, Some(&back), started);
            Ok(answer(Some(back), i))
        }
        Err(e) => {
            record(
                ctx,
                "MANUAL",
                &ask,
                &["link printed".to_string(), e.clone()],
                None,
                started,
            );
            Err(StepError::unusable(format!("the manual driver got no answer: {e}")))
        }
    }
}
