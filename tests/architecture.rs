//! The crate's modules form a one-way graph: each top-level module of `src/` names only the
//! modules listed before it in [`LAYERS`] (the table of `src/lib.rs`). The test reads every
//! source file for `crate::<module>` paths (including grouped `use crate::{a, b}` imports) and
//! fails on any edge that points up or sideways, which also rules out every cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Bottom first: a module may depend only on modules before it.
const LAYERS: &[&str] = &[
    "builtin",
    "diagnostic",
    "net",
    "uma",
    "template",
    "catalogue",
    "outcome",
    "redact",
    "baseline",
    "status",
    "check",
    "suite",
    "profile",
    "counterpart",
    "engine",
    "report",
    "run",
    "formats",
];

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`None` for lib.rs and main.rs).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.iter().next()?.to_string_lossy().to_string();
    let name = first.trim_end_matches(".rs").to_string();
    (name != "lib" && name != "main").then_some(name)
}

fn ident(s: &str) -> String {
    s.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// Every top-level module a source text names through `crate::`.
fn referenced(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    // Comments and doc links are not dependencies.
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `use crate::{a, b::c, d::{e, f}}`: the identifiers at depth 0 of the group.
            let mut depth = 0;
            let mut start = true;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if start && depth == 0 && (c.is_ascii_alphabetic() || c == '_') => {
                        out.insert(ident(&group[j..]));
                        start = false;
                    }
                    _ => {}
                }
            }
        } else {
            let name = ident(rest);
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

#[test]
fn every_module_depends_only_on_the_modules_below_it() {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let rank: BTreeMap<&str, usize> = LAYERS.iter().enumerate().map(|(i, m)| (*m, i)).collect();
    let mut files = Vec::new();
    rs_files(&src, &mut files);
    let mut seen_modules = BTreeSet::new();
    let mut wrong = Vec::new();
    for f in &files {
        let Some(m) = module_of(&src, f) else { continue };
        seen_modules.insert(m.clone());
        let Some(&mine) = rank.get(m.as_str()) else {
            wrong.push(format!("{}: module `{m}` is not in LAYERS", f.display()));
            continue;
        };
        let text = std::fs::read_to_string(f).unwrap();
        for dep in referenced(&text) {
            if dep == m {
                continue;
            }
            match rank.get(dep.as_str()) {
                Some(&theirs) if theirs < mine => {}
                Some(_) => wrong.push(format!("{}: `{m}` depends on `{dep}`, which is above it", f.display())),
                None => wrong.push(format!(
                    "{}: `{m}` names `crate::{dep}`, which is no module",
                    f.display()
                )),
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "the module graph is not one-way:\n{}",
        wrong.join("\n")
    );
    let listed: BTreeSet<String> = LAYERS.iter().map(|s| s.to_string()).collect();
    assert_eq!(seen_modules, listed, "LAYERS and src/ disagree");
}

#[test]
fn the_scanner_finds_grouped_and_plain_paths() {
    let text = "use crate::{check::Check, suite::{Action, Step}};\nfn f() { crate::uma::grant::UMA_GRANT; }\n// crate::run is a comment\n";
    let got = referenced(text);
    assert_eq!(
        got,
        ["check", "suite", "uma"]
            .into_iter()
            .map(String::from)
            .collect::<BTreeSet<_>>()
    );
}

#[test]
fn no_file_is_over_600_lines_without_a_reason_at_its_top() {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rs_files(&src, &mut files);
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        if text.lines().count() > 600 {
            let head: String = text.lines().take(30).collect::<Vec<_>>().join("\n");
            assert!(
                head.contains("Over 600 lines because"),
                "{} has {} lines and no reason in its first comment",
                f.display(),
                text.lines().count()
            );
        }
    }
}

#[test]
fn lib_rs_is_a_guide_with_curated_re_exports() {
    let lib = std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    assert!(
        lib.lines().count() < 150,
        "src/lib.rs has {} lines",
        lib.lines().count()
    );
    let mut code = lib.lines().filter(|l| !l.trim_start().starts_with("//"));
    assert!(
        code.all(|l| !l.contains("fn ")),
        "src/lib.rs defines functions; put them in their module"
    );
}

/// The test files `Cargo.toml` of `crate_dir` builds: `[[test]]` paths, and the files the
/// gathering binary `gather` takes in as `#[path = "..."]` modules.
fn built_test_files(crate_dir: &Path, gather: &str) -> BTreeSet<String> {
    let mut built = BTreeSet::new();
    let manifest = std::fs::read_to_string(crate_dir.join("Cargo.toml")).expect("Cargo.toml");
    for line in manifest.lines() {
        if let Some(path) = line.trim().strip_prefix("path = \"tests/") {
            built.insert(path.trim_end_matches('"').to_owned());
        }
    }
    let gathering = std::fs::read_to_string(crate_dir.join("tests").join(gather)).expect("gathering binary");
    for line in gathering.lines() {
        if let Some(path) = line.trim().strip_prefix("#[path = \"") {
            built.insert(path.trim_end_matches("\"]").to_owned());
        }
    }
    built
}

#[test]
fn every_test_file_is_built_although_cargo_no_longer_finds_them() {
    // `autotests = false` (one test binary per crate, issue 13): a file of tests/ that no
    // [[test]] target and no gathering binary names would never run, silently.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (crate_dir, gather) in [
        (root.to_path_buf(), "integration.rs"),
        (root.join("reference-server"), "reference.rs"),
    ] {
        let built = built_test_files(&crate_dir, gather);
        let mut missing = Vec::new();
        for e in std::fs::read_dir(crate_dir.join("tests")).expect("tests/") {
            let path = e.expect("entry").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
            let file = if path.is_dir() {
                // A directory of tests is built through its main.rs (support/, common/,
                // alone/ and the like hold helpers or command targets, named elsewhere).
                if !path.join("main.rs").exists() {
                    continue;
                }
                format!("{name}/main.rs")
            } else if name.ends_with(".rs") {
                name
            } else {
                continue;
            };
            if !built.contains(&file) {
                missing.push(file);
            }
        }
        assert!(
            missing.is_empty(),
            "{}: test files no target builds (add a `#[path]` module to tests/{gather}): {missing:?}",
            crate_dir.display()
        );
    }
}
