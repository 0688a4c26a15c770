//! No input makes the request parsers panic, and the router answers anything with a status
//! below 500 and, for a 4xx, a JSON body with an `error` member.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Body;
use axum::http::{Request, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config as PtConfig, TestCaseError, TestRunner};
use serde_json::{Value, json};
use uma_reference_server::Config;
use uma_reference_server::core::clients::{parse_basic, validate_redirect_uri};
use uma_reference_server::core::grant::parse_form;
use uma_reference_server::core::protection::bearer_token;

const CASES: u32 = 256;
const ROUTER_CASES: u32 = 256;

/// `cases` cases, or `PROPTEST_CASES` if set (for a longer run).
fn pt_config(cases: u32) -> PtConfig {
    PtConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(cases),
        failure_persistence: None,
        ..PtConfig::default()
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

// ---- pure parsers ----

proptest! {
    #![proptest_config(pt_config(CASES))]

    #[test]
    fn parse_form_never_panics_and_keeps_no_repeat_and_no_empty_value(body in prop::collection::vec(any::<u8>(), 0..256)) {
        let pairs: Vec<(String, String)> =
            url::form_urlencoded::parse(&body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        let keys: BTreeSet<&String> = pairs.iter().map(|(k, _)| k).collect();
        match parse_form(&body) {
            Ok(params) => {
                prop_assert_eq!(keys.len(), pairs.len(), "a repeated key was accepted");
                prop_assert!(params.values().all(|v| !v.is_empty()));
                let expected: BTreeMap<String, String> = pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect();
                prop_assert_eq!(params, expected);
            }
            Err(e) => {
                prop_assert!(keys.len() < pairs.len(), "rejected without a repeated key: {}", e);
                prop_assert_eq!(e.status, 400);
                prop_assert_eq!(e.error.as_str(), "invalid_request");
            }
        }
    }

    #[test]
    fn parse_form_round_trips_distinct_non_empty_pairs(pairs in prop::collection::btree_map(".{0,12}", ".{1,24}", 0..8)) {
        let body = form(&pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect::<Vec<_>>());
        prop_assert_eq!(parse_form(body.as_bytes()).expect("distinct keys parse"), pairs);
    }

    #[test]
    fn parse_form_refuses_a_repeated_key(key in ".{0,12}", a in ".{0,12}", b in ".{0,12}") {
        let body = form(&[(key.as_str(), a.as_str()), (key.as_str(), b.as_str())]);
        prop_assert!(parse_form(body.as_bytes()).is_err());
    }

    #[test]
    fn parse_basic_never_panics(header in ".{0,80}") {
        let _ = parse_basic(&header);
    }

    #[test]
    fn parse_basic_never_panics_on_base64_of_arbitrary_bytes(scheme in "[Bb][Aa][Ss][Ii][Cc]|Bearer|", raw in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = parse_basic(&format!("{scheme} {}", STANDARD.encode(raw)));
    }

    #[test]
    fn parse_basic_round_trips_form_urlencoded_credentials(id in ".{0,24}", secret in ".{0,32}", scheme in "[Bb][Aa][Ss][Ii][Cc]", pad in " {0,3}") {
        let header = format!("{pad}{scheme} {}{pad}", STANDARD.encode(format!("{}:{}", urlencode(&id), urlencode(&secret))));
        let (got_id, got_secret) = parse_basic(&header).expect("well-formed Basic credentials parse");
        prop_assert_eq!(got_id.as_str(), id.as_str());
        prop_assert_eq!(got_secret.secret(), secret.as_str());
    }

    #[test]
    fn bearer_token_never_panics_and_returns_a_trimmed_non_empty_part(header in proptest::option::of(".{0,80}")) {
        if let Some(t) = bearer_token(header.as_deref()) {
            prop_assert!(!t.is_empty());
            prop_assert_eq!(t, t.trim());
            prop_assert!(header.as_deref().unwrap_or_default().contains(t));
        }
    }

    #[test]
    fn bearer_token_round_trips_token68(scheme in "[Bb][Ee][Aa][Rr][Ee][Rr]", token in "[A-Za-z0-9._~+/-]{1,64}=*") {
        let header = format!("{scheme} {token}");
        prop_assert_eq!(bearer_token(Some(&header)), Some(token.as_str()));
    }

    #[test]
    fn validate_redirect_uri_never_panics_and_accepts_only_absolute_fragmentless_uris(uri in uri_like()) {
        if validate_redirect_uri(&uri).is_ok() {
            let parsed = url::Url::parse(&uri).expect("accepted URIs parse");
            prop_assert!(!uri.contains('#'));
            prop_assert!(!matches!(parsed.scheme(), "javascript" | "data" | "file" | "vbscript"));
        }
    }

    #[test]
    fn config_from_yaml_never_panics_on_arbitrary_text(text in ".{0,200}") {
        let _ = Config::from_yaml(&text, "prop.yaml");
    }

    #[test]
    fn config_from_yaml_never_panics_on_yaml_like_text(text in yaml_like()) {
        if let Ok(c) = Config::from_yaml(&text, "prop.yaml") {
            prop_assert!(c.validate().is_ok());
        }
    }
}

fn uri_like() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,60}",
        "(https?|javascript|data|file|vbscript|urn|custom\\+app|JAVASCRIPT):(//)?[a-z0-9.:@\\[\\]%-]{0,20}(/[^#\\s]{0,10})?(\\?[^#]{0,10})?(#.{0,5})?",
    ]
}

fn yaml_like() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        "issuer",
        "database_url",
        "clients",
        "users",
        "trusted_issuers",
        "lifetimes",
        "rpt_format",
        "partial_outcome",
        "open_registration",
        "poll_interval",
        "icg_pkce",
        "icg_iss",
        "quirks",
        "max_body_bytes",
        "demo_identity_provider",
        "nope",
    ]);
    let value = prop::sample::select(vec![
        "",
        "x",
        "0",
        "-1",
        "18446744073709551616",
        "true",
        "~",
        "[]",
        "{}",
        "[ticket-reusable]",
        "[nope]",
        "jwt",
        "opaque",
        "partial",
        "optional",
        "\n  - client_id: a\n    client_secret: b\n    claims_redirect_uris: ['http://127.0.0.1/cb']",
        "\n  - client_id: a\n  - client_id: a",
        "\n  - client_id: ''",
        "\n  - client_id: a\n    redirect_uris: ['javascript:x']",
        "\n  - issuer: https://idp\n",
        "\n  - issuer: https://idp\n    jwks: {keys: []}",
        "\n  - username: u\n    password: p\n    claims: {email: e}",
        "\n  ticket: 0",
        "\n  rpt: -5\n  pat: 10",
        "&a [1, 2]",
        "*a",
        "!!binary aGk=",
        "'unterminated",
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
    ]);
    prop::collection::vec((key, value), 0..6)
        .prop_map(|kvs| kvs.into_iter().map(|(k, v)| format!("{k}: {v}\n")).collect())
}

// ---- router ----

/// Replaced at send time by a fresh ticket for the open resource.
const TICKET: &str = "$TICKET";
/// Replaced at send time by a fresh ticket for the claims-guarded resource.
const CLAIMS_TICKET: &str = "$CLAIMS_TICKET";

/// Names the endpoints look for, so arbitrary documents reach past the first type check.
const KEYS: &[&str] = &[
    "resource_id",
    "resource_scopes",
    "name",
    "type",
    "icon_uri",
    "description",
    "_id",
    "scopes",
    "default",
    "claims",
    "issuer",
    "email",
    "redirect_uris",
    "claims_redirect_uris",
    "token_endpoint_auth_method",
    "grant_types",
    "scope",
    "client_name",
];

const GRANTS: &[&str] = &[
    UMA_GRANT,
    "client_credentials",
    "authorization_code",
    "refresh_token",
    "implicit",
    "",
];

/// A shared AS with a PAT, an open resource, a claims-guarded one, and live tokens.
struct Fixture {
    rt: tokio::runtime::Runtime,
    as_: TestAs,
    pat: String,
    rid: String,
    claims_rid: String,
    /// An ID token from the demo IdP, an RPT, a PCT and a refresh token.
    live: [String; 4],
    words: Vec<String>,
}

fn fixture() -> Fixture {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (as_, pat, rid, claims_rid, live) = rt.block_on(async {
        let as_ = TestAs::with(Config::demo()).await;
        let pat = as_.pat().await;
        let (rid, _) = as_.open_resource_ticket(&pat, &["view", "print"], &["view"]).await;
        let claims_rid = as_.resource(&pat, &["view"]).await;
        let policy = json!({"scopes": {"view": {"type": "claims", "claims": {"email": "bob@example.com"}}}});
        as_.policy(&pat, &claims_rid, policy).await;
        let t = as_.ticket_for(&pat, &claims_rid, &["view"]).await;
        let id_token = as_.id_token(&[("email", "bob@example.com")]).await;
        let r = as_.push_id_token(&t, &id_token).await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.text());
        let live = [id_token, r.str("access_token"), r.str("pct"), r.str("refresh_token")];
        (as_, pat, rid, claims_rid, live)
    });
    let mut words: Vec<String> = [
        "",
        "view",
        "print",
        "download",
        "open",
        "deny",
        "claims",
        "owner-approval",
        "email",
        "bob@example.com",
        "http://127.0.0.1:9/cb",
        "http://127.0.0.1:9/client/claims",
        "https://c.example/cb#frag",
        "javascript:alert(1)",
        "/relative",
        "none",
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "demo-client",
        "demo-rs",
        ID_TOKEN,
        "urn:ietf:params:oauth:token-type:jwt",
        "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        "\u{0}",
        "nul\u{0}in the middle",
        TICKET,
        CLAIMS_TICKET,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    words.extend(GRANTS.iter().map(|s| (*s).to_owned()));
    words.extend([pat.clone(), rid.clone(), claims_rid.clone()]);
    words.extend(live.iter().cloned());
    Fixture {
        rt,
        as_,
        pat,
        rid,
        claims_rid,
        live,
        words,
    }
}

impl Fixture {
    /// Replaces a placeholder by a live value.
    fn live(&self, s: &str) -> String {
        let rid = match s {
            TICKET => &self.rid,
            CLAIMS_TICKET => &self.claims_rid,
            _ => return s.to_owned(),
        };
        self.rt.block_on(self.as_.ticket_for(&self.pat, rid, &["view"]))
    }

    fn live_json(&self, v: Value) -> Value {
        match v {
            Value::String(s) => Value::String(self.live(&s)),
            Value::Array(a) => Value::Array(a.into_iter().map(|v| self.live_json(v)).collect()),
            Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k, self.live_json(v))).collect()),
            other => other,
        }
    }

    fn render(&self, body: Body_) -> Vec<u8> {
        match body {
            Body_::Raw(b) => b,
            Body_::Json(v) => self.live_json(v).to_string().into_bytes(),
            Body_::Form(pairs) => {
                let mut s = url::form_urlencoded::Serializer::new(String::new());
                for (k, v) in &pairs {
                    s.append_pair(k, &self.live(v));
                }
                s.finish().into_bytes()
            }
        }
    }

    fn send_raw(&self, method: &str, path: &str, content_type: &str, auth: Option<&str>, body: Body_) -> Resp {
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header(header::CONTENT_TYPE, content_type);
        if let Some(a) = auth {
            b = b.header(header::AUTHORIZATION, a);
        }
        let req = b.body(Body::from(self.render(body))).expect("request");
        self.rt.block_on(self.as_.send(req))
    }

    fn string(&self) -> BoxedStrategy<String> {
        prop_oneof![3 => prop::sample::select(self.words.clone()), 1 => ".{0,16}"].boxed()
    }

    /// Arbitrary JSON of bounded depth and size, biased towards the endpoints' vocabulary.
    fn any_json(&self) -> BoxedStrategy<Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            self.string().prop_map(Value::String),
        ];
        let key = prop_oneof![4 => prop::sample::select(KEYS).prop_map(str::to_owned), 1 => ".{0,8}"];
        leaf.prop_recursive(4, 48, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(key.clone(), inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
        .boxed()
    }

    /// A string of the vocabulary, or anything.
    fn json_string(&self) -> BoxedStrategy<Value> {
        self.string().prop_map(Value::String).boxed()
    }

    /// A scope name: mostly registered ones.
    fn scope(&self) -> BoxedStrategy<String> {
        prop_oneof![
            4 => prop::sample::select(vec!["view", "print", "download", ""]).prop_map(str::to_owned),
            1 => self.string(),
        ]
        .boxed()
    }

    /// An array of scope names.
    fn scope_array(&self) -> BoxedStrategy<Value> {
        prop::collection::vec(self.scope(), 0..4).prop_map(|v| json!(v)).boxed()
    }

    /// An array of vocabulary strings.
    fn string_array(&self) -> BoxedStrategy<Value> {
        prop::collection::vec(self.string(), 0..4)
            .prop_map(|v| json!(v))
            .boxed()
    }

    /// An object whose listed members are each usually present and usually well typed, plus the
    /// odd unknown member.
    fn shaped(&self, fields: Vec<(&'static str, BoxedStrategy<Value>)>) -> BoxedStrategy<Value> {
        let any = self.any_json();
        let members: Vec<_> = fields
            .into_iter()
            .map(|(k, good)| {
                prop::option::weighted(0.8, prop_oneof![5 => good, 1 => any.clone()]).prop_map(move |v| (k, v))
            })
            .collect();
        let extra = prop::collection::btree_map(".{0,8}", any, 0..2);
        (members, prop::option::weighted(0.1, extra))
            .prop_map(|(members, extra)| {
                let mut m = serde_json::Map::new();
                for (k, v) in extra.into_iter().flatten() {
                    m.insert(k, v);
                }
                for (k, v) in members {
                    if let Some(v) = v {
                        m.insert(k.to_owned(), v);
                    }
                }
                Value::Object(m)
            })
            .boxed()
    }

    /// A body: mostly `shaped`, sometimes any JSON, now and then arbitrary bytes.
    fn json_body(&self, shaped: BoxedStrategy<Value>) -> BoxedStrategy<Body_> {
        prop_oneof![
            6 => shaped.prop_map(Body_::Json),
            2 => self.any_json().prop_map(Body_::Json),
            1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(Body_::Raw),
        ]
        .boxed()
    }

    fn resource_doc(&self, id: &str) -> BoxedStrategy<Value> {
        self.shaped(vec![
            ("resource_scopes", self.scope_array()),
            ("name", self.json_string()),
            ("type", self.json_string()),
            ("icon_uri", self.json_string()),
            ("description", self.json_string()),
            (
                "_id",
                prop_oneof![3 => Just(json!(id)), 1 => self.json_string()].boxed(),
            ),
        ])
    }

    fn permission_doc(&self) -> BoxedStrategy<Value> {
        let item = self.shaped(vec![
            (
                "resource_id",
                prop_oneof![
                    2 => Just(json!(self.rid)),
                    1 => Just(json!(self.claims_rid)),
                    1 => self.json_string(),
                ]
                .boxed(),
            ),
            ("resource_scopes", self.scope_array()),
        ]);
        prop_oneof![
            3 => item.clone(),
            1 => prop::collection::vec(item, 0..4).prop_map(Value::Array),
        ]
        .boxed()
    }

    fn policy_doc(&self) -> BoxedStrategy<Value> {
        let kind =
            prop::sample::select(vec!["open", "deny", "claims", "owner-approval", "Open", ""]).prop_map(|s| json!(s));
        let claims = prop::collection::btree_map(self.string(), self.any_json(), 0..3).prop_map(|m| json!(m));
        let scope_policy = self.shaped(vec![
            ("type", kind.boxed()),
            ("claims", claims.boxed()),
            ("issuer", self.json_string()),
        ]);
        let scopes = prop::collection::btree_map(self.scope(), scope_policy.clone(), 0..3).prop_map(|m| json!(m));
        self.shaped(vec![("scopes", scopes.boxed()), ("default", scope_policy)])
    }

    fn registration_doc(&self) -> BoxedStrategy<Value> {
        let grants = prop::collection::vec(prop::sample::select(GRANTS), 0..3).prop_map(|v| json!(v));
        let scope = prop::collection::vec(self.scope(), 0..3).prop_map(|v| json!(v.join(" ")));
        self.shaped(vec![
            ("redirect_uris", self.string_array()),
            ("claims_redirect_uris", self.string_array()),
            ("token_endpoint_auth_method", self.json_string()),
            ("grant_types", grants.boxed()),
            ("scope", scope.boxed()),
            ("client_name", self.json_string()),
        ])
    }

    /// A form body: arbitrary bytes, or the token and introspection endpoints' parameters, each
    /// usually absent and, when present, usually meaningful; now and then one repeated.
    fn form_body(&self) -> BoxedStrategy<Body_> {
        let [id_token, rpt, pct, refresh] = self.live.clone();
        let pick = |v: Vec<String>| prop::sample::select(v).boxed();
        let fields: Vec<(&'static str, f64, BoxedStrategy<String>)> =
            vec![
            (
                "grant_type",
                0.95,
                prop_oneof![3 => Just(UMA_GRANT.to_owned()), 2 => prop::sample::select(GRANTS).prop_map(str::to_owned)]
                    .boxed(),
            ),
            ("ticket", 0.7, pick(vec![TICKET.to_owned(), CLAIMS_TICKET.to_owned()])),
            (
                "scope",
                0.3,
                prop::collection::vec(self.scope(), 0..3)
                    .prop_map(|v| v.join(" "))
                    .boxed(),
            ),
            ("claim_token", 0.05, pick(vec![id_token.clone(), rpt.clone(), pct.clone()])),
            (
                "claim_token_format",
                0.05,
                pick(vec![
                    ID_TOKEN.to_owned(),
                    "urn:ietf:params:oauth:token-type:jwt".to_owned(),
                ]),
            ),
            ("pct", 0.2, pick(vec![pct.clone()])),
            ("rpt", 0.2, pick(vec![rpt.clone()])),
            ("refresh_token", 0.2, pick(vec![refresh.clone()])),
            ("code", 0.1, self.string()),
            (
                "code_verifier",
                0.1,
                pick(vec![
                    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".to_owned(),
                    "short".to_owned(),
                ]),
            ),
            (
                "redirect_uri",
                0.1,
                pick(vec!["http://127.0.0.1:9/client/callback".to_owned()]),
            ),
            (
                "client_id",
                0.05,
                pick(vec!["demo-client".to_owned(), "demo-rs".to_owned()]),
            ),
            ("client_secret", 0.05, pick(vec!["demo-client-secret".to_owned()])),
            ("token", 0.5, pick(vec![rpt.clone(), pct.clone(), refresh, self.pat.clone()])),
            (
                "token_type_hint",
                0.1,
                pick(vec!["access_token".to_owned(), "refresh_token".to_owned()]),
            ),
        ];
        let members: Vec<_> = fields
            .into_iter()
            .map(|(k, p, good)| {
                prop::option::weighted(p, prop_oneof![9 => good, 1 => self.string()]).prop_map(move |v| (k, v))
            })
            .collect();
        // A claim token comes with its format, mostly.
        let claim = prop::option::weighted(
            0.3,
            (
                prop::sample::select(vec![id_token, rpt, pct]),
                prop::sample::select(vec![ID_TOKEN, ID_TOKEN, "urn:ietf:params:oauth:token-type:jwt"]),
            ),
        );
        let repeat = prop::option::weighted(
            0.05,
            (
                prop::sample::select(vec!["grant_type", "ticket", "scope"]),
                self.string(),
            ),
        );
        let pairs = (members, claim, repeat).prop_map(|(members, claim, repeat)| {
            let mut all: Vec<(String, String)> = members
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
                .collect();
            if let Some((token, format)) = claim {
                all.push(("claim_token".to_owned(), token));
                all.push(("claim_token_format".to_owned(), format.to_owned()));
            }
            all.extend(repeat.map(|(k, v)| (k.to_owned(), v)));
            Body_::Form(all)
        });
        prop_oneof![
            9 => pairs,
            1 => prop::collection::vec(any::<u8>(), 0..128).prop_map(Body_::Raw),
        ]
        .boxed()
    }
}

/// Runs `test` on `ROUTER_CASES` values of `strategy`.
fn run_cases<S: Strategy>(strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>) {
    let mut runner = TestRunner::new(pt_config(ROUTER_CASES));
    if let Err(e) = runner.run(&strategy, test) {
        panic!("{e}");
    }
}

/// A request body before placeholders are replaced.
#[derive(Clone, Debug)]
enum Body_ {
    Raw(Vec<u8>),
    Json(Value),
    Form(Vec<(String, String)>),
}

/// `Authorization` header values for the token endpoint.
fn client_auth() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        1 => Just(None),
        12 => Just(Some(basic(CLIENT))),
        1 => Just(Some(basic(RS))),
        1 => Just(Some(basic(("demo-client", "wrong")))),
        1 => Just(Some("Basic !!!".to_owned())),
        1 => "[ -~]{0,40}".prop_map(Some),
        1 => (".{0,12}", ".{0,12}")
            .prop_map(|(id, secret)| Some(format!("Basic {}", STANDARD.encode(format!("{id}:{secret}"))))),
    ]
}

/// Checks one answer: below 500, and a 4xx carries a JSON `error`, except the 401 to a request
/// without credentials, which has a bare `Bearer` challenge and no body (RFC 6750 §3.1: no error
/// code or other error information).
fn check(r: &Resp, what: &str) -> Result<(), TestCaseError> {
    prop_assert!(r.status.as_u16() < 500, "{} answered {}: {}", what, r.status, r.text());
    let bare_challenge = r
        .header("www-authenticate")
        .is_some_and(|c| c.starts_with("Bearer") && !c.contains("error="));
    if r.status.as_u16() == 401 && bare_challenge && r.body.is_empty() {
        return Ok(());
    }
    if r.status.is_client_error() {
        let body: Value = serde_json::from_slice(&r.body)
            .map_err(|e| TestCaseError::fail(format!("{what}: {} body is not JSON ({e}): {}", r.status, r.text())))?;
        prop_assert!(
            body["error"].is_string(),
            "{} answered {} without an error member: {}",
            what,
            r.status,
            body
        );
    }
    Ok(())
}

#[test]
fn arbitrary_json_at_resource_registration_never_fails_the_server() {
    let f = fixture();
    let bearer = format!("Bearer {}", f.pat);
    run_cases(f.json_body(f.resource_doc("")), |body| {
        let r = f.send_raw("POST", "/resource_set", "application/json", Some(&bearer), body);
        check(&r, "POST /resource_set")
    });
    // Updates go to a resource of its own, so the fixture's resource keeps its scopes.
    let rid = f.rt.block_on(f.as_.resource(&f.pat, &["view"]));
    run_cases(f.json_body(f.resource_doc(&rid)), |body| {
        let r = f.send_raw(
            "PUT",
            &format!("/resource_set/{rid}"),
            "application/json",
            Some(&bearer),
            body,
        );
        check(&r, "PUT /resource_set/{id}")
    });
}

#[test]
fn arbitrary_json_at_the_permission_endpoint_never_fails_the_server() {
    let f = fixture();
    let bearer = format!("Bearer {}", f.pat);
    run_cases(f.json_body(f.permission_doc()), |body| {
        let r = f.send_raw("POST", "/permission", "application/json", Some(&bearer), body);
        check(&r, "POST /permission")
    });
}

#[test]
fn arbitrary_json_at_client_registration_never_fails_the_server() {
    let f = fixture();
    run_cases(f.json_body(f.registration_doc()), |body| {
        let r = f.send_raw("POST", "/register", "application/json", None, body);
        check(&r, "POST /register")
    });
}

#[test]
fn arbitrary_json_at_the_policy_api_never_fails_the_server() {
    let f = fixture();
    let bearer = format!("Bearer {}", f.pat);
    // Policies go to a resource of its own, so the fixture's policies stay as they are.
    let rid = f.rt.block_on(f.as_.resource(&f.pat, &["view", "print"]));
    let ids = prop_oneof![4 => Just(rid), 1 => "[A-Za-z0-9_-]{1,16}"];
    run_cases((ids, f.json_body(f.policy_doc())), |(id, body)| {
        let r = f.send_raw("PUT", &format!("/policy/{id}"), "application/json", Some(&bearer), body);
        check(&r, "PUT /policy/{id}")
    });
}

#[test]
fn arbitrary_bodies_at_the_token_endpoint_never_fail_the_server() {
    let f = fixture();
    let content_type = prop_oneof![
        8 => Just("application/x-www-form-urlencoded"),
        1 => Just("application/x-www-form-urlencoded; charset=UTF-8"),
        1 => Just("application/json"),
    ];
    run_cases((client_auth(), content_type, f.form_body()), |(auth, ct, body)| {
        let r = f.send_raw("POST", "/token", ct, auth.as_deref(), body);
        check(&r, "POST /token")
    });
}

#[test]
fn arbitrary_bodies_at_the_introspection_endpoint_never_fail_the_server() {
    let f = fixture();
    let bearer = format!("Bearer {}", f.pat);
    let auth = prop_oneof![4 => Just(Some(bearer.clone())), 1 => Just(None), 1 => "[ -~]{0,40}".prop_map(Some)];
    let token = prop::sample::select(f.words.clone()).prop_map(|t| Body_::Form(vec![("token".to_owned(), t)]));
    let body = prop_oneof![2 => token, 1 => f.form_body()];
    run_cases((auth, body), |(auth, body)| {
        let r = f.send_raw(
            "POST",
            "/introspect",
            "application/x-www-form-urlencoded",
            auth.as_deref(),
            body,
        );
        check(&r, "POST /introspect")
    });
}

#[test]
fn the_fixture_resources_are_usable() {
    // Guards the router properties above against exercising only the PAT check.
    let f = fixture();
    for rid in [&f.rid, &f.claims_rid] {
        let r = f.rt.block_on(f.as_.json(
            "POST",
            "/permission",
            Some(&format!("Bearer {}", f.pat)),
            &json!({"resource_id": rid, "resource_scopes": ["view"]}),
        ));
        assert_eq!(r.status.as_u16(), 201, "{}", r.text());
    }
}

#[test]
fn a_nul_byte_in_an_identifier_is_a_client_error() {
    // PostgreSQL refuses NUL in text parameters; an identifier holding one must still just be
    // unknown, whatever the database.
    let f = fixture();
    let bearer = format!("Bearer {}", f.pat);
    let nul_basic = format!("Basic {}", STANDARD.encode("demo\0client:demo-client-secret"));
    let cases: Vec<(&str, &str, &str, Option<&str>, &str)> = vec![
        (
            "POST",
            "/permission",
            "application/json",
            Some(&bearer),
            r#"{"resource_id": "a\u0000b", "resource_scopes": ["view"]}"#,
        ),
        ("GET", "/resource_set/a%00b", "application/json", Some(&bearer), ""),
        (
            "PUT",
            "/resource_set/a%00b",
            "application/json",
            Some(&bearer),
            r#"{"resource_scopes": ["view"]}"#,
        ),
        ("DELETE", "/resource_set/a%00b", "application/json", Some(&bearer), ""),
        ("GET", "/policy/a%00b", "application/json", Some(&bearer), ""),
        (
            "PUT",
            "/policy/a%00b",
            "application/json",
            Some(&bearer),
            r#"{"default": {"type": "open"}}"#,
        ),
        ("DELETE", "/policy/a%00b", "application/json", Some(&bearer), ""),
        (
            "POST",
            "/approvals/a%00b",
            "application/json",
            Some(&bearer),
            r#"{"decision": "approve"}"#,
        ),
        (
            "POST",
            "/token",
            "application/x-www-form-urlencoded",
            Some(&nul_basic),
            "grant_type=client_credentials",
        ),
        (
            "POST",
            "/token",
            "application/x-www-form-urlencoded",
            None,
            "grant_type=client_credentials&client_id=demo%00client",
        ),
        (
            "POST",
            "/revoke",
            "application/x-www-form-urlencoded",
            None,
            "token=x&client_id=demo%00client",
        ),
    ];
    for (method, path, ct, auth, body) in cases {
        let r = f.send_raw(method, path, ct, auth, Body_::Raw(body.as_bytes().to_vec()));
        if let Err(e) = check(&r, &format!("{method} {path}")) {
            panic!("{e}");
        }
        assert!(r.status.is_client_error(), "{method} {path}: {} {}", r.status, r.text());
    }
    // The browser endpoints answer pages, not JSON: only the status matters there.
    let pages = [
        (
            "GET",
            "/claims?client_id=demo%00client&ticket=t&claims_redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fclient%2Fclaims",
            "",
        ),
        (
            "POST",
            "/claims",
            "interaction=a%00b&csrf_token=c&email=bob%40example.com",
        ),
        ("GET", "/authorize?client_id=demo%00rs&response_type=code", ""),
        (
            "POST",
            "/authorize",
            "interaction=a%00b&csrf_token=c&username=alice&password=alice-password",
        ),
    ];
    for (method, path, body) in pages {
        let r = f.send_raw(
            method,
            path,
            "application/x-www-form-urlencoded",
            None,
            Body_::Raw(body.as_bytes().to_vec()),
        );
        assert!(r.status.is_client_error(), "{method} {path}: {} {}", r.status, r.text());
    }
}
