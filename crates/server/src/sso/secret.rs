//! The client secrets of the workspaces' identity providers, sealed at rest.
//!
//! AES-256-GCM (aws-lc-rs, already in the graph through rustls) under the service's SSO key
//! (`SHOTCLOCK_SSO_KEY`, 64 hex digits; every replica of one database needs the same key). The
//! stored form is the 12-byte random nonce followed by the ciphertext and its tag; the
//! workspace id is the associated data, so a sealed secret copied to another workspace's row
//! does not open. A secret is opened only to call the provider's token endpoint, and is never
//! logged nor returned.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

/// The service's key for sealing client secrets.
#[derive(Clone)]
pub struct SsoKey([u8; 32]);

impl std::fmt::Debug for SsoKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SsoKey(…)")
    }
}

/// A key or sealed value that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SealError(&'static str);

impl SsoKey {
    /// A key from 64 hexadecimal digits.
    ///
    /// # Errors
    /// Anything but 64 hex digits.
    pub fn from_hex(hex_key: &str) -> Result<Self, SealError> {
        let bytes = hex::decode(hex_key.trim())
            .map_err(|_| SealError("the SSO key must be 64 hexadecimal digits"))?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| SealError("the SSO key must be 64 hexadecimal digits"))?;
        Ok(Self(key))
    }

    /// A key from raw bytes (tests).
    #[must_use]
    pub fn from_bytes(key: [u8; 32]) -> Self {
        Self(key)
    }

    fn aead(&self) -> Result<LessSafeKey, SealError> {
        UnboundKey::new(&AES_256_GCM, &self.0)
            .map(LessSafeKey::new)
            .map_err(|_| SealError("the SSO key cannot be used"))
    }

    /// Seals `plain` bound to `context` (the workspace id).
    ///
    /// # Errors
    /// Only if the system's random source fails.
    pub fn seal(&self, plain: &str, context: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0_u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| SealError("no random numbers"))?;
        let mut out = plain.as_bytes().to_vec();
        self.aead()?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context),
                &mut out,
            )
            .map_err(|_| SealError("sealing failed"))?;
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&out);
        Ok(sealed)
    }

    /// Opens what [`SsoKey::seal`] made with the same key and context.
    ///
    /// # Errors
    /// Another key, another context, or damaged bytes.
    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<String, SealError> {
        let refused = SealError(
            "the stored client secret does not open with this service's SSO key; save the \
             workspace's single sign-on settings again with the secret",
        );
        if sealed.len() < NONCE_LEN {
            return Err(refused);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError("bad nonce"))?;
        let mut body = body.to_vec();
        let plain = self
            .aead()?
            .open_in_place(nonce, Aad::from(context), &mut body)
            .map_err(|_| refused)?;
        String::from_utf8(plain.to_vec()).map_err(|_| SealError("the secret is not text"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_workspace() {
        let key = SsoKey::from_bytes([7; 32]);
        let sealed = key.seal("s3cret", b"ws-1").unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"s3cret"));
        assert_eq!(key.open(&sealed, b"ws-1").unwrap(), "s3cret");
        assert!(key.open(&sealed, b"ws-2").is_err());
        assert!(SsoKey::from_bytes([8; 32]).open(&sealed, b"ws-1").is_err());
        assert_ne!(
            key.seal("s3cret", b"ws-1").unwrap(),
            sealed,
            "fresh nonce each time"
        );
        assert!(SsoKey::from_hex("00").is_err());
        assert!(SsoKey::from_hex(&"ab".repeat(32)).is_ok());
        assert_eq!(format!("{key:?}"), "SsoKey(…)");
    }
}
