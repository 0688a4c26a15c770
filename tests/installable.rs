//! The binary needs no checkout: copied into an empty folder it names the hash of its built-in
//! suites in `--version`, runs a suite from them, and runs a scenario author's edited copy
//! (`export`, then `--suites`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The harness binary copied into an empty temporary folder, run there.
struct Copied {
    dir: tempfile::TempDir,
    bin: PathBuf,
}

impl Copied {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("uma-conformance");
        std::fs::copy(env!("CARGO_BIN_EXE_uma-conformance"), &bin).unwrap();
        Self { dir, bin }
    }

    fn run(&self, args: &[&str]) -> Output {
        // A test copying its binary while another test forks can see the copy "busy" for a
        // moment (the forked child holds the copy's write descriptor until it execs): retry.
        for _ in 0..100 {
            match Command::new(&self.bin)
                .args(args)
                .current_dir(self.dir.path())
                .env_remove("UMA_SUITES")
                .env_remove("UMA_CATALOGUE")
                .env_remove("UMA_TARGET")
                .output()
            {
                Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => return other.unwrap(),
            }
        }
        panic!("{} stayed busy", self.bin.display())
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn a_copied_binary_runs_its_built_in_suites_in_an_empty_folder() {
    // Arrange: the binary alone in an empty folder.
    let copied = Copied::new();
    let listed: Vec<_> = std::fs::read_dir(copied.path()).unwrap().collect();
    assert_eq!(listed.len(), 1, "the folder holds only the binary");

    // Act: --version, then one area of the AS suite against the embedded reference.
    let version = copied.run(&["--version"]);
    let run = copied.run(&["run", "--role", "as", "--filter", "as::discovery", "--out", "out"]);

    // Assert: the version names the suites' hash, the run used them and passed.
    assert!(version.status.success(), "{}", text(&version));
    let shown = String::from_utf8_lossy(&version.stdout).to_string();
    let hash = shown
        .split("suites sha256 ")
        .nth(1)
        .map(|h| h.trim().trim_end_matches(')').to_string())
        .unwrap_or_else(|| panic!("--version does not name the suites' hash: {shown}"));
    assert_eq!(hash.len(), 64, "{shown}");
    assert_eq!(
        hash,
        uma_conformance::run::suites_hash(&Path::new(env!("CARGO_MANIFEST_DIR")).join("suites")),
        "the built-in suites are the checkout's"
    );
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(copied.path().join("out/report.json")).unwrap()).unwrap();
    assert_eq!(report["run"]["suites_hash"], hash.as_str());
    let scenarios = report["scenarios"].as_array().unwrap();
    assert!(scenarios.len() >= 5, "{} scenarios", scenarios.len());
    for s in scenarios {
        let file = s["file"].as_str().unwrap();
        assert!(file.starts_with("suites/as/discovery/"), "{file}");
    }
}

#[test]
fn an_exported_copy_edited_by_a_scenario_author_runs_with_suites() {
    // Arrange: the built-in files exported next to the binary, one scenario's title edited.
    let copied = Copied::new();
    let export = copied.run(&["export", "mine"]);
    assert!(export.status.success(), "{}", text(&export));
    let file = copied.path().join("mine/suites/as/discovery/uma2-configuration.yaml");
    let original = std::fs::read_to_string(&file).unwrap();
    let title = original.lines().find(|l| l.starts_with("title:")).unwrap().to_string();
    std::fs::write(&file, original.replace(&title, "title: an edited title")).unwrap();

    // Act: list the built-in suites and the edited copy; export again over the copy.
    let builtin = copied.run(&["list"]);
    let edited = copied.run(&["--suites", "mine/suites", "list"]);
    let again = copied.run(&["export", "mine"]);

    // Assert: only the copy has the edit; an export never overwrites.
    assert!(builtin.status.success() && edited.status.success(), "{}", text(&edited));
    assert!(!text(&builtin).contains("an edited title"));
    assert!(text(&edited).contains("an edited title"), "{}", text(&edited));
    assert_ne!(again.status.code(), Some(0));
    assert!(text(&again).contains("exists"), "{}", text(&again));
}
