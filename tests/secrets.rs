//! Nothing secret in any output (issue 14 §4). The whole suite runs (every role, against the
//! embedded reference), once plain and once with quirks that put secrets where they do not
//! belong (claims and tokens in URLs, a readable PCT, the PCT sent to the RS, the RPT twice).
//! Every output the CLI writes is produced the way the CLI produces it: report.json,
//! report.html, junit.xml, summary.md, the console's progress lines, findings and summary, a
//! baseline, and the evidence bundle (scanned inside). Two scans:
//!
//! 1. every secret value the run met (the Redactor's record: profile secrets, every token,
//!    ticket, PCT, code, verifier, claim token, `state`, CSRF token and cookie the engine saw or
//!    found in a scenario) appears in no output, neither as sent nor URL-encoded;
//! 2. independently of the Redactor's own detection, no secret-bearing member, parameter or
//!    header in report.json holds anything but a label (`[secret-N]`, `[redacted]`).

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use uma_conformance::report::{self, Context};
use uma_conformance::{Catalogue, Report, RunRequest, Session};
use uma_reference_server::Quirk;

/// Members, parameters and cookie names whose values are secrets (the list).
const SECRET_MEMBERS: &[&str] = &[
    "access_token",
    "refresh_token",
    "pct",
    "ticket",
    "id_token",
    "code",
    "code_verifier",
    "claim_token",
    "state",
    "csrf_token",
    "client_secret",
];

fn is_label(v: &str) -> bool {
    let v = v.trim().trim_matches('"');
    v.is_empty() || v == "[redacted]" || (v.starts_with("[secret-") && v.ends_with(']'))
}

/// Every output of one run, as (name, text).
async fn outputs_of(quirks: Vec<Quirk>) -> (Vec<(String, String)>, Vec<String>, Report) {
    let req = RunRequest {
        quirks,
        ..RunRequest::default()
    };
    let session = Session::prepare(&req).await.expect("the embedded run starts");
    let redactor = session.redactor.clone();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let seen = lines.clone();
    let report = session
        .run(move |s| {
            if let Ok(mut l) = seen.lock() {
                l.push(report::console::line(s));
            }
        })
        .await;
    let catalogue = Catalogue::load(&req.catalogue).unwrap();
    let ctx = Context::new(&catalogue);
    let dir = tempfile::tempdir().unwrap();
    let files = report::write_all(&report, &redactor, &ctx, dir.path()).expect("the reports are written");
    assert!(files.len() >= 4, "every format is written: {files:?}");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap().flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap();
        out.push((entry.file_name().to_string_lossy().into_owned(), text));
    }
    let console = format!(
        "{}\n{}\n{}",
        lines.lock().unwrap().join("\n"),
        redactor.text(&report::console::findings(&report, |_| None)),
        redactor.text(&report::console::summary(&report)),
    );
    out.push(("console".into(), console));
    let clean = redactor.report(&report);
    out.push((
        "baseline.yaml".into(),
        uma_conformance::baseline::write(&clean, jiff::civil::date(2026, 12, 6)),
    ));
    let bundle = dir.path().join("evidence.tar.gz");
    report::bundle::write(&clean, &ctx, "test", &report.run.catalogue_hash, &bundle).unwrap();
    out.extend(bundle_entries(&bundle));
    let secrets = redactor.known_values();
    (out, secrets, report)
}

/// The files inside an evidence bundle.
fn bundle_entries(path: &Path) -> Vec<(String, String)> {
    let gz = flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap());
    let mut archive = tar::Archive::new(gz);
    let mut out = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = format!("bundle:{}", entry.path().unwrap().display());
        let mut text = String::new();
        entry.read_to_string(&mut text).unwrap();
        out.push((name, text));
    }
    assert!(
        out.len() >= 5,
        "the bundle holds every format, the target and the manifest"
    );
    out
}

/// Scan 1: the values the run met, in every output. Every secret and its URL-encoded form are
/// found in one pass per output (one `contains` per secret and output took seconds at the test
/// build's opt-level 0: 500 and more secrets, megabytes of outputs).
fn value_hits(outputs: &[(String, String)], secrets: &[String]) -> Vec<String> {
    let (mut patterns, mut of) = (Vec::new(), Vec::new());
    for (i, s) in secrets.iter().enumerate() {
        let encoded: String = url::form_urlencoded::byte_serialize(s.as_bytes()).collect();
        for form in [s.clone(), encoded] {
            patterns.push(form);
            of.push(i);
        }
    }
    let automaton = aho_corasick::AhoCorasick::new(&patterns).unwrap();
    let mut hits = BTreeSet::new();
    for (name, text) in outputs {
        for m in automaton.find_overlapping_iter(text) {
            let secret = &secrets[of[m.pattern().as_usize()]];
            hits.insert(format!("{name}: a secret of {} characters", secret.len()));
        }
    }
    hits.into_iter().collect()
}

/// Scan 2: secret-bearing places in report.json hold labels only.
fn structural_hits(report_json: &str) -> Vec<String> {
    let report: Value = serde_json::from_str(report_json).unwrap();
    let mut hits = Vec::new();
    for s in report["scenarios"].as_array().unwrap() {
        let id = s["id"].as_str().unwrap_or("?");
        for e in s["exchanges"].as_array().into_iter().flatten() {
            if let Some(url) = e["url"].as_str()
                && let Ok(u) = url::Url::parse(url)
            {
                params(u.query_pairs(), &format!("{id}: URL"), &mut hits);
            }
            for side in ["request_headers", "response_headers"] {
                for h in e[side].as_array().into_iter().flatten() {
                    let (k, v) = (h[0].as_str().unwrap_or(""), h[1].as_str().unwrap_or(""));
                    header(k, v, &format!("{id}: {side}"), &mut hits);
                }
            }
            for side in ["request_body", "response_body"] {
                if let Some(b) = e[side].as_str() {
                    let at = format!("{id}: {side}");
                    match serde_json::from_str::<Value>(b) {
                        Ok(v) => json_members(&v, &at, &mut hits),
                        Err(_) if b.trim_start().starts_with('<') => html_inputs(b, &at, &mut hits),
                        Err(_) => params(url::form_urlencoded::parse(b.as_bytes()), &at, &mut hits),
                    }
                }
            }
        }
    }
    hits
}

fn params<'a>(
    pairs: impl Iterator<Item = (std::borrow::Cow<'a, str>, std::borrow::Cow<'a, str>)>,
    at: &str,
    hits: &mut Vec<String>,
) {
    for (k, v) in pairs {
        if SECRET_MEMBERS.contains(&k.as_ref()) && !is_label(&v) {
            hits.push(format!("{at}: parameter {k} in clear"));
        }
    }
}

fn header(name: &str, value: &str, at: &str, hits: &mut Vec<String>) {
    let clear = match name.to_ascii_lowercase().as_str() {
        "authorization" => value.split_once(' ').is_some_and(|(_, c)| !is_label(c)),
        "cookie" => value
            .split(';')
            .filter_map(|p| p.split_once('='))
            .any(|(_, v)| !is_label(v)),
        "set-cookie" => value
            .split(';')
            .next()
            .and_then(|p| p.split_once('='))
            .is_some_and(|(_, v)| !is_label(v)),
        _ => false,
    };
    if clear {
        hits.push(format!("{at}: {name} in clear"));
    }
}

/// `<input name="csrf_token" value="…">` and the like in a page.
fn html_inputs(page: &str, at: &str, hits: &mut Vec<String>) {
    for tag in page.split('<').filter(|t| t.to_ascii_lowercase().starts_with("input")) {
        let tag = tag.split('>').next().unwrap_or("");
        let attr = |name: &str| {
            tag.split_whitespace()
                .filter_map(|a| a.split_once('='))
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim_matches(['"', '\'', '/']).to_string())
        };
        if let (Some(n), Some(v)) = (attr("name"), attr("value"))
            && SECRET_MEMBERS.contains(&n.as_str())
            && !is_label(&v)
        {
            hits.push(format!("{at}: form field {n} in clear"));
        }
    }
}

fn json_members(v: &Value, at: &str, hits: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                match x {
                    Value::String(s) if SECRET_MEMBERS.contains(&k.as_str()) && !is_label(s) => {
                        hits.push(format!("{at}: member {k} in clear"));
                    }
                    _ => json_members(x, at, hits),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| json_members(x, at, hits)),
        _ => {}
    }
}

async fn no_secret_in_any_output(quirks: Vec<Quirk>) {
    let (outputs, secrets, report) = outputs_of(quirks).await;
    assert!(
        report.scenarios.len() > 150,
        "the whole suite ran: {} scenarios",
        report.scenarios.len()
    );
    assert!(
        secrets.len() > 500,
        "the run met many secrets ({}): the scan is not vacuous",
        secrets.len()
    );
    let hits = value_hits(&outputs, &secrets);
    assert!(hits.is_empty(), "{} secret values in outputs: {hits:#?}", hits.len());
    // The scan finds a secret where one is, in its own and in its URL-encoded form.
    let planted = secrets
        .iter()
        .find(|s| s.contains(['+', '/', '=']))
        .unwrap_or(&secrets[0]);
    let encoded: String = url::form_urlencoded::byte_serialize(planted.as_bytes()).collect();
    let leaky = [
        ("plain".to_string(), format!("x{planted}x")),
        ("encoded".to_string(), format!("x{encoded}x")),
    ];
    let found = value_hits(&leaky, &secrets);
    for name in ["plain", "encoded"] {
        let hit = format!("{name}: a secret of {} characters", planted.len());
        assert!(
            found.contains(&hit),
            "the scan finds a planted secret ({name}): {found:?}"
        );
    }
    let json = &outputs.iter().find(|(n, _)| n == "report.json").unwrap().1;
    let labels = json.matches("[secret-").count();
    assert!(labels > 500, "report.json labels the secrets it replaced ({labels})");
    let structural = structural_hits(json);
    assert!(
        structural.is_empty(),
        "{} secrets in clear: {structural:#?}",
        structural.len()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_the_plain_run_met_appears_in_any_output() {
    no_secret_in_any_output(Vec::new()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_appears_when_targets_put_secrets_where_they_do_not_belong() {
    no_secret_in_any_output(vec![
        Quirk::RedirectLeaksClaims,
        Quirk::TokenGetAccepted,
        Quirk::PctReadableJwt,
        Quirk::InactiveWithReason,
        Quirk::RsIgnoresBearerHeader,
        Quirk::ClientPctToRs,
        Quirk::ClientTokenTwice,
        Quirk::ClientStateCarriesData,
    ])
    .await;
}
