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
    for host in ["127.0.0.1:", "[::1]:", "127.0.0.1%3A", "%5B%3A%3A1%5D%3A"] {
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

/// Whether a maximal run of id characters looks generated: 22 base64url characters (16 random
/// bytes, the reference server's ids) or 32 hex digits (the harness's per-scenario tags), with
/// the mix of characters random values have (a word such as `authorization_endpoint` is not).
fn looks_generated(run: &str) -> bool {
    let has = |f: fn(char) -> bool| run.chars().any(f);
    match run.len() {
        // 16 random bytes (ids), or 32 (a PKCE challenge, a SHA-256) in base64url.
        22 | 43 => has(|c| c.is_ascii_lowercase()) && (has(|c| c.is_ascii_uppercase()) || has(|c| c.is_ascii_digit())),
        32 => {
            run.chars().all(|c| c.is_ascii_hexdigit())
                && has(|c| c.is_ascii_digit())
                && has(|c| c.is_ascii_alphabetic())
        }
        _ => false,
    }
}

/// Every generated-looking id in a text, in order.
fn generated_ids(text: &str, out: &mut Vec<String>) {
    let is_id = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let mut start = None;
    for (i, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
        match (is_id(c), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                let run = &text[s..i];
                if looks_generated(run) && !out.iter().any(|x| x == run) {
                    out.push(run.to_string());
                }
                start = None;
            }
            _ => {}
        }
    }
}

/// Replaces every run of exactly 8 lowercase hex digits, and every longer one with both digits
/// and letters in it (the per-scenario `${run}` tag, wherever a scenario put it, even glued to
/// other characters) by
/// `[tag]`.
fn stable_hex(text: &str) -> String {
    let is_hex = |c: char| c.is_ascii_digit() || ('a'..='f').contains(&c);
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        let digits = run.chars().any(|c| c.is_ascii_digit());
        let letters = run.chars().any(|c| c.is_ascii_alphabetic());
        // A tag of only digits or only letters happens too (`user-04911570`): any run of
        // exactly eight.
        if run.len() == 8 || (run.len() > 8 && digits && letters) {
            out.push_str("[tag]");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if is_hex(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// Sorts a listing such as `[id-2]:[view] [id-1]:[print]` (its order followed generated ids).
fn sorted_listing(text: &str) -> String {
    let items: Vec<&str> = text.split(' ').collect();
    if items.len() > 1 && items.iter().all(|i| i.starts_with('[') && i.contains("]:")) {
        let mut items = items;
        items.sort_unstable();
        return items.join(" ");
    }
    text.to_string()
}

/// Replaces generated ids (registered client ids, approval ids, resource ids outside `_id`,
/// PKCE challenges) by `[gen-N]`, numbered by first appearance in the scenario, and the
/// scenario's hex tags by `[tag]`.
fn stable_generated(s: &mut ScenarioResult) {
    let mut ids = Vec::new();
    for e in &s.exchanges {
        generated_ids(&e.url, &mut ids);
        for (_, v) in e.request_headers.iter().chain(e.response_headers.iter()) {
            generated_ids(v, &mut ids);
        }
        for b in [&e.request_body, &e.response_body].into_iter().flatten() {
            generated_ids(b, &mut ids);
        }
    }
    for c in &s.checks {
        generated_ids(&c.expected, &mut ids);
        generated_ids(&c.actual, &mut ids);
    }
    let labelled: Vec<(String, String)> = ids
        .into_iter()
        .enumerate()
        .map(|(i, id)| (id, format!("[gen-{}]", i + 1)))
        .collect();
    for e in &mut s.exchanges {
        replace_all(&mut e.url, &labelled);
        for (_, v) in e.request_headers.iter_mut().chain(e.response_headers.iter_mut()) {
            replace_all(v, &labelled);
        }
        for b in [&mut e.request_body, &mut e.response_body].into_iter().flatten() {
            replace_all(b, &labelled);
        }
    }
    for c in &mut s.checks {
        replace_all(&mut c.expected, &labelled);
        replace_all(&mut c.actual, &labelled);
    }
    for e in &mut s.exchanges {
        e.url = stable_hex(&e.url);
        for (_, v) in e.request_headers.iter_mut().chain(e.response_headers.iter_mut()) {
            *v = stable_hex(v);
        }
        for b in [&mut e.request_body, &mut e.response_body].into_iter().flatten() {
            *b = stable_hex(b);
        }
    }
    for c in &mut s.checks {
        c.expected = sorted_listing(&stable_hex(&c.expected));
        c.actual = sorted_listing(&stable_hex(&c.actual));
    }
    for v in s.choices.values_mut() {
        *v = stable_hex(v);
    }
}

/// Replaces measurements in a check's text that change from run to run: times (`1004 ms`),
/// entropy estimates (`256 bits`) and Unix timestamps (ten digits, 2020 to 2040).
fn stable_measures(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let timed = text.contains(" ms");
    while let Some(i) = rest.find(|c: char| c.is_ascii_digit()) {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        let n = after.chars().take_while(char::is_ascii_digit).count();
        let digits = &after[..n];
        let tail = &after[n..];
        let glued = i > 0 && rest[..i].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '-' || c == '[');
        let timestamp = n == 10
            && digits
                .parse::<u64>()
                .is_ok_and(|t| (1_577_836_800..2_208_988_800).contains(&t));
        let measure = (timed && n >= 3) || tail.starts_with(" bits");
        if !glued && (timestamp || measure) {
            out.push_str(if timestamp { "[time]" } else { "[n]" });
        } else {
            out.push_str(digits);
        }
        rest = tail;
    }
    out.push_str(rest);
    out
}

/// Whether a JSON value is a label a stabilised report gives a generated value.
fn is_label(v: &serde_json::Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.starts_with("[gen-") || s.starts_with("[id-") || s.starts_with("[secret-"))
}

/// In JSON text: a list of generated ids (every resource of the owner, which depends on what ran
/// before) becomes `["[ids]"]`.
fn stable_json_text(text: &str) -> String {
    let Ok(mut v) = serde_json::from_str::<serde_json::Value>(text) else {
        return text.to_string();
    };
    if !(v.is_array() || v.is_object()) {
        return text.to_string();
    }
    fn walk(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Array(a) if !a.is_empty() && a.iter().all(is_label) => {
                *a = vec![serde_json::Value::String("[ids]".into())];
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(walk),
            serde_json::Value::Object(o) => o.values_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut v);
    v.to_string()
}

/// The exchanges of one `parallel` step (consecutive, same step) in a fixed order: which
/// request the server answered first is a race. Checks keep pointing at the same exchange.
fn stable_races(s: &mut ScenarioResult) {
    let key = |e: &crate::outcome::Exchange| {
        (
            e.status,
            e.response_body.clone().unwrap_or_default(),
            e.request_body.clone().unwrap_or_default(),
            e.url.clone(),
        )
    };
    let mut order: Vec<usize> = (0..s.exchanges.len()).collect();
    let mut i = 0;
    while i < order.len() {
        let step = s.exchanges[i].step;
        let mut j = i + 1;
        while j < order.len() && s.exchanges[j].step == step && s.exchanges[j].method == s.exchanges[i].method {
            j += 1;
        }
        if j - i > 1 {
            order[i..j].sort_by_key(|&x| key(&s.exchanges[x]));
        }
        i = j;
    }
    if order.iter().enumerate().all(|(i, &x)| i == x) {
        return;
    }
    let old = std::mem::take(&mut s.exchanges);
    let mut moved_to = vec![0; old.len()];
    for (new, &was) in order.iter().enumerate() {
        moved_to[was] = new;
    }
    s.exchanges = order.iter().map(|&x| old[x].clone()).collect();
    for c in &mut s.checks {
        if let Some(x) = c.exchange.as_mut()
            && let Some(&n) = moved_to.get(*x)
        {
            *x = n;
        }
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
        stable_generated(s);
        for c in &mut s.checks {
            c.expected = stable_json_text(&stable_measures(&c.expected));
            c.actual = stable_json_text(&stable_measures(&c.actual));
        }
        for e in &mut s.exchanges {
            if let Some(b) = &mut e.response_body {
                *b = stable_json_text(b);
            }
        }
        for e in &mut s.exchanges {
            e.url = stable_tags(&e.url);
            for b in [&mut e.request_body, &mut e.response_body].into_iter().flatten() {
                *b = stable_tags(b);
            }
        }
    }
    report.run.started_at = "[time]".into();
    report.run.duration_ms = 0;
    // The day a baseline was judged on (its expiries still decide each entry's state).
    if let Some(b) = &mut report.baseline {
        b.today = "[today]".into();
    }
    // Which scenarios were slowest depends on the machine.
    report.summary.slowest.clear();
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
        if let Some(r) = s.reason.as_mut() {
            *r = stable_ports(r);
        }
        stable_races(s);
    }
}

/// Replaces JSON members holding times (`exp`, `iat`, `nbf`, `expires_in`...) by 0, and sorts
/// lists of objects.
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
                    serde_json::Value::Array(a) => {
                        a.iter_mut().for_each(walk);
                        // Lists of objects (permissions, approvals) come in the order of their
                        // generated ids, which differs from run to run.
                        if a.iter().all(serde_json::Value::is_object) {
                            a.sort_by_cached_key(|x| x.to_string());
                        }
                    }
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
    fn measurements_and_generated_tags_are_replaced_but_words_are_not() {
        assert_eq!(
            stable_measures("gaps of 1004, 1010, 1001 ms"),
            "gaps of [n], [n], [n] ms"
        );
        assert_eq!(
            stable_measures("at most 256 bits (43 characters)"),
            "at most [n] bits (43 characters)"
        );
        assert_eq!(stable_measures("exp 1796578911, status 400"), "exp [time], status 400");
        assert_eq!(
            stable_hex("c-267b92df/x %23faa24cab3 authorization_endpoint 2026 u-04911570 /19566083/"),
            "c-[tag]/x %[tag] authorization_endpoint 2026 u-[tag] /[tag]/"
        );
        let mut ids = Vec::new();
        generated_ids("id=4zawAX7botian6OW8Hfbtw&authorization_endpoint", &mut ids);
        assert_eq!(ids, ["4zawAX7botian6OW8Hfbtw"]);
    }

    #[test]
    fn the_day_a_baseline_was_judged_on_is_replaced() {
        // Committed reports (reports/interop/) are compared with fresh ones on other days.
        let mut report = Report {
            baseline: Some(crate::outcome::BaselineResult {
                file: "baseline.yaml".into(),
                today: "2026-12-06".into(),
                ..Default::default()
            }),
            ..Report::default()
        };
        stabilize(&mut report);
        assert_eq!(report.baseline.map(|b| b.today).as_deref(), Some("[today]"));
    }

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
