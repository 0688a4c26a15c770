//! `uma-reference-server client …`: the reference client on its own.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use super::{ClientConfig, ReferenceClient};
use crate::quirks::Quirk;
use crate::role::Role;
use crate::types::ClientSecret;
use crate::variants::Variant;

/// Run the reference UMA 2.0 client (a web-style client driven by `GET /start`).
#[derive(Debug, Parser)]
#[command(name = "uma-reference-server client")]
struct ClientArgs {
    /// The client's client_id at the AS.
    #[arg(long, required_unless_present = "list_variants")]
    client_id: Option<String>,
    /// The environment variable that holds the client secret.
    #[arg(long, value_name = "VAR", required_unless_present = "list_variants")]
    client_secret_env: Option<String>,
    /// Port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Accept only this issuer as as_uri (repeatable; without it, any loopback AS).
    #[arg(long = "trusted-issuer", value_name = "URL")]
    trusted_issuers: Vec<String>,
    /// Leave out PKCE on claims redirects.
    #[arg(long)]
    no_pkce: bool,
    /// request_submitted polls per flow.
    #[arg(long, default_value_t = 3)]
    max_polls: u32,
    /// Timeout of every outgoing HTTP call, in seconds.
    #[arg(long, default_value_t = 5)]
    http_timeout: u64,
    /// Commit a deliberate violation (repeatable; client quirks only).
    #[arg(long = "quirk", value_name = "NAME")]
    quirks: Vec<String>,
    /// Take a conformant alternative (repeatable; client variants only, see --list-variants).
    #[arg(long = "variant", value_name = "NAME")]
    variants: Vec<String>,
    /// List the client variants, one per line, with the freedoms each takes.
    #[arg(long)]
    list_variants: bool,
    #[command(flatten)]
    tls: crate::tls::TlsArgs,
}

/// Runs the client with `args` (the words after `client`) until Ctrl-C or SIGTERM. Prints the
/// base URL first on stdout.
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let argv = std::iter::once(OsString::from("client")).chain(args);
    let args = match ClientArgs::try_parse_from(argv) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    if args.list_variants {
        for v in Variant::of_role(Role::Client) {
            println!("{:<40} {:<22} {}", v.name(), v.freedoms().join(","), v.description());
        }
        return ExitCode::SUCCESS;
    }
    // clap requires both unless --list-variants is given.
    let (Some(client_id), Some(secret_env)) = (args.client_id, args.client_secret_env) else {
        eprintln!("error: --client-id and --client-secret-env are required");
        return ExitCode::from(2);
    };
    let Ok(secret) = std::env::var(&secret_env) else {
        eprintln!("error: environment variable {secret_env} is not set");
        return ExitCode::from(2);
    };
    let mut config = ClientConfig::new(client_id, ClientSecret::new(secret));
    config.trusted_issuers = (!args.trusted_issuers.is_empty()).then_some(args.trusted_issuers);
    config.pkce = !args.no_pkce;
    config.max_polls = args.max_polls;
    config.http_timeout = Duration::from_secs(args.http_timeout.max(1));
    for name in &args.quirks {
        match name.parse::<Quirk>() {
            Ok(q) if q.role() == Role::Client => config.quirks.insert(q),
            Ok(q) => {
                eprintln!("error: quirk `{q}` is not a client quirk");
                return ExitCode::from(2);
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    }
    for name in &args.variants {
        match name.parse::<Variant>() {
            Ok(v) if v.role() == Role::Client => config.variants.insert(v),
            Ok(v) => {
                eprintln!("error: variant `{v}` belongs to the {} role, not client", v.role());
                return ExitCode::from(2);
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    }
    if let Err(e) = config.variants.check() {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let tls = match args.tls.resolve() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    config.tls = tls.server;
    config.trust_ca_pem = tls.trust_ca_pem;
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "uma_reference_server=info".into()),
        )
        .try_init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: failed to start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let quirks: Vec<Quirk> = config.quirks.iter().collect();
        let variants: Vec<Variant> = config.variants.iter().collect();
        let addr = SocketAddr::from(([127, 0, 0, 1], args.port));
        let client = match ReferenceClient::start(config, addr).await {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        println!("{}", client.base_url());
        println!("claims_redirect_uri {}", client.claims_redirect_uri());
        if let Some(ca) = &tls.ca_written {
            println!("tls_ca {}", ca.display());
        }
        for q in quirks {
            tracing::warn!(
                quirk = q.name(),
                breaks = q.requirement(),
                "quirk enabled: this client is deliberately non-conformant"
            );
        }
        for v in variants {
            tracing::info!(variant = v.name(), freedoms = %v.freedoms().join(" "), "variant taken: a conformant alternative");
        }
        wait_for_signal().await;
        client.shutdown().await;
        ExitCode::SUCCESS
    })
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
