//! What the RS and client steps share: the counterparts of the target, and the target's
//! recorded requests (each added to the scenario's exchanges once, with its secrets noted).

use serde_json::{Value, json};

use super::{ScenarioCtx, StepError};
use crate::counterpart::{Counterparts, Party, Recorded};

/// Form and query parameters whose values are secrets (redacted in reports).
const SECRET_FORM_FIELDS: &[&str] = &[
    "ticket",
    "claim_token",
    "pct",
    "rpt",
    "code_verifier",
    "client_secret",
    "token",
    "refresh_token",
    "access_token",
];
/// Response members whose values are secrets.
const SECRET_RESPONSE_MEMBERS: &[&str] = &["access_token", "refresh_token", "pct", "ticket", "id_token"];

pub(super) fn world<'a>(ctx: &ScenarioCtx<'a>) -> Result<&'a Counterparts, StepError> {
    ctx.env
        .counterparts
        .as_deref()
        .ok_or_else(|| StepError::unusable("this step needs an RS or client target (the harness plays its AS)"))
}

fn normalised_permissions(r: &Value) -> Value {
    match r.get("json") {
        Some(Value::Array(a)) => Value::Array(a.clone()),
        Some(o @ Value::Object(_)) if o.get("resource_id").is_some() => Value::Array(vec![o.clone()]),
        _ => Value::Null,
    }
}

pub(super) fn recorded_value(r: &Recorded) -> Value {
    let mut v = r.to_value();
    let perms = normalised_permissions(&v);
    let challenge = {
        let (all, _) = crate::uma::challenge::parse_all(
            r.response_headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case("www-authenticate"))
                .map(|(_, v)| v.as_str()),
        );
        all.iter()
            .find(|c| c.is("UMA"))
            .map(|c| json!({"as_uri": c.param("as_uri"), "ticket": c.param("ticket")}))
            .unwrap_or(Value::Null)
    };
    if let Some(o) = v.as_object_mut() {
        o.insert("permissions".into(), perms);
        o.insert("challenge".into(), challenge);
    }
    v
}

impl ScenarioCtx<'_> {
    /// The counterpart path an endpoint name stands for (`None`: every path of the party).
    pub(super) fn peer_endpoint(&self, at: &str) -> Result<(Party, Option<String>), StepError> {
        let path_of = |url: &str| url::Url::parse(url).map(|u| u.path().to_string()).ok();
        Ok(match at {
            "as" => (Party::As, None),
            "rs" => (Party::Rs, None),
            "discovery" => (Party::As, Some("/.well-known/uma2-configuration".into())),
            p if p.starts_with('/') => (Party::As, Some(p.to_string())),
            name => {
                let url = self.env.endpoint(name).ok_or_else(|| {
                    StepError::unusable(format!(
                        "`{name}` is not a member of the harness AS's discovery document"
                    ))
                })?;
                (Party::As, path_of(&url))
            }
        })
    }

    /// Recorded requests of the target since `mark`, filtered by endpoint.
    pub(super) fn observed(&self, mark: u64, at: Option<&str>) -> Result<Vec<Recorded>, StepError> {
        let w = world(self)?;
        let filter = match at {
            Some(a) => Some(self.peer_endpoint(a)?),
            None => None,
        };
        Ok(w.traffic
            .since(mark)
            .into_iter()
            .filter(|r| match &filter {
                None => true,
                Some((party, path)) => r.party == *party && path.as_ref().is_none_or(|p| *p == r.path),
            })
            .collect())
    }

    pub(super) fn record_observed(&mut self, recs: &[Recorded]) {
        let Ok(w) = world(self) else { return };
        for r in recs {
            if !self.observed_seen.insert(r.seq) {
                continue;
            }
            let base = match r.party {
                Party::As => w.as_issuer.clone(),
                Party::Rs => w.rs_base.clone().unwrap_or_default(),
            };
            // Every token the target sent or got is a secret of the report.
            let v = r.to_value();
            let mut found: Vec<String> = Vec::new();
            if let Some(t) = v.get("bearer").and_then(Value::as_str) {
                found.push(t.to_string());
            }
            for (part, names) in [
                ("form", SECRET_FORM_FIELDS),
                ("query", SECRET_FORM_FIELDS),
                ("response", SECRET_RESPONSE_MEMBERS),
            ] {
                for n in names {
                    if let Some(t) = v.get(part).and_then(|p| p.get(*n)).and_then(Value::as_str) {
                        found.push(t.to_string());
                    }
                }
            }
            for t in found {
                self.secret(&t);
            }
            self.exchanges.push(r.to_exchange(&base, self.step));
        }
    }
}
