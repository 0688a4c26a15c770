//! `uma-reference-server`: run the reference UMA 2.0 authorization server.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use uma_reference_server::rs::{ResourceServer, RsConfig};
use uma_reference_server::store::Durability;
use uma_reference_server::types::ClientSecret;
use uma_reference_server::{Config, Quirk, Server};

// The server allocates many small, short-lived objects per request; mimalloc handles that
// markedly better than the system allocator (see benches/throughput.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The reference UMA 2.0 authorization server (Grant + Federated Authorization).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Run another reference component instead of the authorization server.
    #[command(subcommand)]
    role: Option<Role>,
    /// Port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 8080, env = "UMA_AS_PORT")]
    port: u16,
    /// Configuration file (YAML). Without it, a demo configuration is used.
    #[arg(long, env = "UMA_AS_CONFIG")]
    config: Option<PathBuf>,
    /// Directory for the SQLite database.
    #[arg(long, default_value = "uma-data", env = "UMA_AS_DATA_DIR")]
    data_dir: PathBuf,
    /// When a write to SQLite is acknowledged: `batched` (default; at once while the writer is
    /// less than 10 ms behind, so a crash loses at most about the last 10 ms of writes) or
    /// `sync` (after its commit is on disk). Overrides `durability` in the configuration file.
    #[arg(long, value_name = "MODE", env = "UMA_AS_DURABILITY", value_parser = parse_durability)]
    durability: Option<Durability>,
    /// Commit a deliberate violation (repeatable; see --list-quirks).
    #[arg(long = "quirk", value_name = "NAME")]
    quirks: Vec<String>,
    /// List the quirks, one per line, with the requirement each breaks.
    #[arg(long)]
    list_quirks: bool,
    /// Write logs (on stderr) as JSON lines instead of text.
    #[arg(long, env = "UMA_AS_LOG_JSON")]
    log_json: bool,
}

/// The other reference components.
#[derive(Debug, clap::Subcommand)]
enum Role {
    /// The reference resource server: a photo API protected by the AS at --as-issuer.
    Rs(RsArgs),
}

/// `uma-reference-server rs`.
#[derive(Debug, clap::Args)]
struct RsArgs {
    /// The authorization server's issuer (discovery at {issuer}/.well-known/uma2-configuration).
    #[arg(long)]
    as_issuer: String,
    /// The resource server's client_id at the AS (client_credentials, scope uma_protection).
    #[arg(long)]
    client_id: String,
    /// The environment variable holding the client secret.
    #[arg(long, value_name = "VAR")]
    client_secret_env: String,
    /// Port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 8081)]
    port: u16,
    /// The realm of the challenges.
    #[arg(long, default_value = uma_reference_server::rs::DEFAULT_REALM)]
    realm: String,
    /// Timeout of each call to the AS, in seconds.
    #[arg(long, default_value_t = 5)]
    as_timeout_secs: u64,
    /// Commit a deliberate violation of role rs (repeatable; see --list-quirks).
    #[arg(long = "quirk", value_name = "NAME")]
    quirks: Vec<String>,
    /// Write logs (on stderr) as JSON lines instead of text.
    #[arg(long)]
    log_json: bool,
}

fn parse_durability(s: &str) -> Result<Durability, String> {
    s.parse()
        .map_err(|e: uma_reference_server::store::UnknownDurability| e.to_string())
}

fn init_logs(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "uma_reference_server=info,tower_http=warn".into());
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    if json {
        logs.json().init();
    } else {
        logs.init();
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("error: failed to start the async runtime: {e}");
            ExitCode::FAILURE
        })
}

fn main() -> ExitCode {
    // `uma-reference-server client …` runs the reference client instead of the AS.
    let mut argv = std::env::args_os().skip(1);
    if argv.next().is_some_and(|a| a == "client") {
        return uma_reference_server::client::cli::run(argv);
    }
    let args = Args::parse();
    if args.list_quirks {
        for q in Quirk::ALL {
            println!("{:<36} {:<9} {}", q.name(), q.requirement(), q.description());
        }
        return ExitCode::SUCCESS;
    }
    if let Some(Role::Rs(rs)) = args.role {
        return run_rs(rs);
    }
    init_logs(args.log_json);
    let demo = args.config.is_none();
    let mut config = match &args.config {
        Some(path) => match Config::from_file(path) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
        None => Config::demo(),
    };
    if let Some(d) = args.durability {
        config.durability = d;
    }
    for name in &args.quirks {
        match name.parse::<Quirk>() {
            Ok(q) => config.quirks.insert(q),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    runtime.block_on(async move {
        let shown = config.clone();
        let server = match Server::builder(config).port(args.port).data_dir(&args.data_dir).start().await {
            Ok(s) => s,
            Err(e) => {
                let mut msg = format!("error: {e}");
                let mut src = std::error::Error::source(&e);
                while let Some(s) = src {
                    msg.push_str(&format!(": {s}"));
                    src = s.source();
                }
                eprintln!("{msg}");
                return ExitCode::FAILURE;
            }
        };
        println!("{}", server.issuer());
        print_credentials(&shown, demo);
        for q in shown.quirks.iter() {
            tracing::warn!(quirk = q.name(), breaks = q.requirement(), "quirk enabled: this server is deliberately non-conformant");
        }
        tracing::info!(issuer = server.issuer(), data_dir = %args.data_dir.display(), durability = shown.durability.as_str(), "reference UMA authorization server listening");
        wait_for_signal().await;
        tracing::info!("shutting down");
        server.shutdown().await;
        ExitCode::SUCCESS
    })
}

/// `uma-reference-server rs`: the reference resource server until SIGINT or SIGTERM.
fn run_rs(args: RsArgs) -> ExitCode {
    let Ok(secret) = std::env::var(&args.client_secret_env) else {
        eprintln!(
            "error: the environment variable `{}` (--client-secret-env) is not set or not UTF-8",
            args.client_secret_env
        );
        return ExitCode::from(2);
    };
    let mut config = RsConfig::new(&args.as_issuer, &args.client_id, ClientSecret::new(secret));
    config.realm = args.realm;
    config.as_timeout = std::time::Duration::from_secs(args.as_timeout_secs.max(1));
    for name in &args.quirks {
        match name.parse::<Quirk>() {
            Ok(q) if q.role() == uma_reference_server::Role::Rs => config.quirks.insert(q),
            Ok(q) => {
                eprintln!(
                    "error: quirk `{name}` belongs to the {} role, not rs",
                    q.role().as_str()
                );
                return ExitCode::from(2);
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    }
    init_logs(args.log_json);
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    runtime.block_on(async move {
        let quirks = config.quirks.clone();
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], args.port));
        let rs = match ResourceServer::start(config, addr).await {
            Ok(rs) => rs,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        println!("{}", rs.base_url());
        for q in quirks.iter() {
            tracing::warn!(quirk = q.name(), breaks = q.requirement(), "quirk enabled: this resource server is deliberately non-conformant");
        }
        tracing::info!(base_url = %rs.base_url(), as_issuer = %args.as_issuer, "reference UMA resource server listening");
        wait_for_signal().await;
        tracing::info!("shutting down");
        rs.shutdown().await;
        ExitCode::SUCCESS
    })
}

fn print_credentials(config: &Config, demo: bool) {
    for c in &config.clients {
        let secret = match (&c.client_secret, demo) {
            (Some(s), true) => s.secret(),
            (Some(_), false) => "[from your configuration]",
            (None, _) => "(public client)",
        };
        let owner = c.owner.as_deref().map(|o| format!(" owner={o}")).unwrap_or_default();
        println!("client {} secret={secret} scope=\"{}\"{owner}", c.client_id, c.scope);
    }
    for u in &config.users {
        let pw = if demo {
            u.password.secret()
        } else {
            "[from your configuration]"
        };
        println!("user {} password={pw}", u.username);
    }
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(t) => t,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
