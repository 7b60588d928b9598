//! The CTAP 2.2 command set (CTAP 2.2 §6): requests, responses and status codes.
//!
//! A CTAP2 request is one command byte followed by a CBOR map with integer
//! keys; a response is one status byte followed, on success, by a CBOR map.
//! Unknown map keys are skipped on decode (CTAP 2.2 §8: "… MUST ignore …
//! unknown keys"), known keys are type-checked and required keys must be
//! present. Every type here encodes in CTAP2 canonical form and decodes what
//! it encodes byte-exactly.
//!
//! ```
//! use keyhaven_proto::ctap2::{Request, get_assertion::GetAssertionRequest};
//! let req = Request::GetAssertion(GetAssertionRequest::new("example.org", [0u8; 32].to_vec()));
//! let bytes = req.to_bytes();
//! assert_eq!(bytes[0], 0x02);
//! assert_eq!(Request::from_bytes(&bytes).unwrap(), req);
//! ```

/// Declares a CTAP subcommand enum with its numbers and an `Other(u64)` catch-all.
macro_rules! subcommands {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $num:expr,)* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
            /// Any other value (the authenticator answers CTAP2_ERR_INVALID_SUBCOMMAND).
            Other(u64),
        }

        impl $name {
            /// The subcommand number.
            pub fn to_u64(self) -> u64 {
                match self {
                    $(Self::$variant => $num,)*
                    Self::Other(n) => n,
                }
            }
            /// The subcommand for a number.
            pub fn from_u64(n: u64) -> Self {
                match n {
                    $($num => Self::$variant,)*
                    n => Self::Other(n),
                }
            }
        }
    };
}

pub mod client_pin;
pub mod config;
pub mod credential_management;
pub mod get_assertion;
pub mod get_info;
pub mod large_blobs;
pub mod make_credential;
mod status;
pub mod types;

pub use status::StatusCode;

use crate::cbor::{self, CborError, Value};

/// CTAP2 command bytes (CTAP 2.2 §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Command {
    /// 0x01 authenticatorMakeCredential.
    MakeCredential = 0x01,
    /// 0x02 authenticatorGetAssertion.
    GetAssertion = 0x02,
    /// 0x04 authenticatorGetInfo.
    GetInfo = 0x04,
    /// 0x06 authenticatorClientPIN.
    ClientPin = 0x06,
    /// 0x07 authenticatorReset.
    Reset = 0x07,
    /// 0x08 authenticatorGetNextAssertion.
    GetNextAssertion = 0x08,
    /// 0x0A authenticatorCredentialManagement.
    CredentialManagement = 0x0a,
    /// 0x0B authenticatorSelection.
    Selection = 0x0b,
    /// 0x0C authenticatorLargeBlobs.
    LargeBlobs = 0x0c,
    /// 0x0D authenticatorConfig.
    Config = 0x0d,
}

impl Command {
    /// The command for a byte, if known.
    pub fn from_byte(b: u8) -> Option<Command> {
        Some(match b {
            0x01 => Command::MakeCredential,
            0x02 => Command::GetAssertion,
            0x04 => Command::GetInfo,
            0x06 => Command::ClientPin,
            0x07 => Command::Reset,
            0x08 => Command::GetNextAssertion,
            0x0a => Command::CredentialManagement,
            0x0b => Command::Selection,
            0x0c => Command::LargeBlobs,
            0x0d => Command::Config,
            _ => return None,
        })
    }

    /// The spec name ("authenticatorGetAssertion", …).
    pub const fn name(self) -> &'static str {
        match self {
            Command::MakeCredential => "authenticatorMakeCredential",
            Command::GetAssertion => "authenticatorGetAssertion",
            Command::GetInfo => "authenticatorGetInfo",
            Command::ClientPin => "authenticatorClientPIN",
            Command::Reset => "authenticatorReset",
            Command::GetNextAssertion => "authenticatorGetNextAssertion",
            Command::CredentialManagement => "authenticatorCredentialManagement",
            Command::Selection => "authenticatorSelection",
            Command::LargeBlobs => "authenticatorLargeBlobs",
            Command::Config => "authenticatorConfig",
        }
    }
}

/// Why a CTAP2 message was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CtapError {
    /// The message is empty.
    #[error("CTAP2 message is empty (expected a command or status byte)")]
    Empty,
    /// The command byte is not a CTAP2 command.
    #[error("unknown CTAP2 command byte 0x{0:02x}")]
    UnknownCommand(u8),
    /// The parameters are not strict canonical CBOR (offsets count from the
    /// first byte of the message).
    #[error("{context}: {source}")]
    Cbor {
        /// Which structure.
        context: &'static str,
        /// The CBOR error.
        source: CborError,
    },
    /// A structure that must be a map is not.
    #[error("{context}: expected a map, found {found}")]
    NotAMap {
        /// Which structure.
        context: &'static str,
        /// What it was.
        found: &'static str,
    },
    /// A required member is missing.
    #[error("{context}: missing required member {key} ({name})")]
    Missing {
        /// Which structure.
        context: &'static str,
        /// Key as text (integer or string key).
        key: String,
        /// Spec name of the member.
        name: &'static str,
    },
    /// A member has the wrong CBOR type.
    #[error("{context}: member {name}: expected {expected}, found {found}")]
    WrongType {
        /// Which structure.
        context: &'static str,
        /// Member name.
        name: &'static str,
        /// Expected type.
        expected: &'static str,
        /// Found type.
        found: &'static str,
    },
    /// A member has a value outside its range or a malformed nested structure.
    #[error("{context}: member {name}: {reason}")]
    Invalid {
        /// Which structure.
        context: &'static str,
        /// Member name.
        name: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Parameters follow a command that takes none.
    #[error("{0} takes no parameters, found {1} byte(s)")]
    UnexpectedParameters(&'static str, usize),
}

impl CtapError {
    /// The status code an authenticator answers for this error (CTAP 2.2 §8.2 / §6).
    pub fn status(&self) -> StatusCode {
        match self {
            CtapError::Empty => StatusCode::Ctap1ErrInvalidLength,
            CtapError::UnknownCommand(_) => StatusCode::Ctap1ErrInvalidCommand,
            CtapError::Cbor { .. } => StatusCode::Ctap2ErrInvalidCbor,
            CtapError::NotAMap { .. } | CtapError::WrongType { .. } => {
                StatusCode::Ctap2ErrCborUnexpectedType
            }
            CtapError::Missing { .. } => StatusCode::Ctap2ErrMissingParameter,
            CtapError::Invalid { .. } => StatusCode::Ctap1ErrInvalidParameter,
            CtapError::UnexpectedParameters(..) => StatusCode::Ctap1ErrInvalidLength,
        }
    }
}

/// Reads the members of one CBOR map, with typed errors naming the structure.
pub(crate) struct Fields<'a> {
    pub(crate) context: &'static str,
    entries: &'a [(Value, Value)],
}

impl<'a> Fields<'a> {
    pub(crate) fn new(v: &'a Value, context: &'static str) -> Result<Self, CtapError> {
        match v {
            Value::Map(entries) => Ok(Fields { context, entries }),
            other => Err(CtapError::NotAMap {
                context,
                found: other.type_name(),
            }),
        }
    }

    pub(crate) fn get(&self, key: i64) -> Option<&'a Value> {
        self.entries
            .iter()
            .find(|(k, _)| k.as_i64() == Some(key))
            .map(|(_, v)| v)
    }

    pub(crate) fn get_text(&self, key: &str) -> Option<&'a Value> {
        self.entries
            .iter()
            .find(|(k, _)| k.as_text() == Some(key))
            .map(|(_, v)| v)
    }

    fn wrong(&self, name: &'static str, expected: &'static str, v: &Value) -> CtapError {
        CtapError::WrongType {
            context: self.context,
            name,
            expected,
            found: v.type_name(),
        }
    }

    pub(crate) fn missing(&self, key: impl ToString, name: &'static str) -> CtapError {
        CtapError::Missing {
            context: self.context,
            key: key.to_string(),
            name,
        }
    }

    pub(crate) fn invalid(&self, name: &'static str, reason: impl Into<String>) -> CtapError {
        CtapError::Invalid {
            context: self.context,
            name,
            reason: reason.into(),
        }
    }

    pub(crate) fn bytes_of(&self, v: &Value, name: &'static str) -> Result<Vec<u8>, CtapError> {
        v.as_bytes()
            .map(<[u8]>::to_vec)
            .ok_or_else(|| self.wrong(name, "byte string", v))
    }
    pub(crate) fn text_of(&self, v: &Value, name: &'static str) -> Result<String, CtapError> {
        v.as_text()
            .map(str::to_owned)
            .ok_or_else(|| self.wrong(name, "text string", v))
    }
    pub(crate) fn uint_of(&self, v: &Value, name: &'static str) -> Result<u64, CtapError> {
        v.as_u64()
            .ok_or_else(|| self.wrong(name, "unsigned integer", v))
    }
    pub(crate) fn int_of(&self, v: &Value, name: &'static str) -> Result<i64, CtapError> {
        v.as_i64().ok_or_else(|| self.wrong(name, "integer", v))
    }
    pub(crate) fn bool_of(&self, v: &Value, name: &'static str) -> Result<bool, CtapError> {
        v.as_bool().ok_or_else(|| self.wrong(name, "boolean", v))
    }
    pub(crate) fn map_of(&self, v: &'a Value, name: &'static str) -> Result<&'a Value, CtapError> {
        v.as_map()
            .map(|_| v)
            .ok_or_else(|| self.wrong(name, "map", v))
    }
    pub(crate) fn array_of(
        &self,
        v: &'a Value,
        name: &'static str,
    ) -> Result<&'a [Value], CtapError> {
        v.as_array().ok_or_else(|| self.wrong(name, "array", v))
    }

    pub(crate) fn req<T>(
        &self,
        key: i64,
        name: &'static str,
        f: impl FnOnce(&Self, &'a Value, &'static str) -> Result<T, CtapError>,
    ) -> Result<T, CtapError> {
        let v = self.get(key).ok_or_else(|| self.missing(key, name))?;
        f(self, v, name)
    }

    pub(crate) fn opt<T>(
        &self,
        key: i64,
        name: &'static str,
        f: impl FnOnce(&Self, &'a Value, &'static str) -> Result<T, CtapError>,
    ) -> Result<Option<T>, CtapError> {
        self.get(key).map(|v| f(self, v, name)).transpose()
    }

    pub(crate) fn texts_of(&self, v: &Value, name: &'static str) -> Result<Vec<String>, CtapError> {
        self.array_of(v, name)?
            .iter()
            .map(|x| self.text_of(x, name))
            .collect()
    }
}

/// Builds a canonical CBOR map from optional members.
#[derive(Default)]
pub(crate) struct MapBuilder(Vec<(Value, Value)>);

impl MapBuilder {
    pub(crate) fn new() -> Self {
        MapBuilder(Vec::new())
    }
    pub(crate) fn put(mut self, key: impl Into<Value>, v: impl Into<Value>) -> Self {
        self.0.push((key.into(), v.into()));
        self
    }
    pub(crate) fn opt<T: Into<Value>>(mut self, key: impl Into<Value>, v: Option<T>) -> Self {
        if let Some(v) = v {
            self.0.push((key.into(), v.into()));
        }
        self
    }
    pub(crate) fn build(self) -> Value {
        Value::canonical_map(self.0)
    }
}

pub(crate) fn text_array(v: &[String]) -> Value {
    Value::Array(v.iter().map(|s| Value::from(s.as_str())).collect())
}

/// Decodes the CBOR parameters that follow the command / status byte; error
/// offsets count from the start of the whole message.
fn params(bytes: &[u8], context: &'static str) -> Result<Value, CtapError> {
    cbor::decode(bytes).map_err(|e| CtapError::Cbor {
        context,
        source: CborError {
            offset: e.offset + 1,
            kind: e.kind,
        },
    })
}

fn no_params(bytes: &[u8], name: &'static str) -> Result<(), CtapError> {
    if bytes.is_empty() {
        Ok(())
    } else {
        Err(CtapError::UnexpectedParameters(name, bytes.len()))
    }
}

/// A CTAP2 request message (command byte + parameters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// 0x01.
    MakeCredential(make_credential::MakeCredentialRequest),
    /// 0x02.
    GetAssertion(get_assertion::GetAssertionRequest),
    /// 0x04.
    GetInfo,
    /// 0x06.
    ClientPin(client_pin::ClientPinRequest),
    /// 0x07.
    Reset,
    /// 0x08.
    GetNextAssertion,
    /// 0x0A.
    CredentialManagement(credential_management::CredentialManagementRequest),
    /// 0x0B.
    Selection,
    /// 0x0C.
    LargeBlobs(large_blobs::LargeBlobsRequest),
    /// 0x0D.
    Config(config::ConfigRequest),
}

impl Request {
    /// The command.
    pub fn command(&self) -> Command {
        match self {
            Request::MakeCredential(_) => Command::MakeCredential,
            Request::GetAssertion(_) => Command::GetAssertion,
            Request::GetInfo => Command::GetInfo,
            Request::ClientPin(_) => Command::ClientPin,
            Request::Reset => Command::Reset,
            Request::GetNextAssertion => Command::GetNextAssertion,
            Request::CredentialManagement(_) => Command::CredentialManagement,
            Request::Selection => Command::Selection,
            Request::LargeBlobs(_) => Command::LargeBlobs,
            Request::Config(_) => Command::Config,
        }
    }

    /// Parses a request message.
    pub fn from_bytes(msg: &[u8]) -> Result<Self, CtapError> {
        let (&cmd, rest) = msg.split_first().ok_or(CtapError::Empty)?;
        let command = Command::from_byte(cmd).ok_or(CtapError::UnknownCommand(cmd))?;
        let ctx = command.name();
        Ok(match command {
            Command::MakeCredential => Request::MakeCredential(
                make_credential::MakeCredentialRequest::from_value(&params(rest, ctx)?)?,
            ),
            Command::GetAssertion => Request::GetAssertion(
                get_assertion::GetAssertionRequest::from_value(&params(rest, ctx)?)?,
            ),
            Command::ClientPin => Request::ClientPin(client_pin::ClientPinRequest::from_value(
                &params(rest, ctx)?,
            )?),
            Command::CredentialManagement => Request::CredentialManagement(
                credential_management::CredentialManagementRequest::from_value(&params(
                    rest, ctx,
                )?)?,
            ),
            Command::LargeBlobs => Request::LargeBlobs(large_blobs::LargeBlobsRequest::from_value(
                &params(rest, ctx)?,
            )?),
            Command::Config => {
                Request::Config(config::ConfigRequest::from_value(&params(rest, ctx)?)?)
            }
            Command::GetInfo => no_params(rest, ctx).map(|_| Request::GetInfo)?,
            Command::Reset => no_params(rest, ctx).map(|_| Request::Reset)?,
            Command::GetNextAssertion => no_params(rest, ctx).map(|_| Request::GetNextAssertion)?,
            Command::Selection => no_params(rest, ctx).map(|_| Request::Selection)?,
        })
    }

    /// Serializes the request message.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![self.command() as u8];
        let v = match self {
            Request::MakeCredential(r) => Some(r.to_value()),
            Request::GetAssertion(r) => Some(r.to_value()),
            Request::ClientPin(r) => Some(r.to_value()),
            Request::CredentialManagement(r) => Some(r.to_value()),
            Request::LargeBlobs(r) => Some(r.to_value()),
            Request::Config(r) => Some(r.to_value()),
            Request::GetInfo | Request::Reset | Request::GetNextAssertion | Request::Selection => {
                None
            }
        };
        if let Some(v) = v {
            cbor::encode_into(&v, &mut out);
        }
        out
    }
}

/// A successful CTAP2 response body, typed by the command that produced it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResponseBody {
    /// makeCredential.
    MakeCredential(make_credential::MakeCredentialResponse),
    /// getAssertion / getNextAssertion.
    GetAssertion(get_assertion::GetAssertionResponse),
    /// getInfo.
    GetInfo(get_info::GetInfoResponse),
    /// clientPIN.
    ClientPin(client_pin::ClientPinResponse),
    /// credentialManagement.
    CredentialManagement(credential_management::CredentialManagementResponse),
    /// largeBlobs.
    LargeBlobs(large_blobs::LargeBlobsResponse),
    /// A command whose success response is empty (reset, selection, config,
    /// or a clientPIN / credentialManagement subcommand without output).
    Empty,
}

/// A CTAP2 response message: status byte and, on success, a body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// The status.
    pub status: StatusCode,
    /// The body (only with `StatusCode::Ok`).
    pub body: ResponseBody,
}

impl Response {
    /// A success response.
    pub fn ok(body: ResponseBody) -> Self {
        Response {
            status: StatusCode::Ok,
            body,
        }
    }

    /// An error response (status byte only).
    pub fn error(status: StatusCode) -> Self {
        Response {
            status,
            body: ResponseBody::Empty,
        }
    }

    /// Parses a response to `command`. Responses do not name their command,
    /// so the caller says which one it sent.
    pub fn from_bytes(command: Command, msg: &[u8]) -> Result<Self, CtapError> {
        let (&st, rest) = msg.split_first().ok_or(CtapError::Empty)?;
        let status = StatusCode::from_byte(st);
        if status != StatusCode::Ok {
            no_params(rest, "error response")?;
            return Ok(Response::error(status));
        }
        if rest.is_empty() {
            return Ok(Response::ok(ResponseBody::Empty));
        }
        let ctx = command.name();
        let v = params(rest, ctx)?;
        let body = match command {
            Command::MakeCredential => ResponseBody::MakeCredential(
                make_credential::MakeCredentialResponse::from_value(&v)?,
            ),
            Command::GetAssertion | Command::GetNextAssertion => {
                ResponseBody::GetAssertion(get_assertion::GetAssertionResponse::from_value(&v)?)
            }
            Command::GetInfo => ResponseBody::GetInfo(get_info::GetInfoResponse::from_value(&v)?),
            Command::ClientPin => {
                ResponseBody::ClientPin(client_pin::ClientPinResponse::from_value(&v)?)
            }
            Command::CredentialManagement => ResponseBody::CredentialManagement(
                credential_management::CredentialManagementResponse::from_value(&v)?,
            ),
            Command::LargeBlobs => {
                ResponseBody::LargeBlobs(large_blobs::LargeBlobsResponse::from_value(&v)?)
            }
            Command::Reset | Command::Selection | Command::Config => {
                return Err(CtapError::UnexpectedParameters(ctx, rest.len()))
            }
        };
        Ok(Response::ok(body))
    }

    /// Serializes the response message.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![self.status.to_byte()];
        let v = match &self.body {
            ResponseBody::MakeCredential(r) => Some(r.to_value()),
            ResponseBody::GetAssertion(r) => Some(r.to_value()),
            ResponseBody::GetInfo(r) => Some(r.to_value()),
            ResponseBody::ClientPin(r) => Some(r.to_value()),
            ResponseBody::CredentialManagement(r) => Some(r.to_value()),
            ResponseBody::LargeBlobs(r) => Some(r.to_value()),
            ResponseBody::Empty => None,
        };
        if let Some(v) = v {
            cbor::encode_into(&v, &mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_skipped_and_known_ones_typed() {
        // getInfo response with a future key 0x30 and a text key: both ignored.
        let body = Value::canonical_map(vec![
            (Value::from(1), Value::Array(vec![Value::from("FIDO_2_2")])),
            (Value::from(3), Value::Bytes(vec![0; 16])),
            (Value::from(0x30), Value::from("future")),
            (Value::from("vendor"), Value::Null),
        ]);
        let mut msg = vec![0x00];
        msg.extend(cbor::encode(&body));
        let r = Response::from_bytes(Command::GetInfo, &msg).unwrap();
        let ResponseBody::GetInfo(info) = r.body else {
            panic!("getInfo body")
        };
        assert_eq!(info.versions, ["FIDO_2_2"]);
        // A known key with the wrong type is an error naming the member and the status.
        let bad = Value::canonical_map(vec![
            (Value::from(1), Value::from("FIDO_2_2")),
            (Value::from(3), Value::Bytes(vec![0; 16])),
        ]);
        let mut msg = vec![0x00];
        msg.extend(cbor::encode(&bad));
        let e = Response::from_bytes(Command::GetInfo, &msg).unwrap_err();
        assert_eq!(e.status(), StatusCode::Ctap2ErrCborUnexpectedType);
        assert!(e.to_string().contains("versions"), "{e}");
        // Missing required parameter → CTAP2_ERR_MISSING_PARAMETER.
        let e = Request::from_bytes(&[0x02, 0xa1, 0x01, 0x61, b'x']).unwrap_err();
        assert_eq!(e.status(), StatusCode::Ctap2ErrMissingParameter);
        // Invalid CBOR → CTAP2_ERR_INVALID_CBOR, offset counted from the message start.
        let e = Request::from_bytes(&[0x02, 0xa1, 0x01]).unwrap_err();
        assert_eq!(e.status(), StatusCode::Ctap2ErrInvalidCbor);
        assert!(e.to_string().contains("CBOR at byte 1"), "{e}");
        assert_eq!(
            Request::from_bytes(&[0x03]).unwrap_err().status(),
            StatusCode::Ctap1ErrInvalidCommand
        );
        assert_eq!(
            Request::from_bytes(&[]).unwrap_err().status(),
            StatusCode::Ctap1ErrInvalidLength
        );
    }
}
