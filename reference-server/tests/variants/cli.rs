//! `--variant` and `--list-variants` on the AS binary and its `rs` and `client` subcommands.

use std::process::{Command, Output};

use uma_reference_server::{Role, Variant};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_uma-reference-server"))
        .args(args)
        .env("UMA_TEST_SECRET", "s")
        .output()
        .expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn list_variants_prints_every_variant_with_its_role_and_freedoms() {
    let out = run(&["--list-variants"]);
    assert!(out.status.success());
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), Variant::ALL.len());
    for (line, v) in lines.iter().zip(Variant::ALL) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cols[0], v.name());
        assert_eq!(cols[1], v.role().as_str());
        assert_eq!(cols[2], v.freedoms().join(","));
    }
}

#[test]
fn the_rs_and_client_subcommands_list_their_own_variants_without_other_arguments() {
    for (sub, role) in [("rs", Role::Rs), ("client", Role::Client)] {
        let out = run(&[sub, "--list-variants"]);
        assert!(out.status.success(), "{sub}: {}", stderr(&out));
        let names: Vec<String> = stdout(&out)
            .lines()
            .map(|l| l.split_whitespace().next().unwrap().to_owned())
            .collect();
        let expected: Vec<&str> = Variant::of_role(role).map(Variant::name).collect();
        assert_eq!(names, expected, "{sub}");
    }
}

#[test]
fn a_variant_of_another_role_is_refused_with_a_clear_message() {
    let cases: [&[&str]; 3] = [
        &["--variant", "rs-challenge-403", "--port", "0"],
        &[
            "rs",
            "--as-issuer",
            "http://127.0.0.1:9",
            "--client-id",
            "x",
            "--client-secret-env",
            "UMA_TEST_SECRET",
            "--variant",
            "no-pct",
        ],
        &[
            "client",
            "--client-id",
            "x",
            "--client-secret-env",
            "UMA_TEST_SECRET",
            "--variant",
            "rs-challenge-403",
        ],
    ];
    for args in cases {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains("belongs to the"), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn unknown_or_contradictory_variants_are_usage_errors() {
    let out = run(&["--variant", "no-such-variant", "--port", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no-such-variant"));
    let out = run(&["--variant", "no-pct", "--variant", "pct-always", "--port", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot be combined"), "{}", stderr(&out));
    let out = run(&[
        "client",
        "--client-id",
        "x",
        "--client-secret-env",
        "UMA_TEST_SECRET",
        "--variant",
        "client-never-pushes-claims",
        "--variant",
        "client-pushes-claims-up-front",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_command_line_variant_against_a_setting_the_file_writes_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("as.yaml");
    std::fs::write(&path, "partial_outcome: error\n").expect("write");
    let out = run(&[
        "--config",
        path.to_str().unwrap(),
        "--variant",
        "partial-outcome-partial",
        "--port",
        "0",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("contradicts the variant"), "{}", stderr(&out));
}
