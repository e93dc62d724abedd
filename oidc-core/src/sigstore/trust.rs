//! The trust root bundles are verified against: the embedded public-good one, or a
//! `trusted_root.json` (a private instance, the testbed).

use std::path::Path;
use std::sync::Arc;

use sigstore_verify::Verifier;
use sigstore_verify::trust_root::{SigstoreInstance, TrustedRoot};

use super::{SigstoreConfig, SigstoreError};

/// A loaded trust root, ready to verify with. Cheap to clone.
#[derive(Clone)]
pub struct TrustRoot {
    verifier: Arc<Verifier>,
    source_name: String,
}

impl std::fmt::Debug for TrustRoot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustRoot")
            .field("source", &self.source_name)
            .finish_non_exhaustive()
    }
}

impl TrustRoot {
    /// The public-good root embedded in this binary.
    pub fn public_good() -> Result<Self, SigstoreError> {
        let source_name = "the embedded public-good trust root".to_owned();
        let root = SigstoreInstance::PublicGood
            .embedded_trusted_root()
            .map_err(|err| SigstoreError::TrustRoot {
                source_name: source_name.clone(),
                reason: err.to_string(),
            })?;
        Self::from_root(&root, source_name)
    }

    /// A `trusted_root.json` file.
    pub fn from_file(path: &Path) -> Result<Self, SigstoreError> {
        let source_name = path.display().to_string();
        // The public-good root is about 10 KiB; a private instance's is of the same order.
        let text = crate::bounded::read_text_file(path, 16 * 1024 * 1024).map_err(|err| {
            SigstoreError::TrustRoot {
                source_name: source_name.clone(),
                reason: err.to_string(),
            }
        })?;
        Self::from_json(&text, source_name)
    }

    /// A trust root given as JSON text; `source_name` names it in errors.
    pub fn from_json(json: &str, source_name: String) -> Result<Self, SigstoreError> {
        let root = TrustedRoot::from_json(json).map_err(|err| SigstoreError::TrustRoot {
            source_name: source_name.clone(),
            reason: err.to_string(),
        })?;
        Self::from_root(&root, source_name)
    }

    /// The root `config` names.
    pub fn for_config(config: &SigstoreConfig) -> Result<Self, SigstoreError> {
        match &config.trusted_root {
            Some(path) => Self::from_file(path),
            None => Self::public_good(),
        }
    }

    fn from_root(root: &TrustedRoot, source_name: String) -> Result<Self, SigstoreError> {
        let verifier = Verifier::new(root).map_err(|err| SigstoreError::TrustRoot {
            source_name: source_name.clone(),
            reason: err.to_string(),
        })?;
        Ok(Self {
            verifier: Arc::new(verifier),
            source_name,
        })
    }

    /// Where the root came from, for messages.
    pub fn source_name(&self) -> &str {
        &self.source_name
    }

    pub(super) fn verifier(&self) -> &Verifier {
        &self.verifier
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_root_loads() {
        let root = TrustRoot::public_good().unwrap();
        assert_eq!(root.source_name(), "the embedded public-good trust root");
    }

    #[test]
    fn a_broken_file_names_itself() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trusted_root.json");
        fs_err::write(&path, "<html>not json</html>").unwrap();
        let err = TrustRoot::from_file(&path).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!(
                "cannot load the Sigstore trust root {}",
                path.display()
            )),
            "{err}"
        );
        let missing = TrustRoot::from_file(&dir.path().join("nope.json"))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("nope.json"), "{missing}");
    }
}
