//! The issuer's RS256 signing key and the JWKS that publishes it.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};

use crate::TestbedError;

/// An RSA-2048 key signing RS256 JWTs, with its key id.
pub(crate) struct SigningKey {
    key: KeyPair,
    kid: String,
    jwks: Value,
}

impl SigningKey {
    /// Generates a fresh key (aws-lc-rs: fast even in debug builds).
    pub(crate) fn generate() -> Result<Self, TestbedError> {
        let key = KeyPair::generate(KeySize::Rsa2048).map_err(|_| {
            TestbedError::Crypto("generating the issuer's RSA key failed".to_owned())
        })?;
        let public = key.public_key();
        let n = URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero());
        let e = URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero());
        // GitHub's kids are opaque strings; a digest of the modulus is stable and unique enough.
        let kid = hex::encode(&Sha256::digest(n.as_bytes())[..20]).to_uppercase();
        let jwks = json!({
            "keys": [{
                "kty": "RSA",
                "alg": "RS256",
                "use": "sig",
                "kid": kid,
                "n": n,
                "e": e,
            }]
        });
        Ok(Self { key, kid, jwks })
    }

    /// The JWKS document (`{"keys":[…]}`).
    pub(crate) fn jwks(&self) -> &Value {
        &self.jwks
    }

    /// Signs `claims` as a compact RS256 JWT with this key's `kid`.
    pub(crate) fn sign(&self, claims: &Map<String, Value>) -> Result<String, TestbedError> {
        let header = json!({"typ": "JWT", "alg": "RS256", "x5t": self.kid, "kid": self.kid});
        let payload = Value::Object(claims.clone());
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(payload.to_string())
        );
        let mut signature = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| TestbedError::Crypto("signing an ID token failed".to_owned()))?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_against_the_published_jwks() {
        let key = SigningKey::generate().unwrap();
        let mut claims = Map::new();
        claims.insert("aud".to_owned(), json!("pypi"));
        claims.insert(
            "exp".to_owned(),
            json!(jsonwebtoken::get_current_timestamp() + 60),
        );
        let token = key.sign(&claims).unwrap();

        let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_value(key.jwks().clone()).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        let jwk = jwks.find(header.kid.as_deref().unwrap()).unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.set_audience(&["pypi"]);
        let decoded = jsonwebtoken::decode::<Value>(
            &token,
            &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
            &validation,
        )
        .unwrap();
        assert_eq!(decoded.claims["aud"], "pypi");
    }
}
