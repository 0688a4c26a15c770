//! The CLI around a run: every format into `--out`, usage errors before anything runs, shards
//! and their merge, reports read back, and an interrupted run.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use uma_conformance::run::shard::{self, Shard};
use uma_conformance::{Report, Role, RunRequest, Verdict, exit};

use super::synthetic::{check, cli, report, scenario, text, two, write_json};

#[test]
fn one_run_writes_every_format_into_its_out_folder_and_an_evidence_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("latest");
    let bundle = dir.path().join("evidence.tar.gz");
    let o = cli(&[
        "run",
        "--role",
        "as",
        "--filter",
        "as::discovery",
        "--out",
        out.to_str().unwrap(),
        "--bundle",
        bundle.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(exit::PASS), "{}", text(&o));
    for f in ["report.json", "report.html", "junit.xml", "summary.md"] {
        let len = std::fs::metadata(out.join(f)).map(|m| m.len()).unwrap_or(0);
        assert!(len > 0, "{f} is missing or empty");
    }
    let r: Report = serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(r.run.tested.map(|t| t.product).as_deref(), Some("uma-reference-server"));
    assert_eq!(r.run.catalogue_hash.len(), 64);
    let v = cli(&["verify", bundle.to_str().unwrap()]);
    assert_eq!(v.status.code(), Some(exit::PASS), "{}", text(&v));
}

#[test]
fn a_filter_that_selects_nothing_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = cli(&[
        "run",
        "--filter",
        "no-such-scenario",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(exit::CONFIG), "{}", text(&o));
    assert!(
        text(&o).contains("no scenario is selected by --filter no-such-scenario"),
        "{}",
        text(&o)
    );
}

#[test]
fn a_shard_that_selects_nothing_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = cli(&[
        "run",
        "--role",
        "as",
        "--filter",
        "as::discovery",
        "--shard",
        "400/400",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(exit::CONFIG), "{}", text(&o));
    let o = cli(&["run", "--shard", "3/2", "--out", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(exit::CONFIG), "{}", text(&o));
}

#[test]
fn an_out_folder_that_cannot_be_written_is_refused_before_the_run_starts() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let o = cli(&["run", "--out", file.join("sub").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(exit::CONFIG), "{}", text(&o));
    assert!(text(&o).contains("is not writable"), "{}", text(&o));
    assert!(!text(&o).contains("PASS"), "no scenario ran");
}

#[test]
fn shards_split_the_scenarios_deterministically_without_overlap_or_gap() {
    let req = RunRequest::default();
    let (_, scenarios) = uma_conformance::load(&req).unwrap();
    let roles = Role::ALL.to_vec();
    let all = shard::select(&req, &scenarios, &roles).unwrap();
    let mut union = std::collections::BTreeSet::new();
    let mut sizes = Vec::new();
    for k in 1..=3 {
        let req = RunRequest {
            shard: Some(Shard { index: k, count: 3 }),
            ..RunRequest::default()
        };
        let part = shard::select(&req, &scenarios, &roles).unwrap();
        assert_eq!(part, shard::select(&req, &scenarios, &roles).unwrap(), "deterministic");
        assert!(part.is_disjoint(&union), "shard {k}/3 overlaps another");
        sizes.push(part.len());
        union.extend(part);
    }
    assert_eq!(union, all);
    assert!(
        sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1,
        "{sizes:?}"
    );
}

#[test]
fn merge_joins_shard_reports_and_refuses_reports_of_another_run() {
    let dir = tempfile::tempdir().unwrap();
    let full = two(Verdict::Fail);
    let mut a = full.clone();
    a.scenarios.truncate(1);
    a.run.shard = Some("1/2".into());
    a.summarise();
    let mut b = full.clone();
    b.scenarios.remove(0);
    b.run.shard = Some("2/2".into());
    b.summarise();
    let pa = write_json(dir.path(), "a.json", &a);
    let pb = write_json(dir.path(), "b.json", &b);
    let out = dir.path().join("merged");
    let o = cli(&[
        "merge",
        pa.to_str().unwrap(),
        pb.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(exit::FAIL),
        "the joined run has a failure: {}",
        text(&o)
    );
    let merged: Report = serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(merged.scenarios.len(), 2);
    assert_eq!(merged.summary, full.summary);
    assert_eq!(merged.run.shard, None);
    for f in ["report.html", "junit.xml", "summary.md"] {
        assert!(out.join(f).is_file(), "{f}");
    }
    b.run.suites_hash = "cd".repeat(32);
    let pb = write_json(dir.path(), "b.json", &b);
    let o = cli(&[
        "merge",
        pa.to_str().unwrap(),
        pb.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(exit::CONFIG));
    let t = text(&o);
    assert!(
        t.contains("a.json") && t.contains("b.json") && t.contains("suites hashes differ"),
        "{t}"
    );
    let o = cli(&[
        "merge",
        pa.to_str().unwrap(),
        pa.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(exit::CONFIG), "one scenario in two shards");
}

#[test]
fn a_report_of_another_harness_version_is_refused_naming_both_versions() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = report(vec![scenario("as/x/y", vec![check("T-01", Verdict::Pass, "t")])]);
    r.run.version = "0.0.1-old".into();
    let p = write_json(dir.path(), "report.json", &r);
    let o = cli(&["report", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(exit::CONFIG));
    let t = text(&o);
    assert!(t.contains("0.0.1-old") && t.contains(env!("CARGO_PKG_VERSION")), "{t}");
}

#[test]
fn a_malformed_report_is_a_usage_error_with_its_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("report.json");
    std::fs::write(&p, "{\n  \"run\": {\n    \"harness\": 3\n  }\n}\n").unwrap();
    let o = cli(&["report", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(exit::CONFIG));
    assert!(text(&o).contains("report.json:3:"), "{}", text(&o));
}

/// Starts a client-suite run, sends `signal` once its first scenario finished, and returns the
/// exit code and the report written.
fn interrupted(signal: &str) -> (Option<i32>, Report, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    // The client suite runs one scenario at a time, so it is still running after the first.
    let mut child = Command::new(env!("CARGO_BIN_EXE_uma-conformance"))
        .args(["run", "--role", "client", "--out", dir.path().to_str().unwrap()])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    // Wait (bounded by the run itself) for the first finished scenario.
    let first = lines.by_ref().map_while(Result::ok).find(|l| l.contains("client::"));
    assert!(first.is_some(), "no scenario finished");
    let sent = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().unwrap();
    let text = std::fs::read_to_string(dir.path().join("report.json"))
        .unwrap_or_else(|e| panic!("no report.json ({e}): {}", rest.join("\n")));
    (status.code(), serde_json::from_str(&text).unwrap(), dir)
}

#[test]
fn sigterm_writes_a_partial_report_marked_incomplete_and_exits_143() {
    let (code, r, dir) = interrupted("-TERM");
    assert_eq!(code, Some(exit::TERMINATED));
    assert!(r.incomplete);
    assert!(!r.scenarios.is_empty(), "the finished scenarios are kept");
    let (_, all) = uma_conformance::load(&RunRequest::default()).unwrap();
    let client = all.iter().filter(|s| s.role == Role::Client).count();
    assert!(r.scenarios.len() < client, "the run was cut short");
    assert!(dir.path().join("report.html").is_file());
    let summary = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(summary.contains("**Incomplete:**"));
}

#[test]
fn ctrl_c_writes_a_partial_report_marked_incomplete_and_exits_130() {
    let (code, r, _dir) = interrupted("-INT");
    assert_eq!(code, Some(exit::INTERRUPTED));
    assert!(r.incomplete && !r.scenarios.is_empty());
}

#[test]
fn profile_failures_set_the_exit_code_only_with_gate_profiles() {
    let dir = tempfile::tempdir().unwrap();
    let run = |gate: bool, out: &str| {
        let out = dir.path().join(out);
        let mut args = vec![
            "run",
            "--role",
            "as",
            "--filter",
            "as::pkce::downgrade",
            "--quirk",
            "pkce-downgrade-accepted",
            "--out",
            out.to_str().unwrap(),
        ];
        if gate {
            args.push("--gate-profiles");
        }
        let o = cli(&args);
        let r: Report = serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
        (o, r)
    };
    let (o, r) = run(false, "ungated");
    assert!(r.summary.profile_checks.fail > 0, "the quirk fails a profile check");
    assert_eq!(r.summary.checks.fail, 0, "and no UMA check");
    assert_eq!(o.status.code(), Some(exit::PASS), "{}", text(&o));
    assert!(text(&o).contains("--gate-profiles makes them"), "{}", text(&o));
    let (o, r) = run(true, "gated");
    assert!(r.run.gate_profiles);
    assert_eq!(o.status.code(), Some(exit::FAIL), "{}", text(&o));
}
