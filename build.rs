//! Builds the table of files built into the binary (`src/builtin.rs`): every file below
//! `suites/` and `fixtures/`, so that an installed or copied binary runs every suite without a
//! checkout. Cargo reruns this script whenever a file below either folder changes.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The folders built in, relative to the package root.
const ROOTS: &[&str] = &["suites", "fixtures"];

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if e.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if p.is_dir() {
            walk(&p, out);
        } else if p.is_file() {
            out.push(p);
        }
    }
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for r in ROOTS {
        println!("cargo:rerun-if-changed={r}");
        walk(&root.join(r), &mut files);
    }
    let mut rows: Vec<(String, PathBuf)> = files
        .into_iter()
        .filter_map(|p| {
            let rel = p.strip_prefix(&root).ok()?.to_string_lossy().replace('\\', "/");
            Some((rel, p))
        })
        .collect();
    rows.sort();
    let mut code =
        String::from("/// Every built-in file: its path below the package root, and its bytes (sorted by path).\n");
    code.push_str("pub(crate) static FILES: &[(&str, &[u8])] = &[\n");
    for (rel, abs) in &rows {
        let _ = writeln!(code, "    ({rel:?}, include_bytes!({:?})),", abs.to_string_lossy());
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("builtin_files.rs");
    std::fs::write(&out, code).expect("OUT_DIR is writable");
}
