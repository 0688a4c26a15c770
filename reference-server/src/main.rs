//! `uma-reference-server`: run the reference UMA 2.0 authorization server.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use uma_reference_server::rs::{ResourceServer, RsConfig};
use uma_reference_server::store::Durability;
use uma_reference_server::types::ClientSecret;
use uma_reference_server::{Config, Quirk, Server, Variant};

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
    /// Configuration file (YAML). Without it (and without --profile), a demo configuration is used.
    #[arg(long, env = "UMA_AS_CONFIG")]
    config: Option<PathBuf>,
    /// A shipped configuration instead of --config: `interop` (the reference as a standing
    /// counterpart for an interop event: DCR participants, registration policies, the demo IdP).
    #[arg(long, value_name = "NAME", conflicts_with = "config", env = "UMA_AS_PROFILE")]
    profile: Option<String>,
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
    /// Take a conformant alternative of role as (repeatable; see --list-variants).
    #[arg(long = "variant", value_name = "NAME")]
    variants: Vec<String>,
    /// List the variants of every role, one per line, with the freedoms each takes.
    #[arg(long)]
    list_variants: bool,
    /// Write logs (on stderr) as JSON lines instead of text.
    #[arg(long, env = "UMA_AS_LOG_JSON")]
    log_json: bool,
    #[command(flatten)]
    tls: uma_reference_server::tls::TlsArgs,
}

/// The other reference components.
#[derive(Debug, clap::Subcommand)]
enum Role {
    /// The reference resource server: a photo API protected by the AS at --as-issuer.
    Rs(Box<RsArgs>),
    /// The reference client: a web-style UMA client driven by GET /start (`client --help`).
    #[command(disable_help_flag = true)]
    Client {
        /// Its options (see `client --help`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
}

/// `uma-reference-server rs`.
#[derive(Debug, clap::Args)]
struct RsArgs {
    /// The authorization server's issuer (discovery at {issuer}/.well-known/uma2-configuration).
    #[arg(long, required_unless_present = "list_variants")]
    as_issuer: Option<String>,
    /// The resource server's client_id at the AS (client_credentials, scope uma_protection).
    #[arg(long, required_unless_present = "list_variants")]
    client_id: Option<String>,
    /// The environment variable holding the client secret.
    #[arg(long, value_name = "VAR", required_unless_present = "list_variants")]
    client_secret_env: Option<String>,
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
    /// Take a conformant alternative of role rs (repeatable; see --list-variants).
    #[arg(long = "variant", value_name = "NAME")]
    variants: Vec<String>,
    /// List the variants of role rs, one per line, with the freedoms each takes.
    #[arg(long)]
    list_variants: bool,
    /// Write logs (on stderr) as JSON lines instead of text.
    #[arg(long)]
    log_json: bool,
    #[command(flatten)]
    tls: uma_reference_server::tls::TlsArgs,
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
    if args.list_variants {
        print_variants(None);
        return ExitCode::SUCCESS;
    }
    match args.role {
        Some(Role::Rs(rs)) => return run_rs(*rs),
        // Reached only when `client` follows other options; main() hands it over first otherwise.
        Some(Role::Client { args }) => return uma_reference_server::client::cli::run(args),
        None => {}
    }
    init_logs(args.log_json);
    let demo = args.config.is_none() && args.profile.is_none();
    let variants = match parse_variants(&args.variants, uma_reference_server::Role::As) {
        Ok(v) => v,
        Err(msg) => {
            eprintln!("error: {msg}");
            return ExitCode::from(2);
        }
    };
    let loaded = match (&args.config, &args.profile) {
        (Some(path), _) => Config::from_file_with(path, &variants),
        (None, Some(name)) => Config::profile(name, &variants),
        (None, None) => {
            let mut c = Config::demo();
            for v in &variants {
                c.variants.insert(*v);
            }
            c.settle().map(|()| c)
        }
    };
    let mut config = match loaded {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
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
    let tls = match args.tls.resolve() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let profile = args.profile.clone();
    runtime.block_on(async move {
        let shown = config.clone();
        let mut builder = Server::builder(config).port(args.port).data_dir(&args.data_dir);
        if let Some(t) = tls.server {
            builder = builder.tls(t);
        }
        let server = match builder.start().await {
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
        // A shipped profile's users are public: show them as the demo's are.
        print_credentials(&shown, demo || profile.is_some());
        if profile.is_some() && shown.open_registration {
            println!("register clients at {}/register (RFC 7591)", server.issuer());
        }
        if let Some(ca) = &tls.ca_written {
            println!("tls_ca {}", ca.display());
        }
        for q in shown.quirks.iter() {
            tracing::warn!(quirk = q.name(), breaks = q.requirement(), "quirk enabled: this server is deliberately non-conformant");
        }
        for v in shown.variants.iter() {
            tracing::info!(variant = v.name(), freedoms = %v.freedoms().join(" "), "variant taken: a conformant alternative");
        }
        tracing::info!(issuer = server.issuer(), data_dir = %args.data_dir.display(), durability = shown.durability.as_str(), "reference UMA authorization server listening");
        wait_for_signal().await;
        tracing::info!("shutting down");
        server.shutdown().await;
        ExitCode::SUCCESS
    })
}

/// Prints the variants of `role` (every role if `None`), one per line.
fn print_variants(role: Option<uma_reference_server::Role>) {
    for v in Variant::ALL.iter().filter(|v| role.is_none_or(|r| v.role() == r)) {
        println!(
            "{:<40} {:<6} {:<22} {}",
            v.name(),
            v.role().as_str(),
            v.freedoms().join(","),
            v.description()
        );
    }
}

/// Parses `--variant` names, refusing unknown names and variants of another role than `role`.
fn parse_variants(names: &[String], role: uma_reference_server::Role) -> Result<Vec<Variant>, String> {
    names
        .iter()
        .map(|name| match name.parse::<Variant>() {
            Ok(v) if v.role() == role => Ok(v),
            Ok(v) => Err(format!(
                "variant `{name}` belongs to the {} role, not {}",
                v.role().as_str(),
                role.as_str()
            )),
            Err(e) => Err(e.to_string()),
        })
        .collect()
}

/// `uma-reference-server rs`: the reference resource server until SIGINT or SIGTERM.
fn run_rs(args: RsArgs) -> ExitCode {
    if args.list_variants {
        print_variants(Some(uma_reference_server::Role::Rs));
        return ExitCode::SUCCESS;
    }
    // clap requires these three unless --list-variants is given.
    let (Some(as_issuer), Some(client_id), Some(secret_env)) = (
        args.as_issuer.clone(),
        args.client_id.as_deref(),
        args.client_secret_env.as_deref(),
    ) else {
        eprintln!("error: --as-issuer, --client-id and --client-secret-env are required");
        return ExitCode::from(2);
    };
    let Ok(secret) = std::env::var(secret_env) else {
        eprintln!("error: the environment variable `{secret_env}` (--client-secret-env) is not set or not UTF-8");
        return ExitCode::from(2);
    };
    let mut config = RsConfig::new(&as_issuer, client_id, ClientSecret::new(secret));
    match args.tls.resolve() {
        Ok(t) => (config.tls, config.trust_ca_pem) = (t.server, t.trust_ca_pem),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    }
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
    match parse_variants(&args.variants, uma_reference_server::Role::Rs) {
        Ok(vs) => vs.into_iter().for_each(|v| config.variants.insert(v)),
        Err(msg) => {
            eprintln!("error: {msg}");
            return ExitCode::from(2);
        }
    }
    if let Err(e) = config.variants.check() {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    init_logs(args.log_json);
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    runtime.block_on(async move {
        let quirks = config.quirks.clone();
        let variants = config.variants.clone();
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
        for v in variants.iter() {
            tracing::info!(variant = v.name(), freedoms = %v.freedoms().join(" "), "variant taken: a conformant alternative");
        }
        tracing::info!(base_url = %rs.base_url(), as_issuer = %as_issuer, "reference UMA resource server listening");
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
