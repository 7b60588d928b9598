//! `keyhaven serve`: the passkey login server.

use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Flags of `keyhaven serve` (each also read from the environment).
#[derive(Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "KEYHAVEN_LISTEN", default_value = "127.0.0.1:8080")]
    listen: std::net::SocketAddr,
    /// The relying party ID (a domain of the origins).
    #[arg(long, env = "KEYHAVEN_RP_ID", default_value = "localhost")]
    rp_id: String,
    /// The relying party's name, shown by authenticators.
    #[arg(long, env = "KEYHAVEN_RP_NAME", default_value = "keyhaven")]
    rp_name: String,
    /// An allowed origin (repeatable; the environment variable takes a comma-separated list).
    /// Default: http://localhost:PORT.
    #[arg(long = "origin", env = "KEYHAVEN_ORIGIN", value_delimiter = ',')]
    origins: Vec<String>,
    /// Directory for the embedded SQLite database (created on first run).
    #[arg(long, env = "KEYHAVEN_DATA_DIR", default_value = "keyhaven-data")]
    data_dir: PathBuf,
    /// `postgres://user@host/db` for PostgreSQL (several nodes); default: SQLite in --data-dir.
    #[arg(long, env = "KEYHAVEN_DATABASE")]
    database: Option<String>,
    /// PostgreSQL: the most connections this node opens (keep nodes × this below the
    /// database's max_connections).
    #[arg(long, env = "KEYHAVEN_DB_CONNECTIONS",
          default_value_t = keyhaven_server::db::DEFAULT_CONNECTIONS as u16,
          value_parser = clap::value_parser!(u16).range(1..))]
    db_connections: u16,
    /// Challenge lifetime in seconds.
    #[arg(long, env = "KEYHAVEN_CHALLENGE_TTL", default_value_t = 300)]
    challenge_ttl: u64,
    /// Session lifetime in seconds.
    #[arg(long, env = "KEYHAVEN_SESSION_TTL", default_value_t = 7 * 24 * 3600)]
    session_ttl: u64,
    /// Adding or deleting a passkey needs a user-verifying sign-in (PIN or
    /// biometrics) within this many seconds; the page asks for one when needed.
    #[arg(long, env = "KEYHAVEN_REAUTH_WINDOW", default_value_t = 300)]
    reauth_window: u64,
    /// Ceremony requests per client address: burst.
    #[arg(long, env = "KEYHAVEN_IP_BURST", default_value_t = 120)]
    ip_burst: u32,
    /// Ceremony requests per client address: sustained, per minute.
    #[arg(long, env = "KEYHAVEN_IP_PER_MINUTE", default_value_t = 600)]
    ip_per_minute: u32,
    /// Sign-in attempts on one account from one client address: burst.
    #[arg(long, env = "KEYHAVEN_USER_BURST", default_value_t = 30)]
    user_burst: u32,
    /// Sign-in attempts on one account from one client address: sustained, per minute.
    #[arg(long, env = "KEYHAVEN_USER_PER_MINUTE", default_value_t = 30)]
    user_per_minute: u32,
    /// New accounts (registration options without a session) per client address: burst.
    #[arg(long, env = "KEYHAVEN_SIGNUP_BURST", default_value_t = 20)]
    signup_burst: u32,
    /// New accounts per client address: sustained, per hour.
    #[arg(long, env = "KEYHAVEN_SIGNUP_PER_HOUR", default_value_t = 60)]
    signup_per_hour: u32,
    /// A reverse proxy (CIDR, e.g. 10.0.0.0/8 or 127.0.0.1/32; repeatable, or comma-separated
    /// in the environment) whose Forwarded / X-Forwarded-For header names the client.
    /// Without it those headers are ignored and the TCP peer is the client.
    #[arg(long = "trusted-proxy", env = "KEYHAVEN_TRUSTED_PROXY", value_delimiter = ',', value_parser = parse_cidr)]
    trusted_proxies: Vec<keyhaven_server::IpNet>,
    /// Turn rate limits off (load tests on loopback only).
    #[arg(long, env = "KEYHAVEN_NO_RATE_LIMIT")]
    no_rate_limit: bool,
    /// Seconds allowed for a request head, and for the next one on an idle kept-alive connection.
    #[arg(long, env = "KEYHAVEN_HEADER_TIMEOUT", default_value_t = 10)]
    header_timeout: u64,
    /// Seconds allowed for a whole request, body included (408 beyond).
    #[arg(long, env = "KEYHAVEN_REQUEST_TIMEOUT", default_value_t = 30)]
    request_timeout: u64,
    /// Connections open at once; more are closed at once.
    #[arg(long, env = "KEYHAVEN_MAX_CONNECTIONS", default_value_t = 512)]
    max_connections: usize,
    /// Seconds requests in flight get to finish after SIGTERM before the server exits.
    #[arg(long, env = "KEYHAVEN_SHUTDOWN_TIMEOUT", default_value_t = 10)]
    shutdown_timeout: u64,
    /// Require user verification (a PIN or biometric) in both ceremonies; default: preferred.
    #[arg(long, env = "KEYHAVEN_REQUIRE_UV")]
    require_uv: bool,
    /// Serve /metrics only on this address (e.g. 127.0.0.1:9090), not on --listen.
    #[arg(long, env = "KEYHAVEN_METRICS_LISTEN")]
    metrics_listen: Option<std::net::SocketAddr>,
    /// Log as JSON lines instead of text.
    #[arg(long, env = "KEYHAVEN_LOG_JSON")]
    log_json: bool,
    /// Worker threads (default: one per core).
    #[arg(long, env = "KEYHAVEN_THREADS")]
    threads: Option<usize>,
    /// Require CTAP2 canonical CBOR in attestation objects and authenticator data, and refuse
    /// attStmt members a format does not define (default: any well-formed CBOR).
    #[arg(long, env = "KEYHAVEN_STRICT_CBOR")]
    strict_cbor: bool,
    /// A COSE algorithm registration options offer, most preferred first (repeatable; an
    /// identifier or name: -8 EdDSA, -7 ES256, -35 ES384, -257 RS256, -48/-49/-50
    /// ML-DSA-44/65/87, …). Default: -8 -7 -35 -257.
    #[arg(
        long = "algorithm",
        env = "KEYHAVEN_ALGORITHMS",
        value_delimiter = ',',
        allow_negative_numbers = true,
        value_parser = parse_algorithm
    )]
    algorithms: Vec<keyhaven_proto::cose::CoseAlgorithm>,
    /// A passkey provider AAGUID list (the community list's aaguid.json format) to use instead
    /// of the snapshot built in: names and icons on the account page.
    #[arg(long, env = "KEYHAVEN_AAGUID_LIST")]
    aaguid_list: Option<String>,
    /// A FIDO MDS3 metadata BLOB (JWT file): names and icons of the authenticators the AAGUID
    /// list does not know. Needs --mds-root.
    #[arg(long, env = "KEYHAVEN_MDS")]
    mds: Option<String>,
    /// PEM root(s) the MDS BLOB's signing path must chain to (repeatable).
    #[arg(long = "mds-root", env = "KEYHAVEN_MDS_ROOT", value_delimiter = ',')]
    mds_roots: Vec<String>,
    /// Accept an MDS BLOB past its nextUpdate.
    #[arg(long, env = "KEYHAVEN_MDS_ALLOW_STALE")]
    mds_allow_stale: bool,
    /// Serve HTTPS (HTTP/2 and HTTP/1.1) with this PEM certificate chain (leaf first); needs
    /// --tls-key. SIGHUP reloads both files. The default origin becomes https://RP_ID[:PORT].
    #[arg(long, env = "KEYHAVEN_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, env = "KEYHAVEN_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

/// `keyhaven providers update FILE --out PATH`: the list checked whole, then
/// written unchanged (through a temporary file and a rename).
pub fn update_providers(file: &str, out: &std::path::Path) -> ExitCode {
    let checked = crate::rp_cli::read(file).and_then(|bytes| {
        let text = String::from_utf8(bytes).map_err(|_| format!("{file}: not UTF-8 JSON"))?;
        let p = keyhaven_server::providers::Providers::from_list(&text)
            .map_err(|e| format!("{file}: {e}"))?;
        Ok((text, p.counts()))
    });
    let (text, (names, icons)) = match checked {
        Ok(v) => v,
        Err(e) => {
            eprintln!("keyhaven: error: {e}");
            return ExitCode::from(2);
        }
    };
    let tmp = out.with_extension("json.tmp");
    let written = std::fs::write(&tmp, text.as_bytes()).and_then(|()| std::fs::rename(&tmp, out));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        eprintln!("keyhaven: error: cannot write {}: {e}", out.display());
        return ExitCode::from(2);
    }
    println!(
        "{names} providers, {icons} with icons: written to {}",
        out.display()
    );
    ExitCode::SUCCESS
}

/// The provider names: the built-in list or --aaguid-list, then the MDS BLOB's entries.
fn providers(a: &ServeArgs) -> Result<keyhaven_server::providers::Providers, String> {
    use keyhaven_server::providers::Providers;
    let mut p = match &a.aaguid_list {
        None => Providers::built_in(),
        Some(path) => {
            let text = String::from_utf8(crate::rp_cli::read(path)?)
                .map_err(|_| format!("{path}: not UTF-8 JSON"))?;
            Providers::from_list(&text).map_err(|e| format!("{path}: {e}"))?
        }
    };
    if let Some(path) = &a.mds {
        let policy = keyhaven_rp::mds::BlobPolicy {
            allow_stale: a.mds_allow_stale,
            ..keyhaven_rp::mds::BlobPolicy::at(std::time::SystemTime::now())
        };
        p = p.with_mds(&crate::rp_cli::load_mds(path, &a.mds_roots, &policy)?);
    }
    Ok(p)
}

/// A COSE signature algorithm by identifier ("-49") or name ("ML-DSA-65").
fn parse_algorithm(s: &str) -> Result<keyhaven_proto::cose::CoseAlgorithm, String> {
    use keyhaven_proto::cose::CoseAlgorithm;
    let alg = match s.trim().parse::<i64>() {
        Ok(id) => CoseAlgorithm::from_id(id),
        Err(_) => CoseAlgorithm::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(s.trim())),
    };
    match alg {
        Some(CoseAlgorithm::EcdhEsHkdf256) => Err(format!(
            "{s}: ECDH-ES+HKDF-256 is key agreement, not a signature algorithm"
        )),
        Some(a) => Ok(a),
        None => Err(format!(
            "not a COSE signature algorithm keyhaven knows: {s:?}"
        )),
    }
}

/// A CIDR, or a single address (a /32 or /128).
fn parse_cidr(s: &str) -> Result<keyhaven_server::IpNet, String> {
    s.parse::<keyhaven_server::IpNet>()
        .or_else(|_| {
            s.parse::<std::net::IpAddr>()
                .map(keyhaven_server::IpNet::from)
        })
        .map_err(|_| format!("not an IP network (CIDR) or address: {s:?}"))
}

/// keyhaven serve.
pub fn serve(a: ServeArgs) -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KEYHAVEN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if a.log_json {
        builder.json().init();
    } else {
        builder.init();
    }
    let providers = match providers(&a) {
        Ok(p) => std::sync::Arc::new(p),
        Err(e) => {
            eprintln!("keyhaven: error: {e}");
            return ExitCode::from(2);
        }
    };
    let database = match a.database {
        Some(d) => d,
        None => {
            if let Err(e) = std::fs::create_dir_all(&a.data_dir) {
                eprintln!(
                    "keyhaven: error: cannot create {}: {e}",
                    a.data_dir.display()
                );
                return ExitCode::from(2);
            }
            format!("sqlite:{}", a.data_dir.join("keyhaven.db").display())
        }
    };
    let tls = match (a.tls_cert, a.tls_key) {
        (Some(cert), Some(key)) => Some(keyhaven_server::TlsFiles { cert, key }),
        _ => None,
    };
    let origins = match (a.origins.is_empty(), &tls) {
        (false, _) => a.origins,
        (true, None) => vec![format!("http://localhost:{}", a.listen.port())],
        // L3 §5.1.3: the origin a browser reports for https://RP_ID[:PORT].
        (true, Some(_)) => match a.listen.port() {
            443 => vec![format!("https://{}", a.rp_id)],
            port => vec![format!("https://{}:{port}", a.rp_id)],
        },
    };
    let config = keyhaven_server::ServerConfig {
        listen: a.listen,
        rp_id: a.rp_id,
        rp_name: a.rp_name,
        origins,
        database,
        db_connections: usize::from(a.db_connections),
        challenge_ttl: Duration::from_secs(a.challenge_ttl.max(1)),
        session_ttl: Duration::from_secs(a.session_ttl.max(1)),
        reauth_window: Duration::from_secs(a.reauth_window),
        limits: keyhaven_server::guard::Limits {
            disabled: a.no_rate_limit,
            ip_burst: a.ip_burst,
            ip_per_minute: a.ip_per_minute,
            user_burst: a.user_burst,
            user_per_minute: a.user_per_minute,
            signup_burst: a.signup_burst,
            signup_per_hour: a.signup_per_hour,
        },
        trusted_proxies: a.trusted_proxies,
        require_uv: a.require_uv,
        metrics_listen: a.metrics_listen,
        http: keyhaven_server::http::HttpLimits {
            header_timeout: Duration::from_secs(a.header_timeout.max(1)),
            request_timeout: Duration::from_secs(a.request_timeout.max(1)),
            max_connections: a.max_connections.max(1),
            shutdown_timeout: Duration::from_secs(a.shutdown_timeout),
        },
        strict_cbor: a.strict_cbor,
        algorithms: if a.algorithms.is_empty() {
            keyhaven_server::DEFAULT_ALGORITHMS.to_vec()
        } else {
            a.algorithms
        },
        providers,
        tls,
    };
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    rt.enable_all();
    if let Some(n) = a.threads {
        rt.worker_threads(n.max(1));
    }
    let rt = match rt.build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("keyhaven: error: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(keyhaven_server::serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        // A certificate or key that cannot be used is the operator's input.
        Err(e @ keyhaven_server::ServeError::Tls(_)) => {
            eprintln!("keyhaven: error: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("keyhaven: error: {e}");
            ExitCode::from(1)
        }
    }
}
