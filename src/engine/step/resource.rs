//! `resource`: the five operations of resource registration (FedAuthz §3.2).

use serde_json::{Value, json};

use super::{Exact, Run, ScenarioCtx, StepError, tv};
use crate::check::Response;
use crate::engine::http::{Body, Req};
use crate::suite::step::resource::{ResourceOp, ResourceStep};

impl ScenarioCtx<'_> {
    fn resource_url(&self, id: Option<&str>, trailing: bool) -> Result<String, StepError> {
        let base = self.endpoint("resource_registration_endpoint")?;
        Ok(match id {
            Some(id) => format!("{}/{}", base.trim_end_matches('/'), id),
            None if trailing && !base.ends_with('/') => format!("{base}/"),
            None => base,
        })
    }
}

impl Run for ResourceStep {
    async fn run(&self, ctx: &mut ScenarioCtx<'_>, explicit: bool) -> Result<Response, StepError> {
        let pat = ctx.pat_value(&self.pat).await?;
        let id = match tv(&self.id) {
            Some(v) => Some(ctx.text(v)?),
            None => None,
        };
        let url = ctx.resource_url(
            if self.op.needs_id() { id.as_deref() } else { None },
            self.trailing_slash.unwrap_or(false),
        )?;
        let method = self.method.clone().unwrap_or_else(|| self.op.method().to_string());
        let mut req = Req::new(&method, url);
        if let Some(p) = &pat {
            req = req.bearer(p);
        }
        if matches!(self.op, ResourceOp::Create | ResourceOp::Update) {
            req.body = Some(if let Some(raw) = &self.raw_body {
                Body::Raw(raw.clone(), "application/json".into())
            } else if let Some(b) = tv(&self.body) {
                Body::Json(ctx.subst(b)?)
            } else {
                let scopes = match tv(&self.scopes) {
                    Some(v) => ctx.subst(v)?,
                    None => json!(["view"]),
                };
                let mut body = json!({"resource_scopes": scopes});
                if let Some(n) = &self.name {
                    body["name"] = Value::String(n.clone());
                }
                Body::Json(body)
            });
        }
        let resp = ctx.send(req).await?;
        let success = (200..300).contains(&resp.status);
        // F-AS-10 names the status of each operation; a delete may answer 200 or 204.
        let (ok, status, what) = match self.op {
            ResourceOp::Create => (success && resp.body("_id").is_some(), 201, "registering a resource"),
            ResourceOp::Read => (success, 200, "reading a resource"),
            ResourceOp::Update => (success, 200, "updating a resource"),
            ResourceOp::Delete if resp.status == 204 => (success, 204, "deleting a resource"),
            ResourceOp::Delete => (success, 200, "deleting a resource"),
            ResourceOp::List => (success, 200, "listing resources"),
        };
        let exact = Exact {
            requirement: "F-AS-10",
            status,
        };
        ctx.setup_success(explicit, ok, exact, what, &resp)?;
        if self.op == ResourceOp::Create
            && let Some(id) = resp.body_str("_id")
        {
            let name = self.save_as.clone().unwrap_or_else(|| "resource".into());
            ctx.vars.insert(name, Value::String(id.to_string()));
        }
        Ok(resp)
    }
}
