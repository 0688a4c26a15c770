//! A real process restart: everything the AS promised before a graceful stop (clients,
//! resources, policies, unused tickets, RPTs, PATs, PCTs, its signing key) is still honoured by
//! the next process over the same data directory (SQLite) or, if `UMA_TEST_POSTGRES_URL` is
//! set, the same PostgreSQL database.

use crate::common;

use std::ffi::OsString;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use common::process::AsProcess;

const RS: (&str, &str) = ("demo-rs", "demo-rs-secret");
const CLIENT: (&str, &str) = ("demo-client", "demo-client-secret");
const UMA_GRANT: &str = "urn:ietf:params:oauth:grant-type:uma-ticket";
const ID_TOKEN: &str = "http://openid.net/specs/openid-connect-core-1_0.html#IDToken";
/// Longest wait for the issuer line, a graceful exit, or one HTTP request.
const REQUEST: Duration = Duration::from_secs(20);

/// A response, fully read.
struct Resp {
    status: StatusCode,
    body: Value,
    text: String,
}

impl Resp {
    fn str(&self, key: &str) -> String {
        self.body[key]
            .as_str()
            .unwrap_or_else(|| panic!("no string `{key}` in {} {}", self.status, self.text))
            .to_owned()
    }

    fn expect(self, status: StatusCode) -> Self {
        assert_eq!(self.status, status, "{}", self.text);
        self
    }
}

struct Http {
    client: reqwest::Client,
}

impl Http {
    fn new() -> Self {
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(REQUEST)
            .connect_timeout(REQUEST)
            .build()
            .expect("HTTP client");
        Self { client }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Resp {
        let resp = req.send().await.expect("the AS answers");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp { status, body, text }
    }

    async fn form(&self, url: &str, basic: Option<(&str, &str)>, pairs: &[(&str, &str)]) -> Resp {
        let mut req = self.client.post(url).form(pairs);
        if let Some((id, secret)) = basic {
            req = req.basic_auth(id, Some(secret));
        }
        self.send(req).await
    }

    async fn json(&self, method: reqwest::Method, url: &str, bearer: Option<&str>, body: &Value) -> Resp {
        let mut req = self.client.request(method, url).json(body);
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        self.send(req).await
    }

    async fn get(&self, url: &str, bearer: Option<&str>) -> Resp {
        let mut req = self.client.get(url);
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        self.send(req).await
    }

    async fn pat(&self, as_: &AsProcess) -> String {
        self.form(
            &as_.url("/token"),
            Some(RS),
            &[("grant_type", "client_credentials"), ("scope", "uma_protection")],
        )
        .await
        .expect(StatusCode::OK)
        .str("access_token")
    }

    async fn ticket(&self, as_: &AsProcess, pat: &str, rid: &str, scopes: &[&str]) -> String {
        let body = json!({"resource_id": rid, "resource_scopes": scopes});
        self.json(reqwest::Method::POST, &as_.url("/permission"), Some(pat), &body)
            .await
            .expect(StatusCode::CREATED)
            .str("ticket")
    }

    async fn uma_token(&self, as_: &AsProcess, client: (&str, &str), ticket: &str, extra: &[(&str, &str)]) -> Resp {
        let mut pairs = vec![("grant_type", UMA_GRANT), ("ticket", ticket)];
        pairs.extend_from_slice(extra);
        self.form(&as_.url("/token"), Some(client), &pairs).await
    }

    async fn introspect(&self, as_: &AsProcess, pat: &str, token: &str) -> Value {
        let req = self
            .client
            .post(as_.url("/introspect"))
            .bearer_auth(pat)
            .form(&[("token", token)]);
        self.send(req).await.expect(StatusCode::OK).body
    }

    async fn id_token(&self, as_: &AsProcess) -> String {
        self.form(
            &as_.url("/demo-idp/id_token"),
            None,
            &[("sub", "bob"), ("email", "bob@example.com")],
        )
        .await
        .expect(StatusCode::OK)
        .str("id_token")
    }
}

/// The permissions of an introspection answer, without their `exp`.
fn granted(intro: &Value) -> Value {
    let mut perms = intro["permissions"].clone();
    for p in perms.as_array_mut().expect("permissions array") {
        p.as_object_mut().expect("permission object").remove("exp");
    }
    perms
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_lost_across_a_graceful_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let args = [OsString::from("--data-dir"), data.clone().into_os_string()];
    let db = data.join("uma.db");
    restart_flow(
        |name| AsProcess::start(&args, dir.path().join(name)),
        || {
            assert!(db.exists(), "no database file at {}", db.display());
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_lost_across_a_graceful_restart_on_postgres() {
    let Some(url) = std::env::var("UMA_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty()) else {
        eprintln!("note: UMA_TEST_POSTGRES_URL is not set; skipping the PostgreSQL restart test");
        return;
    };
    // The demo configuration, kept in a fresh schema of the database (JSON is YAML).
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = uma_reference_server::Config::demo();
    config.database_url = common::fresh_postgres_schema(&url).await;
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, serde_json::to_string_pretty(&config).expect("config as JSON")).expect("config file");
    // The data directory stays unused: state lives in PostgreSQL.
    let args = [
        OsString::from("--config"),
        path.into_os_string(),
        OsString::from("--data-dir"),
        dir.path().join("unused").into_os_string(),
    ];
    let unused = dir.path().join("unused").join("uma.db");
    restart_flow(
        |name| AsProcess::start(&args, dir.path().join(name)),
        || {
            assert!(!unused.exists(), "the server wrote SQLite despite database_url");
        },
    )
    .await;
}

/// Runs a bit of everything on a first process, stops it gracefully (then runs
/// `between_runs`), starts a second one over the same storage, and checks nothing was lost.
async fn restart_flow(start: impl Fn(&str) -> AsProcess, between_runs: impl FnOnce()) {
    // Arrange: a first process does a bit of everything.
    let http = Http::new();
    let first = start("first.log");

    let pat = http.pat(&first).await;
    let registration = json!({
        "claims_redirect_uris": ["http://127.0.0.1:9/restart/claims"],
        "scope": "view",
        "client_name": "restart test client",
    });
    let reg = http
        .json(reqwest::Method::POST, &first.url("/register"), None, &registration)
        .await
        .expect(StatusCode::CREATED);
    let (reg_id, reg_secret) = (reg.str("client_id"), reg.str("client_secret"));

    let open_desc =
        json!({"resource_scopes": ["view", "print"], "name": "open album", "type": "https://example.com/album"});
    let open_rid = http
        .json(
            reqwest::Method::POST,
            &first.url("/resource_set"),
            Some(&pat),
            &open_desc,
        )
        .await
        .expect(StatusCode::CREATED)
        .str("_id");
    let open_policy = http
        .json(
            reqwest::Method::PUT,
            &first.url(&format!("/policy/{open_rid}")),
            Some(&pat),
            &json!({"default": {"type": "open"}}),
        )
        .await
        .expect(StatusCode::OK)
        .body;

    let claims_desc = json!({"resource_scopes": ["view"], "name": "bob's album"});
    let claims_rid = http
        .json(
            reqwest::Method::POST,
            &first.url("/resource_set"),
            Some(&pat),
            &claims_desc,
        )
        .await
        .expect(StatusCode::CREATED)
        .str("_id");
    let claims_policy = json!({"scopes": {"view": {"type": "claims", "claims": {"email": "bob@example.com"}}}});
    http.json(
        reqwest::Method::PUT,
        &first.url(&format!("/policy/{claims_rid}")),
        Some(&pat),
        &claims_policy,
    )
    .await
    .expect(StatusCode::OK);

    let ticket_a = http.ticket(&first, &pat, &open_rid, &["view"]).await;
    let ticket_b = http.ticket(&first, &pat, &claims_rid, &["view"]).await;
    let id_token = http.id_token(&first).await;
    let redeemed = http
        .uma_token(
            &first,
            CLIENT,
            &ticket_b,
            &[("claim_token", &id_token), ("claim_token_format", ID_TOKEN)],
        )
        .await
        .expect(StatusCode::OK);
    let (rpt, pct) = (redeemed.str("access_token"), redeemed.str("pct"));
    let before = http.introspect(&first, &pat, &rpt).await;
    let jwks_before = http.get(&first.url("/jwks"), None).await.expect(StatusCode::OK).body;
    assert_eq!(before["active"], json!(true), "{before}");

    // Act: stop gracefully, start again over the same data directory.
    first.stop();
    between_runs();
    let second = start("second.log");

    // Assert
    // The PAT still works, and the resource and its policy read back unchanged.
    let resource = http
        .get(&second.url(&format!("/resource_set/{open_rid}")), Some(&pat))
        .await
        .expect(StatusCode::OK);
    let mut expected = open_desc.clone();
    expected["_id"] = json!(open_rid);
    assert_eq!(resource.body, expected);
    let listed = http
        .get(&second.url("/resource_set"), Some(&pat))
        .await
        .expect(StatusCode::OK)
        .body;
    for rid in [&open_rid, &claims_rid] {
        assert!(
            listed.as_array().is_some_and(|a| a.contains(&json!(rid))),
            "{rid} not in {listed}"
        );
    }
    let policy = http
        .get(&second.url(&format!("/policy/{open_rid}")), Some(&pat))
        .await
        .expect(StatusCode::OK);
    assert_eq!(policy.body, open_policy);
    assert_eq!(policy.body, json!({"scopes": {}, "default": {"type": "open"}}));
    let policy = http
        .get(&second.url(&format!("/policy/{claims_rid}")), Some(&pat))
        .await
        .expect(StatusCode::OK);
    assert_eq!(policy.body, claims_policy);

    // The old RPT introspects active with the old PAT, with the same permissions.
    let after = http.introspect(&second, &pat, &rpt).await;
    assert_eq!(after["active"], json!(true), "{after}");
    assert_eq!(
        granted(&after),
        json!([{"resource_id": claims_rid, "resource_scopes": ["view"]}])
    );
    assert_eq!(after["exp"], before["exp"]);
    assert_eq!(after["client_id"], json!(CLIENT.0));

    // The unused ticket A redeems, once.
    let rpt_a = http
        .uma_token(&second, CLIENT, &ticket_a, &[])
        .await
        .expect(StatusCode::OK)
        .str("access_token");
    let intro_a = http.introspect(&second, &pat, &rpt_a).await;
    assert_eq!(
        granted(&intro_a),
        json!([{"resource_id": open_rid, "resource_scopes": ["view"]}])
    );
    let again = http.uma_token(&second, CLIENT, &ticket_a, &[]).await;
    assert_eq!(again.body["error"], json!("invalid_grant"), "{}", again.text);

    // Ticket B, used before the restart, stays used.
    let reused = http.uma_token(&second, CLIENT, &ticket_b, &[]).await;
    assert_eq!(reused.body["error"], json!("invalid_grant"), "{}", reused.text);

    // The dynamically registered client authenticates (and a wrong secret does not).
    let t = http.ticket(&second, &pat, &open_rid, &["view"]).await;
    let wrong = http.uma_token(&second, (&reg_id, "not-the-secret"), &t, &[]).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.text);
    assert_eq!(wrong.body["error"], json!("invalid_client"));
    let t = http.ticket(&second, &pat, &open_rid, &["view"]).await;
    let reg_rpt = http
        .uma_token(&second, (&reg_id, &reg_secret), &t, &[])
        .await
        .expect(StatusCode::OK);
    let intro = http.introspect(&second, &pat, &reg_rpt.str("access_token")).await;
    assert_eq!(intro["client_id"], json!(reg_id));

    // The PCT is honoured: without it the claims policy asks for claims, with it it grants.
    let t = http.ticket(&second, &pat, &claims_rid, &["view"]).await;
    let without = http.uma_token(&second, CLIENT, &t, &[]).await;
    assert_eq!(without.status, StatusCode::FORBIDDEN, "{}", without.text);
    assert_eq!(without.body["error"], json!("need_info"));
    let t = without.str("ticket");
    let with_pct = http
        .uma_token(&second, CLIENT, &t, &[("pct", &pct)])
        .await
        .expect(StatusCode::OK);
    let intro = http.introspect(&second, &pat, &with_pct.str("access_token")).await;
    assert_eq!(
        granted(&intro),
        json!([{"resource_id": claims_rid, "resource_scopes": ["view"]}])
    );

    // The demo IdP has a new in-memory key, and its fresh ID tokens work.
    let t = http.ticket(&second, &pat, &claims_rid, &["view"]).await;
    let id_token = http.id_token(&second).await;
    http.uma_token(
        &second,
        CLIENT,
        &t,
        &[("claim_token", &id_token), ("claim_token_format", ID_TOKEN)],
    )
    .await
    .expect(StatusCode::OK);

    // The AS signing key survived.
    let jwks_after = http.get(&second.url("/jwks"), None).await.expect(StatusCode::OK).body;
    assert_eq!(jwks_after, jwks_before);

    second.stop();
}
