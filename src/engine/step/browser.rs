//! The requesting party's browser at the AS: following redirects within it and filling the
//! claims form (the form driver; the HTML is read by `crate::counterpart::forms`).

use std::collections::BTreeMap;

use super::{ScenarioCtx, StepError, with_query};
use crate::check::Response;
use crate::engine::http::Req;

/// Redirect hops the form driver follows at most.
const MAX_HOPS: usize = 6;

pub(super) fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// Follows redirects within the AS (at most [`MAX_HOPS`]) until one points back at the client.
pub(super) async fn follow(
    ctx: &mut ScenarioCtx<'_>,
    resp: Response,
    url: String,
    arrived: &(dyn Fn(&str) -> bool + Sync),
) -> Result<(Response, String), StepError> {
    let http = ctx.http.clone();
    follow_via(ctx, &http, resp, url, arrived).await
}

/// [`follow`] with a given browser.
pub(super) async fn follow_via(
    ctx: &mut ScenarioCtx<'_>,
    http: &reqwest::Client,
    mut resp: Response,
    mut url: String,
    arrived: &(dyn Fn(&str) -> bool + Sync),
) -> Result<(Response, String), StepError> {
    for _ in 0..MAX_HOPS {
        if !is_redirect(resp.status) {
            break;
        }
        let Some(loc) = resp.header("location").map(str::to_string) else {
            break;
        };
        if arrived(&loc) {
            break;
        }
        url = url::Url::parse(&url)
            .and_then(|b| b.join(&loc))
            .map(|u| u.to_string())
            .unwrap_or(loc);
        resp = ctx.send_via(http, Req::new("GET", url.clone())).await?;
    }
    Ok((resp, url))
}

/// How to fill the claims form.
#[derive(Default)]
pub(super) struct FormFill<'a> {
    pub(super) fill: BTreeMap<String, String>,
    pub(super) csrf_token: Option<String>,
    pub(super) drop_cookies: bool,
    pub(super) button: Option<&'a str>,
}

/// Fills and submits the claims form on `resp` (the page at `url`) as the requesting party, then
/// follows redirects until `arrived`. `Ok(None)` when the page has no form.
pub(super) async fn submit_claims_form(
    ctx: &mut ScenarioCtx<'_>,
    http: &reqwest::Client,
    resp: &Response,
    url: &str,
    how: FormFill<'_>,
    arrived: &(dyn Fn(&str) -> bool + Sync),
) -> Result<Option<(Response, String)>, StepError> {
    let forms = crate::counterpart::forms::parse_forms(&resp.text);
    let Some(form) = forms.iter().find(|f| f.method == "POST").or(forms.first()).cloned() else {
        return Ok(None);
    };
    let mut values = BTreeMap::new();
    if let Some(driver) = &ctx.env.authz.profile.claims {
        for (k, v) in &driver.fill {
            values.insert(
                k.clone(),
                v.replace("{email}", &ctx.rqp.email).replace("{sub}", &ctx.rqp.sub),
            );
        }
    } else {
        values.insert("email".into(), ctx.rqp.email.clone());
    }
    values.extend(how.fill);
    if let Some(t) = how.csrf_token {
        values.insert("csrf_token".into(), t);
    }
    if how.drop_cookies
        && let Ok(mut jar) = ctx.jar.lock()
    {
        jar.clear();
    }
    let button = how
        .button
        .map(str::to_string)
        .or_else(|| ctx.env.authz.profile.claims.as_ref().and_then(|d| d.submit.clone()))
        .unwrap_or_else(|| "submit".into());
    let body = form.fill(&values, Some(&button));
    let action = form.action.clone().unwrap_or_else(|| url.to_string());
    let action = url::Url::parse(url)
        .and_then(|b| b.join(&action))
        .map(|u| u.to_string())
        .unwrap_or(action);
    let resp = if form.method == "GET" {
        ctx.send_via(http, Req::new("GET", with_query(&action, &body)?)).await?
    } else {
        ctx.send_via(http, Req::new("POST", action.clone()).form(body)).await?
    };
    Ok(Some(follow_via(ctx, http, resp, action, arrived).await?))
}

/// The requesting party's browser at the AS's claims interaction endpoint: opens `url`, follows
/// redirects within the AS, fills and submits the claims form, and stops at the redirect that
/// leaves the AS (`arrived`). Returns that response and the URL it answered.
pub(crate) async fn claims_page(
    ctx: &mut ScenarioCtx<'_>,
    http: &reqwest::Client,
    url: String,
    button: Option<&str>,
    arrived: &(dyn Fn(&str) -> bool + Sync),
) -> Result<(Response, String), StepError> {
    let resp = ctx.send_via(http, Req::new("GET", url.clone())).await?;
    let (resp, url) = follow_via(ctx, http, resp, url, arrived).await?;
    if resp.status != 200 {
        return Ok((resp, url));
    }
    let how = FormFill {
        button,
        ..FormFill::default()
    };
    Ok(submit_claims_form(ctx, http, &resp, &url, how, arrived)
        .await?
        .unwrap_or((resp, url)))
}
