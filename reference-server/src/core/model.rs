//! Records the AS keeps: clients, resources, tickets, tokens, approvals, interactions.

use serde::{Deserialize, Serialize};

use crate::core::policy::ResourcePolicy;

/// One permission: a resource and the scopes bound to it (FedAuthz §1.5.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permission {
    /// The resource's `_id`.
    pub resource_id: String,
    /// Scopes, in a stable (sorted) order, without duplicates.
    pub resource_scopes: Vec<String>,
}

/// How a client authenticates at the token endpoint (RFC 7591 §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// HTTP Basic.
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
    /// A public client.
    None,
}

impl AuthMethod {
    /// The RFC 7591 name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::None => "none",
        }
    }
}

/// A registered client.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClientRecord {
    /// `client_id`.
    pub client_id: String,
    /// SHA-256 of the secret; `None` for public clients.
    pub secret_hash: Option<String>,
    /// Registered authentication method.
    pub auth_method: AuthMethod,
    /// RFC 6749 redirect URIs.
    pub redirect_uris: Vec<String>,
    /// UMA claims redirection URIs.
    pub claims_redirect_uris: Vec<String>,
    /// RegisteredScopes (set A).
    pub scopes: Vec<String>,
    /// Grant types the client may use; empty means all.
    pub grant_types: Vec<String>,
    /// The organisational resource owner a `client_credentials` PAT stands for.
    pub owner: Option<String>,
    /// Display name.
    pub client_name: Option<String>,
    /// Whether it came from the configuration file.
    pub is_static: bool,
    /// When it was registered (seconds since the epoch).
    pub issued_at: i64,
}

/// A registered resource.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ResourceRecord {
    /// `_id`.
    pub id: String,
    /// The resource owner (the PAT's owner at registration).
    pub owner: String,
    /// The resource server client that registered it.
    pub rs_client: String,
    /// The resource description as registered (FedAuthz §3.1), without `_id`.
    pub description: serde_json::Map<String, serde_json::Value>,
}

impl ResourceRecord {
    /// The registered `resource_scopes` (set D).
    pub fn scopes(&self) -> Vec<String> {
        self.description
            .get("resource_scopes")
            .and_then(|v| v.as_array())
            .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    }
}

/// One claim about the requesting party, with where it came from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Claim {
    /// Claim name, e.g. `email`.
    pub name: String,
    /// Claim value.
    pub value: serde_json::Value,
    /// Who asserted it: a trusted token issuer, or the AS itself for interactively gathered
    /// claims.
    pub issuer: String,
}

/// What a permission ticket stands for.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TicketData {
    /// The authorization process the ticket belongs to; rotation keeps it.
    pub process_id: String,
    /// The resource owner.
    pub owner: String,
    /// The resource server that requested the permissions.
    pub rs_client: String,
    /// The requested permissions (C(r) for each r).
    pub permissions: Vec<Permission>,
    /// The client the ticket is bound to, once one presented it.
    pub client_id: Option<String>,
    /// Claims gathered so far in this process.
    pub claims: Vec<Claim>,
    /// A PKCE S256 challenge bound by the claims interaction endpoint (profile §10.1).
    pub code_challenge: Option<String>,
    /// The pending owner-approval request for this process, if any.
    pub approval_id: Option<String>,
    /// Whether the requesting party agreed, on the claims form, to have the claims gathered
    /// interactively remembered in a PCT (variant `pct-after-consent`, UMA Grant §3.3.3).
    #[serde(default)]
    pub persist_claims: bool,
}

/// The kinds of token the AS issues.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// A protection API access token.
    Pat,
    /// A requesting party token.
    Rpt,
    /// A refresh token (for a PAT or an RPT).
    Refresh,
    /// A persisted claims token.
    Pct,
    /// An authorization code (PAT by authorization code).
    Code,
}

impl TokenKind {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Pat => "pat",
            TokenKind::Rpt => "rpt",
            TokenKind::Refresh => "refresh",
            TokenKind::Pct => "pct",
            TokenKind::Code => "code",
        }
    }
}

/// A token the AS issued. Which fields are set depends on the kind; the stored JSON leaves out
/// the empty ones (they read back as their defaults).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Kind.
    pub kind: TokenKind,
    /// The client it was issued to.
    pub client_id: String,
    /// The grant it belongs to: revoking a refresh token revokes the grant's access tokens.
    pub grant_id: String,
    /// The resource owner (PAT, RPT, refresh, code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// OAuth scopes (PAT and its refresh token).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// Granted permissions (RPT and its refresh token).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<Permission>,
    /// Claims held by reference (PCT).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claims: Vec<Claim>,
    /// For a refresh token: what it refreshes (`pat` or `rpt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refreshes: Option<TokenKind>,
    /// For a code: the redirect URI and PKCE challenge of the authorization request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// For a code: the S256 challenge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge: Option<String>,
    /// Issued at (seconds since the epoch).
    pub issued_at: i64,
    /// Expires at (seconds since the epoch).
    pub expires_at: i64,
    /// Whether it was revoked.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub revoked: bool,
}

/// Status of an owner-approval request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalStatus {
    /// Waiting for the owner.
    Pending,
    /// The owner approved.
    Approved,
    /// The owner denied.
    Denied,
}

impl ApprovalStatus {
    /// The name stored in the database and shown in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalStatus::Pending => "pending",
            ApprovalStatus::Approved => "approved",
            ApprovalStatus::Denied => "denied",
        }
    }
}

/// A request for the resource owner's approval (the `request_submitted` path).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ApprovalRecord {
    /// Its id, used by the approval API.
    pub id: String,
    /// The owner who decides.
    pub owner: String,
    /// The client asking.
    pub client_id: String,
    /// The permissions that need approval.
    pub permissions: Vec<Permission>,
    /// Claims the requesting party presented, for the owner to see.
    pub claims: Vec<Claim>,
    /// Current status.
    pub status: ApprovalStatus,
    /// When it was created.
    pub created_at: i64,
}

/// An interactive claims-gathering session between the GET of the form and its POST.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClaimsInteraction {
    /// The ticket presented (already consumed).
    pub ticket: TicketData,
    /// The presented ticket's value, kept only under the `redirect-reuses-ticket` quirk.
    #[serde(default)]
    pub quirk_ticket_value: Option<String>,
    /// The client.
    pub client_id: String,
    /// Where to send the requesting party back.
    pub claims_redirect_uri: String,
    /// The client's `state`, if it sent one.
    pub state: Option<String>,
    /// The PKCE challenge, if one was sent.
    pub code_challenge: Option<String>,
    /// A `plain` challenge as sent, kept only under the `plain-method-accepted` quirk.
    #[serde(default)]
    pub quirk_plain_challenge: Option<String>,
    /// SHA-256 of the cookie bound to this browser.
    pub cookie_hash: String,
    /// SHA-256 of the CSRF token embedded in the form.
    pub csrf_hash: String,
    /// Expiry.
    pub expires_at: i64,
}

/// A login for a PAT by authorization code, between the GET of the form and its POST.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoginInteraction {
    /// The client.
    pub client_id: String,
    /// The redirect URI.
    pub redirect_uri: String,
    /// Whether the client sent `redirect_uri` (then the token request must repeat it).
    pub redirect_uri_sent: bool,
    /// Requested scopes.
    pub scopes: Vec<String>,
    /// The client's `state`.
    pub state: Option<String>,
    /// The S256 challenge.
    pub code_challenge: String,
    /// SHA-256 of the cookie bound to this browser.
    pub cookie_hash: String,
    /// SHA-256 of the CSRF token embedded in the form.
    pub csrf_hash: String,
    /// Expiry.
    pub expires_at: i64,
}

/// A resource policy row.
pub type PolicyRecord = ResourcePolicy;
