//! SHA-2 digests (FIPS 180-4) via aws-lc-rs.

use aws_lc_rs::digest;

fn fixed<const N: usize>(alg: &'static digest::Algorithm, data: &[u8]) -> [u8; N] {
    let d = digest::digest(alg, data);
    let mut out = [0u8; N];
    out.copy_from_slice(d.as_ref());
    out
}

/// SHA-256.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    fixed(&digest::SHA256, data)
}

/// SHA-256 over several parts, as if concatenated.
pub fn sha256_parts(parts: &[&[u8]]) -> [u8; 32] {
    let mut ctx = digest::Context::new(&digest::SHA256);
    for p in parts {
        ctx.update(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// SHA-1, for legacy TPM attestation only (RS1 statements, SHA-1 TPM names).
pub fn sha1(data: &[u8]) -> [u8; 20] {
    fixed(&digest::SHA1_FOR_LEGACY_USE_ONLY, data)
}

/// SHA-384.
pub fn sha384(data: &[u8]) -> [u8; 48] {
    fixed(&digest::SHA384, data)
}

/// SHA-512.
pub fn sha512(data: &[u8]) -> [u8; 64] {
    fixed(&digest::SHA512, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        // FIPS 180-4 examples for "abc".
        assert_eq!(sha256(b"abc")[..4], [0xba, 0x78, 0x16, 0xbf]);
        assert_eq!(sha384(b"abc")[..4], [0xcb, 0x00, 0x75, 0x3f]);
        assert_eq!(sha512(b"abc")[..4], [0xdd, 0xaf, 0x35, 0xa1]);
        assert_eq!(sha256_parts(&[b"a", b"bc"]), sha256(b"abc"));
        assert_eq!(sha1(b"abc")[..4], [0xa9, 0x99, 0x3e, 0x36]);
    }
}
