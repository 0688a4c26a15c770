//! Named checks: computations a data format cannot express, written in Rust and called from
//! scenario files. Each has a default requirement; an expectation block's `req` overrides it.

use std::collections::BTreeMap;

use serde_json::Value;

use super::expect::Outcome;
use super::{Resp, ScenarioCtx, StepError};
use crate::uma::{entropy, setmath};

/// Every named check with its default requirement.
pub const NAMES: &[(&str, &str)] = &[
    ("ticket-rotated", "T-04"),
    ("no-store", "G-AS-21"),
    ("bearer-challenge", "R6750-01"),
    ("issuer-matches", "R8414-01"),
    ("entropy", "T-07"),
    ("unpredictable", "T-07"),
    ("granted", "G-AS-12"),
    ("iss", "ISS-02"),
    ("pkce-advertised", "PKCE-07"),
    ("not-readable-claims", "G-AS-23"),
    ("location-has-id", "F-AS-10"),
    ("json-content-type", "R8414-02"),
    ("client-challenge", "R6749-08"),
    ("https-issuer", "R8414-03"),
    ("uma-challenge", "G-RS-03"),
    ("warning-199", "G-RS-04"),
    ("no-access", "G-RS-06"),
    ("min-interval", "G-C-23"),
    ("not-leaked", "G-C-40"),
    ("opaque", "G-C-38"),
    ("pkce-pair", "PKCE-03"),
    ("verifier-format", "R7636-01"),
    ("one-token-method", "G-C-42"),
    ("client-authenticated", "R6749-12"),
];

/// The default requirement of a named check, or `None` if there is no such check.
pub fn default_requirement(name: &str) -> Option<&'static str> {
    NAMES.iter().find(|(n, _)| *n == name).map(|(_, r)| *r)
}

fn one(title: &str, ok: Option<bool>, expected: impl Into<String>, actual: impl Into<String>) -> Vec<Outcome> {
    vec![Outcome {
        title: title.to_string(),
        ok,
        expected: expected.into(),
        actual: actual.into(),
    }]
}

fn arg_str(args: &Value, key: &str) -> Option<String> {
    args.get(key).map(super::vars::to_text)
}

/// Runs a named check against a response.
pub async fn run(ctx: &mut ScenarioCtx<'_>, name: &str, args: &Value, resp: &Resp) -> Result<Vec<Outcome>, StepError> {
    Ok(match name {
        "ticket-rotated" => {
            let from = arg_str(args, "from").ok_or_else(|| StepError("`ticket-rotated` needs `from`".into()))?;
            let new = resp
                .body("ticket")
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(|| resp.redirect.as_ref().and_then(|r| r.params.get("ticket").cloned()));
            match new {
                None => one(
                    "a new ticket is issued",
                    Some(false),
                    "a `ticket` different from the one presented",
                    "no ticket",
                ),
                Some(t) => one(
                    "the new ticket differs from the one presented",
                    Some(t != from),
                    "a ticket ≠ the presented one",
                    if t == from {
                        "the same ticket came back"
                    } else {
                        "a different ticket"
                    },
                ),
            }
        }
        "no-store" => {
            let cc = resp.header("cache-control").unwrap_or("");
            let ok = cc.split(',').any(|d| d.trim().eq_ignore_ascii_case("no-store"));
            one(
                "Cache-Control: no-store on a response carrying tokens",
                Some(ok),
                "no-store",
                if cc.is_empty() { "(absent)" } else { cc },
            )
        }
        "bearer-challenge" => {
            let ch = resp.header_all("www-authenticate");
            let ok = resp.status == 401
                && ch
                    .iter()
                    .any(|c| c.trim_start().to_ascii_lowercase().starts_with("bearer"));
            one(
                "401 with a Bearer challenge",
                Some(ok),
                "HTTP 401 and WWW-Authenticate: Bearer …",
                format!(
                    "HTTP {} {}",
                    resp.status,
                    if ch.is_empty() {
                        "without WWW-Authenticate".to_string()
                    } else {
                        ch.join(" | ")
                    }
                ),
            )
        }
        "issuer-matches" => {
            let want = ctx.env.target.issuer().to_string();
            let got = resp
                .body("issuer")
                .and_then(Value::as_str)
                .unwrap_or("(absent)")
                .to_string();
            one(
                "the issuer in the metadata is the one the URL was built from",
                Some(got == want),
                want,
                got,
            )
        }
        "https-issuer" => {
            let got = resp.body("issuer").and_then(Value::as_str).unwrap_or("").to_string();
            if ctx.env.target.profile.allow_http {
                one(
                    "issuer is an https URL",
                    None,
                    "https (skipped: the profile allows http for a loopback test deployment)",
                    got,
                )
            } else {
                let ok = url::Url::parse(&got)
                    .is_ok_and(|u| u.scheme() == "https" && u.query().is_none() && u.fragment().is_none());
                one(
                    "issuer is an https URL without query or fragment",
                    Some(ok),
                    "https://…",
                    got,
                )
            }
        }
        "entropy" => {
            let v = arg_str(args, "value").ok_or_else(|| StepError("`entropy` needs `value`".into()))?;
            let min = args.get("min_bits").and_then(Value::as_f64).unwrap_or(128.0);
            let bits = entropy::estimate_bits(&v);
            one(
                "the value is long and random enough to be unguessable",
                Some(bits >= min),
                format!("≥ {min} bits"),
                format!("at most {bits:.0} bits ({} characters)", v.chars().count()),
            )
        }
        "unpredictable" => {
            let vals: Vec<String> = args
                .get("values")
                .and_then(Value::as_array)
                .map(|a| a.iter().map(super::vars::to_text).collect())
                .unwrap_or_default();
            let refs: Vec<&str> = vals.iter().map(String::as_str).collect();
            match entropy::predictability(&refs) {
                None => one(
                    "values issued in a row show no pattern",
                    Some(true),
                    "no pattern",
                    format!("{} values, no pattern", vals.len()),
                ),
                Some(why) => one("values issued in a row show no pattern", Some(false), "no pattern", why),
            }
        }
        "granted" => granted(args, resp)?,
        "iss" => {
            let want = ctx.env.target.issuer().to_string();
            match &resp.redirect {
                None => one(
                    "iss on the redirect back",
                    Some(false),
                    format!("iss={want}"),
                    format!("no redirect back (HTTP {})", resp.status),
                ),
                Some(r) => {
                    let got = r.params.get("iss").cloned();
                    one(
                        "iss on the redirect back names the AS",
                        Some(got.as_deref() == Some(want.as_str())),
                        want,
                        got.unwrap_or_else(|| "(absent)".into()),
                    )
                }
            }
        }
        "pkce-advertised" => {
            let methods = ctx
                .env
                .metadata
                .get("code_challenge_methods_supported")
                .cloned()
                .unwrap_or(Value::Null);
            let ok = methods.as_array().is_some_and(|a| a.iter().any(|m| m == "S256"));
            one(
                "code_challenge_methods_supported lists S256",
                Some(ok),
                "[\"S256\", …]",
                methods.to_string(),
            )
        }
        "not-readable-claims" => {
            let v = arg_str(args, "value").ok_or_else(|| StepError("`not-readable-claims` needs `value`".into()))?;
            let readable = readable_jwt_claims(&v);
            one(
                "the PCT does not disclose the requesting party's claims",
                Some(readable.is_none()),
                "an opaque handle or an encrypted token",
                readable
                    .map(|c| format!("a readable JWT carrying {c}"))
                    .unwrap_or_else(|| "opaque".into()),
            )
        }
        "location-has-id" => {
            let loc = resp.header("location").map(str::to_string);
            let id = resp.body("_id").and_then(Value::as_str).map(str::to_string);
            let ok = matches!((&loc, &id), (Some(l), Some(i)) if l.contains(i.as_str()));
            one(
                "Location header names the new resource",
                Some(ok),
                "a Location URL containing the `_id`",
                loc.unwrap_or_else(|| "(no Location header)".into()),
            )
        }
        "json-content-type" => {
            let ct = resp.header("content-type").unwrap_or("").to_string();
            let ok = ct.to_ascii_lowercase().starts_with("application/json") && resp.json.is_some();
            one(
                "a JSON body with Content-Type application/json",
                Some(ok),
                "application/json",
                if ct.is_empty() { "(no Content-Type)".into() } else { ct },
            )
        }
        "client-challenge" => {
            if resp.status != 401 {
                one(
                    "invalid_client after Basic is 401 with a challenge",
                    Some(false),
                    "HTTP 401 + WWW-Authenticate",
                    format!("HTTP {}", resp.status),
                )
            } else {
                let ch = resp.header("www-authenticate");
                one(
                    "invalid_client after Basic is 401 with a challenge",
                    Some(ch.is_some()),
                    "WWW-Authenticate: Basic …",
                    ch.unwrap_or("(absent)").to_string(),
                )
            }
        }
        "uma-challenge" => uma_challenge(ctx, resp, args.get("as_uri").and_then(Value::as_bool) != Some(false)),
        "client-authenticated" => {
            // On a `traffic` answer: the first recorded token request carries client credentials
            // (HTTP Basic, client_secret in the form, or a client assertion), unless the client
            // was issued no secret.
            let public = ctx
                .env
                .peer
                .as_ref()
                .and_then(|w| w.client.as_ref())
                .is_some_and(|c| c.registration.client_secret.is_none());
            let first = resp.body("requests").and_then(Value::as_array).and_then(|a| a.first());
            let how = first.map(|r| {
                let scheme = r.get("authorization").and_then(Value::as_str).unwrap_or("");
                if scheme.eq_ignore_ascii_case("basic") {
                    "HTTP Basic"
                } else if r.pointer("/form/client_secret").is_some() {
                    "client_secret in the form"
                } else if r.pointer("/form/client_assertion").is_some() {
                    "a client assertion"
                } else {
                    "no client credentials"
                }
            });
            one(
                "the client authenticates at the token endpoint",
                match (public, how) {
                    (true, _) | (_, None) => None,
                    (false, Some(h)) => Some(h != "no client credentials"),
                },
                "client credentials (Basic, client_secret_post or an assertion)",
                how.unwrap_or("no token request"),
            )
        }
        "one-token-method" => {
            // `requests`: recorded requests; each may carry a token one way only (RFC 6750 §2).
            let reqs = args
                .get("requests")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let methods = |r: &Value| {
                let mut n = 0;
                if r.get("bearer").is_some_and(|b| !b.is_null()) {
                    n += 1;
                }
                if r.pointer("/query/access_token").is_some() {
                    n += 1;
                }
                if r.pointer("/form/access_token").is_some() {
                    n += 1;
                }
                n
            };
            let with_token = reqs.iter().filter(|r| methods(r) > 0).count();
            let doubled = reqs.iter().filter(|r| methods(r) > 1).count();
            one(
                "each request carries its token by one method only",
                if with_token == 0 { None } else { Some(doubled == 0) },
                "one of: Authorization header, form body, query",
                format!("{with_token} request(s) with a token, {doubled} with more than one method"),
            )
        }
        "pkce-pair" => {
            let verifier = arg_str(args, "verifier").unwrap_or_default();
            let challenge = arg_str(args, "challenge").unwrap_or_default();
            let method = arg_str(args, "method").unwrap_or_else(|| "S256".into());
            let expected = if method == "plain" {
                verifier.clone()
            } else {
                crate::uma::pkce::s256_challenge(&verifier)
            };
            one(
                "the code_verifier sent with the ticket matches the code_challenge sent to the claims endpoint",
                if challenge.is_empty() {
                    None
                } else {
                    Some(!verifier.is_empty() && expected == challenge)
                },
                format!("{method}(code_verifier) = code_challenge"),
                if verifier.is_empty() {
                    "no code_verifier sent".to_string()
                } else if expected == challenge {
                    "matches".to_string()
                } else {
                    "does not match".to_string()
                },
            )
        }
        "verifier-format" => {
            let v = arg_str(args, "value").unwrap_or_default();
            let ok =
                (43..=128).contains(&v.len()) && v.chars().all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c));
            one(
                "code_verifier is 43 to 128 unreserved characters",
                if v.is_empty() { None } else { Some(ok) },
                "43–128 characters of [A-Za-z0-9-._~]",
                format!("{} characters", v.chars().count()),
            )
        }
        "warning-199" => {
            let w = resp.header_all("warning");
            let ok = w.iter().any(|v| {
                let v = v.to_ascii_lowercase();
                v.trim_start().starts_with("199") && v.contains("uma authorization server unreachable")
            });
            one(
                "Warning: 199 - \"UMA Authorization Server Unreachable\" when no ticket could be had",
                Some(ok),
                "Warning: 199 - \"UMA Authorization Server Unreachable\"",
                if w.is_empty() {
                    format!("HTTP {} without a Warning header", resp.status)
                } else {
                    format!("HTTP {} Warning: {}", resp.status, w.join(" | "))
                },
            )
        }
        "no-access" => one(
            "no access: the RS does not serve the request",
            Some(!(200..300).contains(&resp.status)),
            "no 2xx",
            format!("HTTP {}", resp.status),
        ),
        "min-interval" => {
            // `requests`: recorded requests (their `at_ms`), or `times`: milliseconds.
            let times: Vec<f64> = args
                .get("requests")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|r| r.get("at_ms").and_then(Value::as_f64))
                        .collect()
                })
                .or_else(|| {
                    args.get("times")
                        .and_then(Value::as_array)
                        .map(|a| a.iter().filter_map(Value::as_f64).collect())
                })
                .unwrap_or_default();
            let min = args.get("min_ms").and_then(Value::as_f64).unwrap_or(0.0);
            if times.len() < 2 {
                one(
                    "polls are at least the interval apart",
                    None,
                    format!("≥ {min} ms between polls"),
                    format!("{} poll(s): nothing to compare", times.len()),
                )
            } else {
                let gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
                let shortest = gaps.iter().copied().fold(f64::INFINITY, f64::min);
                one(
                    "polls are at least the interval apart",
                    Some(shortest >= min),
                    format!("≥ {min} ms between polls"),
                    format!(
                        "gaps of {} ms",
                        gaps.iter().map(|g| format!("{g:.0}")).collect::<Vec<_>>().join(", ")
                    ),
                )
            }
        }
        "not-leaked" => {
            let secret = arg_str(args, "secret").ok_or_else(|| StepError("`not-leaked` needs `secret`".into()))?;
            let mut seen = Vec::new();
            if !secret.is_empty() {
                match args.get("in") {
                    Some(v) => {
                        let text = if v.is_string() {
                            super::vars::to_text(v)
                        } else {
                            v.to_string()
                        };
                        if text.contains(&secret) {
                            seen.push("the data given");
                        }
                    }
                    None => {
                        if resp.text.contains(&secret) {
                            seen.push("the body");
                        }
                        if resp.headers.iter().any(|(_, v)| v.contains(&secret)) {
                            seen.push("a header");
                        }
                    }
                }
            }
            one(
                "the secret is not shown to the requesting party's browser",
                if secret.is_empty() { None } else { Some(seen.is_empty()) },
                "absent from every answer to the browser",
                if seen.is_empty() {
                    "absent".to_string()
                } else {
                    format!("found in {}", seen.join(" and "))
                },
            )
        }
        "opaque" => {
            let value = arg_str(args, "value").unwrap_or_default();
            let forbidden: Vec<String> = args
                .get("without")
                .and_then(Value::as_array)
                .map(|a| a.iter().map(super::vars::to_text).filter(|s| s.len() >= 4).collect())
                .unwrap_or_default();
            let decoded = decoded_forms(&value);
            let found: Vec<&String> = forbidden
                .iter()
                .filter(|f| decoded.iter().any(|d| d.contains(f.as_str())))
                .collect();
            one(
                "the value carries no readable data",
                if value.is_empty() { None } else { Some(found.is_empty()) },
                "none of the given data, in clear or base64",
                if found.is_empty() {
                    "none found".to_string()
                } else {
                    format!("{} readable data item(s) found", found.len())
                },
            )
        }
        other => return Err(StepError(format!("unknown check `{other}`"))),
    })
}

fn readable_jwt_claims(v: &str) -> Option<String> {
    use base64::Engine;
    let parts: Vec<&str> = v.split('.').collect();
    if parts.len() != 3 {
        return None;
    }
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts[1]).ok()?;
    let json: Value = serde_json::from_slice(&payload).ok()?;
    let keys: Vec<String> = json
        .as_object()?
        .keys()
        .filter(|k| !matches!(k.as_str(), "iss" | "aud" | "exp" | "iat" | "nbf" | "jti"))
        .cloned()
        .collect();
    if keys.is_empty() { None } else { Some(keys.join(", ")) }
}

/// `granted`: an introspection response's permissions equal (or, with `subset: true`, are
/// within) `permissions: { resource_id: [scopes] }`.
fn granted(args: &Value, resp: &Resp) -> Result<Vec<Outcome>, StepError> {
    let want: BTreeMap<String, setmath::Scopes> = args
        .get("permissions")
        .and_then(Value::as_object)
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_array()
                            .map(|a| a.iter().map(super::vars::to_text).collect())
                            .unwrap_or_default(),
                    )
                })
                .collect()
        })
        .ok_or_else(|| StepError("`granted` needs `permissions: {resource_id: [scopes]}`".into()))?;
    let subset = args.get("subset").and_then(Value::as_bool).unwrap_or(false);
    let got = permissions_of(resp);
    let show = |m: &BTreeMap<String, setmath::Scopes>| {
        m.iter()
            .map(|(k, v)| format!("{k}:[{}]", v.iter().cloned().collect::<Vec<_>>().join(",")))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let ok = if subset {
        got.iter().all(|(r, s)| want.get(r).is_some_and(|w| s.is_subset(w)))
    } else {
        let nonempty = |m: &BTreeMap<String, setmath::Scopes>| -> BTreeMap<String, setmath::Scopes> {
            m.iter()
                .filter(|(_, s)| !s.is_empty())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        nonempty(&got) == nonempty(&want)
    };
    Ok(one(
        if subset {
            "granted permissions stay within what is allowed"
        } else {
            "granted permissions are exactly the expected ones"
        },
        Some(ok),
        show(&want),
        if resp.json.is_none() {
            "(no introspection JSON)".to_string()
        } else {
            show(&got)
        },
    ))
}

/// The permissions of an introspection response: resource id → scopes (merged if repeated).
pub fn permissions_of(resp: &Resp) -> BTreeMap<String, setmath::Scopes> {
    let mut out: BTreeMap<String, setmath::Scopes> = BTreeMap::new();
    if let Some(arr) = resp.body("permissions").and_then(Value::as_array) {
        for p in arr {
            if let Some(r) = p.get("resource_id").and_then(Value::as_str) {
                let e = out.entry(r.to_string()).or_default();
                if let Some(s) = p.get("resource_scopes").and_then(Value::as_array) {
                    e.extend(s.iter().filter_map(|x| x.as_str().map(str::to_string)));
                }
            }
        }
    }
    out
}

/// A value and its base64 / base64url decodings (each dot-separated part too), as text.
fn decoded_forms(v: &str) -> Vec<String> {
    use base64::Engine;
    let mut out = vec![v.to_string()];
    if let Some((_, d)) = url::form_urlencoded::parse(format!("x={v}").as_bytes()).next() {
        out.push(d.into_owned());
    }
    for part in std::iter::once(v).chain(v.split('.')) {
        let p = part.trim_end_matches('=');
        for engine in [
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            &base64::engine::general_purpose::STANDARD_NO_PAD,
        ] {
            if let Ok(b) = engine.decode(p) {
                out.push(String::from_utf8_lossy(&b).into_owned());
            }
        }
    }
    out
}

/// `uma-challenge`: the response carries a UMA challenge with `as_uri` = the AS issuer and a
/// ticket (G-RS-03). The form found (quoting, spacing, other challenges) is recorded as a choice.
/// With `check_as_uri` false (`uma-challenge: { as_uri: false }`) the `as_uri` value is not
/// compared (for checks of other requirements that only need a challenge with a ticket).
fn uma_challenge(ctx: &mut ScenarioCtx<'_>, resp: &Resp, check_as_uri: bool) -> Vec<Outcome> {
    let ch = super::peer::challenge_value(resp);
    let issuer = ctx
        .env
        .peer
        .as_ref()
        .map(|w| w.as_issuer.clone())
        .unwrap_or_else(|| ctx.env.target.issuer().to_string());
    let notes: Vec<String> = ch
        .get("notes")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(super::vars::to_text).collect())
        .unwrap_or_default();
    let schemes: Vec<String> = ch
        .get("schemes")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(super::vars::to_text).collect())
        .unwrap_or_default();
    ctx.choices.insert(
        "challenge-form".into(),
        if notes.is_empty() {
            format!("canonical ({})", schemes.join(", "))
        } else {
            format!("non-canonical: {}", notes.join("; "))
        },
    );
    let present = ch.get("present").and_then(Value::as_bool).unwrap_or(false);
    let mut out = one(
        "WWW-Authenticate carries a challenge with the UMA scheme",
        Some(present && !(200..300).contains(&resp.status)),
        "WWW-Authenticate: UMA … on a non-2xx answer",
        if present {
            format!("HTTP {}, schemes {}", resp.status, schemes.join(", "))
        } else if schemes.is_empty() {
            format!("HTTP {} without WWW-Authenticate", resp.status)
        } else {
            format!("HTTP {}, schemes {} (no UMA)", resp.status, schemes.join(", "))
        },
    );
    if present && check_as_uri {
        let as_uri = ch.get("as_uri").and_then(Value::as_str).unwrap_or("");
        out.extend(one(
            "as_uri is the AS's issuer identifier",
            Some(as_uri.trim_end_matches('/') == issuer.trim_end_matches('/')),
            issuer.clone(),
            if as_uri.is_empty() {
                "(absent)".to_string()
            } else {
                as_uri.to_string()
            },
        ));
    }
    if present {
        let ticket = ch.get("ticket").and_then(Value::as_str).unwrap_or("");
        out.extend(one(
            "the challenge carries a permission ticket",
            Some(!ticket.is_empty()),
            "ticket=\"…\"",
            if ticket.is_empty() { "(absent)" } else { "present" },
        ));
    }
    out
}
