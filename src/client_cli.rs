//! `keyhaven client create|get`: the WebAuthn client over the software
//! authenticator's store (or a CTAPHID socket), printing the browser's JSON.

use crate::authenticator_cli::{open_store, CliUser, Presence, Uv};
use clap::Args;
use keyhaven_authenticator::{Authenticator, Settings};
use keyhaven_client::{
    parse_creation_options_from_json, parse_request_options_from_json, CallOptions, Client,
    ClientError, Device, FixedPin, InProcess,
};
use keyhaven_crypto::SecretBytes;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

/// Flags of `keyhaven client create` and `keyhaven client get`.
#[derive(Args)]
pub struct ClientArgs {
    /// The caller's origin, e.g. https://login.example.com.
    #[arg(long)]
    origin: String,
    /// PublicKeyCredentialCreationOptionsJSON / RequestOptionsJSON: a file, or - for stdin.
    #[arg(long)]
    options: String,
    /// The authenticator store (default: $XDG_DATA_HOME/keyhaven/authenticator.khs).
    #[arg(long)]
    store: Option<PathBuf>,
    /// Name of an environment variable holding the store passphrase (instead of a key file).
    #[arg(long)]
    passphrase_env: Option<String>,
    /// User presence: ask on the terminal, or always approve.
    #[arg(long, value_enum, default_value = "ask")]
    presence: Presence,
    /// Built-in user verification: none, or always succeed.
    #[arg(long, value_enum, default_value = "none")]
    uv: Uv,
    /// Name of an environment variable holding the authenticator PIN.
    #[arg(long)]
    pin_env: Option<String>,
    /// Talk CTAPHID to this Unix socket (`keyhaven authenticator serve --hid-socket`) instead of the store.
    #[arg(long, value_name = "PATH", conflicts_with = "store")]
    hid_socket: Option<PathBuf>,
    /// Talk to this Linux hidraw node (a real security key; needs a build with `--features hidraw`).
    #[arg(long, value_name = "PATH", conflicts_with_all = ["store", "hid_socket"])]
    hidraw: Option<PathBuf>,
    /// The top-level origin, when the call comes from a cross-origin iframe.
    #[arg(long)]
    top_origin: Option<String>,
    /// The store's authenticator makes credentials whose signature counter stays 0 (so that
    /// `authenticator export` can move them).
    #[arg(long, conflicts_with_all = ["hid_socket", "hidraw"])]
    zero_counters: bool,
    /// The RP ID's /.well-known/webauthn document, for related origin requests.
    #[arg(long, value_name = "FILE")]
    related_origins: Option<PathBuf>,
}

fn bad_input(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("keyhaven: error: {msg}");
    ExitCode::from(2)
}

fn refused(e: &ClientError) -> ExitCode {
    eprintln!("keyhaven: {}: {e}", e.dom_exception());
    ExitCode::from(1)
}

fn read(path: &str) -> Result<String, String> {
    let mut s = String::new();
    if path == "-" {
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
    } else {
        s = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    }
    Ok(s)
}

#[cfg(all(feature = "hidraw", target_os = "linux"))]
fn hidraw(path: &std::path::Path) -> Result<Box<dyn Device>, String> {
    Ok(Box::new(
        keyhaven_client::hid::HidDevice::open_hidraw(path).map_err(|e| e.to_string())?,
    ))
}

#[cfg(not(all(feature = "hidraw", target_os = "linux")))]
fn hidraw(_: &std::path::Path) -> Result<Box<dyn Device>, String> {
    Err("--hidraw needs a Linux build with `--features hidraw`".into())
}

fn setup(a: &ClientArgs) -> Result<(Client, CallOptions, String), String> {
    let options = read(&a.options)?;
    let device: Box<dyn Device> = match (&a.hid_socket, &a.hidraw) {
        (Some(path), _) => Box::new(
            keyhaven_client::hid::HidDevice::connect_unix(path).map_err(|e| e.to_string())?,
        ),
        (None, Some(path)) => hidraw(path)?,
        (None, None) => {
            let store = open_store(a.store.clone(), a.passphrase_env.as_deref())?;
            let user = CliUser {
                presence: a.presence,
                uv: a.uv,
            };
            let settings = Settings {
                zero_counters: a.zero_counters,
                ..Settings::default()
            };
            let auth = Authenticator::new(store, user, settings).map_err(|e| e.to_string())?;
            Box::new(InProcess::new(auth))
        }
    };
    let mut client = Client::new(vec![device]);
    if let Some(var) = &a.pin_env {
        let pin =
            std::env::var(var).map_err(|_| format!("environment variable {var} is not set"))?;
        client = client.with_pin_provider(FixedPin(SecretBytes::new(pin.into_bytes())));
    }
    let related_origins = match &a.related_origins {
        Some(p) => Some(read(&p.to_string_lossy())?),
        None => None,
    };
    let call = CallOptions {
        origin: a.origin.clone(),
        top_origin: a.top_origin.clone(),
        signal: None,
        related_origins,
    };
    Ok((client, call, options))
}

/// The common run of `create` and `get`: set up, parse the options (exit 2
/// when malformed), run the ceremony (exit 1 with the DOMException name when
/// refused), print the browser's JSON.
fn run<O>(
    a: &ClientArgs,
    parse: fn(&str) -> Result<O, ClientError>,
    ceremony: impl FnOnce(&mut Client, &CallOptions, &O) -> Result<String, ClientError>,
) -> ExitCode {
    let (mut client, call, json) = match setup(a) {
        Ok(v) => v,
        Err(e) => return bad_input(e),
    };
    let options = match parse(&json) {
        Ok(o) => o,
        Err(e) => return bad_input(e),
    };
    match ceremony(&mut client, &call, &options) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => refused(&e),
    }
}

/// keyhaven client create.
pub fn create(a: ClientArgs) -> ExitCode {
    run(&a, parse_creation_options_from_json, |c, call, o| {
        c.create(call, o).map(|cred| cred.to_json_string())
    })
}

/// keyhaven client get.
pub fn get(a: ClientArgs) -> ExitCode {
    run(&a, parse_request_options_from_json, |c, call, o| {
        c.get(call, o).map(|cred| cred.to_json_string())
    })
}
