//! Helpers shared by the integration tests.

use testbed::{Testbed, TestbedConfig};

/// Starts a testbed with the default configuration.
pub async fn start() -> Testbed {
    Testbed::start(TestbedConfig::default())
        .await
        .expect("testbed starts")
}

/// An HTTPS client trusting the testbed CA, forced to HTTP/1.1 (so reason phrases are visible).
pub fn client(testbed: &Testbed) -> reqwest::Client {
    reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(testbed.ca_pem().as_bytes()).expect("CA parses"),
        )
        .http1_only()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client builds")
}

/// GETs a fresh ID token for `audience` through the issuer's HTTP endpoint, as a GitHub job would.
pub async fn fetch_id_token(testbed: &Testbed, audience: &str) -> String {
    let env = testbed.github_env();
    let url = format!(
        "{}&audience={audience}",
        env["ACTIONS_ID_TOKEN_REQUEST_URL"]
    );
    let response = client(testbed)
        .get(url)
        .bearer_auth(&env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"])
        .send()
        .await
        .expect("token request");
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.expect("json");
    body["value"].as_str().expect("value").to_owned()
}

/// The claims of a JWT, decoded without verification.
pub fn claims_of(jwt: &str) -> serde_json::Value {
    use base64::Engine as _;
    let payload = jwt.split('.').nth(1).expect("payload part");
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .expect("base64url"),
    )
    .expect("json payload")
}

/// Starts a testbed with a custom configuration.
pub async fn start_with(config: TestbedConfig) -> Testbed {
    Testbed::start(config).await.expect("testbed starts")
}

/// The default publisher for the default identity (`octo-org/octo-repo`, `release.yml`).
pub fn default_pypi_publisher() -> testbed::PypiPublisher {
    testbed::PypiPublisher::new("octo-org", "octo-repo", 5_050_505, "release.yml")
}

/// Posts `{"token": jwt}` to PyPI's mint route; returns status and JSON body.
pub async fn mint(testbed: &Testbed, jwt: &str) -> (u16, serde_json::Value) {
    post_json(
        testbed,
        "_/oidc/mint-token",
        &serde_json::json!({ "token": jwt }),
    )
    .await
}

/// Posts a JSON body to a PyPI route; returns status and JSON body.
pub async fn post_json(
    testbed: &Testbed,
    path: &str,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    let response = client(testbed)
        .post(testbed.pypi_url().join(path).unwrap())
        .json(body)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json body"))
}

/// Mints a PyPI token for the current identity (fresh ID token through the issuer's HTTP endpoint).
pub async fn mint_ok(testbed: &Testbed) -> String {
    let jwt = fetch_id_token(testbed, "pypi").await;
    let (status, body) = mint(testbed, &jwt).await;
    assert_eq!(status, 200, "{body}");
    body["token"].as_str().expect("token").to_owned()
}

/// The `(code, description)` pairs of a 422 mint refusal.
pub fn mint_errors(body: &serde_json::Value) -> Vec<(String, String)> {
    assert_eq!(body["message"], "Token request failed", "{body}");
    body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["code"].as_str().unwrap().to_owned(),
                e["description"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// A minimal, structurally valid wheel.
pub fn wheel(name: &str, version: &str) -> Vec<u8> {
    use std::io::Write as _;
    let prefix = name.to_lowercase().replace(['-', '.'], "_");
    let dist_info = format!("{prefix}-{version}.dist-info");
    let mut cursor = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut cursor);
        let options = zip::write::SimpleFileOptions::default();
        let files = [
            (format!("{prefix}/__init__.py"), format!("__version__ = '{version}'\n")),
            (format!("{dist_info}/METADATA"), format!("Metadata-Version: 2.4\nName: {name}\nVersion: {version}\n")),
            (format!("{dist_info}/WHEEL"), "Wheel-Version: 1.0\nGenerator: testbed\nRoot-Is-Purelib: true\nTag: py3-none-any\n".to_owned()),
            (format!("{dist_info}/RECORD"), String::new()),
        ];
        for (path, body) in files {
            zip.start_file(path, options).unwrap();
            zip.write_all(body.as_bytes()).unwrap();
        }
        zip.finish().unwrap();
    }
    cursor.into_inner()
}

/// A minimal, structurally valid sdist.
pub fn sdist(name: &str, version: &str) -> Vec<u8> {
    let top = format!("{}-{version}", name.to_lowercase().replace(['-', '.'], "_"));
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut builder = tar::Builder::new(encoder);
    for (path, body) in [
        (
            format!("{top}/PKG-INFO"),
            format!("Metadata-Version: 2.4\nName: {name}\nVersion: {version}\n"),
        ),
        (format!("{top}/pyproject.toml"), "[project]\n".to_owned()),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(body.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, path, body.as_bytes())
            .unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

/// A legacy upload request under construction: fields as twine sends them, then the file.
#[derive(Clone)]
pub struct Upload {
    pub fields: Vec<(String, String)>,
    pub filename: String,
    pub content: Vec<u8>,
    pub content_type: Option<String>,
}

impl Upload {
    /// A wheel upload of `name` `version` with correct digests.
    pub fn wheel(name: &str, version: &str) -> Self {
        let prefix = name.to_lowercase().replace(['-', '.'], "_");
        Self::new(
            name,
            version,
            "bdist_wheel",
            "py3",
            format!("{prefix}-{version}-py3-none-any.whl"),
            wheel(name, version),
        )
    }

    /// An sdist upload of `name` `version` with correct digests.
    pub fn sdist(name: &str, version: &str) -> Self {
        let prefix = name.to_lowercase().replace(['-', '.'], "_");
        Self::new(
            name,
            version,
            "sdist",
            "source",
            format!("{prefix}-{version}.tar.gz"),
            sdist(name, version),
        )
    }

    fn new(
        name: &str,
        version: &str,
        filetype: &str,
        pyversion: &str,
        filename: String,
        content: Vec<u8>,
    ) -> Self {
        use sha2::Digest as _;
        let sha256 = hex::encode(sha2::Sha256::digest(&content));
        let blake2 = hex::encode(blake2::Blake2b256::digest(&content));
        let fields = [
            ("metadata_version", "2.4"),
            ("name", name),
            ("version", version),
            ("summary", "A sample"),
            ("filetype", filetype),
            ("pyversion", pyversion),
            ("sha256_digest", &sha256),
            ("blake2_256_digest", &blake2),
            (":action", "file_upload"),
            ("protocol_version", "1"),
        ];
        Self {
            fields: fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            filename,
            content,
            content_type: Some("application/octet-stream".to_owned()),
        }
    }

    /// Replaces (or adds) a field.
    pub fn set(mut self, key: &str, value: &str) -> Self {
        self.fields.retain(|(k, _)| k != key);
        self.fields.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Removes a field.
    pub fn without(mut self, key: &str) -> Self {
        self.fields.retain(|(k, _)| k != key);
        self
    }

    /// The multipart form.
    pub fn form(&self) -> reqwest::multipart::Form {
        let mut form = reqwest::multipart::Form::new();
        for (key, value) in &self.fields {
            form = form.text(key.clone(), value.clone());
        }
        let mut part =
            reqwest::multipart::Part::bytes(self.content.clone()).file_name(self.filename.clone());
        if let Some(content_type) = &self.content_type {
            part = part.mime_str(content_type).unwrap();
        }
        form.part("content", part)
    }

    /// Sends it with `Authorization: Basic __token__:<token>` and `Accept: application/json`.
    pub async fn send(&self, testbed: &Testbed, token: &str) -> UploadAnswer {
        let request = client(testbed)
            .post(testbed.pypi_upload_url())
            .basic_auth("__token__", Some(token))
            .header("accept", "application/json")
            .multipart(self.form());
        UploadAnswer::from(request.send().await.expect("upload request")).await
    }
}

/// What the upload endpoint answered.
#[derive(Debug)]
pub struct UploadAnswer {
    pub status: u16,
    pub reason: Option<String>,
    pub body: String,
}

impl UploadAnswer {
    pub async fn from(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let reason = response
            .extensions()
            .get::<hyper::ext::ReasonPhrase>()
            .map(|reason| String::from_utf8_lossy(reason.as_bytes()).into_owned());
        let body = response.text().await.expect("body");
        Self {
            status,
            reason,
            body,
        }
    }

    /// The message of a JSON error body (`message` minus Pyramid's explanation).
    pub fn message(&self) -> String {
        let json: serde_json::Value =
            serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {}", self.body));
        let code = json["code"].as_str().unwrap().to_owned();
        let (status, message) = code.split_once(' ').unwrap();
        assert_eq!(status, self.status.to_string());
        assert_eq!(
            self.reason.as_deref(),
            Some(message),
            "the reason phrase carries the message"
        );
        message.to_owned()
    }
}

impl Upload {
    /// Recomputes the digest fields for the current content.
    pub fn with_digests(self) -> Self {
        use sha2::Digest as _;
        let sha256 = hex::encode(sha2::Sha256::digest(&self.content));
        let blake2 = hex::encode(blake2::Blake2b256::digest(&self.content));
        self.set("sha256_digest", &sha256)
            .set("blake2_256_digest", &blake2)
    }
}
