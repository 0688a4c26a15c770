//! `uma-conformance`: the conformance test suite and interop harness for UMA 2.0.
//!
//! This first version runs the discovery preflight (UMA Grant §2, FedAuthz §2) against a
//! target AS, by default the embedded reference AS, and writes `report.json`. The scenario
//! engine and the suites build on it.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

/// The verdict of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The target met the requirement.
    Pass,
    /// The target broke a MUST.
    Fail,
    /// The harness could not run the check.
    Error,
}

/// One check of one requirement.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// The requirement ID from the spec digest.
    pub requirement: &'static str,
    /// What was checked.
    pub title: &'static str,
    /// The verdict.
    pub verdict: Verdict,
    /// What the spec expects.
    pub expected: String,
    /// What the target did.
    pub actual: String,
}

/// The result of a run.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Harness version.
    pub harness_version: &'static str,
    /// The target's issuer.
    pub target: String,
    /// Every check.
    pub checks: Vec<Check>,
    /// Counts per verdict.
    pub summary: Summary,
}

/// Counts per verdict.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    /// Passed checks.
    pub pass: usize,
    /// Failed checks.
    pub fail: usize,
    /// Checks that could not run.
    pub error: usize,
}

/// A failure of the harness itself.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// The report could not be written.
    #[error("failed to write the report to {path}")]
    Write {
        /// The path.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

fn check(
    requirement: &'static str,
    title: &'static str,
    ok: bool,
    expected: impl Into<String>,
    actual: impl Into<String>,
) -> Check {
    Check {
        requirement,
        title,
        verdict: if ok { Verdict::Pass } else { Verdict::Fail },
        expected: expected.into(),
        actual: actual.into(),
    }
}

/// Runs the discovery preflight against the AS at `issuer`.
pub async fn discovery_checks(issuer: &str) -> Vec<Check> {
    let url = format!("{}/.well-known/uma2-configuration", issuer.trim_end_matches('/'));
    let http = match reqwest::Client::builder().timeout(Duration::from_secs(10)).build() {
        Ok(h) => h,
        Err(e) => return vec![error_check(format!("cannot build an HTTP client: {e}"))],
    };
    let resp = match http.get(&url).send().await {
        Ok(r) => r,
        Err(e) => return vec![error_check(format!("GET {url} failed: {e}"))],
    };
    let status = resp.status().as_u16();
    let doc: Value = resp.json().await.unwrap_or(Value::Null);
    let mut checks = vec![check(
        "G-AS-01",
        "the discovery document is available",
        status == 200 && doc.is_object(),
        "200 with a JSON object",
        format!("{status}"),
    )];
    let issued = doc["issuer"].as_str().unwrap_or_default();
    checks.push(check(
        "G-AS-03",
        "the issuer in the document is the issuer the URL was built from",
        issued == issuer.trim_end_matches('/'),
        issuer.to_owned(),
        issued.to_owned(),
    ));
    for (req, field) in [
        ("F-AS-04", "permission_endpoint"),
        ("F-AS-04", "resource_registration_endpoint"),
        ("G-AS-07", "token_endpoint"),
    ] {
        checks.push(check(
            req,
            "a required endpoint is declared",
            doc[field].is_string(),
            format!("{field} present"),
            doc[field].to_string(),
        ));
    }
    let grants = doc["grant_types_supported"].as_array().cloned().unwrap_or_default();
    checks.push(check(
        "G-AS-07",
        "grant_types_supported lists the UMA grant",
        grants
            .iter()
            .any(|g| g == "urn:ietf:params:oauth:grant-type:uma-ticket"),
        "urn:ietf:params:oauth:grant-type:uma-ticket listed",
        doc["grant_types_supported"].to_string(),
    ));
    checks
}

fn error_check(actual: String) -> Check {
    Check {
        requirement: "G-AS-01",
        title: "the discovery document is reachable",
        verdict: Verdict::Error,
        expected: "a response".into(),
        actual,
    }
}

/// Builds the report from the checks.
pub fn report(target: &str, checks: Vec<Check>) -> Report {
    let mut summary = Summary::default();
    for c in &checks {
        match c.verdict {
            Verdict::Pass => summary.pass += 1,
            Verdict::Fail => summary.fail += 1,
            Verdict::Error => summary.error += 1,
        }
    }
    Report {
        harness_version: env!("CARGO_PKG_VERSION"),
        target: target.to_owned(),
        checks,
        summary,
    }
}

/// Writes `report.json` into `dir`.
pub fn write_report(dir: &Path, report: &Report) -> Result<(), HarnessError> {
    let path = dir.join("report.json");
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let text = serde_json::to_string_pretty(report).map_err(std::io::Error::other)?;
        std::fs::write(&path, text + "\n")
    };
    write().map_err(|source| HarnessError::Write {
        path: path.display().to_string(),
        source,
    })
}
