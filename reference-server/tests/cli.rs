//! The `uma-reference-server` command line: quirk listing and configuration errors.

use std::process::Command;

use uma_reference_server::Quirk;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_uma-reference-server"))
}

#[test]
fn list_quirks_prints_one_line_per_quirk_with_the_requirement_it_breaks() {
    // Act
    let out = bin().arg("--list-quirks").output().expect("runs");

    // Assert
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), Quirk::ALL.len());
    for (line, q) in lines.iter().zip(Quirk::ALL) {
        let mut cols = line.split_whitespace();
        assert_eq!(cols.next(), Some(q.name()));
        assert_eq!(cols.next(), Some(q.requirement()));
    }
    assert!(lines.len() >= 26);
}

#[test]
fn an_unknown_quirk_is_a_usage_error_that_names_it() {
    // Act
    let out = bin()
        .args(["--quirk", "no-such-quirk", "--port", "0"])
        .output()
        .expect("runs");

    // Assert
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-quirk"));
}

#[test]
fn an_invalid_configuration_file_is_reported_with_its_path_and_key() {
    // Arrange
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("as.yaml");
    std::fs::write(&path, "issuer: x\nclientz: []\n").expect("write");

    // Act
    let out = bin()
        .arg("--config")
        .arg(&path)
        .args(["--port", "0"])
        .output()
        .expect("runs");

    // Assert
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("as.yaml") && err.contains("clientz"), "{err}");
}

#[test]
fn an_unknown_durability_is_a_usage_error_that_names_the_choices() {
    // Act
    let out = bin()
        .args(["--durability", "eventually", "--port", "0"])
        .env_remove("UMA_AS_DURABILITY")
        .output()
        .expect("runs");

    // Assert
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("eventually") && err.contains("batched") && err.contains("sync"),
        "{err}"
    );
}

#[test]
fn help_lists_every_subcommand_and_the_profile_option() {
    // Act
    let out = bin().arg("--help").output().expect("runs");

    // Assert
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for word in ["rs ", "client ", "--profile"] {
        assert!(text.contains(word), "`{word}` missing from:\n{text}");
    }
}

#[test]
fn an_unknown_profile_is_a_usage_error_that_names_the_known_ones() {
    // Act
    let out = bin()
        .args(["--profile", "party", "--port", "0"])
        .env_remove("UMA_AS_CONFIG")
        .output()
        .expect("runs");

    // Assert
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("party") && err.contains("interop"), "{err}");
}
