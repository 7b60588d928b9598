//! # keyhaven-server
//!
//! `keyhaven serve`: a passkey login server with its web page. The relying
//! party checks are `keyhaven-rp`'s; this crate adds the HTTP API, storage
//! (embedded SQLite, or PostgreSQL for several nodes), sessions and the rules
//! a public login service needs (single-use challenges, CSRF, rate limits,
//! body limits, security headers, no user enumeration).
//!
//! | module | what |
//! |---|---|
//! | [`api`] | the HTTP routes and their JSON |
//! | [`db`] | users, credentials, challenges, sessions; SQLite and PostgreSQL |
//! | [`guard`] | CSRF origin check, rate limits, security headers, metrics |
//! | [`http`] | serving with header/request timeouts, a connection limit, bounded shutdown |
//! | [`web`] | the embedded web page, OpenAPI document |
//!
//! Embedding the passkey routes (API, page, `/healthz`, `/metrics`) in an
//! existing axum application, beside its own routes:
//!
//! ```
//! use axum::{routing::get, Router};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let data = tempfile::tempdir()?;
//! let mut config = keyhaven_server::ServerConfig::local(data.path());
//! config.rp_id = "localhost".into();
//! let passkeys = keyhaven_server::api::router(keyhaven_server::state(config).await?);
//! let app = Router::new()
//!     .route("/hello", get(|| async { "my own route" }))
//!     .merge(passkeys);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let addr = listener.local_addr()?;
//! // The rate limits key on the peer address: serve with connect info.
//! let service = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
//! tokio::spawn(async move { axum::serve(listener, service).await });
//!
//! for (path, expect) in [("/hello", "my own route"), ("/healthz", "\"status\":\"ok\"")] {
//!     let mut c = tokio::net::TcpStream::connect(addr).await?;
//!     c.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
//!         .await?;
//!     let mut answer = String::new();
//!     c.read_to_string(&mut answer).await?;
//!     assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
//!     assert!(answer.contains(expect), "{answer}");
//! }
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod api;
pub mod db;
pub mod guard;
pub mod http;
pub mod providers;
pub mod tls;

/// CIDRs, as `ServerConfig::trusted_proxies` takes them.
pub use ipnet::IpNet;
pub mod web;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Server settings (flags of `keyhaven serve`).
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// RP ID.
    pub rp_id: String,
    /// RP name.
    pub rp_name: String,
    /// Allowed origins (clientDataJSON and the Origin header).
    pub origins: Vec<String>,
    /// The database: `sqlite:PATH` or `postgres://…`.
    pub database: String,
    /// PostgreSQL: the most connections this node opens (SQLite: unused).
    pub db_connections: usize,
    /// How long a challenge stays valid.
    pub challenge_ttl: Duration,
    /// How long a session lasts.
    pub session_ttl: Duration,
    /// How recent a session's last user-verifying ceremony must be for
    /// adding or deleting a passkey (default 5 minutes).
    pub reauth_window: Duration,
    /// Rate limits.
    pub limits: guard::Limits,
    /// Timeouts and the connection limit.
    pub http: http::HttpLimits,
    /// Require user verification in both ceremonies (`userVerification:
    /// "required"`, the UV flag checked; default "preferred").
    pub require_uv: bool,
    /// Serve `/metrics` on this address only (not on `listen`).
    pub metrics_listen: Option<SocketAddr>,
    /// Proxies (CIDRs) whose `Forwarded` / `X-Forwarded-For` name the client;
    /// from any other peer those headers are ignored.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Require CTAP2 canonical CBOR in responses and refuse attStmt members a
    /// format does not define (default: any well-formed CBOR, as devices send).
    pub strict_cbor: bool,
    /// What registration options offer (pubKeyCredParams), most preferred
    /// first; default [`DEFAULT_ALGORITHMS`].
    pub algorithms: Vec<keyhaven_proto::cose::CoseAlgorithm>,
    /// Passkey provider names and icons by AAGUID (the account page, and
    /// the default name of a new passkey).
    pub providers: Arc<providers::Providers>,
    /// Serve HTTPS (HTTP/2 and HTTP/1.1) with this PEM certificate chain and
    /// key, reloaded on SIGHUP; None: plain HTTP (behind a TLS proxy, or on
    /// localhost).
    pub tls: Option<TlsFiles>,
}

/// The certificate chain and key files of built-in TLS.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// PEM certificate chain, leaf first.
    pub cert: std::path::PathBuf,
    /// PEM private key (PKCS#8, SEC1 or PKCS#1).
    pub key: std::path::PathBuf,
}

/// Most preferred first (L3 §5.4, pubKeyCredParams): EdDSA, ES256, RS256 as
/// the spec lists the algorithms every RP should offer, ES384 beside them.
/// Ed25519 signatures are deterministic and verify faster; an authenticator
/// without it (most platform ones) picks ES256.
pub const DEFAULT_ALGORITHMS: [keyhaven_proto::cose::CoseAlgorithm; 4] = [
    keyhaven_proto::cose::CoseAlgorithm::EdDsa,
    keyhaven_proto::cose::CoseAlgorithm::Es256,
    keyhaven_proto::cose::CoseAlgorithm::Es384,
    keyhaven_proto::cose::CoseAlgorithm::Rs256,
];

impl ServerConfig {
    /// Defaults for http://localhost:8080 with a SQLite file in `data_dir`.
    pub fn local(data_dir: &std::path::Path) -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            rp_id: "localhost".into(),
            rp_name: "keyhaven".into(),
            origins: vec!["http://localhost:8080".into()],
            database: format!("sqlite:{}", data_dir.join("keyhaven.db").display()),
            db_connections: db::DEFAULT_CONNECTIONS,
            challenge_ttl: Duration::from_secs(300),
            session_ttl: Duration::from_secs(7 * 24 * 3600),
            reauth_window: Duration::from_secs(300),
            limits: guard::Limits::default(),
            http: http::HttpLimits::default(),
            trusted_proxies: Vec::new(),
            require_uv: false,
            metrics_listen: None,
            strict_cbor: false,
            algorithms: DEFAULT_ALGORITHMS.to_vec(),
            providers: Arc::new(providers::Providers::built_in()),
            tls: None,
        }
    }

    /// Whether cookies may go without `Secure`: every origin is http://localhost.
    pub fn insecure_localhost(&self) -> bool {
        self.origins.iter().all(|o| {
            o.strip_prefix("http://")
                .map(|h| h.split(':').next() == Some("localhost"))
                .unwrap_or(false)
        })
    }
}

/// Shared state of the handlers.
pub struct AppState {
    /// Settings.
    pub config: ServerConfig,
    /// The relying party.
    pub rp: keyhaven_rp::RpConfig,
    /// Storage.
    pub db: db::Db,
    /// Secret for deterministic decoy credential IDs (shared by all nodes).
    pub secret: Vec<u8>,
    /// Rate limiters.
    pub limiter: guard::Limiter,
    /// Counters for /metrics.
    pub metrics: guard::Metrics,
    /// Open and refused connections (kept by [`http::serve`]).
    pub connections: Arc<http::ConnectionStats>,
    /// Shapes of real accounts for decoys (see `api::ceremony::decoy`):
    /// (user ID, credential ID lengths), refreshed every minute.
    pub decoy_shapes: std::sync::RwLock<Vec<(i64, Vec<usize>)>>,
    /// Send Strict-Transport-Security: an origin is https (browsers ignore
    /// the header on plain http, so http://localhost beside it is unharmed).
    pub hsts: bool,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The database.
    #[error(transparent)]
    Db(#[from] db::DbError),
    /// The TLS certificate or key.
    #[error("TLS: {0}")]
    Tls(#[from] tls::TlsError),
    /// The listening socket.
    #[error("cannot listen on {0}: {1}")]
    Listen(SocketAddr, std::io::Error),
    /// Serving failed.
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
}

/// Builds the state: opens and migrates the database.
pub async fn state(config: ServerConfig) -> Result<Arc<AppState>, ServeError> {
    let clock = keyhaven_rp::time::Clock::system();
    let db = db::Db::open(&config.database, clock.clone(), config.db_connections).await?;
    let secret = db.server_secret().await?;
    let mut rp = keyhaven_rp::RpConfig::new(config.rp_id.clone(), config.rp_name.clone());
    rp.clock = clock;
    if config.strict_cbor {
        rp.cbor_policy = keyhaven_proto::cbor::CborPolicy::Strict;
    }
    rp.origins = config.origins.clone();
    if config.require_uv {
        rp.user_verification = keyhaven_rp::config::UserVerification::Required;
    }
    rp.timeout_ms = u32::try_from(config.challenge_ttl.as_millis()).unwrap_or(u32::MAX);
    rp.algorithms = config.algorithms.clone();
    let limiter = guard::Limiter::new(config.limits.clone());
    let shapes = db.credential_shapes(api::DECOY_SAMPLE).await?;
    Ok(Arc::new(AppState {
        rp,
        db,
        secret,
        limiter,
        metrics: guard::Metrics::default(),
        connections: Arc::default(),
        decoy_shapes: std::sync::RwLock::new(shapes),
        hsts: config.origins.iter().any(|o| o.starts_with("https://")),
        config,
    }))
}

/// Runs the server until SIGINT or SIGTERM, then finishes open requests.
pub async fn serve(config: ServerConfig) -> Result<(), ServeError> {
    let listen = config.listen;
    // The certificate is checked before anything else starts.
    let tls = match &config.tls {
        Some(f) => Some(Arc::new(tls::Tls::load(&f.cert, &f.key)?)),
        None => None,
    };
    let st = state(config).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| ServeError::Listen(listen, e))?;
    tracing::info!(
        address = %listener.local_addr()?,
        rp_id = %st.config.rp_id,
        database = st.db.backend(),
        "keyhaven serve listening"
    );
    let (names, icons) = st.config.providers.counts();
    tracing::info!(
        providers = names,
        with_icons = icons,
        "passkey provider names"
    );
    // Expired challenges and sessions go away in the background.
    let purge = st.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(60)).await;
            if let Err(e) = purge.db.purge_expired(purge.rp.clock.unix_millis()).await {
                tracing::warn!(error = %e, "purging expired rows failed");
            }
            purge.limiter.forget_idle();
            refresh_decoy_shapes(&purge).await;
        }
    });
    let limits = st.config.http.clone();
    let stats = st.connections.clone();
    // /metrics on its own (internal) address, when asked.
    let (stop_metrics, metrics_stopped) = tokio::sync::oneshot::channel::<()>();
    if let Some(addr) = st.config.metrics_listen {
        let l = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| ServeError::Listen(addr, e))?;
        tracing::info!(address = %l.local_addr()?, "metrics listening");
        let app = api::metrics_router(st.clone());
        tokio::spawn(async move {
            let stop = async {
                let _ = metrics_stopped.await;
            };
            if let Err(e) = axum::serve(l, app).with_graceful_shutdown(stop).await {
                tracing::error!(error = %e, "metrics listener failed");
            }
        });
    }
    if let Some(tls) = &tls {
        tracing::info!("TLS on: HTTP/2 and HTTP/1.1; SIGHUP reloads the certificate");
        reload_on_sighup(tls.clone());
    }
    http::serve(listener, api::router(st), limits, stats, shutdown(), tls).await?;
    let _ = stop_metrics.send(());
    tracing::info!("keyhaven serve stopped");
    Ok(())
}

/// Reads the decoys' account shapes again.
pub async fn refresh_decoy_shapes(st: &AppState) {
    match st.db.credential_shapes(api::DECOY_SAMPLE).await {
        Ok(shapes) => {
            if let Ok(mut s) = st.decoy_shapes.write() {
                *s = shapes;
            }
        }
        Err(e) => tracing::warn!(error = %e, "reading account shapes for decoys failed"),
    }
}

/// Reloads the certificate and key on each SIGHUP; a bad pair is logged and
/// the one in use stays.
fn reload_on_sighup(tls: Arc<tls::Tls>) {
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP: the certificate will not be reloaded");
            return;
        };
        while hup.recv().await.is_some() {
            match tls.reload() {
                Ok(()) => tracing::info!("TLS certificate reloaded"),
                Err(e) => {
                    tracing::error!(error = %e, "TLS certificate reload failed: the one in use stays")
                }
            }
        }
    });
    #[cfg(not(unix))]
    let _ = tls;
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown signal received");
}
