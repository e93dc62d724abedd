//! Commit SHAs of action releases this crate knows (each read from the action's repository),
//! used by `init` to pin and by the audit to check version comments offline.

/// A released action: repository, the tag, and the commit the tag points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownPin {
    /// `owner/repo`, lowercase.
    pub repo: &'static str,
    /// The release tag.
    pub version: &'static str,
    /// The commit SHA of that tag.
    pub sha: &'static str,
}

/// actions/checkout v6.0.2.
pub const CHECKOUT: KnownPin = KnownPin {
    repo: "actions/checkout",
    version: "v6.0.2",
    sha: "de0fac2e4500dabe0009e67214ff5f5447ce83dd",
};
/// actions/upload-artifact v7.0.1.
pub const UPLOAD_ARTIFACT: KnownPin = KnownPin {
    repo: "actions/upload-artifact",
    version: "v7.0.1",
    sha: "043fb46d1a93c77aae656e7c1c64a875d1fc6a0a",
};
/// actions/download-artifact v7.0.0.
pub const DOWNLOAD_ARTIFACT: KnownPin = KnownPin {
    repo: "actions/download-artifact",
    version: "v7.0.0",
    sha: "37930b1c2abaa49bbe596cd826c3c89aef350131",
};
/// actions/setup-python v7.0.0.
pub const SETUP_PYTHON: KnownPin = KnownPin {
    repo: "actions/setup-python",
    version: "v7.0.0",
    sha: "5fda3b95a4ea91299a34e894583c3862153e4b97",
};
/// actions/setup-node v7.0.0.
pub const SETUP_NODE: KnownPin = KnownPin {
    repo: "actions/setup-node",
    version: "v7.0.0",
    sha: "820762786026740c76f36085b0efc47a31fe5020",
};
/// actions/setup-dotnet v6.0.0.
pub const SETUP_DOTNET: KnownPin = KnownPin {
    repo: "actions/setup-dotnet",
    version: "v6.0.0",
    sha: "a98b56852c35b8e3190ac28c8c2271da59106c68",
};
/// ruby/setup-ruby v1.315.0.
pub const SETUP_RUBY: KnownPin = KnownPin {
    repo: "ruby/setup-ruby",
    version: "v1.315.0",
    sha: "0dafeac902942906541bc140009cdbf32665b601",
};
/// actions/attest-build-provenance v4.1.0.
pub const ATTEST_BUILD_PROVENANCE: KnownPin = KnownPin {
    repo: "actions/attest-build-provenance",
    version: "v4.1.0",
    sha: "a2bbfa25375fe432b6a289bc6b6cd05ecd0c4c32",
};

/// Every known pin.
pub const KNOWN: &[KnownPin] = &[
    CHECKOUT,
    UPLOAD_ARTIFACT,
    DOWNLOAD_ARTIFACT,
    SETUP_PYTHON,
    SETUP_NODE,
    SETUP_DOTNET,
    SETUP_RUBY,
    ATTEST_BUILD_PROVENANCE,
];

impl KnownPin {
    /// `owner/repo@sha # version`.
    pub fn uses(&self) -> String {
        format!("{}@{} # {}", self.repo, self.sha, self.version)
    }
}

/// What the known pins say about `repo@sha # comment_version`: `Some(expected)` when they
/// disagree (the version this SHA really is, or the SHA this version really is).
pub fn disagreement(repo: &str, sha: &str, comment_version: &str) -> Option<String> {
    let sha = sha.to_ascii_lowercase();
    if let Some(pin) = KNOWN.iter().find(|p| p.repo == repo && p.sha == sha) {
        return (pin.version != comment_version)
            .then(|| format!("{}@{sha} is {}", pin.repo, pin.version));
    }
    KNOWN
        .iter()
        .find(|p| p.repo == repo && p.version == comment_version)
        .map(|pin| format!("{} {} is commit {}", pin.repo, pin.version, pin.sha))
}
