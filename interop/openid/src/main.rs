//! A client built on the crate `openid` (feature `uma2`): fetch one protected resource.
//!
//! Run by the harness once per browser visit (profile.yaml, `start_command`):
//!     interop-openid-client RESOURCE_URL
//!
//! The app requests the resource without a token; on a `401` with a `UMA` challenge it discovers
//! the AS with `Client::discover_uma2` (the UMA discovery document at
//! `{issuer}/.well-known/uma2-configuration`, then the key set) and asks for an RPT with
//! `obtain_requesting_party_token` (the ticket, client authentication by HTTP Basic, the
//! library's `Uma2AuthenticationMethod::Basic`), then retries with the RPT. Each visit starts
//! afresh.
//!
//! Configuration (environment): UMA_INTEROP_AS, UMA_INTEROP_CLIENT_ID, UMA_INTEROP_CLIENT_SECRET.

use base64::Engine as _;
use openid::uma2::{DiscoveredUma2, Uma2AuthenticationMethod};
use openid::{Client, StandardClaims};

fn ticket_of(response: &reqwest::Response) -> Option<String> {
    let header = response.headers().get("www-authenticate")?.to_str().ok()?;
    if !header.trim_start().to_ascii_lowercase().starts_with("uma ") {
        return None;
    }
    let rest = &header[header.find("ticket=\"")? + 8..];
    Some(rest[..rest.find('"')?].to_string())
}

async fn visit(resource: &str) -> Result<reqwest::Response, String> {
    let env = |n: &str| std::env::var(n).map_err(|_| format!("{n} is not set"));
    let (issuer, id, secret) = (
        env("UMA_INTEROP_AS")?,
        env("UMA_INTEROP_CLIENT_ID")?,
        env("UMA_INTEROP_CLIENT_SECRET")?,
    );
    let http = reqwest::Client::new();
    let first = http.get(resource).send().await.map_err(|e| e.to_string())?;
    let Some(ticket) = (first.status() == 401).then(|| ticket_of(&first)).flatten() else {
        return Ok(first);
    };
    let issuer = url::Url::parse(issuer.trim_end_matches('/')).map_err(|e| e.to_string())?;
    let client = Client::<DiscoveredUma2, StandardClaims>::discover_uma2(id.clone(), secret.clone(), None, issuer)
        .await
        .map_err(|e| format!("discovery: {e}"))?;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    let rpt = client
        .obtain_requesting_party_token(
            basic,
            Uma2AuthenticationMethod::Basic,
            Some(ticket),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        )
        .await
        .map_err(|e| format!("token: {e}"))?;
    http.get(resource)
        .bearer_auth(rpt)
        .send()
        .await
        .map_err(|e| e.to_string())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let resource = std::env::args().nth(1).unwrap_or_default();
    match visit(&resource).await {
        Ok(response) => {
            let status = response.status();
            println!("{}", status.as_u16());
            let body = response.text().await.unwrap_or_default();
            println!("{}", body.chars().take(200).collect::<String>());
            if status.is_success() {
                0.into()
            } else {
                1.into()
            }
        }
        Err(e) => {
            println!("error: {e}");
            1.into()
        }
    }
}
