//! Baselines: the four cases (listed failure, unlisted failure, a listed failure that now
//! passes, an expired entry) at scenario and check level, `--write-baseline`, and the CLI.

use jiff::civil::{Date, date};
use uma_conformance::baseline::{self, Baseline};
use uma_conformance::outcome::EntryState;
use uma_conformance::{Verdict, exit};

use super::synthetic::{cli, text, two, write_json};

const TODAY: Date = date(2026, 12, 6);

/// A scenario-level and a check-level entry for `as/ticket/rotates` (T-04), with `extra` lines.
fn entries(extra: &str) -> [String; 2] {
    [
        format!("known_failures:\n  - scenario: as/ticket/rotates\n    reason: vendor ticket 12\n{extra}"),
        format!(
            "known_failures:\n  - scenario: as/ticket/rotates\n    requirement: T-04\n    check: the new ticket differs\n    reason: vendor ticket 12\n{extra}"
        ),
    ]
}

fn applied(text: &str, verdict: Verdict) -> uma_conformance::Report {
    let b = Baseline::parse(text, "baseline.yaml").unwrap();
    let mut r = two(verdict);
    b.apply(&mut r, TODAY);
    r
}

#[test]
fn a_listed_failure_does_not_fail_the_run_at_scenario_and_check_level() {
    for text in entries("") {
        let r = applied(&text, Verdict::Fail);
        assert_eq!(exit::of(&r), exit::PASS, "{text}");
        let b = r.baseline.as_ref().unwrap();
        assert_eq!(b.entries[0].state, EntryState::Matched);
        assert_eq!(b.known.len(), 1);
        assert_eq!(b.new_failures, 0);
    }
}

#[test]
fn an_unlisted_failure_fails_the_run_at_scenario_and_check_level() {
    for text in entries("") {
        let text = text
            .replace("as/ticket/rotates", "as/discovery/doc")
            .replace("T-04", "G-AS-01");
        let r = applied(&text, Verdict::Fail);
        assert_eq!(exit::of(&r), exit::FAIL, "{text}");
        assert_eq!(r.baseline.as_ref().unwrap().new_failures, 1);
    }
}

#[test]
fn a_check_entry_with_another_title_does_not_cover_the_failure() {
    let text = entries("")[1].replace("the new ticket differs", "some other check");
    assert_eq!(exit::of(&applied(&text, Verdict::Fail)), exit::FAIL);
}

#[test]
fn a_listed_failure_that_now_passes_makes_the_baseline_stale_at_scenario_and_check_level() {
    for text in entries("") {
        let r = applied(&text, Verdict::Pass);
        assert_eq!(exit::of(&r), exit::STALE, "{text}");
        assert_eq!(r.baseline.as_ref().unwrap().entries[0].state, EntryState::NowPasses);
    }
}

#[test]
fn an_expired_entry_makes_the_baseline_stale_at_scenario_and_check_level() {
    for text in entries("    expires: 2026-12-05\n") {
        let r = applied(&text, Verdict::Fail);
        assert_eq!(exit::of(&r), exit::STALE, "{text}");
        assert_eq!(r.baseline.as_ref().unwrap().entries[0].state, EntryState::Expired);
    }
    // The last day it is accepted is its expiry date itself.
    for text in entries("    expires: 2026-12-06\n") {
        assert_eq!(exit::of(&applied(&text, Verdict::Fail)), exit::PASS, "{text}");
    }
}

#[test]
fn an_unlisted_failure_outranks_a_stale_entry() {
    let text = "known_failures:\n  - { scenario: as/discovery/doc, reason: r }\n";
    // as/discovery/doc passes (stale) while as/ticket/rotates fails unlisted.
    assert_eq!(exit::of(&applied(text, Verdict::Fail)), exit::FAIL);
}

#[test]
fn an_entry_whose_scenario_did_not_run_says_nothing() {
    let text = "known_failures:\n  - { scenario: as/other/thing, reason: r }\n";
    let r = applied(text, Verdict::Pass);
    assert_eq!(exit::of(&r), exit::PASS);
    assert_eq!(r.baseline.as_ref().unwrap().entries[0].state, EntryState::NotRun);
}

#[test]
fn the_written_baseline_lists_every_current_failure_and_then_passes() {
    let failing = two(Verdict::Fail);
    let text = baseline::write(&failing, TODAY);
    assert!(text.contains("requirement: \"T-04\""), "{text}");
    let r = applied(&text, Verdict::Fail);
    assert_eq!(exit::of(&r), exit::PASS, "{text}");
    let empty = baseline::write(&two(Verdict::Pass), TODAY);
    assert!(
        Baseline::parse(&empty, "b.yaml")
            .unwrap()
            .file
            .known_failures
            .is_empty()
    );
}

#[test]
fn the_report_command_applies_a_baseline_after_the_fact_and_exits_as_the_run_would() {
    let dir = tempfile::tempdir().unwrap();
    let json = write_json(dir.path(), "report.json", &two(Verdict::Fail));
    let out = dir.path().join("out");
    let (json, out_s) = (json.to_str().unwrap(), out.to_str().unwrap());
    assert_eq!(cli(&["report", json, "--out", out_s]).status.code(), Some(exit::FAIL));
    let [scenario_level, _] = entries("");
    let b = dir.path().join("b.yaml");
    std::fs::write(&b, scenario_level).unwrap();
    let o = cli(&["report", json, "--out", out_s, "--baseline", b.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(exit::PASS), "{}", text(&o));
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(summary.contains("1 known failure(s), 0 new, 0 stale"), "{summary}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("known failure"), "the page marks the known failure");
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    assert!(
        junit.contains("<skipped message=\"known failure (baseline: vendor ticket 12): T-04 MUST NOT fail"),
        "{junit}"
    );
}

#[test]
fn a_malformed_baseline_is_a_usage_error_with_its_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let json = write_json(dir.path(), "report.json", &two(Verdict::Fail));
    let b = dir.path().join("b.yaml");
    std::fs::write(
        &b,
        "known_failures:\n  - scenario: as/ticket/rotates\n    reason: r\n    expires: next week\n",
    )
    .unwrap();
    let o = cli(&["report", json.to_str().unwrap(), "--baseline", b.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(exit::CONFIG));
    assert!(text(&o).contains("b.yaml:4:"), "{}", text(&o));
    let o = cli(&[
        "run",
        "--baseline",
        b.to_str().unwrap(),
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(exit::CONFIG), "a run refuses it before it starts");
    assert!(text(&o).contains("b.yaml:4:"), "{}", text(&o));
}

#[test]
fn the_example_baseline_validates_and_covers_the_failures_of_its_quirk() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/baselines/example.yaml");
    let yaml = std::fs::read_to_string(&path).unwrap();
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(path.parent().unwrap().join("../schemas/baseline.schema.json")).unwrap(),
    )
    .unwrap();
    let json: serde_json::Value = serde_saphyr::from_str(&yaml).unwrap();
    assert!(jsonschema::validator_for(&schema).unwrap().is_valid(&json));
    let dir = tempfile::tempdir().unwrap();
    let run = |quirk: &[&str]| {
        let mut args = vec!["run", "--role", "as", "--filter", "as::ticket::need-info"];
        args.extend_from_slice(quirk);
        args.extend([
            "--baseline",
            "fixtures/baselines/example.yaml",
            "--out",
            dir.path().to_str().unwrap(),
        ]);
        cli(&args)
    };
    let o = run(&["--quirk", "no-ticket-rotation"]);
    assert_eq!(o.status.code(), Some(exit::PASS), "{}", text(&o));
    let o = run(&[]);
    assert_eq!(o.status.code(), Some(exit::STALE), "{}", text(&o));
}

#[test]
fn write_baseline_writes_a_file_that_turns_the_same_failures_into_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("known.yaml");
    let out = dir.path().join("out");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "run",
            "--role",
            "as",
            "--filter",
            "as::ticket::need-info",
            "--quirk",
            "no-ticket-rotation",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        cli(&args)
    };
    let o = run(&["--write-baseline", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(exit::FAIL), "{}", text(&o));
    let written = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        written.matches("  - scenario: ").count(),
        3,
        "one entry per failed check: {written}"
    );
    let o = run(&["--baseline", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(exit::PASS), "{}", text(&o));
}

#[test]
fn a_run_refuses_a_baseline_naming_an_unknown_scenario_before_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let b = dir.path().join("b.yaml");
    std::fs::write(
        &b,
        "known_failures:\n  - scenario: as/ticket/need-info-rotate\n    reason: r\n",
    )
    .unwrap();
    let o = cli(&[
        "run",
        "--baseline",
        b.to_str().unwrap(),
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(exit::CONFIG));
    let t = text(&o);
    assert!(
        t.contains("b.yaml:2:15") && t.contains("did you mean `as/ticket/need-info-rotates`"),
        "{t}"
    );
}
