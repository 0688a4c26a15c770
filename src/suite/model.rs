//! The scenario file format: one scenario per YAML file under `suites/<role>/<area>/`.
//!
//! The JSON Schema in `fixtures/schemas/scenario.schema.json` is generated from these types
//! (`uma-conformance schemas --write`); a test checks that the committed copy is current.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A value that may contain variables: `$name` (the whole value, keeping its JSON type),
/// `$name.member[0]` (a path into a saved JSON value) or `${name}` inside a longer string.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Tpl(#[schemars(with = "Value")] pub Value);

/// One scenario file.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Identifier: the path below `suites/` without `.yaml`, e.g. `as/ticket/need-info-rotates`.
    pub id: String,
    /// One line saying what the scenario shows.
    pub title: String,
    /// Longer notes: why, which reading of the spec, which behaviours are accepted.
    #[serde(default)]
    pub description: Option<String>,
    /// Every requirement ID (from `fixtures/requirements.yaml`) this scenario's checks cite.
    pub requirements: Vec<String>,
    /// Capabilities the target must have; without them the scenario is skipped with the reason.
    #[serde(default)]
    pub needs: Vec<String>,
    /// Fragment files (relative to this file) whose steps run first, in order.
    #[serde(default)]
    pub include: Vec<String>,
    /// A table: the scenario runs once per row, with the row's members as variables
    /// (and the whole row as `$case`). Each row needs a unique `name`.
    #[serde(default)]
    pub cases: Vec<BTreeMap<String, Value>>,
    /// The steps, in order.
    pub steps: Vec<Located<Step>>,
}

/// A fragment included by scenarios: shared set-up steps.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FragmentFile {
    /// What the fragment sets up.
    pub title: String,
    /// Capabilities every scenario including it needs.
    #[serde(default)]
    pub needs: Vec<String>,
    /// The steps.
    pub steps: Vec<Located<Step>>,
}

/// A value with the line and column where it starts in its YAML file.
#[derive(Clone, Debug)]
pub struct Located<T> {
    /// The value.
    pub value: T,
    /// 1-based line.
    pub line: u64,
    /// 1-based column.
    pub column: u64,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Located<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = serde_saphyr::Spanned::<T>::deserialize(d)?;
        Ok(Self {
            value: s.value,
            line: s.referenced.line(),
            column: s.referenced.column(),
        })
    }
}

impl<T: JsonSchema> JsonSchema for Located<T> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

/// One step: exactly one action key (`token`, `permission`, ...) plus optional `expect`, `save`,
/// `if` and `name`.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// A short label shown in reports.
    #[serde(default)]
    pub name: Option<String>,
    /// Run the step only when this holds.
    #[serde(default, rename = "if")]
    pub when: Option<Condition>,
    /// Fetch the discovery document.
    #[serde(default)]
    pub discover: Option<DiscoverStep>,
    /// Obtain a protection API access token (PAT) for a resource server of the target profile.
    #[serde(default)]
    pub pat: Option<PatStep>,
    /// Register a client dynamically (RFC 7591).
    #[serde(default)]
    pub register: Option<RegisterStep>,
    /// Use the resource registration endpoint (FedAuthz §3).
    #[serde(default)]
    pub resource: Option<ResourceStep>,
    /// Establish an abstract policy through the target's policy adapter.
    #[serde(default)]
    pub policy: Option<PolicyStep>,
    /// Request a permission ticket (FedAuthz §4).
    #[serde(default)]
    pub permission: Option<PermissionStep>,
    /// Call the token endpoint (by default with the UMA grant).
    #[serde(default)]
    pub token: Option<TokenStep>,
    /// Introspect a token (FedAuthz §5, RFC 7662).
    #[serde(default)]
    pub introspect: Option<IntrospectStep>,
    /// Revoke a token (RFC 7009).
    #[serde(default)]
    pub revoke: Option<RevokeStep>,
    /// Interactive claims gathering through the configured driver (UMA Grant §3.3.2–3.3.3).
    #[serde(default)]
    pub claims: Option<ClaimsStep>,
    /// Decide a pending request as the resource owner, through the owner-approval adapter.
    #[serde(default)]
    pub approve: Option<ApproveStep>,
    /// Mint an ID token from the harness's test identity provider (for `claim_token`).
    #[serde(default)]
    pub id_token: Option<IdTokenStep>,
    /// Run the set-math assessment of a table row end to end (digest §4.3).
    #[serde(default)]
    pub assess: Option<Tpl>,
    /// Wait a bounded time (at most 30 s).
    #[serde(default)]
    pub wait: Option<WaitStep>,
    /// A raw HTTP request: the escape hatch.
    #[serde(default)]
    pub http: Option<HttpStep>,
    /// No request: run the expectations against saved variables (`vars` paths).
    #[serde(default)]
    pub assert: Option<AssertStep>,
    /// The same token request sent several times at once (races such as double redemption).
    #[serde(default)]
    pub parallel: Option<ParallelStep>,
    /// Send a request to the resource server under test (RS targets).
    #[serde(default)]
    pub rs_request: Option<RsRequestStep>,
    /// Act as the requesting party's browser at the client under test (client targets).
    #[serde(default)]
    pub browse: Option<BrowseStep>,
    /// Look at the requests the target made to the harness's counterparts.
    #[serde(default)]
    pub traffic: Option<TrafficStep>,
    /// Change how a counterpart answers, for the rest of the scenario.
    #[serde(default)]
    pub hook: Option<HookStep>,
    /// What the response must look like. Without it, a step has a default set-up expectation
    /// (e.g. 201 and `_id` for a resource creation) whose failure makes the scenario `error`.
    #[serde(default)]
    pub expect: Option<Expectations>,
    /// Variables to save: name → path (`body.ticket`, `header.location`, `status`,
    /// `redirect.ticket`, `vars.x`).
    #[serde(default)]
    pub save: BTreeMap<String, String>,
}

/// A condition on a variable.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// The variable name (without `$`).
    pub var: String,
    /// The variable must equal this value (which may be a `$variable`).
    #[serde(default)]
    pub is: Option<Value>,
    /// The variable must differ from this value (which may be a `$variable`).
    #[serde(default)]
    pub is_not: Option<Value>,
    /// The variable must be set (true) or unset (false).
    #[serde(default)]
    pub set: Option<bool>,
}

/// `discover`.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscoverStep {
    /// `uma` (default): `{issuer}/.well-known/uma2-configuration`; `rfc8414`:
    /// `/.well-known/oauth-authorization-server` inserted between host and path.
    #[serde(default)]
    pub form: Option<String>,
}

/// `pat`.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatStep {
    /// Which resource server of the profile: `rs` (default) or `rs2` (another resource owner).
    #[serde(default)]
    pub rs: Option<String>,
    /// Variable to save the PAT in (default `pat`, or `pat2` for `rs2`).
    #[serde(default, rename = "as")]
    pub save_as: Option<String>,
    /// Scope to request instead of `uma_protection` (for negative checks).
    #[serde(default)]
    pub scope: Option<String>,
}

/// `register`.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterStep {
    /// Client metadata (RFC 7591 §2). Variables allowed.
    #[serde(default)]
    pub metadata: Option<Tpl>,
    /// Name of the client actor to create from the response (usable as `client:` later).
    #[serde(default, rename = "as")]
    pub save_as: Option<String>,
}

/// `resource`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceStep {
    /// The operation.
    pub op: ResourceOp,
    /// `_id` of the resource (read, update, delete).
    #[serde(default)]
    pub id: Option<Tpl>,
    /// Shorthand for a description body `{"resource_scopes": [...], "name": ...}`.
    #[serde(default)]
    pub scopes: Option<Tpl>,
    /// A name for the shorthand body.
    #[serde(default)]
    pub name: Option<String>,
    /// The exact JSON body to send (overrides `scopes`).
    #[serde(default)]
    pub body: Option<Tpl>,
    /// The exact raw body to send (malformed-JSON checks).
    #[serde(default)]
    pub raw_body: Option<String>,
    /// The HTTP method to use instead of the operation's (for 405 checks).
    #[serde(default)]
    pub method: Option<String>,
    /// The PAT to use (default `$pat`); `none` sends no Authorization header.
    #[serde(default)]
    pub pat: Option<Tpl>,
    /// Add a trailing slash to the collection URL (create and list).
    #[serde(default)]
    pub trailing_slash: Option<bool>,
    /// Save the created `_id` in this variable (create).
    #[serde(default, rename = "as")]
    pub save_as: Option<String>,
}

/// Resource registration operations (FedAuthz §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ResourceOp {
    /// `POST rreguri/`.
    Create,
    /// `GET rreguri/{_id}`.
    Read,
    /// `PUT rreguri/{_id}`.
    Update,
    /// `DELETE rreguri/{_id}`.
    Delete,
    /// `GET rreguri/`.
    List,
}

/// `policy`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyStep {
    /// The resource `_id`.
    pub resource: Tpl,
    /// Policy for every scope (`open`, `deny`, `claim-email`, `owner-approval`).
    #[serde(default)]
    pub all: Option<String>,
    /// Policy per scope; scopes without one are never granted.
    #[serde(default)]
    pub scopes: BTreeMap<String, String>,
}

/// `permission`.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PermissionStep {
    /// One permission: the resource `_id` (object form of the request).
    #[serde(default)]
    pub resource: Option<Tpl>,
    /// Its scopes.
    #[serde(default)]
    pub scopes: Option<Tpl>,
    /// Several permissions (array form of the request): `[{resource, scopes}]`.
    #[serde(default)]
    pub permissions: Option<Vec<PermissionItem>>,
    /// Send the single permission as a one-element array.
    #[serde(default)]
    pub array: Option<bool>,
    /// The exact JSON body (overrides the rest).
    #[serde(default)]
    pub body: Option<Tpl>,
    /// The PAT (default `$pat`); `none` sends no Authorization header.
    #[serde(default)]
    pub pat: Option<Tpl>,
    /// Save the ticket in this variable (default `ticket`).
    #[serde(default, rename = "as")]
    pub save_as: Option<String>,
}

/// One permission of an array-form request.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PermissionItem {
    /// The resource `_id`.
    pub resource: Tpl,
    /// Its scopes.
    pub scopes: Tpl,
}

/// How the client authenticates at the token, revocation or introspection endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ClientAuth {
    /// HTTP Basic (`client_secret_basic`).
    Basic,
    /// Form body (`client_secret_post`).
    Post,
    /// `client_id` only.
    None,
    /// Basic and form body at once (RFC 6749 §2.3: must be refused).
    Both,
    /// Basic with a wrong secret.
    WrongSecret,
}

/// `token`.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
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
    /// Save `access_token` here (default `rpt` when the response is 200).
    #[serde(default, rename = "as")]
    pub save_as: Option<String>,
}

/// `parallel`: `count` copies of one token request, sent at the same moment. The expectations
/// look at a summary object: `count`, `statuses` (one per request, in sending order), `errors`
/// (each response's `error` or null), `succeeded` (how many got 200 with an `access_token`) and
/// `not_invalid_grant` (how many got anything but 400 `invalid_grant`). Every exchange is recorded.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParallelStep {
    /// How many copies, 2 to 8.
    pub count: u8,
    /// The token request (as in a `token` step; nothing is saved from it).
    pub token: TokenStep,
}

/// `introspect`.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IntrospectStep {
    /// The token to introspect.
    pub token: Tpl,
    /// `token_type_hint`.
    #[serde(default)]
    pub hint: Option<String>,
    /// The PAT to authenticate with (default `$pat`); `none` sends no credentials.
    #[serde(default)]
    pub pat: Option<Tpl>,
}

/// `revoke`.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeStep {
    /// The token to revoke.
    pub token: Tpl,
    /// `token_type_hint`.
    #[serde(default)]
    pub hint: Option<String>,
    /// The client actor (default `client`).
    #[serde(default)]
    pub client: Option<String>,
    /// Client authentication.
    #[serde(default)]
    pub auth: Option<ClientAuth>,
}

/// PKCE on the claims interaction request (the ICG+PKCE profile, digest §10.1).
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PkceMode {
    /// No PKCE parameters.
    None,
    /// A fresh verifier, `code_challenge_method=S256` (saved as `code_verifier`).
    S256,
    /// `code_challenge_method=plain`.
    Plain,
}

/// `claims`: one pass through the claims interaction endpoint with the form driver.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
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

/// `approve`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveStep {
    /// The resource whose pending request is decided.
    pub resource: Tpl,
    /// `approve` or `deny`.
    pub decision: String,
}

/// `id_token`.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IdTokenStep {
    /// `email` claim (default: the requesting party's email).
    #[serde(default)]
    pub email: Option<Tpl>,
    /// `sub` (default: the requesting party's subject).
    #[serde(default)]
    pub sub: Option<Tpl>,
    /// `aud` (default: the target's issuer).
    #[serde(default)]
    pub aud: Option<Tpl>,
    /// Lifetime in seconds from now (negative: already expired). Default 300.
    #[serde(default)]
    pub expires_in: Option<i64>,
    /// `iss` override (a wrong issuer).
    #[serde(default)]
    pub issuer: Option<String>,
    /// Sign with a key the target does not trust.
    #[serde(default)]
    pub forged: Option<bool>,
    /// Variable to save the token in (default `id_token`).
    #[serde(default, rename = "as")]
    pub save_as: Option<String>,
}

/// `wait`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaitStep {
    /// Seconds (a number or a variable holding one); at most 30.
    pub seconds: Tpl,
}

/// `http`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpStep {
    /// Method (default GET).
    #[serde(default)]
    pub method: Option<String>,
    /// Absolute URL, or a discovery member name in braces: `{token_endpoint}/x`.
    pub url: Tpl,
    /// Request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, Tpl>,
    /// A form body.
    #[serde(default)]
    pub form: Option<BTreeMap<String, Tpl>>,
    /// A JSON body.
    #[serde(default)]
    pub json: Option<Tpl>,
    /// A raw body (`$x` and `${x}` are substituted, as they are: not URL-encoded).
    #[serde(default)]
    pub body: Option<String>,
    /// `Authorization: Bearer` with this token.
    #[serde(default)]
    pub bearer: Option<Tpl>,
    /// HTTP Basic as this client actor.
    #[serde(default)]
    pub basic: Option<String>,
}

/// `assert`.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssertStep {}

/// One expectation block, or several.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Expectations {
    /// One block.
    One(Box<Expect>),
    /// Several blocks (each citing its own requirement).
    Many(Vec<Expect>),
}

impl Expectations {
    /// The blocks.
    pub fn blocks(&self) -> Vec<&Expect> {
        match self {
            Self::One(e) => vec![e.as_ref()],
            Self::Many(v) => v.iter().collect(),
        }
    }
}

/// What one response must look like; every assertion becomes one check citing `req`.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The requirement the assertions of this block check (default: the scenario's only one).
    #[serde(default)]
    pub req: Option<String>,
    /// The HTTP status: one code or a list of accepted codes.
    #[serde(default)]
    pub status: Option<Tpl>,
    /// The `error` member of a JSON body: one code or a list of accepted codes.
    #[serde(default)]
    pub error: Option<Tpl>,
    /// Response headers (case-insensitive names) → matcher.
    #[serde(default)]
    pub headers: BTreeMap<String, Matcher>,
    /// Paths into the JSON body (`ticket`, `permissions[0].resource_id`, `` for the root) → matcher.
    #[serde(default)]
    pub json: BTreeMap<String, Matcher>,
    /// Query parameters of a claims redirect back (`ticket`, `state`, `iss`, `error`) → matcher.
    #[serde(default)]
    pub redirect: BTreeMap<String, Matcher>,
    /// Saved variables (`name` or `name.path`) → matcher.
    #[serde(default)]
    pub vars: BTreeMap<String, Matcher>,
    /// The name of a message schema under `fixtures/schemas/messages/` the body must validate against.
    #[serde(default)]
    pub schema: Option<String>,
    /// Named checks written in Rust: `- ticket-rotated: { from: $t1 }` or `- no-store`.
    #[serde(default)]
    pub checks: Vec<NamedCheck>,
    /// Alternatives, each a block without `req`: the first that holds is the target's choice.
    #[serde(default)]
    pub one_of: Vec<Alternative>,
    /// Record the chosen alternative in the report under this name, and save it as a variable.
    #[serde(default)]
    pub choice: Option<String>,
}

/// A named alternative of `one_of`.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Alternative {
    /// The name recorded as the target's choice.
    pub name: String,
    /// Status.
    #[serde(default)]
    pub status: Option<Tpl>,
    /// `error`.
    #[serde(default)]
    pub error: Option<Tpl>,
    /// Headers.
    #[serde(default)]
    pub headers: BTreeMap<String, Matcher>,
    /// JSON paths.
    #[serde(default)]
    pub json: BTreeMap<String, Matcher>,
    /// Redirect parameters.
    #[serde(default)]
    pub redirect: BTreeMap<String, Matcher>,
    /// Message schema.
    #[serde(default)]
    pub schema: Option<String>,
    /// Named checks.
    #[serde(default)]
    pub checks: Vec<NamedCheck>,
}

impl Alternative {
    /// The alternative as an expectation block citing `req`.
    pub fn to_expect(&self, req: Option<String>) -> Expect {
        Expect {
            req,
            status: self.status.clone(),
            error: self.error.clone(),
            headers: self.headers.clone(),
            json: self.json.clone(),
            redirect: self.redirect.clone(),
            vars: BTreeMap::new(),
            schema: self.schema.clone(),
            checks: self.checks.clone(),
            one_of: Vec::new(),
            choice: None,
        }
    }
}

/// A named check: a bare name, or a one-key map `name: { args }`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum NamedCheck {
    /// Without arguments.
    Bare(String),
    /// With arguments.
    WithArgs(BTreeMap<String, Tpl>),
}

impl NamedCheck {
    /// The check's name and its arguments.
    pub fn parts(&self) -> (String, Value) {
        match self {
            Self::Bare(n) => (n.clone(), Value::Null),
            Self::WithArgs(m) => match m.iter().next() {
                Some((k, v)) => (k.clone(), v.0.clone()),
                None => (String::new(), Value::Null),
            },
        }
    }
}

/// A matcher: a literal (equality after variable substitution) or an operator map.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Matcher {
    /// Operators, all of which must hold.
    Ops(Box<MatchOps>),
    /// Equality with this value.
    Literal(Tpl),
}

/// Matcher operators.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchOps {
    /// Absence is fine: the other operators apply only to a value that is there.
    #[serde(default)]
    pub optional: Option<bool>,
    /// Present (true) or absent (false).
    #[serde(default)]
    pub present: Option<bool>,
    /// Equal to.
    #[serde(default)]
    pub eq: Option<Tpl>,
    /// Not equal to.
    #[serde(default)]
    pub ne: Option<Tpl>,
    /// One of these values.
    #[serde(default)]
    pub one_of: Option<Tpl>,
    /// A string containing this substring, or an array containing this element.
    #[serde(default)]
    pub contains: Option<Tpl>,
    /// The opposite of `contains`.
    #[serde(default)]
    pub not_contains: Option<Tpl>,
    /// JSON type: string, number, integer, boolean, array, object, null.
    #[serde(default, rename = "type")]
    pub json_type: Option<String>,
    /// An array with the same elements as this one, in any order.
    #[serde(default)]
    pub set: Option<Tpl>,
    /// An array whose elements all appear in this one.
    #[serde(default)]
    pub subset_of: Option<Tpl>,
    /// A string starting with this prefix.
    #[serde(default)]
    pub starts_with: Option<Tpl>,
    /// The length of a string or array.
    #[serde(default)]
    pub len: Option<usize>,
    /// A number at least this large.
    #[serde(default)]
    pub min: Option<f64>,
    /// A number at most this large.
    #[serde(default)]
    pub max: Option<f64>,
}

/// `rs_request`: a request to the RS under test. The response's `challenge` (the parsed UMA
/// challenge: `scheme`, `as_uri`, `ticket`, `realm`, `notes`) and `observed` (the requests the RS
/// made to the harness's AS meanwhile, as in `traffic`) can be saved and checked.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RsRequestStep {
    /// The request's name in the target profile (`read`, `other-scope`, `other-resource`).
    pub request: String,
    /// The RPT to present (absent: no token).
    #[serde(default)]
    pub token: Option<Tpl>,
    /// Where the token goes: `header` (default, `Authorization: Bearer`), `query`
    /// (`access_token`), `both`.
    #[serde(default)]
    pub token_in: Option<String>,
}

/// `browse`: the requesting party's browser at the client under test. Starts the client (its
/// start URL) or opens `url`, then follows redirects: to the AS's claims interaction endpoint
/// (where the claims form is filled as the requesting party) and back to the client. The final
/// answer is the response; `redirect` holds the client's request to the claims interaction
/// endpoint, and `callback` the AS's redirect back (saved as `$callback`).
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BrowseStep {
    /// Start the client for this resource of the harness's RS: `read` (a photo, scope view),
    /// `other-scope` (its download, scope download) or `other-resource` (another photo).
    #[serde(default)]
    pub start: Option<String>,
    /// Open this URL instead (e.g. a replayed or forged callback).
    #[serde(default)]
    pub url: Option<Tpl>,
    /// The requesting party (default: the scenario's).
    #[serde(default)]
    pub user: Option<Tpl>,
    /// Give the client an ID token for the requesting party (to push as a claim token).
    #[serde(default)]
    pub id_token: Option<Tpl>,
    /// Which browser (cookie jar): default `main`; another name is another browser.
    #[serde(default)]
    pub browser: Option<String>,
    /// Stop at the redirect to the claims interaction endpoint (do not go to the AS).
    #[serde(default)]
    pub stop_at_claims: Option<bool>,
    /// Stop at the AS's redirect back (do not deliver it to the client).
    #[serde(default)]
    pub stop_at_callback: Option<bool>,
    /// Change the redirect back before delivering it: parameter → new value (`none` removes it).
    #[serde(default)]
    pub tamper: BTreeMap<String, Tpl>,
    /// Deliver the redirect back in this other browser (cookie jar) instead.
    #[serde(default)]
    pub callback_browser: Option<String>,
    /// Which claims-form button to press (default `submit`).
    #[serde(default)]
    pub button: Option<String>,
}

/// `traffic`: the requests the target made to the harness's counterparts since the scenario
/// started (or since `since`), as `{count, requests: [...]}`; each request has `method`, `path`,
/// `query`, `form`, `json`, `permissions` (a permission request normalised to an array),
/// `authorization` (scheme), `bearer` (token), `headers`, `status`, `response`, `at_ms`.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrafficStep {
    /// Which endpoint: a discovery member (`token_endpoint`, `permission_endpoint`,
    /// `introspection_endpoint`, `claims_interaction_endpoint`, ...), `discovery`, `as` (every AS
    /// request), `rs` (every request to the harness's RS), or a path. Default: everything.
    #[serde(default)]
    pub at: Option<String>,
    /// Only requests from this mark on (a number saved from an earlier `traffic` step's `mark`).
    #[serde(default)]
    pub since: Option<Tpl>,
    /// Wait the target profile's quiet window first (at most 2 s): the bounded window in which a
    /// request that must not come would arrive (negative checks).
    #[serde(default)]
    pub quiet: Option<bool>,
}

/// `hook`: how a counterpart answers from now on, at one endpoint.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HookStep {
    /// The endpoint, named as in `traffic.at` (`rs` for every request to the harness's RS).
    pub at: String,
    /// Only when the counterpart's own answer has this `error`.
    #[serde(default)]
    pub when_error: Option<String>,
    /// Only when the counterpart's own answer has this status.
    #[serde(default)]
    pub when_status: Option<u16>,
    /// How many times (default: every time).
    #[serde(default)]
    pub times: Option<u32>,
    /// Answer this instead: `{status, headers, json | text}`.
    #[serde(default)]
    pub respond: Option<HookRespond>,
    /// Change the counterpart's own answer.
    #[serde(default)]
    pub patch: Option<HookPatch>,
    /// Answer this many milliseconds late (at most 15000).
    #[serde(default)]
    pub delay_ms: Option<u64>,
}

/// A scripted answer.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HookRespond {
    /// Status (default 200; a number or a variable holding one).
    #[serde(default)]
    pub status: Option<Tpl>,
    /// Headers.
    #[serde(default)]
    pub headers: BTreeMap<String, Tpl>,
    /// A JSON body; a string member `{request.form.ticket}` takes the request's value.
    #[serde(default)]
    pub json: Option<Tpl>,
    /// A text body.
    #[serde(default)]
    pub text: Option<String>,
}

/// Changes to a counterpart's own answer.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HookPatch {
    /// Top-level JSON members to set (`null` removes); `{request.form.ticket}` takes the
    /// request's value.
    #[serde(default)]
    pub json: BTreeMap<String, Tpl>,
    /// Query parameters of the `Location` header to set (`null` removes).
    #[serde(default)]
    pub redirect: BTreeMap<String, Tpl>,
    /// Headers to set (an empty string removes).
    #[serde(default)]
    pub headers: BTreeMap<String, Tpl>,
}
