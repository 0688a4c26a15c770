//! The preflight: before any scenario runs, reach the target, read its discovery document,
//! derive its capabilities and report configuration problems, each with its fix, apart from
//! conformance results.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;

use crate::outcome::{Preflight, Problem};
use crate::profile::{AsAccess, PolicyAdapter};
use crate::suite::Capability;
use crate::uma::grant::{PROFILE_ICG_ISS, PROFILE_ICG_PKCE};

fn problem(severity: &str, what: impl Into<String>, fix: impl Into<String>) -> Problem {
    if severity == "error" {
        Problem::error(what, fix)
    } else {
        Problem::warning(what, fix)
    }
}

/// What the preflight found: its report, the discovery document, the capabilities.
#[derive(Debug)]
pub struct Found {
    /// The report.
    pub report: Preflight,
    /// The discovery document (`null` when it could not be read).
    pub metadata: Value,
    /// The capabilities derived from discovery and the profile.
    pub capabilities: BTreeSet<Capability>,
}

/// Runs the preflight of an authorization server.
pub async fn run(target: &AsAccess, timeout: Duration) -> Found {
    let (report, metadata, capabilities) = inner(target, timeout).await;
    Found {
        report,
        metadata,
        capabilities,
    }
}

async fn inner(target: &AsAccess, timeout: Duration) -> (Preflight, Value, BTreeSet<Capability>) {
    let issuer = target.issuer().trim_end_matches('/').to_string();
    let url = format!("{issuer}/.well-known/uma2-configuration");
    let mut report = Preflight {
        discovery_url: url.clone(),
        ..Preflight::default()
    };
    let mut caps: BTreeSet<Capability> = target.profile.capabilities.iter().copied().collect();
    let http = match reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(h) => h,
        Err(e) => {
            report.problems.push(problem(
                "error",
                format!("cannot build an HTTP client: {e}"),
                "report this as a harness bug",
            ));
            return (report, Value::Null, caps);
        }
    };
    let meta = match http.get(&url).send().await {
        Err(e) => {
            report.problems.push(problem(
                "error",
                format!(
                    "cannot reach {url}: {}",
                    if e.is_timeout() {
                        "no answer in time".to_string()
                    } else {
                        e.to_string()
                    }
                ),
                format!("start the authorization server, or fix `issuer` in the target profile (now {issuer})"),
            ));
            return (report, Value::Null, caps);
        }
        Ok(r) if r.status() != 200 => {
            report.problems.push(problem(
                "error",
                format!("{url} answered HTTP {}", r.status().as_u16()),
                "UMA Grant §2 puts the discovery document at {issuer}/.well-known/uma2-configuration; check `issuer` (some servers publish it under another path, digest P-07)",
            ));
            return (report, Value::Null, caps);
        }
        Ok(r) => match r.json::<Value>().await {
            Ok(v) if v.is_object() => v,
            _ => {
                report.problems.push(problem(
                    "error",
                    format!("{url} is not a JSON object"),
                    "check `issuer`",
                ));
                return (report, Value::Null, caps);
            }
        },
    };
    report.reachable = true;
    for required in [
        "token_endpoint",
        "permission_endpoint",
        "resource_registration_endpoint",
    ] {
        if meta.get(required).and_then(Value::as_str).is_none() {
            report.problems.push(problem(
                "error",
                format!("the discovery document has no `{required}`"),
                "the AS must publish it (FedAuthz §2); most scenarios cannot run without it",
            ));
        }
    }
    let has = |k: &str| meta.get(k).and_then(Value::as_str).is_some();
    if has("registration_endpoint") {
        caps.insert(Capability::Dcr);
    }
    if has("introspection_endpoint") {
        caps.insert(Capability::Introspection);
    }
    if has("revocation_endpoint") {
        caps.insert(Capability::Revocation);
    }
    let client = target.clients.get("client");
    if has("claims_interaction_endpoint") {
        match (&target.profile.claims, client) {
            (Some(_), Some(c)) if !c.claims_redirect_uris.is_empty() => {
                caps.insert(Capability::InteractiveClaims);
            }
            (None, _) => report.problems.push(problem(
                "warning",
                "the AS offers claims_interaction_endpoint but the profile has no `claims` driver",
                "add `claims: { driver: form, fill: { email: \"{email}\" } }` to run the interactive claims scenarios",
            )),
            _ => report.problems.push(problem(
                "warning",
                "`clients.client` has no claims_redirect_uris",
                "list the client's registered claims redirection URIs to run the interactive claims scenarios",
            )),
        }
    }
    let profiles: Vec<String> = meta
        .get("uma_profiles_supported")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    if profiles.iter().any(|p| p == PROFILE_ICG_PKCE) {
        caps.insert(Capability::ProfileIcgPkce);
    }
    if profiles.iter().any(|p| p == PROFILE_ICG_ISS) {
        caps.insert(Capability::ProfileIcgIss);
    }
    match &target.profile.policy {
        PolicyAdapter::Reference | PolicyAdapter::Command { .. } => {
            caps.insert(Capability::PolicySetup);
        }
        PolicyAdapter::Manual { .. } => report.problems.push(problem(
            "warning",
            "the manual policy adapter cannot set policies: scenarios needing `policy-setup` are skipped",
            "use `policy: { kind: command, command: [...] }` with a script that calls your admin API (see fixtures/targets/adapters/)",
        )),
    }
    if target.clients.contains_key("rs2") || target.static_pats.contains_key("rs2") {
        caps.insert(Capability::SecondOwner);
    }
    if target.clients.contains_key("client2") {
        caps.insert(Capability::SecondClient);
    }
    if let (Some(t), Some(r)) = (target.profile.lifetimes.ticket, target.profile.lifetimes.rpt)
        && t <= 10
        && r <= 10
    {
        caps.insert(Capability::ShortLifetimes);
    }
    // Can the harness get a PAT?
    if let Some(token) = meta.get("token_endpoint").and_then(Value::as_str)
        && target.static_pats.is_empty()
        && let Some(rs) = target.clients.get("rs")
    {
        let secret = rs.secret.as_ref().map(|s| s.secret().to_string()).unwrap_or_default();
        let scope = target
            .profile
            .pat
            .scope
            .clone()
            .unwrap_or_else(|| "uma_protection".into());
        let r = http
            .post(token)
            .basic_auth(rs.client_id.as_str(), Some(secret))
            .form(&[("grant_type", "client_credentials"), ("scope", scope.as_str())])
            .send()
            .await;
        match r {
            Ok(r) if r.status() == 200 => {}
            Ok(r) => report.problems.push(problem(
                "error",
                format!("the resource server client `{}` cannot get a PAT: HTTP {}", rs.client_id, r.status().as_u16()),
                "check clients.rs (client_id, client_secret) and that the AS lets it use client_credentials with scope uma_protection, or give a ready PAT with `pat: { method: static, token: { env: UMA_PAT } }`",
            )),
            Err(e) => report.problems.push(problem("error", format!("the token endpoint is unreachable: {e}"), "check the AS")),
        }
    }
    if !caps.contains(&Capability::ClaimsPushing) {
        report.problems.push(problem(
            "warning",
            "the profile does not claim `claims-pushing`: pushed-claims scenarios are skipped",
            String::from(
                "configure the AS to trust ID tokens from the harness's identity provider (issuer http://127.0.0.1:{idp.port}, JWKS at /jwks; fix the port with `idp: { port: N }`), then add `claims-pushing` to capabilities",
            ),
        ));
    }
    report.capabilities = caps.iter().map(|c| c.to_string()).collect();
    (report, meta, caps)
}
