//! Minimal DER (X.690): a writer for the structures keyhaven emits
//! (SubjectPublicKeyInfo, RFC 5280 §4.1) and a bounded reader for the
//! extensions attestation formats carry (Android KeyDescription, Apple nonce).

/// Appends a TLV with a definite, minimal length.
pub fn tlv(out: &mut Vec<u8>, tag: u8, content: &[u8]) {
    out.push(tag);
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes = (n as u64).to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (8 - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
}

/// A SEQUENCE of already-encoded elements.
pub fn sequence(parts: &[&[u8]]) -> Vec<u8> {
    let content: Vec<u8> = parts.concat();
    let mut out = Vec::with_capacity(content.len() + 4);
    tlv(&mut out, 0x30, &content);
    out
}

/// A BIT STRING with no unused bits.
pub fn bit_string(data: &[u8]) -> Vec<u8> {
    let mut content = Vec::with_capacity(data.len() + 1);
    content.push(0);
    content.extend_from_slice(data);
    let mut out = Vec::new();
    tlv(&mut out, 0x03, &content);
    out
}

/// A non-negative INTEGER from big-endian magnitude bytes.
pub fn unsigned_integer(magnitude: &[u8]) -> Vec<u8> {
    let skip = magnitude.iter().take_while(|b| **b == 0).count();
    let m = &magnitude[skip..];
    let mut content = Vec::with_capacity(m.len() + 1);
    if m.is_empty() || m[0] & 0x80 != 0 {
        content.push(0);
    }
    content.extend_from_slice(m);
    let mut out = Vec::new();
    tlv(&mut out, 0x02, &content);
    out
}

/// A DER reading error, with the offset within the buffer given to [`Reader::new`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("DER at byte {offset}: {reason}")]
pub struct DerError {
    /// Where.
    pub offset: usize,
    /// What.
    pub reason: &'static str,
}

/// A tag: class (0 universal, 1 application, 2 context, 3 private),
/// constructed bit, and number (high-tag-number form supported).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tag {
    /// Class bits (0..=3).
    pub class: u8,
    /// Constructed.
    pub constructed: bool,
    /// Tag number.
    pub number: u32,
}

impl Tag {
    /// INTEGER.
    pub const INTEGER: Tag = Tag::universal(2, false);
    /// OCTET STRING.
    pub const OCTET_STRING: Tag = Tag::universal(4, false);
    /// NULL.
    pub const NULL: Tag = Tag::universal(5, false);
    /// ENUMERATED.
    pub const ENUMERATED: Tag = Tag::universal(10, false);
    /// SEQUENCE.
    pub const SEQUENCE: Tag = Tag::universal(16, true);
    /// SET.
    pub const SET: Tag = Tag::universal(17, true);
    /// A universal tag.
    pub const fn universal(number: u32, constructed: bool) -> Tag {
        Tag {
            class: 0,
            constructed,
            number,
        }
    }
    /// A context-specific constructed (EXPLICIT) tag `[n]`.
    pub const fn explicit(number: u32) -> Tag {
        Tag {
            class: 2,
            constructed: true,
            number,
        }
    }
}

/// A forward-only reader over DER elements. Lengths are checked against the
/// remaining input before anything is sliced; indefinite lengths and
/// non-minimal long-form lengths are rejected.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader {
            buf,
            pos: 0,
            base: 0,
        }
    }

    /// Whether all input was read.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn err(&self, reason: &'static str) -> DerError {
        DerError {
            offset: self.base + self.pos,
            reason,
        }
    }

    /// Reads the next element: its tag and a reader over its content.
    pub fn read(&mut self) -> Result<(Tag, Reader<'a>), DerError> {
        let b0 = *self
            .buf
            .get(self.pos)
            .ok_or_else(|| self.err("truncated: expected a tag"))?;
        self.pos += 1;
        let mut number = u32::from(b0 & 0x1f);
        if number == 0x1f {
            number = 0;
            loop {
                let b = *self
                    .buf
                    .get(self.pos)
                    .ok_or_else(|| self.err("truncated tag number"))?;
                self.pos += 1;
                if number > (u32::MAX >> 7) {
                    return Err(self.err("tag number too large"));
                }
                number = (number << 7) | u32::from(b & 0x7f);
                if b & 0x80 == 0 {
                    break;
                }
            }
        }
        let l0 = *self
            .buf
            .get(self.pos)
            .ok_or_else(|| self.err("truncated: expected a length"))?;
        self.pos += 1;
        let len = if l0 < 0x80 {
            usize::from(l0)
        } else if l0 == 0x80 {
            return Err(self.err("indefinite length is not DER"));
        } else {
            let n = usize::from(l0 & 0x7f);
            if n > 4 {
                return Err(self.err("length field too long"));
            }
            let bytes = self
                .buf
                .get(self.pos..self.pos + n)
                .ok_or_else(|| self.err("truncated length"))?;
            self.pos += n;
            let len = bytes
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            if len < 0x80 || bytes[0] == 0 {
                return Err(self.err("non-minimal length"));
            }
            len
        };
        if len > self.buf.len() - self.pos {
            return Err(self.err("length exceeds the remaining input"));
        }
        let content = Reader {
            buf: &self.buf[self.pos..self.pos + len],
            pos: 0,
            base: self.base + self.pos,
        };
        self.pos += len;
        Ok((
            Tag {
                class: b0 >> 6,
                constructed: b0 & 0x20 != 0,
                number,
            },
            content,
        ))
    }

    /// Reads the next element, which must have `tag`.
    pub fn expect(&mut self, tag: Tag) -> Result<Reader<'a>, DerError> {
        let (t, r) = self.read()?;
        if t != tag {
            return Err(DerError {
                offset: r.base.saturating_sub(2),
                reason: "unexpected tag",
            });
        }
        Ok(r)
    }

    /// The remaining bytes of this reader.
    pub fn bytes(&self) -> &'a [u8] {
        &self.buf[self.pos.min(self.buf.len())..]
    }

    /// Reads a non-negative INTEGER that fits in a u64.
    pub fn read_uint(&mut self, tag: Tag) -> Result<u64, DerError> {
        let r = self.expect(tag)?;
        let b = r.bytes();
        if b.is_empty() || b[0] & 0x80 != 0 {
            return Err(r.err("expected a non-negative integer"));
        }
        let b = if b.len() > 1 && b[0] == 0 { &b[1..] } else { b };
        if b.len() > 8 {
            return Err(r.err("integer too large"));
        }
        Ok(b.iter().fold(0u64, |acc, x| (acc << 8) | u64::from(*x)))
    }
}

/// Object identifiers used in SubjectPublicKeyInfo, DER-encoded (tag included).
pub mod oid {
    /// id-ecPublicKey 1.2.840.10045.2.1
    pub const EC_PUBLIC_KEY: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    /// prime256v1 1.2.840.10045.3.1.7
    pub const P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    /// secp384r1 1.3.132.0.34
    pub const P384: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];
    /// secp521r1 1.3.132.0.35
    pub const P521: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23];
    /// id-Ed25519 1.3.101.112
    pub const ED25519: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];
    /// id-Ed448 1.3.101.113
    pub const ED448: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x71];
    /// rsaEncryption 1.2.840.113549.1.1.1
    pub const RSA_ENCRYPTION: &[u8] = &[
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
    ];
    /// DER NULL (the RSA AlgorithmIdentifier parameters).
    pub const NULL: &[u8] = &[0x05, 0x00];
    /// id-ml-dsa-44 2.16.840.1.101.3.4.3.17 (NIST CSOR; RFC 9881 §2)
    pub const ML_DSA_44: &[u8] = &[
        0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x11,
    ];
    /// id-ml-dsa-65 2.16.840.1.101.3.4.3.18
    pub const ML_DSA_65: &[u8] = &[
        0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x12,
    ];
    /// id-ml-dsa-87 2.16.840.1.101.3.4.3.19
    pub const ML_DSA_87: &[u8] = &[
        0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x13,
    ];
}
