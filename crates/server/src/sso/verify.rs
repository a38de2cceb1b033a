//! The ID token check, as one function of its inputs (the seam the unit tests drive with keys
//! and tokens they make themselves, for the cases a real provider never produces).
//!
//! Checked, by `openidconnect`'s verifier: the signature by a key of the provider's JWKS
//! (asymmetric algorithms only), `iss` equal to the configured issuer, `aud` holding this
//! client (and no other audience), `exp` not passed and `nonce` equal to the one this sign-in
//! sent; here too: `iat` not in the future. Both times allow [`SKEW`] of clock difference.
//! A token signed by a key the set does not hold is [`VerifyError::UnknownKey`], so the caller
//! can fetch the provider's keys again once (key rotation) before refusing.

use chrono::{DateTime, TimeDelta, Utc};
use openidconnect::core::{
    CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
};
use openidconnect::{
    ClaimsVerificationError, ClientId, IssuerUrl, Nonce, SignatureVerificationError,
};

/// Clock difference allowed on `exp` and `iat`.
pub const SKEW: TimeDelta = TimeDelta::seconds(60);

/// Who the provider says signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The provider's subject.
    pub subject: String,
    /// Email (lowercased), if the token carries one.
    pub email: Option<String>,
    /// Whether the provider marks the email verified.
    pub email_verified: bool,
}

/// Why an ID token is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Signed by a key the provider's key set does not hold (yet).
    #[error("the ID token is signed by a key the identity provider does not list")]
    UnknownKey,
    /// Anything else, in words.
    #[error("the identity provider's ID token is not valid: {0}")]
    Invalid(String),
}

/// Checks `token` (see the module doc) and answers who it names.
///
/// # Errors
/// [`VerifyError`] when any check fails.
pub fn verify_id_token(
    token: &CoreIdToken,
    keys: &CoreJsonWebKeySet,
    issuer: &IssuerUrl,
    client_id: &ClientId,
    nonce: &str,
    now: DateTime<Utc>,
) -> Result<Identity, VerifyError> {
    let verifier =
        CoreIdTokenVerifier::new_public_client(client_id.clone(), issuer.clone(), keys.clone())
            .set_allowed_algs([
                CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
                CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
                CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
                CoreJwsSigningAlgorithm::RsaSsaPssSha256,
                CoreJwsSigningAlgorithm::RsaSsaPssSha384,
                CoreJwsSigningAlgorithm::RsaSsaPssSha512,
                CoreJwsSigningAlgorithm::EcdsaP256Sha256,
                CoreJwsSigningAlgorithm::EcdsaP384Sha384,
                CoreJwsSigningAlgorithm::EdDsa,
            ])
            // `exp` is compared with this instant: a token that expired less than SKEW ago
            // still passes.
            .set_time_fn(move || now - SKEW)
            .set_issue_time_verifier_fn(move |iat| {
                if iat > now + SKEW {
                    Err(format!("issued in the future ({iat})"))
                } else {
                    Ok(())
                }
            });
    let claims = token
        .claims(&verifier, &Nonce::new(nonce.to_owned()))
        .map_err(|e| match e {
            ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            ) => VerifyError::UnknownKey,
            other => VerifyError::Invalid(other.to_string()),
        })?;
    Ok(Identity {
        subject: claims.subject().to_string(),
        email: claims.email().map(|e| e.to_string().trim().to_lowercase()),
        email_verified: claims.email_verified().unwrap_or(false),
    })
}
