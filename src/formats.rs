//! The generated JSON Schemas of the file formats (scenario, fragment, target profile, report,
//! baseline, matrix, catalogue), committed under `fixtures/schemas/` and checked by a test.

use schemars::JsonSchema;

fn schema_of<T: JsonSchema>(id: &str) -> String {
    let mut s = schemars::SchemaGenerator::default().into_root_schema_for::<T>();
    s.insert(
        "$id".into(),
        serde_json::Value::String(format!("https://uma-conformance.dev/schemas/{id}")),
    );
    let mut text = serde_json::to_string_pretty(&s).unwrap_or_default();
    text.push('\n');
    text
}

#[derive(JsonSchema)]
#[expect(dead_code, reason = "only its schema is used")]
struct CatalogueFile {
    requirements: Vec<crate::catalogue::Requirement>,
}

/// Every generated schema: (file name under `fixtures/schemas/`, content).
pub fn generated() -> Vec<(&'static str, String)> {
    vec![
        (
            "scenario.schema.json",
            schema_of::<crate::suite::model::ScenarioFile>("scenario.schema.json"),
        ),
        (
            "fragment.schema.json",
            schema_of::<crate::suite::model::FragmentFile>("fragment.schema.json"),
        ),
        (
            "target.schema.json",
            schema_of::<crate::profile::AnyTargetProfile>("target.schema.json"),
        ),
        (
            "report.schema.json",
            schema_of::<crate::outcome::Report>("report.schema.json"),
        ),
        (
            "baseline.schema.json",
            schema_of::<crate::baseline::BaselineFile>("baseline.schema.json"),
        ),
        (
            "matrix.schema.json",
            schema_of::<crate::report::matrix::Matrix>("matrix.schema.json"),
        ),
        (
            "requirements.schema.json",
            schema_of::<CatalogueFile>("requirements.schema.json"),
        ),
    ]
}

/// Writes them into `dir`.
pub fn write(dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, text) in generated() {
        std::fs::write(dir.join(name), text)?;
    }
    Ok(())
}
