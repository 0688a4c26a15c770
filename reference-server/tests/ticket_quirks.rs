//! The quirks of ticket redemption, the assessment, upgrade, refresh and revocation, through
//! the router: each test runs the same exchange against a conformant AS and one with the quirk
//! on, and shows the difference.

use crate::common;

use std::sync::Arc;

use axum::http::StatusCode;
use common::*;
use serde_json::{Value, json};
use uma_reference_server::Quirk;

/// The email the claims policies of these tests require.
const BOB: &str = "bob@example.com";

/// Registers a second UMA client (RFC 7591) for `view` and returns its credentials.
async fn other_client(as_: &TestAs) -> (String, String) {
    let r = as_
        .json(
            "POST",
            "/register",
            None,
            &json!({"scope": "view", "claims_redirect_uris": ["https://other.example/claims"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    (r.str("client_id"), r.str("client_secret"))
}

/// An `uma-ticket` token request by any client.
async fn uma_token_by(as_: &TestAs, creds: (&str, &str), ticket: &str, extra: &[(&str, &str)]) -> Resp {
    let mut pairs = vec![("grant_type", UMA_GRANT), ("ticket", ticket)];
    pairs.extend_from_slice(extra);
    as_.form("/token", Some(&basic(creds)), &pairs).await
}

/// A revocation request by any client.
async fn revoke_by(as_: &TestAs, creds: (&str, &str), token: &str, hint: Option<&str>) -> Resp {
    let mut pairs = vec![("token", token)];
    if let Some(h) = hint {
        pairs.push(("token_type_hint", h));
    }
    as_.form("/revoke", Some(&basic(creds)), &pairs).await
}

/// An RPT for an open resource: (pat, resource id, token response).
async fn open_rpt(as_: &TestAs, scopes: &[&str], ticket_scopes: &[&str]) -> (String, String, Resp) {
    let pat = as_.pat().await;
    let (rid, t) = as_.open_resource_ticket(&pat, scopes, ticket_scopes).await;
    let r = as_.uma_token(&t, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    (pat, rid, r)
}

/// A resource whose `view` needs `email = bob@example.com`, and a ticket for `view`.
async fn claims_ticket(as_: &TestAs, pat: &str) -> (String, String) {
    let rid = as_.resource(pat, &["view"]).await;
    as_.policy(
        pat,
        &rid,
        json!({"scopes": {"view": {"type": "claims", "claims": {"email": BOB}}}}),
    )
    .await;
    let t = as_.ticket_for(pat, &rid, &["view"]).await;
    (rid, t)
}

/// Whether introspection shows `token` active.
async fn active(as_: &TestAs, pat: &str, token: &str) -> bool {
    as_.introspect(pat, token).await["active"] == json!(true)
}

/// The scopes introspection shows for `rid` in `token`.
async fn scopes_of(as_: &TestAs, pat: &str, token: &str, rid: &str) -> Vec<String> {
    let intro: Value = as_.introspect(pat, token).await;
    intro["permissions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["resource_id"] == json!(rid))
        .flat_map(|p| p["resource_scopes"].as_array().cloned().unwrap_or_default())
        .filter_map(|s| s.as_str().map(str::to_owned))
        .collect()
}

fn assert_error(r: &Resp, status: StatusCode, error: &str) {
    assert_eq!((r.status, r.error().as_str()), (status, error), "{}", r.text());
}

// ---- tickets ----

/// Two simultaneous redemptions of one ticket for an open resource.
async fn race(as_: TestAs) -> Vec<Resp> {
    let as_ = Arc::new(as_);
    let pat = as_.pat().await;
    let (_, t) = as_.open_resource_ticket(&pat, &["view"], &["view"]).await;
    let tasks: Vec<_> = (0..2)
        .map(|_| {
            let as_ = Arc::clone(&as_);
            let t = t.clone();
            tokio::spawn(async move { as_.uma_token(&t, &[]).await })
        })
        .collect();
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.expect("task"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quirk_ticket_race_lets_two_concurrent_redemptions_of_one_ticket_both_succeed() {
    // Arrange
    let [bad, good] = TestAs::with_and_without(Quirk::TicketRace).await;

    // Act
    let good_r = race(good).await;
    let bad_r = race(bad).await;

    // Assert
    let ok = |rs: &[Resp]| rs.iter().filter(|r| r.status == StatusCode::OK).count();
    assert_eq!(
        ok(&good_r),
        1,
        "{:?}",
        good_r.iter().map(Resp::text).collect::<Vec<_>>()
    );
    let loser = good_r.iter().find(|r| r.status != StatusCode::OK).expect("a loser");
    assert_error(loser, StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(ok(&bad_r), 2, "{:?}", bad_r.iter().map(Resp::text).collect::<Vec<_>>());
}

#[tokio::test]
async fn quirk_ticket_race_still_consumes_the_ticket() {
    // Arrange
    let as_ = TestAs::with_quirks(&[Quirk::TicketRace]).await;
    let pat = as_.pat().await;
    let (_, t) = as_.open_resource_ticket(&pat, &["view"], &["view"]).await;
    assert_eq!(as_.uma_token(&t, &[]).await.status, StatusCode::OK);

    // Act
    let replay = as_.uma_token(&t, &[]).await;

    // Assert
    assert_error(&replay, StatusCode::BAD_REQUEST, "invalid_grant");
}

/// Redeems a ticket for an open resource after its lifetime.
async fn redeem_expired(as_: &TestAs) -> Resp {
    let pat = as_.pat().await;
    let (_, t) = as_.open_resource_ticket(&pat, &["view"], &["view"]).await;
    as_.ctx.clock.advance(as_.ctx.config.lifetimes.ticket + 1);
    as_.uma_token(&t, &[]).await
}

#[tokio::test]
async fn quirk_expired_ticket_accepted_redeems_a_ticket_after_its_lifetime() {
    // Arrange
    let [bad, good] = TestAs::with_and_without(Quirk::ExpiredTicketAccepted).await;

    // Act
    let good_r = redeem_expired(&good).await;
    let bad_r = redeem_expired(&bad).await;

    // Assert
    assert_error(&good_r, StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(bad_r.status, StatusCode::OK, "{}", bad_r.text());
}

/// The demo client gets need_info; another client presents the new ticket with bob's claims.
async fn cross_client_redemption(as_: &TestAs) -> Resp {
    let pat = as_.pat().await;
    let (_, t1) = claims_ticket(as_, &pat).await;
    let r = as_.uma_token(&t1, &[]).await;
    assert_error(&r, StatusCode::FORBIDDEN, "need_info");
    let (id, secret) = other_client(as_).await;
    let id_token = as_.id_token(&[("email", BOB)]).await;
    uma_token_by(
        as_,
        (&id, &secret),
        &r.str("ticket"),
        &[("claim_token", &id_token), ("claim_token_format", ID_TOKEN)],
    )
    .await
}

#[tokio::test]
async fn quirk_ticket_cross_client_lets_another_client_redeem_a_rotated_ticket() {
    // Arrange
    let [bad, good] = TestAs::with_and_without(Quirk::TicketCrossClient).await;

    // Act
    let good_r = cross_client_redemption(&good).await;
    let bad_r = cross_client_redemption(&bad).await;

    // Assert
    assert_error(&good_r, StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(bad_r.status, StatusCode::OK, "{}", bad_r.text());
}

/// request_submitted, then a poll once the interval has passed.
async fn poll_after_interval(as_: &TestAs) -> Resp {
    let pat = as_.pat().await;
    let rid = as_.resource(&pat, &["view"]).await;
    as_.policy(&pat, &rid, json!({"scopes": {"view": {"type": "owner-approval"}}}))
        .await;
    let t1 = as_.ticket_for(&pat, &rid, &["view"]).await;
    let r = as_.uma_token(&t1, &[]).await;
    assert_error(&r, StatusCode::FORBIDDEN, "request_submitted");
    let interval = r.json()["interval"].as_i64().unwrap_or(1);
    as_.ctx.clock.advance(interval);
    as_.uma_token(&r.str("ticket"), &[]).await
}

#[tokio::test]
async fn quirk_submitted_ticket_short_lived_kills_the_ticket_before_the_client_may_poll() {
    // Arrange
    let [bad, good] = TestAs::with_and_without(Quirk::SubmittedTicketShortLived).await;

    // Act
    let good_r = poll_after_interval(&good).await;
    let bad_r = poll_after_interval(&bad).await;

    // Assert
    assert_error(&good_r, StatusCode::FORBIDDEN, "request_submitted");
    assert_error(&bad_r, StatusCode::BAD_REQUEST, "invalid_grant");
}

// ---- the assessment ----

/// Requests `download`, which the ticket's resource does not offer.
async fn unmatched_scope(as_: &TestAs) -> Resp {
    let pat = as_.pat().await;
    let (_, t) = as_.open_resource_ticket(&pat, &["view"], &["view"]).await;
    as_.uma_token(&t, &[("scope", "download")]).await
}

#[tokio::test]
async fn quirk_invalid_scope_ignored_drops_a_scope_no_ticket_resource_offers() {
    // Arrange
    let [bad, good] = TestAs::with_and_without(Quirk::InvalidScopeIgnored).await;

    // Act
    let good_r = unmatched_scope(&good).await;
    let bad_r = unmatched_scope(&bad).await;

    // Assert
    assert_error(&good_r, StatusCode::BAD_REQUEST, "invalid_scope");
    assert_eq!(bad_r.status, StatusCode::OK, "{}", bad_r.text());
}

/// A ticket for a resource that has no policy at all.
async fn no_policy(as_: &TestAs) -> Resp {
    let pat = as_.pat().await;
    let rid = as_.resource(&pat, &["view"]).await;
    let t = as_.ticket_for(&pat, &rid, &["view"]).await;
    as_.uma_token(&t, &[]).await
}

/// A ticket for a resource whose policy covers another scope only.
async fn policy_without_the_scope(as_: &TestAs) -> Resp {
    let pat = as_.pat().await;
    let rid = as_.resource(&pat, &["view", "print"]).await;
    as_.policy(&pat, &rid, json!({"scopes": {"print": {"type": "open"}}}))
        .await;
    let t = as_.ticket_for(&pat, &rid, &["view"]).await;
    as_.uma_token(&t, &[]).await
}

#[tokio::test]
async fn quirk_default_permit_grants_a_resource_without_any_policy_but_not_an_unlisted_scope() {
    // Arrange
    let [bad, good] = TestAs::with_and_without(Quirk::DefaultPermit).await;

    // Act
    let good_r = no_policy(&good).await;
    let bad_r = no_policy(&bad).await;
    let bad_unlisted = policy_without_the_scope(&bad).await;

    // Assert
    assert_error(&good_r, StatusCode::FORBIDDEN, "request_denied");
    assert_eq!(bad_r.status, StatusCode::OK, "{}", bad_r.text());
    assert_error(&bad_unlisted, StatusCode::FORBIDDEN, "request_denied");
}

// ---- upgrade ----

/// An RPT for r1, then an upgrade with a ticket for r2: (pat, old RPT, upgrade response).
async fn upgrade(as_: &TestAs) -> (String, String, Resp) {
    let (pat, _, first) = open_rpt(as_, &["view"], &["view"]).await;
    let old = first.str("access_token");
    let (_, t2) = as_.open_resource_ticket(&pat, &["view"], &["view"]).await;
    let r = as_.uma_token(&t2, &[("rpt", &old)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    (pat, old, r)
}

#[tokio::test]
async fn quirk_upgrade_flag_missing_leaves_upgraded_out_of_an_upgrade() {
    // Arrange
    let [bad, good] = TestAs::with_and_without(Quirk::UpgradeFlagMissing).await;

    // Act
    let (_, _, good_r) = upgrade(&good).await;
    let (_, _, bad_r) = upgrade(&bad).await;

    // Assert
    assert_eq!(good_r.json()["upgraded"], json!(true));
    assert!(bad_r.json().get("upgraded").is_none(), "{}", bad_r.text());
}

#[tokio::test]
async fn quirk_upgrade_keeps_old_rpt_leaves_the_sent_rpt_active() {
    // Arrange
    let [bad, good] = TestAs::with_and_without(Quirk::UpgradeKeepsOldRpt).await;

    // Act
    let (good_pat, good_old, _) = upgrade(&good).await;
    let (bad_pat, bad_old, _) = upgrade(&bad).await;

    // Assert
    assert!(!active(&good, &good_pat, &good_old).await);
    assert!(active(&bad, &bad_pat, &bad_old).await);
}

// ---- refresh ----

/// An RPT for r1:[view] (r1 offers view and print), refreshed naming `print`: the refresh
/// response and the scopes the refreshed RPT holds.
async fn refresh_naming_print(as_: &TestAs) -> (Resp, Vec<String>) {
    let (pat, rid, r) = open_rpt(as_, &["view", "print"], &["view"]).await;
    let rt = r.str("refresh_token");
    let refreshed = as_
        .form(
            "/token",
            Some(&basic(CLIENT)),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &rt),
                ("scope", "print"),
            ],
        )
        .await;
    let scopes = if refreshed.status == StatusCode::OK {
        scopes_of(as_, &pat, &refreshed.str("access_token"), &rid).await
    } else {
        Vec::new()
    };
    (refreshed, scopes)
}

#[tokio::test]
async fn quirk_refresh_widens_scope_grants_a_registered_scope_the_rpt_never_held() {
    // Arrange
    let [bad, good] = TestAs::with_and_without(Quirk::RefreshWidensScope).await;

    // Act
    let (good_r, _) = refresh_naming_print(&good).await;
    let (bad_r, bad_scopes) = refresh_naming_print(&bad).await;

    // Assert
    assert_error(&good_r, StatusCode::BAD_REQUEST, "invalid_scope");
    assert_eq!(bad_r.status, StatusCode::OK, "{}", bad_r.text());
    assert_eq!(bad_scopes, vec!["print".to_owned()]);
}

// ---- revocation ----

/// Revokes the demo client's RPT as `creds`; whether the RPT is still active, and the answer.
async fn revoke_rpt_as(as_: &TestAs, creds: (&str, &str)) -> (bool, Resp) {
    let (pat, _, r) = open_rpt(as_, &["view"], &["view"]).await;
    let rpt = r.str("access_token");
    let revoked = revoke_by(as_, creds, &rpt, Some("access_token")).await;
    (active(as_, &pat, &rpt).await, revoked)
}

#[tokio::test]
async fn quirk_revocation_noop_answers_200_and_leaves_the_rpt_active() {
    // Arrange
    let [bad, good] = TestAs::with_and_without(Quirk::RevocationNoop).await;

    // Act
    let (good_active, good_r) = revoke_rpt_as(&good, CLIENT).await;
    let (bad_active, bad_r) = revoke_rpt_as(&bad, CLIENT).await;

    // Assert
    assert_eq!((good_r.status, good_active), (StatusCode::OK, false));
    assert_eq!((bad_r.status, bad_active), (StatusCode::OK, true));
}

#[tokio::test]
async fn quirk_revoke_any_clients_token_lets_another_client_revoke_an_rpt() {
    // Arrange
    let [bad, good] = TestAs::with_and_without(Quirk::RevokeAnyClientsToken).await;
    let good_other = other_client(&good).await;
    let bad_other = other_client(&bad).await;

    // Act
    let (good_active, _) = revoke_rpt_as(&good, (&good_other.0, &good_other.1)).await;
    let (bad_active, _) = revoke_rpt_as(&bad, (&bad_other.0, &bad_other.1)).await;

    // Assert
    assert!(good_active);
    assert!(!bad_active);
}

#[tokio::test]
async fn quirk_revocation_without_client_auth_serves_a_wrong_secret() {
    // Arrange
    let [bad, good] = TestAs::with_and_without(Quirk::RevocationWithoutClientAuth).await;
    let wrong = (CLIENT.0, "not-the-secret");

    // Act
    let (good_active, good_r) = revoke_rpt_as(&good, wrong).await;
    let (bad_active, bad_r) = revoke_rpt_as(&bad, wrong).await;

    // Assert
    assert_error(&good_r, StatusCode::UNAUTHORIZED, "invalid_client");
    assert!(good_active);
    assert_eq!(bad_r.status, StatusCode::OK, "{}", bad_r.text());
    assert!(!bad_active);
}

#[tokio::test]
async fn quirk_revoke_unknown_400_refuses_an_unknown_token() {
    // Arrange
    let [bad, good] = TestAs::with_and_without(Quirk::RevokeUnknown400).await;

    // Act
    let good_r = revoke_by(&good, CLIENT, "no-such-token", None).await;
    let bad_r = revoke_by(&bad, CLIENT, "no-such-token", None).await;

    // Assert
    assert_eq!(good_r.status, StatusCode::OK, "{}", good_r.text());
    assert_error(&bad_r, StatusCode::BAD_REQUEST, "invalid_request");
}

/// A PCT from a claims grant, revoked; then a new ticket presented with it.
async fn revoked_pct_presented(as_: &TestAs) -> Resp {
    let pat = as_.pat().await;
    let (rid, t) = claims_ticket(as_, &pat).await;
    let id_token = as_.id_token(&[("email", BOB)]).await;
    let r = as_.push_id_token(&t, &id_token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let pct = r.str("pct");
    let revoked = revoke_by(as_, CLIENT, &pct, Some("pct")).await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.text());
    let t2 = as_.ticket_for(&pat, &rid, &["view"]).await;
    as_.uma_token(&t2, &[("pct", &pct)]).await
}

#[tokio::test]
async fn quirk_revocation_ignores_pct_keeps_a_revoked_pct_usable() {
    // Arrange
    let [bad, good] = TestAs::with_and_without(Quirk::RevocationIgnoresPct).await;

    // Act
    let good_r = revoked_pct_presented(&good).await;
    let bad_r = revoked_pct_presented(&bad).await;

    // Assert
    assert_error(&good_r, StatusCode::FORBIDDEN, "need_info");
    assert_eq!(bad_r.status, StatusCode::OK, "{}", bad_r.text());
}
