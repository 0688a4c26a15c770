//! The token endpoint's request-parsing, client-authentication and response quirks: each test
//! sends the same request to a conformant AS and to one with the quirk on.

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use uma_reference_server::Quirk;

/// A ticket for a fresh resource whose every scope is open.
async fn open_ticket(as_: &TestAs) -> String {
    let pat = as_.pat().await;
    as_.open_resource_ticket(&pat, &["view", "download"], &["view"]).await.1
}

/// POSTs a raw form body to the token endpoint with the demo client's Basic credentials.
async fn raw_token(as_: &TestAs, body: String) -> Resp {
    let req = Request::post("/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::AUTHORIZATION, basic(CLIENT))
        .body(Body::from(body))
        .unwrap();
    as_.send(req).await
}

#[tokio::test]
async fn quirk_param_names_case_insensitive_reads_an_upper_case_ticket() {
    for (as_, quirky) in TestAs::with_and_without(Quirk::ParamNamesCaseInsensitive)
        .await
        .iter()
        .zip([true, false])
    {
        let t = open_ticket(as_).await;
        let r = raw_token(as_, form(&[("grant_type", UMA_GRANT), ("TICKET", &t)])).await;
        if quirky {
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        } else {
            assert_eq!(r.error(), "invalid_request");
        }
    }
}

#[tokio::test]
async fn quirk_pct_with_claim_token_refused_rejects_the_combination() {
    for (as_, quirky) in TestAs::with_and_without(Quirk::PctWithClaimTokenRefused)
        .await
        .iter()
        .zip([true, false])
    {
        let t = open_ticket(as_).await;
        let id_token = as_.id_token(&[("email", "bob@example.com")]).await;
        let extra = [
            ("claim_token", id_token.as_str()),
            ("claim_token_format", ID_TOKEN),
            ("pct", "no-such-pct"),
        ];
        let r = as_.uma_token(&t, &extra).await;
        if quirky {
            assert_eq!(r.error(), "invalid_request");
        } else {
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        }
    }
}

#[tokio::test]
async fn quirk_client_auth_skipped_serves_a_confidential_client_by_client_id_alone() {
    for (as_, quirky) in TestAs::with_and_without(Quirk::ClientAuthSkipped)
        .await
        .iter()
        .zip([true, false])
    {
        let t = open_ticket(as_).await;
        let pairs = [
            ("grant_type", UMA_GRANT),
            ("ticket", t.as_str()),
            ("client_id", CLIENT.0),
        ];
        let r = as_.form("/token", None, &pairs).await;
        if quirky {
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        } else {
            assert_eq!(r.error(), "invalid_client");
        }
    }
}

#[tokio::test]
async fn quirk_rpt_response_with_scope_adds_the_granted_scopes() {
    for (as_, quirky) in TestAs::with_and_without(Quirk::RptResponseWithScope)
        .await
        .iter()
        .zip([true, false])
    {
        let t = open_ticket(as_).await;
        let r = as_.uma_token(&t, &[("scope", "view")]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let scope = r.json().get("scope").cloned();
        if quirky {
            assert_eq!(scope, Some("view".into()));
        } else {
            assert_eq!(scope, None);
        }
    }
}

#[tokio::test]
async fn quirk_basic_with_client_id_refused_counts_client_id_as_a_second_method() {
    for (as_, quirky) in TestAs::with_and_without(Quirk::BasicWithClientIdRefused)
        .await
        .iter()
        .zip([true, false])
    {
        let t = open_ticket(as_).await;
        let r = as_.uma_token(&t, &[("client_id", CLIENT.0)]).await;
        if quirky {
            assert_eq!(r.error(), "invalid_request");
        } else {
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        }
    }
}

#[tokio::test]
async fn quirk_token_get_accepted_issues_a_token_on_get() {
    for (as_, quirky) in TestAs::with_and_without(Quirk::TokenGetAccepted)
        .await
        .iter()
        .zip([true, false])
    {
        let t = open_ticket(as_).await;
        let path = format!("/token?{}", form(&[("grant_type", UMA_GRANT), ("ticket", &t)]));
        let r = as_.get(&path, Some(&basic(CLIENT))).await;
        if quirky {
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        } else {
            assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
        }
    }
}

#[tokio::test]
async fn quirk_empty_param_significant_keeps_an_empty_code_verifier() {
    for (as_, quirky) in TestAs::with_and_without(Quirk::EmptyParamSignificant)
        .await
        .iter()
        .zip([true, false])
    {
        let t = open_ticket(as_).await;
        let r = as_.uma_token(&t, &[("code_verifier", ""), ("scope", "")]).await;
        if quirky {
            assert_eq!(r.error(), "invalid_request");
        } else {
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        }
    }
}

#[tokio::test]
async fn quirk_unknown_param_rejected_refuses_an_extension_parameter() {
    for (as_, quirky) in TestAs::with_and_without(Quirk::UnknownParamRejected)
        .await
        .iter()
        .zip([true, false])
    {
        let t = open_ticket(as_).await;
        let r = as_.uma_token(&t, &[("x_extension", "1")]).await;
        if quirky {
            assert_eq!(r.error(), "invalid_request");
        } else {
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        }
    }
}

#[tokio::test]
async fn quirk_repeated_param_accepted_tolerates_only_an_identical_repeat() {
    for (as_, quirky) in TestAs::with_and_without(Quirk::RepeatedParamAccepted)
        .await
        .iter()
        .zip([true, false])
    {
        let t = open_ticket(as_).await;
        let same = as_.uma_token(&t, &[("ticket", t.as_str())]).await;
        let t2 = open_ticket(as_).await;
        let different = as_.uma_token(&t2, &[("scope", "view"), ("scope", "download")]).await;
        if quirky {
            assert_eq!(same.status, StatusCode::OK, "{}", same.text());
        } else {
            assert_eq!(same.error(), "invalid_request");
        }
        assert_eq!(different.error(), "invalid_request");
    }
}

#[tokio::test]
async fn quirk_token_response_incomplete_drops_token_type() {
    for (as_, quirky) in TestAs::with_and_without(Quirk::TokenResponseIncomplete)
        .await
        .iter()
        .zip([true, false])
    {
        let t = open_ticket(as_).await;
        let r = as_.uma_token(&t, &[]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert_eq!(r.json().get("token_type").is_none(), quirky);
    }
}

#[tokio::test]
async fn quirk_invalid_client_without_challenge_answers_400_without_www_authenticate() {
    for (as_, quirky) in TestAs::with_and_without(Quirk::InvalidClientWithoutChallenge)
        .await
        .iter()
        .zip([true, false])
    {
        let t = open_ticket(as_).await;
        let wrong = basic((CLIENT.0, "wrong-secret"));
        let r = as_
            .form("/token", Some(&wrong), &[("grant_type", UMA_GRANT), ("ticket", &t)])
            .await;
        assert_eq!(r.error(), "invalid_client");
        if quirky {
            assert_eq!(r.status, StatusCode::BAD_REQUEST);
            assert_eq!(r.header("www-authenticate"), None);
        } else {
            assert_eq!(r.status, StatusCode::UNAUTHORIZED);
            assert!(r.header("www-authenticate").is_some_and(|h| h.starts_with("Basic")));
        }
    }
}

#[tokio::test]
async fn quirk_unknown_grant_as_invalid_request_changes_the_error_code() {
    for (as_, quirky) in TestAs::with_and_without(Quirk::UnknownGrantAsInvalidRequest)
        .await
        .iter()
        .zip([true, false])
    {
        let r = as_
            .form(
                "/token",
                Some(&basic(CLIENT)),
                &[("grant_type", "urn:example:no-such-grant")],
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        let expected = if quirky {
            "invalid_request"
        } else {
            "unsupported_grant_type"
        };
        assert_eq!(r.error(), expected);
    }
}

#[tokio::test]
async fn quirk_two_auth_methods_accepted_ignores_the_body_secret_next_to_basic() {
    for (as_, quirky) in TestAs::with_and_without(Quirk::TwoAuthMethodsAccepted)
        .await
        .iter()
        .zip([true, false])
    {
        let t = open_ticket(as_).await;
        let r = as_
            .uma_token(&t, &[("client_id", CLIENT.0), ("client_secret", CLIENT.1)])
            .await;
        if quirky {
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        } else {
            assert_eq!(r.error(), "invalid_request");
        }
    }
}
