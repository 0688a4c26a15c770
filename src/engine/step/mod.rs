//! Step actions: one file each. A step builds its request(s) from its arguments and the
//! variables, sends them, applies its default set-up expectation when it has no `expect`, and
//! saves what it yields. The shared parts are here: endpoints, client actors, PATs, client
//! authentication, set-up expectations.

mod approve;
mod assert;
mod assess;
mod browse;
mod browser;
mod claims;
mod discover;
mod drivers;
mod hook;
mod http;
mod id_token;
mod introspect;
mod parallel;
mod pat;
mod peer;
mod permission;
mod plaintext;
mod policy;
mod register;
mod resource;
mod revoke;
mod rs_request;
mod token;
mod traffic;
mod wait;

use serde_json::Value;

use super::http::Req;
use super::{ScenarioCtx, StepError};
use crate::check::Response;
use crate::profile::ClientActor;
use crate::suite::{Action, ClientAuth, Step};
use crate::template::Tpl;

pub(crate) use browser::claims_page;

/// What every step action does when it runs.
pub(crate) trait Run {
    /// Runs the step. `explicit`: the step has an `expect` block, so the caller judges the
    /// response; without one, a response the step cannot use stops the scenario (`error`).
    async fn run(&self, ctx: &mut ScenarioCtx<'_>, explicit: bool) -> Result<Response, StepError>;
}

/// Executes one step and returns the response its expectations look at.
pub async fn execute(ctx: &mut ScenarioCtx<'_>, step: &Step) -> Result<Response, StepError> {
    let explicit = step.expect.is_some();
    match &step.action {
        Action::Discover(s) => s.run(ctx, explicit).await,
        Action::Pat(s) => s.run(ctx, explicit).await,
        Action::Register(s) => s.run(ctx, explicit).await,
        Action::Resource(s) => s.run(ctx, explicit).await,
        Action::Policy(s) => s.run(ctx, explicit).await,
        Action::Permission(s) => s.run(ctx, explicit).await,
        Action::Token(s) => s.run(ctx, explicit).await,
        Action::Introspect(s) => s.run(ctx, explicit).await,
        Action::Revoke(s) => s.run(ctx, explicit).await,
        Action::Claims(s) => s.run(ctx, explicit).await,
        Action::Approve(s) => s.run(ctx, explicit).await,
        Action::IdToken(s) => s.run(ctx, explicit).await,
        // An assessment runs other steps: its future is boxed to break the recursion.
        Action::Assess(s) => Box::pin(s.run(ctx, explicit)).await,
        Action::Wait(s) => s.run(ctx, explicit).await,
        Action::Http(s) => s.run(ctx, explicit).await,
        Action::Assert(s) => s.run(ctx, explicit).await,
        Action::Parallel(s) => s.run(ctx, explicit).await,
        Action::RsRequest(s) => s.run(ctx, explicit).await,
        Action::Browse(s) => s.run(ctx, explicit).await,
        Action::Traffic(s) => s.run(ctx, explicit).await,
        Action::Hook(s) => s.run(ctx, explicit).await,
        Action::Plaintext(s) => s.run(ctx, explicit).await,
    }
}

fn tv(t: &Option<Tpl>) -> Option<&Value> {
    t.as_ref().map(|t| &t.0)
}

/// Adds query parameters to a URL.
pub(crate) fn with_query(base: &str, params: &[(String, String)]) -> Result<String, StepError> {
    let mut u = url::Url::parse(base).map_err(|e| StepError::unusable(format!("`{base}` is not a URL: {e}")))?;
    {
        let mut q = u.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
    }
    Ok(u.to_string())
}

/// A set-up expectation: when the step has no explicit `expect`, a response it cannot use stops
/// the scenario with an `error` (could not test), never a spec failure.
fn setup(explicit: bool, ok: bool, what: &str, resp: &Response) -> Result<(), StepError> {
    if explicit || ok {
        return Ok(());
    }
    Err(StepError::Setup {
        what: what.to_string(),
        detail: format!("got {}", resp.status_line()),
    })
}

/// The exact status a set-up step's requirement names, when any success is usable.
struct Exact<'a> {
    /// The requirement that names the status.
    requirement: &'a str,
    /// The status it names.
    status: u16,
}

impl ScenarioCtx<'_> {
    /// A set-up expectation that accepts any usable success: a usable answer with another status
    /// than the one its requirement names is recorded once per run, as a check of that
    /// requirement, and the scenario goes on (one wrong status must not bury the run in errors).
    fn setup_success(
        &mut self,
        explicit: bool,
        usable: bool,
        exact: Exact<'_>,
        what: &str,
        resp: &Response,
    ) -> Result<(), StepError> {
        setup(explicit, usable, what, resp)?;
        if explicit || resp.status == exact.status {
            return Ok(());
        }
        let first = self
            .env
            .deviations
            .lock()
            .map(|mut d| d.insert(format!("{}:{what}", exact.requirement)))
            .unwrap_or(false);
        if first {
            self.record(
                &crate::catalogue::RequirementId::new(exact.requirement),
                format!(
                    "set-up: {what} answered with HTTP {} (recorded once per run)",
                    exact.status
                ),
                Some(false),
                format!("HTTP {}", exact.status),
                format!("HTTP {}", resp.status),
                resp.exchange,
            );
        }
        Ok(())
    }
}

impl ScenarioCtx<'_> {
    fn endpoint(&self, name: &str) -> Result<String, StepError> {
        self.env
            .endpoint(name)
            .ok_or_else(|| StepError::NoEndpoint(name.to_string()))
    }

    fn actor(&self, name: Option<&str>) -> Result<ClientActor, StepError> {
        let n = name.unwrap_or("client");
        self.clients.get(n).cloned().ok_or_else(|| {
            StepError::unusable(format!(
                "no client `{n}` (the target profile's clients, or a `register: {{as: {n}}}` step)"
            ))
        })
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
                Ok(Some(self.text(&Value::String("$pat".into()))?))
            }
        }
    }

    async fn obtain_pat(
        &mut self,
        rs: &str,
        save: &str,
        scope: Option<&str>,
        explicit: bool,
    ) -> Result<Response, StepError> {
        if let Some(s) = self.env.authz.static_pats.get(rs) {
            let s = s.secret().to_string();
            self.secret(&s);
            self.vars.insert(save.into(), Value::String(s));
            return Ok(Response::default());
        }
        let actor = self.actor(Some(rs))?;
        let scope = scope
            .map(str::to_string)
            .or_else(|| self.env.authz.profile.pat.scope.clone())
            .unwrap_or_else(|| crate::uma::grant::PROTECTION_SCOPE.into());
        let form = vec![
            ("grant_type".into(), "client_credentials".into()),
            ("scope".into(), scope),
        ];
        let req = self.authenticated(Req::new("POST", self.endpoint("token_endpoint")?), &actor, None, form);
        let resp = self.send(req).await?;
        let ok = resp.status == 200 && resp.body("access_token").is_some();
        setup(explicit, ok, "obtaining a PAT with client credentials", &resp)?;
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
        let id = actor.client_id.as_str();
        let req = match auth.unwrap_or(actor.auth) {
            ClientAuth::Basic => req.basic(id, &secret),
            ClientAuth::WrongSecret => req.basic(id, &format!("{secret}-wrong")),
            ClientAuth::Post => {
                form.push(("client_id".into(), id.to_string()));
                form.push(("client_secret".into(), secret));
                req
            }
            ClientAuth::None => {
                form.push(("client_id".into(), id.to_string()));
                req
            }
            ClientAuth::Both => {
                form.push(("client_id".into(), id.to_string()));
                form.push(("client_secret".into(), secret.clone()));
                req.basic(id, &secret)
            }
        };
        req.form(form)
    }
}
