//! Starting the counterparts of RS and client targets (and, without a profile, the embedded
//! reference RS or client as the target).

use std::collections::BTreeMap;
use std::time::Duration;

use uma_reference_server::Role;
use uma_reference_server::config::StaticClient;
use uma_reference_server::types::ClientSecret;

use super::idp::TestIdp;
use super::reference::Alterations;
use super::{CounterpartAs, Counterparts, Party, REFERENCE_RS_REQUESTS, Served, StartError, Traffic};
use crate::profile::peer::{ClientTargetProfile, PeerProfile, RsTargetProfile};
use crate::profile::{AsAccess, ClientProfile, SecretSource, resolve};

/// Everything to stop when the run ends.
#[derive(Debug, Default)]
pub struct Running {
    counterpart: Option<CounterpartAs>,
    served: Vec<Served>,
    rs: Option<uma_reference_server::rs::ResourceServer>,
    client: Option<uma_reference_server::client::ReferenceClient>,
}

impl Running {
    /// Stops every server.
    pub async fn shutdown(self) {
        if let Some(c) = self.client {
            c.shutdown().await;
        }
        if let Some(r) = self.rs {
            r.shutdown().await;
        }
        for s in self.served {
            s.shutdown().await;
        }
        if let Some(c) = self.counterpart {
            c.served.shutdown().await;
        }
    }
}

fn static_client(id: &str, secret: &str, scope: &str, owner: Option<&str>, claims: Vec<String>) -> StaticClient {
    StaticClient {
        client_id: id.into(),
        client_secret: Some(ClientSecret::new(secret)),
        redirect_uris: vec![format!("http://127.0.0.1:9/{id}/callback")],
        claims_redirect_uris: claims,
        scope: scope.into(),
        owner: owner.map(str::to_string),
        client_name: Some(id.into()),
    }
}

fn secret_of(src: &SecretSource, what: &str) -> Result<String, StartError> {
    Ok(resolve(src, what, "the target profile")?.secret().to_string())
}

/// The reference RS's profile (as a third party would write it) for an RS at `base`.
pub fn reference_rs_profile(base: &str, client_id: &str, secret: &str) -> RsTargetProfile {
    RsTargetProfile {
        base_url: base.to_string(),
        as_client: crate::profile::peer::RsAsClient {
            client_id: client_id.into(),
            client_secret: SecretSource::Inline(secret.into()),
        },
        requests: REFERENCE_RS_REQUESTS
            .iter()
            .map(|(n, m, p, s)| {
                (
                    n.to_string(),
                    crate::profile::peer::RsRequestProfile {
                        method: Some(m.to_string()),
                        path: p.to_string(),
                        scope: Some(s.to_string()),
                    },
                )
            })
            .collect(),
    }
}

/// The counterpart AS's own target profile (the harness's actors at it), plus the target's
/// credentials as the actor `target` (RS targets: to set policies on the RS's resources) and the
/// counterpart RS's as `photoz` (client targets).
fn counterpart_access(issuer: &str, extra: &[(&str, &str, &str)]) -> Result<AsAccess, StartError> {
    let mut p = super::reference::profile(issuer);
    p.name = "harness counterpart AS".into();
    for (name, id, secret) in extra {
        p.clients.insert(
            name.to_string(),
            ClientProfile {
                client_id: id.to_string(),
                client_secret: Some(SecretSource::Inline(secret.to_string())),
                auth: None,
                scopes: Vec::new(),
                claims_redirect_uris: Vec::new(),
                redirect_uris: Vec::new(),
            },
        );
    }
    Ok(AsAccess::from_profile(p, "counterpart")?)
}

async fn run_setup(profile: &PeerProfile, as_issuer: &str, rs_base: &str) -> Result<(), StartError> {
    let Some(setup) = &profile.setup else {
        return Ok(());
    };
    let args: Vec<String> = setup
        .command
        .iter()
        .map(|a| a.replace("{as_issuer}", as_issuer).replace("{rs_base}", rs_base))
        .collect();
    let Some((prog, rest)) = args.split_first() else {
        return Err(StartError::Setup("`setup.command` is empty".into()));
    };
    let timeout = Duration::from_secs(setup.timeout_seconds.unwrap_or(30));
    let child = tokio::process::Command::new(prog)
        .args(rest)
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(timeout, child).await {
        Err(_) => Err(StartError::Setup(format!(
            "`setup.command` did not finish within {} s",
            timeout.as_secs()
        ))),
        Ok(Err(e)) => Err(StartError::Setup(format!(
            "failed to run `setup.command` ({prog}): {e}"
        ))),
        Ok(Ok(o)) if !o.status.success() => Err(StartError::Setup(format!(
            "`setup.command` failed ({}): {}",
            o.status,
            crate::diagnostic::printable(String::from_utf8_lossy(&o.stderr).trim())
        ))),
        Ok(Ok(_)) => Ok(()),
    }
}

/// The embedded reference RS over TLS (`run --tls`): its certificate from the run's CA, which
/// it trusts for its calls to the counterpart AS.
fn secure_rs(
    cfg: &mut uma_reference_server::rs::RsConfig,
    tls: Option<&super::reference::RunCa>,
) -> Result<(), StartError> {
    if let Some(ca) = tls {
        cfg.tls = Some(ca.server()?);
        cfg.trust_ca_pem = Some(ca.pem().to_string());
    }
    Ok(())
}

/// The client credentials of the embedded RS's second resource owner at the counterpart AS.
const SECOND_OWNER: (&str, &str) = ("target-rs-b", "target-rs-b-secret");

/// Starts the counterparts of an RS target: the counterpart AS, then the target (the embedded
/// reference RS with `quirks` when `profile` is `None`). Returns them, how the harness acts at the
/// counterpart AS, and what to stop at the end.
pub async fn start_for_rs(
    idp: &TestIdp,
    profile: Option<&PeerProfile>,
    alterations: &Alterations,
) -> Result<(Counterparts, AsAccess, Running), StartError> {
    let traffic = Traffic::new();
    let (rs_id, rs_secret) = match profile.and_then(|p| p.rs.as_ref()) {
        Some(rs) => (
            rs.as_client.client_id.clone(),
            secret_of(&rs.as_client.client_secret, "rs.as_client.client_secret")?,
        ),
        None => ("target-rs".to_string(), "target-rs-secret".to_string()),
    };
    let mut config = super::reference::config(idp, &Alterations::default());
    config.clients.push(static_client(
        &rs_id,
        &rs_secret,
        "uma_protection",
        Some("owner-target-rs"),
        Vec::new(),
    ));
    if profile.is_none() {
        // The embedded RS's second resource owner (variant rs-two-owners, quirk
        // rs-permission-mixes-owners): a client whose PATs stand for another owner.
        config.clients.push(static_client(
            SECOND_OWNER.0,
            SECOND_OWNER.1,
            "uma_protection",
            Some("owner-target-rs-b"),
            Vec::new(),
        ));
    }
    // A requested scope the RS never registered and nothing offers (`openid`, which some
    // libraries add to every token request, the PAT's too) is ignored (RFC 6749 §3.3), as for
    // client targets; it changes no answer to a request the reference RS sends.
    config.unknown_scopes = uma_reference_server::config::UnknownScopes::Ignore;
    let port = profile.map_or(0, |p| p.counterpart.as_port);
    let path = profile.and_then(|p| p.counterpart.as_path.as_deref());
    let tls = alterations.tls.as_ref();
    let counterpart = CounterpartAs::start_at(config, port, path, traffic.clone(), tls).await?;
    let as_issuer = counterpart.issuer().to_string();
    let mut running = Running {
        counterpart: Some(counterpart),
        ..Running::default()
    };
    let rs_profile = match profile {
        Some(p) => {
            run_setup(p, &as_issuer, "").await?;
            p.rs.clone()
                .ok_or_else(|| StartError::Setup("role `rs` needs an `rs:` section".into()))?
        }
        None => {
            let mut cfg = uma_reference_server::rs::RsConfig::new(
                as_issuer.clone(),
                rs_id.clone(),
                ClientSecret::new(rs_secret.clone()),
            );
            cfg.quirks = alterations.quirks(Role::Rs);
            cfg.variants = alterations.variants(Role::Rs);
            cfg.second_owner = Some(uma_reference_server::rs::OwnerCredentials {
                client_id: SECOND_OWNER.0.to_string(),
                client_secret: ClientSecret::new(SECOND_OWNER.1),
            });
            secure_rs(&mut cfg, tls)?;
            let rs =
                uma_reference_server::rs::ResourceServer::start(cfg, std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
                    .await
                    .map_err(|e| StartError::Reference {
                        what: "the reference RS",
                        message: e.to_string(),
                    })?;
            let p = reference_rs_profile(&rs.base_url(), &rs_id, &rs_secret);
            running.rs = Some(rs);
            p
        }
    };
    let access = counterpart_access(&as_issuer, &[("target", &rs_id, &rs_secret)])?;
    let world = Counterparts {
        traffic,
        as_issuer,
        rs_base: None,
        rs_ids: BTreeMap::new(),
        rs: Some(rs_profile),
        client: None,
        quiet_window: Duration::from_millis(300),
        serial: tokio::sync::Mutex::new(()),
    };
    Ok((world, access, running))
}

/// What the reference client does, claimed as a client target's capabilities.
fn reference_client_capabilities() -> Vec<crate::suite::Capability> {
    use crate::suite::Capability::*;
    vec![
        ClaimsPushing,
        InteractiveClaims,
        Polling,
        RptUpgrade,
        Pct,
        ProfileIcgPkce,
        ProfileIcgIss,
    ]
}

/// The harness's RS credentials at its own AS (client targets).
const PHOTOZ: (&str, &str) = ("harness-photoz", "harness-photoz-secret");

/// Starts the counterparts of a client target: the client (the embedded reference client with
/// `quirks` when `profile` is `None`), the counterpart AS that knows it, and the counterpart RS.
pub async fn start_for_client(
    idp: &TestIdp,
    profile: Option<&PeerProfile>,
    alterations: &Alterations,
) -> Result<(Counterparts, AsAccess, Running), StartError> {
    let traffic = Traffic::new();
    // The harness's own RS calls its AS too; only the client's requests are the target's.
    traffic.ignore_agent(uma_reference_server::rs::USER_AGENT);
    let mut running = Running::default();
    let (client_profile, quiet) = match profile.and_then(|p| p.client.as_ref()) {
        Some(c) => (
            c.clone(),
            Duration::from_millis(
                c.quiet_window_ms
                    .unwrap_or(500)
                    .min(crate::profile::peer::MAX_QUIET_WINDOW_MS),
            ),
        ),
        None => {
            let mut cfg = uma_reference_server::client::ClientConfig::new(
                "target-client".to_string(),
                ClientSecret::new("target-client-secret"),
            );
            cfg.quirks = alterations.quirks(Role::Client);
            cfg.variants = alterations.variants(Role::Client);
            // One poll after request_submitted gives the polling scenario a gap to measure
            // (G-C-23) and a ticket to compare (G-C-11); each more poll only waits another interval.
            cfg.max_polls = 1;
            if let Some(ca) = &alterations.tls {
                cfg.tls = Some(ca.server()?);
                cfg.trust_ca_pem = Some(ca.pem().to_string());
            }
            let c = uma_reference_server::client::ReferenceClient::start(
                cfg,
                std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            )
            .await
            .map_err(|e| StartError::Reference {
                what: "the reference client",
                message: e.to_string(),
            })?;
            let p = ClientTargetProfile {
                start_command: None,
                start_url: Some(format!(
                    "{}/start?resource={{resource}}&user={{user}}&id_token={{id_token}}",
                    c.base_url()
                )),
                registration: ClientProfile {
                    client_id: "target-client".into(),
                    client_secret: Some(SecretSource::Inline("target-client-secret".into())),
                    auth: None,
                    scopes: vec!["view".into(), "download".into()],
                    claims_redirect_uris: vec![c.claims_redirect_uri()],
                    redirect_uris: Vec::new(),
                },
                capabilities: alterations.capabilities(Role::Client, &reference_client_capabilities()),
                quiet_window_ms: Some(200),
                access_token_scope: None,
            };
            running.client = Some(c);
            (p, Duration::from_millis(200))
        }
    };
    let reg = &client_profile.registration;
    let secret = match &reg.client_secret {
        Some(s) => secret_of(s, "client.registration.client_secret")?,
        None => String::new(),
    };
    let mut config = super::reference::config(idp, &Alterations::default());
    config.clients.push(static_client(
        &reg.client_id,
        &secret,
        &reg.scopes.join(" "),
        None,
        reg.claims_redirect_uris.clone(),
    ));
    if secret.is_empty()
        && let Some(c) = config.clients.last_mut()
    {
        c.client_secret = None;
    }
    config.clients.push(static_client(
        PHOTOZ.0,
        PHOTOZ.1,
        "uma_protection",
        Some("owner-photoz"),
        Vec::new(),
    ));
    // Polling scenarios wait for the interval a few times: keep it short.
    config.poll_interval = 1;
    // Client libraries that start only with an access token in hand get one by
    // client_credentials (`{access_token}` in a client profile), and a requested scope the client never registered and nothing offers
    // (`openid`) is ignored (RFC 6749 §3.3). Both are conformant, and neither changes an answer
    // to a request the reference client sends; the client's requests are judged as they are.
    config.client_access_tokens = true;
    config.unknown_scopes = uma_reference_server::config::UnknownScopes::Ignore;
    // A client's token request labelled with another media type than a form is judged from the
    // traffic (R6749-13); the counterpart reads it as the form it carries, so the flow goes on.
    config.lenient_form_labels = true;
    let (as_port, rs_port) = profile.map_or((0, 0), |p| (p.counterpart.as_port, p.counterpart.rs_port));
    let path = profile.and_then(|p| p.counterpart.as_path.as_deref());
    let tls = alterations.tls.as_ref();
    let counterpart = CounterpartAs::start_at(config, as_port, path, traffic.clone(), tls).await?;
    let as_issuer = counterpart.issuer().to_string();
    running.counterpart = Some(counterpart);
    // The counterpart RS: the reference RS behind the recorder.
    let mut rs_cfg =
        uma_reference_server::rs::RsConfig::new(as_issuer.clone(), PHOTOZ.0.to_string(), ClientSecret::new(PHOTOZ.1));
    rs_cfg.trust_ca_pem = tls.map(|ca| ca.pem().to_string());
    let rs_state = uma_reference_server::rs::RsState::new(rs_cfg).await;
    rs_state.register().await.map_err(|e| StartError::Reference {
        what: "the counterpart RS (registering its resources)",
        message: e.to_string(),
    })?;
    let listener = super::bind(rs_port).await?;
    let served = Served::serve_secured(
        listener,
        uma_reference_server::rs::app(rs_state.clone()),
        traffic.clone(),
        Party::Rs,
        tls,
    )?;
    let rs_base = served.base.clone();
    running.served.push(served);
    if let Some(p) = profile {
        run_setup(p, &as_issuer, &rs_base).await?;
    }
    let access = counterpart_access(&as_issuer, &[("photoz", PHOTOZ.0, PHOTOZ.1)])?;
    let world = Counterparts {
        traffic,
        as_issuer,
        rs_base: Some(rs_base),
        // `photo:beach` → `beach`, so scenarios can write `$rs_ids.beach`.
        rs_ids: rs_state
            .resource_ids()
            .into_iter()
            .map(|(k, v)| (k.rsplit(':').next().unwrap_or(&k).to_string(), v))
            .collect(),
        rs: None,
        client: Some(client_profile),
        quiet_window: quiet,
        serial: tokio::sync::Mutex::new(()),
    };
    Ok((world, access, running))
}
