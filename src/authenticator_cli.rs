//! `keyhaven authenticator serve --stdio`: the software authenticator over the
//! length-framed stdio transport, with its encrypted store.

use clap::{Args, ValueEnum};
use keyhaven_authenticator::file_store::{FileStore, MasterKey};
use keyhaven_authenticator::{Authenticator, CredentialStore, Settings, UserInteraction};
use keyhaven_crypto::mac::Argon2Params;
use keyhaven_crypto::SecretBytes;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Who answers user-presence requests.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Presence {
    /// Ask on the terminal (/dev/tty) for each request.
    Ask,
    /// Approve without asking (automation).
    Always,
}

/// Built-in user verification.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Uv {
    /// None: user verification comes from the PIN.
    None,
    /// Simulate built-in UV that always succeeds (automation).
    Always,
}

/// Flags of `keyhaven authenticator serve`.
#[derive(Args)]
pub struct ServeArgs {
    /// Serve on stdin/stdout with 4-byte big-endian length framing.
    #[arg(long)]
    stdio: bool,
    /// Serve CTAPHID (64-byte reports) on this Unix socket path instead.
    #[arg(long, value_name = "PATH")]
    hid_socket: Option<PathBuf>,
    /// Appear as a USB FIDO security key through Linux /dev/uhid (needs a build
    /// with `--features uhid` and write access to /dev/uhid).
    #[arg(long)]
    uhid: bool,
    /// The credential store (default: $XDG_DATA_HOME/keyhaven/authenticator.khs).
    #[arg(long)]
    store: Option<PathBuf>,
    /// User presence: ask on the terminal, or always approve.
    #[arg(long, value_enum, default_value = "ask")]
    presence: Presence,
    /// Built-in user verification: none, or always succeed.
    #[arg(long, value_enum, default_value = "none")]
    uv: Uv,
    /// Name of an environment variable holding the store passphrase (instead of a key file).
    #[arg(long)]
    passphrase_env: Option<String>,
    /// The authenticator's AAGUID (default: all zero).
    #[arg(long)]
    aaguid: Option<String>,
    /// A PKCS#8 PEM private key (ES256, ES384, ES512 or Ed25519) for packed batch attestation.
    #[arg(long, requires = "attestation_cert")]
    attestation_key: Option<PathBuf>,
    /// The PEM certificate chain (leaf first) of --attestation-key.
    #[arg(long, requires = "attestation_key")]
    attestation_cert: Option<PathBuf>,
    /// Speak CTAP1/U2F only (CTAP2 off): a U2F security key.
    #[arg(long, conflicts_with = "no_u2f")]
    u2f_only: bool,
    /// Do not speak CTAP1/U2F (CTAPHID INIT then sets NMSG).
    #[arg(long)]
    no_u2f: bool,
    /// New credentials keep signature counter 0 forever, as synced passkey providers' do,
    /// so that they can be exported with CXF (which leaves out passkeys whose counter moved).
    #[arg(long)]
    zero_counters: bool,
}

/// Settings from the serve flags: AAGUID and batch attestation.
fn settings(a: &ServeArgs) -> Result<Settings, String> {
    let mut s = Settings {
        ctap2: !a.u2f_only,
        u2f: !a.no_u2f,
        zero_counters: a.zero_counters,
        ..Settings::default()
    };
    if let Some(text) = &a.aaguid {
        s.aaguid = keyhaven_proto::authdata::Aaguid::parse(text)
            .ok_or_else(|| format!("--aaguid: not a UUID: {text:?}"))?;
    }
    if let (Some(key), Some(cert)) = (&a.attestation_key, &a.attestation_cert) {
        let pem = std::fs::read_to_string(key).map_err(|e| format!("{}: {e}", key.display()))?;
        let body: String = pem
            .lines()
            .skip_while(|l| !l.starts_with("-----BEGIN PRIVATE KEY-----"))
            .skip(1)
            .take_while(|l| !l.starts_with("-----END"))
            .collect();
        let der = keyhaven_proto::b64::decode(&body)
            .map_err(|e| format!("{}: not a PKCS#8 PEM key: {e}", key.display()))?;
        let signing = [
            keyhaven_proto::cose::CoseAlgorithm::Es256,
            keyhaven_proto::cose::CoseAlgorithm::Es384,
            keyhaven_proto::cose::CoseAlgorithm::Es512,
            keyhaven_proto::cose::CoseAlgorithm::EdDsa,
        ]
        .into_iter()
        .find_map(|alg| keyhaven_crypto::signature::SigningKey::from_pkcs8(alg, &der).ok())
        .ok_or_else(|| {
            format!(
                "{}: not an ES256/ES384/ES512/Ed25519 PKCS#8 key",
                key.display()
            )
        })?;
        let chain =
            std::fs::read_to_string(cert).map_err(|e| format!("{}: {e}", cert.display()))?;
        let x5c = keyhaven_rp::util::pem_certificates(&chain)
            .map_err(|e| format!("{}: {e}", cert.display()))?;
        s.batch_attestation = Some(std::sync::Arc::new(
            keyhaven_authenticator::BatchAttestation { key: signing, x5c },
        ));
    }
    Ok(s)
}

pub(crate) struct CliUser {
    pub(crate) presence: Presence,
    pub(crate) uv: Uv,
}

impl CliUser {
    fn ask(&self, question: &str) -> bool {
        // stdin/stdout carry the protocol: talk to the terminal directly.
        let Ok(mut tty) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
        else {
            return false;
        };
        let _ = write!(tty, "{question} [Y/n] ");
        let _ = tty.flush();
        let mut line = String::new();
        let _ = std::io::BufReader::new(&tty).read_line(&mut line);
        matches!(line.trim(), "" | "y" | "Y" | "yes")
    }
}

impl UserInteraction for CliUser {
    fn presence(&mut self, rp_id: &str) -> bool {
        match self.presence {
            Presence::Always => true,
            Presence::Ask if rp_id.is_empty() => {
                self.ask("keyhaven authenticator: confirm presence?")
            }
            Presence::Ask => self.ask(&format!("keyhaven authenticator: allow {rp_id}?")),
        }
    }
    fn has_built_in_uv(&self) -> bool {
        matches!(self.uv, Uv::Always)
    }
    fn verify_user(&mut self, _: &str) -> bool {
        matches!(self.uv, Uv::Always)
    }
}

fn default_store() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("keyhaven").join("authenticator.khs")
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("keyhaven: error: {msg}");
    ExitCode::from(2)
}

/// Opens the store named by `--store` / `--passphrase-env` (created on first use,
/// with its key file beside it, mode 0600).
pub(crate) fn open_store(
    store: Option<PathBuf>,
    passphrase_env: Option<&str>,
) -> Result<FileStore, String> {
    let store_path = store.unwrap_or_else(default_store);
    if let Some(dir) = store_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let master = match passphrase_env {
        Some(var) => match std::env::var(var) {
            Ok(p) if !p.is_empty() => {
                MasterKey::Passphrase(SecretBytes::new(p.into_bytes()), Argon2Params::default())
            }
            _ => return Err(format!("environment variable {var} is not set")),
        },
        None => {
            let mut key = store_path.clone().into_os_string();
            key.push(".key");
            MasterKey::KeyFile(PathBuf::from(key))
        }
    };
    FileStore::open(&store_path, &master, 10_000)
        .map_err(|e| format!("{}: {e}", store_path.display()))
}

/// keyhaven authenticator serve.
pub fn serve(a: ServeArgs) -> ExitCode {
    if [a.stdio, a.hid_socket.is_some(), a.uhid]
        .iter()
        .filter(|t| **t)
        .count()
        != 1
    {
        return fail("choose one transport: --stdio, --hid-socket PATH or --uhid");
    }
    if a.uhid && !cfg!(all(feature = "uhid", target_os = "linux")) {
        return fail("--uhid needs a Linux build with `--features uhid`");
    }
    let store = match open_store(a.store.clone(), a.passphrase_env.as_deref()) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let user = CliUser {
        presence: a.presence,
        uv: a.uv,
    };
    let settings = match settings(&a) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    if a.hid_socket.is_some() || a.uhid {
        use keyhaven_authenticator::ctaphid::{HidDevice, KeepaliveStatus, Signalling};
        // KEEPALIVE reports say UPNEEDED while the terminal prompt waits.
        let status = KeepaliveStatus::default();
        let user = Signalling {
            inner: user,
            status: status.clone(),
        };
        let auth = match Authenticator::new(store, user, settings) {
            Ok(a) => a,
            Err(e) => return fail(e),
        };
        let mut device = HidDevice::with_keepalive(auth, status);
        return match &a.hid_socket {
            Some(path) => match keyhaven_authenticator::ctaphid::serve_unix(&mut device, path) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(format!("{}: {e}", path.display())),
            },
            None => serve_uhid(&mut device),
        };
    }
    let mut auth = match Authenticator::new(store, user, settings) {
        Ok(a) => a,
        Err(e) => return fail(e),
    };
    match keyhaven_authenticator::stdio::serve(
        &mut auth,
        std::io::stdin().lock(),
        std::io::stdout().lock(),
    ) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(format!("stdio: {e}")),
    }
}

/// Flags of the maintenance subcommands.
#[derive(Args)]
pub struct StoreArgs {
    /// The credential store (default: $XDG_DATA_HOME/keyhaven/authenticator.khs).
    #[arg(long)]
    store: Option<PathBuf>,
    /// Name of an environment variable holding the store passphrase.
    #[arg(long)]
    passphrase_env: Option<String>,
    /// Print JSON instead of text (info, list).
    #[arg(long)]
    json: bool,
}

/// The maintenance subcommands.
#[derive(clap::Subcommand)]
pub enum Maintenance {
    /// Print authenticatorGetInfo.
    Info(StoreArgs),
    /// List the stored credentials.
    List(StoreArgs),
    /// Delete a credential by its ID (base64url).
    Delete {
        /// The credential ID, base64url (it may begin with '-').
        #[arg(value_name = "CREDENTIAL_ID", allow_hyphen_values = true)]
        id: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Set the PIN (prompted on the terminal, or from --pin-env).
    SetPin {
        /// Environment variable holding the new PIN.
        #[arg(long)]
        pin_env: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Change the PIN (prompted, or from --pin-env and --new-pin-env).
    ChangePin {
        /// Environment variable holding the current PIN.
        #[arg(long)]
        pin_env: Option<String>,
        /// Environment variable holding the new PIN.
        #[arg(long)]
        new_pin_env: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Erase every credential, the PIN and the large blobs (authenticatorReset).
    Reset {
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// Moving passkeys out of and into the store (CXF).
#[derive(clap::Subcommand)]
pub enum Exchange {
    /// Export the passkeys as a Credential Exchange Format (CXF v1.0) document. It holds
    /// their private keys: written to --out (created with mode 0600), or to standard output
    /// only when that is not a terminal. Passkeys whose signature counter is not zero are
    /// left out, as CXF requires.
    Export {
        /// The format (only cxf).
        #[arg(long, value_enum, default_value = "cxf")]
        format: ExportFormat,
        /// The file to create (refused if it exists).
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Import the passkeys of a CXF document (other items are passed over), all or none:
    /// a duplicate or malformed passkey refuses the whole file and changes nothing. The
    /// store is created if absent. Imported passkeys keep signature counter 0.
    Import {
        /// The CXF document (JSON), or - for standard input.
        file: String,
        /// The credProtect level the imported passkeys get (CXF cannot carry it): 1
        /// (user verification optional), 2 (optional with the credential ID list), 3
        /// (user verification required). An export says how many of its passkeys had 2 or 3.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=3))]
        cred_protect: u8,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// Export formats.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum ExportFormat {
    /// FIDO Alliance Credential Exchange Format v1.0 (JSON).
    Cxf,
}

fn read_pin(env: Option<&str>, prompt: &str) -> Result<String, String> {
    match env {
        Some(var) => {
            std::env::var(var).map_err(|_| format!("environment variable {var} is not set"))
        }
        None => rpassword::prompt_password(prompt)
            .map_err(|e| format!("cannot read the PIN from the terminal: {e}")),
    }
}

fn ctap(
    auth: &mut Authenticator<FileStore, CliUser>,
    req: keyhaven_proto::ctap2::Request,
) -> Result<keyhaven_proto::ctap2::ResponseBody, String> {
    let cmd = req.command();
    let out = auth.process(&req.to_bytes());
    let r = keyhaven_proto::ctap2::Response::from_bytes(cmd, &out).map_err(|e| e.to_string())?;
    if r.status == keyhaven_proto::ctap2::StatusCode::Ok {
        Ok(r.body)
    } else {
        Err(format!("the authenticator answered {}", r.status))
    }
}

/// Runs a clientPIN operation through the client's platform side of the PIN protocol.
fn pin_op(
    auth: Authenticator<FileStore, CliUser>,
    op: impl FnOnce(&mut keyhaven_client::ctap::Session) -> Result<(), keyhaven_client::ClientError>,
) -> Result<(), String> {
    let mut dev = keyhaven_client::InProcess::new(auth);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut s = keyhaven_client::ctap::Session::open(
        &mut dev,
        keyhaven_client::device::Cancel::until(deadline),
    )
    .map_err(|e| e.to_string())?;
    op(&mut s).map_err(|e| e.to_string())
}

fn maintenance_inner(m: Maintenance) -> Result<(), String> {
    use keyhaven_proto::ctap2::Request;
    let args = match &m {
        Maintenance::Info(s) | Maintenance::List(s) => s,
        Maintenance::Delete { store, .. }
        | Maintenance::SetPin { store, .. }
        | Maintenance::ChangePin { store, .. }
        | Maintenance::Reset { store, .. } => store,
    };
    let store = open_store(args.store.clone(), args.passphrase_env.as_deref())?;
    let user = CliUser {
        presence: Presence::Always,
        uv: Uv::None,
    };
    let json = args.json;
    let mut auth =
        Authenticator::new(store, user, Settings::default()).map_err(|e| e.to_string())?;
    match m {
        Maintenance::Info(_) => print_info(&mut auth, json)?,
        Maintenance::List(_) => print_list(&auth, json)?,
        Maintenance::Delete { id, .. } => {
            let raw =
                keyhaven_proto::b64::decode(&id).map_err(|e| format!("credential ID: {e}"))?;
            // Whoever holds the store's key owns it: delete directly.
            if !auth.store_mut().delete(&raw).map_err(|e| e.to_string())? {
                return Err(format!("no credential {id}"));
            }
            println!("deleted {id}");
        }
        Maintenance::SetPin { pin_env, .. } => {
            let pin = SecretBytes::new(read_pin(pin_env.as_deref(), "New PIN: ")?.into_bytes());
            pin_op(auth, |s| keyhaven_client::pin::set_pin(s, &pin))?;
            println!("PIN set");
        }
        Maintenance::ChangePin {
            pin_env,
            new_pin_env,
            ..
        } => {
            let old = SecretBytes::new(read_pin(pin_env.as_deref(), "Current PIN: ")?.into_bytes());
            let new = SecretBytes::new(read_pin(new_pin_env.as_deref(), "New PIN: ")?.into_bytes());
            pin_op(auth, |s| keyhaven_client::pin::change_pin(s, &old, &new))?;
            println!("PIN changed");
        }
        Maintenance::Reset { yes, .. } => {
            let asker = CliUser {
                presence: Presence::Ask,
                uv: Uv::None,
            };
            if !yes && !asker.ask("Erase every credential and the PIN?") {
                return Err("reset cancelled".into());
            }
            ctap(&mut auth, Request::Reset)?;
            println!("authenticator reset");
        }
    }
    Ok(())
}

/// `authenticator info`: the getInfo answer as JSON.
fn print_info(auth: &mut Authenticator<FileStore, CliUser>, json: bool) -> Result<(), String> {
    use keyhaven_proto::ctap2::{Request, ResponseBody};
    let ResponseBody::GetInfo(info) = ctap(auth, Request::GetInfo)? else {
        return Err("no getInfo body".into());
    };
    let v = serde_json::json!({
        "versions": info.versions,
        "extensions": info.extensions,
        "aaguid": keyhaven_proto::authdata::Aaguid(info.aaguid).to_string(),
        "options": info.options.unwrap_or_default().into_iter().collect::<std::collections::BTreeMap<_, _>>(),
        "pinUvAuthProtocols": info.pin_uv_auth_protocols,
        "algorithms": info.algorithms.unwrap_or_default().iter().map(|a| a.alg).collect::<Vec<_>>(),
        "minPINLength": info.min_pin_length,
        "remainingDiscoverableCredentials": info.remaining_discoverable_credentials,
    });
    println!(
        "{}",
        if json {
            v.to_string()
        } else {
            serde_json::to_string_pretty(&v).unwrap_or_default()
        }
    );
    Ok(())
}

/// `authenticator list`: the stored credentials, as JSON or one line each.
fn print_list(auth: &Authenticator<FileStore, CliUser>, json: bool) -> Result<(), String> {
    let creds = auth.store().all().map_err(|e| e.to_string())?;
    let rows: Vec<_> = creds
        .iter()
        .map(|c| {
            serde_json::json!({
                "id": keyhaven_proto::b64::encode(&c.id),
                "rpId": c.rp_id,
                "user": c.user.name,
                "userHandle": keyhaven_proto::b64::encode(&c.user.id),
                "algorithm": keyhaven_proto::cose::algorithm_name(c.alg),
                "signCount": c.sign_count,
                "discoverable": c.discoverable,
                "credProtect": c.cred_protect,
            })
        })
        .collect();
    if json {
        println!("{}", serde_json::Value::Array(rows));
    } else if rows.is_empty() {
        println!("no credentials");
    } else {
        for r in rows {
            println!(
                "{}  {}  {}  {}  count {}{}",
                r["id"].as_str().unwrap_or(""),
                r["rpId"].as_str().unwrap_or(""),
                r["user"].as_str().unwrap_or("-"),
                r["algorithm"].as_str().unwrap_or(""),
                r["signCount"],
                if r["discoverable"] == true {
                    "  discoverable"
                } else {
                    ""
                }
            );
        }
    }
    Ok(())
}

/// `authenticator export` and `import`: errors are the user's input (exit 2).
fn exchange_inner(m: Exchange) -> Result<(), String> {
    use keyhaven_authenticator::cxf;
    match m {
        Exchange::Export { out, store, .. } => {
            // Where it goes is checked before anything is read.
            use std::io::IsTerminal;
            if out.is_none() && std::io::stdout().is_terminal() {
                return Err("the export holds private keys: not printed to a terminal; use --out FILE or a pipe".into());
            }
            let path = store.store.clone().unwrap_or_else(default_store);
            if !path.exists() {
                return Err(format!("{}: no such store", path.display()));
            }
            let s = open_store(store.store, store.passphrase_env.as_deref())?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let export =
                cxf::export(&s, &cxf::ExportOptions::new(now)).map_err(|e| e.to_string())?;
            let json = cxf::to_json(&export.document).map_err(|e| e.to_string())?;
            match &out {
                Some(p) => {
                    use std::io::Write;
                    use std::os::unix::fs::OpenOptionsExt;
                    let mut f = std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .mode(0o600)
                        .open(p)
                        .map_err(|e| match e.kind() {
                            std::io::ErrorKind::AlreadyExists => format!(
                                "{} exists: the export is never written over a file",
                                p.display()
                            ),
                            _ => format!("{}: {e}", p.display()),
                        })?;
                    f.write_all(json.expose())
                        .and_then(|()| f.write_all(b"\n"))
                        .and_then(|()| f.sync_all())
                        .map_err(|e| format!("{}: {e}", p.display()))?;
                }
                None => {
                    use std::io::Write;
                    let mut o = std::io::stdout().lock();
                    o.write_all(json.expose())
                        .and_then(|()| o.write_all(b"\n"))
                        .and_then(|()| o.flush())
                        .map_err(|e| format!("standard output: {e}"))?;
                }
            }
            eprintln!(
                "exported {} passkeys{}{}{}",
                export.exported,
                match export.excluded_counting {
                    0 => String::new(),
                    n => format!("; left out {n} whose signature counter is not zero (CXF moves only passkeys with a zero counter)"),
                },
                match export.excluded_u2f {
                    0 => String::new(),
                    n => format!("; left out {n} U2F credentials"),
                },
                match export.protected {
                    0 => String::new(),
                    n => format!("; {n} of them had credProtect level 2 or 3, which CXF cannot carry (import with --cred-protect to keep it)"),
                }
            );
            Ok(())
        }
        Exchange::Import {
            file,
            cred_protect,
            store,
        } => {
            let bytes = crate::rp_cli::read(&file)?;
            let doc = cxf::parse(&bytes).map_err(|e| format!("{file}: {e}"))?;
            let path = store.store.clone().unwrap_or_else(default_store);
            let mut key = path.clone().into_os_string();
            key.push(".key");
            let (existed, key_existed) = (path.exists(), std::path::Path::new(&key).exists());
            let result =
                open_store(store.store, store.passphrase_env.as_deref()).and_then(|mut s| {
                    let options = cxf::ImportOptions {
                        cred_protect,
                        ..Default::default()
                    };
                    cxf::import(&mut s, &doc, &options).map_err(|e| format!("{file}: {e}"))
                });
            match result {
                Ok(r) => {
                    println!(
                        "imported {} passkeys{}",
                        r.imported,
                        match r.skipped_other {
                            0 => String::new(),
                            n => format!(" (passed over {n} credentials that are not passkeys)"),
                        }
                    );
                    Ok(())
                }
                Err(e) => {
                    // Nothing changed: a store made for this import goes again.
                    if !existed {
                        let _ = std::fs::remove_file(&path);
                    }
                    if !key_existed {
                        let _ = std::fs::remove_file(&key);
                    }
                    Err(e)
                }
            }
        }
    }
}

/// keyhaven authenticator export | import.
pub fn exchange(m: Exchange) -> ExitCode {
    match exchange_inner(m) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

/// keyhaven authenticator info | list | delete | set-pin | change-pin | reset.
pub fn maintenance(m: Maintenance) -> ExitCode {
    match maintenance_inner(m) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("keyhaven: error: {e}");
            ExitCode::from(1)
        }
    }
}

#[cfg(all(feature = "uhid", target_os = "linux"))]
fn serve_uhid<S, U>(device: &mut keyhaven_authenticator::ctaphid::HidDevice<S, U>) -> ExitCode
where
    S: CredentialStore + Send,
    U: UserInteraction + Send,
{
    use keyhaven_authenticator::uhid::UhidLink;
    // pid.codes test VID/PID.
    let mut link = match UhidLink::create("keyhaven authenticator", 0x1209, 0x0001) {
        Ok(l) => l,
        Err(e) => return fail(format!("/dev/uhid: {e}")),
    };
    match keyhaven_authenticator::ctaphid::serve(device, &mut link) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(format!("/dev/uhid: {e}")),
    }
}

#[cfg(not(all(feature = "uhid", target_os = "linux")))]
fn serve_uhid<S, U>(_: &mut keyhaven_authenticator::ctaphid::HidDevice<S, U>) -> ExitCode
where
    S: CredentialStore + Send,
    U: UserInteraction + Send,
{
    fail("--uhid needs a Linux build with `--features uhid`")
}
