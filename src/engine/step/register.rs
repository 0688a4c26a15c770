//! `register`: RFC 7591 dynamic client registration; the response becomes a client actor.

use serde_json::{Value, json};

use super::{Exact, Run, ScenarioCtx, StepError, tv};
use crate::check::Response;
use crate::engine::http::Req;
use crate::profile::ClientActor;
use crate::suite::ClientAuth;
use crate::suite::step::register::RegisterStep;
use crate::uma::{ClientId, Secret};

impl Run for RegisterStep {
    async fn run(&self, ctx: &mut ScenarioCtx<'_>, explicit: bool) -> Result<Response, StepError> {
        let tag = crate::engine::random_token();
        let mut body = json!({
            "client_name": format!("uma-conformance {}", ctx.scenario.id),
            "redirect_uris": [format!("http://127.0.0.1:9/c/{tag}/callback")],
            "claims_redirect_uris": [format!("http://127.0.0.1:9/c/{tag}/claims")],
            "grant_types": [crate::uma::grant::UMA_GRANT, "refresh_token"],
            "token_endpoint_auth_method": "client_secret_basic",
        });
        if let Some(m) = tv(&self.metadata) {
            match ctx.subst(m)? {
                Value::Object(o) => {
                    for (k, v) in o {
                        if v.is_null() {
                            body.as_object_mut().map(|b| b.remove(&k));
                        } else {
                            body[k] = v;
                        }
                    }
                }
                other => body = other,
            }
        }
        let resp = ctx
            .send(Req::new("POST", ctx.endpoint("registration_endpoint")?).json(body.clone()))
            .await?;
        let ok = (200..300).contains(&resp.status) && resp.body("client_id").is_some();
        let exact = Exact {
            requirement: "R7591-01",
            status: 201,
        };
        ctx.setup_success(explicit, ok, exact, "registering a client", &resp)?;
        let Some(id) = resp.body_str("client_id") else {
            return Ok(resp);
        };
        let secret = resp.body_str("client_secret").map(Secret::new);
        if let Some(s) = &secret {
            let v = s.secret().to_string();
            ctx.secret(&v);
        }
        for t in ["registration_access_token"] {
            if let Some(v) = resp.body_str(t) {
                let v = v.to_string();
                ctx.secret(&v);
            }
        }
        let method = resp
            .body("token_endpoint_auth_method")
            .or_else(|| body.get("token_endpoint_auth_method"))
            .and_then(Value::as_str)
            .unwrap_or("client_secret_basic");
        let auth = match (method, secret.is_some()) {
            (_, false) | ("none", _) => ClientAuth::None,
            ("client_secret_post", _) => ClientAuth::Post,
            _ => ClientAuth::Basic,
        };
        let list = |k: &str| -> Vec<String> {
            resp.body(k)
                .or_else(|| body.get(k))
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
                .unwrap_or_default()
        };
        let scopes = resp
            .body("scope")
            .or_else(|| body.get("scope"))
            .and_then(Value::as_str)
            .map(|s| s.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default();
        let actor = ClientActor {
            client_id: ClientId::new(id),
            secret,
            auth,
            scopes,
            claims_redirect_uris: list("claims_redirect_uris"),
            redirect_uris: list("redirect_uris"),
        };
        let name = self.actor();
        ctx.vars.insert(name.clone(), actor.to_value());
        ctx.clients.insert(name, actor);
        Ok(resp)
    }
}
