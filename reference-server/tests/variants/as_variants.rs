//! Authorization server variants, through the router (`oneshot`, no socket): each test sends the
//! same requests to an AS taking the variant and to the plain reference.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use uma_reference_server::Variant;
use url::Url;

use crate::common::*;

const EMAIL: &str = "bob@example.com";
/// RFC 7636 Appendix B: a verifier and its S256 challenge.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn bearer(t: &str) -> String {
    format!("Bearer {t}")
}

/// `view` needs `email=bob@example.com`.
fn email_policy() -> Value {
    json!({"scopes": {"view": {"type": "claims", "claims": {"email": EMAIL}}}})
}

/// An RPT for a fresh open resource with `scopes` (the ticket asks for all of them): `(rid, body)`.
async fn open_rpt(as_: &TestAs, pat: &str, scopes: &[&str], extra: &[(&str, &str)]) -> (String, Value) {
    let (rid, t) = as_.open_resource_ticket(pat, scopes, scopes).await;
    let r = as_.uma_token(&t, extra).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    (rid, r.json())
}

/// A ticket for a fresh resource with `view` under [`email_policy`], and the `need_info` answer
/// to a token request with it.
async fn need_info(as_: &TestAs) -> Resp {
    let pat = as_.pat().await;
    let rid = as_.resource(&pat, &["view"]).await;
    as_.policy(&pat, &rid, email_policy()).await;
    let t = as_.ticket_for(&pat, &rid, &["view"]).await;
    let r = as_.uma_token(&t, &[]).await;
    assert_eq!(r.error(), "need_info", "{}", r.text());
    r
}

/// The value of the hidden input `name` of an HTML form.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no `{name}` in {html}")) + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

/// The claims interaction endpoint for `ticket` (demo client, its redirect URI, a state, and an
/// S256 challenge unless `pkce` is false), relative to the AS's root.
fn claims_uri(base: &str, ticket: &str, pkce: bool) -> String {
    let mut pairs = vec![
        ("client_id", CLIENT.0),
        ("ticket", ticket),
        ("claims_redirect_uri", CLAIMS_REDIRECT),
        ("state", "st"),
    ];
    if pkce {
        pairs.push(("code_challenge", CHALLENGE));
        pairs.push(("code_challenge_method", "S256"));
    }
    format!("{base}?{}", form(&pairs))
}

/// The claims form the AS served: the cookie pair and the hidden inputs.
struct ClaimsForm {
    cookie: String,
    interaction: String,
    csrf: String,
    html: String,
}

async fn open_form(as_: &TestAs, uri: &str) -> ClaimsForm {
    let page = as_.get(uri, None).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let html = page.text();
    ClaimsForm {
        cookie: page.header("set-cookie").unwrap().split(';').next().unwrap().to_owned(),
        interaction: hidden(&html, "interaction"),
        csrf: hidden(&html, "csrf_token"),
        html,
    }
}

/// POSTs the claims form with `fields` besides the interaction id, and returns the answer.
async fn post_form(as_: &TestAs, f: &ClaimsForm, csrf: &str, fields: &[(&str, &str)]) -> Resp {
    let mut pairs = vec![("interaction", f.interaction.as_str()), ("csrf_token", csrf)];
    pairs.extend_from_slice(fields);
    let req = Request::post("/claims")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, &f.cookie)
        .body(Body::from(form(&pairs)))
        .unwrap();
    as_.send(req).await
}

fn location(r: &Resp) -> Url {
    assert_eq!(r.status, StatusCode::FOUND, "{}", r.text());
    Url::parse(&r.header("location").unwrap()).unwrap()
}

fn query(u: &Url, name: &str) -> Option<String> {
    u.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

// ---- assessment and results ----

#[tokio::test]
async fn partial_outcome_partial_grants_what_passed_where_the_reference_denies() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::PartialOutcomePartial)
        .await
        .iter()
        .zip([true, false])
    {
        let pat = as_.pat().await;
        let rid = as_.resource(&pat, &["view", "download"]).await;
        as_.policy(
            &pat,
            &rid,
            json!({"scopes": {"view": {"type": "open"}, "download": {"type": "deny"}}}),
        )
        .await;
        let t = as_.ticket_for(&pat, &rid, &["view", "download"]).await;
        let r = as_.uma_token(&t, &[]).await;
        if variant {
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            let i = as_.introspect(&pat, &r.str("access_token")).await;
            assert_eq!(i["permissions"][0]["resource_scopes"], json!(["view"]));
        } else {
            assert_eq!(r.error(), "request_denied");
        }
    }
}

#[tokio::test]
async fn partial_outcome_deny_refuses_where_the_reference_asks_for_claims() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::PartialOutcomeDeny)
        .await
        .iter()
        .zip([true, false])
    {
        let r = {
            let pat = as_.pat().await;
            let rid = as_.resource(&pat, &["view"]).await;
            as_.policy(&pat, &rid, email_policy()).await;
            let t = as_.ticket_for(&pat, &rid, &["view"]).await;
            as_.uma_token(&t, &[]).await
        };
        assert_eq!(r.error(), if variant { "request_denied" } else { "need_info" });
    }
}

#[tokio::test]
async fn partial_rpt_lists_ungranted_keeps_the_refused_resource_with_no_scope() {
    let listing = TestAs::with_variants(&[Variant::PartialRptListsUngranted]).await;
    let partial = TestAs::with_variants(&[Variant::PartialOutcomePartial]).await;
    let plain = TestAs::new().await;
    let mut seen = Vec::new();
    for as_ in [&listing, &partial, &plain] {
        let pat = as_.pat().await;
        let open = as_.resource(&pat, &["view"]).await;
        as_.policy(&pat, &open, json!({"default": {"type": "open"}})).await;
        let shut = as_.resource(&pat, &["view"]).await;
        as_.policy(&pat, &shut, json!({"default": {"type": "deny"}})).await;
        let t = as_
            .ticket(
                &pat,
                json!([{"resource_id": open, "resource_scopes": ["view"]}, {"resource_id": shut, "resource_scopes": ["view"]}]),
            )
            .await;
        let r = as_.uma_token(&t, &[]).await;
        if r.status != StatusCode::OK {
            seen.push(r.error());
            continue;
        }
        let i = as_.introspect(&pat, &r.str("access_token")).await;
        let listed: Vec<(String, Value)> = i["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["resource_id"].as_str().unwrap().to_owned(),
                    p["resource_scopes"].clone(),
                )
            })
            .collect();
        assert!(listed.contains(&(open.clone(), json!(["view"]))), "{listed:?}");
        seen.push(
            if listed.contains(&(shut.clone(), json!([]))) {
                "listed"
            } else {
                "omitted"
            }
            .to_owned(),
        );
    }
    assert_eq!(seen, ["listed", "omitted", "request_denied"]);
}

#[tokio::test]
async fn approval_before_claims_answers_request_submitted_where_the_reference_asks_for_claims() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::ApprovalBeforeClaims)
        .await
        .iter()
        .zip([true, false])
    {
        let pat = as_.pat().await;
        let rid = as_.resource(&pat, &["view", "edit"]).await;
        let policy = json!({"scopes": {
            "view": {"type": "claims", "claims": {"email": EMAIL}},
            "edit": {"type": "owner-approval"}
        }});
        as_.policy(&pat, &rid, policy).await;
        let t = as_.ticket_for(&pat, &rid, &["view", "edit"]).await;
        let r = as_.uma_token(&t, &[]).await;
        assert_eq!(r.error(), if variant { "request_submitted" } else { "need_info" });
    }
}

#[tokio::test]
async fn unregistered_scope_refused_answers_invalid_scope_where_the_reference_ignores_it() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::UnregisteredScopeRefused)
        .await
        .iter()
        .zip([true, false])
    {
        // The demo client is registered for view and download, not print.
        let pat = as_.pat().await;
        let (_, t) = as_.open_resource_ticket(&pat, &["view", "print"], &["view"]).await;
        let r = as_.uma_token(&t, &[("scope", "print")]).await;
        if variant {
            assert_eq!(r.error(), "invalid_scope");
        } else {
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        }
    }
}

#[tokio::test]
async fn ticket_spent_on_rejected_request_consumes_the_ticket_of_a_refused_request() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::TicketSpentOnRejectedRequest)
        .await
        .iter()
        .zip([true, false])
    {
        let pat = as_.pat().await;
        let (_, t1) = as_.open_resource_ticket(&pat, &["view"], &["view"]).await;
        let bad_auth = as_
            .form(
                "/token",
                Some(&basic((CLIENT.0, "wrong"))),
                &[("grant_type", UMA_GRANT), ("ticket", &t1)],
            )
            .await;
        assert_eq!(bad_auth.error(), "invalid_client");
        let (_, t2) = as_.open_resource_ticket(&pat, &["view"], &["view"]).await;
        let malformed = as_.uma_token(&t2, &[("claim_token", "x")]).await;
        assert_eq!(malformed.error(), "invalid_request");
        for t in [&t1, &t2] {
            let r = as_.uma_token(t, &[]).await;
            if variant {
                assert_eq!(r.error(), "invalid_grant", "digest P-11: spent");
            } else {
                assert_eq!(r.status, StatusCode::OK, "digest P-11: kept; {}", r.text());
            }
        }
    }
}

#[tokio::test]
async fn jwt_tickets_are_signed_jwts_and_still_single_use() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::JwtTickets)
        .await
        .iter()
        .zip([true, false])
    {
        let pat = as_.pat().await;
        let (_, t) = as_.open_resource_ticket(&pat, &["view"], &["view"]).await;
        assert_eq!(t.split('.').count() == 3, variant, "{t}");
        if variant {
            let header = jsonwebtoken::decode_header(&t).unwrap();
            assert_eq!(header.typ.as_deref(), Some("uma-ticket+jwt"));
        }
        assert_eq!(as_.uma_token(&t, &[]).await.status, StatusCode::OK);
        assert_eq!(as_.uma_token(&t, &[]).await.error(), "invalid_grant");
    }
}

// ---- the RPT response ----

#[tokio::test]
async fn jwt_rpt_issues_signed_rpts() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::JwtRpt)
        .await
        .iter()
        .zip([true, false])
    {
        let pat = as_.pat().await;
        let (_, body) = open_rpt(as_, &pat, &["view"], &[]).await;
        let rpt = body["access_token"].as_str().unwrap();
        assert_eq!(rpt.split('.').count() == 3, variant, "{rpt}");
        assert_eq!(
            as_.ctx.config.rpt_format == uma_reference_server::config::RptFormat::Jwt,
            variant
        );
    }
}

#[tokio::test]
async fn no_rpt_refresh_token_leaves_the_refresh_token_out_of_rpt_responses() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::NoRptRefreshToken)
        .await
        .iter()
        .zip([true, false])
    {
        let pat = as_.pat().await;
        let (_, body) = open_rpt(as_, &pat, &["view"], &[]).await;
        assert_eq!(body.get("refresh_token").is_none(), variant, "{body}");
    }
}

/// An RPT for `view download` and a refresh of it with `extra`: `(pat, first body, refresh answer)`.
async fn refreshed(as_: &TestAs, extra: &[(&str, &str)]) -> (String, Value, Resp) {
    let pat = as_.pat().await;
    let (_, body) = open_rpt(as_, &pat, &["view", "download"], &[]).await;
    let rt = body["refresh_token"].as_str().unwrap().to_owned();
    let mut pairs = vec![("grant_type", "refresh_token"), ("refresh_token", rt.as_str())];
    pairs.extend_from_slice(extra);
    let r = as_.form("/token", Some(&basic(CLIENT)), &pairs).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    (pat, body, r)
}

#[tokio::test]
async fn refresh_no_narrowing_keeps_every_scope_where_the_reference_narrows() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::RefreshNoNarrowing)
        .await
        .iter()
        .zip([true, false])
    {
        let (pat, _, r) = refreshed(as_, &[("scope", "view")]).await;
        let i = as_.introspect(&pat, &r.str("access_token")).await;
        let scopes = &i["permissions"][0]["resource_scopes"];
        assert_eq!(
            scopes,
            &if variant {
                json!(["download", "view"])
            } else {
                json!(["view"])
            }
        );
    }
}

#[tokio::test]
async fn refresh_token_rotates_returns_a_new_refresh_token_and_retires_the_old_one() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::RefreshTokenRotates)
        .await
        .iter()
        .zip([true, false])
    {
        let (_, first, r) = refreshed(as_, &[]).await;
        let old = first["refresh_token"].as_str().unwrap();
        let new = r.str("refresh_token");
        assert_eq!(new != old, variant);
        let again = as_
            .form(
                "/token",
                Some(&basic(CLIENT)),
                &[("grant_type", "refresh_token"), ("refresh_token", old)],
            )
            .await;
        if variant {
            assert_eq!(again.error(), "invalid_grant");
        } else {
            assert_eq!(again.status, StatusCode::OK);
        }
    }
}

#[tokio::test]
async fn refresh_without_new_refresh_token_answers_without_the_member_and_the_old_one_keeps_working() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::RefreshWithoutNewRefreshToken)
        .await
        .iter()
        .zip([true, false])
    {
        let (_, first, r) = refreshed(as_, &[]).await;
        assert_eq!(r.json().get("refresh_token").is_none(), variant, "{}", r.text());
        let old = first["refresh_token"].as_str().unwrap();
        let again = as_
            .form(
                "/token",
                Some(&basic(CLIENT)),
                &[("grant_type", "refresh_token"), ("refresh_token", old)],
            )
            .await;
        assert_eq!(again.status, StatusCode::OK);
    }
}

/// An RPT for a resource under [`email_policy`], pushing an ID token with the email: the body.
async fn pushed(as_: &TestAs, pat: &str) -> Value {
    let rid = as_.resource(pat, &["view"]).await;
    as_.policy(pat, &rid, email_policy()).await;
    let t = as_.ticket_for(pat, &rid, &["view"]).await;
    let r = as_.push_id_token(&t, &as_.id_token(&[("email", EMAIL)]).await).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()
}

/// A second request for a fresh resource under [`email_policy`], presenting `pct` only.
async fn with_pct(as_: &TestAs, pat: &str, pct: &str) -> Resp {
    let rid = as_.resource(pat, &["view"]).await;
    as_.policy(pat, &rid, email_policy()).await;
    let t = as_.ticket_for(pat, &rid, &["view"]).await;
    as_.uma_token(&t, &[("pct", pct)]).await
}

#[tokio::test]
async fn no_pct_never_issues_a_pct() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::NoPct)
        .await
        .iter()
        .zip([true, false])
    {
        let body = pushed(as_, &as_.pat().await).await;
        assert_eq!(body.get("pct").is_none(), variant, "{body}");
    }
}

#[tokio::test]
async fn pct_always_issues_a_pct_even_without_claims() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::PctAlways)
        .await
        .iter()
        .zip([true, false])
    {
        let pat = as_.pat().await;
        let (_, body) = open_rpt(as_, &pat, &["view"], &[]).await;
        assert_eq!(body.get("pct").is_some(), variant, "{body}");
    }
}

#[tokio::test]
async fn pct_not_reissued_keeps_the_presented_pct_where_the_reference_issues_a_new_one() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::PctNotReissued)
        .await
        .iter()
        .zip([true, false])
    {
        let pat = as_.pat().await;
        let pct = pushed(as_, &pat).await["pct"].as_str().unwrap().to_owned();
        let r = with_pct(as_, &pat, &pct).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert_eq!(r.json().get("pct").is_none(), variant, "{}", r.text());
        assert_eq!(
            with_pct(as_, &pat, &pct).await.status,
            StatusCode::OK,
            "the PCT stays usable"
        );
    }
}

#[tokio::test]
async fn pct_rotates_replaces_a_presented_pct_and_retires_it() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::PctRotates)
        .await
        .iter()
        .zip([true, false])
    {
        let pat = as_.pat().await;
        let pct = pushed(as_, &pat).await["pct"].as_str().unwrap().to_owned();
        let r = with_pct(as_, &pat, &pct).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let next = r.str("pct");
        assert_ne!(next, pct);
        let old_again = with_pct(as_, &pat, &pct).await;
        if variant {
            assert_eq!(old_again.error(), "need_info", "the rotated PCT is spent");
            assert_eq!(with_pct(as_, &pat, &next).await.status, StatusCode::OK);
        } else {
            assert_eq!(old_again.status, StatusCode::OK);
        }
    }
}

#[tokio::test]
async fn pct_after_consent_issues_a_pct_only_for_claims_the_requesting_party_agreed_to_keep() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::PctAfterConsent)
        .await
        .iter()
        .zip([true, false])
    {
        let pat = as_.pat().await;
        assert_eq!(pushed(as_, &pat).await.get("pct").is_none(), variant, "pushed claims");
        let mut pcts = Vec::new();
        for remember in [true, false] {
            let t1 = need_info(as_).await.str("ticket");
            let f = open_form(as_, &claims_uri("/claims", &t1, true)).await;
            assert_eq!(f.html.contains("name=\"remember\""), variant);
            let mut fields = vec![("email", EMAIL), ("action", "submit")];
            if remember {
                fields.push(("remember", "yes"));
            }
            let back = location(&post_form(as_, &f, &f.csrf, &fields).await);
            let t2 = query(&back, "ticket").unwrap();
            let r = as_.uma_token(&t2, &[("code_verifier", VERIFIER)]).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            pcts.push(r.json().get("pct").is_some());
        }
        assert_eq!(pcts, if variant { [true, false] } else { [true, true] });
    }
}

/// An RPT for one open resource, then a token request for another presenting it: both bodies.
async fn upgrade(as_: &TestAs, pat: &str) -> (String, String, Value) {
    let (r1, first) = open_rpt(as_, pat, &["view"], &[]).await;
    let rpt1 = first["access_token"].as_str().unwrap().to_owned();
    let (_, second) = open_rpt(as_, pat, &["view"], &[("rpt", &rpt1)]).await;
    (r1, rpt1, second)
}

fn resources(i: &Value) -> Vec<String> {
    i["permissions"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .map(|p| p["resource_id"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn no_upgrade_says_upgraded_false_and_leaves_the_old_rpt_alone() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::NoUpgrade)
        .await
        .iter()
        .zip([true, false])
    {
        let pat = as_.pat().await;
        let (r1, rpt1, second) = upgrade(as_, &pat).await;
        assert_eq!(second["upgraded"], json!(!variant));
        let i2 = as_.introspect(&pat, second["access_token"].as_str().unwrap()).await;
        assert_eq!(resources(&i2).contains(&r1), !variant);
        assert_eq!(as_.introspect(&pat, &rpt1).await["active"], json!(variant));
        if variant {
            // G-AS-24 still holds: a new RPT that happens to cover the one sent says so.
            let t = as_.ticket_for(&pat, &r1, &["view"]).await;
            let again = as_.uma_token(&t, &[("rpt", &rpt1)]).await.json();
            assert_eq!(again["upgraded"], json!(true), "{again}");
        }
    }
}

#[tokio::test]
async fn no_upgrade_flag_absent_ignores_the_rpt_without_an_upgraded_member() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::NoUpgradeFlagAbsent)
        .await
        .iter()
        .zip([true, false])
    {
        let pat = as_.pat().await;
        let (r1, _, second) = upgrade(as_, &pat).await;
        assert_eq!(second.get("upgraded").is_none(), variant, "{second}");
        let i2 = as_.introspect(&pat, second["access_token"].as_str().unwrap()).await;
        assert_eq!(resources(&i2).contains(&r1), !variant);
        if variant {
            // The flag appears, true, when the new RPT happens to cover the one sent (G-AS-24).
            let (r1, rpt1, _) = upgrade(as_, &pat).await;
            let t = as_.ticket_for(&pat, &r1, &["view"]).await;
            let again = as_.uma_token(&t, &[("rpt", &rpt1)]).await.json();
            assert_eq!(again["upgraded"], json!(true), "{again}");
        }
    }
}

#[tokio::test]
async fn upgraded_always_present_says_upgraded_false_when_no_rpt_was_sent() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::UpgradedAlwaysPresent)
        .await
        .iter()
        .zip([true, false])
    {
        let pat = as_.pat().await;
        let (_, body) = open_rpt(as_, &pat, &["view"], &[]).await;
        assert_eq!(body.get("upgraded"), variant.then_some(&json!(false)), "{body}");
        let (_, _, second) = upgrade(as_, &pat).await;
        assert_eq!(second["upgraded"], json!(true));
    }
}

#[tokio::test]
async fn upgrade_in_place_returns_the_same_rpt_string_grown() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::UpgradeInPlace)
        .await
        .iter()
        .zip([true, false])
    {
        let pat = as_.pat().await;
        let (r1, rpt1, second) = upgrade(as_, &pat).await;
        assert_eq!(second["upgraded"], json!(true));
        let rpt2 = second["access_token"].as_str().unwrap();
        assert_eq!(rpt2 == rpt1, variant, "digest P-20");
        let i2 = as_.introspect(&pat, rpt2).await;
        assert_eq!(resources(&i2).len(), 2);
        assert!(resources(&i2).contains(&r1));
        if variant {
            // An expired RPT is not revived: its upgrade is a new string.
            as_.ctx.clock.advance(as_.ctx.config.lifetimes.rpt + 1);
            let pat = as_.pat().await;
            let (_, third) = open_rpt(as_, &pat, &["view"], &[("rpt", rpt2)]).await;
            assert_eq!(third["upgraded"], json!(true));
            assert_ne!(third["access_token"].as_str().unwrap(), rpt2);
        }
    }
}

#[tokio::test]
async fn token_type_lowercase_says_bearer_in_lower_case_everywhere() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::TokenTypeLowercase)
        .await
        .iter()
        .zip([true, false])
    {
        let expected = json!(if variant { "bearer" } else { "Bearer" });
        let pat_answer = as_
            .form(
                "/token",
                Some(&basic(RS)),
                &[("grant_type", "client_credentials"), ("scope", "uma_protection")],
            )
            .await;
        assert_eq!(pat_answer.json()["token_type"], expected);
        let pat = pat_answer.str("access_token");
        let (_, body) = open_rpt(as_, &pat, &["view"], &[]).await;
        assert_eq!(body["token_type"], expected);
        let i = as_.introspect(&pat, body["access_token"].as_str().unwrap()).await;
        assert_eq!(i["token_type"], expected);
    }
}

#[tokio::test]
async fn extension_members_appear_in_token_answers_discovery_introspection_and_the_redirect_back() {
    const EXT: &str = uma_reference_server::core::grant::EXTENSION_MEMBER;
    for (as_, variant) in TestAs::with_and_without_variant(Variant::ExtensionMembers)
        .await
        .iter()
        .zip([true, false])
    {
        let pat = as_.pat().await;
        let (_, body) = open_rpt(as_, &pat, &["view"], &[]).await;
        assert_eq!(body.get(EXT).is_some(), variant);
        let err = as_.uma_token("no-such-ticket", &[]).await;
        assert_eq!(err.json().get(EXT).is_some(), variant);
        let doc = as_.get("/.well-known/uma2-configuration", None).await.json();
        assert_eq!(doc.get(EXT).is_some(), variant);
        let i = as_.introspect(&pat, body["access_token"].as_str().unwrap()).await;
        assert_eq!(i.get(EXT).is_some(), variant);
        let t1 = need_info(as_).await.str("ticket");
        let f = open_form(as_, &claims_uri("/claims", &t1, true)).await;
        let back = location(&post_form(as_, &f, &f.csrf, &[("email", EMAIL), ("action", "submit")]).await);
        assert_eq!(query(&back, EXT).is_some(), variant);
    }
}

#[tokio::test]
async fn oauth_errors_bare_leave_out_error_description() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::OauthErrorsBare)
        .await
        .iter()
        .zip([true, false])
    {
        let r = as_.uma_token("no-such-ticket", &[]).await;
        assert_eq!(r.error(), "invalid_grant");
        assert_eq!(r.json().get("error_description").is_none(), variant);
    }
}

// ---- need_info and request_submitted ----

#[tokio::test]
async fn need_info_required_claims_only_never_sends_redirect_user() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::NeedInfoRequiredClaimsOnly)
        .await
        .iter()
        .zip([true, false])
    {
        let r = need_info(as_).await.json();
        assert!(r["required_claims"].is_array());
        assert_eq!(r.get("redirect_user").is_none(), variant, "{r}");
    }
}

#[tokio::test]
async fn need_info_redirect_user_only_never_sends_required_claims() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::NeedInfoRedirectUserOnly)
        .await
        .iter()
        .zip([true, false])
    {
        let r = need_info(as_).await.json();
        assert!(r["redirect_user"].is_string());
        assert_eq!(r.get("required_claims").is_none(), variant, "{r}");
    }
}

#[tokio::test]
async fn redirect_user_with_query_carries_a_hint_the_claims_endpoint_accepts() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::RedirectUserWithQuery)
        .await
        .iter()
        .zip([true, false])
    {
        let r = need_info(as_).await;
        let mut redirect = Url::parse(&r.str("redirect_user")).unwrap();
        assert_eq!(query(&redirect, "rqp_hint").is_some(), variant, "{redirect}");
        // The client adds its parameters to the endpoint's own query (UMA Grant §3.3.2).
        redirect
            .query_pairs_mut()
            .append_pair("client_id", CLIENT.0)
            .append_pair("ticket", &r.str("ticket"))
            .append_pair("claims_redirect_uri", CLAIMS_REDIRECT)
            .append_pair("code_challenge", CHALLENGE)
            .append_pair("code_challenge_method", "S256");
        open_form(as_, &format!("{}?{}", redirect.path(), redirect.query().unwrap())).await;
    }
}

#[tokio::test]
async fn required_claims_name_only_sends_each_claim_by_name_alone() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::RequiredClaimsNameOnly)
        .await
        .iter()
        .zip([true, false])
    {
        let r = need_info(as_).await.json();
        let claim = r["required_claims"][0].as_object().unwrap().clone();
        assert_eq!(claim["name"], json!("email"));
        assert_eq!(claim.len() == 1, variant, "{claim:?}");
    }
}

#[tokio::test]
async fn request_submitted_without_interval_leaves_the_interval_out() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::RequestSubmittedWithoutInterval)
        .await
        .iter()
        .zip([true, false])
    {
        let pat = as_.pat().await;
        let rid = as_.resource(&pat, &["view"]).await;
        as_.policy(&pat, &rid, json!({"default": {"type": "owner-approval"}}))
            .await;
        let t = as_.ticket_for(&pat, &rid, &["view"]).await;
        let r = as_.uma_token(&t, &[]).await;
        assert_eq!(r.error(), "request_submitted");
        assert_eq!(r.json().get("interval").is_none(), variant, "{}", r.text());
        assert!(r.json()["ticket"].is_string());
    }
}

// ---- token endpoint requests ----

#[tokio::test]
async fn basic_auth_only_refuses_credentials_in_the_body_and_advertises_basic() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::BasicAuthOnly)
        .await
        .iter()
        .zip([true, false])
    {
        let pat = as_.pat().await;
        let (_, t) = as_.open_resource_ticket(&pat, &["view"], &["view"]).await;
        let r = as_
            .form(
                "/token",
                None,
                &[
                    ("grant_type", UMA_GRANT),
                    ("ticket", &t),
                    ("client_id", CLIENT.0),
                    ("client_secret", CLIENT.1),
                ],
            )
            .await;
        let doc = as_.get("/.well-known/uma2-configuration", None).await.json();
        let methods = &doc["token_endpoint_auth_methods_supported"];
        if variant {
            assert_eq!(r.error(), "invalid_client");
            assert_eq!(methods, &json!(["client_secret_basic", "none"]));
        } else {
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            assert!(methods.as_array().unwrap().contains(&json!("client_secret_post")));
        }
    }
}

#[tokio::test]
async fn invalid_client_400_without_header_answers_400_unless_basic_was_tried() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::InvalidClient400WithoutHeader)
        .await
        .iter()
        .zip([true, false])
    {
        let body = as_
            .form(
                "/token",
                None,
                &[
                    ("grant_type", UMA_GRANT),
                    ("ticket", "t"),
                    ("client_id", CLIENT.0),
                    ("client_secret", "no"),
                ],
            )
            .await;
        assert_eq!(body.error(), "invalid_client");
        assert_eq!(
            body.status,
            if variant {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::UNAUTHORIZED
            }
        );
        assert_eq!(body.header("www-authenticate").is_none(), variant);
        let header = as_
            .form(
                "/token",
                Some(&basic((CLIENT.0, "no"))),
                &[("grant_type", UMA_GRANT), ("ticket", "t")],
            )
            .await;
        assert_eq!(
            header.status,
            StatusCode::UNAUTHORIZED,
            "RFC 6749 §5.2: 401 after a Basic attempt"
        );
    }
}

#[tokio::test]
async fn untyped_form_refused_refuses_a_token_request_without_content_type() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::UntypedFormRefused)
        .await
        .iter()
        .zip([true, false])
    {
        let pat = as_.pat().await;
        let (_, t) = as_.open_resource_ticket(&pat, &["view"], &["view"]).await;
        let req = Request::post("/token")
            .header(header::AUTHORIZATION, basic(CLIENT))
            .body(Body::from(form(&[("grant_type", UMA_GRANT), ("ticket", &t)])))
            .unwrap();
        let r = as_.send(req).await;
        if variant {
            assert_eq!(r.error(), "invalid_request");
        } else {
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        }
    }
}

#[tokio::test]
async fn client_credentials_any_registered_scope_issues_a_plain_token_that_is_not_a_pat() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::ClientCredentialsAnyRegisteredScope)
        .await
        .iter()
        .zip([true, false])
    {
        let r = as_
            .form(
                "/token",
                Some(&basic(CLIENT)),
                &[("grant_type", "client_credentials"), ("scope", "view")],
            )
            .await;
        if variant {
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            let list = as_.get("/resource_set", Some(&bearer(&r.str("access_token")))).await;
            assert_eq!(list.status, StatusCode::FORBIDDEN);
            assert!(list.header("www-authenticate").unwrap().contains("insufficient_scope"));
        } else {
            assert_eq!(r.status, StatusCode::BAD_REQUEST);
        }
    }
}

// ---- endpoints offered and discovery ----

async fn discovery(as_: &TestAs) -> Value {
    as_.get("/.well-known/uma2-configuration", None).await.json()
}

#[tokio::test]
async fn endpoint_variants_withdraw_the_endpoint_and_its_advertisement() {
    for (variant, member, method, path) in [
        (Variant::NoDcr, "registration_endpoint", "POST", "/register"),
        (Variant::NoRevocation, "revocation_endpoint", "POST", "/revoke"),
        (
            Variant::NoIntrospection,
            "introspection_endpoint",
            "POST",
            "/introspect",
        ),
        (
            Variant::NoInteractiveClaims,
            "claims_interaction_endpoint",
            "GET",
            "/claims",
        ),
        (Variant::NoPatCodeFlow, "authorization_endpoint", "GET", "/authorize"),
    ] {
        for (as_, on) in TestAs::with_and_without_variant(variant)
            .await
            .iter()
            .zip([true, false])
        {
            assert_eq!(discovery(as_).await.get(member).is_none(), on, "{variant}");
            let r = as_
                .send(Request::builder().method(method).uri(path).body(Body::empty()).unwrap())
                .await;
            assert_eq!(r.status == StatusCode::NOT_FOUND, on, "{variant} {path}: {}", r.status);
        }
    }
}

#[tokio::test]
async fn no_revocation_also_drops_the_revocation_auth_methods() {
    let as_ = TestAs::with_variants(&[Variant::NoRevocation]).await;
    assert!(
        discovery(&as_)
            .await
            .get("revocation_endpoint_auth_methods_supported")
            .is_none()
    );
}

#[tokio::test]
async fn no_pat_code_flow_leaves_code_out_of_the_grant_and_response_types() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::NoPatCodeFlow)
        .await
        .iter()
        .zip([true, false])
    {
        let doc = discovery(as_).await;
        assert_eq!(doc["response_types_supported"] == json!([]), variant);
        let grants = doc["grant_types_supported"].as_array().unwrap();
        assert_eq!(grants.contains(&json!("authorization_code")), !variant);
    }
}

#[tokio::test]
async fn no_interactive_claims_sends_need_info_without_redirect_user() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::NoInteractiveClaims)
        .await
        .iter()
        .zip([true, false])
    {
        let r = need_info(as_).await.json();
        assert_eq!(r.get("redirect_user").is_none(), variant);
        assert!(r["required_claims"].is_array());
    }
}

#[tokio::test]
async fn dcr_replaces_invalid_metadata_registers_without_the_bad_uris() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::DcrReplacesInvalidMetadata)
        .await
        .iter()
        .zip([true, false])
    {
        let meta = json!({
            "client_name": "x",
            "claims_redirect_uris": ["relative/path", "https://c.example/claims"],
            "redirect_uris": "https://c.example/not-an-array",
        });
        let r = as_.json("POST", "/register", None, &meta).await;
        if variant {
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
            assert_eq!(r.json()["claims_redirect_uris"], json!(["https://c.example/claims"]));
            assert_eq!(r.json()["redirect_uris"], json!([]));
        } else {
            assert_eq!(r.status, StatusCode::BAD_REQUEST);
        }
    }
}

#[tokio::test]
async fn revoke_rpt_revokes_grant_takes_the_refresh_token_with_the_rpt() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::RevokeRptRevokesGrant)
        .await
        .iter()
        .zip([true, false])
    {
        let pat = as_.pat().await;
        let (_, body) = open_rpt(as_, &pat, &["view"], &[]).await;
        let rpt = body["access_token"].as_str().unwrap();
        let r = as_.form("/revoke", Some(&basic(CLIENT)), &[("token", rpt)]).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(as_.introspect(&pat, rpt).await["active"], json!(false));
        let refresh = as_
            .form(
                "/token",
                Some(&basic(CLIENT)),
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", body["refresh_token"].as_str().unwrap()),
                ],
            )
            .await;
        if variant {
            assert_eq!(refresh.error(), "invalid_grant");
        } else {
            assert_eq!(refresh.status, StatusCode::OK);
        }
    }
}

#[tokio::test]
async fn introspection_plain_tokens_describes_the_callers_own_pat() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::IntrospectionPlainTokens)
        .await
        .iter()
        .zip([true, false])
    {
        let pat = as_.pat().await;
        let i = as_.introspect(&pat, &pat).await;
        assert_eq!(i["active"], json!(variant), "{i}");
        if variant {
            assert_eq!(i["scope"], json!("uma_protection"));
            assert!(i.get("permissions").is_none());
        }
    }
}

#[tokio::test]
async fn introspection_minimal_answers_with_active_and_bare_permissions() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::IntrospectionMinimal)
        .await
        .iter()
        .zip([true, false])
    {
        let pat = as_.pat().await;
        let (_, body) = open_rpt(as_, &pat, &["view"], &[]).await;
        let i = as_.introspect(&pat, body["access_token"].as_str().unwrap()).await;
        let keys: Vec<&String> = i.as_object().unwrap().keys().collect();
        let perm_keys: Vec<&String> = i["permissions"][0].as_object().unwrap().keys().collect();
        if variant {
            assert_eq!(keys, ["active", "permissions"]);
            assert_eq!(perm_keys, ["resource_id", "resource_scopes"]);
        } else {
            assert!(keys.len() > 2 && perm_keys.len() > 2, "{i}");
        }
    }
}

#[tokio::test]
async fn introspection_permission_times_gives_each_permission_exp_iat_and_nbf() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::IntrospectionPermissionTimes)
        .await
        .iter()
        .zip([true, false])
    {
        let pat = as_.pat().await;
        let (_, body) = open_rpt(as_, &pat, &["view"], &[]).await;
        let i = as_.introspect(&pat, body["access_token"].as_str().unwrap()).await;
        let p = &i["permissions"][0];
        assert!(p["exp"].is_i64());
        assert_eq!(
            p["iat"].is_i64() && p["nbf"].is_i64() && i["nbf"].is_i64(),
            variant,
            "{i}"
        );
    }
}

#[tokio::test]
async fn introspection_client_credentials_accepts_the_resource_servers_basic_credentials() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::IntrospectionClientCredentials)
        .await
        .iter()
        .zip([true, false])
    {
        let pat = as_.pat().await;
        let (_, body) = open_rpt(as_, &pat, &["view"], &[]).await;
        let rpt = body["access_token"].as_str().unwrap();
        let r = as_.form("/introspect", Some(&basic(RS)), &[("token", rpt)]).await;
        if variant {
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            assert_eq!(r.json()["active"], json!(true));
            let wrong = as_
                .form("/introspect", Some(&basic((RS.0, "no"))), &[("token", rpt)])
                .await;
            assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        } else {
            assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        }
    }
}

#[tokio::test]
async fn no_rfc8414_document_serves_the_uma_document_only() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::NoRfc8414Document)
        .await
        .iter()
        .zip([true, false])
    {
        let oauth = as_.get("/.well-known/oauth-authorization-server", None).await;
        assert_eq!(oauth.status == StatusCode::NOT_FOUND, variant);
        assert_eq!(
            as_.get("/.well-known/uma2-configuration", None).await.status,
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn minimal_discovery_leaves_out_the_optional_members_whose_default_holds() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::MinimalDiscovery)
        .await
        .iter()
        .zip([true, false])
    {
        let doc = discovery(as_).await;
        for member in [
            "token_endpoint_auth_methods_supported",
            "revocation_endpoint_auth_methods_supported",
            "jwks_uri",
        ] {
            assert_eq!(doc.get(member).is_none(), variant, "{member}");
        }
        assert!(doc["response_types_supported"].is_array(), "REQUIRED members stay");
    }
}

#[tokio::test]
async fn issuer_with_path_serves_everything_under_the_issuers_path() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::IssuerWithPath)
        .await
        .iter()
        .zip([true, false])
    {
        let prefix = if variant { "/uma" } else { "" };
        let doc = as_
            .get(&format!("{prefix}/.well-known/uma2-configuration"), None)
            .await
            .json();
        assert_eq!(doc["issuer"], json!(format!("{ISSUER}{prefix}")));
        assert_eq!(doc["token_endpoint"], json!(format!("{ISSUER}{prefix}/token")));
        let rfc8414 = as_
            .get(&format!("/.well-known/oauth-authorization-server{prefix}"), None)
            .await;
        assert_eq!(rfc8414.status, StatusCode::OK);
        assert_eq!(rfc8414.json()["issuer"], doc["issuer"]);
        let root = as_.get("/.well-known/uma2-configuration", None).await;
        assert_eq!(root.status == StatusCode::NOT_FOUND, variant);
        if variant {
            let appended = as_.get("/uma/.well-known/oauth-authorization-server", None).await;
            assert_eq!(
                appended.status,
                StatusCode::NOT_FOUND,
                "RFC 8414 §3.1 inserts, never appends"
            );
        }
        let pat = as_
            .form(
                &format!("{prefix}/token"),
                Some(&basic(RS)),
                &[("grant_type", "client_credentials"), ("scope", "uma_protection")],
            )
            .await;
        assert_eq!(pat.status, StatusCode::OK);
    }
}

// ---- claims interaction and its profiles ----

#[tokio::test]
async fn pat_code_flow_pkce_optional_lets_a_confidential_client_sign_in_without_a_challenge() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::PatCodeFlowPkceOptional)
        .await
        .iter()
        .zip([true, false])
    {
        let redirect = "http://127.0.0.1:9/rs/callback";
        let uri = format!(
            "/authorize?{}",
            form(&[
                ("response_type", "code"),
                ("client_id", RS.0),
                ("redirect_uri", redirect),
                ("state", "s")
            ])
        );
        let page = as_.get(&uri, None).await;
        if !variant {
            assert_eq!(query(&location(&page), "error").as_deref(), Some("invalid_request"));
            continue;
        }
        assert_eq!(page.status, StatusCode::OK, "{}", page.text());
        let html = page.text();
        let cookie = page.header("set-cookie").unwrap().split(';').next().unwrap().to_owned();
        let req = Request::post("/authorize")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, cookie)
            .body(Body::from(form(&[
                ("interaction", &hidden(&html, "interaction")),
                ("csrf_token", &hidden(&html, "csrf_token")),
                ("username", "alice"),
                ("password", "alice-password"),
            ])))
            .unwrap();
        let code = query(&location(&as_.send(req).await), "code").unwrap();
        let r = as_
            .form(
                "/token",
                Some(&basic(RS)),
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", redirect),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }
}

#[tokio::test]
async fn claims_endpoint_unadvertised_keeps_gathering_reachable_through_redirect_user() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::ClaimsEndpointUnadvertised)
        .await
        .iter()
        .zip([true, false])
    {
        assert_eq!(
            discovery(as_).await.get("claims_interaction_endpoint").is_none(),
            variant
        );
        let r = need_info(as_).await;
        assert!(r.json()["redirect_user"].is_string());
        open_form(as_, &claims_uri("/claims", &r.str("ticket"), true)).await;
    }
}

#[tokio::test]
async fn claims_error_redirect_with_ticket_hands_a_live_ticket_back_with_the_error() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::ClaimsErrorRedirectWithTicket)
        .await
        .iter()
        .zip([true, false])
    {
        let t1 = need_info(as_).await.str("ticket");
        let f = open_form(as_, &claims_uri("/claims", &t1, true)).await;
        let back = location(&post_form(as_, &f, &f.csrf, &[("action", "cancel")]).await);
        assert_eq!(query(&back, "error").as_deref(), Some("access_denied"));
        assert_eq!(query(&back, "state").as_deref(), Some("st"));
        let ticket = query(&back, "ticket");
        assert_eq!(ticket.is_some(), variant);
        if let Some(t) = ticket {
            assert_ne!(t, t1);
            // The process goes on: the AS still needs the claims.
            assert_eq!(as_.uma_token(&t, &[]).await.error(), "need_info");
        }
    }
}

#[tokio::test]
async fn csrf_failure_error_redirect_sends_the_browser_back_with_an_error_and_no_ticket() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::CsrfFailureErrorRedirect)
        .await
        .iter()
        .zip([true, false])
    {
        let t1 = need_info(as_).await.str("ticket");
        let f = open_form(as_, &claims_uri("/claims", &t1, true)).await;
        let r = post_form(as_, &f, "forged", &[("email", EMAIL), ("action", "submit")]).await;
        if variant {
            let back = location(&r);
            assert_eq!(query(&back, "error").as_deref(), Some("access_denied"));
            assert!(query(&back, "ticket").is_none());
            // The interaction is over: the genuine form no longer works.
            let again = post_form(as_, &f, &f.csrf, &[("email", EMAIL), ("action", "submit")]).await;
            assert_eq!(again.status, StatusCode::BAD_REQUEST);
        } else {
            assert_eq!(r.status, StatusCode::FORBIDDEN);
        }
    }
}

#[tokio::test]
async fn no_claim_token_pushing_takes_no_pushed_claims_and_names_no_format() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::NoClaimTokenPushing)
        .await
        .iter()
        .zip([true, false])
    {
        let profiles = discovery(as_).await["uma_profiles_supported"].clone();
        assert_eq!(profiles.as_array().unwrap().contains(&json!(ID_TOKEN)), !variant);
        let pat = as_.pat().await;
        let rid = as_.resource(&pat, &["view"]).await;
        as_.policy(&pat, &rid, email_policy()).await;
        let t = as_.ticket_for(&pat, &rid, &["view"]).await;
        let r = as_.push_id_token(&t, &as_.id_token(&[("email", EMAIL)]).await).await;
        if variant {
            assert_eq!(r.error(), "need_info");
            assert!(r.json()["required_claims"][0].get("claim_token_format").is_none());
        } else {
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        }
    }
}

#[tokio::test]
async fn no_icg_pkce_drops_the_profile_and_ignores_challenges_and_verifiers() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::NoIcgPkce)
        .await
        .iter()
        .zip([true, false])
    {
        let profiles = discovery(as_).await["uma_profiles_supported"].clone();
        assert_eq!(
            profiles
                .as_array()
                .unwrap()
                .contains(&json!(uma_reference_server::core::discovery::PROFILE_ICG_PKCE)),
            !variant
        );
        let t1 = need_info(as_).await.str("ticket");
        let uri = claims_uri("/claims", &t1, false);
        if !variant {
            let back = location(&as_.get(&uri, None).await);
            assert_eq!(query(&back, "error").as_deref(), Some("invalid_request"));
            continue;
        }
        let f = open_form(as_, &uri).await;
        let back = location(&post_form(as_, &f, &f.csrf, &[("email", EMAIL), ("action", "submit")]).await);
        let t2 = query(&back, "ticket").unwrap();
        // A code_verifier is just an unknown parameter now.
        let r = as_.uma_token(&t2, &[("code_verifier", VERIFIER)]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }
}

#[tokio::test]
async fn icg_pkce_optional_accepts_a_claims_request_without_challenge() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::IcgPkceOptional)
        .await
        .iter()
        .zip([true, false])
    {
        let t1 = need_info(as_).await.str("ticket");
        let page = as_.get(&claims_uri("/claims", &t1, false), None).await;
        assert_eq!(page.status == StatusCode::OK, variant, "{}", page.status);
    }
}

#[tokio::test]
async fn pkce_plain_accepted_binds_a_plain_challenge_and_advertises_plain() {
    const PLAIN: &str = VERIFIER;
    for (as_, variant) in TestAs::with_and_without_variant(Variant::PkcePlainAccepted)
        .await
        .iter()
        .zip([true, false])
    {
        let methods = discovery(as_).await["code_challenge_methods_supported"].clone();
        assert_eq!(methods.as_array().unwrap().contains(&json!("plain")), variant);
        let t1 = need_info(as_).await.str("ticket");
        let uri = format!(
            "{}&{}",
            claims_uri("/claims", &t1, false),
            form(&[("code_challenge", PLAIN), ("code_challenge_method", "plain")])
        );
        if !variant {
            let back = location(&as_.get(&uri, None).await);
            assert_eq!(query(&back, "error").as_deref(), Some("invalid_request"));
            continue;
        }
        let f = open_form(as_, &uri).await;
        let back = location(&post_form(as_, &f, &f.csrf, &[("email", EMAIL), ("action", "submit")]).await);
        let t2 = query(&back, "ticket").unwrap();
        assert!(!t2.contains(PLAIN), "the challenge stays at the AS");
        let r = as_.uma_token(&t2, &[("code_verifier", PLAIN)]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }
}

#[tokio::test]
async fn no_icg_iss_sends_no_iss_back_and_advertises_none() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::NoIcgIss)
        .await
        .iter()
        .zip([true, false])
    {
        let doc = discovery(as_).await;
        assert_eq!(doc["authorization_response_iss_parameter_supported"], json!(!variant));
        let t1 = need_info(as_).await.str("ticket");
        let f = open_form(as_, &claims_uri("/claims", &t1, true)).await;
        let back = location(&post_form(as_, &f, &f.csrf, &[("email", EMAIL), ("action", "submit")]).await);
        assert_eq!(query(&back, "iss").is_none(), variant);
    }
}

// ---- resource registration ----

#[tokio::test]
async fn no_user_access_policy_uri_leaves_it_out_of_registration_answers() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::NoUserAccessPolicyUri)
        .await
        .iter()
        .zip([true, false])
    {
        let pat = as_.pat().await;
        let r = as_
            .json(
                "POST",
                "/resource_set",
                Some(&bearer(&pat)),
                &json!({"resource_scopes": ["view"]}),
            )
            .await;
        assert_eq!(r.json().get("user_access_policy_uri").is_none(), variant);
        let id = r.str("_id");
        let u = as_
            .json(
                "PUT",
                &format!("/resource_set/{id}"),
                Some(&bearer(&pat)),
                &json!({"resource_scopes": ["view"]}),
            )
            .await;
        assert_eq!(u.json().get("user_access_policy_uri").is_none(), variant);
        assert_eq!(u.str("_id"), id);
    }
}

#[tokio::test]
async fn resource_delete_200_answers_200_instead_of_204() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::ResourceDelete200)
        .await
        .iter()
        .zip([true, false])
    {
        let pat = as_.pat().await;
        let id = as_.resource(&pat, &["view"]).await;
        let r = as_
            .send(
                Request::delete(format!("/resource_set/{id}"))
                    .header(header::AUTHORIZATION, bearer(&pat))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(
            r.status,
            if variant {
                StatusCode::OK
            } else {
                StatusCode::NO_CONTENT
            }
        );
    }
}

#[tokio::test]
async fn resource_errors_without_body_keep_the_status_and_drop_the_json() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::ResourceErrorsWithoutBody)
        .await
        .iter()
        .zip([true, false])
    {
        let pat = as_.pat().await;
        let missing = as_.get("/resource_set/nope", Some(&bearer(&pat))).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        assert_eq!(missing.body.is_empty(), variant);
        let bad = as_
            .json("POST", "/resource_set", Some(&bearer(&pat)), &json!({"name": "x"}))
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert_eq!(bad.body.is_empty(), variant);
        let unauthenticated = as_.get("/resource_set", Some("Bearer nope")).await;
        assert_eq!(
            unauthenticated.status,
            StatusCode::UNAUTHORIZED,
            "PAT errors keep RFC 6750's shape"
        );
    }
}

#[tokio::test]
async fn resource_set_no_trailing_slash_serves_the_advertised_path_only() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::ResourceSetNoTrailingSlash)
        .await
        .iter()
        .zip([true, false])
    {
        let pat = as_.pat().await;
        let body = json!({"resource_scopes": ["view"]});
        let slash = as_.json("POST", "/resource_set/", Some(&bearer(&pat)), &body).await;
        assert_eq!(
            slash.status,
            if variant {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::CREATED
            }
        );
        let plain = as_.json("POST", "/resource_set", Some(&bearer(&pat)), &body).await;
        assert_eq!(plain.status, StatusCode::CREATED);
    }
}

#[tokio::test]
async fn body_id_variants_refuse_or_ignore_an_id_in_the_update_body() {
    for (variant, matching, other) in [
        (
            Some(Variant::BodyIdRefused),
            StatusCode::BAD_REQUEST,
            StatusCode::BAD_REQUEST,
        ),
        (Some(Variant::BodyIdMismatchIgnored), StatusCode::OK, StatusCode::OK),
        (None, StatusCode::OK, StatusCode::BAD_REQUEST),
    ] {
        let as_ = TestAs::with_variants(variant.as_slice()).await;
        let pat = as_.pat().await;
        let r1 = as_.resource(&pat, &["view"]).await;
        let r2 = as_.resource(&pat, &["view"]).await;
        let put = |id: &str| json!({"_id": id, "resource_scopes": ["view", "print"]});
        let same = as_
            .json("PUT", &format!("/resource_set/{r1}"), Some(&bearer(&pat)), &put(&r1))
            .await;
        assert_eq!(same.status, matching, "{variant:?}");
        let diff = as_
            .json("PUT", &format!("/resource_set/{r1}"), Some(&bearer(&pat)), &put(&r2))
            .await;
        assert_eq!(diff.status, other, "{variant:?}");
        if diff.status == StatusCode::OK {
            assert_eq!(diff.str("_id"), r1, "the path names the resource");
        }
        let untouched = as_.get(&format!("/resource_set/{r2}"), Some(&bearer(&pat))).await;
        assert_eq!(untouched.json()["resource_scopes"], json!(["view"]));
    }
}

#[tokio::test]
async fn pat_scope_omitted_leaves_scope_out_when_the_request_named_it() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::PatScopeOmitted)
        .await
        .iter()
        .zip([true, false])
    {
        let r = as_
            .form(
                "/token",
                Some(&basic(RS)),
                &[("grant_type", "client_credentials"), ("scope", "uma_protection")],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.json().get("scope").is_none(), variant, "{}", r.text());
        let unnamed = as_
            .form("/token", Some(&basic(RS)), &[("grant_type", "client_credentials")])
            .await;
        assert_eq!(
            unnamed.json()["scope"],
            json!("uma_protection"),
            "not what was asked: scope stays"
        );
    }
}

#[tokio::test]
async fn dcr_without_issued_at_leaves_client_id_issued_at_out() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::DcrWithoutIssuedAt)
        .await
        .iter()
        .zip([true, false])
    {
        let r = as_
            .json(
                "POST",
                "/register",
                None,
                &json!({"claims_redirect_uris": ["https://c.example/cb"]}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
        assert_eq!(r.json().get("client_id_issued_at").is_none(), variant);
        assert!(r.json()["client_id"].is_string());
    }
}

#[tokio::test]
async fn resource_location_relative_answers_create_with_a_path() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::ResourceLocationRelative)
        .await
        .iter()
        .zip([true, false])
    {
        let pat = as_.pat().await;
        let r = as_
            .json(
                "POST",
                "/resource_set",
                Some(&bearer(&pat)),
                &json!({"resource_scopes": ["view"]}),
            )
            .await;
        let loc = r.header("location").unwrap();
        let id = r.str("_id");
        let expected = if variant {
            format!("/resource_set/{id}")
        } else {
            format!("{ISSUER}/resource_set/{id}")
        };
        assert_eq!(loc, expected);
        assert_eq!(
            as_.get(&format!("/resource_set/{id}"), Some(&bearer(&pat)))
                .await
                .status,
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn numeric_resource_ids_are_decimal_numbers_that_work_like_any_id() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::NumericResourceIds)
        .await
        .iter()
        .zip([true, false])
    {
        let pat = as_.pat().await;
        let (rid, t) = as_.open_resource_ticket(&pat, &["view"], &["view"]).await;
        assert_eq!(rid.chars().all(|c| c.is_ascii_digit()), variant, "{rid}");
        assert_eq!(as_.uma_token(&t, &[]).await.status, StatusCode::OK);
    }
}

/// A string member of the script's value object (`name: "…"`).
fn script_value(html: &str, name: &str) -> String {
    let start = html.find(&format!("{name}: \"")).unwrap() + name.len() + 3;
    html[start..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn claims_page_script_builds_the_form_in_a_script_allowed_by_its_nonce_alone() {
    for (as_, variant) in TestAs::with_and_without_variant(Variant::ClaimsPageScript)
        .await
        .iter()
        .zip([true, false])
    {
        let t1 = need_info(as_).await.str("ticket");
        let page = as_.get(&claims_uri("/claims", &t1, true), None).await;
        assert_eq!(page.status, StatusCode::OK);
        let html = page.text();
        let csp = page.header("content-security-policy").unwrap().to_owned();
        if variant {
            assert!(!html.contains("<form"), "{html}");
            let nonce = html
                .split("<script nonce=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            assert!(csp.contains(&format!("script-src 'nonce-{nonce}'")), "{csp}");
            // What the script would post is what the HTML form posts.
            let f = ClaimsForm {
                cookie: page.header("set-cookie").unwrap().split(';').next().unwrap().to_owned(),
                interaction: script_value(&html, "interaction"),
                csrf: script_value(&html, "csrf"),
                html,
            };
            let r = post_form(as_, &f, &f.csrf, &[("email", EMAIL), ("action", "submit")]).await;
            assert!(query(&location(&r), "ticket").is_some());
        } else {
            assert!(html.contains("<form"));
            assert!(!csp.contains("script-src"), "{csp}");
        }
    }
}
