//! The CSPRNG (aws-lc-rs `rand`, backed by AWS-LC's DRBG seeded from the OS).

use crate::CryptoError;

/// Fills `buf` with random bytes.
pub fn fill(buf: &mut [u8]) -> Result<(), CryptoError> {
    aws_lc_rs::rand::fill(buf).map_err(|_| CryptoError::Library("random number generator"))
}

/// `N` random bytes.
pub fn array<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut a = [0u8; N];
    fill(&mut a)?;
    Ok(a)
}

/// `n` random bytes.
pub fn vec(n: usize) -> Result<Vec<u8>, CryptoError> {
    let mut v = vec![0u8; n];
    fill(&mut v)?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    #[test]
    fn random_differs() {
        let a: [u8; 32] = super::array().unwrap();
        let b: [u8; 32] = super::array().unwrap();
        assert_ne!(a, b);
        assert_eq!(super::vec(7).unwrap().len(), 7);
    }
}
