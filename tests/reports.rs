//! Snapshots of the outputs of a fixed run (one AS scenario against the reference AS with the
//! `no-ticket-rotation` quirk), made stable by the production redactor.

use uma_conformance::report::{Context, console, junit, markdown, stable};
use uma_conformance::{Catalogue, Report, Role, RunRequest, run};
use uma_reference_server::Quirk;

async fn fixed_run() -> Report {
    let req = RunRequest {
        suites: std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/suites"),
        strict: true,
        quirks: vec![Quirk::NoTicketRotation],
        roles: vec![Role::As],
        jobs: 1,
        ..RunRequest::default()
    };
    let mut report = run(&req).await.unwrap();
    stable::stabilize(&mut report);
    report
}

#[tokio::test]
async fn the_outputs_of_a_failing_run_are_stable() {
    let report = fixed_run().await;
    assert_eq!(uma_conformance::exit::of(&report), uma_conformance::exit::FAIL);
    let text = serde_json::to_string(&report).unwrap();
    for secret in ["harness-client-secret", "harness-rs-secret"] {
        assert!(!text.contains(secret), "a client secret leaked into report.json");
    }
    insta::assert_json_snapshot!("report_json", report);
    let catalogue = Catalogue::load(&RunRequest::default().catalogue).unwrap();
    let ctx = Context::new(&catalogue);
    insta::assert_snapshot!("junit_xml", junit::render(&report, &ctx));
    insta::assert_snapshot!("summary_md", markdown::render(&report, &ctx));
    let failure = console::findings(&report, |_| Some("https://example.invalid/spec".into()));
    insta::assert_snapshot!("console_failure", failure);
}
