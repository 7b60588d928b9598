//! `keyhaven`: the command-line front end. Each subcommand is a thin layer over
//! a library crate in `crates/`.

#![forbid(unsafe_code)]

mod authenticator_cli;
mod client_cli;
mod rp_cli;
mod serve_cli;

use clap::{Parser, Subcommand};
use std::io::Read;
use std::process::ExitCode;

// mimalloc: the server allocates and frees small buffers on every request from
// two worker threads; glibc's malloc spent ~10% of their time on it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "keyhaven",
    version,
    about = "keyhaven: a passkey (WebAuthn / FIDO2) stack"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decode and explain a WebAuthn / CTAP blob: authenticatorData, attestationObject,
    /// clientDataJSON, COSE key, CTAP2 request or response, registration or authentication
    /// response JSON, creation or request options JSON. Input may be raw bytes, hex,
    /// base64url, base64 or JSON.
    Inspect {
        /// File to read, or - for standard input.
        #[arg(default_value = "-")]
        file: String,
        /// Print machine-readable JSON instead of annotated text.
        #[arg(long)]
        json: bool,
        /// Decode as this kind instead of detecting it: authdata, attestation, clientdata, cose,
        /// ctap-request, ctap-response, registration, authentication, creation-options, request-options.
        #[arg(long = "as", value_name = "KIND")]
        kind: Option<String>,
        /// Input encoding instead of detecting it: raw, hex, base64 (base64url or standard), json.
        #[arg(long, value_name = "ENCODING")]
        encoding: Option<String>,
    },
    /// The CTAP 2.2 software authenticator.
    #[command(subcommand)]
    Authenticator(AuthenticatorCommand),
    /// Relying-party verification of WebAuthn responses (L3 §7.1 / §7.2).
    #[command(subcommand)]
    Rp(RpCommand),
    /// The passkey login server with its web page: http://localhost:8080 by default, SQLite
    /// in ./keyhaven-data (or --database postgres://…).
    Serve(serve_cli::ServeArgs),
    /// The WebAuthn client: what a browser does for navigator.credentials.create()/get().
    #[command(subcommand)]
    Client(ClientCommand),
    /// Passkey provider names and icons (the community AAGUID list).
    #[command(subcommand)]
    Providers(ProvidersCommand),
}

#[derive(Subcommand)]
enum ProvidersCommand {
    /// Check a downloaded aaguid.json (passkeydeveloper/passkey-authenticator-aaguids) the way
    /// `serve` does and write it to --out, e.g. crates/keyhaven-server/data/aaguid.json to
    /// refresh the built-in snapshot, or a file for `serve --aaguid-list`.
    Update {
        /// The downloaded list, or - for standard input.
        file: String,
        /// Where to write it.
        #[arg(long)]
        out: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
enum ClientCommand {
    /// navigator.credentials.create(): reads PublicKeyCredentialCreationOptionsJSON,
    /// prints RegistrationResponseJSON. Exit 1 with the DOMException name on refusal.
    Create(client_cli::ClientArgs),
    /// navigator.credentials.get(): reads PublicKeyCredentialRequestOptionsJSON,
    /// prints AuthenticationResponseJSON.
    Get(client_cli::ClientArgs),
}

#[derive(Subcommand)]
enum AuthenticatorCommand {
    /// Serve CTAP2 requests: `--stdio` reads 4-byte big-endian length-framed requests on
    /// stdin and writes framed responses on stdout.
    Serve(authenticator_cli::ServeArgs),
    #[command(flatten)]
    Maintenance(authenticator_cli::Maintenance),
    #[command(flatten)]
    Exchange(authenticator_cli::Exchange),
}

#[derive(Subcommand)]
enum RpCommand {
    /// Verify a RegistrationResponseJSON; prints the new credential record.
    VerifyRegistration(rp_cli::RegistrationArgs),
    /// Verify an AuthenticationResponseJSON against a stored record; prints the updated record.
    VerifyAuthentication(rp_cli::AuthenticationArgs),
}

/// A failure the user caused: one line on stderr, exit code 2.
fn input_error(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("keyhaven: error: {msg}");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Authenticator(AuthenticatorCommand::Serve(a)) => authenticator_cli::serve(a),
        Command::Authenticator(AuthenticatorCommand::Exchange(m)) => authenticator_cli::exchange(m),
        Command::Authenticator(AuthenticatorCommand::Maintenance(m)) => {
            authenticator_cli::maintenance(m)
        }
        Command::Serve(a) => serve_cli::serve(a),
        Command::Providers(ProvidersCommand::Update { file, out }) => {
            serve_cli::update_providers(&file, &out)
        }
        Command::Client(ClientCommand::Create(a)) => client_cli::create(a),
        Command::Client(ClientCommand::Get(a)) => client_cli::get(a),
        Command::Rp(RpCommand::VerifyRegistration(a)) => rp_cli::verify_registration(a),
        Command::Rp(RpCommand::VerifyAuthentication(a)) => rp_cli::verify_authentication(a),
        Command::Inspect {
            file,
            json,
            kind,
            encoding,
        } => {
            let kind = match kind
                .as_deref()
                .map(|k| (k, keyhaven_inspect::Kind::from_name(k)))
            {
                None => None,
                Some((_, Some(k))) => Some(k),
                Some((k, None)) => return input_error(format!("unknown kind {k:?} for --as")),
            };
            let encoding = match encoding
                .as_deref()
                .map(|e| (e, keyhaven_inspect::Encoding::from_name(e)))
            {
                None => None,
                Some((_, Some(e))) => Some(e),
                Some((e, None)) => {
                    return input_error(format!("unknown encoding {e:?} for --encoding"))
                }
            };
            let mut input = Vec::new();
            let read = if file == "-" {
                std::io::stdin().read_to_end(&mut input).map(|_| ())
            } else {
                std::fs::File::open(&file)
                    .and_then(|mut f| f.read_to_end(&mut input))
                    .map(|_| ())
            };
            if let Err(e) = read {
                return input_error(format!("cannot read {file}: {e}"));
            }
            match keyhaven_inspect::inspect_with(&input, kind, encoding) {
                Ok(report) => {
                    if json {
                        println!("{}", report.to_json());
                    } else {
                        print!("{}", report.to_text());
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => input_error(e),
            }
        }
    }
}
