//! keyhaven's own authenticator as a [`Device`], called in-process (the
//! `in-process` feature, on by default): the one place the client depends on
//! keyhaven-authenticator.

use crate::device::{Attachment, Cancel, Device};
use crate::error::TransportError;
use keyhaven_authenticator::{Authenticator, CredentialStore, UserInteraction};

/// Our own authenticator, called in-process.
pub struct InProcess<S: CredentialStore, U: UserInteraction> {
    authenticator: Authenticator<S, U>,
    attachment: Attachment,
}

impl<S: CredentialStore, U: UserInteraction> InProcess<S, U> {
    /// A platform authenticator (transport "internal").
    pub fn new(authenticator: Authenticator<S, U>) -> Self {
        InProcess {
            authenticator,
            attachment: Attachment::Platform,
        }
    }
    /// The same, reported as a roaming authenticator instead.
    pub fn cross_platform(authenticator: Authenticator<S, U>) -> Self {
        InProcess {
            authenticator,
            attachment: Attachment::CrossPlatform,
        }
    }
    /// The authenticator (for tests and tools).
    pub fn authenticator(&mut self) -> &mut Authenticator<S, U> {
        &mut self.authenticator
    }
}

impl<S: CredentialStore + Send, U: UserInteraction + Send> Device for InProcess<S, U> {
    fn transact(&mut self, message: &[u8], cancel: &Cancel) -> Result<Vec<u8>, TransportError> {
        if cancel.is_cancelled() {
            return Err(TransportError::Cancelled);
        }
        Ok(self.authenticator.process(message))
    }
    fn transact_u2f(&mut self, apdu: &[u8], cancel: &Cancel) -> Result<Vec<u8>, TransportError> {
        if cancel.is_cancelled() {
            return Err(TransportError::Cancelled);
        }
        Ok(self.authenticator.process_u2f(apdu))
    }
    fn attachment(&self) -> Attachment {
        self.attachment
    }
    fn transport(&self) -> &'static str {
        match self.attachment {
            Attachment::Platform => "internal",
            Attachment::CrossPlatform => "usb",
        }
    }
    fn name(&self) -> String {
        "in-process authenticator".into()
    }
}
