//! `junit.xml`: one testcase per scenario; a failure carries the requirement, expected and actual.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Report as JReport, TestCase, TestCaseStatus, TestSuite};

use crate::outcome::{Report, Verdict};
use crate::uma::Role;

/// Renders the JUnit XML of a report.
pub fn render(report: &Report) -> String {
    let mut out = JReport::new("uma-conformance");
    let mut roles: Vec<Role> = report.scenarios.iter().map(|s| s.role).collect();
    roles.sort();
    roles.dedup();
    for role in roles {
        let mut suite = TestSuite::new(role.as_str());
        for s in report.scenarios.iter().filter(|s| s.role == role) {
            let bad: Vec<_> = s
                .checks
                .iter()
                .filter(|c| matches!(c.verdict, Verdict::Fail | Verdict::Error | Verdict::Warn))
                .collect();
            let mut status = match s.verdict {
                Verdict::Fail => TestCaseStatus::non_success(NonSuccessKind::Failure),
                Verdict::Error => TestCaseStatus::non_success(NonSuccessKind::Error),
                Verdict::Skip => TestCaseStatus::skipped(),
                _ => TestCaseStatus::success(),
            };
            if matches!(s.verdict, Verdict::Fail | Verdict::Error) {
                let first = bad.iter().find(|c| c.verdict == s.verdict).or(bad.first());
                if let Some(c) = first {
                    status.set_message(format!("{} {}: {}", c.requirement_str(), c.verdict.as_str(), c.title));
                    status.set_type(c.requirement_str().to_string());
                } else if let Some(r) = &s.reason {
                    status.set_message(r.clone());
                }
                let detail: Vec<String> = bad
                    .iter()
                    .map(|c| {
                        format!(
                            "{} [{}] {}\n  --> {}\n  expected: {}\n    actual: {}",
                            c.requirement_str(),
                            c.verdict.as_str(),
                            c.title,
                            c.location,
                            c.expected,
                            c.actual
                        )
                    })
                    .collect();
                status.set_description(detail.join("\n"));
            } else if s.verdict == Verdict::Skip
                && let Some(r) = &s.reason
            {
                status.set_message(r.clone());
            }
            let mut case = TestCase::new(s.trial.clone(), status);
            case.set_classname(format!("{}.{}", s.role, s.area));
            case.set_time(Duration::from_millis(s.duration_ms));
            if !bad.is_empty() && s.verdict == Verdict::Warn {
                case.set_system_out(
                    bad.iter()
                        .map(|c| {
                            format!(
                                "warning {}: {} (expected {}, got {})",
                                c.requirement_str(),
                                c.title,
                                c.expected,
                                c.actual
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n"),
                );
            }
            suite.add_test_case(case);
        }
        out.add_test_suite(suite);
    }
    out.to_string().unwrap_or_default()
}
