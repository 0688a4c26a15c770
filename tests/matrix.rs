//! The interop matrix end to end, through the CLI. The README's "Matrix" block runs as written
//! (the binary for `cargo run --`, the output folder moved under the target directory): the
//! reports of the reference AS, of the reference AS under two quirks and of the reference
//! client, then the matrix over them by requirement and by scenario. The tests read back
//! `matrix.json` and check its cells against what the quirks break, the links against the
//! anchors of each report.html, the schema, the refusals, and the page in headless Chromium.

use crate::browser;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use uma_conformance::report::matrix::{Agreement, Axis, CellStatus, Matrix, Row};
use uma_reference_server::Quirk;

/// The columns, in the README's order.
const REFERENCE: usize = 0;
const TICKET_REUSABLE: usize = 1;
const NO_TICKET_ROTATION: usize = 2;
const CLIENT: usize = 3;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn work() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("matrix")
}

/// The commands of the README's "Matrix" block, `cargo run --` dropped, comments cut, and
/// `reports/latest` moved under the target directory.
fn readme_commands() -> Vec<Vec<String>> {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let section = readme
        .split("\n### Matrix\n")
        .nth(1)
        .expect("the README has a ### Matrix section");
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("the Matrix section has a sh block");
    let moved = work().join("latest").display().to_string();
    block
        .lines()
        .map(|l| l.split(" # ").next().unwrap_or(l).trim())
        .filter(|l| !l.is_empty())
        .map(|l| {
            let args = l
                .strip_prefix("cargo run -- ")
                .unwrap_or_else(|| panic!("not a `cargo run --` command: {l}"));
            args.split_whitespace()
                .map(|a| a.replacen("reports/latest", &moved, 1))
                .collect()
        })
        .collect()
}

fn uma(args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_uma-conformance"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

struct Fixture {
    by_requirement: Matrix,
    by_scenario: Matrix,
    /// What the `matrix` command printed.
    stdout: String,
}

fn read_matrix(dir: &Path) -> Matrix {
    let text = std::fs::read_to_string(dir.join("matrix.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Runs the README's block once for every test of this file.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let _ = std::fs::remove_dir_all(work());
        let commands = readme_commands();
        let (runs, matrices): (Vec<_>, Vec<_>) = commands.iter().partition(|c| c[0] == "run");
        assert_eq!((runs.len(), matrices.len()), (4, 2), "{commands:?}");
        // The runs at once (each is mostly waiting on ticket and token lifetimes).
        let children: Vec<_> = runs
            .iter()
            .map(|args| {
                let child = Command::new(env!("CARGO_BIN_EXE_uma-conformance"))
                    .args(args.iter())
                    .current_dir(root())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap();
                (args, child)
            })
            .collect();
        for (args, child) in children {
            let out = child.wait_with_output().unwrap();
            let expected = if args.iter().any(|a| a == "--quirk") { 1 } else { 0 };
            assert_eq!(
                out.status.code(),
                Some(expected),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let mut stdout = String::new();
        for args in &matrices {
            let out = uma(args);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            stdout.push_str(&String::from_utf8_lossy(&out.stdout));
        }
        let latest = work().join("latest");
        Fixture {
            by_requirement: read_matrix(&latest.join("matrix")),
            by_scenario: read_matrix(&latest.join("matrix-by-scenario")),
            stdout,
        }
    })
}

fn row<'m>(m: &'m Matrix, key: &str) -> &'m Row {
    m.rows
        .iter()
        .find(|r| r.key == key)
        .unwrap_or_else(|| panic!("no row {key}"))
}

fn statuses(r: &Row) -> Vec<CellStatus> {
    r.cells.iter().map(|c| c.status).collect()
}

#[test]
fn a_quirks_requirement_fails_in_its_own_column_only_and_its_row_is_split() {
    // Arrange
    let f = fixture();
    let m = &f.by_requirement;

    for (column, quirk) in [
        (TICKET_REUSABLE, Quirk::TicketReusable),
        (NO_TICKET_ROTATION, Quirk::NoTicketRotation),
    ] {
        // Act
        let r = row(m, quirk.requirement());

        // Assert: fail in the quirk's column, pass in the other AS columns, not tested by the
        // client report.
        let mut expected = vec![CellStatus::Pass; 4];
        expected[column] = CellStatus::Fail;
        expected[CLIENT] = CellStatus::NotTested;
        assert_eq!(statuses(r), expected, "{}", r.key);
        assert_eq!(r.agreement, Agreement::Split);
        assert!(m.split.contains(&r.key), "{:?}", m.split);
        assert!(f.stdout.contains(quirk.requirement()), "{}", f.stdout);
        // Whatever else the quirk's column fails is the quirk's declared collateral.
        for other in &m.rows {
            if matches!(other.cells[column].status, CellStatus::Fail | CellStatus::Warn) {
                assert!(
                    other.key == quirk.requirement() || quirk.collateral().contains(&other.key.as_str()),
                    "{} fails under {} but is not its requirement or collateral",
                    other.key,
                    quirk.name()
                );
            }
        }
    }
    let labels: Vec<&str> = m.implementations.iter().map(|i| i.label.as_str()).collect();
    assert!(labels[TICKET_REUSABLE].contains("ticket-reusable"), "{labels:?}");
    assert!(labels[NO_TICKET_ROTATION].contains("no-ticket-rotation"), "{labels:?}");
    let mut unique = labels.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), labels.len(), "two columns share a name: {labels:?}");
}

#[test]
fn the_reference_column_neither_fails_nor_errors_and_rows_it_alone_tested_agree() {
    // Arrange
    let m = &fixture().by_requirement;

    // Act
    let bad: Vec<&str> = m
        .rows
        .iter()
        .filter(|r| {
            matches!(
                r.cells[REFERENCE].status,
                CellStatus::Fail | CellStatus::Warn | CellStatus::Error
            )
        })
        .map(|r| r.key.as_str())
        .collect();

    // Assert
    assert!(bad.is_empty(), "{bad:?}");
    for r in &m.rows {
        let split = r.cells.iter().any(|c| c.status == CellStatus::Pass)
            && r.cells
                .iter()
                .any(|c| matches!(c.status, CellStatus::Fail | CellStatus::Warn));
        assert_eq!(r.agreement == Agreement::Split, split, "{}", r.key);
        assert_eq!(m.split.contains(&r.key), split, "{}", r.key);
    }
}

#[test]
fn cells_of_a_role_a_report_never_ran_are_not_tested_which_is_not_skip() {
    // Arrange
    let m = &fixture().by_requirement;
    assert_eq!(m.implementations[CLIENT].roles, [uma_conformance::Role::Client]);

    // Act / Assert: the client report tested no AS requirement, and the AS reports no client
    // requirement; both show `not-tested` with the reason.
    for r in &m.rows {
        let (tested, untested) = match r.role {
            uma_conformance::Role::Client => (CLIENT, REFERENCE),
            _ => (REFERENCE, CLIENT),
        };
        let c = &r.cells[untested];
        assert_eq!(c.status, CellStatus::NotTested, "{}", r.key);
        assert!(c.reason.contains("tested no") && c.link.is_none(), "{}: {c:?}", r.key);
        assert_ne!(r.cells[tested].status, CellStatus::NotTested, "{}", r.key);
    }
    // A skip is the report's own judgement and keeps its reason.
    let skip = m
        .rows
        .iter()
        .map(|r| &r.cells[REFERENCE])
        .find(|c| c.status == CellStatus::Skip)
        .expect("the reference AS skips something (a capability it does not claim)");
    assert!(!skip.reason.is_empty() && skip.link.is_some(), "{skip:?}");
}

#[test]
fn scores_count_must_should_and_profile_requirements_apart() {
    // Arrange
    let m = &fixture().by_requirement;
    let i = &m.implementations;

    // Act: the MUST rows each column fails.
    let must_failed = |col: usize| {
        m.rows
            .iter()
            .filter(|r| !r.profile && r.class.as_deref() == Some("MUST"))
            .filter(|r| r.cells[col].status == CellStatus::Fail)
            .count()
    };

    // Assert
    assert_eq!(i[REFERENCE].scores.must.failed, 0);
    assert!(i[REFERENCE].scores.must.passed > 0 && i[REFERENCE].scores.should.passed > 0);
    for col in [TICKET_REUSABLE, NO_TICKET_ROTATION] {
        assert!(i[col].scores.must.failed > 0);
        assert_eq!(i[col].scores.must.failed, must_failed(col), "{}", i[col].label);
        // The ticket quirks touch no profile requirement.
        assert_eq!(i[col].scores.profile, i[REFERENCE].scores.profile);
        assert_eq!(i[col].exit_code, 1);
    }
    assert!(i[REFERENCE].scores.profile.requirements > 0);
    assert!(i[CLIENT].scores.must.requirements > 0);
    assert_ne!(
        i[CLIENT].scores.must.requirements,
        i[REFERENCE].scores.must.requirements
    );
}

/// Every cell's link resolves, from the matrix's folder, to a report.html holding its anchor.
fn assert_links_resolve(m: &Matrix, dir: &Path) {
    let mut pages: BTreeMap<PathBuf, String> = BTreeMap::new();
    let mut checked = 0;
    for r in &m.rows {
        for c in &r.cells {
            let Some(link) = &c.link else { continue };
            let (file, anchor) = link.split_once('#').unwrap();
            let path = dir.join(file);
            let page = pages
                .entry(path.clone())
                .or_insert_with(|| std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{link}: {e}")));
            assert!(page.contains(&format!("id=\"{anchor}\"")), "{link}: no such anchor");
            checked += 1;
        }
    }
    assert!(checked > m.rows.len(), "only {checked} links");
}

#[test]
fn every_cell_links_to_an_anchor_of_its_implementations_report_html() {
    let f = fixture();
    let latest = work().join("latest");
    assert_links_resolve(&f.by_requirement, &latest.join("matrix"));
    assert_links_resolve(&f.by_scenario, &latest.join("matrix-by-scenario"));
    assert_eq!(
        f.by_requirement.implementations[REFERENCE].html.as_deref(),
        Some("../reference/report.html")
    );
}

#[test]
fn by_scenario_the_rows_are_scenarios_and_the_quirks_scenarios_split() {
    // Arrange
    let m = &fixture().by_scenario;

    // Act
    let split: Vec<&Row> = m.rows.iter().filter(|r| r.agreement == Agreement::Split).collect();

    // Assert
    assert_eq!(m.by, Axis::Scenario);
    assert_eq!(m.implementations.len(), 3);
    assert!(m.rows.iter().all(|r| r.key.starts_with("as::")), "only AS reports");
    assert!(!split.is_empty());
    for r in split {
        assert_eq!(r.cells[REFERENCE].status, CellStatus::Pass, "{}", r.key);
        assert!(r.key.starts_with("as::ticket::"), "{}", r.key);
    }
}

#[test]
fn matrix_json_is_valid_against_its_generated_schema() {
    let f = fixture();
    let schema = std::fs::read_to_string(root().join("fixtures/schemas/matrix.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&serde_json::from_str(&schema).unwrap()).unwrap();
    for m in [&f.by_requirement, &f.by_scenario] {
        let value = serde_json::to_value(m).unwrap();
        let errors: Vec<String> = validator.iter_errors(&value).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:?}");
    }
}

/// A copy of the reference report with one run field changed.
fn altered(name: &str, field: &str, value: &str) -> PathBuf {
    let _ = fixture();
    let text = std::fs::read_to_string(work().join("latest/reference/report.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["run"][field] = serde_json::json!(value);
    let dir = work().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("report.json"), v.to_string()).unwrap();
    dir
}

#[test]
fn reports_of_another_harness_version_catalogue_or_suites_are_refused_with_exit_2() {
    let reference = work().join("latest/reference").display().to_string();
    let (catalogue, suites) = ("ab".repeat(32), "cd".repeat(32));
    for (name, field, value, says) in [
        (
            "old",
            "version",
            "0.0.1-old",
            "was written by uma-conformance 0.0.1-old",
        ),
        (
            "cat",
            "catalogue_hash",
            catalogue.as_str(),
            "another requirement catalogue",
        ),
        ("suites", "suites_hash", suites.as_str(), "ran different suites"),
    ] {
        // Arrange
        let other = altered(name, field, value);
        let out = work().join(format!("refused-{name}"));

        // Act
        let o = uma(&[
            "matrix".into(),
            reference.clone(),
            other.display().to_string(),
            "--out".into(),
            out.display().to_string(),
        ]);

        // Assert
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains(says), "{name}: {stderr}");
        assert!(!out.exists(), "{name}: a refused matrix left {}", out.display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_renders_filters_sorts_and_logs_no_error_in_headless_chromium() {
    // Arrange: the page, and a browser.
    tokio::task::spawn_blocking(fixture).await.unwrap();
    let page = work().join("latest/matrix/matrix.html");
    let Some(b) = browser::start(&work().join("browser")).await else {
        return;
    };

    // Act: open it from file://.
    b.open(&page).await;

    // Assert: the implementations, the split rows and the grid are displayed.
    assert!(b.displayed("#implementations").await);
    assert!(b.displayed("#agreement .split-row[data-key='G-AS-51']").await);
    assert!(b.displayed("#grid tr.row[data-agreement='all-pass']").await);
    // The filter: "splits only" hides the rows where everyone agrees.
    b.click("#only-split").await;
    assert!(
        !b.displayed("#grid tr.row[data-agreement='all-pass']").await,
        "the filter did not hide an agreeing row"
    );
    assert!(b.displayed("#grid tr.row[data-key='G-AS-51']").await);
    b.click("#show-all").await;
    // The sort: "most failures first" brings a failing row to the top.
    let m = &fixture().by_requirement;
    let first = "return document.querySelector('#rows tr.row').getAttribute('data-key');";
    assert_eq!(b.script(first).await, m.rows[0].key.as_str(), "catalogue order first");
    assert_eq!(
        m.rows[0].failed, 0,
        "the first row in catalogue order fails: pick another sort check"
    );
    b.click("#sort option[value='failed']").await;
    let top = b.script(first).await;
    assert!(row(m, top.as_str().unwrap()).failed > 0, "{top} is not a failing row");
    // A cell links into the implementation's report.
    let href = b
        .script("return document.querySelector(\"#grid tr.row[data-key='G-AS-51'] td.cell[data-impl='i2'] a\").getAttribute('href');")
        .await;
    assert_eq!(href, "../ticket-reusable/report.html#req-G-AS-51");
    // No console error.
    let severe = b.severe_console_entries().await;
    assert!(severe.is_empty(), "console errors: {severe:?}");
    // The screenshot, as a CI artefact.
    b.screenshot(&work().join("matrix-html.png")).await;
    b.close().await;
}

#[test]
fn a_product_name_with_markup_and_control_bytes_is_escaped_on_the_page_and_the_console() {
    // Arrange: a report whose profile names its product with markup and an ANSI escape.
    let _ = fixture();
    let text = std::fs::read_to_string(work().join("latest/reference/report.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["run"]["tested"]["product"] = serde_json::json!("<script>alert(1)</script>\u{1b}[2J");
    let dir = work().join("hostile");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("report.json"), v.to_string()).unwrap();
    let out = work().join("hostile-matrix");

    // Act
    let o = uma(&[
        "matrix".into(),
        dir.display().to_string(),
        "--out".into(),
        out.display().to_string(),
    ]);

    // Assert
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(!stdout.contains('\u{1b}') && stdout.contains("\\u{1b}[2J"), "{stdout}");
    let page = std::fs::read_to_string(out.join("matrix.html")).unwrap();
    assert!(
        !page.contains("<script>alert(1)"),
        "the product name reached the page unescaped"
    );
    assert!(page.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"));
}
