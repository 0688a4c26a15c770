//! report.html in a real browser (`support/browser.rs`: Debian's headless Chromium driven by
//! chromedriver over WebDriver HTTP). The page of a failing run opens from `file://`, its
//! failures section is displayed, a filter hides what it should, a link to a requirement's
//! anchor opens the coverage table at its row, no SEVERE entry reaches the browser console, and
//! a screenshot is kept under the target directory (a CI artefact, never committed).

use crate::browser;

use std::path::{Path, PathBuf};

use uma_conformance::report::{self, Context, stable};
use uma_conformance::{Catalogue, Redactor, Role, RunRequest, run};
use uma_reference_server::Quirk;

/// The report of a failing run (the AS ticket scenarios under a quirk: some fail, most pass),
/// written as every format.
async fn failing_report(out: &Path) -> PathBuf {
    let req = RunRequest {
        filter: Some("as::ticket::".into()),
        quirks: vec![Quirk::NoTicketRotation],
        roles: vec![Role::As],
        jobs: 1,
        ..RunRequest::default()
    };
    let mut r = run(&req).await.expect("the fixture run");
    stable::stabilize(&mut r);
    let catalogue = Catalogue::load(&req.catalogue).unwrap();
    report::write_all(&r, &Redactor::new(), &Context::new(&catalogue), out).unwrap();
    out.join("report.html")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_its_failures_filters_and_logs_no_error_in_headless_chromium() {
    // Arrange: the page of a failing run, and a browser.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("html-browser");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let page = failing_report(&dir.join("report")).await;
    let Some(b) = browser::start(&dir).await else {
        return;
    };

    // Act: open the page from file://.
    b.open(&page).await;

    // Assert: the failures come first and are visible.
    assert!(b.displayed("#failures").await, "the failures section is not displayed");
    assert!(b.displayed("#failures .finding.fail").await, "no failure is displayed");
    assert!(b.displayed("#status").await);
    // A filter: "failures only" hides passing scenarios and keeps the failing one.
    assert!(b.displayed("details.scenario[data-verdict='pass']").await);
    b.click("#only-failures").await;
    assert!(
        !b.displayed("details.scenario[data-verdict='pass']").await,
        "the filter did not hide a passing scenario"
    );
    assert!(b.displayed("details.scenario[data-verdict='fail']").await);
    // A requirement's anchor (what matrix.html links to) opens the closed coverage table.
    assert!(!b.displayed("#req-T-04").await, "the coverage table starts closed");
    let mut anchored = page.clone().into_os_string();
    anchored.push("#req-T-04");
    b.open(Path::new(&anchored)).await;
    assert!(b.displayed("#req-T-04").await, "the anchor did not open its row");
    // No console error.
    let severe = b.severe_console_entries().await;
    assert!(severe.is_empty(), "console errors: {severe:?}");
    // The screenshot, as a CI artefact.
    b.screenshot(&dir.join("report-html.png")).await;
    b.close().await;
}
