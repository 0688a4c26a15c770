//! `claims`: one pass through the claims interaction endpoint with the profile's claims driver
//! (form, browser or manual; UMA Grant §3.3.2–3.3.3).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::StepArgs;
use crate::template::Tpl;

/// PKCE on the claims interaction request (the ICG+PKCE profile, digest §10.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PkceMode {
    /// No PKCE parameters.
    None,
    /// A fresh verifier, `code_challenge_method=S256` (saved as `code_verifier`).
    S256,
    /// `code_challenge_method=plain`.
    Plain,
}

/// `claims`. The redirect back's parameters are saved as `redirect` (and its ticket as
/// `ticket`); the `state` and `code_verifier` sent are saved under those names.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimsStep {
    /// The ticket to present.
    pub ticket: Tpl,
    /// The client actor (default `client`).
    #[serde(default)]
    pub client: Option<String>,
    /// The endpoint to start from (default: `claims_interaction_endpoint`; e.g. `$redirect_user`).
    #[serde(default)]
    pub endpoint: Option<Tpl>,
    /// `claims_redirect_uri` (default: the actor's first registered one); `none` omits it.
    #[serde(default)]
    pub redirect_uri: Option<Tpl>,
    /// `state` (default: a fresh random value, saved as `state`); `none` omits it.
    #[serde(default)]
    pub state: Option<Tpl>,
    /// `client_id` to send instead of the actor's; `none` omits it.
    #[serde(default)]
    pub client_id: Option<Tpl>,
    /// PKCE (default `s256` when the target claims the ICG+PKCE profile, else `none`).
    #[serde(default)]
    pub pkce: Option<PkceMode>,
    /// The PKCE code_verifier to derive the challenge from, instead of a fresh random one (to
    /// test how the target treats verifiers of the wrong length or alphabet); saved as
    /// `code_verifier` either way.
    #[serde(default)]
    pub code_verifier: Option<Tpl>,
    /// Form values to fill in (e.g. `email`). Default: the requesting party's email.
    #[serde(default)]
    pub fill: BTreeMap<String, Tpl>,
    /// Which submit button to press (default `submit`; `cancel` refuses).
    #[serde(default)]
    pub button: Option<String>,
    /// Stop after the first response (do not fill the form).
    #[serde(default)]
    pub first_only: Option<bool>,
    /// Drop the cookies set by the endpoint before submitting (CSRF checks).
    #[serde(default)]
    pub drop_cookies: Option<bool>,
    /// Submit this CSRF token value instead of the one in the form.
    #[serde(default)]
    pub csrf_token: Option<Tpl>,
}

impl StepArgs for ClaimsStep {
    fn defines(&self) -> Vec<String> {
        ["state", "code_verifier", "ticket", "redirect"]
            .into_iter()
            .map(String::from)
            .collect()
    }
}
