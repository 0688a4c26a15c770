//! `report.json`: the result model as pretty JSON (`fixtures/schemas/report.schema.json`).

use super::view::Context;
use crate::outcome::Report;

/// Renders the report.
pub fn render(report: &Report, _ctx: &Context<'_>) -> String {
    let mut s = serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}
