//! The evidence bundle: `bundle` and `verify` round-trip, and `verify` finds a changed byte.

use std::io::Read;

use uma_conformance::report::bundle::{self, Manifest};
use uma_conformance::{Verdict, exit};

use super::synthetic::{cli, text, two, write_json};

fn bundled(dir: &std::path::Path) -> std::path::PathBuf {
    write_json(dir, "report.json", &two(Verdict::Fail));
    let out = dir.join("evidence.tar.gz");
    let o = cli(&["bundle", dir.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(exit::PASS), "{}", text(&o));
    out
}

/// Rewrites the bundle with one byte of `name` changed.
fn tamper(path: &std::path::Path, name: &str) {
    let files = bundle::read(path).unwrap();
    let gz = flate2::write::GzEncoder::new(std::fs::File::create(path).unwrap(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (n, mut data) in files {
        if n == name {
            let i = data.len() / 2;
            data[i] ^= 0x01;
        }
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        tar.append_data(&mut h, &n, data.as_slice()).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap();
}

#[test]
fn a_bundle_holds_every_format_the_target_and_a_manifest_of_hashes_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let path = bundled(dir.path());
    let files = bundle::read(&path).unwrap();
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "junit.xml",
            "manifest.json",
            "report.html",
            "report.json",
            "summary.md",
            "target.json"
        ]
    );
    let m: Manifest = serde_json::from_slice(&files["manifest.json"]).unwrap();
    assert_eq!(m.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(m.suites_hash, "ab".repeat(32));
    assert_eq!(m.catalogue_hash.len(), 64, "the catalogue's SHA-256");
    assert!(!m.git_commit.is_empty());
    assert_eq!(
        m.tested.as_ref().map(ToString::to_string).as_deref(),
        Some("ACME AS 4.2")
    );
    assert_eq!(m.files["report.html"], bundle::sha256_hex(&files["report.html"]));
    let o = cli(&["verify", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(exit::PASS), "{}", text(&o));
    assert!(text(&o).contains("verified: 5 files"), "{}", text(&o));
}

#[test]
fn verify_names_the_file_in_which_one_byte_changed() {
    let dir = tempfile::tempdir().unwrap();
    let path = bundled(dir.path());
    tamper(&path, "report.html");
    let o = cli(&["verify", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(exit::FAIL), "{}", text(&o));
    assert!(text(&o).contains("report.html has changed"), "{}", text(&o));
}

#[test]
fn verify_fails_on_one_changed_byte_of_the_archive_itself() {
    let dir = tempfile::tempdir().unwrap();
    let path = bundled(dir.path());
    let mut bytes = Vec::new();
    std::fs::File::open(&path).unwrap().read_to_end(&mut bytes).unwrap();
    let i = bytes.len() / 2;
    bytes[i] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    let o = cli(&["verify", path.to_str().unwrap()]);
    assert_ne!(o.status.code(), Some(exit::PASS), "{}", text(&o));
    assert!(text(&o).contains("evidence.tar.gz"), "{}", text(&o));
}

#[test]
fn verify_refuses_a_file_the_manifest_does_not_list() {
    let dir = tempfile::tempdir().unwrap();
    let path = bundled(dir.path());
    let mut files = bundle::read(&path).unwrap();
    files.insert("extra.txt".into(), b"hello".to_vec());
    let gz = flate2::write::GzEncoder::new(std::fs::File::create(&path).unwrap(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (n, data) in files {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        tar.append_data(&mut h, &n, data.as_slice()).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap();
    let o = cli(&["verify", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(exit::FAIL));
    assert!(text(&o).contains("extra.txt is not listed"), "{}", text(&o));
}
