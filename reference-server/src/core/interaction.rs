//! Browser-facing endpoints: the claims interaction endpoint (UMA Grant §3.3.2–3.3.3, §5.1, and
//! the PKCE and `iss` profiles of digest §10) and the login behind PATs issued by
//! authorization code.
//!
//! CSRF protection (UMA Grant §5.1): the GET binds a fresh session to the browser with a
//! cookie and embeds a separate token in the form; the POST must carry both.

use std::collections::BTreeMap;

use crate::core::clients::UMA_PROTECTION;
use crate::core::discovery::paths;
use crate::core::model::{Claim, ClaimsInteraction, LoginInteraction, TokenKind, TokenRecord};
use crate::core::protection::issue_ticket;
use crate::core::{Ctx, ProtocolError};
use crate::crypto::{ct_eq, hash_secret, is_pkce_value, pkce_s256, random_id, random_token};
use crate::quirks::Quirk;
use crate::types::AuthorizationCode;
use crate::variants::Variant;

/// Query or form parameters.
pub type Params = BTreeMap<String, String>;

/// What a browser endpoint answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WebResponse {
    /// An HTML page.
    Page {
        /// HTTP status.
        status: u16,
        /// The page.
        html: String,
        /// A `Set-Cookie` header value.
        set_cookie: Option<String>,
    },
    /// A 302 redirect.
    Redirect {
        /// The `Location`.
        location: String,
    },
}

/// The cookie that binds a claims-gathering session to the browser.
pub const CLAIMS_COOKIE: &str = "uma_claims";
/// The cookie that binds a login to the browser.
pub const LOGIN_COOKIE: &str = "uma_login";
/// The `iss` value sent under the `iss-wrong` quirk.
pub const WRONG_ISS: &str = "https://attacker.example";

/// Escapes text for HTML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <style>body{{font-family:sans-serif;max-width:32rem;margin:3rem auto}}label{{display:block;margin:.5rem 0}}</style>\
         </head><body><h1>{t}</h1>\n{body}\n</body></html>\n",
        t = escape(title)
    )
}

fn error_page(status: u16, message: &str) -> WebResponse {
    WebResponse::Page {
        status,
        html: page("Request refused", &format!("<p id=\"error\">{}</p>", escape(message))),
        set_cookie: None,
    }
}

/// Appends query parameters to a URI, keeping its existing query (UMA Grant §3.3.3).
pub fn append_query(uri: &str, params: &[(&str, &str)]) -> String {
    match url::Url::parse(uri) {
        Ok(mut u) => {
            {
                let mut q = u.query_pairs_mut();
                for (k, v) in params {
                    q.append_pair(k, v);
                }
            }
            u.to_string()
        }
        Err(_) => uri.to_owned(),
    }
}

/// Appends query parameters by string concatenation, as the `claims-redirect-fragment-accepted`
/// quirk does: after a fragment, they end up inside it.
fn concat_query(uri: &str, params: &[(&str, &str)]) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{query}")
}

fn iss_param(ctx: &Ctx) -> Option<&str> {
    if !ctx.config.icg_iss || ctx.quirk(Quirk::IssMissing) {
        None
    } else if ctx.quirk(Quirk::IssWrong) {
        Some(WRONG_ISS)
    } else {
        Some(&ctx.issuer)
    }
}

/// The redirect back to the client. `success`: the redirect carries a new ticket (the
/// `state-not-echoed` quirk drops `state` only there).
fn claims_redirect(
    ctx: &Ctx,
    uri: &str,
    mut params: Vec<(&str, String)>,
    state: Option<&str>,
    success: bool,
) -> WebResponse {
    if let Some(s) = state
        && !(success && ctx.quirk(Quirk::StateNotEchoed))
    {
        params.push(("state", s.to_owned()));
    }
    if let Some(iss) = iss_param(ctx) {
        params.push(("iss", iss.to_owned()));
    }
    let refs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let location = if ctx.quirk(Quirk::ClaimsRedirectFragmentAccepted) {
        concat_query(uri, &refs)
    } else {
        append_query(uri, &refs)
    };
    WebResponse::Redirect { location }
}

fn error_redirect(ctx: &Ctx, uri: &str, error: &str, description: &str, state: Option<&str>) -> WebResponse {
    claims_redirect(
        ctx,
        uri,
        vec![
            ("error", error.to_owned()),
            ("error_description", description.to_owned()),
        ],
        state,
        false,
    )
}

/// A session cookie: HttpOnly, SameSite=Lax, scoped to the endpoint, and Secure when the
/// issuer is served over https.
fn cookie_header(ctx: &Ctx, name: &str, value: &str, path: &str) -> String {
    let max_age = ctx.config.lifetimes.interaction;
    let secure = if ctx.issuer.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    format!("{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")
}

/// The path of an endpoint as the browser sees it: under the issuer's own path, if it has one
/// (an AS behind a reverse proxy at `https://host/uma`), so the cookie comes back with the form.
fn browser_path(ctx: &Ctx, endpoint: &str) -> String {
    url::Url::parse(&ctx.url(endpoint)).map_or_else(|_| endpoint.to_owned(), |u| u.path().to_owned())
}

/// GET of the claims interaction endpoint.
pub async fn claims_start(ctx: &Ctx, q: &Params) -> Result<WebResponse, ProtocolError> {
    // Errors about the client or the redirect URI are shown, never redirected (§3.3.3).
    let Some(client_id) = q.get("client_id") else {
        return Ok(error_page(400, "client_id is missing."));
    };
    let Some(client) = ctx.store.client(client_id).await? else {
        return Ok(error_page(400, "The client is not registered."));
    };
    let redirect_uri = match q.get("claims_redirect_uri") {
        Some(uri) if client.claims_redirect_uris.iter().any(|r| r == uri) => uri.clone(),
        // The quirk compares the URI without its fragment, then uses it as sent.
        Some(uri)
            if ctx.quirk(Quirk::ClaimsRedirectFragmentAccepted)
                && uri
                    .split_once('#')
                    .is_some_and(|(base, _)| client.claims_redirect_uris.iter().any(|r| r == base)) =>
        {
            uri.clone()
        }
        Some(uri)
            if ctx.quirk(Quirk::ClaimsRedirectUnregistered)
                && crate::core::clients::validate_redirect_uri(uri).is_ok() =>
        {
            uri.clone()
        }
        Some(_) => {
            return Ok(error_page(
                400,
                "claims_redirect_uri is not registered for this client.",
            ));
        }
        None if client.claims_redirect_uris.len() == 1 => client.claims_redirect_uris[0].clone(),
        None => {
            return Ok(error_page(
                400,
                "claims_redirect_uri is required: the client has not registered exactly one.",
            ));
        }
    };
    let state = q.get("state").map(String::as_str);
    let Some(ticket) = q.get("ticket") else {
        return Ok(error_redirect(
            ctx,
            &redirect_uri,
            "invalid_request",
            "ticket is required",
            state,
        ));
    };
    // The ticket is presented here, so it is spent whatever happens next (§5.5).
    let now = ctx.clock.now();
    let taken = ctx.store.take_ticket(&hash_secret(ticket)).await?;
    if let Some((data, exp)) = &taken
        && ctx.quirk(Quirk::ClaimsTicketNotSpent)
    {
        ctx.store.put_ticket(&hash_secret(ticket), data, *exp).await?;
    }
    let Some((data, exp)) = taken.filter(|(_, exp)| *exp > now) else {
        return Ok(error_redirect(
            ctx,
            &redirect_uri,
            "invalid_request",
            "unknown, used or expired ticket",
            state,
        ));
    };
    let _ = exp;
    if data.client_id.as_ref().is_some_and(|c| c != client_id) {
        return Ok(error_redirect(
            ctx,
            &redirect_uri,
            "invalid_request",
            "the ticket belongs to another client",
            state,
        ));
    }
    // PKCE profile (digest §10.1, rules 1 and 5).
    let method = q.get("code_challenge_method").map(String::as_str);
    // The quirk takes plain, binds it as the S256 of the challenge (so the verifier must equal
    // it) and hands the challenge back in clear inside the next ticket.
    let quirk_plain_challenge = q
        .get("code_challenge")
        .filter(|ch| ctx.quirk(Quirk::PlainMethodAccepted) && method == Some("plain") && is_pkce_value(ch))
        .cloned();
    // Variant no-icg-pkce: outside the profile, code_challenge is an unknown parameter.
    let sent_challenge = q.get("code_challenge").filter(|_| !ctx.variant(Variant::NoIcgPkce));
    let plain_ok = ctx.variant(Variant::PkcePlainAccepted);
    let challenge = match (sent_challenge, method) {
        (Some(ch), Some("S256")) if is_pkce_value(ch) => Some(ch.clone()),
        (Some(_), Some("plain")) if quirk_plain_challenge.is_some() => quirk_plain_challenge.as_deref().map(pkce_s256),
        // Variant pkce-plain-accepted (RFC 7636 §4.2, §4.3: plain, the default method): the
        // verifier must equal the challenge, so the S256 of the challenge is what gets bound,
        // kept at the AS like any binding.
        (Some(ch), Some("plain") | None) if plain_ok && is_pkce_value(ch) => Some(pkce_s256(ch)),
        (Some(_), Some("S256")) => {
            return Ok(error_redirect(
                ctx,
                &redirect_uri,
                "invalid_request",
                "code_challenge must be 43 to 128 unreserved characters",
                state,
            ));
        }
        (Some(_), _) => {
            return Ok(error_redirect(
                ctx,
                &redirect_uri,
                "invalid_request",
                "transform algorithm not supported: use S256",
                state,
            ));
        }
        (None, _) if ctx.config.icg_pkce == crate::config::PkceMode::Required && !ctx.variant(Variant::NoIcgPkce) => {
            let code = if ctx.quirk(Quirk::PkceMissingWrongError) {
                "access_denied"
            } else {
                "invalid_request"
            };
            return Ok(error_redirect(
                ctx,
                &redirect_uri,
                code,
                "code challenge required",
                state,
            ));
        }
        (None, _) => None,
    };
    let id = random_id();
    let cookie = random_token();
    let csrf = random_token();
    let record = ClaimsInteraction {
        ticket: data,
        quirk_ticket_value: ctx.quirk(Quirk::RedirectReusesTicket).then(|| ticket.clone()),
        client_id: client_id.clone(),
        claims_redirect_uri: redirect_uri,
        state: state.map(str::to_owned),
        code_challenge: challenge,
        quirk_plain_challenge,
        cookie_hash: hash_secret(&cookie),
        csrf_hash: hash_secret(&csrf),
        expires_at: now + ctx.config.lifetimes.interaction,
    };
    ctx.store.put_interaction(&id, &record, record.expires_at).await?;
    let client_name = client.client_name.unwrap_or(client.client_id);
    Ok(WebResponse::Page {
        status: 200,
        html: claims_form(ctx, &id, &csrf, &client_name, None),
        set_cookie: Some(cookie_header(
            ctx,
            &format!("{CLAIMS_COOKIE}_{id}"),
            &cookie,
            &browser_path(ctx, paths::CLAIMS),
        )),
    })
}

fn claims_form(ctx: &Ctx, id: &str, csrf: &str, client_name: &str, message: Option<&str>) -> String {
    if ctx.variant(Variant::ClaimsPageScript) {
        return scripted_claims_form(ctx, id, csrf, client_name, message);
    }
    let msg = message
        .map(|m| format!("<p id=\"error\">{}</p>", escape(m)))
        .unwrap_or_default();
    page(
        "Share your claims",
        &format!(
            "<p><strong>{client}</strong> asks for access on your behalf. The owner's policy needs some information about you.</p>\n{msg}\
             <form method=\"post\" action=\"{action}\">\n\
             <input type=\"hidden\" name=\"interaction\" value=\"{id}\">\n\
             <input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\n\
             <label>Email <input type=\"email\" name=\"email\" required></label>\n\
             <label>Name <input type=\"text\" name=\"name\"></label>\n{remember}\
             <button type=\"submit\" name=\"action\" value=\"submit\">Share</button>\n\
             <button type=\"submit\" name=\"action\" value=\"cancel\" formnovalidate>Cancel</button>\n\
             </form>",
            client = escape(client_name),
            action = escape(&ctx.url(paths::CLAIMS)),
            remember = if ctx.variant(Variant::PctAfterConsent) {
                "<label><input type=\"checkbox\" name=\"remember\" value=\"yes\"> Remember what I share for later requests</label>\n"
            } else {
                ""
            },
        ),
    )
}

/// The claims page of the `claims-page-script` variant: the same form, built by a script in
/// the browser (the HTML has no `<form>`). The values are JSON string literals with `<`, `>` and
/// `&` escaped, so nothing in them can close the script element.
fn scripted_claims_form(ctx: &Ctx, id: &str, csrf: &str, client_name: &str, message: Option<&str>) -> String {
    let js = |v: &str| {
        serde_json::Value::String(v.to_owned())
            .to_string()
            .replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026")
    };
    page(
        "Share your claims",
        &format!(
            "<div id=\"claims\"><noscript>This page needs JavaScript.</noscript></div>\n\
             <script nonce=\"{nonce}\">\n\
             (function () {{\n\
               var v = {{action: {action}, interaction: {id}, csrf: {csrf}, client: {client}, message: {message}, remember: {remember}}};\n\
               var root = document.getElementById('claims');\n\
               function el(tag, attrs, text) {{ var e = document.createElement(tag); for (var k in attrs) e.setAttribute(k, attrs[k]); if (text) e.textContent = text; return e; }}\n\
               var p = el('p'); p.appendChild(el('strong', {{}}, v.client)); p.appendChild(document.createTextNode(' asks for access on your behalf.')); root.appendChild(p);\n\
               if (v.message) root.appendChild(el('p', {{id: 'error'}}, v.message));\n\
               var f = el('form', {{method: 'post', action: v.action}});\n\
               f.appendChild(el('input', {{type: 'hidden', name: 'interaction', value: v.interaction}}));\n\
               f.appendChild(el('input', {{type: 'hidden', name: 'csrf_token', value: v.csrf}}));\n\
               var l1 = el('label', {{}}, 'Email '); l1.appendChild(el('input', {{type: 'email', name: 'email', required: ''}})); f.appendChild(l1);\n\
               var l2 = el('label', {{}}, 'Name '); l2.appendChild(el('input', {{type: 'text', name: 'name'}})); f.appendChild(l2);\n\
               if (v.remember) {{ var l3 = el('label'); l3.appendChild(el('input', {{type: 'checkbox', name: 'remember', value: 'yes'}})); l3.appendChild(document.createTextNode(' Remember what I share for later requests')); f.appendChild(l3); }}\n\
               f.appendChild(el('button', {{type: 'submit', name: 'action', value: 'submit'}}, 'Share'));\n\
               f.appendChild(el('button', {{type: 'submit', name: 'action', value: 'cancel', formnovalidate: ''}}, 'Cancel'));\n\
               root.appendChild(f);\n\
             }})();\n\
             </script>",
            action = js(&ctx.url(paths::CLAIMS)),
            id = js(id),
            csrf = js(csrf),
            client = js(client_name),
            message = message.map_or("null".to_owned(), js),
            remember = ctx.variant(Variant::PctAfterConsent),
            nonce = random_id(),
        ),
    )
}

/// POST of the claims form.
pub async fn claims_submit(
    ctx: &Ctx,
    form: &Params,
    cookies: &BTreeMap<String, String>,
) -> Result<WebResponse, ProtocolError> {
    let Some(id) = form.get("interaction") else {
        return Ok(error_page(400, "The form is incomplete."));
    };
    let Some(record) = ctx.store.interaction::<ClaimsInteraction>(id).await? else {
        return Ok(error_page(
            400,
            "This claims-gathering session is unknown or already finished.",
        ));
    };
    let cookie = cookies.get(&format!("{CLAIMS_COOKIE}_{id}"));
    let csrf = form.get("csrf_token");
    // The quirk trusts the session cookie alone and never looks at the form's token.
    let bound = cookie.is_some_and(|c| ct_eq(hash_secret(c).as_bytes(), record.cookie_hash.as_bytes()))
        && (ctx.quirk(Quirk::CsrfNotChecked)
            || csrf.is_some_and(|c| ct_eq(hash_secret(c).as_bytes(), record.csrf_hash.as_bytes())));
    if !bound {
        if ctx.variant(Variant::CsrfFailureErrorRedirect) && ctx.store.take_interaction(id).await? {
            // The interaction ends here and the client hears why, without a ticket (UMA Grant
            // §3.3.3: other failures are redirected with an error).
            return Ok(error_redirect(
                ctx,
                &record.claims_redirect_uri,
                "access_denied",
                "the claims form failed the anti-CSRF check",
                record.state.as_deref(),
            ));
        }
        return Ok(error_page(
            403,
            "This request did not come from the page the authorization server showed (CSRF check failed).",
        ));
    }
    let now = ctx.clock.now();
    if record.expires_at <= now {
        ctx.store.take_interaction(id).await?;
        return Ok(error_page(
            400,
            "This claims-gathering session has expired. Start again from the client.",
        ));
    }
    let state = record.state.as_deref();
    if form.get("action").map(String::as_str) == Some("cancel") {
        ctx.store.take_interaction(id).await?;
        if ctx.quirk(Quirk::CancelWithoutError) {
            // Back to the client as if nothing happened: no ticket, no error code.
            return Ok(claims_redirect(
                ctx,
                &record.claims_redirect_uri,
                Vec::new(),
                state,
                false,
            ));
        }
        let mut params = vec![
            ("error", "access_denied".to_owned()),
            ("error_description", "the requesting party declined".to_owned()),
        ];
        if ctx.variant(Variant::ClaimsErrorRedirectWithTicket) {
            // Digest P-12: a fresh ticket for the same process, so the client may go on at the
            // token endpoint without starting over at the resource server.
            let mut next = record.ticket.clone();
            next.client_id = Some(record.client_id.clone());
            params.push(("ticket", issue_ticket(ctx, &next).await?.into_secret()));
        }
        return Ok(claims_redirect(ctx, &record.claims_redirect_uri, params, state, false));
    }
    let email = form.get("email").map(|s| s.trim()).unwrap_or_default();
    if email.len() < 3 || !email.contains('@') || email.len() > 254 {
        let csrf = csrf.cloned().unwrap_or_default();
        return Ok(WebResponse::Page {
            status: 400,
            html: claims_form(ctx, id, &csrf, &record.client_id, Some("Enter a valid email address.")),
            set_cookie: None,
        });
    }
    if !ctx.store.take_interaction(id).await? {
        return Ok(error_page(400, "This claims-gathering session is already finished."));
    }
    let mut next = record.ticket.clone();
    next.client_id = Some(record.client_id.clone());
    if ctx.variant(Variant::PctAfterConsent) {
        // UMA Grant §3.3.3: the AS may use the interaction to ask consent to persist claims.
        next.persist_claims = next.persist_claims || form.get("remember").is_some_and(|v| v == "yes");
    }
    next.claims.push(Claim {
        name: "email".into(),
        value: serde_json::json!(email),
        issuer: ctx.issuer.clone(),
    });
    if let Some(name) = form.get("name").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        next.claims.push(Claim {
            name: "name".into(),
            value: serde_json::json!(name),
            issuer: ctx.issuer.clone(),
        });
    }
    // A challenge already bound to the ticket stays bound to every ticket rotated from it (PKCE
    // profile rule 2): a second gathering cannot swap in a challenge of its own.
    if next.code_challenge.is_none() {
        next.code_challenge = record.code_challenge.clone();
    }
    let ticket = match (&record.quirk_ticket_value, &record.quirk_plain_challenge) {
        (Some(old), _) => {
            ctx.store
                .put_ticket(&hash_secret(old), &next, now + ctx.config.lifetimes.ticket)
                .await?;
            old.clone()
        }
        // A "stateless" ticket that carries the plain challenge in clear.
        (None, Some(plain)) => {
            let value = format!("{}.{plain}", random_token());
            ctx.store
                .put_ticket(&hash_secret(&value), &next, now + ctx.config.lifetimes.ticket)
                .await?;
            value
        }
        (None, None) => issue_ticket(ctx, &next).await?.into_secret(),
    };
    let mut params = vec![("ticket", ticket)];
    if ctx.variant(Variant::ExtensionMembers) {
        // An extension parameter the client must ignore (UMA Grant §3.3.3).
        params.push((crate::core::grant::EXTENSION_MEMBER, "1".to_owned()));
    }
    if ctx.quirk(Quirk::RedirectLeaksClaims) {
        // Hands the gathered claims to the client along with the ticket.
        for c in &next.claims {
            let value = c.value.as_str().map_or_else(|| c.value.to_string(), str::to_owned);
            params.push((c.name.as_str(), value));
        }
    }
    Ok(claims_redirect(ctx, &record.claims_redirect_uri, params, state, true))
}

// ---- login for PATs by authorization code ----

fn login_redirect(ctx: &Ctx, uri: &str, mut params: Vec<(&str, String)>, state: Option<&str>) -> WebResponse {
    if let Some(s) = state {
        params.push(("state", s.to_owned()));
    }
    // RFC 9207: `iss` goes out exactly when discovery advertises
    // `authorization_response_iss_parameter_supported` (which follows `icg_iss`).
    if ctx.config.icg_iss {
        params.push(("iss", ctx.issuer.clone()));
    }
    let refs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    WebResponse::Redirect {
        location: append_query(uri, &refs),
    }
}

/// GET of the authorization endpoint: shows the login form.
pub async fn authorize_start(ctx: &Ctx, q: &Params) -> Result<WebResponse, ProtocolError> {
    let Some(client) = (match q.get("client_id") {
        Some(id) => ctx.store.client(id).await?,
        None => None,
    }) else {
        return Ok(error_page(400, "client_id is missing or unknown."));
    };
    let (redirect_uri, sent) = match q.get("redirect_uri") {
        Some(uri) if client.redirect_uris.iter().any(|r| r == uri) => (uri.clone(), true),
        Some(_) => return Ok(error_page(400, "redirect_uri is not registered for this client.")),
        None if client.redirect_uris.len() == 1 => (client.redirect_uris[0].clone(), false),
        None => return Ok(error_page(400, "redirect_uri is required.")),
    };
    let state = q.get("state").map(String::as_str);
    let fail = |code: &str, desc: &str| {
        Ok(login_redirect(
            ctx,
            &redirect_uri,
            vec![("error", code.to_owned()), ("error_description", desc.to_owned())],
            state,
        ))
    };
    if q.get("response_type").map(String::as_str) != Some("code") {
        return fail("unsupported_response_type", "only response_type=code is supported");
    }
    let challenge = match (
        q.get("code_challenge"),
        q.get("code_challenge_method").map(String::as_str),
    ) {
        (Some(ch), Some("S256")) if is_pkce_value(ch) => ch.clone(),
        // Variant pkce-plain-accepted: plain (the default method) binds the S256 of the
        // challenge, so the verifier must equal it.
        (Some(ch), Some("plain") | None) if ctx.variant(Variant::PkcePlainAccepted) && is_pkce_value(ch) => {
            pkce_s256(ch)
        }
        // Variant pat-code-flow-pkce-optional (RFC 7636 §5: servers MAY accept clients without
        // PKCE): a confidential client may go without; an empty challenge means none.
        (None, _) if ctx.variant(Variant::PatCodeFlowPkceOptional) && client.secret_hash.is_some() => String::new(),
        (None, _) => return fail("invalid_request", "code challenge required"),
        _ => {
            return fail(
                "invalid_request",
                "transform algorithm not supported or malformed challenge: use S256",
            );
        }
    };
    let scopes: Vec<String> = q
        .get("scope")
        .map(|s| s.split(' ').filter(|x| !x.is_empty()).map(str::to_owned).collect())
        .unwrap_or_else(|| vec![UMA_PROTECTION.to_owned()]);
    if scopes.iter().any(|s| s != UMA_PROTECTION) {
        return fail("invalid_scope", "only uma_protection can be requested");
    }
    let id = random_id();
    let cookie = random_token();
    let csrf = random_token();
    let now = ctx.clock.now();
    let rec = LoginInteraction {
        client_id: client.client_id.clone(),
        redirect_uri,
        redirect_uri_sent: sent,
        scopes,
        state: state.map(str::to_owned),
        code_challenge: challenge,
        cookie_hash: hash_secret(&cookie),
        csrf_hash: hash_secret(&csrf),
        expires_at: now + ctx.config.lifetimes.interaction,
    };
    ctx.store.put_interaction(&id, &rec, rec.expires_at).await?;
    Ok(WebResponse::Page {
        status: 200,
        html: login_form(
            ctx,
            &id,
            &csrf,
            client.client_name.as_deref().unwrap_or(&client.client_id),
            None,
        ),
        set_cookie: Some(cookie_header(
            ctx,
            &format!("{LOGIN_COOKIE}_{id}"),
            &cookie,
            &browser_path(ctx, paths::AUTHORIZE),
        )),
    })
}

fn login_form(ctx: &Ctx, id: &str, csrf: &str, client_name: &str, message: Option<&str>) -> String {
    let msg = message
        .map(|m| format!("<p id=\"error\">{}</p>", escape(m)))
        .unwrap_or_default();
    page(
        "Sign in",
        &format!(
            "<p><strong>{client}</strong> asks to protect your resources with this authorization server.</p>\n{msg}\
             <form method=\"post\" action=\"{action}\">\n\
             <input type=\"hidden\" name=\"interaction\" value=\"{id}\">\n\
             <input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\n\
             <label>Username <input type=\"text\" name=\"username\" required></label>\n\
             <label>Password <input type=\"password\" name=\"password\" required></label>\n\
             <button type=\"submit\">Sign in and allow</button>\n</form>",
            client = escape(client_name),
            action = escape(&ctx.url(paths::AUTHORIZE)),
        ),
    )
}

/// POST of the login form: checks the password and redirects with a code.
pub async fn authorize_submit(
    ctx: &Ctx,
    form: &Params,
    cookies: &BTreeMap<String, String>,
) -> Result<WebResponse, ProtocolError> {
    let Some(id) = form.get("interaction") else {
        return Ok(error_page(400, "The form is incomplete."));
    };
    let Some(rec) = ctx.store.interaction::<LoginInteraction>(id).await? else {
        return Ok(error_page(400, "This sign-in is unknown or already finished."));
    };
    let cookie = cookies.get(&format!("{LOGIN_COOKIE}_{id}"));
    let csrf = form.get("csrf_token");
    let bound = cookie.is_some_and(|c| ct_eq(hash_secret(c).as_bytes(), rec.cookie_hash.as_bytes()))
        && csrf.is_some_and(|c| ct_eq(hash_secret(c).as_bytes(), rec.csrf_hash.as_bytes()));
    if !bound {
        return Ok(error_page(
            403,
            "This request did not come from the sign-in page (CSRF check failed).",
        ));
    }
    let now = ctx.clock.now();
    if rec.expires_at <= now {
        ctx.store.take_interaction(id).await?;
        return Ok(error_page(400, "This sign-in has expired."));
    }
    let user = form.get("username").and_then(|u| ctx.user(u));
    let password = form.get("password").map(String::as_str).unwrap_or_default();
    // An unknown user costs the same hashing as a known one, so timing does not tell them apart.
    let expected = hash_secret(user.map_or("\u{0}no such user", |u| u.password.secret()));
    let ok = ct_eq(expected.as_bytes(), hash_secret(password).as_bytes()) && user.is_some();
    let Some(user) = user.filter(|_| ok) else {
        let csrf = csrf.cloned().unwrap_or_default();
        return Ok(WebResponse::Page {
            status: 401,
            html: login_form(ctx, id, &csrf, &rec.client_id, Some("Wrong username or password.")),
            set_cookie: None,
        });
    };
    if !ctx.store.take_interaction(id).await? {
        return Ok(error_page(400, "This sign-in is already finished."));
    }
    let code = AuthorizationCode::new(random_token());
    let token = TokenRecord {
        kind: TokenKind::Code,
        client_id: rec.client_id.clone(),
        grant_id: random_id(),
        owner: Some(user.username.clone()),
        scopes: rec.scopes.clone(),
        permissions: Vec::new(),
        claims: Vec::new(),
        refreshes: None,
        redirect_uri: rec.redirect_uri_sent.then(|| rec.redirect_uri.clone()),
        code_challenge: (!rec.code_challenge.is_empty()).then(|| rec.code_challenge.clone()),
        issued_at: now,
        expires_at: now + ctx.config.lifetimes.code,
        revoked: false,
    };
    ctx.store.put_token(&hash_secret(code.secret()), &token).await?;
    Ok(login_redirect(
        ctx,
        &rec.redirect_uri,
        vec![("code", code.into_secret())],
        rec.state.as_deref(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_existing_query_is_kept_when_parameters_are_added() {
        let u = append_query("https://c.example/cb?x=1", &[("ticket", "t"), ("state", "a b")]);
        assert_eq!(u, "https://c.example/cb?x=1&ticket=t&state=a+b");
    }

    #[test]
    fn concatenated_parameters_land_after_a_fragment() {
        assert_eq!(
            concat_query("https://c.example/cb#f", &[("ticket", "t"), ("state", "a b")]),
            "https://c.example/cb#f?ticket=t&state=a+b"
        );
        assert_eq!(
            concat_query("https://c.example/cb?x=1", &[("ticket", "t")]),
            "https://c.example/cb?x=1&ticket=t"
        );
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
