//! `summary.md`: a CI step summary (GitHub's `$GITHUB_STEP_SUMMARY`, GitLab): the status, the
//! counts, the baseline's state and the failing checks with links to the spec. Always under
//! [`MAX_BYTES`] whatever the run: past a budget the list of failures stops and says how many
//! more there are. Everything a target sent is escaped (`|`, backticks, `<`, and the characters
//! that would start a link or emphasis).

use std::fmt::Write;

use super::view::{self, Context};
use crate::outcome::{Counts, EntryState, Report, Verdict};

/// GitHub refuses step summaries over 1 MiB and shows 64 KiB comfortably; we stay under this.
pub const MAX_BYTES: usize = 64 * 1024;

/// The budget for everything but the closing line.
const BUDGET: usize = MAX_BYTES - 2 * 1024;

/// At most this many preflight problems and stale baseline entries are listed.
const MAX_LISTED: usize = 50;

/// The longest a table cell gets.
const MAX_CELL: usize = 240;

/// Escapes text for a markdown table cell: on one line, no HTML, no table or code breaks.
pub fn escape(s: &str) -> String {
    let one_line = view::cut(s, MAX_CELL);
    let mut out = String::with_capacity(one_line.len());
    for c in one_line.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '`' => out.push_str("\\`"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '[' | ']' | '*' | '_' | '\\' | '#' | '!' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

fn counts_row(label: &str, c: &Counts) -> String {
    format!(
        "| {label} | {} | {} | {} | {} | {} | {} |\n",
        c.pass, c.fail, c.warn, c.skip, c.review, c.error
    )
}

/// Renders the summary.
pub fn render(report: &Report, ctx: &Context<'_>) -> String {
    let (code, words) = view::status(report);
    let mut out = String::new();
    let icon = match code {
        0 => "✅",
        4 => "⚠️",
        _ => "❌",
    };
    let _ = writeln!(out, "## {icon} UMA 2.0 conformance: {words} (exit {code})\n");
    if let Some(w) = &report.run.insecure_tls {
        let _ = writeln!(out, "> ⚠️ **WARNING:** {}\n", escape(w));
    }
    if report.incomplete {
        out.push_str("**Incomplete:** the run was interrupted; only the scenarios finished by then are counted.\n\n");
    }
    let mut meta = Vec::new();
    if let Some(t) = &report.run.tested {
        meta.push(format!("tested: **{}**", escape(&t.to_string())));
    }
    if let Some(n) = report.target.get("name").and_then(|n| n.as_str()) {
        meta.push(format!("target: {}", escape(n)));
    }
    meta.push(format!(
        "harness: {} {}",
        escape(&report.run.harness),
        escape(&report.run.version)
    ));
    if report.run.strict {
        meta.push("strict".into());
    }
    if let Some(f) = &report.run.filter {
        meta.push(format!("filter: {}", escape(f)));
    }
    if let Some(s) = &report.run.shard {
        meta.push(format!("shard: {}", escape(s)));
    }
    let _ = writeln!(out, "{}\n", meta.join(" · "));
    out.push_str("| | pass | fail | warn | skip | review | error |\n|---|---:|---:|---:|---:|---:|---:|\n");
    out.push_str(&counts_row("UMA checks", &report.summary.checks));
    if report.summary.profile_checks.total() > 0 {
        out.push_str(&counts_row("profile checks (not UMA)", &report.summary.profile_checks));
    }
    out.push_str(&counts_row("scenarios", &report.summary.scenarios));
    out.push('\n');
    if report.summary.harness_errors > 0 {
        let _ = writeln!(
            out,
            "Harness errors (could not test, never a spec failure): {}\n",
            report.summary.harness_errors
        );
    }
    for p in report.preflight.problems.iter().take(MAX_LISTED) {
        let _ = writeln!(
            out,
            "- preflight {}: {} (fix: {})",
            match p.severity {
                crate::outcome::Severity::Error => "error",
                crate::outcome::Severity::Warning => "warning",
            },
            escape(&p.what),
            escape(&p.fix)
        );
    }
    if !report.preflight.problems.is_empty() {
        out.push('\n');
    }
    match &report.baseline {
        None => out.push_str("Baseline: none (every failure fails the run).\n\n"),
        Some(b) => {
            let stale: Vec<_> = b.stale().collect();
            let _ = writeln!(
                out,
                "Baseline {}: {} known failure(s), {} new, {} stale entr{}.\n",
                escape(&b.file),
                b.known.len(),
                b.new_failures,
                stale.len(),
                if stale.len() == 1 { "y" } else { "ies" }
            );
            let shown = stale.len().min(MAX_LISTED);
            let more = stale.len() - shown;
            for e in stale.into_iter().take(shown) {
                let why = match e.state {
                    EntryState::Expired => format!("expired on {}", e.expires.as_deref().unwrap_or("?")),
                    _ => "now passes".to_string(),
                };
                let _ = writeln!(
                    out,
                    "- stale: {} {} ({why})",
                    escape(&e.scenario),
                    escape(e.requirement.as_deref().unwrap_or(""))
                );
            }
            if more > 0 {
                let _ = writeln!(out, "- …and {more} more stale entries: see report.html");
            }
            out.push('\n');
        }
    }
    let findings: Vec<_> = view::findings(report)
        .into_iter()
        .filter(|f| matches!(f.check.verdict, Verdict::Fail | Verdict::Error))
        .collect();
    let warnings = report
        .scenarios
        .iter()
        .flat_map(|s| s.checks.iter())
        .filter(|c| c.verdict == Verdict::Warn)
        .count();
    if findings.is_empty() {
        out.push_str("No failing checks.\n");
    } else {
        let _ = writeln!(out, "### Failing checks ({})\n", findings.len());
        out.push_str("| | requirement | check | scenario | expected | actual |\n|---|---|---|---|---|---|\n");
        let mut shown = 0;
        for f in &findings {
            let req = ctx.requirement(f.check);
            let requirement = match req {
                Some(r) => format!(
                    "[{}]({}) {}",
                    escape(f.check.requirement_str()),
                    r.url.replace(')', "%29").replace(' ', "%20"),
                    view::keyword_str(r.keyword)
                ),
                None => escape(f.check.requirement_str()),
            };
            let mark = if report.known(f.scenario, Some(f.index)).is_some() {
                "known"
            } else {
                f.check.verdict.as_str()
            };
            let row = format!(
                "| {mark} | {requirement} | {} | {} | {} | {} |\n",
                escape(&f.check.title),
                escape(&f.scenario.id),
                escape(&f.check.expected),
                escape(&f.check.actual)
            );
            if out.len() + row.len() > BUDGET {
                break;
            }
            out.push_str(&row);
            shown += 1;
        }
        if shown < findings.len() {
            let _ = writeln!(
                out,
                "\n…and {} more failing checks: see report.html or report.json.",
                findings.len() - shown
            );
        }
    }
    if warnings > 0 {
        let _ = writeln!(
            out,
            "\n{warnings} warning(s) (SHOULD, or declarative without --strict): see report.html."
        );
    }
    if out.len() > BUDGET {
        // Whatever grew past the budget (a very long preflight or baseline) is cut, never the bound.
        out = view::cut(&out, BUDGET);
        out.push_str("\n\n(cut to stay under 64 KiB: see report.html)\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_of_stale_entries_and_problems_stay_under_the_bound() {
        use crate::outcome::{BaselineEntryResult, BaselineResult, EntryState, Problem};
        let long = "y".repeat(300);
        let mut r = Report::default();
        r.preflight.problems = (0..5000)
            .map(|i| Problem::warning(format!("{i} {long}"), &long))
            .collect();
        r.baseline = Some(BaselineResult {
            entries: (0..5000)
                .map(|i| BaselineEntryResult {
                    scenario: format!("as/x/{i}-{long}"),
                    requirement: None,
                    check: None,
                    reason: long.clone(),
                    expires: None,
                    state: EntryState::NowPasses,
                })
                .collect(),
            ..BaselineResult::default()
        });
        let cat = crate::catalogue::Catalogue::default();
        let md = render(&r, &Context::new(&cat));
        assert!(md.len() < MAX_BYTES, "{} bytes", md.len());
        assert!(md.contains("4950 more stale entries"));
    }

    #[test]
    fn a_cell_cannot_break_the_table_or_inject_markup() {
        let e = escape("a|b `c` <script>[x](y) *z*\nnext");
        assert_eq!(e, "a\\|b \\`c\\` &lt;script&gt;\\[x\\](y) \\*z\\* next");
    }
}
