//! The one [`Redactor`] of a run: secrets never reach an output.
//!
//! It is built once per run; the profile's secrets and every token, ticket, PCT, verifier and
//! claim token the engine meets are added to it as they appear, and every writer (report.json,
//! JUnit, the console) passes what it writes through it. Besides the values it was told about, it
//! finds secrets by structure: the values of token-bearing members and parameters
//! ([`SECRET_NAMES`]) in URLs, form and JSON bodies, and the values of `Authorization`, `Cookie`
//! and `Set-Cookie` headers. In a scenario each secret becomes `[secret-N]`, numbered by first
//! appearance, so one value keeps one label (a rotated ticket shows as a new label). Redaction is
//! idempotent.

use std::collections::BTreeSet;
use std::sync::RwLock;

use serde_json::Value;

use crate::outcome::{Report, ScenarioResult};

mod find;
mod labels;
use find::{body_secrets, header_secrets, structural_text};
use labels::{Labels, first_indices};

/// Members and parameters whose values are secrets wherever they appear.
pub const SECRET_NAMES: &[&str] = &[
    "access_token",
    "refresh_token",
    "pct",
    "rpt",
    "ticket",
    "id_token",
    "code",
    "code_verifier",
    "claim_token",
    "state",
    "csrf_token",
    "client_secret",
    "token",
    "subject_token",
    "assertion",
    "client_assertion",
    "registration_access_token",
];

/// Values shorter than this are never treated as secrets (they would match ordinary words).
pub const MIN_SECRET_LEN: usize = 6;

/// What a replaced secret looks like when no label applies.
pub const REDACTED: &str = "[redacted]";

/// The run's redactor. Share it with `Arc`.
#[derive(Debug, Default)]
pub struct Redactor {
    /// Secrets of the whole run (profile secrets, and every secret the engine met).
    known: RwLock<BTreeSet<String>>,
    /// The profile's own secrets: replaced in every scenario.
    profile: RwLock<BTreeSet<String>>,
}

fn is_label(v: &str) -> bool {
    v == REDACTED || (v.starts_with("[secret-") && v.ends_with(']'))
}

fn worth(v: &str) -> bool {
    v.len() >= MIN_SECRET_LEN && !is_label(v) && !v.contains("[secret-") && !v.contains(REDACTED)
}

impl Redactor {
    /// An empty redactor.
    pub fn new() -> Self {
        Self::default()
    }

    /// A secret of the target profile (client secrets, static PATs): redacted everywhere.
    pub fn add_profile_secret(&self, value: &str) {
        if worth(value) {
            if let Ok(mut p) = self.profile.write() {
                p.insert(value.to_string());
            }
            self.add(value);
        }
    }

    /// A secret the run met (for [`Redactor::text`]).
    pub fn add(&self, value: &str) {
        if worth(value)
            && let Ok(mut k) = self.known.write()
        {
            k.insert(value.to_string());
        }
    }

    /// Every secret the run has met so far: the profile's, the ones the engine registered, and
    /// the ones found by structure in finished scenarios. For tests that scan outputs for them.
    pub fn known_values(&self) -> Vec<String> {
        self.known
            .read()
            .map(|k| k.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// A line of text with every known secret replaced by `[redacted]` and control characters
    /// escaped (console output).
    pub fn text(&self, s: &str) -> String {
        let mut out = s.to_string();
        if let Ok(k) = self.known.read() {
            let mut values: Vec<&String> = k.iter().filter(|v| out.contains(v.as_str())).collect();
            values.sort_by_key(|v| std::cmp::Reverse(v.len()));
            for v in values {
                out = out.replace(v.as_str(), REDACTED);
            }
        }
        let labelled: Vec<(String, String)> = structural_text(&out)
            .into_iter()
            .map(|v| (v, REDACTED.to_string()))
            .collect();
        Labels::new(&labelled).apply(&mut out);
        crate::diagnostic::printable(&out)
    }

    /// A JSON value (a target profile) with secret members (`client_secret`, `token`, the
    /// [`SECRET_NAMES`]) and known secrets replaced.
    pub fn json(&self, v: &Value) -> Value {
        let mut v = v.clone();
        fn walk(v: &mut Value) {
            match v {
                Value::Object(o) => {
                    for (k, x) in o.iter_mut() {
                        let secret_member = SECRET_NAMES.contains(&k.as_str()) || k == "token2";
                        if secret_member && x.is_string() {
                            *x = Value::String(REDACTED.into());
                        } else {
                            walk(x);
                        }
                    }
                }
                Value::Array(a) => a.iter_mut().for_each(walk),
                _ => {}
            }
        }
        walk(&mut v);
        let text = v.to_string();
        let clean = self.text(&text);
        serde_json::from_str(&clean).unwrap_or(v)
    }

    /// A scenario with every secret replaced by `[secret-N]`: the values in `seen` (met while it
    /// ran), the profile's secrets, and every secret found by structure in its exchanges.
    pub fn scenario(&self, s: &ScenarioResult, seen: &[String]) -> ScenarioResult {
        let mut s = s.clone();
        let mut values: BTreeSet<String> = seen.iter().filter(|v| worth(v)).cloned().collect();
        if let Ok(p) = self.profile.read() {
            values.extend(p.iter().cloned());
        }
        for e in &s.exchanges {
            values.extend(structural_text(&e.url));
            for (k, v) in e.request_headers.iter().chain(e.response_headers.iter()) {
                values.extend(header_secrets(k, v));
            }
            for b in [&e.request_body, &e.response_body].into_iter().flatten() {
                values.extend(body_secrets(b));
            }
        }
        values.retain(|v| worth(v));
        // What a scenario revealed is a secret of the whole run: the console and the other
        // scenarios replace it too.
        if let Ok(mut k) = self.known.write() {
            k.extend(values.iter().cloned());
        }
        // Number by first appearance in the scenario's exchanges, then its checks.
        let mut all = String::new();
        for e in &s.exchanges {
            all.push_str(&e.url);
            for (_, v) in e.request_headers.iter().chain(e.response_headers.iter()) {
                all.push_str(v);
            }
            all.push_str(e.request_body.as_deref().unwrap_or(""));
            all.push_str(e.response_body.as_deref().unwrap_or(""));
        }
        for c in &s.checks {
            all.push_str(&c.expected);
            all.push_str(&c.actual);
        }
        let values: Vec<String> = values.into_iter().collect();
        let mut ordered: Vec<(usize, String)> = first_indices(&all, &values)
            .into_iter()
            .map(|at| at.unwrap_or(usize::MAX))
            .zip(values)
            .collect();
        ordered.sort();
        let existing = max_label(&all);
        let labelled: Vec<(String, String)> = ordered
            .into_iter()
            .enumerate()
            .map(|(i, (_, v))| (v, format!("[secret-{}]", existing + i + 1)))
            .collect();
        let labels = Labels::new(&labelled);
        for e in &mut s.exchanges {
            labels.apply(&mut e.url);
            for (k, v) in e.request_headers.iter_mut().chain(e.response_headers.iter_mut()) {
                labels.apply(v);
                if k.eq_ignore_ascii_case("authorization") {
                    redact_authorization(v);
                }
            }
            for b in [&mut e.request_body, &mut e.response_body].into_iter().flatten() {
                labels.apply(b);
            }
            if let Some(t) = &mut e.transport_error {
                labels.apply(t);
            }
            if let Some(c) = &mut e.command {
                labels.apply(&mut c.stderr);
            }
        }
        for c in &mut s.checks {
            labels.apply(&mut c.expected);
            labels.apply(&mut c.actual);
        }
        for v in s.choices.values_mut() {
            labels.apply(v);
        }
        if let Some(r) = &mut s.reason {
            labels.apply(r);
        }
        s
    }

    /// A whole report: every scenario, the target profile and the preflight.
    pub fn report(&self, r: &Report) -> Report {
        let mut out = r.clone();
        out.scenarios = r.scenarios.iter().map(|s| self.scenario(s, &[])).collect();
        out.target = self.json(&r.target);
        for p in &mut out.preflight.problems {
            p.what = self.text(&p.what);
            p.fix = self.text(&p.fix);
        }
        out
    }
}

/// The highest `[secret-N]` already in a text (a report redacted before keeps its labels).
fn max_label(text: &str) -> usize {
    let mut max = 0;
    let mut rest = text;
    while let Some(i) = rest.find("[secret-") {
        let after = &rest[i + 8..];
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        if let Ok(n) = digits.parse::<usize>() {
            max = max.max(n);
        }
        rest = after;
    }
    max
}

fn redact_authorization(v: &mut String) {
    let lower = v.to_ascii_lowercase();
    if lower.starts_with("basic ") {
        *v = format!("Basic {REDACTED}");
    } else if let Some((scheme, cred)) = v.split_once(' ')
        && !cred.trim().is_empty()
        && !is_label(cred.trim())
    {
        *v = format!("{scheme} {REDACTED}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{CheckKind, CheckResult, Exchange, RequirementId, Verdict};
    use crate::uma::Role;
    use proptest::prelude::*;

    fn scenario(exchanges: Vec<Exchange>, actual: &str) -> ScenarioResult {
        ScenarioResult {
            id: "as/x/y".into(),
            trial: "as::x::y".into(),
            role: Role::As,
            area: "x".into(),
            title: "t".into(),
            file: "f".into(),
            requirements: vec![RequirementId::new("T-01")],
            verdict: Verdict::Fail,
            reason: None,
            duration_ms: 0,
            choices: Default::default(),
            checks: vec![CheckResult {
                requirement: Some(RequirementId::new("T-01")),
                kind: CheckKind::Uma,
                title: "t".into(),
                verdict: Verdict::Fail,
                expected: String::new(),
                actual: actual.into(),
                location: String::new(),
                step: 0,
                exchange: None,
            }],
            exchanges,
        }
    }

    fn exchange(url: &str, req_body: &str, resp_body: &str, headers: &[(&str, &str)]) -> Exchange {
        Exchange {
            url: url.into(),
            method: "POST".into(),
            request_body: Some(req_body.into()),
            response_body: Some(resp_body.into()),
            request_headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..Exchange::default()
        }
    }

    #[test]
    fn token_bearing_members_cookies_and_state_are_found_by_structure() {
        let r = Redactor::new();
        let s = scenario(
            vec![exchange(
                "http://127.0.0.1:1/cb?state=stateVALUE123&ticket=tkt-abcdef",
                "grant_type=x&ticket=tkt-abcdef&code_verifier=verifier-0123456789",
                r#"{"access_token":"rpt-SECRET-1","refresh_token":"rt-SECRET-2","upgraded":false}"#,
                &[
                    ("Cookie", "sid=cookieVALUE77; csrf=csrfVALUE88"),
                    ("Authorization", "Bearer pat-SECRET-9"),
                ],
            )],
            "got rpt-SECRET-1",
        );
        let out = r.scenario(&s, &[]);
        let text = serde_json::to_string(&out).unwrap();
        for secret in [
            "stateVALUE123",
            "tkt-abcdef",
            "verifier-0123456789",
            "rpt-SECRET-1",
            "rt-SECRET-2",
            "cookieVALUE77",
            "csrfVALUE88",
            "pat-SECRET-9",
        ] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert!(text.contains("[secret-1]"), "{text}");
        let body = out.exchanges[0].response_body.as_deref().unwrap_or("");
        assert!(body.contains("\"upgraded\":false"), "{body}");
    }

    #[test]
    fn secrets_in_html_forms_and_links_are_found_and_become_known_to_the_run() {
        let r = Redactor::new();
        let page = concat!(
            "<form><INPUT type=\"hidden\" name=\"csrf_token\" value=\"csrf-HTML-1234\">",
            "<input value='state-HTML-5678' name='state'>",
            "<a href=\"/claims?x=1&amp;ticket=tkt-HTML-9012\">go</a></form>"
        );
        let s = scenario(vec![exchange("http://h/claims", "", page, &[])], "");
        let out = serde_json::to_string(&r.scenario(&s, &[])).unwrap();
        for secret in ["csrf-HTML-1234", "state-HTML-5678", "tkt-HTML-9012"] {
            assert!(!out.contains(secret), "{secret} leaked: {out}");
            assert!(
                r.known_values().iter().any(|k| k == secret),
                "{secret} is known to the run"
            );
        }
        assert_eq!(r.text("seen csrf-HTML-1234"), "seen [redacted]");
    }

    #[test]
    fn the_same_value_keeps_one_label_within_a_scenario() {
        let r = Redactor::new();
        let s = scenario(
            vec![
                exchange("http://h/x", "ticket=tkt-111111", "{}", &[]),
                exchange("http://h/y", "ticket=tkt-111111", "{}", &[]),
            ],
            "",
        );
        let out = r.scenario(&s, &[]);
        assert_eq!(out.exchanges[0].request_body, out.exchanges[1].request_body);
    }

    #[test]
    fn text_replaces_known_secrets_and_escapes_control_characters() {
        let r = Redactor::new();
        r.add("supersecret-value");
        assert_eq!(
            r.text("token supersecret-value\u{1b}[31m"),
            "token [redacted]\\u{1b}[31m"
        );
    }

    #[test]
    fn profile_secrets_are_replaced_in_json() {
        let r = Redactor::new();
        r.add_profile_secret("client-secret-xyz");
        let v =
            serde_json::json!({"clients": {"rs": {"client_secret": "client-secret-xyz"}}, "note": "client-secret-xyz"});
        let out = r.json(&v).to_string();
        assert!(!out.contains("client-secret-xyz"), "{out}");
    }

    proptest! {
        #[test]
        fn redaction_is_idempotent(
            ticket in "[A-Za-z0-9_-]{6,20}",
            state in "[A-Za-z0-9]{6,20}",
            other in "[a-z ]{0,30}",
        ) {
            let r = Redactor::new();
            let s = scenario(
                vec![exchange(
                    &format!("http://h/cb?state={state}&x=1"),
                    &format!("ticket={ticket}&scope=view"),
                    &format!(r#"{{"ticket":"{ticket}","note":"{other}"}}"#),
                    &[("Authorization", "Basic Zm9vOmJhcg==")],
                )],
                &format!("saw {ticket} {other}"),
            );
            let once = r.scenario(&s, std::slice::from_ref(&ticket));
            let twice = r.scenario(&once, std::slice::from_ref(&ticket));
            prop_assert_eq!(&once, &twice);
            let text = serde_json::to_string(&once).unwrap();
            let leaked_ticket = text.contains(&format!("={ticket}"));
            let leaked_state = text.contains(&format!("state={state}"));
            prop_assert!(!leaked_ticket);
            prop_assert!(!leaked_state);
        }
    }
}
