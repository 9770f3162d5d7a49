//! Keyed digests: every digest of personal data — the detected persons' SSN keys, the
//! export base's values — is an HMAC-SHA-256 under the CRM's own [`CrmSecret`], 256 random
//! bits made once per CRM and kept with it (its counters record; a snapshot's About sheet).
//! A plain SHA-256 of nine digits is an SSN in disguise (10⁹ candidates, 10⁵ with the last four
//! every page shows); without the secret a keyed digest says nothing, and two CRMs digest the
//! same value differently.
//!
//! The core makes no randomness: the secret comes in from outside (the worker's
//! `crypto.getRandomValues`, the command line's operating system, a test's seed).
//!
//! Every digest is of a message that names its purpose and the record and field it is about,
//! each part length-prefixed, so a digest of one field of one record matches nothing else.

use std::fmt;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Sha256;

use super::ssn::Ssn;

/// A CRM's digest secret: 256 random bits. Never shown: `Debug` prints `CrmSecret(…)`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CrmSecret([u8; 32]);

/// Hex characters of a detected person's SSN key (64 bits).
const PERSON_KEY_HEX: usize = 16;
/// Hex characters of an export base's secret check (128 bits).
const BASE_CHECK_HEX: usize = 32;
/// Bytes of an export base digest (48 bits, 8 base64url characters): a changed value passes
/// for the exported one by chance once in 2⁴⁸ comparisons; short, because a base holds one
/// per exported field and travels in every export.
const BASE_DIGEST_BYTES: usize = 6;

/// The URL-safe base64 alphabet (RFC 4648 §5).
const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64url of whole groups of three bytes (no padding needed).
fn base64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() / 3 * 4);
    for group in bytes.chunks(3) {
        let n = group.iter().fold(0u32, |n, b| (n << 8) | u32::from(*b)) << (8 * (3 - group.len()));
        for k in 0..=group.len() {
            out.push(char::from(BASE64URL[((n >> (18 - 6 * k)) & 63) as usize]));
        }
    }
    out
}

fn hex(bytes: &[u8], chars: usize) -> String {
    let mut out = String::with_capacity(chars);
    for b in bytes {
        if out.len() >= chars {
            break;
        }
        out.push_str(&format!("{b:02x}"));
    }
    out.truncate(chars);
    out
}

impl CrmSecret {
    /// A secret of these 32 random bytes (from `crypto.getRandomValues`, the operating system,
    /// or a test's seed).
    pub fn from_bytes(bytes: [u8; 32]) -> CrmSecret {
        CrmSecret(bytes)
    }

    /// The secret as 64 hex characters, for the one file that carries it: the snapshot.
    pub fn expose_hex(&self) -> String {
        hex(&self.0, 64)
    }

    /// A secret read back from [`CrmSecret::expose_hex`]'s form.
    pub fn from_hex(text: &str) -> Option<CrmSecret> {
        let t = text.trim();
        if t.len() != 64 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (i, slot) in bytes.iter_mut().enumerate() {
            *slot = u8::from_str_radix(&t[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(CrmSecret(bytes))
    }

    /// HMAC-SHA-256 of the length-prefixed parts.
    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        for part in parts {
            mac.update(&(part.len() as u64).to_le_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    /// The SSN part of a detected person's key: 16 hex characters, the same for the same SSN
    /// within one CRM, unrelated between two CRMs.
    pub fn person_key(&self, ssn: &Ssn) -> String {
        hex(&self.mac(&[b"roundtrip person key", b"ssn", ssn.expose_full().as_bytes()]), PERSON_KEY_HEX)
    }

    /// The export base's digest of one value: `field` of `record` (`entry 12`, `detail
    /// CD-0000003`) in export `export_id`, as 8 base64url characters (48 bits of the HMAC).
    /// The same value of another field, another record or another export digests
    /// differently, so the base reveals neither values nor which values are equal. (One
    /// export's many digests: [`CrmSecret::base_digester`].)
    pub fn base_digest(&self, export_id: &str, record: &str, field: &str, value: &str) -> String {
        self.base_digester(export_id).digest(record, field, value)
    }

    /// The digests of one export, keyed once: [`BaseDigester::digest`] is
    /// [`CrmSecret::base_digest`] without keying the HMAC again for each value.
    pub fn base_digester(&self, export_id: &str) -> BaseDigester {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        for part in [&b"roundtrip export base"[..], export_id.as_bytes()] {
            mac.update(&(part.len() as u64).to_le_bytes());
            mac.update(part);
        }
        BaseDigester { keyed: mac }
    }

    /// A check written with an export base: whether the CRM re-importing it holds the secret
    /// that made it (its digests only compare under the same secret).
    pub fn base_check(&self, export_id: &str) -> String {
        hex(&self.mac(&[b"roundtrip export base check", export_id.as_bytes()]), BASE_CHECK_HEX)
    }
}

/// The export base digests of one export under one secret ([`CrmSecret::base_digester`]).
#[derive(Clone)]
pub struct BaseDigester {
    /// The HMAC keyed and fed the purpose and the export id.
    keyed: Hmac<Sha256>,
}

impl BaseDigester {
    /// [`CrmSecret::base_digest`] of `field` of `record` holding `value`.
    pub fn digest(&self, record: &str, field: &str, value: &str) -> String {
        let mut mac = self.keyed.clone();
        for part in [record.as_bytes(), field.as_bytes(), value.as_bytes()] {
            mac.update(&(part.len() as u64).to_le_bytes());
            mac.update(part);
        }
        base64url(&mac.finalize().into_bytes()[..BASE_DIGEST_BYTES])
    }
}

impl fmt::Debug for BaseDigester {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BaseDigester(…)")
    }
}

impl fmt::Debug for CrmSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CrmSecret(…)")
    }
}

/// Stored (the counters record) as its hex form.
impl Serialize for CrmSecret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.expose_hex())
    }
}

impl<'de> Deserialize<'de> for CrmSecret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<CrmSecret, D::Error> {
        let text = String::deserialize(deserializer)?;
        CrmSecret::from_hex(&text)
            .ok_or_else(|| serde::de::Error::custom("a digest secret is 64 hex characters"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(seed: u8) -> CrmSecret {
        CrmSecret::from_bytes([seed; 32])
    }

    #[test]
    fn person_keys_are_stable_within_a_crm_and_differ_between_two() {
        let ssn = Ssn::parse("123-45-6789").unwrap();
        let same = Ssn::parse("123 45 6789").unwrap();
        let other = Ssn::parse("123-45-6780").unwrap();
        let (a, b) = (secret(1), secret(2));
        assert_eq!(a.person_key(&ssn), a.person_key(&same));
        assert_eq!(a.person_key(&ssn).len(), 16);
        assert_ne!(a.person_key(&ssn), a.person_key(&other));
        assert_ne!(a.person_key(&ssn), b.person_key(&ssn));
    }

    #[test]
    fn no_digest_is_an_unkeyed_sha256_of_its_value() {
        use sha2::Digest;
        let a = secret(7);
        let ssn = Ssn::parse("123-45-6789").unwrap();
        let plain: Vec<String> = ["123-45-6789", "123456789", "roundtrip-ssn:123456789"]
            .iter()
            .map(|t| Sha256::digest(t.as_bytes()).iter().map(|b| format!("{b:02x}")).collect())
            .collect();
        assert!(plain.iter().all(|p| !p.starts_with(&a.person_key(&ssn))));
        let digest = a.base_digest("x", "entry 1", "SSN", "123-45-6789");
        for text in ["123-45-6789", "123456789"] {
            assert_ne!(digest, base64url(&Sha256::digest(text.as_bytes())[..BASE_DIGEST_BYTES]));
        }
    }

    #[test]
    fn base_digests_depend_on_record_field_and_export() {
        let a = secret(3);
        let d = a.base_digest("e1", "entry 1", "Last Name", "Smith");
        assert_eq!(d, a.base_digest("e1", "entry 1", "Last Name", "Smith"));
        assert_eq!(d.len(), 8);
        assert!(d.bytes().all(|b| BASE64URL.contains(&b)), "{d}");
        assert_ne!(d, a.base_digest("e1", "entry 2", "Last Name", "Smith"));
        assert_ne!(d, a.base_digest("e1", "entry 1", "First Name", "Smith"));
        assert_ne!(d, a.base_digest("e2", "entry 1", "Last Name", "Smith"));
        assert_ne!(d, secret(4).base_digest("e1", "entry 1", "Last Name", "Smith"));
        assert_ne!(a.base_check("e1"), secret(4).base_check("e1"));
    }

    #[test]
    fn base64url_follows_rfc_4648() {
        assert_eq!(base64url(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64url(&[0xfb, 0xff, 0xbf]), "-_-_");
        assert_eq!(base64url(b"fo"), "Zm8");
    }

    #[test]
    fn the_secret_round_trips_through_hex_and_serde_and_never_debugs() {
        let a = CrmSecret::from_bytes(std::array::from_fn(|i| i as u8 * 7));
        assert_eq!(CrmSecret::from_hex(&a.expose_hex()), Some(a));
        assert_eq!(CrmSecret::from_hex("zz"), None);
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<CrmSecret>(&json).unwrap(), a);
        assert_eq!(format!("{a:?}"), "CrmSecret(…)");
    }
}
