//! Deterministic output for snapshots: [`stabilize`] replaces what changes from run to run
//! (ports, times, durations, generated ids and tags) by fixed placeholders. Secrets are the
//! run's [`crate::redact::Redactor`]'s business.

use crate::outcome::{Report, ScenarioResult};

fn replace_all(text: &mut String, labelled: &[(String, String)]) {
    for (s, label) in labelled {
        if text.contains(s.as_str()) {
            *text = text.replace(s.as_str(), label);
        }
    }
}

/// Replaces `127.0.0.1:<port>` and `[::1]:<port>` by a fixed placeholder.
pub fn stable_ports(text: &str) -> String {
    let mut out = text.to_string();
    for host in ["127.0.0.1:", "[::1]:"] {
        out = ports_after(&out, host);
    }
    out
}

fn ports_after(text: &str, host: &str) -> String {
    let mut acc = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(host) {
        acc.push_str(&rest[..i + host.len()]);
        let after = &rest[i + host.len()..];
        let digits = after.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 {
            acc.push_str("PORT");
        }
        rest = &after[digits..];
    }
    acc.push_str(rest);
    acc
}

fn stable_tags(text: &str) -> String {
    // The per-scenario requesting party: rqp-<8 hex>.
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("rqp-") {
        out.push_str(&rest[..i + 4]);
        let after = &rest[i + 4..];
        let hex = after.chars().take_while(char::is_ascii_hexdigit).count();
        if hex == 8 {
            out.push_str("[tag]");
            rest = &after[8..];
        } else {
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

fn stable_ids(s: &mut ScenarioResult) {
    let mut ids: Vec<String> = Vec::new();
    for e in &s.exchanges {
        if let Some(b) = &e.response_body
            && let Ok(v) = serde_json::from_str::<serde_json::Value>(b)
            && let Some(id) = v.get("_id").and_then(|x| x.as_str())
            && !ids.iter().any(|x| x == id)
        {
            ids.push(id.to_string());
        }
    }
    let labelled: Vec<(String, String)> = ids
        .into_iter()
        .enumerate()
        .map(|(i, id)| (id, format!("[id-{}]", i + 1)))
        .collect();
    for e in &mut s.exchanges {
        replace_all(&mut e.url, &labelled);
        for (k, v) in e.request_headers.iter_mut().chain(e.response_headers.iter_mut()) {
            replace_all(v, &labelled);
            if k.eq_ignore_ascii_case("content-length") {
                *v = "[n]".into();
            }
        }
        for b in [&mut e.request_body, &mut e.response_body].into_iter().flatten() {
            replace_all(b, &labelled);
        }
    }
    for c in &mut s.checks {
        replace_all(&mut c.expected, &labelled);
        replace_all(&mut c.actual, &labelled);
    }
}

/// Makes a report deterministic: ports, timestamps, durations, and time-derived values.
pub fn stabilize(report: &mut Report) {
    report.run.suites_hash = "[hash]".into();
    if !report.run.catalogue_hash.is_empty() {
        report.run.catalogue_hash = "[hash]".into();
    }
    for s in &mut report.scenarios {
        stable_ids(s);
        for e in &mut s.exchanges {
            e.url = stable_tags(&e.url);
            for b in [&mut e.request_body, &mut e.response_body].into_iter().flatten() {
                *b = stable_tags(b);
            }
        }
    }
    report.run.started_at = "[time]".into();
    report.run.duration_ms = 0;
    let target = stable_ports(&report.target.to_string());
    report.target = serde_json::from_str(&target).unwrap_or_default();
    report.preflight.discovery_url = stable_ports(&report.preflight.discovery_url);
    for s in &mut report.scenarios {
        s.duration_ms = 0;
        for e in &mut s.exchanges {
            e.duration_ms = 0;
            e.url = stable_ports(&e.url);
            for (k, v) in e.request_headers.iter_mut().chain(e.response_headers.iter_mut()) {
                *v = stable_ports(v);
                if k.eq_ignore_ascii_case("date") {
                    *v = "[date]".into();
                }
            }
            for b in [&mut e.request_body, &mut e.response_body].into_iter().flatten() {
                *b = stable_numbers(&stable_ports(b));
            }
        }
        for c in &mut s.checks {
            c.expected = stable_ports(&c.expected);
            c.actual = stable_ports(&c.actual);
        }
    }
}

/// Replaces JSON members holding times (`exp`, `iat`, `nbf`, `expires_in`...) by 0.
fn stable_numbers(body: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(mut v) => {
            fn walk(v: &mut serde_json::Value) {
                match v {
                    serde_json::Value::Object(o) => {
                        for (k, x) in o.iter_mut() {
                            if matches!(k.as_str(), "exp" | "iat" | "nbf" | "created_at" | "client_id_issued_at")
                                && x.is_number()
                            {
                                *x = serde_json::json!(0);
                            } else {
                                walk(x);
                            }
                        }
                    }
                    serde_json::Value::Array(a) => a.iter_mut().for_each(walk),
                    _ => {}
                }
            }
            walk(&mut v);
            v.to_string()
        }
        Err(_) => body.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ports_are_replaced() {
        assert_eq!(
            stable_ports("http://127.0.0.1:8080/x and [::1]:99/"),
            "http://127.0.0.1:PORT/x and [::1]:PORT/"
        );
    }

    proptest! {
        #[test]
        fn port_stabilisation_is_idempotent(s in ".{0,80}") {
            let once = stable_ports(&s);
            prop_assert_eq!(stable_ports(&once), once);
        }
    }
}
