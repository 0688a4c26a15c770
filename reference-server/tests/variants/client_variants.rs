//! Client variants: the reference client (taking the variant, or plain) driven by a reqwest
//! "browser", talking to the reference RS and the reference AS, whose router is served behind a
//! recorder so the tests see every request the client makes to it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use serde_json::{Value, json};
use uma_reference_server::client::{ClientConfig, ReferenceClient};
use uma_reference_server::config::StaticClient;
use uma_reference_server::rs::{ResourceServer, RsConfig};
use uma_reference_server::types::ClientSecret;
use uma_reference_server::{Config, Variant};
use url::Url;

const CLIENT_ID: &str = "uma-client";
const CLIENT_SECRET: &str = "uma-client-secret";
const EMAIL: &str = "bob@example.com";

/// One request to the AS.
#[derive(Clone, Debug)]
struct Hit {
    path: String,
    body: String,
    content_type: Option<String>,
    authorization: Option<String>,
}

impl Hit {
    fn form(&self) -> std::collections::HashMap<String, String> {
        url::form_urlencoded::parse(self.body.as_bytes()).into_owned().collect()
    }
}

/// What the browser got from the client.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    json: Value,
    location: Option<Url>,
}

impl Answer {
    fn granted(&self) -> bool {
        self.status == StatusCode::OK && self.json["outcome"] == "granted"
    }
}

fn param(u: &Url, name: &str) -> Option<String> {
    u.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

struct World {
    issuer: String,
    hits: Arc<Mutex<Vec<Hit>>>,
    rs: ResourceServer,
    client: ReferenceClient,
    browser: reqwest::Client,
    http: reqwest::Client,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for World {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl World {
    /// The client takes `variants` (with `client` applied to its configuration); the AS is the
    /// demo configuration with the client registered, `as_variants` and `as_` applied.
    async fn new(
        variants: &[Variant],
        client: impl FnOnce(&mut ClientConfig),
        as_variants: &[Variant],
        as_: impl FnOnce(&mut Config),
    ) -> Self {
        Self::with_rs(variants, client, as_variants, as_, &[]).await
    }

    /// [`World::new`] with a resource server taking `rs_variants`.
    async fn with_rs(
        variants: &[Variant],
        client: impl FnOnce(&mut ClientConfig),
        as_variants: &[Variant],
        as_: impl FnOnce(&mut Config),
        rs_variants: &[Variant],
    ) -> Self {
        let mut cc = ClientConfig::new(CLIENT_ID, ClientSecret::new(CLIENT_SECRET));
        cc.variants = variants.iter().copied().collect();
        cc.max_polls = 1;
        client(&mut cc);
        let client = ReferenceClient::start(cc, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();

        let mut config = Config::demo();
        config.clients.push(StaticClient {
            client_id: CLIENT_ID.into(),
            client_secret: Some(ClientSecret::new(CLIENT_SECRET)),
            redirect_uris: Vec::new(),
            claims_redirect_uris: vec![client.claims_redirect_uri()],
            scope: "view download".into(),
            owner: None,
            client_name: Some("Reference client".into()),
        });
        config.variants = as_variants.iter().copied().collect();
        as_(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (router, ctx) = uma_reference_server::test_app(config, &base).await.unwrap();
        // The issuer may have gained a path (variant issuer-with-path).
        let issuer = ctx.issuer.clone();
        let hits: Arc<Mutex<Vec<Hit>>> = Arc::default();
        let recorder = hits.clone();
        let router = router.layer(axum::middleware::from_fn(move |req: Request, next: Next| {
            let log = recorder.clone();
            async move {
                let (parts, body) = req.into_parts();
                let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
                let h = |n: &str| parts.headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
                log.lock().unwrap().push(Hit {
                    path: parts.uri.path().to_owned(),
                    body: String::from_utf8_lossy(&bytes).into_owned(),
                    content_type: h("content-type"),
                    authorization: h("authorization"),
                });
                next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
                    .await
            }
        }));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        let mut rs_config = RsConfig::new(&issuer, "demo-rs", ClientSecret::new("demo-rs-secret"));
        rs_config.variants = rs_variants.iter().copied().collect();
        let rs = ResourceServer::start(rs_config, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let browser = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .unwrap();
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        Self {
            issuer,
            hits,
            rs,
            client,
            browser,
            http,
            server,
        }
    }

    async fn plain_as(variants: &[Variant]) -> Self {
        Self::new(variants, |_| {}, &[], |_| {}).await
    }

    /// `[variant, plain]` against the plain AS.
    async fn with_and_without(variant: Variant) -> [Self; 2] {
        [Self::plain_as(&[variant]).await, Self::plain_as(&[]).await]
    }

    /// Sets the policy of the RS's resource `name` (e.g. `photo:beach`); returns its URL.
    async fn policy(&self, name: &str, policy: Value) -> String {
        let path = name.replace("photo:", "/photos/");
        let url = format!("{}{path}", self.rs.base_url());
        if !self.rs.state().resource_ids().contains_key(name) {
            // An RS that registers lazily registers on the first request.
            let _ = self.http.get(&url).send().await.unwrap();
        }
        let id = self.rs.state().resource_ids()[name].clone();
        let pat: Value = self
            .http
            .post(format!("{}/token", self.issuer))
            .basic_auth("demo-rs", Some("demo-rs-secret"))
            .form(&[("grant_type", "client_credentials"), ("scope", "uma_protection")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let r = self
            .http
            .put(format!("{}/policy/{id}", self.issuer))
            .bearer_auth(pat["access_token"].as_str().unwrap())
            .json(&policy)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        url
    }

    async fn open(&self, name: &str) -> String {
        self.policy(name, json!({"default": {"type": "open"}})).await
    }

    async fn email(&self, name: &str) -> String {
        self.policy(
            name,
            json!({"scopes": {"view": {"type": "claims", "claims": {"email": EMAIL}}}}),
        )
        .await
    }

    async fn id_token(&self) -> String {
        let v: Value = self
            .http
            .post(format!("{}/demo-idp/id_token", self.issuer))
            .form(&[("sub", "bob"), ("email", EMAIL)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["id_token"].as_str().unwrap().to_owned()
    }

    async fn read(r: reqwest::Response) -> Answer {
        let status = StatusCode::from_u16(r.status().as_u16()).unwrap();
        let location = r
            .headers()
            .get("location")
            .map(|l| Url::parse(l.to_str().unwrap()).unwrap());
        let json = r.json().await.unwrap_or(Value::Null);
        Answer { status, json, location }
    }

    async fn start(&self, resource: &str, id_token: Option<&str>) -> Answer {
        let mut q = vec![("resource", resource), ("user", "bob")];
        q.extend(id_token.map(|t| ("id_token", t)));
        let r = self
            .browser
            .get(format!("{}/start", self.client.base_url()))
            .query(&q)
            .send()
            .await
            .unwrap();
        Self::read(r).await
    }

    /// The browser at the AS's claims form behind `to`: submits the email, follows the redirect
    /// back to the client, and returns the client's answer and the URL it was called at.
    async fn gather(&self, to: &Url) -> (Answer, Url) {
        let page = self.browser.get(to.as_str()).send().await.unwrap();
        assert_eq!(page.status().as_u16(), 200, "claims form for {to}");
        let html = page.text().await.unwrap();
        let hidden = |name: &str| {
            let marker = format!("name=\"{name}\" value=\"");
            let start = html.find(&marker).unwrap() + marker.len();
            html[start..start + html[start..].find('"').unwrap()].to_owned()
        };
        let r = self
            .browser
            .post(format!("{}/claims", self.issuer))
            .form(&[
                ("interaction", hidden("interaction").as_str()),
                ("csrf_token", hidden("csrf_token").as_str()),
                ("email", EMAIL),
                ("action", "submit"),
            ])
            .send()
            .await
            .unwrap();
        let back = Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
        let answer = Self::read(self.browser.get(back.as_str()).send().await.unwrap()).await;
        (answer, back)
    }

    fn hits(&self, path: &str) -> Vec<Hit> {
        self.hits
            .lock()
            .unwrap()
            .iter()
            .filter(|h| h.path == path)
            .cloned()
            .collect()
    }

    /// The client's token requests (the RS's own PAT requests left out).
    fn token_requests(&self) -> Vec<Hit> {
        self.hits("/token")
            .into_iter()
            .filter(|h| h.form().get("grant_type").map(String::as_str) != Some("client_credentials"))
            .collect()
    }

    fn uma_requests(&self) -> Vec<std::collections::HashMap<String, String>> {
        self.token_requests()
            .iter()
            .map(Hit::form)
            .filter(|f| f.get("grant_type").is_some_and(|g| g.ends_with("uma-ticket")))
            .collect()
    }
}

#[tokio::test]
async fn client_never_polls_stops_at_request_submitted() {
    for (w, variant) in World::with_and_without(Variant::ClientNeverPolls)
        .await
        .iter()
        .zip([true, false])
    {
        let res = w
            .policy("photo:beach", json!({"default": {"type": "owner-approval"}}))
            .await;
        let a = w.start(&res, None).await;
        assert_eq!(a.status, StatusCode::CONFLICT, "{a:?}");
        assert_eq!(a.json["outcome"], "pending");
        assert_eq!(w.uma_requests().len(), if variant { 1 } else { 2 });
    }
}

#[tokio::test]
async fn client_never_pushes_claims_goes_to_claims_gathering_with_an_id_token_at_hand() {
    for (w, variant) in World::with_and_without(Variant::ClientNeverPushesClaims)
        .await
        .iter()
        .zip([true, false])
    {
        let res = w.email("photo:beach").await;
        let a = w.start(&res, Some(&w.id_token().await)).await;
        assert!(w.uma_requests().iter().all(|f| !f.contains_key("claim_token")) == variant);
        if variant {
            assert_eq!(a.status, StatusCode::FOUND, "{a:?}");
            let (back, _) = w.gather(a.location.as_ref().unwrap()).await;
            assert!(back.granted(), "{back:?}");
        } else {
            assert!(a.granted(), "{a:?}");
        }
    }
}

#[tokio::test]
async fn client_pushes_claims_up_front_pushes_on_the_first_token_request() {
    for (w, variant) in World::with_and_without(Variant::ClientPushesClaimsUpFront)
        .await
        .iter()
        .zip([true, false])
    {
        let res = w.email("photo:beach").await;
        let a = w.start(&res, Some(&w.id_token().await)).await;
        assert!(a.granted(), "{a:?}");
        let requests = w.uma_requests();
        assert_eq!(requests.len(), if variant { 1 } else { 2 });
        assert_eq!(requests[0].contains_key("claim_token"), variant);
        assert_eq!(
            requests[0].contains_key("claim_token_format"),
            variant,
            "G-C-12: with its format"
        );
    }
}

#[tokio::test]
async fn client_form_without_content_type_leaves_the_header_out_and_the_as_serves_it() {
    for (variants, on) in [(vec![Variant::ClientFormWithoutContentType], true), (vec![], false)] {
        let w = World::new(&variants, |_| {}, &[], |_| {}).await;
        let res = w.open("photo:beach").await;
        let a = w.start(&res, None).await;
        assert!(a.granted(), "{a:?}");
        let hit = &w.token_requests()[0];
        assert_eq!(hit.content_type.is_none(), on, "{hit:?}");
        assert!(hit.form().contains_key("ticket"), "the body is still a form");
    }
}

#[tokio::test]
async fn client_never_sends_rpt_asks_for_no_upgrade() {
    for (w, variant) in World::with_and_without(Variant::ClientNeverSendsRpt)
        .await
        .iter()
        .zip([true, false])
    {
        let beach = w.open("photo:beach").await;
        let sunset = w.open("photo:sunset").await;
        assert!(w.start(&beach, None).await.granted());
        assert!(w.start(&sunset, None).await.granted());
        let requests = w.uma_requests();
        assert_eq!(requests[1].contains_key("rpt"), !variant);
        assert!(
            w.start(&beach, None).await.granted(),
            "the first RPT still covers beach"
        );
        assert_eq!(w.uma_requests().len(), 2);
    }
}

#[tokio::test]
async fn client_never_sends_pct_gathers_claims_again_instead() {
    for (w, variant) in World::with_and_without(Variant::ClientNeverSendsPct)
        .await
        .iter()
        .zip([true, false])
    {
        let beach = w.email("photo:beach").await;
        let sunset = w.email("photo:sunset").await;
        assert!(w.start(&beach, Some(&w.id_token().await)).await.granted());
        let a = w.start(&sunset, None).await;
        assert_eq!(w.uma_requests().iter().any(|f| f.contains_key("pct")), !variant);
        if variant {
            assert_eq!(a.status, StatusCode::FOUND, "need_info again: {a:?}");
        } else {
            assert!(a.granted(), "{a:?}");
        }
    }
}

#[tokio::test]
async fn client_refreshes_rpt_refreshes_an_expired_rpt_before_starting_over() {
    for (variants, on) in [(vec![Variant::ClientRefreshesRpt], true), (vec![], false)] {
        let w = World::new(&variants, |_| {}, &[], |c| c.lifetimes.rpt = 1).await;
        let res = w.open("photo:beach").await;
        assert!(w.start(&res, None).await.granted());
        tokio::time::sleep(Duration::from_millis(2100)).await;
        assert!(w.start(&res, None).await.granted());
        let refreshes = w
            .token_requests()
            .iter()
            .filter(|h| h.form().get("grant_type").map(String::as_str) == Some("refresh_token"))
            .count();
        assert_eq!(refreshes, usize::from(on));
        assert_eq!(w.uma_requests().len(), if on { 1 } else { 2 });
    }
}

#[tokio::test]
async fn client_revokes_replaced_rpt_revokes_the_rpt_an_upgrade_replaced() {
    for (w, variant) in World::with_and_without(Variant::ClientRevokesReplacedRpt)
        .await
        .iter()
        .zip([true, false])
    {
        let beach = w.open("photo:beach").await;
        let sunset = w.open("photo:sunset").await;
        assert!(w.start(&beach, None).await.granted());
        assert!(w.start(&sunset, None).await.granted());
        let old = w.uma_requests()[1]["rpt"].clone();
        let revoked: Vec<String> = w
            .hits("/revoke")
            .iter()
            .filter_map(|h| h.form().get("token").cloned())
            .collect();
        assert_eq!(revoked, if variant { vec![old] } else { Vec::new() });
    }
}

#[tokio::test]
async fn client_claims_first_sends_the_browser_to_gathering_before_any_token_request() {
    for (w, variant) in World::with_and_without(Variant::ClientClaimsFirst)
        .await
        .iter()
        .zip([true, false])
    {
        let res = w.email("photo:beach").await;
        let a = w.start(&res, None).await;
        assert_eq!(a.status, StatusCode::FOUND, "{a:?}");
        assert_eq!(w.uma_requests().len(), if variant { 0 } else { 1 });
        let (back, _) = w.gather(a.location.as_ref().unwrap()).await;
        assert!(back.granted(), "{back:?}");
    }
}

#[tokio::test]
async fn client_omits_claims_redirect_uri_and_the_as_uses_the_one_registered() {
    for (w, variant) in World::with_and_without(Variant::ClientOmitsClaimsRedirectUri)
        .await
        .iter()
        .zip([true, false])
    {
        let res = w.email("photo:beach").await;
        let a = w.start(&res, None).await;
        let to = a.location.as_ref().unwrap();
        assert_eq!(param(to, "claims_redirect_uri").is_none(), variant, "{to}");
        let (back, _) = w.gather(to).await;
        assert!(back.granted(), "{back:?}");
    }
}

#[tokio::test]
async fn client_sends_client_id_with_basic_names_itself_in_the_body_too() {
    for (w, variant) in World::with_and_without(Variant::ClientSendsClientIdWithBasic)
        .await
        .iter()
        .zip([true, false])
    {
        let res = w.open("photo:beach").await;
        assert!(w.start(&res, None).await.granted());
        let hit = &w.token_requests()[0];
        assert!(hit.authorization.as_deref().is_some_and(|a| a.starts_with("Basic ")));
        assert_eq!(
            hit.form().get("client_id").map(String::as_str),
            variant.then_some(CLIENT_ID)
        );
    }
}

#[tokio::test]
async fn client_caches_discovery_fetches_the_document_once() {
    for (w, variant) in World::with_and_without(Variant::ClientCachesDiscovery)
        .await
        .iter()
        .zip([true, false])
    {
        let beach = w.open("photo:beach").await;
        let sunset = w.open("photo:sunset").await;
        let before = w.hits("/.well-known/uma2-configuration").len();
        assert!(w.start(&beach, None).await.granted());
        assert!(w.start(&sunset, None).await.granted());
        let fetched = w.hits("/.well-known/uma2-configuration").len() - before;
        assert_eq!(fetched, if variant { 1 } else { 2 });
    }
}

#[tokio::test]
async fn client_long_verifier_sends_a_128_character_verifier() {
    for (w, variant) in World::with_and_without(Variant::ClientLongVerifier)
        .await
        .iter()
        .zip([true, false])
    {
        let res = w.email("photo:beach").await;
        let a = w.start(&res, None).await;
        let (back, _) = w.gather(a.location.as_ref().unwrap()).await;
        assert!(back.granted(), "{back:?}");
        let verifier = w.uma_requests().last().unwrap()["code_verifier"].clone();
        assert_eq!(verifier.len(), if variant { 128 } else { 43 });
    }
}

#[tokio::test]
async fn client_callback_with_query_keeps_its_query_through_the_round_trip() {
    for (w, variant) in World::with_and_without(Variant::ClientCallbackWithQuery)
        .await
        .iter()
        .zip([true, false])
    {
        let res = w.email("photo:beach").await;
        let a = w.start(&res, None).await;
        let sent = param(a.location.as_ref().unwrap(), "claims_redirect_uri").unwrap();
        assert_eq!(sent.ends_with("/callback?via=uma"), variant, "{sent}");
        let (answer, back) = w.gather(a.location.as_ref().unwrap()).await;
        assert_eq!(param(&back, "via").as_deref(), variant.then_some("uma"));
        assert!(answer.granted(), "{answer:?}");
    }
}

#[tokio::test]
async fn client_drops_unupgraded_rpt_starts_over_for_what_the_dropped_rpt_covered() {
    for (variants, on) in [(vec![Variant::ClientDropsUnupgradedRpt], true), (vec![], false)] {
        let w = World::new(&variants, |_| {}, &[Variant::NoUpgrade], |_| {}).await;
        let beach = w.open("photo:beach").await;
        let sunset = w.open("photo:sunset").await;
        assert!(w.start(&beach, None).await.granted());
        assert!(w.start(&sunset, None).await.granted());
        assert!(w.start(&beach, None).await.granted());
        assert_eq!(w.uma_requests().len(), if on { 3 } else { 2 });
    }
}

// ---- the plain reference client against the other roles' variants ----

#[tokio::test]
async fn the_reference_client_gets_through_every_rs_challenge_variant() {
    for rs_variant in Variant::of_role(uma_reference_server::Role::Rs).filter(|v| {
        // These change which routes need what, not how a challenge reads.
        !matches!(v, Variant::RsRefusesDownloads | Variant::RsPublicAlbums)
    }) {
        let w = World::with_rs(&[], |_| {}, &[], |_| {}, &[rs_variant]).await;
        let photo = w.open("photo:beach").await;
        let a = w.start(&photo, None).await;
        assert!(a.granted(), "{rs_variant}: {a:?}");
        // An RPT the RS finds insufficient (view only) for another scope: a second round.
        let download = format!("{photo}/download");
        assert!(w.start(&download, None).await.granted(), "{rs_variant}");
    }
}

#[tokio::test]
async fn the_reference_client_and_rs_get_through_every_as_variant_that_leaves_them_what_they_use() {
    for as_variant in Variant::of_role(uma_reference_server::Role::As).filter(|v| {
        // The reference RS introspects every RPT; it cannot work with an AS that offers none.
        *v != Variant::NoIntrospection
    }) {
        let w = World::new(&[], |_| {}, &[as_variant], |_| {}).await;
        let beach = w.open("photo:beach").await;
        let sunset = w.email("photo:sunset").await;
        let a = w.start(&beach, None).await;
        assert!(a.granted(), "{as_variant}: {a:?}");
        let b = w.start(&sunset, Some(&w.id_token().await)).await;
        if as_variant == Variant::PartialOutcomeDeny {
            // No need_info ever: claims the client would push after one come too late.
            assert_eq!(b.json["outcome"], "denied", "{as_variant}: {b:?}");
        } else if as_variant.withdraws().any(|c| c == "claims-pushing") {
            // Without pushed claims the client goes to interactive gathering.
            assert_eq!(b.status, StatusCode::FOUND, "{as_variant}: {b:?}");
            let (back, _) = w.gather(b.location.as_ref().unwrap()).await;
            assert!(back.granted(), "{as_variant}: {back:?}");
        } else {
            assert!(b.granted(), "{as_variant}: {b:?}");
        }
        assert!(w.start(&beach, None).await.granted(), "{as_variant}: beach again");
    }
}
