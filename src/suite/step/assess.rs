//! `assess`: run the set-math assessment of a table row end to end (digest §4.3). The row
//! (usually `$case`) gives A, B, and per resource C, D, F, with the expected outcome written by
//! hand; the harness computes the outcome too, and the two must agree when the file loads.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::StepArgs;
use crate::template::Tpl;
use crate::uma::setmath::{self, Input, OutcomeKind, ResourceInput, Scopes};

/// `assess`: the row.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct AssessStep(pub Tpl);

/// A set-math row that does not describe an assessment, or whose hand-written outcome
/// disagrees with the computed one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RowError(String);

impl From<&str> for RowError {
    fn from(s: &str) -> Self {
        Self(s.to_string())
    }
}

impl From<String> for RowError {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl StepArgs for AssessStep {
    fn defines(&self) -> Vec<String> {
        ["pat", "ticket", "rpt", "refresh_token", "pct", "assess-client"]
            .into_iter()
            .map(String::from)
            .collect()
    }
}

fn scopes(v: Option<&Value>) -> Result<Scopes, RowError> {
    match v {
        None | Some(Value::Null) => Ok(Scopes::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| RowError::from(format!("scope {x} is not a string")))
            })
            .collect(),
        Some(Value::String(s)) => Ok(s.split_whitespace().map(str::to_string).collect()),
        Some(other) => Err(format!("expected a list of scopes, got {other}").into()),
    }
}

/// A parsed table row.
#[derive(Debug)]
pub struct Row {
    /// The assessment input.
    pub input: Input,
    /// The hand-written outcome.
    pub outcome: OutcomeKind,
    /// The hand-written G(r).
    pub granted: BTreeMap<String, Scopes>,
}

/// Parses a row: `A`, `B`, `resources: {r: {C, D, F}}`, `expected: {outcome, granted}`.
pub fn parse_row(case: &Value) -> Result<Row, RowError> {
    let mut resources = BTreeMap::new();
    let rs = case
        .get("resources")
        .and_then(Value::as_object)
        .ok_or("a set-math row needs `resources: {name: {C, D, F}}`")?;
    for (name, r) in rs {
        resources.insert(
            name.clone(),
            ResourceInput {
                ticket: scopes(r.get("C"))?,
                registered: scopes(r.get("D"))?,
                satisfied: scopes(r.get("F"))?,
            },
        );
    }
    let input = Input {
        client_registered: scopes(case.get("A"))?,
        requested: scopes(case.get("B"))?,
        resources,
    };
    input.validate().map_err(|e| RowError(e.to_string()))?;
    let expected = case
        .get("expected")
        .ok_or("a set-math row needs `expected: {outcome, granted}`")?;
    let outcome: OutcomeKind = serde_json::from_value(expected.get("outcome").cloned().unwrap_or(Value::Null))
        .map_err(|_| "`expected.outcome` is success, partial or invalid-scope".to_string())?;
    let mut granted = BTreeMap::new();
    if let Some(g) = expected.get("granted").and_then(Value::as_object) {
        for (k, v) in g {
            granted.insert(k.clone(), scopes(Some(v))?);
        }
    }
    Ok(Row {
        input,
        outcome,
        granted,
    })
}

/// Checks that a row's hand-written outcome agrees with digest §4.3.
pub fn check_case(case: &BTreeMap<String, Value>) -> Result<(), RowError> {
    let v = Value::Object(case.clone().into_iter().collect());
    let row = parse_row(&v)?;
    let a = setmath::assess(&row.input);
    if a.outcome != row.outcome {
        return Err(format!(
            "the hand-written outcome {:?} disagrees with the computed one {:?}",
            row.outcome, a.outcome
        )
        .into());
    }
    if a.outcome != OutcomeKind::InvalidScope {
        for (r, g) in &a.candidate {
            let want = row.granted.get(r).cloned().unwrap_or_default();
            if &want != g {
                return Err(format!(
                    "resource {r}: the hand-written granted scopes {want:?} disagree with the computed G(r) {g:?}"
                )
                .into());
            }
        }
    }
    Ok(())
}
