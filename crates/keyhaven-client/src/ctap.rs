//! Typed CTAP2 calls on one [`Device`]: getInfo once, then requests with their
//! status codes turned into [`ClientError`]s.

use crate::device::{Cancel, Device};
use crate::error::{ClientError, TransportError};
use keyhaven_ctap::pin_protocol::PinProtocol;
use keyhaven_proto::ctap2::get_info::GetInfoResponse;
use keyhaven_proto::ctap2::{Request, Response, ResponseBody, StatusCode};

/// One authenticator during one ceremony.
pub struct Session<'a> {
    device: &'a mut dyn Device,
    pub(crate) cancel: Cancel,
    /// Its getInfo answer.
    pub info: GetInfoResponse,
    /// It speaks CTAP1/U2F only (getInfo unknown, U2F_VERSION answered
    /// "U2F_V2"): ceremonies map to U2F as CTAP 2.2 §10 says.
    pub u2f_only: bool,
}

impl<'a> Session<'a> {
    /// Asks the device for getInfo.
    pub fn open(device: &'a mut dyn Device, cancel: Cancel) -> Result<Self, ClientError> {
        let mut s = Session {
            device,
            cancel,
            info: GetInfoResponse::default(),
            u2f_only: false,
        };
        match s.call(Request::GetInfo) {
            Ok(ResponseBody::GetInfo(info)) => s.info = info,
            Ok(_) => return Err(ClientError::BadResponse("getInfo without a body".into())),
            // CTAP 2.2 §10: an authenticator that does not know
            // authenticatorGetInfo may be a U2F one; U2F_VERSION tells.
            Err(
                ClientError::Status(StatusCode::Ctap1ErrInvalidCommand)
                | ClientError::Transport(TransportError::Hid(0x01)),
            ) if s.u2f_version()? => s.u2f_only = true,
            Err(e) => return Err(e),
        }
        Ok(s)
    }

    /// Whether U2F_VERSION answers "U2F_V2".
    fn u2f_version(&mut self) -> Result<bool, ClientError> {
        use keyhaven_ctap::u2f::{ins, split_response, sw, Apdu, VERSION};
        let apdu = Apdu::new(ins::VERSION, 0, 0, vec![]).to_bytes();
        match self.device.transact_u2f(&apdu, &self.cancel) {
            Ok(r) => Ok(split_response(&r) == Some((VERSION.as_bytes(), sw::NO_ERROR))),
            Err(TransportError::Unsupported | TransportError::Hid(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Sends a U2F command APDU; returns the response data and status word.
    pub fn call_u2f(
        &mut self,
        apdu: &keyhaven_ctap::u2f::Apdu,
    ) -> Result<(Vec<u8>, u16), ClientError> {
        let r = self.device.transact_u2f(&apdu.to_bytes(), &self.cancel)?;
        let (data, status) = keyhaven_ctap::u2f::split_response(&r).ok_or_else(|| {
            ClientError::BadResponse("a U2F response without a status word".into())
        })?;
        Ok((data.to_vec(), status))
    }

    /// Whether the ceremony was cancelled (abort, timeout, another authenticator).
    pub fn cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Sends a request; a non-zero status becomes [`ClientError::Status`].
    pub fn call(&mut self, req: Request) -> Result<ResponseBody, ClientError> {
        let command = req.command();
        let answer = self.device.transact(&req.to_bytes(), &self.cancel)?;
        let r = Response::from_bytes(command, &answer)
            .map_err(|e| ClientError::BadResponse(e.to_string()))?;
        match r.status {
            StatusCode::Ok => Ok(r.body),
            StatusCode::Ctap2ErrKeepaliveCancel => Err(TransportError::Cancelled.into()),
            s => Err(ClientError::Status(s)),
        }
    }

    /// The device's attachment and transport.
    pub fn device(&self) -> &dyn Device {
        &*self.device
    }

    /// An option of getInfo.
    pub fn option(&self, name: &str) -> Option<bool> {
        self.info.option(name)
    }

    /// Whether getInfo lists an extension.
    pub fn supports(&self, extension: &str) -> bool {
        self.info
            .extensions
            .as_ref()
            .is_some_and(|e| e.iter().any(|x| x == extension))
    }

    /// The PIN/UV auth protocol to use: 2 when offered, else 1 (CTAP 2.2 §6.5.4).
    pub fn protocol(&self) -> Option<PinProtocol> {
        let offered = self.info.pin_uv_auth_protocols.clone().unwrap_or_default();
        [PinProtocol::Two, PinProtocol::One]
            .into_iter()
            .find(|p| offered.contains(&p.number()))
    }

    /// Whether the authenticator can verify the user: built-in UV, or a PIN
    /// (set, or settable).
    pub fn uv_capable(&self) -> bool {
        self.option("uv") == Some(true) || self.option("clientPin").is_some()
    }

    /// Whether user verification is configured now: built-in UV, or a PIN that is set.
    pub fn uv_configured(&self) -> bool {
        self.option("uv") == Some(true) || self.option("clientPin") == Some(true)
    }

    /// maxCredentialCountInList (1 when absent, as for CTAP 2.0 devices).
    pub fn max_list(&self) -> usize {
        self.info
            .max_credential_count_in_list
            .map_or(1, |n| n.clamp(1, 64) as usize)
    }

    /// maxCredentialIdLength (no limit when absent).
    pub fn max_id_len(&self) -> usize {
        self.info
            .max_credential_id_length
            .map_or(usize::MAX, |n| n as usize)
    }

    /// maxMsgSize (1024 when absent, CTAP 2.2 §6.4).
    pub fn max_msg(&self) -> usize {
        self.info
            .max_msg_size
            .map_or(1024, |n| n.min(1 << 20) as usize)
    }
}
