//! Step actions: each builds its request(s) from the step and the variables, sends them, applies
//! the default set-up expectation when the step has no `expect`, and saves what it yields.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use super::http::{Body, Req, redirect_of};
use super::{Resp, ScenarioCtx, StepError};
use crate::suite::model::*;
use crate::target::ClientActor;

/// The UMA grant type.
pub const UMA_GRANT: &str = "urn:ietf:params:oauth:grant-type:uma-ticket";
/// The OIDC ID Token claim token format.
pub const ID_TOKEN_FORMAT: &str = "http://openid.net/specs/openid-connect-core-1_0.html#IDToken";
/// Redirect hops the form driver follows at most.
const MAX_HOPS: usize = 6;
/// The longest `wait`.
const MAX_WAIT: f64 = 30.0;

fn tv(t: &Option<Tpl>) -> Option<&Value> {
    t.as_ref().map(|t| &t.0)
}

impl ScenarioCtx<'_> {
    fn endpoint(&self, name: &str) -> Result<String, StepError> {
        self.env
            .endpoint(name)
            .ok_or_else(|| StepError(format!("the discovery document has no `{name}`")))
    }

    fn actor(&self, name: Option<&str>) -> Result<ClientActor, StepError> {
        let n = name.unwrap_or("client");
        self.clients.get(n).cloned().ok_or_else(|| {
            StepError(format!(
                "no client `{n}` (the target profile's clients, or a `register: {{as: {n}}}` step)"
            ))
        })
    }

    /// A setup expectation: when the step has no explicit `expect`, a failure stops the scenario
    /// with an `error` verdict (could not test), never a spec failure.
    fn setup(&mut self, explicit: bool, ok: bool, requirement: &str, what: &str, resp: &Resp) -> Result<(), StepError> {
        if explicit || ok {
            return Ok(());
        }
        let detail = format!(
            "{what}: got HTTP {}{}",
            resp.status,
            resp.body("error")
                .and_then(Value::as_str)
                .map(|e| format!(" error={e}"))
                .unwrap_or_default()
        );
        self.record_error(requirement, format!("set-up: {what}"), detail.clone());
        Err(StepError(format!("set-up failed: {detail}")))
    }

    fn save_str(&mut self, name: &str, v: Option<&Value>) {
        if let Some(Value::String(s)) = v {
            let s = s.clone();
            self.secret(&s);
            self.vars.insert(name.to_string(), Value::String(s));
        }
    }

    /// The PAT named by a step field, obtaining one for `rs` lazily. `None` = no credentials.
    async fn pat_value(&mut self, field: &Option<Tpl>) -> Result<Option<String>, StepError> {
        match field {
            Some(t) => {
                let s = self.text(&t.0)?;
                Ok(if s == "none" { None } else { Some(s) })
            }
            None => {
                if !self.vars.contains_key("pat") {
                    self.obtain_pat("rs", "pat", None, false).await?;
                }
                Ok(Some(self.text(&json!("$pat"))?))
            }
        }
    }

    async fn obtain_pat(
        &mut self,
        rs: &str,
        save: &str,
        scope: Option<&str>,
        explicit: bool,
    ) -> Result<Resp, StepError> {
        if let Some(s) = self.env.target.static_pats.get(rs) {
            let s = s.secret().to_string();
            self.secret(&s);
            self.vars.insert(save.into(), Value::String(s));
            return Ok(Resp::default());
        }
        let actor = self.actor(Some(rs))?;
        let scope = scope
            .map(str::to_string)
            .or_else(|| self.env.target.profile.pat.scope.clone())
            .unwrap_or_else(|| "uma_protection".into());
        let form = vec![
            ("grant_type".into(), "client_credentials".into()),
            ("scope".into(), scope),
        ];
        let req = self.authenticated(Req::new("POST", self.endpoint("token_endpoint")?), &actor, None, form);
        let resp = self.send(req).await?;
        let ok = resp.status == 200 && resp.body("access_token").is_some();
        self.setup(
            explicit,
            ok,
            "F-AS-02",
            "obtaining a PAT with client credentials",
            &resp,
        )?;
        if ok {
            self.save_str(save, resp.body("access_token"));
        }
        Ok(resp)
    }

    /// Adds client authentication to a form request.
    pub fn authenticated(
        &self,
        req: Req,
        actor: &ClientActor,
        auth: Option<ClientAuth>,
        mut form: Vec<(String, String)>,
    ) -> Req {
        let secret = actor
            .secret
            .as_ref()
            .map(|s| s.secret().to_string())
            .unwrap_or_default();
        let req = match auth.unwrap_or(actor.auth) {
            ClientAuth::Basic => req.basic(&actor.client_id, &secret),
            ClientAuth::WrongSecret => req.basic(&actor.client_id, &format!("{secret}-wrong")),
            ClientAuth::Post => {
                form.push(("client_id".into(), actor.client_id.clone()));
                form.push(("client_secret".into(), secret));
                req
            }
            ClientAuth::None => {
                form.push(("client_id".into(), actor.client_id.clone()));
                req
            }
            ClientAuth::Both => {
                form.push(("client_id".into(), actor.client_id.clone()));
                form.push(("client_secret".into(), secret.clone()));
                req.basic(&actor.client_id, &secret)
            }
        };
        req.form(form)
    }

    fn resource_url(&self, id: Option<&str>, trailing: bool) -> Result<String, StepError> {
        let base = self.endpoint("resource_registration_endpoint")?;
        Ok(match id {
            Some(id) => format!("{}/{}", base.trim_end_matches('/'), id),
            None if trailing && !base.ends_with('/') => format!("{base}/"),
            None => base,
        })
    }
}

/// Executes one step and returns the response its expectations look at.
pub async fn execute(ctx: &mut ScenarioCtx<'_>, step: &Step) -> Result<Resp, StepError> {
    let explicit = step.expect.is_some();
    if let Some(s) = &step.discover {
        return discover(ctx, s, explicit).await;
    }
    if let Some(s) = &step.pat {
        let rs = s.rs.clone().unwrap_or_else(|| "rs".into());
        let save = s.save_as.clone().unwrap_or_else(|| {
            if rs == "rs" {
                "pat".into()
            } else {
                format!("pat{}", rs.trim_start_matches("rs"))
            }
        });
        return ctx.obtain_pat(&rs, &save, s.scope.as_deref(), explicit).await;
    }
    if let Some(s) = &step.register {
        return register(ctx, s, explicit).await;
    }
    if let Some(s) = &step.resource {
        return resource(ctx, s, explicit).await;
    }
    if let Some(s) = &step.policy {
        return policy(ctx, s).await;
    }
    if let Some(s) = &step.permission {
        return permission(ctx, s, explicit).await;
    }
    if let Some(s) = &step.token {
        return token(ctx, s, explicit).await;
    }
    if let Some(s) = &step.introspect {
        return introspect(ctx, s, explicit).await;
    }
    if let Some(s) = &step.revoke {
        return revoke(ctx, s, explicit).await;
    }
    if let Some(s) = &step.claims {
        return claims(ctx, s, explicit).await;
    }
    if let Some(s) = &step.approve {
        let rid = ctx.text(&s.resource.0)?;
        let pat = ctx.pat_value(&None).await?.unwrap_or_default();
        crate::target::adapter::approve(ctx, &pat, &rid, &s.decision).await?;
        return Ok(Resp::default());
    }
    if let Some(s) = &step.id_token {
        return id_token(ctx, s);
    }
    if let Some(case) = &step.assess {
        let case = ctx.subst(&case.0)?;
        Box::pin(super::assess::run(ctx, &case)).await?;
        return Ok(Resp::default());
    }
    if let Some(s) = &step.wait {
        let secs = ctx
            .subst(&s.seconds.0)?
            .as_f64()
            .ok_or_else(|| StepError("`wait.seconds` must be a number".into()))?;
        if !(0.0..=MAX_WAIT).contains(&secs) {
            return Err(StepError(format!("`wait.seconds` must be between 0 and {MAX_WAIT}")));
        }
        tokio::time::sleep(Duration::from_secs_f64(secs)).await;
        return Ok(Resp::default());
    }
    if let Some(s) = &step.http {
        return http(ctx, s).await;
    }
    if let Some(s) = &step.parallel {
        return parallel(ctx, s).await;
    }
    if let Some(s) = &step.rs_request {
        return super::peer::rs_request(ctx, s).await;
    }
    if let Some(s) = &step.browse {
        return super::peer::browse(ctx, s).await;
    }
    if let Some(s) = &step.traffic {
        return super::peer::traffic(ctx, s).await;
    }
    if let Some(s) = &step.hook {
        return super::peer::hook(ctx, s);
    }
    if step.assert.is_some() {
        return Ok(Resp {
            json: Some(Value::Object(ctx.vars.clone().into_iter().collect())),
            ..Resp::default()
        });
    }
    Err(StepError("the step has no action".into()))
}

async fn discover(ctx: &mut ScenarioCtx<'_>, s: &DiscoverStep, explicit: bool) -> Result<Resp, StepError> {
    let issuer = ctx.env.target.issuer().trim_end_matches('/').to_string();
    let url = match s.form.as_deref() {
        None | Some("uma") => format!("{issuer}/.well-known/uma2-configuration"),
        Some("rfc8414") => {
            let u = url::Url::parse(&issuer).map_err(|e| StepError(e.to_string()))?;
            let path = u.path().trim_end_matches('/');
            let mut base = u.clone();
            base.set_path("");
            format!(
                "{}/.well-known/oauth-authorization-server{path}",
                base.as_str().trim_end_matches('/')
            )
        }
        Some(other) => return Err(StepError(format!("`discover.form: {other}`: use uma or rfc8414"))),
    };
    let resp = ctx.send(Req::new("GET", url)).await?;
    let ok = resp.status == 200 && resp.json.is_some();
    ctx.setup(explicit, ok, "G-AS-01", "reading the discovery document", &resp)?;
    Ok(resp)
}

async fn register(ctx: &mut ScenarioCtx<'_>, s: &RegisterStep, explicit: bool) -> Result<Resp, StepError> {
    let tag = super::random_token();
    let mut body = json!({
        "client_name": format!("uma-conformance {}", ctx.scenario.id),
        "redirect_uris": [format!("http://127.0.0.1:9/c/{tag}/callback")],
        "claims_redirect_uris": [format!("http://127.0.0.1:9/c/{tag}/claims")],
        "grant_types": [UMA_GRANT, "refresh_token"],
        "token_endpoint_auth_method": "client_secret_basic",
    });
    if let Some(m) = tv(&s.metadata) {
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
    let ok = resp.status == 201 && resp.body("client_id").is_some();
    ctx.setup(explicit, ok, "G-AS-06", "registering a client", &resp)?;
    if let Some(Value::String(id)) = resp.body("client_id") {
        let secret = resp
            .body("client_secret")
            .and_then(Value::as_str)
            .map(crate::target::Secret::new);
        if let Some(s) = &secret {
            let v = s.secret().to_string();
            ctx.secret(&v);
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
            client_id: id.clone(),
            secret,
            auth,
            scopes,
            claims_redirect_uris: list("claims_redirect_uris"),
            redirect_uris: list("redirect_uris"),
        };
        let name = s.save_as.clone().unwrap_or_else(|| "registered".into());
        ctx.vars.insert(
            name.clone(),
            json!({"client_id": actor.client_id, "scopes": actor.scopes,
                   "claims_redirect_uris": actor.claims_redirect_uris, "redirect_uris": actor.redirect_uris}),
        );
        ctx.clients.insert(name, actor);
    }
    Ok(resp)
}

async fn resource(ctx: &mut ScenarioCtx<'_>, s: &ResourceStep, explicit: bool) -> Result<Resp, StepError> {
    let pat = ctx.pat_value(&s.pat).await?;
    let id = match tv(&s.id) {
        Some(v) => Some(ctx.text(v)?),
        None => None,
    };
    if matches!(s.op, ResourceOp::Read | ResourceOp::Update | ResourceOp::Delete) && id.is_none() {
        return Err(StepError(
            format!("`resource: {{op: {:?}}}` needs `id`", s.op).to_lowercase(),
        ));
    }
    let url = ctx.resource_url(
        if matches!(s.op, ResourceOp::Create | ResourceOp::List) {
            None
        } else {
            id.as_deref()
        },
        s.trailing_slash.unwrap_or(false),
    )?;
    let method = s.method.clone().unwrap_or_else(|| {
        match s.op {
            ResourceOp::Create => "POST",
            ResourceOp::Read | ResourceOp::List => "GET",
            ResourceOp::Update => "PUT",
            ResourceOp::Delete => "DELETE",
        }
        .to_string()
    });
    let mut req = Req::new(&method, url);
    if let Some(p) = &pat {
        req = req.bearer(p);
    }
    if matches!(s.op, ResourceOp::Create | ResourceOp::Update) {
        req.body = Some(if let Some(raw) = &s.raw_body {
            Body::Raw(raw.clone(), "application/json".into())
        } else if let Some(b) = tv(&s.body) {
            Body::Json(ctx.subst(b)?)
        } else {
            let scopes = match tv(&s.scopes) {
                Some(v) => ctx.subst(v)?,
                None => json!(["view"]),
            };
            let mut body = json!({"resource_scopes": scopes});
            if let Some(n) = &s.name {
                body["name"] = Value::String(n.clone());
            }
            Body::Json(body)
        });
    }
    let resp = ctx.send(req).await?;
    let (ok, what) = match s.op {
        ResourceOp::Create => (
            resp.status == 201 && resp.body("_id").is_some(),
            "registering a resource",
        ),
        ResourceOp::Read => (resp.status == 200, "reading a resource"),
        ResourceOp::Update => (resp.status == 200, "updating a resource"),
        ResourceOp::Delete => (matches!(resp.status, 200 | 204), "deleting a resource"),
        ResourceOp::List => (resp.status == 200, "listing resources"),
    };
    ctx.setup(explicit, ok, "F-AS-10", what, &resp)?;
    if s.op == ResourceOp::Create
        && let Some(Value::String(id)) = resp.body("_id")
    {
        let name = s.save_as.clone().unwrap_or_else(|| "resource".into());
        ctx.vars.insert(name, Value::String(id.clone()));
    }
    Ok(resp)
}

async fn policy(ctx: &mut ScenarioCtx<'_>, s: &PolicyStep) -> Result<Resp, StepError> {
    let rid = ctx.text(&s.resource.0)?;
    let pat = ctx.pat_value(&None).await?.unwrap_or_default();
    crate::target::adapter::set_policy(ctx, &pat, &rid, s.all.as_deref(), &s.scopes).await
}

async fn permission(ctx: &mut ScenarioCtx<'_>, s: &PermissionStep, explicit: bool) -> Result<Resp, StepError> {
    let pat = ctx.pat_value(&s.pat).await?;
    let body = if let Some(b) = tv(&s.body) {
        ctx.subst(b)?
    } else if let Some(items) = &s.permissions {
        let mut arr = Vec::new();
        for p in items {
            arr.push(json!({"resource_id": ctx.subst(&p.resource.0)?, "resource_scopes": ctx.subst(&p.scopes.0)?}));
        }
        Value::Array(arr)
    } else {
        let rid = match tv(&s.resource) {
            Some(r) => ctx.subst(r)?,
            None => ctx.subst(&json!("$resource"))?,
        };
        let scopes = match tv(&s.scopes) {
            Some(v) => ctx.subst(v)?,
            None => json!([]),
        };
        let one = json!({"resource_id": rid, "resource_scopes": scopes});
        if s.array.unwrap_or(false) { json!([one]) } else { one }
    };
    let mut req = Req::new("POST", ctx.endpoint("permission_endpoint")?).json(body);
    if let Some(p) = &pat {
        req = req.bearer(p);
    }
    let resp = ctx.send(req).await?;
    let ok = resp.status == 201 && resp.body("ticket").is_some();
    ctx.setup(explicit, ok, "F-AS-22", "requesting a permission ticket", &resp)?;
    if resp.status == 201 {
        let name = s.save_as.clone().unwrap_or_else(|| "ticket".into());
        ctx.save_str(&name, resp.body("ticket"));
    }
    Ok(resp)
}

/// The token request a `token` step describes.
fn token_request(ctx: &ScenarioCtx<'_>, s: &TokenStep) -> Result<Req, StepError> {
    let actor = ctx.actor(s.client.as_deref())?;
    let grant = s.grant_type.clone().unwrap_or_else(|| UMA_GRANT.into());
    let mut form: Vec<(String, String)> = vec![("grant_type".into(), grant.clone())];
    let add =
        |ctx: &ScenarioCtx<'_>, k: &str, v: &Option<Tpl>, form: &mut Vec<(String, String)>| -> Result<(), StepError> {
            if let Some(t) = v {
                form.push((k.to_string(), ctx.text(&t.0)?));
            }
            Ok(())
        };
    if grant == UMA_GRANT && s.ticket.is_none() && !s.params.contains_key("ticket") {
        form.push(("ticket".into(), ctx.text(&json!("$ticket"))?));
    }
    add(ctx, "ticket", &s.ticket, &mut form)?;
    add(ctx, "scope", &s.scope, &mut form)?;
    add(ctx, "claim_token", &s.claim_token, &mut form)?;
    if s.claim_token.is_some() && s.claim_token_format.is_none() {
        form.push(("claim_token_format".into(), ID_TOKEN_FORMAT.into()));
    }
    add(ctx, "claim_token_format", &s.claim_token_format, &mut form)?;
    add(ctx, "pct", &s.pct, &mut form)?;
    add(ctx, "rpt", &s.rpt, &mut form)?;
    add(ctx, "refresh_token", &s.refresh_token, &mut form)?;
    add(ctx, "code_verifier", &s.code_verifier, &mut form)?;
    for (k, v) in &s.params {
        form.push((k.clone(), ctx.text(&v.0)?));
    }
    let mut req = ctx.authenticated(Req::new("POST", ctx.endpoint("token_endpoint")?), &actor, s.auth, form);
    if let Some(m) = &s.method {
        req.method = m.clone();
    }
    Ok(req)
}

async fn token(ctx: &mut ScenarioCtx<'_>, s: &TokenStep, explicit: bool) -> Result<Resp, StepError> {
    let req = token_request(ctx, s)?;
    let resp = ctx.send(req).await?;
    let ok = resp.status == 200 && resp.body("access_token").is_some();
    ctx.setup(explicit, ok, "G-AS-20", "obtaining a token", &resp)?;
    if resp.status == 200 {
        let name = s.save_as.clone().unwrap_or_else(|| "rpt".into());
        ctx.save_str(&name, resp.body("access_token"));
        ctx.save_str("refresh_token", resp.body("refresh_token"));
        ctx.save_str("pct", resp.body("pct"));
    } else if resp.body("ticket").is_some() {
        ctx.save_str("ticket", resp.body("ticket"));
    }
    Ok(resp)
}

/// `parallel`: the copies go out at once; the expectations see a summary of the answers.
async fn parallel(ctx: &mut ScenarioCtx<'_>, s: &ParallelStep) -> Result<Resp, StepError> {
    if !(2..=crate::suite::MAX_PARALLEL).contains(&s.count) {
        return Err(StepError(format!(
            "`parallel.count` must be between 2 and {}",
            crate::suite::MAX_PARALLEL
        )));
    }
    let req = token_request(ctx, &s.token)?;
    let resps = ctx.send_all(vec![req; usize::from(s.count)]).await?;
    let errors: Vec<Value> = resps
        .iter()
        .map(|r| r.body("error").cloned().unwrap_or(Value::Null))
        .collect();
    let succeeded = resps
        .iter()
        .filter(|r| r.status == 200 && r.body("access_token").is_some())
        .count();
    let not_invalid_grant = resps
        .iter()
        .filter(|r| !(r.status == 400 && r.body("error") == Some(&json!("invalid_grant"))))
        .count();
    let summary = json!({
        "count": resps.len(),
        "statuses": resps.iter().map(|r| r.status).collect::<Vec<_>>(),
        "errors": errors,
        "succeeded": succeeded,
        "not_invalid_grant": not_invalid_grant,
    });
    Ok(Resp {
        text: summary.to_string(),
        json: Some(summary),
        ..Resp::default()
    })
}

async fn introspect(ctx: &mut ScenarioCtx<'_>, s: &IntrospectStep, explicit: bool) -> Result<Resp, StepError> {
    let pat = ctx.pat_value(&s.pat).await?;
    let mut form = vec![("token".to_string(), ctx.text(&s.token.0)?)];
    if let Some(h) = &s.hint {
        form.push(("token_type_hint".into(), h.clone()));
    }
    let mut req = Req::new("POST", ctx.endpoint("introspection_endpoint")?).form(form);
    if let Some(p) = &pat {
        req = req.bearer(p);
    }
    let resp = ctx.send(req).await?;
    let ok = resp.status == 200 && resp.body("active").is_some();
    ctx.setup(explicit, ok, "F-AS-30", "introspecting a token", &resp)?;
    Ok(resp)
}

async fn revoke(ctx: &mut ScenarioCtx<'_>, s: &RevokeStep, explicit: bool) -> Result<Resp, StepError> {
    let actor = ctx.actor(s.client.as_deref())?;
    let mut form = vec![("token".to_string(), ctx.text(&s.token.0)?)];
    if let Some(h) = &s.hint {
        form.push(("token_type_hint".into(), h.clone()));
    }
    let req = ctx.authenticated(
        Req::new("POST", ctx.endpoint("revocation_endpoint")?),
        &actor,
        s.auth,
        form,
    );
    let resp = ctx.send(req).await?;
    ctx.setup(explicit, resp.status == 200, "G-AS-62", "revoking a token", &resp)?;
    Ok(resp)
}

fn id_token(ctx: &mut ScenarioCtx<'_>, s: &IdTokenStep) -> Result<Resp, StepError> {
    let email = match tv(&s.email) {
        Some(v) => match ctx.subst(v)? {
            Value::Null => None,
            other => Some(super::vars::to_text(&other)),
        },
        None => Some(ctx.rqp.email.clone()),
    };
    let sub = match tv(&s.sub) {
        Some(v) => ctx.text(v)?,
        None => ctx.rqp.sub.clone(),
    };
    let aud = match tv(&s.aud) {
        Some(v) => match ctx.subst(v)? {
            Value::Array(a) => a.iter().map(super::vars::to_text).collect(),
            other => vec![super::vars::to_text(&other)],
        },
        None => vec![ctx.env.target.issuer().to_string()],
    };
    let req = crate::uma::idp::IdTokenRequest {
        sub,
        aud,
        email,
        expires_in: s.expires_in.unwrap_or(300),
        issuer: s.issuer.clone(),
        extra: serde_json::Map::new(),
    };
    let token = if s.forged.unwrap_or(false) {
        ctx.env.idp.mint_forged(&req)
    } else {
        ctx.env.idp.mint(&req)
    }
    .map_err(|e| StepError(format!("cannot mint an ID token: {e}")))?;
    ctx.secret(&token);
    let name = s.save_as.clone().unwrap_or_else(|| "id_token".into());
    ctx.vars.insert(name, Value::String(token));
    Ok(Resp::default())
}

pub(crate) fn with_query(base: &str, params: &[(String, String)]) -> Result<String, StepError> {
    let mut u = url::Url::parse(base).map_err(|e| StepError(format!("`{base}` is not a URL: {e}")))?;
    {
        let mut q = u.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
    }
    Ok(u.to_string())
}

fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// Follows redirects within the AS (at most [`MAX_HOPS`]) until one points back at the client.
async fn follow(
    ctx: &mut ScenarioCtx<'_>,
    resp: Resp,
    url: String,
    arrived: &(dyn Fn(&str) -> bool + Sync),
) -> Result<(Resp, String), StepError> {
    let http = ctx.http.clone();
    follow_via(ctx, &http, resp, url, arrived).await
}

/// [`follow`] with a given browser.
async fn follow_via(
    ctx: &mut ScenarioCtx<'_>,
    http: &reqwest::Client,
    mut resp: Resp,
    mut url: String,
    arrived: &(dyn Fn(&str) -> bool + Sync),
) -> Result<(Resp, String), StepError> {
    for _ in 0..MAX_HOPS {
        if !is_redirect(resp.status) {
            break;
        }
        let Some(loc) = resp.header("location").map(str::to_string) else {
            break;
        };
        if arrived(&loc) {
            break;
        }
        url = url::Url::parse(&url)
            .and_then(|b| b.join(&loc))
            .map(|u| u.to_string())
            .unwrap_or(loc);
        resp = ctx.send_via(http, Req::new("GET", url.clone())).await?;
    }
    Ok((resp, url))
}

/// How to fill the claims form.
#[derive(Default)]
struct FormFill<'a> {
    fill: BTreeMap<String, String>,
    csrf_token: Option<String>,
    drop_cookies: bool,
    button: Option<&'a str>,
}

/// Fills and submits the claims form on `resp` (the page at `url`) as the requesting party, then
/// follows redirects until `arrived`. `Ok(None)` when the page has no form.
async fn submit_claims_form(
    ctx: &mut ScenarioCtx<'_>,
    http: &reqwest::Client,
    resp: &Resp,
    url: &str,
    how: FormFill<'_>,
    arrived: &(dyn Fn(&str) -> bool + Sync),
) -> Result<Option<(Resp, String)>, StepError> {
    let forms = crate::uma::forms::parse_forms(&resp.text);
    let Some(form) = forms.iter().find(|f| f.method == "POST").or(forms.first()).cloned() else {
        return Ok(None);
    };
    let mut values = BTreeMap::new();
    if let Some(driver) = &ctx.env.target.profile.claims {
        for (k, v) in &driver.fill {
            values.insert(
                k.clone(),
                v.replace("{email}", &ctx.rqp.email).replace("{sub}", &ctx.rqp.sub),
            );
        }
    } else {
        values.insert("email".into(), ctx.rqp.email.clone());
    }
    values.extend(how.fill);
    if let Some(t) = how.csrf_token {
        values.insert("csrf_token".into(), t);
    }
    if how.drop_cookies
        && let Ok(mut jar) = ctx.jar.lock()
    {
        jar.clear();
    }
    let button = how
        .button
        .map(str::to_string)
        .or_else(|| ctx.env.target.profile.claims.as_ref().and_then(|d| d.submit.clone()))
        .unwrap_or_else(|| "submit".into());
    let body = form.fill(&values, Some(&button));
    let action = form.action.clone().unwrap_or_else(|| url.to_string());
    let action = url::Url::parse(url)
        .and_then(|b| b.join(&action))
        .map(|u| u.to_string())
        .unwrap_or(action);
    let resp = if form.method == "GET" {
        ctx.send_via(http, Req::new("GET", with_query(&action, &body)?)).await?
    } else {
        ctx.send_via(http, Req::new("POST", action.clone()).form(body)).await?
    };
    Ok(Some(follow_via(ctx, http, resp, action, arrived).await?))
}

/// The requesting party's browser at the AS's claims interaction endpoint: opens `url`, follows
/// redirects within the AS, fills and submits the claims form, and stops at the redirect that
/// leaves the AS (`arrived`). Returns that response and the URL it answered.
pub(crate) async fn claims_page(
    ctx: &mut ScenarioCtx<'_>,
    http: &reqwest::Client,
    url: String,
    button: Option<&str>,
    arrived: &(dyn Fn(&str) -> bool + Sync),
) -> Result<(Resp, String), StepError> {
    let resp = ctx.send_via(http, Req::new("GET", url.clone())).await?;
    let (resp, url) = follow_via(ctx, http, resp, url, arrived).await?;
    if resp.status != 200 {
        return Ok((resp, url));
    }
    let how = FormFill {
        button,
        ..FormFill::default()
    };
    Ok(submit_claims_form(ctx, http, &resp, &url, how, arrived)
        .await?
        .unwrap_or((resp, url)))
}

async fn claims(ctx: &mut ScenarioCtx<'_>, s: &ClaimsStep, explicit: bool) -> Result<Resp, StepError> {
    let actor = ctx.actor(s.client.as_deref())?;
    let endpoint = match tv(&s.endpoint) {
        Some(v) => ctx.text(v)?,
        None => ctx.endpoint("claims_interaction_endpoint")?,
    };
    let mut params: Vec<(String, String)> = Vec::new();
    let opt = |ctx: &ScenarioCtx<'_>, v: &Option<Tpl>, default: Option<String>| -> Result<Option<String>, StepError> {
        match v {
            Some(t) => {
                let s = ctx.text(&t.0)?;
                Ok(if s == "none" { None } else { Some(s) })
            }
            None => Ok(default),
        }
    };
    if let Some(id) = opt(ctx, &s.client_id, Some(actor.client_id.clone()))? {
        params.push(("client_id".into(), id));
    }
    params.push(("ticket".into(), ctx.text(&s.ticket.0)?));
    let redirect_uri = opt(ctx, &s.redirect_uri, actor.claims_redirect_uris.first().cloned())?;
    if let Some(r) = &redirect_uri {
        params.push(("claims_redirect_uri".into(), r.clone()));
    }
    let state = opt(ctx, &s.state, Some(super::random_token()))?;
    if let Some(st) = &state {
        params.push(("state".into(), st.clone()));
        ctx.vars.insert("state".into(), Value::String(st.clone()));
    }
    let pkce = s
        .pkce
        .clone()
        .unwrap_or(if ctx.env.capabilities.contains("profile:icg-pkce") {
            PkceMode::S256
        } else {
            PkceMode::None
        });
    match pkce {
        PkceMode::None => {}
        PkceMode::S256 | PkceMode::Plain => {
            let verifier = match &s.code_verifier {
                Some(v) => ctx.text(&v.0)?,
                None => crate::uma::pkce::generate_verifier(),
            };
            let (challenge, method) = match pkce {
                PkceMode::S256 => (crate::uma::pkce::s256_challenge(&verifier), "S256"),
                _ => (verifier.clone(), "plain"),
            };
            params.push(("code_challenge".into(), challenge));
            params.push(("code_challenge_method".into(), method.into()));
            ctx.secret(&verifier);
            ctx.vars.insert("code_verifier".into(), Value::String(verifier));
        }
    }
    let back = redirect_uri
        .clone()
        .or_else(|| actor.claims_redirect_uris.first().cloned())
        .unwrap_or_default();
    // Arrived back: the Location is the claims redirection URI, whatever query or fragment the
    // target put on it (a fragment, rightly or wrongly placed, must not hide the arrival).
    let back_base = back.split(['?', '#']).next().unwrap_or(&back).to_string();
    let arrived = |loc: &str| !back_base.is_empty() && loc.starts_with(&back_base);
    let mut url = with_query(&endpoint, &params)?;
    let mut resp = ctx.send(Req::new("GET", url.clone())).await?;
    if !s.first_only.unwrap_or(false) {
        (resp, url) = follow(ctx, resp, url, &arrived).await?;
    }
    if resp.status == 200 && !s.first_only.unwrap_or(false) {
        let mut fill = BTreeMap::new();
        for (k, v) in &s.fill {
            fill.insert(k.clone(), ctx.text(&v.0)?);
        }
        let how = FormFill {
            fill,
            csrf_token: match &s.csrf_token {
                Some(t) => Some(ctx.text(&t.0)?),
                None => None,
            },
            drop_cookies: s.drop_cookies.unwrap_or(false),
            button: s.button.as_deref(),
        };
        let http = ctx.http.clone();
        match submit_claims_form(ctx, &http, &resp, &url, how, &arrived).await? {
            Some((r, _)) => resp = r,
            None => {
                ctx.setup(explicit, false, "G-AS-46", "finding the claims form", &resp)?;
                return Ok(resp);
            }
        }
    }
    let back_redirect = resp
        .header("location")
        .filter(|l| arrived(l) && is_redirect(resp.status))
        .map(redirect_of);
    resp.redirect = back_redirect;
    let ok = resp.redirect.as_ref().is_some_and(|r| r.params.contains_key("ticket"));
    ctx.setup(explicit, ok, "G-AS-46", "gathering claims interactively", &resp)?;
    if let Some(r) = &resp.redirect {
        if let Some(t) = r.params.get("ticket") {
            let t = t.clone();
            ctx.secret(&t);
            ctx.vars.insert("ticket".into(), Value::String(t));
        }
        let v = resp.as_value();
        ctx.vars.insert("redirect".into(), v["redirect"].clone());
    }
    Ok(resp)
}

async fn http(ctx: &mut ScenarioCtx<'_>, s: &HttpStep) -> Result<Resp, StepError> {
    let mut url = ctx.text(&s.url.0)?;
    if let Some(rest) = url.strip_prefix('{')
        && let Some(end) = rest.find('}')
    {
        let name = &rest[..end];
        url = format!("{}{}", ctx.endpoint(name)?, &rest[end + 1..]);
    }
    let mut req = Req::new(&s.method.clone().unwrap_or_else(|| "GET".into()), url);
    for (k, v) in &s.headers {
        req = req.header(k, ctx.text(&v.0)?);
    }
    if let Some(b) = &s.bearer {
        req = req.bearer(&ctx.text(&b.0)?);
    }
    if let Some(c) = &s.basic {
        let a = ctx.actor(Some(c))?;
        req = req.basic(&a.client_id, a.secret.as_ref().map(|s| s.secret()).unwrap_or(""));
    }
    if let Some(f) = &s.form {
        let mut pairs = Vec::new();
        for (k, v) in f {
            pairs.push((k.clone(), ctx.text(&v.0)?));
        }
        req = req.form(pairs);
    } else if let Some(j) = &s.json {
        req = req.json(ctx.subst(&j.0)?);
    } else if let Some(b) = &s.body {
        let ct = s
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| super::vars::to_text(&v.0))
            .unwrap_or_else(|| "text/plain".into());
        req.headers.retain(|(k, _)| !k.eq_ignore_ascii_case("content-type"));
        req.body = Some(Body::Raw(ctx.text(&Value::String(b.clone()))?, ct));
    }
    ctx.send(req).await
}
