//! `keyhaven authenticator serve --stdio`: the software authenticator over the
//! length-framed stdio transport, with its encrypted store.

use clap::{Args, ValueEnum};
use keyhaven_authenticator::file_store::{FileStore, MasterKey};
use keyhaven_authenticator::{Authenticator, Settings, UserInteraction};
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
}

struct CliUser {
    presence: Presence,
    uv: Uv,
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

/// keyhaven authenticator serve.
pub fn serve(a: ServeArgs) -> ExitCode {
    if !a.stdio {
        return fail("only --stdio is available so far (CTAPHID comes next)");
    }
    let store_path = a.store.unwrap_or_else(default_store);
    if let Some(dir) = store_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Err(e) = std::fs::create_dir_all(dir) {
            return fail(format!("cannot create {}: {e}", dir.display()));
        }
    }
    let master = match &a.passphrase_env {
        Some(var) => match std::env::var(var) {
            Ok(p) if !p.is_empty() => {
                MasterKey::Passphrase(SecretBytes::new(p.into_bytes()), Argon2Params::default())
            }
            _ => return fail(format!("environment variable {var} is not set")),
        },
        None => {
            let mut key = store_path.clone().into_os_string();
            key.push(".key");
            MasterKey::KeyFile(PathBuf::from(key))
        }
    };
    let store = match FileStore::open(&store_path, &master, 10_000) {
        Ok(s) => s,
        Err(e) => return fail(format!("{}: {e}", store_path.display())),
    };
    let user = CliUser {
        presence: a.presence,
        uv: a.uv,
    };
    let mut auth = match Authenticator::new(store, user, Settings::default()) {
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
