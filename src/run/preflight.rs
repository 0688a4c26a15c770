//! The preflight: before any scenario runs, reach the target, read its discovery document,
//! derive its capabilities, verify the ones the profile claims where the wire shows them, and
//! report configuration problems, each with its fix, apart from conformance results.
//!
//! Every request goes through the run's guarded path (`crate::net`). The discovery document's
//! endpoints are checked against the allowed origins before any credential is sent. What the
//! conformance scenarios judge (a missing required member, a wrong issuer) is a warning here,
//! never a stop: the discovery scenarios report the requirement's failure.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::net::{self, NetError, Policy};
use crate::outcome::{Preflight, Problem};
use crate::profile::{AsAccess, PolicyAdapter};
use crate::suite::Capability;

/// The members discovery must have (G-AS-07: RFC 8414 §2; F-AS-04: FedAuthz §2), with the
/// requirement and what lacks without it.
const REQUIRED: &[(&str, &str, &str)] = &[
    ("issuer", "G-AS-07", "the issuer checks cannot compare it"),
    (
        "token_endpoint",
        "G-AS-07",
        "no PAT, ticket exchange or RPT can be obtained",
    ),
    ("response_types_supported", "G-AS-07", "nothing else depends on it"),
    (
        "permission_endpoint",
        "F-AS-04",
        "no permission ticket can be requested",
    ),
    (
        "resource_registration_endpoint",
        "F-AS-04",
        "no resource can be registered",
    ),
];

/// Capabilities a profile may claim that discovery shows: the capability, and the member that
/// must be published for it.
const SHOWN_BY_MEMBER: &[(Capability, &str)] = &[
    (Capability::Dcr, "registration_endpoint"),
    (Capability::Introspection, "introspection_endpoint"),
    (Capability::Revocation, "revocation_endpoint"),
    (Capability::InteractiveClaims, "claims_interaction_endpoint"),
    (Capability::PatCodeFlow, "authorization_endpoint"),
];

/// What the preflight found: its report, the discovery document, the capabilities.
#[derive(Debug)]
pub struct Found {
    /// The report.
    pub report: Preflight,
    /// The discovery document (`null` when it could not be read).
    pub metadata: Value,
    /// The capabilities derived from discovery and the profile.
    pub capabilities: BTreeSet<Capability>,
    /// Claimed capabilities the wire contradicts, with why (their scenarios are skipped).
    pub unmet: BTreeMap<Capability, String>,
}

/// Runs the preflight of an authorization server through the guarded path `policy`.
pub async fn run(target: &AsAccess, policy: &Policy) -> Found {
    let url = format!(
        "{}/.well-known/uma2-configuration",
        target.issuer().trim_end_matches('/')
    );
    let mut found = Found {
        report: Preflight {
            discovery_url: url.clone(),
            ..Preflight::default()
        },
        metadata: Value::Null,
        capabilities: target.profile.capabilities.iter().copied().collect(),
        unmet: BTreeMap::new(),
    };
    if policy.tls().is_insecure() {
        found.report.problems.push(Problem::warning(
            net::INSECURE_WARNING,
            "give the target's CA in `tls.ca_file` instead of `tls.insecure_skip_verify: true`",
        ));
    }
    let http = match policy.client() {
        Ok(h) => h,
        Err(e) => {
            found
                .report
                .problems
                .push(Problem::error(net::chain(&e), "report this as a harness bug"));
            return found;
        }
    };
    let Some(meta) = discover(&http, policy, target, &url, &mut found.report.problems).await else {
        return found;
    };
    found.report.reachable = true;
    found.metadata = Value::Object(meta.clone());
    if !endpoints_allowed(&meta, policy, &mut found.report.problems) {
        // Nothing more is sent: no credential may reach an origin the profile does not allow.
        return found;
    }
    review_members(&meta, target, &mut found.report.problems);
    capabilities(&meta, target, &mut found);
    if let Some(token) = meta.get("token_endpoint").and_then(Value::as_str)
        && target.static_pats.is_empty()
        && let Some(problem) = pat(&http, policy, target, token).await
    {
        found.report.problems.push(problem);
    }
    if !found.capabilities.contains(&Capability::ClaimsPushing) {
        found.report.problems.push(Problem::warning(
            "the profile does not claim `claims-pushing`: pushed-claims scenarios are skipped",
            "configure the AS to trust ID tokens from the harness's identity provider (issuer http://127.0.0.1:PORT, \
             JWKS at /jwks; the port is free unless you fix it with `idp: { port: N }`), then add `claims-pushing` \
             to capabilities",
        ));
    }
    found.report.capabilities = found.capabilities.iter().map(ToString::to_string).collect();
    found
}

/// Reads the discovery document; every failure is a configuration error that names its cause.
async fn discover(
    http: &reqwest::Client,
    policy: &Policy,
    target: &AsAccess,
    url: &str,
    problems: &mut Vec<Problem>,
) -> Option<Map<String, Value>> {
    let issuer = target.issuer();
    let answer = match policy.send(http, http.get(url)).await {
        Ok(a) => a,
        Err(e) if e.nothing_answered() => {
            problems.push(Problem::error(
                format!("cannot reach {url}: {}", net::chain(&e)),
                format!("start the authorization server, or fix `issuer` in the target profile (now {issuer})"),
            ));
            return None;
        }
        Err(e @ NetError::Refused { .. }) => {
            problems.push(Problem::error(
                net::chain(&e),
                "list the issuer's origin in the target profile's `allowed_origins`",
            ));
            return None;
        }
        Err(e) => {
            problems.push(Problem::error(
                format!(
                    "the authorization server answered {url} but the exchange failed: {}",
                    net::chain(&e)
                ),
                "check the authorization server's logs",
            ));
            return None;
        }
    };
    if answer.status != 200 {
        problems.push(Problem::error(
            format!(
                "{url} answered {}, content-type {}: first bytes {}",
                status_text(&answer),
                answer.content_type(),
                answer.first_bytes()
            ),
            format!(
                "UMA Grant §2 puts the discovery document at {{issuer}}/.well-known/uma2-configuration; check `issuer` \
                 (now {issuer}; some servers publish it under another path, digest P-07)"
            ),
        ));
        return None;
    }
    match answer.json_object() {
        Ok(m) => Some(m),
        Err(e @ NetError::BodyTooLarge { .. }) => {
            problems.push(Problem::error(
                format!("the discovery document at {url} is unusable: {}", net::chain(&e)),
                "check `issuer`; if the document really is that large, raise `max_body_bytes` in the target profile",
            ));
            None
        }
        Err(e) => {
            problems.push(Problem::error(
                format!("the discovery document at {url} is unusable: {}", net::chain(&e)),
                format!("check `issuer` (now {issuer}): the URL must serve the UMA discovery document, a JSON object"),
            ));
            None
        }
    }
}

/// `HTTP 302 (a redirect to …, not followed)`, or `HTTP 500`: a redirect is named as one, since
/// the guarded path never follows it (not even to the same origin).
fn status_text(answer: &net::Answer) -> String {
    match answer.header("location") {
        Some(to) if (300..400).contains(&answer.status) => format!(
            "HTTP {} (a redirect to {}, not followed)",
            answer.status,
            crate::diagnostic::printable(to)
        ),
        _ => format!("HTTP {}", answer.status),
    }
}

/// Whether every endpoint the document names is at an allowed origin; each one that is not is a
/// configuration error. Members that are not absolute URLs are left to the scenarios.
fn endpoints_allowed(meta: &Map<String, Value>, policy: &Policy, problems: &mut Vec<Problem>) -> bool {
    let mut ok = true;
    for (name, v) in meta {
        let Some(u) = v.as_str() else { continue };
        if !(name.ends_with("_endpoint") || name == "jwks_uri") || url::Url::parse(u).is_err() {
            continue;
        }
        if let Err(e @ NetError::Refused { .. }) = policy.check(u) {
            ok = false;
            problems.push(Problem::error(
                format!("the discovery document names `{name}` outside the allowed origins: {e}"),
                "nothing was sent there (no credential either); if the AS really serves it there, list its origin in \
                 the target profile's `allowed_origins`",
            ));
        }
    }
    ok
}

/// Warnings for what the conformance scenarios will judge: required members, the issuer.
fn review_members(meta: &Map<String, Value>, target: &AsAccess, problems: &mut Vec<Problem>) {
    for (member, requirement, lacking) in REQUIRED {
        if meta.get(*member).is_none_or(Value::is_null) {
            problems.push(Problem::warning(
                format!("the discovery document has no `{member}` ({requirement}): {lacking}"),
                format!(
                    "the AS must publish it; as/discovery/uma2-configuration reports the failure of {requirement}, and \
                     scenarios that need it end as errors"
                ),
            ));
        }
    }
    if let Some(named) = meta.get("issuer").and_then(Value::as_str)
        && named != target.issuer()
    {
        problems.push(Problem::warning(
            format!(
                "the discovery document names issuer `{}`, not the profile's `{}`",
                crate::diagnostic::printable(named),
                target.issuer()
            ),
            "set `issuer` to exactly the AS's issuer identifier; as/discovery/uma2-configuration judges the mismatch \
             (G-AS-03)",
        ));
    }
}

/// Derives capabilities from discovery and the profile, and drops the claims discovery
/// contradicts, each with a warning.
fn capabilities(meta: &Map<String, Value>, target: &AsAccess, found: &mut Found) {
    let has = |k: &str| meta.get(k).and_then(Value::as_str).is_some();
    let claimed: BTreeSet<Capability> = target.profile.capabilities.iter().copied().collect();
    let unmet = |found: &mut Found, cap: Capability, why: String, fix: String| {
        found.capabilities.remove(&cap);
        found.report.problems.push(Problem::warning(
            format!("the profile claims `{cap}` but {why}: its scenarios are skipped"),
            fix,
        ));
        found.unmet.insert(cap, format!("claimed {cap} but {why}"));
    };
    for (cap, member) in SHOWN_BY_MEMBER {
        if claimed.contains(cap) && !has(member) {
            unmet(
                found,
                *cap,
                format!("discovery has no {member}"),
                format!("publish {member}, or remove `{cap}` from the profile's `capabilities`"),
            );
        }
    }
    if claimed.contains(&Capability::Refresh)
        && let Some(grants) = meta.get("grant_types_supported").and_then(Value::as_array)
        && !grants.iter().any(|g| g == "refresh_token")
    {
        unmet(
            found,
            Capability::Refresh,
            "grant_types_supported does not list refresh_token".into(),
            "list refresh_token in grant_types_supported, or remove `refresh` from the profile's `capabilities`".into(),
        );
    }
    let advertised: Vec<&str> = meta
        .get("uma_profiles_supported")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let uris = &target.profile.profile_uris;
    for (cap, uri, key) in [
        (Capability::ProfileIcgPkce, uris.icg_pkce(), "icg-pkce"),
        (Capability::ProfileIcgIss, uris.icg_iss(), "icg-iss"),
    ] {
        if advertised.contains(&uri) {
            found.capabilities.insert(cap);
        } else if claimed.contains(&cap) {
            // Not advertised is not claimed (the profile URI is how clients detect it).
            unmet(
                found,
                cap,
                format!("uma_profiles_supported does not list {uri}"),
                format!(
                    "advertise the profile URI, or map the URI the AS uses with `profile_uris: {{ {key}: URI }}`, or \
                     remove `{cap}` from the profile's `capabilities`"
                ),
            );
        }
    }
    if has("registration_endpoint") {
        found.capabilities.insert(Capability::Dcr);
    }
    if has("introspection_endpoint") {
        found.capabilities.insert(Capability::Introspection);
    }
    if has("revocation_endpoint") {
        found.capabilities.insert(Capability::Revocation);
    }
    let problems = &mut found.report.problems;
    if has("claims_interaction_endpoint") {
        match (&target.profile.claims, target.clients.get("client")) {
            (Some(_), Some(c)) if !c.claims_redirect_uris.is_empty() => {
                found.capabilities.insert(Capability::InteractiveClaims);
            }
            (None, _) => problems.push(Problem::warning(
                "the AS offers claims_interaction_endpoint but the profile has no `claims` driver",
                "add `claims: { driver: form, fill: { email: \"{email}\" } }` to run the interactive claims scenarios",
            )),
            _ => problems.push(Problem::warning(
                "`clients.client` has no claims_redirect_uris",
                "list the client's registered claims redirection URIs to run the interactive claims scenarios",
            )),
        }
    }
    match &target.profile.policy {
        PolicyAdapter::Reference | PolicyAdapter::Command { .. } => {
            found.capabilities.insert(Capability::PolicySetup);
        }
        PolicyAdapter::Manual { .. } => problems.push(Problem::warning(
            "the manual policy adapter cannot set policies: scenarios needing `policy-setup` are skipped",
            "use `policy: { kind: command, command: [...] }` with a script that calls your admin API (see \
             fixtures/targets/adapters/)",
        )),
    }
    if target.clients.contains_key("rs2") || target.static_pats.contains_key("rs2") {
        found.capabilities.insert(Capability::SecondOwner);
    }
    if target.clients.contains_key("client2") {
        found.capabilities.insert(Capability::SecondClient);
    }
    if let (Some(t), Some(r)) = (target.profile.lifetimes.ticket, target.profile.lifetimes.rpt)
        && t <= 10
        && r <= 10
    {
        found.capabilities.insert(Capability::ShortLifetimes);
    }
}

/// Whether the resource server client gets a PAT: a 200 with an `access_token` string and a
/// bearer `token_type` (RFC 6749 §5.1), or the configuration problem.
async fn pat(http: &reqwest::Client, policy: &Policy, target: &AsAccess, token: &str) -> Option<Problem> {
    let rs = target.clients.get("rs")?;
    let secret = rs.secret.as_ref().map(|s| s.secret().to_string()).unwrap_or_default();
    let scope = target
        .profile
        .pat
        .scope
        .clone()
        .unwrap_or_else(|| crate::uma::grant::PROTECTION_SCOPE.into());
    let fix = "check clients.rs (client_id, client_secret) and that the AS lets it use client_credentials with scope \
               uma_protection, or give a ready PAT with `pat: { method: static, token: { env: UMA_PAT } }`";
    let who = format!("the resource server client `{}`", rs.client_id);
    let req = http
        .post(token)
        .basic_auth(rs.client_id.as_str(), Some(secret))
        .form(&[("grant_type", "client_credentials"), ("scope", scope.as_str())]);
    let answer = match policy.send(http, req).await {
        Ok(a) => a,
        Err(e) if e.nothing_answered() => {
            return Some(Problem::error(
                format!("cannot reach the token endpoint {token}: {}", net::chain(&e)),
                "check that the authorization server serves its token endpoint where discovery says",
            ));
        }
        Err(e) => {
            return Some(Problem::error(
                format!(
                    "{who} cannot get a PAT: the exchange with {token} failed: {}",
                    net::chain(&e)
                ),
                fix,
            ));
        }
    };
    if answer.status != 200 {
        return Some(Problem::error(
            format!(
                "{who} cannot get a PAT: {}, content-type {}: first bytes {}",
                status_text(&answer),
                answer.content_type(),
                answer.first_bytes()
            ),
            fix,
        ));
    }
    let first = answer.first_bytes();
    let body = match answer.json_object() {
        Ok(m) => m,
        Err(e) => {
            return Some(Problem::error(
                format!(
                    "{who} got HTTP 200 from the token endpoint, but no token response: {}",
                    net::chain(&e)
                ),
                "the token endpoint must answer a JSON object with access_token and token_type (RFC 6749 §5.1)",
            ));
        }
    };
    let no_token = body
        .get("access_token")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty);
    if no_token {
        return Some(Problem::error(
            format!("{who} got HTTP 200 from the token endpoint without an `access_token` string: first bytes {first}"),
            "the token endpoint must answer access_token and token_type (RFC 6749 §5.1); check the grant the AS applied",
        ));
    }
    match body.get("token_type").and_then(Value::as_str) {
        Some(t) if t.eq_ignore_ascii_case("bearer") => None,
        other => Some(Problem::error(
            format!(
                "{who} got a PAT whose token_type is {}, not Bearer",
                other.map_or_else(
                    || "missing".to_string(),
                    |t| format!("`{}`", crate::diagnostic::printable(t))
                )
            ),
            "the harness presents PATs as bearer tokens (RFC 6750); configure the AS to issue bearer PATs to this \
             client, or give a ready PAT with `pat: { method: static, token: { env: UMA_PAT } }`",
        )),
    }
}
