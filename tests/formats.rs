//! The file formats: the committed schemas are the generated ones, every suite file and target
//! profile validates against them, and the catalogue is well formed.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "yaml") {
            out.push(p);
        }
    }
}

fn validator(name: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(root().join("fixtures/schemas").join(name)).unwrap();
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
}

fn as_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Loads a suite made of one scenario file `as/x/bad.yaml` and returns the load error.
fn load_error(yaml: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let area = dir.path().join("as/x");
    std::fs::create_dir_all(&area).unwrap();
    std::fs::write(area.join("bad.yaml"), yaml).unwrap();
    let req = uma_conformance::RunRequest {
        suites: dir.path().to_path_buf(),
        ..Default::default()
    };
    uma_conformance::load(&req).unwrap_err().to_string()
}

#[test]
fn the_committed_schemas_are_the_generated_ones() {
    for (name, text) in uma_conformance::formats::generated() {
        let committed = std::fs::read_to_string(root().join("fixtures/schemas").join(name)).unwrap_or_default();
        assert!(
            committed == text,
            "fixtures/schemas/{name} is stale: run `cargo run -- schemas` and commit the result"
        );
    }
}

#[test]
fn every_scenario_and_fragment_validates_against_its_schema() {
    let scenario = validator("scenario.schema.json");
    let fragment = validator("fragment.schema.json");
    let mut files = Vec::new();
    yaml_files(&root().join("suites"), &mut files);
    assert!(!files.is_empty());
    for f in files {
        let is_fragment = f.components().any(|c| c.as_os_str().to_string_lossy().starts_with('_'));
        let v = if is_fragment { &fragment } else { &scenario };
        let json = as_json(&f);
        let errors: Vec<String> = v
            .iter_errors(&json)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {}", f.display(), errors.join("; "));
    }
}

#[test]
fn every_target_profile_validates_against_the_target_schema() {
    let v = validator("target.schema.json");
    let mut files = Vec::new();
    yaml_files(&root().join("fixtures/targets"), &mut files);
    let profiles: Vec<_> = files
        .into_iter()
        .filter(|f| !f.components().any(|c| c.as_os_str() == "servers"))
        .collect();
    assert!(profiles.len() >= 2);
    for f in profiles {
        let json = as_json(&f);
        let errors: Vec<String> = v
            .iter_errors(&json)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {}", f.display(), errors.join("; "));
    }
}

#[test]
fn the_catalogue_validates_and_every_scenario_cites_only_known_requirements() {
    let v = validator("requirements.schema.json");
    let json = as_json(&root().join("fixtures/requirements.yaml"));
    assert!(v.is_valid(&json));
    // Loading every scenario checks each cited ID against the catalogue.
    let (catalogue, scenarios) = uma_conformance::load(&uma_conformance::RunRequest::default()).unwrap();
    assert!(catalogue.len() > 150);
    for s in &scenarios {
        for r in &s.requirements {
            assert!(catalogue.get(r.as_str()).is_some(), "{}: {r}", s.file);
        }
    }
}

#[test]
fn a_scenario_citing_an_unknown_requirement_does_not_load() {
    let err = load_error(
        "id: as/x/bad\ntitle: t\nrequirements: [G-AS-999]\nsteps:\n  - discover: {}\n    expect: { status: 200 }\n",
    );
    assert!(err.contains("G-AS-999") && err.contains("requirements.yaml"), "{err}");
}

#[test]
fn a_misspelt_step_key_is_reported_with_its_line() {
    let err = load_error(
        "id: as/x/bad\ntitle: t\nrequirements: [G-AS-01]\nsteps:\n  - discover: {}\n    expct: { status: 200 }\n",
    );
    assert!(
        err.contains("expct") && err.contains("bad.yaml") && err.contains('6'),
        "{err}"
    );
}

#[test]
fn a_parallel_step_outside_its_bounds_is_reported_with_its_line() {
    let err = load_error(
        "id: as/x/bad\ntitle: t\nrequirements: [T-05]\nsteps:\n  - discover: {}\n  - parallel: { count: 50, token: {} }\n",
    );
    assert!(
        err.contains("parallel.count") && err.contains("bad.yaml") && err.contains(":6"),
        "{err}"
    );
}

#[test]
fn a_set_math_row_whose_expected_outcome_disagrees_does_not_load() {
    let err = load_error(
        "id: as/x/bad\ntitle: t\nrequirements: [G-AS-12]\ncases:\n  - name: wrong\n    A: []\n    B: []\n    \
         resources: { r1: { C: [view], D: [view], F: [] } }\n    expected: { outcome: success, granted: { r1: [view] } }\n\
         steps:\n  - assess: $case\n",
    );
    assert!(err.contains("disagrees"), "{err}");
}

#[test]
fn a_wrong_typed_expectation_is_reported_with_its_line_and_column() {
    let err = load_error(
        "id: as/x/bad\ntitle: t\nrequirements: [G-AS-01]\nsteps:\n  - discover: {}\n    expect: { status: two hundred }\n",
    );
    assert!(err.contains("found `two hundred`"), "{err}");
    assert!(err.contains("suites/as/x/bad.yaml:6:23"), "{err}");
    assert!(err.contains("6 |     expect: { status: two hundred }"), "{err}");
}

#[test]
fn an_undefined_variable_is_reported_where_it_is_used() {
    let err = load_error(
        "id: as/x/bad\ntitle: t\nrequirements: [T-01]\nsteps:\n  - permission: { resource: $r1, scopes: [view], as: t1 }\n    expect: { status: 201 }\n  - token: { ticket: $t9 }\n    expect: { status: 400 }\n",
    );
    assert!(err.contains("variable `$r1` is not set"), "{err}");
    assert!(err.contains("suites/as/x/bad.yaml:5:29"), "{err}");
    assert!(
        err.contains("variable `$t9` is not set by any earlier step (did you mean `t1`?)"),
        "{err}"
    );
    assert!(err.contains("suites/as/x/bad.yaml:7:22"), "{err}");
}

#[test]
fn a_variable_saved_by_an_earlier_step_or_set_by_the_step_itself_is_defined() {
    let dir = tempfile::tempdir().unwrap();
    let area = dir.path().join("as/x");
    std::fs::create_dir_all(&area).unwrap();
    std::fs::write(
        area.join("good.yaml"),
        "id: as/x/good\ntitle: t\nrequirements: [T-01]\nsteps:\n  - resource: { op: create, as: r1 }\n  - permission: { resource: $r1, scopes: [view] }\n    save: { t1: body.ticket }\n  - token: { ticket: $t1 }\n    expect: { status: 200, json: { access_token: $rpt } }\n",
    )
    .unwrap();
    let req = uma_conformance::RunRequest {
        suites: dir.path().to_path_buf(),
        ..Default::default()
    };
    let (_, scenarios) = uma_conformance::load(&req).unwrap();
    assert_eq!(scenarios.len(), 1);
}

#[test]
fn an_unknown_check_argument_is_reported_with_its_line_and_column() {
    let err = load_error(
        "id: as/x/bad\ntitle: t\nrequirements: [T-04]\nsteps:\n  - permission: { resource: x, scopes: [view], as: t1 }\n  - token: { ticket: $t1 }\n    expect: { checks: [ticket-rotated: { frm: $t1 }] }\n",
    );
    assert!(
        err.contains("unknown field `frm`, expected `from`") || err.contains("unknown field `frm`"),
        "{err}"
    );
    assert!(err.contains("suites/as/x/bad.yaml:7:42"), "{err}");
}

#[test]
fn an_unknown_check_gets_a_suggestion_at_its_position() {
    let err = load_error(
        "id: as/x/bad\ntitle: t\nrequirements: [G-AS-21]\nsteps:\n  - discover: {}\n    expect: { checks: [no-stor] }\n",
    );
    assert!(
        err.contains("unknown check `no-stor` (did you mean `no-store`?)"),
        "{err}"
    );
    assert!(err.contains("suites/as/x/bad.yaml:6:24"), "{err}");
}

#[test]
fn the_scenario_schema_lists_every_check_and_every_step() {
    let schema = std::fs::read_to_string(root().join("fixtures/schemas/scenario.schema.json")).unwrap();
    for name in uma_conformance::check::Check::NAMES {
        assert!(
            schema.contains(&format!("\"{name}\"")),
            "check {name} is not in the schema"
        );
    }
    for key in uma_conformance::suite::Action::KEYS {
        assert!(
            schema.contains(&format!("\"{key}\"")),
            "step {key} is not in the schema"
        );
    }
}
