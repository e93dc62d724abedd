//! The one subject of an npm provenance statement: the package URL and the tarball's sha512.

use semver::Version;

use crate::package::{PackageName, PackageTarball};

/// `{"name": "pkg:npm/<name>@<version>", "digest": {"sha512": "<hex>"}}`, as libnpmpublish
/// builds it: `npa.toPurl(spec)` and ssri's `hexDigest()` of the tarball's sha512.
///
/// libnpmpublish calls `npa.toPurl(spec)` without a registry, so the purl never carries
/// `?repository_url=`, whichever registry the package goes to (npm 11.19.1, libnpmpublish 11.2;
/// `pacote` checks attestations against the same registry-less purl).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvenanceSubject {
    name: String,
    sha512_hex: String,
}

impl ProvenanceSubject {
    /// The subject for a package version with the given tarball digest.
    ///
    /// ```
    /// use npm_exchange::package::PackageName;
    /// use npm_exchange::provenance::ProvenanceSubject;
    /// let name = PackageName::parse("@demo/pkg").unwrap();
    /// let subject = ProvenanceSubject::new(&name, &semver::Version::new(1, 2, 3), &[0xab; 64]);
    /// assert_eq!(subject.name(), "pkg:npm/%40demo/pkg@1.2.3");
    /// assert_eq!(subject.sha512_hex(), "ab".repeat(64));
    /// ```
    pub fn new(name: &PackageName, version: &Version, sha512: &[u8; 64]) -> Self {
        Self {
            name: name.purl(version),
            sha512_hex: hex::encode(sha512),
        }
    }

    /// The subject for a tarball that has been read.
    pub fn for_tarball(tarball: &PackageTarball) -> Self {
        let manifest = tarball.manifest();
        Self::new(manifest.name(), manifest.version(), tarball.sha512())
    }

    /// `pkg:npm/%40scope/name@1.2.3` (the leading `@` of a scope encoded, nothing else).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The tarball's sha512 digest in lowercase hex.
    pub fn sha512_hex(&self) -> &str {
        &self.sha512_hex
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::test_support::{package_tgz, write};

    #[test]
    fn names_the_tarball_read() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = package_tgz(r#"{"name":"@demo/tiny-pkg","version":"v2.0.0-rc.1+build.5"}"#);
        let tarball = PackageTarball::read(&write(dir.path(), "t.tgz", &bytes)).unwrap();
        let subject = ProvenanceSubject::for_tarball(&tarball);
        assert_eq!(subject.name(), "pkg:npm/%40demo/tiny-pkg@2.0.0-rc.1");
        assert_eq!(subject.sha512_hex(), tarball.sha512_hex());
        assert_eq!(subject.sha512_hex().len(), 128);

        let plain = PackageName::parse("left-pad").unwrap();
        let subject = ProvenanceSubject::new(&plain, &Version::new(1, 3, 0), &[0; 64]);
        assert_eq!(subject.name(), "pkg:npm/left-pad@1.3.0");
    }
}
