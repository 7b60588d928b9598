//! CTAP status codes (CTAP 2.2 §8.2, "Status codes").

/// A CTAP1/CTAP2 status byte. Unlisted values keep their byte in [`StatusCode::Other`]:
/// extension-specific (0xE0..=0xEF), vendor-specific (0xF0..=0xFF) or reserved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatusCode {
    /// 0x00 CTAP2_OK: Indicates successful response.
    Ok,
    /// 0x01 CTAP1_ERR_INVALID_COMMAND: The command is not a valid CTAP command.
    Ctap1ErrInvalidCommand,
    /// 0x02 CTAP1_ERR_INVALID_PARAMETER: The command included an invalid parameter.
    Ctap1ErrInvalidParameter,
    /// 0x03 CTAP1_ERR_INVALID_LENGTH: Invalid message or item length.
    Ctap1ErrInvalidLength,
    /// 0x04 CTAP1_ERR_INVALID_SEQ: Invalid message sequencing.
    Ctap1ErrInvalidSeq,
    /// 0x05 CTAP1_ERR_TIMEOUT: Message timed out.
    Ctap1ErrTimeout,
    /// 0x06 CTAP1_ERR_CHANNEL_BUSY: Channel busy.
    Ctap1ErrChannelBusy,
    /// 0x0A CTAP1_ERR_LOCK_REQUIRED: Command requires channel lock.
    Ctap1ErrLockRequired,
    /// 0x0B CTAP1_ERR_INVALID_CHANNEL: Command not allowed on this cid.
    Ctap1ErrInvalidChannel,
    /// 0x11 CTAP2_ERR_CBOR_UNEXPECTED_TYPE: Invalid/unexpected CBOR error.
    Ctap2ErrCborUnexpectedType,
    /// 0x12 CTAP2_ERR_INVALID_CBOR: Error when parsing CBOR.
    Ctap2ErrInvalidCbor,
    /// 0x14 CTAP2_ERR_MISSING_PARAMETER: Missing non-optional parameter.
    Ctap2ErrMissingParameter,
    /// 0x15 CTAP2_ERR_LIMIT_EXCEEDED: Limit for number of items exceeded.
    Ctap2ErrLimitExceeded,
    /// 0x17 CTAP2_ERR_FP_DATABASE_FULL: Fingerprint data base is full.
    Ctap2ErrFpDatabaseFull,
    /// 0x18 CTAP2_ERR_LARGE_BLOB_STORAGE_FULL: Large blob storage is full.
    Ctap2ErrLargeBlobStorageFull,
    /// 0x19 CTAP2_ERR_CREDENTIAL_EXCLUDED: Valid credential found in the exclude list.
    Ctap2ErrCredentialExcluded,
    /// 0x21 CTAP2_ERR_PROCESSING: Processing (lengthy operation is in progress).
    Ctap2ErrProcessing,
    /// 0x22 CTAP2_ERR_INVALID_CREDENTIAL: Credential not valid for the authenticator.
    Ctap2ErrInvalidCredential,
    /// 0x23 CTAP2_ERR_USER_ACTION_PENDING: Authentication is waiting for user interaction.
    Ctap2ErrUserActionPending,
    /// 0x24 CTAP2_ERR_OPERATION_PENDING: Processing, lengthy operation is in progress.
    Ctap2ErrOperationPending,
    /// 0x25 CTAP2_ERR_NO_OPERATIONS: No request is pending.
    Ctap2ErrNoOperations,
    /// 0x26 CTAP2_ERR_UNSUPPORTED_ALGORITHM: Authenticator does not support requested algorithm.
    Ctap2ErrUnsupportedAlgorithm,
    /// 0x27 CTAP2_ERR_OPERATION_DENIED: Not authorized for requested operation.
    Ctap2ErrOperationDenied,
    /// 0x28 CTAP2_ERR_KEY_STORE_FULL: Internal key storage is full.
    Ctap2ErrKeyStoreFull,
    /// 0x2A CTAP2_ERR_NO_OPERATION_PENDING: No outstanding operations.
    Ctap2ErrNoOperationPending,
    /// 0x2B CTAP2_ERR_UNSUPPORTED_OPTION: Unsupported option.
    Ctap2ErrUnsupportedOption,
    /// 0x2C CTAP2_ERR_INVALID_OPTION: Not a valid option for current operation.
    Ctap2ErrInvalidOption,
    /// 0x2D CTAP2_ERR_KEEPALIVE_CANCEL: Pending keep alive was cancelled.
    Ctap2ErrKeepaliveCancel,
    /// 0x2E CTAP2_ERR_NO_CREDENTIALS: No valid credentials provided.
    Ctap2ErrNoCredentials,
    /// 0x2F CTAP2_ERR_USER_ACTION_TIMEOUT: A user action timeout occurred.
    Ctap2ErrUserActionTimeout,
    /// 0x30 CTAP2_ERR_NOT_ALLOWED: Continuation command not allowed.
    Ctap2ErrNotAllowed,
    /// 0x31 CTAP2_ERR_PIN_INVALID: PIN Invalid.
    Ctap2ErrPinInvalid,
    /// 0x32 CTAP2_ERR_PIN_BLOCKED: PIN Blocked.
    Ctap2ErrPinBlocked,
    /// 0x33 CTAP2_ERR_PIN_AUTH_INVALID: PIN authentication, pinUvAuthParam, verification failed.
    Ctap2ErrPinAuthInvalid,
    /// 0x34 CTAP2_ERR_PIN_AUTH_BLOCKED: PIN authentication using pinUvAuthToken blocked. Requires power cycle to reset.
    Ctap2ErrPinAuthBlocked,
    /// 0x35 CTAP2_ERR_PIN_NOT_SET: No PIN has been set.
    Ctap2ErrPinNotSet,
    /// 0x36 CTAP2_ERR_PUAT_REQUIRED: A pinUvAuthToken is required for the selected operation.
    Ctap2ErrPuatRequired,
    /// 0x37 CTAP2_ERR_PIN_POLICY_VIOLATION: PIN policy violation.
    Ctap2ErrPinPolicyViolation,
    /// 0x39 CTAP2_ERR_REQUEST_TOO_LARGE: Authenticator cannot handle this request due to memory constraints.
    Ctap2ErrRequestTooLarge,
    /// 0x3A CTAP2_ERR_ACTION_TIMEOUT: The current operation has timed out.
    Ctap2ErrActionTimeout,
    /// 0x3B CTAP2_ERR_UP_REQUIRED: User presence is required for the requested operation.
    Ctap2ErrUpRequired,
    /// 0x3C CTAP2_ERR_UV_BLOCKED: built-in user verification is disabled.
    Ctap2ErrUvBlocked,
    /// 0x3D CTAP2_ERR_INTEGRITY_FAILURE: A checksum did not match.
    Ctap2ErrIntegrityFailure,
    /// 0x3E CTAP2_ERR_INVALID_SUBCOMMAND: The requested subcommand is either invalid or not implemented.
    Ctap2ErrInvalidSubcommand,
    /// 0x3F CTAP2_ERR_UV_INVALID: built-in user verification unsuccessful.
    Ctap2ErrUvInvalid,
    /// 0x40 CTAP2_ERR_UNAUTHORIZED_PERMISSION: The permissions parameter contains an unauthorized permission.
    Ctap2ErrUnauthorizedPermission,
    /// 0x7F CTAP1_ERR_OTHER: Other unspecified error.
    Ctap1ErrOther,
    /// A status byte not in the table above.
    Other(u8),
}

impl StatusCode {
    /// Every named code.
    pub const ALL: [StatusCode; 47] = [
        StatusCode::Ok,
        StatusCode::Ctap1ErrInvalidCommand,
        StatusCode::Ctap1ErrInvalidParameter,
        StatusCode::Ctap1ErrInvalidLength,
        StatusCode::Ctap1ErrInvalidSeq,
        StatusCode::Ctap1ErrTimeout,
        StatusCode::Ctap1ErrChannelBusy,
        StatusCode::Ctap1ErrLockRequired,
        StatusCode::Ctap1ErrInvalidChannel,
        StatusCode::Ctap2ErrCborUnexpectedType,
        StatusCode::Ctap2ErrInvalidCbor,
        StatusCode::Ctap2ErrMissingParameter,
        StatusCode::Ctap2ErrLimitExceeded,
        StatusCode::Ctap2ErrFpDatabaseFull,
        StatusCode::Ctap2ErrLargeBlobStorageFull,
        StatusCode::Ctap2ErrCredentialExcluded,
        StatusCode::Ctap2ErrProcessing,
        StatusCode::Ctap2ErrInvalidCredential,
        StatusCode::Ctap2ErrUserActionPending,
        StatusCode::Ctap2ErrOperationPending,
        StatusCode::Ctap2ErrNoOperations,
        StatusCode::Ctap2ErrUnsupportedAlgorithm,
        StatusCode::Ctap2ErrOperationDenied,
        StatusCode::Ctap2ErrKeyStoreFull,
        StatusCode::Ctap2ErrNoOperationPending,
        StatusCode::Ctap2ErrUnsupportedOption,
        StatusCode::Ctap2ErrInvalidOption,
        StatusCode::Ctap2ErrKeepaliveCancel,
        StatusCode::Ctap2ErrNoCredentials,
        StatusCode::Ctap2ErrUserActionTimeout,
        StatusCode::Ctap2ErrNotAllowed,
        StatusCode::Ctap2ErrPinInvalid,
        StatusCode::Ctap2ErrPinBlocked,
        StatusCode::Ctap2ErrPinAuthInvalid,
        StatusCode::Ctap2ErrPinAuthBlocked,
        StatusCode::Ctap2ErrPinNotSet,
        StatusCode::Ctap2ErrPuatRequired,
        StatusCode::Ctap2ErrPinPolicyViolation,
        StatusCode::Ctap2ErrRequestTooLarge,
        StatusCode::Ctap2ErrActionTimeout,
        StatusCode::Ctap2ErrUpRequired,
        StatusCode::Ctap2ErrUvBlocked,
        StatusCode::Ctap2ErrIntegrityFailure,
        StatusCode::Ctap2ErrInvalidSubcommand,
        StatusCode::Ctap2ErrUvInvalid,
        StatusCode::Ctap2ErrUnauthorizedPermission,
        StatusCode::Ctap1ErrOther,
    ];

    /// The code for a byte.
    pub fn from_byte(b: u8) -> StatusCode {
        match b {
            0x00 => StatusCode::Ok,
            0x01 => StatusCode::Ctap1ErrInvalidCommand,
            0x02 => StatusCode::Ctap1ErrInvalidParameter,
            0x03 => StatusCode::Ctap1ErrInvalidLength,
            0x04 => StatusCode::Ctap1ErrInvalidSeq,
            0x05 => StatusCode::Ctap1ErrTimeout,
            0x06 => StatusCode::Ctap1ErrChannelBusy,
            0x0a => StatusCode::Ctap1ErrLockRequired,
            0x0b => StatusCode::Ctap1ErrInvalidChannel,
            0x11 => StatusCode::Ctap2ErrCborUnexpectedType,
            0x12 => StatusCode::Ctap2ErrInvalidCbor,
            0x14 => StatusCode::Ctap2ErrMissingParameter,
            0x15 => StatusCode::Ctap2ErrLimitExceeded,
            0x17 => StatusCode::Ctap2ErrFpDatabaseFull,
            0x18 => StatusCode::Ctap2ErrLargeBlobStorageFull,
            0x19 => StatusCode::Ctap2ErrCredentialExcluded,
            0x21 => StatusCode::Ctap2ErrProcessing,
            0x22 => StatusCode::Ctap2ErrInvalidCredential,
            0x23 => StatusCode::Ctap2ErrUserActionPending,
            0x24 => StatusCode::Ctap2ErrOperationPending,
            0x25 => StatusCode::Ctap2ErrNoOperations,
            0x26 => StatusCode::Ctap2ErrUnsupportedAlgorithm,
            0x27 => StatusCode::Ctap2ErrOperationDenied,
            0x28 => StatusCode::Ctap2ErrKeyStoreFull,
            0x2a => StatusCode::Ctap2ErrNoOperationPending,
            0x2b => StatusCode::Ctap2ErrUnsupportedOption,
            0x2c => StatusCode::Ctap2ErrInvalidOption,
            0x2d => StatusCode::Ctap2ErrKeepaliveCancel,
            0x2e => StatusCode::Ctap2ErrNoCredentials,
            0x2f => StatusCode::Ctap2ErrUserActionTimeout,
            0x30 => StatusCode::Ctap2ErrNotAllowed,
            0x31 => StatusCode::Ctap2ErrPinInvalid,
            0x32 => StatusCode::Ctap2ErrPinBlocked,
            0x33 => StatusCode::Ctap2ErrPinAuthInvalid,
            0x34 => StatusCode::Ctap2ErrPinAuthBlocked,
            0x35 => StatusCode::Ctap2ErrPinNotSet,
            0x36 => StatusCode::Ctap2ErrPuatRequired,
            0x37 => StatusCode::Ctap2ErrPinPolicyViolation,
            0x39 => StatusCode::Ctap2ErrRequestTooLarge,
            0x3a => StatusCode::Ctap2ErrActionTimeout,
            0x3b => StatusCode::Ctap2ErrUpRequired,
            0x3c => StatusCode::Ctap2ErrUvBlocked,
            0x3d => StatusCode::Ctap2ErrIntegrityFailure,
            0x3e => StatusCode::Ctap2ErrInvalidSubcommand,
            0x3f => StatusCode::Ctap2ErrUvInvalid,
            0x40 => StatusCode::Ctap2ErrUnauthorizedPermission,
            0x7f => StatusCode::Ctap1ErrOther,
            other => StatusCode::Other(other),
        }
    }

    /// The status byte.
    pub fn to_byte(self) -> u8 {
        match self {
            StatusCode::Ok => 0x00,
            StatusCode::Ctap1ErrInvalidCommand => 0x01,
            StatusCode::Ctap1ErrInvalidParameter => 0x02,
            StatusCode::Ctap1ErrInvalidLength => 0x03,
            StatusCode::Ctap1ErrInvalidSeq => 0x04,
            StatusCode::Ctap1ErrTimeout => 0x05,
            StatusCode::Ctap1ErrChannelBusy => 0x06,
            StatusCode::Ctap1ErrLockRequired => 0x0a,
            StatusCode::Ctap1ErrInvalidChannel => 0x0b,
            StatusCode::Ctap2ErrCborUnexpectedType => 0x11,
            StatusCode::Ctap2ErrInvalidCbor => 0x12,
            StatusCode::Ctap2ErrMissingParameter => 0x14,
            StatusCode::Ctap2ErrLimitExceeded => 0x15,
            StatusCode::Ctap2ErrFpDatabaseFull => 0x17,
            StatusCode::Ctap2ErrLargeBlobStorageFull => 0x18,
            StatusCode::Ctap2ErrCredentialExcluded => 0x19,
            StatusCode::Ctap2ErrProcessing => 0x21,
            StatusCode::Ctap2ErrInvalidCredential => 0x22,
            StatusCode::Ctap2ErrUserActionPending => 0x23,
            StatusCode::Ctap2ErrOperationPending => 0x24,
            StatusCode::Ctap2ErrNoOperations => 0x25,
            StatusCode::Ctap2ErrUnsupportedAlgorithm => 0x26,
            StatusCode::Ctap2ErrOperationDenied => 0x27,
            StatusCode::Ctap2ErrKeyStoreFull => 0x28,
            StatusCode::Ctap2ErrNoOperationPending => 0x2a,
            StatusCode::Ctap2ErrUnsupportedOption => 0x2b,
            StatusCode::Ctap2ErrInvalidOption => 0x2c,
            StatusCode::Ctap2ErrKeepaliveCancel => 0x2d,
            StatusCode::Ctap2ErrNoCredentials => 0x2e,
            StatusCode::Ctap2ErrUserActionTimeout => 0x2f,
            StatusCode::Ctap2ErrNotAllowed => 0x30,
            StatusCode::Ctap2ErrPinInvalid => 0x31,
            StatusCode::Ctap2ErrPinBlocked => 0x32,
            StatusCode::Ctap2ErrPinAuthInvalid => 0x33,
            StatusCode::Ctap2ErrPinAuthBlocked => 0x34,
            StatusCode::Ctap2ErrPinNotSet => 0x35,
            StatusCode::Ctap2ErrPuatRequired => 0x36,
            StatusCode::Ctap2ErrPinPolicyViolation => 0x37,
            StatusCode::Ctap2ErrRequestTooLarge => 0x39,
            StatusCode::Ctap2ErrActionTimeout => 0x3a,
            StatusCode::Ctap2ErrUpRequired => 0x3b,
            StatusCode::Ctap2ErrUvBlocked => 0x3c,
            StatusCode::Ctap2ErrIntegrityFailure => 0x3d,
            StatusCode::Ctap2ErrInvalidSubcommand => 0x3e,
            StatusCode::Ctap2ErrUvInvalid => 0x3f,
            StatusCode::Ctap2ErrUnauthorizedPermission => 0x40,
            StatusCode::Ctap1ErrOther => 0x7f,
            StatusCode::Other(b) => b,
        }
    }

    /// The spec name ("CTAP2_ERR_PIN_INVALID", …).
    pub fn name(self) -> &'static str {
        match self {
            StatusCode::Ok => "CTAP2_OK",
            StatusCode::Ctap1ErrInvalidCommand => "CTAP1_ERR_INVALID_COMMAND",
            StatusCode::Ctap1ErrInvalidParameter => "CTAP1_ERR_INVALID_PARAMETER",
            StatusCode::Ctap1ErrInvalidLength => "CTAP1_ERR_INVALID_LENGTH",
            StatusCode::Ctap1ErrInvalidSeq => "CTAP1_ERR_INVALID_SEQ",
            StatusCode::Ctap1ErrTimeout => "CTAP1_ERR_TIMEOUT",
            StatusCode::Ctap1ErrChannelBusy => "CTAP1_ERR_CHANNEL_BUSY",
            StatusCode::Ctap1ErrLockRequired => "CTAP1_ERR_LOCK_REQUIRED",
            StatusCode::Ctap1ErrInvalidChannel => "CTAP1_ERR_INVALID_CHANNEL",
            StatusCode::Ctap2ErrCborUnexpectedType => "CTAP2_ERR_CBOR_UNEXPECTED_TYPE",
            StatusCode::Ctap2ErrInvalidCbor => "CTAP2_ERR_INVALID_CBOR",
            StatusCode::Ctap2ErrMissingParameter => "CTAP2_ERR_MISSING_PARAMETER",
            StatusCode::Ctap2ErrLimitExceeded => "CTAP2_ERR_LIMIT_EXCEEDED",
            StatusCode::Ctap2ErrFpDatabaseFull => "CTAP2_ERR_FP_DATABASE_FULL",
            StatusCode::Ctap2ErrLargeBlobStorageFull => "CTAP2_ERR_LARGE_BLOB_STORAGE_FULL",
            StatusCode::Ctap2ErrCredentialExcluded => "CTAP2_ERR_CREDENTIAL_EXCLUDED",
            StatusCode::Ctap2ErrProcessing => "CTAP2_ERR_PROCESSING",
            StatusCode::Ctap2ErrInvalidCredential => "CTAP2_ERR_INVALID_CREDENTIAL",
            StatusCode::Ctap2ErrUserActionPending => "CTAP2_ERR_USER_ACTION_PENDING",
            StatusCode::Ctap2ErrOperationPending => "CTAP2_ERR_OPERATION_PENDING",
            StatusCode::Ctap2ErrNoOperations => "CTAP2_ERR_NO_OPERATIONS",
            StatusCode::Ctap2ErrUnsupportedAlgorithm => "CTAP2_ERR_UNSUPPORTED_ALGORITHM",
            StatusCode::Ctap2ErrOperationDenied => "CTAP2_ERR_OPERATION_DENIED",
            StatusCode::Ctap2ErrKeyStoreFull => "CTAP2_ERR_KEY_STORE_FULL",
            StatusCode::Ctap2ErrNoOperationPending => "CTAP2_ERR_NO_OPERATION_PENDING",
            StatusCode::Ctap2ErrUnsupportedOption => "CTAP2_ERR_UNSUPPORTED_OPTION",
            StatusCode::Ctap2ErrInvalidOption => "CTAP2_ERR_INVALID_OPTION",
            StatusCode::Ctap2ErrKeepaliveCancel => "CTAP2_ERR_KEEPALIVE_CANCEL",
            StatusCode::Ctap2ErrNoCredentials => "CTAP2_ERR_NO_CREDENTIALS",
            StatusCode::Ctap2ErrUserActionTimeout => "CTAP2_ERR_USER_ACTION_TIMEOUT",
            StatusCode::Ctap2ErrNotAllowed => "CTAP2_ERR_NOT_ALLOWED",
            StatusCode::Ctap2ErrPinInvalid => "CTAP2_ERR_PIN_INVALID",
            StatusCode::Ctap2ErrPinBlocked => "CTAP2_ERR_PIN_BLOCKED",
            StatusCode::Ctap2ErrPinAuthInvalid => "CTAP2_ERR_PIN_AUTH_INVALID",
            StatusCode::Ctap2ErrPinAuthBlocked => "CTAP2_ERR_PIN_AUTH_BLOCKED",
            StatusCode::Ctap2ErrPinNotSet => "CTAP2_ERR_PIN_NOT_SET",
            StatusCode::Ctap2ErrPuatRequired => "CTAP2_ERR_PUAT_REQUIRED",
            StatusCode::Ctap2ErrPinPolicyViolation => "CTAP2_ERR_PIN_POLICY_VIOLATION",
            StatusCode::Ctap2ErrRequestTooLarge => "CTAP2_ERR_REQUEST_TOO_LARGE",
            StatusCode::Ctap2ErrActionTimeout => "CTAP2_ERR_ACTION_TIMEOUT",
            StatusCode::Ctap2ErrUpRequired => "CTAP2_ERR_UP_REQUIRED",
            StatusCode::Ctap2ErrUvBlocked => "CTAP2_ERR_UV_BLOCKED",
            StatusCode::Ctap2ErrIntegrityFailure => "CTAP2_ERR_INTEGRITY_FAILURE",
            StatusCode::Ctap2ErrInvalidSubcommand => "CTAP2_ERR_INVALID_SUBCOMMAND",
            StatusCode::Ctap2ErrUvInvalid => "CTAP2_ERR_UV_INVALID",
            StatusCode::Ctap2ErrUnauthorizedPermission => "CTAP2_ERR_UNAUTHORIZED_PERMISSION",
            StatusCode::Ctap1ErrOther => "CTAP1_ERR_OTHER",
            StatusCode::Other(0xe0..=0xef) => "CTAP2_ERR_EXTENSION (extension-specific)",
            StatusCode::Other(0xf0..=0xff) => "CTAP2_ERR_VENDOR (vendor-specific)",
            StatusCode::Other(_) => "reserved status code",
        }
    }

    /// The spec description.
    pub fn description(self) -> &'static str {
        match self {
            StatusCode::Ok => "Indicates successful response.",
            StatusCode::Ctap1ErrInvalidCommand => "The command is not a valid CTAP command.",
            StatusCode::Ctap1ErrInvalidParameter => "The command included an invalid parameter.",
            StatusCode::Ctap1ErrInvalidLength => "Invalid message or item length.",
            StatusCode::Ctap1ErrInvalidSeq => "Invalid message sequencing.",
            StatusCode::Ctap1ErrTimeout => "Message timed out.",
            StatusCode::Ctap1ErrChannelBusy => "Channel busy.",
            StatusCode::Ctap1ErrLockRequired => "Command requires channel lock.",
            StatusCode::Ctap1ErrInvalidChannel => "Command not allowed on this cid.",
            StatusCode::Ctap2ErrCborUnexpectedType => "Invalid/unexpected CBOR error.",
            StatusCode::Ctap2ErrInvalidCbor => "Error when parsing CBOR.",
            StatusCode::Ctap2ErrMissingParameter => "Missing non-optional parameter.",
            StatusCode::Ctap2ErrLimitExceeded => "Limit for number of items exceeded.",
            StatusCode::Ctap2ErrFpDatabaseFull => "Fingerprint data base is full.",
            StatusCode::Ctap2ErrLargeBlobStorageFull => "Large blob storage is full.",
            StatusCode::Ctap2ErrCredentialExcluded => "Valid credential found in the exclude list.",
            StatusCode::Ctap2ErrProcessing => "Processing (lengthy operation is in progress).",
            StatusCode::Ctap2ErrInvalidCredential => "Credential not valid for the authenticator.",
            StatusCode::Ctap2ErrUserActionPending => {
                "Authentication is waiting for user interaction."
            }
            StatusCode::Ctap2ErrOperationPending => "Processing, lengthy operation is in progress.",
            StatusCode::Ctap2ErrNoOperations => "No request is pending.",
            StatusCode::Ctap2ErrUnsupportedAlgorithm => {
                "Authenticator does not support requested algorithm."
            }
            StatusCode::Ctap2ErrOperationDenied => "Not authorized for requested operation.",
            StatusCode::Ctap2ErrKeyStoreFull => "Internal key storage is full.",
            StatusCode::Ctap2ErrNoOperationPending => "No outstanding operations.",
            StatusCode::Ctap2ErrUnsupportedOption => "Unsupported option.",
            StatusCode::Ctap2ErrInvalidOption => "Not a valid option for current operation.",
            StatusCode::Ctap2ErrKeepaliveCancel => "Pending keep alive was cancelled.",
            StatusCode::Ctap2ErrNoCredentials => "No valid credentials provided.",
            StatusCode::Ctap2ErrUserActionTimeout => "A user action timeout occurred.",
            StatusCode::Ctap2ErrNotAllowed => "Continuation command not allowed.",
            StatusCode::Ctap2ErrPinInvalid => "PIN Invalid.",
            StatusCode::Ctap2ErrPinBlocked => "PIN Blocked.",
            StatusCode::Ctap2ErrPinAuthInvalid => {
                "PIN authentication, pinUvAuthParam, verification failed."
            }
            StatusCode::Ctap2ErrPinAuthBlocked => {
                "PIN authentication using pinUvAuthToken blocked. Requires power cycle to reset."
            }
            StatusCode::Ctap2ErrPinNotSet => "No PIN has been set.",
            StatusCode::Ctap2ErrPuatRequired => {
                "A pinUvAuthToken is required for the selected operation."
            }
            StatusCode::Ctap2ErrPinPolicyViolation => "PIN policy violation.",
            StatusCode::Ctap2ErrRequestTooLarge => {
                "Authenticator cannot handle this request due to memory constraints."
            }
            StatusCode::Ctap2ErrActionTimeout => "The current operation has timed out.",
            StatusCode::Ctap2ErrUpRequired => {
                "User presence is required for the requested operation."
            }
            StatusCode::Ctap2ErrUvBlocked => "built-in user verification is disabled.",
            StatusCode::Ctap2ErrIntegrityFailure => "A checksum did not match.",
            StatusCode::Ctap2ErrInvalidSubcommand => {
                "The requested subcommand is either invalid or not implemented."
            }
            StatusCode::Ctap2ErrUvInvalid => "built-in user verification unsuccessful.",
            StatusCode::Ctap2ErrUnauthorizedPermission => {
                "The permissions parameter contains an unauthorized permission."
            }
            StatusCode::Ctap1ErrOther => "Other unspecified error.",
            StatusCode::Other(_) => "Status code not defined by CTAP 2.2.",
        }
    }
}

impl std::fmt::Display for StatusCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "0x{:02X} {}", self.to_byte(), self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip() {
        for b in 0..=255u8 {
            assert_eq!(StatusCode::from_byte(b).to_byte(), b);
        }
        assert_eq!(StatusCode::from_byte(0x31), StatusCode::Ctap2ErrPinInvalid);
        assert_eq!(
            StatusCode::Ctap2ErrNoCredentials.to_string(),
            "0x2E CTAP2_ERR_NO_CREDENTIALS"
        );
        assert!(StatusCode::ALL
            .iter()
            .all(|c| !matches!(c, StatusCode::Other(_))));
    }
}
