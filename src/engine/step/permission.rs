//! `permission`: a permission request (FedAuthz §4), object or array form.

use serde_json::{Value, json};

use super::{Exact, Run, ScenarioCtx, StepError, tv};
use crate::check::Response;
use crate::engine::http::Req;
use crate::suite::step::permission::PermissionStep;

impl Run for PermissionStep {
    async fn run(&self, ctx: &mut ScenarioCtx<'_>, explicit: bool) -> Result<Response, StepError> {
        let pat = ctx.pat_value(&self.pat).await?;
        let body = if let Some(b) = tv(&self.body) {
            ctx.subst(b)?
        } else if let Some(items) = &self.permissions {
            let mut arr = Vec::new();
            for p in items {
                arr.push(json!({"resource_id": ctx.subst(&p.resource.0)?, "resource_scopes": ctx.subst(&p.scopes.0)?}));
            }
            Value::Array(arr)
        } else {
            let rid = match tv(&self.resource) {
                Some(r) => ctx.subst(r)?,
                None => ctx.subst(&json!("$resource"))?,
            };
            let scopes = match tv(&self.scopes) {
                Some(v) => ctx.subst(v)?,
                None => json!([]),
            };
            let one = json!({"resource_id": rid, "resource_scopes": scopes});
            if self.array.unwrap_or(false) { json!([one]) } else { one }
        };
        let mut req = Req::new("POST", ctx.endpoint("permission_endpoint")?).json(body);
        if let Some(p) = &pat {
            req = req.bearer(p);
        }
        let resp = ctx.send(req).await?;
        let ok = (200..300).contains(&resp.status) && resp.body("ticket").is_some();
        let exact = Exact {
            requirement: "F-AS-22",
            status: 201,
        };
        ctx.setup_success(explicit, ok, exact, "requesting a permission ticket", &resp)?;
        if ok || resp.status == 201 {
            let name = self.save_as.clone().unwrap_or_else(|| "ticket".into());
            ctx.save_str(&name, resp.body("ticket"));
        }
        Ok(resp)
    }
}
