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
            // Under the issuer's path, if it has one (`counterpart.as_path`).
            "discovery" => (
                Party::As,
                Some(format!(
                    "{}/.well-known/uma2-configuration",
                    path_of(&world(self)?.as_issuer)
                        .unwrap_or_default()
                        .trim_end_matches('/')
                )),
            ),
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
    /// `uma_grant` is the token endpoint without the requests for another OAuth grant that carry
    /// no ticket (a client may hold other tokens of the AS, such as a client-credentials access
    /// token: UMA Grant §3.3 asks nothing about them); every request with a `ticket`, or of the
    /// UMA grant, or of an unknown grant type, stays.
    pub(super) fn observed(&self, mark: u64, at: Option<&str>) -> Result<Vec<Recorded>, StepError> {
        let w = world(self)?;
        let uma_only = at == Some(UMA_GRANT_REQUESTS);
        let at = if uma_only { Some("token_endpoint") } else { at };
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
            .filter(|r| !uma_only || !another_grant(&r.body))
            .collect())
    }

    pub(super) fn record_observed(&mut self, recs: &[Recorded]) {
        let Ok(w) = world(self) else { return };
        for r in recs {
            if !self.observed_seen.insert(r.seq) {
                continue;
            }
            let base = match r.party {
                // The origin: a recorded path already holds the issuer's path, if any.
                Party::As => url::Url::parse(&w.as_issuer)
                    .map(|u| u.origin().ascii_serialization())
                    .unwrap_or_else(|_| w.as_issuer.clone()),
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

/// The `traffic.at` value for the token requests of the UMA grant (see `observed`).
pub(super) const UMA_GRANT_REQUESTS: &str = "uma_grant";

/// Whether a token request body asks for another OAuth grant and carries no ticket.
fn another_grant(body: &str) -> bool {
    let mut grant = None;
    for (k, v) in url::form_urlencoded::parse(body.as_bytes()) {
        match k.as_ref() {
            "ticket" => return false,
            "grant_type" => grant = Some(v.into_owned()),
            _ => {}
        }
    }
    matches!(
        grant.as_deref(),
        Some(
            "client_credentials"
                | "password"
                | "authorization_code"
                | "refresh_token"
                | "urn:ietf:params:oauth:grant-type:device_code"
                | "urn:ietf:params:oauth:grant-type:token-exchange"
                | "urn:ietf:params:oauth:grant-type:jwt-bearer"
        )
    )
}

#[cfg(test)]
mod uma_grant_tests {
    use super::another_grant;

    #[test]
    fn only_other_grants_without_a_ticket_are_left_out() {
        assert!(another_grant("grant_type=client_credentials&scope=view"));
        assert!(another_grant("grant_type=refresh_token&refresh_token=x"));
        assert!(!another_grant(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Auma-ticket&ticket=t"
        ));
        assert!(!another_grant("grant_type=client_credentials&ticket=t"));
        assert!(!another_grant("grant_type=uma&ticket=t"));
        assert!(!another_grant("ticket=t"));
        assert!(!another_grant("grant_type=something-new"));
    }
}
