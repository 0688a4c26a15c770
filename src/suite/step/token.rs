//! `token`: call the token endpoint (by default with the UMA grant, UMA Grant §3.3.1).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::StepArgs;
use crate::suite::model::ClientAuth;
use crate::template::Tpl;

/// `token`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenStep {
    /// `grant_type` (default `urn:ietf:params:oauth:grant-type:uma-ticket`).
    #[serde(default)]
    pub grant_type: Option<String>,
    /// `ticket`.
    #[serde(default)]
    pub ticket: Option<Tpl>,
    /// The client actor (default `client`).
    #[serde(default)]
    pub client: Option<String>,
    /// Client authentication (default: the actor's method).
    #[serde(default)]
    pub auth: Option<ClientAuth>,
    /// `scope`: a string or a list of scopes.
    #[serde(default)]
    pub scope: Option<Tpl>,
    /// `claim_token` (with `claim_token_format` defaulting to the OIDC ID Token URI).
    #[serde(default)]
    pub claim_token: Option<Tpl>,
    /// `claim_token_format`.
    #[serde(default)]
    pub claim_token_format: Option<Tpl>,
    /// `pct`.
    #[serde(default)]
    pub pct: Option<Tpl>,
    /// `rpt`.
    #[serde(default)]
    pub rpt: Option<Tpl>,
    /// `refresh_token` (with `grant_type: refresh_token`).
    #[serde(default)]
    pub refresh_token: Option<Tpl>,
    /// `code_verifier` (PKCE profile).
    #[serde(default)]
    pub code_verifier: Option<Tpl>,
    /// Other form parameters, sent as given.
    #[serde(default)]
    pub params: BTreeMap<String, Tpl>,
    /// Send the request with this HTTP method instead of POST.
    #[serde(default)]
    pub method: Option<String>,
    /// Save `access_token` here (default `rpt`) when the response is 200; `refresh_token` and
    /// `pct` are saved too, and a new `ticket` from an error response.
    #[serde(default, rename = "as")]
    pub save_as: Option<String>,
}

impl StepArgs for TokenStep {
    fn defines(&self) -> Vec<String> {
        vec![
            self.save_as.clone().unwrap_or_else(|| "rpt".into()),
            "refresh_token".into(),
            "pct".into(),
            "ticket".into(),
        ]
    }

    fn uses(&self) -> Vec<String> {
        let uma_grant = self
            .grant_type
            .as_deref()
            .is_none_or(|g| g == crate::uma::grant::UMA_GRANT);
        if uma_grant && self.ticket.is_none() && !self.params.contains_key("ticket") {
            vec!["ticket".into()]
        } else {
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_uma_grant_without_a_ticket_uses_the_saved_one() {
        let t: TokenStep = serde_saphyr::from_str("{}").unwrap();
        assert_eq!(t.uses(), vec!["ticket"]);
        let t: TokenStep = serde_saphyr::from_str("{ grant_type: refresh_token, refresh_token: $rt }").unwrap();
        assert!(t.uses().is_empty());
        assert!(serde_saphyr::from_str::<TokenStep>("{ auth: sometimes }").is_err());
    }
}
