//! The harness's own test identity provider: it mints OpenID Connect ID tokens that the
//! harness pushes as UMA claim tokens (UMA Grant §3.3.1, `claim_token_format`
//! `http://openid.net/specs/openid-connect-core-1_0.html#IDToken`).
//!
//! The IdP serves its public key set at `GET /jwks` and a minimal OpenID Provider metadata
//! document at `GET /.well-known/openid-configuration`, on loopback, so the authorization
//! server under test can be configured to trust `issuer` with `jwks_uri`. It signs with the
//! fixed, public test key `fixtures/keys/test-idp-es256.pk8.pem`, so its `kid` is the same on
//! every run. That key is for tests only: an AS that trusts it outside a test deployment
//! accepts tokens anybody can forge.

use std::net::SocketAddr;
use std::sync::Arc;

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use axum::Json;
use axum::routing::get;
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// The default signing key: a P-256 private key, PKCS#8 PEM, public and for tests only.
const DEFAULT_KEY_PEM: &str = include_str!("../../fixtures/keys/test-idp-es256.pk8.pem");

/// The ID-token lifetime, in seconds, of [`IdTokenRequest::default`].
const DEFAULT_EXPIRES_IN: i64 = 300;

/// A running test identity provider.
pub struct TestIdp {
    issuer: String,
    key: EncodingKey,
    kid: String,
    jwks: Value,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for TestIdp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestIdp")
            .field("issuer", &self.issuer)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// What to put in a minted ID token.
///
/// The default has an empty `sub` and no audience, and expires 300 seconds after minting.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdTokenRequest {
    /// The `sub` claim.
    pub sub: String,
    /// The audiences: `aud` is a string when there is one, an array otherwise.
    pub aud: Vec<String>,
    /// The `email` claim, if any.
    pub email: Option<String>,
    /// Seconds from now to `exp`; negative gives a token that has already expired.
    pub expires_in: i64,
    /// Overrides `iss` (for wrong-issuer checks); the IdP's own issuer otherwise.
    pub issuer: Option<String>,
    /// Further members of the token. They are added last, so they can also override the
    /// standard ones (`iat`, `nbf`, …) for negative checks.
    pub extra: Map<String, Value>,
}

impl Default for IdTokenRequest {
    fn default() -> Self {
        Self {
            sub: String::new(),
            aud: Vec::new(),
            email: None,
            expires_in: DEFAULT_EXPIRES_IN,
            issuer: None,
            extra: Map::new(),
        }
    }
}

/// Why the test IdP could not start or mint a token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdpError {
    /// The listener could not be bound.
    #[error("failed to bind {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The signing key could not be loaded or its public JWK derived.
    #[error("failed to load the signing key")]
    Key(#[source] jsonwebtoken::errors::Error),
    /// The key set could not be serialised.
    #[error("failed to serialise the key set")]
    Jwks(#[source] serde_json::Error),
    /// A fresh key for a forged token could not be generated.
    #[error("failed to generate a forgery key")]
    KeyGeneration(#[source] aws_lc_rs::error::Unspecified),
    /// The token could not be signed.
    #[error("failed to sign the id token")]
    Sign(#[source] jsonwebtoken::errors::Error),
    /// The system clock is before 1970 or beyond what a JWT can carry.
    #[error("the system clock is out of range")]
    Clock,
    /// `now + expires_in` overflows.
    #[error("expires_in {0} is out of range")]
    ExpiresIn(i64),
}

impl TestIdp {
    /// Starts the IdP on 127.0.0.1 with the given port (0 = any free port), serving GET /jwks
    /// (the public JWK set, kid set) and GET /.well-known/openid-configuration ({issuer,
    /// jwks_uri, id_token_signing_alg_values_supported:["ES256"]}). Issuer =
    /// http://127.0.0.1:{port}.
    pub async fn start(port: u16) -> Result<TestIdp, IdpError> {
        let key = EncodingKey::from_ec_pem(DEFAULT_KEY_PEM.as_bytes()).map_err(IdpError::Key)?;
        let mut jwk = Jwk::from_encoding_key(&key, Algorithm::ES256).map_err(IdpError::Key)?;
        let kid = jwk.thumbprint(ThumbprintHash::SHA256).map_err(IdpError::Key)?;
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        let jwks = serde_json::to_value(JwkSet { keys: vec![jwk] }).map_err(IdpError::Jwks)?;

        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let listener = bind(addr).await.map_err(|source| IdpError::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| IdpError::Bind { addr, source })?;
        let issuer = format!("http://{local}");
        let metadata = Arc::new(json!({
            "issuer": issuer,
            "jwks_uri": format!("{issuer}/jwks"),
            "id_token_signing_alg_values_supported": ["ES256"],
        }));
        let served_jwks = Arc::new(jwks.clone());
        let router = axum::Router::new()
            .route(
                "/jwks",
                get(move || {
                    let body = Value::clone(&served_jwks);
                    async move { Json(body) }
                }),
            )
            .route(
                "/.well-known/openid-configuration",
                get(move || {
                    let body = Value::clone(&metadata);
                    async move { Json(body) }
                }),
            );
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            // Resolves on `send` and when the sender is dropped, so dropping the IdP stops it.
            let signal = async move {
                let _ = stopped.await;
            };
            if let Err(e) = axum::serve(listener, router).with_graceful_shutdown(signal).await {
                tracing::warn!(error = %e, "the test identity provider stopped with an error");
            }
        });
        Ok(TestIdp {
            issuer,
            key,
            kid,
            jwks,
            stop: Some(stop),
            server,
        })
    }

    /// The issuer identifier, `http://127.0.0.1:{port}`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Where the public key set is served: `{issuer}/jwks`.
    pub fn jwks_uri(&self) -> String {
        format!("{}/jwks", self.issuer)
    }

    /// The public key set, as served at [`TestIdp::jwks_uri`] (for ASes configured with an
    /// inline JWKS).
    pub fn jwks(&self) -> Value {
        self.jwks.clone()
    }

    /// Mints an ES256 ID token (header typ JWT, kid) with iss, sub, aud (a string when one
    /// audience, else an array), iat, exp, email (if any), plus extra members.
    pub fn mint(&self, req: &IdTokenRequest) -> Result<String, IdpError> {
        self.sign(&self.key, req)
    }

    /// Same but signed with a different, freshly generated key (a forged token for negative
    /// checks). The header names this IdP's `kid`, so a verifier finds the genuine key and the
    /// signature check is what fails.
    pub fn mint_forged(&self, req: &IdTokenRequest) -> Result<String, IdpError> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).map_err(IdpError::KeyGeneration)?;
        self.sign(&EncodingKey::from_ec_der(pkcs8.as_ref()), req)
    }

    /// Stops the server: it accepts no new connection and open ones are closed.
    pub fn shutdown(self) {
        drop(self);
    }

    fn sign(&self, key: &EncodingKey, req: &IdTokenRequest) -> Result<String, IdpError> {
        let now = i64::try_from(jsonwebtoken::get_current_timestamp()).map_err(|_| IdpError::Clock)?;
        let exp = now
            .checked_add(req.expires_in)
            .ok_or(IdpError::ExpiresIn(req.expires_in))?;
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(req.issuer.as_deref().unwrap_or(&self.issuer)));
        claims.insert("sub".into(), json!(req.sub));
        let aud = match req.aud.as_slice() {
            [one] => json!(one),
            many => json!(many),
        };
        claims.insert("aud".into(), aud);
        claims.insert("iat".into(), json!(now));
        claims.insert("exp".into(), json!(exp));
        if let Some(email) = &req.email {
            claims.insert("email".into(), json!(email));
        }
        for (name, value) in &req.extra {
            claims.insert(name.clone(), value.clone());
        }
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some("JWT".to_owned());
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &Value::Object(claims), key).map_err(IdpError::Sign)
    }
}

/// How long [`bind`] retries a fixed port that is in use.
const REBIND_WINDOW: std::time::Duration = std::time::Duration::from_secs(3);

/// Binds `addr`. A fixed port (a profile's `idp.port`) is bound by every run with that profile,
/// and the IdP of the run before lets it go only once its aborted task is dropped, which on a
/// loaded machine can come after the next run binds: so a port in use is tried again for up to
/// [`REBIND_WINDOW`] before it is an error.
async fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let deadline = tokio::time::Instant::now() + REBIND_WINDOW;
    loop {
        match tokio::net::TcpListener::bind(addr).await {
            Err(e)
                if e.kind() == std::io::ErrorKind::AddrInUse
                    && addr.port() != 0
                    && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            result => return result,
        }
    }
}

impl Drop for TestIdp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.server.abort();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use jsonwebtoken::errors::ErrorKind;
    use jsonwebtoken::{DecodingKey, Validation};
    use reqwest::StatusCode;
    use uma_reference_server::config::TrustedIssuer;
    use uma_reference_server::{Config, Server};

    use super::*;

    const ID_TOKEN_FORMAT: &str = "http://openid.net/specs/openid-connect-core-1_0.html#IDToken";
    const UMA_GRANT: &str = "urn:ietf:params:oauth:grant-type:uma-ticket";

    fn bob(aud: &[&str]) -> IdTokenRequest {
        IdTokenRequest {
            sub: "bob".into(),
            aud: aud.iter().map(|a| (*a).to_owned()).collect(),
            email: Some("bob@example.com".into()),
            ..IdTokenRequest::default()
        }
    }

    async fn fetch_jwks(idp: &TestIdp) -> JwkSet {
        let resp = reqwest::get(idp.jwks_uri()).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        resp.json().await.unwrap()
    }

    fn verify(token: &str, set: &JwkSet, issuer: &str, aud: &str) -> jsonwebtoken::errors::Result<Map<String, Value>> {
        let header = jsonwebtoken::decode_header(token)?;
        let jwk = set
            .find(header.kid.as_deref().unwrap_or_default())
            .expect("the kid is in the set");
        let mut v = Validation::new(Algorithm::ES256);
        v.set_audience(&[aud]);
        v.set_issuer(&[issuer]);
        Ok(jsonwebtoken::decode(token, &DecodingKey::from_jwk(jwk)?, &v)?.claims)
    }

    fn unverified(token: &str) -> Map<String, Value> {
        jsonwebtoken::dangerous::insecure_decode::<Map<String, Value>>(token)
            .unwrap()
            .claims
    }

    #[tokio::test]
    async fn a_fixed_port_still_held_by_the_last_run_is_bound_once_released_and_an_error_if_never() {
        // Arrange: the port of a profile's IdP, held by what stands for the last run's IdP.
        let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = held.local_addr().unwrap().port();
        let release = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            drop(held);
        });

        // Act
        let idp = TestIdp::start(port).await;

        // Assert
        release.await.unwrap();
        let idp = idp.expect("bound once the port was released");
        assert_eq!(idp.issuer(), format!("http://127.0.0.1:{port}"));

        // Act: a port that stays taken.
        let err = TestIdp::start(port)
            .await
            .expect_err("the port is taken by the first IdP");

        // Assert
        assert!(
            matches!(&err, IdpError::Bind { source, .. } if source.kind() == std::io::ErrorKind::AddrInUse),
            "{err}"
        );
        idp.shutdown();
    }

    #[tokio::test]
    async fn a_minted_token_verifies_against_the_served_jwks_and_a_forged_one_does_not() {
        // Arrange
        let idp = TestIdp::start(0).await.unwrap();
        let set = fetch_jwks(&idp).await;

        // Act
        let genuine = idp.mint(&bob(&["https://as.test"])).unwrap();
        let forged = idp.mint_forged(&bob(&["https://as.test"])).unwrap();

        // Assert
        let claims = verify(&genuine, &set, idp.issuer(), "https://as.test").unwrap();
        assert_eq!(claims["sub"], "bob");
        assert_eq!(claims["email"], "bob@example.com");
        assert_eq!(claims["aud"], "https://as.test");
        let header = jsonwebtoken::decode_header(&genuine).unwrap();
        assert_eq!(header.typ.as_deref(), Some("JWT"));
        assert_eq!(header.alg, Algorithm::ES256);
        let err = verify(&forged, &set, idp.issuer(), "https://as.test").unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::InvalidSignature);
        assert_eq!(set.keys.len(), 1);
        assert_eq!(serde_json::to_value(&set).unwrap(), idp.jwks());
        idp.shutdown();
    }

    #[tokio::test]
    async fn the_discovery_document_names_the_issuer_and_the_jwks_uri() {
        // Arrange
        let idp = TestIdp::start(0).await.unwrap();

        // Act
        let doc: Value = reqwest::get(format!("{}/.well-known/openid-configuration", idp.issuer()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();

        // Assert
        assert_eq!(doc["issuer"], idp.issuer());
        assert_eq!(doc["jwks_uri"], idp.jwks_uri());
        assert_eq!(doc["id_token_signing_alg_values_supported"], json!(["ES256"]));
        assert!(idp.issuer().starts_with("http://127.0.0.1:"));
    }

    #[tokio::test]
    async fn every_start_signs_with_the_same_committed_key() {
        // Arrange
        let (a, b) = (TestIdp::start(0).await.unwrap(), TestIdp::start(0).await.unwrap());

        // Act
        let (ka, kb) = (a.jwks()["keys"][0].clone(), b.jwks()["keys"][0].clone());

        // Assert
        assert_eq!(ka, kb);
        assert_eq!(ka["kty"], "EC");
        assert_eq!(ka["crv"], "P-256");
        assert_eq!(ka["use"], "sig");
        assert!(ka.get("d").is_none(), "the private key must not be published");
        assert!(ka["kid"].as_str().is_some_and(|k| !k.is_empty()));
    }

    #[tokio::test]
    async fn audiences_issuer_override_expiry_and_extra_members_shape_the_token() {
        // Arrange
        let idp = TestIdp::start(0).await.unwrap();
        let mut extra = Map::new();
        extra.insert("name".into(), json!("Bob"));
        extra.insert("nbf".into(), json!(1));
        let req = IdTokenRequest {
            expires_in: -60,
            issuer: Some("https://wrong.example".into()),
            extra,
            ..bob(&["a", "b"])
        };

        // Act
        let claims = unverified(&idp.mint(&req).unwrap());
        let none = unverified(&idp.mint(&IdTokenRequest::default()).unwrap());

        // Assert
        assert_eq!(claims["aud"], json!(["a", "b"]));
        assert_eq!(claims["iss"], "https://wrong.example");
        assert_eq!(claims["name"], "Bob");
        assert_eq!(claims["nbf"], 1);
        let (iat, exp) = (claims["iat"].as_i64().unwrap(), claims["exp"].as_i64().unwrap());
        assert_eq!(exp, iat - 60);
        assert_eq!(none["aud"], json!([]));
        assert!(none.get("email").is_none());
        assert_eq!(none["iss"], idp.issuer());
    }

    #[tokio::test]
    async fn an_expiry_that_overflows_is_an_error_not_a_panic() {
        let idp = TestIdp::start(0).await.unwrap();
        let req = IdTokenRequest {
            expires_in: i64::MAX,
            ..IdTokenRequest::default()
        };
        assert!(matches!(idp.mint(&req), Err(IdpError::ExpiresIn(_))));
    }

    #[tokio::test]
    async fn debug_output_shows_the_issuer_but_not_the_private_key() {
        let idp = TestIdp::start(0).await.unwrap();
        let shown = format!("{idp:?}");
        let secret_line = DEFAULT_KEY_PEM.lines().nth(1).unwrap();
        assert!(shown.contains(idp.issuer()), "{shown}");
        assert!(!shown.contains(secret_line) && !shown.contains("PRIVATE"), "{shown}");
    }

    #[tokio::test]
    async fn after_shutdown_the_jwks_is_no_longer_served() {
        // Arrange
        let idp = TestIdp::start(0).await.unwrap();
        let uri = idp.jwks_uri();
        let http = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
        assert!(http.get(&uri).send().await.is_ok());

        // Act
        idp.shutdown();

        // Assert: cancellation is asynchronous, so give the runtime a moment.
        let mut refused = false;
        for _ in 0..50 {
            if http.get(&uri).send().await.is_err() {
                refused = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(refused, "the IdP still answers after shutdown");
    }

    #[test]
    fn a_request_deserializes_with_defaults_and_rejects_unknown_members() {
        let req: IdTokenRequest = serde_json::from_value(json!({"sub": "bob", "aud": ["x"]})).unwrap();
        assert_eq!(req.expires_in, 300);
        assert!(serde_json::from_value::<IdTokenRequest>(json!({"sbu": "bob"})).is_err());
    }

    /// Drives the reference AS over HTTP as its demo resource server and demo client.
    struct ReferenceAs {
        http: reqwest::Client,
        issuer: String,
        pat: String,
    }

    impl ReferenceAs {
        async fn new(server: &Server) -> Self {
            let http = reqwest::Client::new();
            let issuer = server.issuer().to_owned();
            let resp = http
                .post(format!("{issuer}/token"))
                .basic_auth("demo-rs", Some("demo-rs-secret"))
                .form(&[("grant_type", "client_credentials"), ("scope", "uma_protection")])
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
            let pat = resp.json::<Value>().await.unwrap()["access_token"]
                .as_str()
                .unwrap()
                .to_owned();
            Self { http, issuer, pat }
        }

        async fn protected(&self, method: reqwest::Method, path: &str, body: Value, expect: StatusCode) -> Value {
            let resp = self
                .http
                .request(method, format!("{}{path}", self.issuer))
                .bearer_auth(&self.pat)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), expect, "{path}");
            resp.json().await.unwrap()
        }

        /// A ticket for `view` on a fresh resource whose policy wants bob's email.
        async fn ticket(&self) -> String {
            let created = self
                .protected(
                    reqwest::Method::POST,
                    "/resource_set",
                    json!({"resource_scopes": ["view"]}),
                    StatusCode::CREATED,
                )
                .await;
            let id = created["_id"].as_str().unwrap().to_owned();
            let policy = json!({"scopes": {"view": {"type": "claims", "claims": {"email": "bob@example.com"}}}});
            self.protected(reqwest::Method::PUT, &format!("/policy/{id}"), policy, StatusCode::OK)
                .await;
            let permission = json!({"resource_id": id, "resource_scopes": ["view"]});
            let ticket = self
                .protected(reqwest::Method::POST, "/permission", permission, StatusCode::CREATED)
                .await;
            ticket["ticket"].as_str().unwrap().to_owned()
        }

        async fn push(&self, ticket: &str, claim_token: &str) -> (StatusCode, Value) {
            let resp = self
                .http
                .post(format!("{}/token", self.issuer))
                .basic_auth("demo-client", Some("demo-client-secret"))
                .form(&[
                    ("grant_type", UMA_GRANT),
                    ("ticket", ticket),
                    ("claim_token", claim_token),
                    ("claim_token_format", ID_TOKEN_FORMAT),
                ])
                .send()
                .await
                .unwrap();
            (resp.status(), resp.json().await.unwrap())
        }
    }

    #[tokio::test]
    async fn the_reference_as_accepts_a_minted_id_token_and_refuses_a_forged_one() {
        // Arrange
        let idp = TestIdp::start(0).await.unwrap();
        let mut config = Config::demo();
        config.trusted_issuers = vec![TrustedIssuer {
            issuer: idp.issuer().to_owned(),
            jwks_uri: Some(idp.jwks_uri()),
            jwks: None,
            audiences: vec![],
        }];
        let server = Server::builder(config).memory().start().await.unwrap();
        let as_ = ReferenceAs::new(&server).await;
        let request = bob(&[server.issuer()]);

        // Act
        let genuine = as_.push(&as_.ticket().await, &idp.mint(&request).unwrap()).await;
        let forged = as_.push(&as_.ticket().await, &idp.mint_forged(&request).unwrap()).await;
        server.shutdown().await;
        idp.shutdown();

        // Assert
        assert_eq!(genuine.0, StatusCode::OK, "{}", genuine.1);
        assert!(genuine.1["access_token"].is_string(), "{}", genuine.1);
        assert_eq!(forged.0, StatusCode::FORBIDDEN, "{}", forged.1);
        assert_eq!(forged.1["error"], "need_info");
    }
}
