//! The authenticator's internal error: why a command failed, kept typed until
//! the edge ([`crate::Authenticator::process`]) turns it into the one CTAP
//! status byte the platform sees and logs the cause the status cannot carry.

use keyhaven_proto::ctap2::StatusCode;

use crate::store::StoreError;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request broke the protocol (a bad parameter, a wrong PIN, a
    /// denied operation): the status the spec names for it.
    #[error("{0:?}")]
    Protocol(StatusCode),
    /// The credential store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Key generation, signing, randomness or a cipher failed.
    #[error("crypto: {0}")]
    Crypto(#[from] keyhaven_crypto::CryptoError),
}

impl From<StatusCode> for Error {
    fn from(s: StatusCode) -> Self {
        Error::Protocol(s)
    }
}

impl Error {
    /// The status sent to the platform (CTAP 2.2 §8.2): a full store is
    /// CTAP2_ERR_KEY_STORE_FULL; a failing store or crypto operation is
    /// CTAP1_ERR_OTHER (never "full": an fsync failure is not a full store).
    pub fn status(&self) -> StatusCode {
        match self {
            Error::Protocol(s) => *s,
            Error::Store(StoreError::Full) => StatusCode::Ctap2ErrKeyStoreFull,
            Error::Store(StoreError::Io(_)) | Error::Crypto(_) => StatusCode::Ctap1ErrOther,
        }
    }

    /// The status, with the cause logged where it is an internal failure.
    pub fn into_status(self) -> StatusCode {
        match &self {
            Error::Protocol(_) => {}
            Error::Store(cause) => tracing::error!(%cause, "credential store failed"),
            Error::Crypto(cause) => tracing::error!(%cause, "crypto operation failed"),
        }
        self.status()
    }
}

/// A command's result inside the authenticator.
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_maps_to_its_status() {
        assert_eq!(
            Error::from(StatusCode::Ctap2ErrPinInvalid).status(),
            StatusCode::Ctap2ErrPinInvalid
        );
        assert_eq!(
            Error::from(StoreError::Full).status(),
            StatusCode::Ctap2ErrKeyStoreFull
        );
        assert_eq!(
            Error::from(StoreError::Io("fsync: EIO".into())).status(),
            StatusCode::Ctap1ErrOther
        );
        assert_eq!(
            Error::from(keyhaven_crypto::CryptoError::Library("sign")).into_status(),
            StatusCode::Ctap1ErrOther
        );
    }
}
