//! Where uploads go: a package index's upload URL and what follows from it.

use url::Url;

/// PyPI's upload URL, the default.
pub const PYPI_UPLOAD_URL: &str = "https://upload.pypi.org/legacy/";
/// TestPyPI's upload URL.
pub const TESTPYPI_UPLOAD_URL: &str = "https://test.pypi.org/legacy/";

/// A package index, known by its upload URL (`--repository-url`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageIndex {
    upload_url: Url,
}

/// The upload URL is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the repository URL `{url}` is not usable: {reason}")]
pub struct IndexUrlError {
    /// What was given.
    pub url: String,
    /// Why it is unusable.
    pub reason: String,
}

impl PackageIndex {
    /// Parses an upload URL (`https://upload.pypi.org/legacy/`).
    pub fn parse(url: &str) -> Result<Self, IndexUrlError> {
        let error = |reason: &str| IndexUrlError {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let parsed = Url::parse(url).map_err(|err| error(&err.to_string()))?;
        if !matches!(parsed.scheme(), "https" | "http") || parsed.host_str().is_none() {
            return Err(error("it must be an http(s) URL with a host"));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(error(
                "it must not carry credentials: use --user/--password or trusted publishing",
            ));
        }
        Ok(Self { upload_url: parsed })
    }

    /// The upload URL.
    pub fn upload_url(&self) -> &Url {
        &self.upload_url
    }

    /// `scheme://host[:port]/`, where `/_/oidc/...` lives.
    pub fn origin(&self) -> Url {
        let mut origin = self.upload_url.clone();
        origin.set_path("/");
        origin.set_query(None);
        origin.set_fragment(None);
        origin
    }

    /// The upload host (`upload.pypi.org`), for messages.
    pub fn host(&self) -> String {
        match self.upload_url.port() {
            Some(port) => format!("{}:{port}", self.upload_url.host_str().unwrap_or_default()),
            None => self.upload_url.host_str().unwrap_or_default().to_owned(),
        }
    }

    /// An endpoint on the index's origin (`_/oidc/audience`).
    pub fn endpoint(&self, path: &str) -> Url {
        let mut url = self.origin();
        url.set_path(path);
        url
    }

    /// Whether this is PyPI or TestPyPI (the only indexes that take attestations).
    pub fn is_pypi_or_testpypi(&self) -> bool {
        self.website().is_some()
    }

    /// Whether this is TestPyPI.
    pub fn is_testpypi(&self) -> bool {
        self.upload_url.host_str() == Some("test.pypi.org")
    }

    /// The index's website (`https://pypi.org`) for PyPI and TestPyPI.
    pub fn website(&self) -> Option<&'static str> {
        match self.upload_url.host_str()? {
            "upload.pypi.org" | "pypi.org" => Some("https://pypi.org"),
            "test.pypi.org" => Some("https://test.pypi.org"),
            _ => None,
        }
    }

    /// The simple index of this index: `/simple/` on PyPI's website, or next to the upload
    /// path elsewhere (`…/legacy/` → `…/simple/`, pypiserver's `/` → `/simple/`). The first of
    /// [`simple_url_candidates`](Self::simple_url_candidates).
    pub fn simple_url(&self) -> Url {
        let mut candidates = self.simple_url_candidates();
        if candidates.is_empty() {
            return self.origin();
        }
        candidates.swap_remove(0)
    }

    /// Where the simple index may be, by how each index lays it out, most likely first:
    ///
    /// - PyPI and TestPyPI: `https://pypi.org/simple/` (the website, not the upload host);
    /// - a Warehouse-like `…/legacy/` upload URL: `…/simple/` beside it;
    /// - any other upload URL is the index root: `<root>/simple/` (pypiserver, Nexus,
    ///   Artifactory, GitLab, CodeArtifact, Artifact Registry), then `<root>/+simple/` (devpi).
    pub fn simple_url_candidates(&self) -> Vec<Url> {
        if let Some(website) = self.website()
            && let Ok(url) = Url::parse(&format!("{website}/simple/"))
        {
            return vec![url];
        }
        let mut base = self.upload_url.clone();
        base.set_query(None);
        base.set_fragment(None);
        let path = base.path().trim_end_matches('/').to_owned();
        let with_path = |path: String| {
            let mut url = base.clone();
            url.set_path(&path);
            url
        };
        match path.strip_suffix("/legacy") {
            Some(parent) => vec![with_path(format!("{parent}/simple/"))],
            None => vec![
                with_path(format!("{path}/simple/")),
                with_path(format!("{path}/+simple/")),
            ],
        }
    }

    /// The pre-filled "add a trusted publisher" page for a project on PyPI / TestPyPI.
    pub fn publisher_settings_link(
        &self,
        project: &str,
        owner: &str,
        repository: &str,
        workflow_filename: &str,
        environment: Option<&str>,
    ) -> Option<String> {
        let website = self.website()?;
        let mut url = Url::parse(&format!(
            "{website}/manage/project/{project}/settings/publishing/"
        ))
        .ok()?;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("provider", "github")
                .append_pair("owner", owner)
                .append_pair("repository", repository)
                .append_pair("workflow_filename", workflow_filename);
            if let Some(environment) = environment {
                query.append_pair("environment", environment);
            }
        }
        Some(url.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_endpoints() {
        let pypi = PackageIndex::parse(PYPI_UPLOAD_URL).unwrap();
        assert_eq!(
            pypi.endpoint("/_/oidc/audience").as_str(),
            "https://upload.pypi.org/_/oidc/audience"
        );
        assert_eq!(pypi.simple_url().as_str(), "https://pypi.org/simple/");
        assert!(pypi.is_pypi_or_testpypi() && !pypi.is_testpypi());
        let test = PackageIndex::parse(TESTPYPI_UPLOAD_URL).unwrap();
        assert_eq!(test.simple_url().as_str(), "https://test.pypi.org/simple/");
        assert!(test.is_testpypi());
        let local = PackageIndex::parse("https://127.0.0.1:8443/legacy/").unwrap();
        assert_eq!(local.host(), "127.0.0.1:8443");
        assert_eq!(
            local.simple_url().as_str(),
            "https://127.0.0.1:8443/simple/"
        );
        assert!(!local.is_pypi_or_testpypi());
        let root = PackageIndex::parse("http://127.0.0.1:8080/").unwrap();
        assert_eq!(root.simple_url().as_str(), "http://127.0.0.1:8080/simple/");
        let devpi = PackageIndex::parse("http://127.0.0.1:3141/root/dev/").unwrap();
        let candidates: Vec<String> = devpi
            .simple_url_candidates()
            .iter()
            .map(Url::to_string)
            .collect();
        assert_eq!(
            candidates,
            [
                "http://127.0.0.1:3141/root/dev/simple/",
                "http://127.0.0.1:3141/root/dev/+simple/"
            ]
        );
        let gitlab =
            PackageIndex::parse("https://gitlab.example/api/v4/projects/7/packages/pypi").unwrap();
        assert_eq!(
            gitlab.simple_url().as_str(),
            "https://gitlab.example/api/v4/projects/7/packages/pypi/simple/"
        );
    }

    #[test]
    fn refuses_credentials_and_nonsense() {
        assert!(
            PackageIndex::parse("https://u:p@upload.pypi.org/legacy/")
                .unwrap_err()
                .to_string()
                .contains("must not carry credentials")
        );
        assert!(PackageIndex::parse("ftp://x/").is_err());
        assert!(PackageIndex::parse("upload.pypi.org").is_err());
    }

    #[test]
    fn publisher_link() {
        let pypi = PackageIndex::parse(PYPI_UPLOAD_URL).unwrap();
        assert_eq!(
            pypi.publisher_settings_link(
                "sampleproject",
                "octo-org",
                "octo-repo",
                "release.yml",
                Some("pypi")
            )
            .unwrap(),
            "https://pypi.org/manage/project/sampleproject/settings/publishing/?provider=github&owner=octo-org&repository=octo-repo&workflow_filename=release.yml&environment=pypi"
        );
        let local = PackageIndex::parse("https://127.0.0.1:1/legacy/").unwrap();
        assert_eq!(
            local.publisher_settings_link("p", "o", "r", "w.yml", None),
            None
        );
    }
}
