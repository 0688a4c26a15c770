//! `discover`.

use super::{Run, ScenarioCtx, StepError, setup};
use crate::check::Response;
use crate::engine::http::Req;
use crate::suite::step::discover::{DiscoverStep, DiscoveryForm};

/// The discovery URL of an issuer in either form (digest P-07).
pub(crate) fn discovery_url(issuer: &str, form: DiscoveryForm) -> Result<String, StepError> {
    let issuer = issuer.trim_end_matches('/');
    Ok(match form {
        DiscoveryForm::Uma => format!("{issuer}/.well-known/uma2-configuration"),
        DiscoveryForm::Rfc8414 => {
            let u = url::Url::parse(issuer)
                .map_err(|e| StepError::unusable(format!("the issuer `{issuer}` is not a URL: {e}")))?;
            let path = u.path().trim_end_matches('/');
            let mut base = u.clone();
            base.set_path("");
            format!(
                "{}/.well-known/oauth-authorization-server{path}",
                base.as_str().trim_end_matches('/')
            )
        }
    })
}

impl Run for DiscoverStep {
    async fn run(&self, ctx: &mut ScenarioCtx<'_>, explicit: bool) -> Result<Response, StepError> {
        let url = discovery_url(ctx.env.authz.issuer(), self.form.unwrap_or_default())?;
        let resp = ctx.send(Req::new("GET", url)).await?;
        let ok = resp.status == 200 && resp.json.is_some();
        setup(explicit, ok, "reading the discovery document", &resp)?;
        Ok(resp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_discovery_forms_differ_for_an_issuer_with_a_path() {
        let i = "https://as.example/realms/demo";
        assert_eq!(
            discovery_url(i, DiscoveryForm::Uma).unwrap(),
            "https://as.example/realms/demo/.well-known/uma2-configuration"
        );
        assert_eq!(
            discovery_url(i, DiscoveryForm::Rfc8414).unwrap(),
            "https://as.example/.well-known/oauth-authorization-server/realms/demo"
        );
    }
}
