//! The formats on hand-built reports: escaping of what a target sent, self-containment, the
//! size bound of summary.md, and what JUnit says.

use uma_conformance::outcome::{Problem, Severity};
use uma_conformance::report::{Context, html, junit, markdown};
use uma_conformance::{Catalogue, RunRequest, Verdict};

use super::synthetic::{check, exchange, report, scenario, two};

fn catalogue() -> Catalogue {
    Catalogue::load(&RunRequest::default().catalogue).unwrap()
}

const HOSTILE: &str = "<script>alert(1)</script> | `x` [a](javascript:b) </pre></details>\u{1b}[2K";

fn hostile_report() -> uma_conformance::Report {
    let mut c = check("T-04", Verdict::Fail, "the new ticket differs");
    c.actual = HOSTILE.into();
    let mut s = scenario("as/ticket/rotates", vec![c]);
    s.exchanges = vec![exchange(HOSTILE)];
    s.choices.insert("reading".into(), HOSTILE.into());
    report(vec![s])
}

#[test]
fn the_page_escapes_everything_a_target_sent() {
    let cat = catalogue();
    let page = html::render(&hostile_report(), &Context::new(&cat));
    assert!(!page.contains("<script>alert"), "a target's script reached the page");
    assert!(
        !page.contains("</pre></details>\u{1b}"),
        "a target closed the page's elements"
    );
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;")
            || page.contains("&lt;script&gt;alert(1)&lt;/script&gt;")
    );
}

#[test]
fn the_page_is_self_contained() {
    let cat = catalogue();
    let page = html::render(&two(Verdict::Fail), &Context::new(&cat));
    for external in ["<link", "<script src", "src=\"http", "url(", "@import"] {
        assert!(!page.contains(external), "report.html loads something: {external}");
    }
    assert!(page.contains("Content-Security-Policy"));
    assert!(page.contains("id=\"failures\""));
    assert!(page.contains("ACME AS 4.2"), "the page says what was tested");
    assert!(
        page.contains("docs.kantarainitiative.org"),
        "checks link their spec section"
    );
}

#[test]
fn the_summary_escapes_what_a_target_sent() {
    let cat = catalogue();
    let md = markdown::render(&hostile_report(), &Context::new(&cat));
    let row = md.lines().find(|l| l.contains("as/ticket/rotates")).unwrap();
    assert!(
        row.contains("&lt;script&gt;") && row.contains("\\|") && row.contains("\\`x\\`"),
        "{row}"
    );
    assert_eq!(row.matches(" | ").count(), 5, "a cell broke the table: {row}");
    assert!(!md.contains('\u{1b}'));
}

#[test]
fn the_summary_stays_under_64_kib_even_when_every_scenario_fails() {
    let long = "x".repeat(5000);
    let scenarios = (0..400)
        .map(|i| {
            let checks = (0..5)
                .map(|j| {
                    let mut c = check("T-04", Verdict::Fail, &format!("check {j} {long}"));
                    c.actual = long.clone();
                    c
                })
                .collect();
            scenario(&format!("as/area{}/s{i}", i % 9), checks)
        })
        .collect();
    let r = report(scenarios);
    let cat = catalogue();
    let md = markdown::render(&r, &Context::new(&cat));
    assert!(md.len() < markdown::MAX_BYTES, "summary.md is {} bytes", md.len());
    assert!(
        md.contains("more failing checks: see report.html"),
        "it says what it left out"
    );
    assert!(md.contains("| fail | [T-04]("));
}

#[test]
fn junit_failures_carry_the_spec_url_the_keyword_and_the_exchange() {
    let cat = catalogue();
    let xml = junit::render(&two(Verdict::Fail), &Context::new(&cat));
    assert!(
        xml.contains("message=\"T-04 MUST NOT fail: the new ticket differs\""),
        "{xml}"
    );
    assert!(xml.contains("spec: https://docs.kantarainitiative.org/"), "{xml}");
    assert!(xml.contains("&gt; POST http://127.0.0.1:9/token"), "{xml}");
    assert!(xml.contains("&lt; HTTP 403"), "{xml}");
    assert!(xml.contains("<property name=\"product\" value=\"ACME AS\"/>"), "{xml}");
    assert!(
        xml.contains("<property name=\"product_version\" value=\"4.2\"/>"),
        "{xml}"
    );
}

#[test]
fn junit_puts_warnings_in_system_out_and_properties_without_failing() {
    let cat = catalogue();
    let xml = junit::render(&two(Verdict::Warn), &Context::new(&cat));
    assert!(xml.contains("failures=\"0\""), "{xml}");
    assert!(xml.contains("<system-out>warning: T-04 [warn]"), "{xml}");
    assert!(
        xml.contains("<property name=\"warning\" value=\"T-04: the new ticket differs\"/>"),
        "{xml}"
    );
}

#[test]
fn junit_says_in_every_testcase_why_the_preflight_stopped_the_run() {
    let mut scenarios = Vec::new();
    for i in 0..3 {
        let mut s = scenario(&format!("as/x/s{i}"), Vec::new());
        s.verdict = Verdict::Error;
        s.reason = Some("not run: the preflight found configuration errors".into());
        scenarios.push(s);
    }
    let mut r = report(scenarios);
    r.preflight.problems.push(Problem::error(
        "cannot reach the AS at 127.0.0.1:1",
        "start it, or fix `issuer`",
    ));
    assert_eq!(r.preflight.problems[0].severity, Severity::Error);
    let cat = catalogue();
    let xml = junit::render(&r, &Context::new(&cat));
    assert_eq!(
        xml.matches(
            "the preflight stopped the run: cannot reach the AS at 127.0.0.1:1 (fix: start it, or fix `issuer`)"
        )
        .count(),
        3,
        "{xml}"
    );
}

#[test]
fn an_incomplete_report_says_so_in_every_human_format() {
    let mut r = two(Verdict::Pass);
    r.incomplete = true;
    let cat = catalogue();
    let ctx = Context::new(&cat);
    assert!(html::render(&r, &ctx).contains("id=\"incomplete\""));
    assert!(markdown::render(&r, &ctx).contains("**Incomplete:**"));
    assert!(junit::render(&r, &ctx).contains("<property name=\"incomplete\" value=\"true\"/>"));
}
