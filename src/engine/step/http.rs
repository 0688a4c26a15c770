//! `http`: the escape hatch.

use serde_json::Value;

use super::{Run, ScenarioCtx, StepError};
use crate::check::Response;
use crate::engine::http::{Body, Req};
use crate::suite::step::http::HttpStep;
use crate::template::to_text;

impl Run for HttpStep {
    async fn run(&self, ctx: &mut ScenarioCtx<'_>, _explicit: bool) -> Result<Response, StepError> {
        let mut url = ctx.text(&self.url.0)?;
        if let Some(rest) = url.strip_prefix('{')
            && let Some(end) = rest.find('}')
        {
            let name = &rest[..end];
            url = format!("{}{}", ctx.endpoint(name)?, &rest[end + 1..]);
        }
        let mut req = Req::new(&self.method.clone().unwrap_or_else(|| "GET".into()), url);
        for (k, v) in &self.headers {
            req = req.header(k, ctx.text(&v.0)?);
        }
        if let Some(b) = &self.bearer {
            req = req.bearer(&ctx.text(&b.0)?);
        }
        if let Some(c) = &self.basic {
            let a = ctx.actor(Some(c))?;
            req = req.basic(
                a.client_id.as_str(),
                a.secret.as_ref().map(|s| s.secret()).unwrap_or(""),
            );
        }
        if let Some(f) = &self.form {
            let mut pairs = Vec::new();
            for (k, v) in f {
                pairs.push((k.clone(), ctx.text(&v.0)?));
            }
            req = req.form(pairs);
        } else if let Some(j) = &self.json {
            req = req.json(ctx.subst(&j.0)?);
        } else if let Some(b) = &self.body {
            let ct = self
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
                .map(|(_, v)| to_text(&v.0))
                .unwrap_or_else(|| "text/plain".into());
            req.headers.retain(|(k, _)| !k.eq_ignore_ascii_case("content-type"));
            req.body = Some(Body::Raw(ctx.text(&Value::String(b.clone()))?, ct));
        }
        ctx.send(req).await
    }
}
