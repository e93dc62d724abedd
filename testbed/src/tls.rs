//! The testbed's own certificate authority and the server certificate every simulated service presents.
//!
//! At start the testbed makes a fresh CA and one leaf certificate for `127.0.0.1` and `localhost` (IP and DNS
//! subject alternative names) signed by it. The CA certificate is written, PEM-encoded, to `ca.pem` in a temporary
//! directory owned by the testbed, so that external clients (`uv`, the npm CLI) can be pointed at it through
//! `SSL_CERT_FILE` / `NODE_EXTRA_CA_CERTS`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::TestbedError;

/// The CA and server certificate material of one testbed.
pub(crate) struct TlsMaterial {
    ca_pem: String,
    ca_file: PathBuf,
    server_config: Arc<ServerConfig>,
}

impl TlsMaterial {
    /// Generates a CA and a leaf for `127.0.0.1`/`localhost`, and writes the CA PEM into `dir`.
    pub(crate) fn generate(dir: &Path) -> Result<Self, TestbedError> {
        let tls_error =
            |what: &str, error: rcgen::Error| TestbedError::Tls(format!("{what}: {error}"));

        let ca_key = KeyPair::generate().map_err(|e| tls_error("generating the CA key", e))?;
        let mut ca_params = CertificateParams::default();
        let mut ca_name = DistinguishedName::new();
        ca_name.push(DnType::CommonName, "trustpub testbed CA");
        ca_name.push(DnType::OrganizationName, "trustpub testbed");
        ca_params.distinguished_name = ca_name;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = CertifiedIssuer::self_signed(ca_params, ca_key)
            .map_err(|e| tls_error("self-signing the CA", e))?;

        let leaf_key =
            KeyPair::generate().map_err(|e| tls_error("generating the server key", e))?;
        let mut leaf_params =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
                .map_err(|e| tls_error("building the server certificate", e))?;
        let mut leaf_name = DistinguishedName::new();
        leaf_name.push(DnType::CommonName, "127.0.0.1");
        leaf_params.distinguished_name = leaf_name;
        leaf_params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let leaf = leaf_params
            .signed_by(&leaf_key, &ca)
            .map_err(|e| tls_error("signing the server certificate", e))?;

        let ca_pem = ca.pem();
        let ca_file = dir.join("ca.pem");
        fs_err::write(&ca_file, ca_pem.as_bytes())?;

        let chain: Vec<CertificateDer<'static>> = vec![leaf.der().clone(), ca.der().clone()];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut server_config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TestbedError::Tls(format!("choosing TLS versions: {e}")))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| TestbedError::Tls(format!("loading the server certificate: {e}")))?;
        // HTTP/1.1 only: Warehouse's error messages travel in the status line's reason phrase, which HTTP/2 lacks.
        server_config.alpn_protocols = vec![b"http/1.1".to_vec()];

        Ok(Self {
            ca_pem,
            ca_file,
            server_config: Arc::new(server_config),
        })
    }

    /// The CA certificate, PEM-encoded.
    pub(crate) fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Where the CA certificate was written.
    pub(crate) fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// The rustls configuration every listener uses.
    pub(crate) fn server_config(&self) -> Arc<ServerConfig> {
        Arc::clone(&self.server_config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_pem_ca_and_builds_a_server_config() {
        let dir = tempfile::tempdir().unwrap();
        let tls = TlsMaterial::generate(dir.path()).unwrap();
        assert!(tls.ca_pem().starts_with("-----BEGIN CERTIFICATE-----"));
        assert_eq!(fs_err::read_to_string(tls.ca_file()).unwrap(), tls.ca_pem());
        assert_eq!(
            tls.server_config().alpn_protocols,
            vec![b"http/1.1".to_vec()]
        );
    }
}
