//! The CI gating files promise only what the CLI has: the GitHub Action's inputs, outputs and
//! steps, and the GitLab example in the README.

use std::collections::BTreeSet;

use serde_json::Value;

use super::synthetic::{cli, text};

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn yaml(text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("not YAML: {e}\n{text}"))
}

fn help(args: &[&str]) -> String {
    let o = cli(args);
    assert!(o.status.success(), "{}", text(&o));
    text(&o)
}

/// The `--flags` on a line, without quotes or shell punctuation.
fn flags(line: &str) -> Vec<String> {
    line.split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter(|t| t.starts_with("--"))
        .map(|t| t.trim_matches(|c: char| c == '"' || c == '\'' || c == ';').to_string())
        .map(|t| t.split('=').next().unwrap_or("").to_string())
        .collect()
}

#[test]
fn the_action_declares_the_inputs_and_outputs_it_promises() {
    let action = yaml(&std::fs::read_to_string(root().join("action.yml")).unwrap());
    assert_eq!(action["runs"]["using"], "composite");
    for input in ["target", "roles", "baseline", "version"] {
        assert!(action["inputs"][input]["description"].is_string(), "input {input}");
    }
    let exit_code = action["outputs"]["exit-code"]["value"].as_str().unwrap();
    assert_eq!(exit_code, "${{ steps.run.outputs.exit-code }}");
    assert!(action["outputs"]["bundle"]["value"].is_string());
    let steps = action["runs"]["steps"].as_array().unwrap();
    let ids: BTreeSet<&str> = steps.iter().filter_map(|s| s["id"].as_str()).collect();
    let inputs: BTreeSet<&str> = action["inputs"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    // Every `${{ inputs.X }}` and `${{ steps.Y.outputs.Z }}` names something that exists.
    let whole = std::fs::read_to_string(root().join("action.yml")).unwrap();
    for (i, _) in whole.match_indices("inputs.") {
        let name: String = whole[i + 7..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        assert!(
            inputs.contains(name.as_str()),
            "action.yml uses an undeclared input `{name}`"
        );
    }
    for (i, _) in whole.match_indices("steps.") {
        let id: String = whole[i + 6..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        assert!(
            ids.contains(id.as_str()),
            "action.yml names a step `{id}` that does not exist"
        );
    }
    // The run step writes the outputs it promises, and uploads the bundle.
    let run = steps.iter().find(|s| s["id"] == "run").unwrap()["run"]
        .as_str()
        .unwrap();
    assert!(run.contains("exit-code=") && run.contains("bundle=") && run.contains("GITHUB_STEP_SUMMARY"));
    assert!(steps.iter().any(|s| {
        s["uses"]
            .as_str()
            .is_some_and(|u| u.starts_with("actions/upload-artifact@"))
    }));
}

#[test]
fn the_action_runs_only_real_flags_of_uma_conformance_run() {
    let action = yaml(&std::fs::read_to_string(root().join("action.yml")).unwrap());
    let run_help = help(&["run", "--help"]);
    let run = action["runs"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "run")
        .unwrap()["run"]
        .as_str()
        .unwrap()
        .to_string();
    let mut checked = 0;
    for line in run.lines().filter(|l| l.contains("args=(") || l.contains("args+=(")) {
        assert!(line.contains("args=(run ") || line.contains("args+=("), "{line}");
        for flag in flags(line) {
            assert!(
                run_help.contains(&flag),
                "action.yml passes `{flag}`, which `run` does not have"
            );
            checked += 1;
        }
    }
    assert!(checked >= 5, "only {checked} flags found");
    assert!(
        help(&["--version"]).starts_with("uma-conformance "),
        "the version check reads `--version`"
    );
}

#[test]
fn the_gitlab_example_in_the_readme_is_valid_and_runs_real_commands() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let after = &readme[readme.find("**GitLab CI.**").expect("a GitLab section")..];
    let start = after.find("```yaml\n").unwrap() + 8;
    let block = &after[start..start + after[start..].find("```").unwrap()];
    let ci = yaml(block);
    let job = ci.as_object().unwrap().values().next().unwrap();
    assert_eq!(job["artifacts"]["reports"]["junit"], "reports/latest/junit.xml");
    assert_eq!(job["artifacts"]["when"], "always");
    let script: Vec<&str> = job["script"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let top = help(&["--help"]);
    let mut checked = 0;
    for line in script.iter().filter(|l| l.contains("uma-conformance ")) {
        let rest = &line[line.find("uma-conformance ").unwrap() + 16..];
        let sub = rest.split_whitespace().next().unwrap();
        assert!(top.contains(&format!("  {sub} ")), "`{sub}` is no subcommand");
        let sub_help = help(&[sub, "--help"]);
        for flag in flags(rest) {
            assert!(
                sub_help.contains(&flag),
                "the GitLab example passes `{flag}` to `{sub}`"
            );
            checked += 1;
        }
    }
    assert!(checked >= 3);
}
