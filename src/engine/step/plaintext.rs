//! `plaintext`: the https token endpoint asked in plain HTTP, on its own host and port.

use serde_json::json;

use super::{Run, ScenarioCtx, StepError};
use crate::check::Response;
use crate::engine::http::Req;
use crate::suite::step::plaintext::PlaintextStep;

/// The made-up client of the probe: an AS that evaluates the request answers `invalid_client`.
const PROBE_CLIENT: (&str, &str) = ("uma-conformance-tls-probe", "not-a-secret-tls-probe");

/// A response that says nothing was sent, and why.
fn skipped(why: String) -> Response {
    let mut r = Response::default();
    r.extra.insert("plaintext".into(), json!({ "skipped": why }));
    r
}

/// The `http:` URL with the host and port of an `https:` one; `None` for another scheme.
fn downgraded(url: &str) -> Option<url::Url> {
    let mut u = url::Url::parse(url).ok()?;
    if u.scheme() != "https" {
        return None;
    }
    let port = u.port_or_known_default();
    u.set_scheme("http").ok()?;
    u.set_port(port).ok()?;
    Some(u)
}

impl Run for PlaintextStep {
    async fn run(&self, ctx: &mut ScenarioCtx<'_>, _explicit: bool) -> Result<Response, StepError> {
        let name = self.endpoint.as_deref().unwrap_or("token_endpoint");
        let endpoint = ctx.endpoint(name)?;
        let Some(plain) = downgraded(&endpoint) else {
            return Ok(skipped(format!("`{name}` is not an https URL")));
        };
        if let Err(e) = ctx.env.net.check(plain.as_str()) {
            return Ok(skipped(format!(
                "{e} (to probe the endpoint in plain HTTP, list {} in `allowed_origins`)",
                plain.origin().ascii_serialization()
            )));
        }
        let form = vec![
            ("grant_type".to_string(), "client_credentials".to_string()),
            ("client_id".to_string(), PROBE_CLIENT.0.to_string()),
            ("client_secret".to_string(), PROBE_CLIENT.1.to_string()),
        ];
        let shown = json!({ "url": plain.as_str() });
        match ctx.send(Req::new("POST", plain.as_str()).form(form)).await {
            Ok(mut r) => {
                r.extra.insert("plaintext".into(), shown);
                Ok(r)
            }
            Err(StepError::Transport { reason, .. }) => {
                let mut r = Response {
                    exchange: ctx.exchanges.len().checked_sub(1),
                    ..Response::default()
                };
                r.extra.insert(
                    "plaintext".into(),
                    json!({ "url": plain.as_str(), "transport_error": reason }),
                );
                Ok(r)
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_keeps_the_host_and_the_tls_port() {
        assert_eq!(
            downgraded("https://as.example/realms/x/token").unwrap().as_str(),
            "http://as.example:443/realms/x/token"
        );
        assert_eq!(
            downgraded("https://127.0.0.1:8443/token").unwrap().as_str(),
            "http://127.0.0.1:8443/token"
        );
        assert!(downgraded("http://127.0.0.1:8080/token").is_none());
    }
}
