use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use oidc_core::{HttpConfig, MapEnv};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::*;

fn write_wheel(dir: &Path, name: &str, version: &str) -> Distribution {
    let filename = format!("{name}-{version}-py3-none-any.whl");
    let path = dir.join(&filename);
    let file = std::fs::File::create(&path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default();
    zip.start_file(format!("{name}/__init__.py"), options)
        .unwrap();
    zip.write_all(b"VALUE = 1\n").unwrap();
    zip.start_file(format!("{name}-{version}.dist-info/METADATA"), options)
        .unwrap();
    write!(zip, "Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: A sample\n\nLong description\n").unwrap();
    zip.start_file(format!("{name}-{version}.dist-info/WHEEL"), options)
        .unwrap();
    zip.write_all(
        b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    )
    .unwrap();
    zip.start_file(format!("{name}-{version}.dist-info/RECORD"), options)
        .unwrap();
    zip.finish().unwrap();
    Distribution::read(&path).unwrap()
}

fn write_sdist(dir: &Path, name: &str, version: &str) -> Distribution {
    let filename = format!("{name}-{version}.tar.gz");
    let path = dir.join(&filename);
    let file = std::fs::File::create(&path).unwrap();
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let pkg_info = format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n");
    let mut header = tar::Header::new_gnu();
    header.set_size(pkg_info.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(
        &mut header,
        format!("{name}-{version}/PKG-INFO"),
        pkg_info.as_bytes(),
    )
    .unwrap();
    tar.into_inner().unwrap().finish().unwrap();
    Distribution::read(&path).unwrap()
}

fn item(dist: Distribution) -> UploadItem {
    UploadItem {
        dist,
        attestations: Vec::new(),
    }
}

fn uploader(server: &MockServer, options: UploadOptions) -> Uploader {
    let http = HttpClient::new(&HttpConfig::default(), &MapEnv::new()).unwrap();
    let index = PackageIndex::parse(&format!("{}/legacy/", server.uri())).unwrap();
    Uploader::new(http, index, options)
}

fn fast() -> UploadOptions {
    UploadOptions {
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_secs(2),
        },
        ..UploadOptions::default()
    }
}

fn token() -> StaticCredentials {
    StaticCredentials {
        username: "__token__".into(),
        password: Secret::new("pypi-test-token"),
    }
}

/// Records the bodies of the uploads it receives and answers from a list.
struct Recording {
    bodies: Arc<Mutex<Vec<Vec<u8>>>>,
    responses: Vec<ResponseTemplate>,
}

impl wiremock::Respond for Recording {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut bodies = self.bodies.lock().unwrap();
        bodies.push(request.body.clone());
        self.responses[(bodies.len() - 1).min(self.responses.len() - 1)].clone()
    }
}

async fn recording(
    server: &MockServer,
    responses: Vec<ResponseTemplate>,
) -> Arc<Mutex<Vec<Vec<u8>>>> {
    let bodies = Arc::new(Mutex::new(Vec::new()));
    Mock::given(method("POST"))
        .and(path("/legacy/"))
        // base64("__token__:pypi-test-token")
        .and(header(
            "authorization",
            "Basic X190b2tlbl9fOnB5cGktdGVzdC10b2tlbg==",
        ))
        .and(header("accept", "application/json"))
        .respond_with(Recording {
            bodies: bodies.clone(),
            responses,
        })
        .mount(server)
        .await;
    bodies
}

fn field(body: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let marker = format!("name=\"{name}\"\r\n\r\n");
    let start = text.find(&marker)? + marker.len();
    let end = text[start..].find("\r\n--")?;
    Some(text[start..start + end].to_owned())
}

#[tokio::test]
async fn sends_every_field_and_streams_the_content() {
    let dir = tempfile::tempdir().unwrap();
    let dist = write_wheel(dir.path(), "sample", "1.0");
    let server = MockServer::start().await;
    let bodies = recording(&server, vec![ResponseTemplate::new(200)]).await;
    let result = uploader(&server, fast())
        .upload_one(
            item(dist.clone()),
            &token(),
            &(Arc::new(NoReport) as Arc<dyn UploadReporter>),
        )
        .await;
    assert_eq!(result.outcome.unwrap(), FileStatus::Uploaded);
    let body = bodies.lock().unwrap()[0].clone();
    assert_eq!(field(&body, ":action").as_deref(), Some("file_upload"));
    assert_eq!(field(&body, "protocol_version").as_deref(), Some("1"));
    assert_eq!(field(&body, "name").as_deref(), Some("sample"));
    assert_eq!(field(&body, "version").as_deref(), Some("1.0"));
    assert_eq!(field(&body, "metadata_version").as_deref(), Some("2.1"));
    assert_eq!(field(&body, "filetype").as_deref(), Some("bdist_wheel"));
    assert_eq!(field(&body, "pyversion").as_deref(), Some("py3"));
    assert_eq!(field(&body, "sha256_digest"), Some(dist.sha256.clone()));
    assert_eq!(
        field(&body, "blake2_256_digest"),
        Some(dist.blake2_256.clone())
    );
    assert_eq!(field(&body, "attestations"), None);
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains("name=\"content\"; filename=\"sample-1.0-py3-none-any.whl\"\r\nContent-Type: application/octet-stream"), "{text}");
    let file = std::fs::read(&dist.path).unwrap();
    assert!(
        body.windows(file.len()).any(|w| w == file.as_slice()),
        "the file's bytes are in the body"
    );
}

#[tokio::test]
async fn retries_5xx_with_a_rebuilt_body_then_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let dist = write_sdist(dir.path(), "sample", "1.0");
    let server = MockServer::start().await;
    let bodies = recording(
        &server,
        vec![
            ResponseTemplate::new(503),
            ResponseTemplate::new(502),
            ResponseTemplate::new(200),
        ],
    )
    .await;
    let result = uploader(&server, fast())
        .upload_one(
            item(dist.clone()),
            &token(),
            &(Arc::new(NoReport) as Arc<dyn UploadReporter>),
        )
        .await;
    assert_eq!(result.outcome.unwrap(), FileStatus::Uploaded);
    let bodies = bodies.lock().unwrap();
    assert_eq!(bodies.len(), 3);
    let file = std::fs::read(&dist.path).unwrap();
    for body in bodies.iter() {
        assert!(
            body.windows(file.len()).any(|w| w == file.as_slice()),
            "every attempt carries the whole file"
        );
    }
}

#[tokio::test]
async fn honours_retry_after_on_429() {
    let dir = tempfile::tempdir().unwrap();
    let dist = write_wheel(dir.path(), "sample", "1.0");
    let server = MockServer::start().await;
    recording(
        &server,
        vec![
            ResponseTemplate::new(429).insert_header("Retry-After", "1"),
            ResponseTemplate::new(200),
        ],
    )
    .await;
    let started = std::time::Instant::now();
    let result = uploader(&server, fast())
        .upload_one(
            item(dist),
            &token(),
            &(Arc::new(NoReport) as Arc<dyn UploadReporter>),
        )
        .await;
    assert_eq!(result.outcome.unwrap(), FileStatus::Uploaded);
    assert!(started.elapsed() >= Duration::from_millis(950));
}

/// A refusal (400 that is not an "exists" answer, 401, 403) is sent once: only the retry
/// helper's retryable statuses are tried again.
#[tokio::test]
async fn refusals_are_not_retried() {
    for status in [400, 401, 403] {
        let dir = tempfile::tempdir().unwrap();
        let dist = write_wheel(dir.path(), "sample", "1.0");
        let server = MockServer::start().await;
        let bodies = recording(
            &server,
            vec![
                ResponseTemplate::new(status).set_body_json(serde_json::json!({"message": "no"})),
                ResponseTemplate::new(200),
            ],
        )
        .await;
        let result = uploader(&server, fast())
            .upload_one(
                item(dist),
                &token(),
                &(Arc::new(NoReport) as Arc<dyn UploadReporter>),
            )
            .await;
        let err = result.outcome.unwrap_err();
        assert!(
            matches!(err, UploadError::Rejected { status: s, .. } if s == status),
            "{err:?}"
        );
        assert_eq!(bodies.lock().unwrap().len(), 1, "status {status}");
    }
}

/// A `Retry-After` longer than the policy's longest wait (2 s here): no sleep, no second
/// attempt, and the error says how long the index asked.
#[tokio::test]
async fn a_long_retry_after_ends_the_retries_and_says_how_long() {
    let dir = tempfile::tempdir().unwrap();
    let dist = write_wheel(dir.path(), "sample", "1.0");
    let server = MockServer::start().await;
    let bodies = recording(
        &server,
        vec![
            ResponseTemplate::new(429).insert_header("Retry-After", "600"),
            ResponseTemplate::new(200),
        ],
    )
    .await;
    let started = std::time::Instant::now();
    let result = uploader(&server, fast())
        .upload_one(
            item(dist),
            &token(),
            &(Arc::new(NoReport) as Arc<dyn UploadReporter>),
        )
        .await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(bodies.lock().unwrap().len(), 1);
    let err = result.outcome.unwrap_err();
    insta::assert_snapshot!(err, @"sample-1.0-py3-none-any.whl: the index refused the upload (429): an empty body; the server asked to wait 600 s before another attempt, longer than trustpub waits between attempts (2 s): not retried, run the job again later");
}

fn exists_response(filename: &str) -> ResponseTemplate {
    // Warehouse with Accept: application/json.
    ResponseTemplate::new(400).set_body_json(serde_json::json!({
        "message": format!("The server could not comply with the request since it is either malformed or otherwise incorrect.\n\n\nFile already exists ('{filename}', with blake2_256 hash 'abc'). See https://pypi.org/help/#file-name-reuse for more information.\n\n"),
        "code": format!("400 File already exists ('{filename}', with blake2_256 hash 'abc'). See https://pypi.org/help/#file-name-reuse for more information."),
        "title": "Bad Request"
    }))
}

async fn simple_page(server: &MockServer, filename: &str, sha256: &str) {
    Mock::given(method("GET"))
        .and(path("/simple/sample/"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            serde_json::json!({"meta": {"api-version": "1.1"}, "name": "sample", "files": [
                {"filename": filename, "url": format!("../../f/{filename}"), "hashes": {"sha256": sha256}}
            ]})
            .to_string(),
            "application/vnd.pypi.simple.v1+json",
        ))
        .mount(server)
        .await;
}

#[tokio::test]
async fn file_already_exists_with_the_same_bytes_is_success() {
    let dir = tempfile::tempdir().unwrap();
    let dist = write_wheel(dir.path(), "sample", "1.0");
    let server = MockServer::start().await;
    recording(&server, vec![exists_response(&dist.filename)]).await;
    simple_page(&server, &dist.filename, &dist.sha256).await;
    let result = uploader(&server, fast())
        .upload_one(
            item(dist),
            &token(),
            &(Arc::new(NoReport) as Arc<dyn UploadReporter>),
        )
        .await;
    assert_eq!(result.outcome.unwrap(), FileStatus::AlreadyPresent);
}

#[tokio::test]
async fn file_already_exists_with_other_bytes_is_a_loud_error() {
    let dir = tempfile::tempdir().unwrap();
    let dist = write_wheel(dir.path(), "sample", "1.0");
    let server = MockServer::start().await;
    recording(&server, vec![exists_response(&dist.filename)]).await;
    simple_page(&server, &dist.filename, &"0".repeat(64)).await;
    let result = uploader(&server, fast())
        .upload_one(
            item(dist.clone()),
            &token(),
            &(Arc::new(NoReport) as Arc<dyn UploadReporter>),
        )
        .await;
    let err = result.outcome.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "sample-1.0-py3-none-any.whl: the index already has a different file with this name (sha256 {} there, {} here). File names cannot be reused: build a new version (or pass --skip-existing to skip it with a warning)",
            "0".repeat(64),
            dist.sha256
        )
    );
}

#[tokio::test]
async fn skip_existing_checks_before_uploading() {
    let dir = tempfile::tempdir().unwrap();
    let dist = write_wheel(dir.path(), "sample", "1.0");
    let server = MockServer::start().await;
    let bodies = recording(&server, vec![ResponseTemplate::new(200)]).await;
    simple_page(&server, &dist.filename, &dist.sha256).await;
    let options = UploadOptions {
        skip_existing: SkipExisting::Strict,
        ..fast()
    };
    let result = uploader(&server, options.clone())
        .upload_one(
            item(dist),
            &token(),
            &(Arc::new(NoReport) as Arc<dyn UploadReporter>),
        )
        .await;
    assert_eq!(result.outcome.unwrap(), FileStatus::Skipped);
    assert!(bodies.lock().unwrap().is_empty(), "nothing was uploaded");

    // A same-named file with other bytes: with `strict`, fail loudly, upload nothing.
    let other = write_wheel(tempfile::tempdir().unwrap().path(), "sample", "1.0");
    let server = MockServer::start().await;
    let bodies = recording(&server, vec![ResponseTemplate::new(200)]).await;
    simple_page(&server, &other.filename, &"f".repeat(64)).await;
    let result = uploader(&server, options)
        .upload_one(
            item(other),
            &token(),
            &(Arc::new(NoReport) as Arc<dyn UploadReporter>),
        )
        .await;
    assert!(matches!(
        result.outcome,
        Err(UploadError::DifferentFileExists { .. })
    ));
    assert!(bodies.lock().unwrap().is_empty());
}

#[tokio::test]
async fn errors_carry_the_index_message_and_html_is_summarized() {
    let dir = tempfile::tempdir().unwrap();
    let dist = write_wheel(dir.path(), "sample", "1.0");
    let cases = [
        (
            ResponseTemplate::new(403).set_body_json(serde_json::json!({"message": "x", "code": "403 Invalid or non-existent authentication information. See https://pypi.org/help/#invalid-auth for more information.", "title": "Forbidden"})),
            "sample-1.0-py3-none-any.whl: the index refused the upload (403): Invalid or non-existent authentication information. See https://pypi.org/help/#invalid-auth for more information.",
        ),
        (
            ResponseTemplate::new(400).set_body_raw("400 Invalid distribution file. ZIP archive not accepted\n\nmore", "text/plain"),
            "sample-1.0-py3-none-any.whl: the index refused the upload (400): Invalid distribution file. ZIP archive not accepted",
        ),
        (
            ResponseTemplate::new(413).set_body_raw("<html><head><title>413 Request Entity Too Large</title></head></html>", "text/html"),
            "sample-1.0-py3-none-any.whl: the index refused the upload (413): the index answered 413 with an HTML page: \"413 Request Entity Too Large\"; the file is larger than the index (or a proxy in front of it) accepts",
        ),
    ];
    for (template, expected) in cases {
        let server = MockServer::start().await;
        recording(&server, vec![template]).await;
        let result = uploader(&server, fast())
            .upload_one(
                item(dist.clone()),
                &token(),
                &(Arc::new(NoReport) as Arc<dyn UploadReporter>),
            )
            .await;
        assert_eq!(result.outcome.unwrap_err().to_string(), expected);
    }
}

/// Counts how often credentials were asked for: once per attempt, so a refreshed token
/// reaches a retried upload.
struct Counting(AtomicU32);
impl CredentialSource for Counting {
    fn credentials(&self) -> BoxFuture<'_, Result<(String, Secret), UploadError>> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move { Ok(("__token__".to_owned(), Secret::new("pypi-test-token"))) })
    }
}

#[tokio::test]
async fn wheels_go_before_sdists_and_credentials_are_fetched_per_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let sdist = write_sdist(dir.path(), "sample", "1.0");
    let wheel_a = write_wheel(dir.path(), "sample", "1.0");
    let server = MockServer::start().await;
    let bodies = recording(&server, vec![ResponseTemplate::new(200)]).await;
    let counting = Counting(AtomicU32::new(0));
    let results = uploader(&server, fast())
        .upload_all(
            vec![item(sdist), item(wheel_a)],
            &counting,
            Arc::new(NoReport),
        )
        .await;
    assert_eq!(
        results
            .iter()
            .map(|r| r.filename.as_str())
            .collect::<Vec<_>>(),
        ["sample-1.0-py3-none-any.whl", "sample-1.0.tar.gz"]
    );
    let order: Vec<String> = bodies
        .lock()
        .unwrap()
        .iter()
        .map(|b| field(b, "filetype").unwrap())
        .collect();
    assert_eq!(order, ["bdist_wheel", "sdist"]);
    assert_eq!(counting.0.load(Ordering::SeqCst), 2);
}

#[test]
fn warehouse_messages() {
    assert_eq!(
        answer::warehouse_message(
            400,
            Some("application/json"),
            r#"{"message":"a\n\n\nThe real reason\n\n","title":"Bad Request"}"#
        ),
        "The real reason"
    );
    assert_eq!(
        answer::warehouse_message(409, Some("text/plain"), "Conflict"),
        "Conflict"
    );
}

#[tokio::test]
async fn skip_existing_reads_each_project_page_once() {
    let dir = tempfile::tempdir().unwrap();
    let wheel = write_wheel(dir.path(), "sample", "1.0");
    let sdist = write_sdist(dir.path(), "sample", "1.0");
    let server = MockServer::start().await;
    let bodies = recording(&server, vec![ResponseTemplate::new(200)]).await;
    Mock::given(method("GET"))
        .and(path("/simple/sample/"))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&server)
        .await;
    let options = UploadOptions {
        skip_existing: SkipExisting::Skip,
        ..fast()
    };
    let results = uploader(&server, options)
        .upload_all(vec![item(wheel), item(sdist)], &token(), Arc::new(NoReport))
        .await;
    assert!(
        results
            .iter()
            .all(|r| matches!(r.outcome, Ok(FileStatus::Uploaded)))
    );
    assert_eq!(bodies.lock().unwrap().len(), 2);
}

fn no_report() -> Arc<dyn UploadReporter> {
    Arc::new(NoReport)
}

#[tokio::test]
async fn a_409_conflict_is_reconciled_like_pypis_answer() {
    let dir = tempfile::tempdir().unwrap();
    let dist = write_wheel(dir.path(), "sample", "1.0");
    let server = MockServer::start().await;
    // pypiserver's answer: an HTML page.
    recording(
        &server,
        vec![ResponseTemplate::new(409).set_body_raw(
            "<html><head><title>Error: 409 Conflict</title></head></html>",
            "text/html",
        )],
    )
    .await;
    simple_page(&server, &dist.filename, &dist.sha256).await;
    let result = uploader(&server, fast())
        .upload_one(item(dist), &token(), &no_report())
        .await;
    assert_eq!(result.outcome.unwrap(), FileStatus::AlreadyPresent);
}

#[tokio::test]
async fn skip_existing_skips_other_bytes_and_names_both_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let dist = write_wheel(dir.path(), "sample", "1.0");
    let server = MockServer::start().await;
    let bodies = recording(&server, vec![ResponseTemplate::new(200)]).await;
    simple_page(&server, &dist.filename, &"e".repeat(64)).await;
    let options = UploadOptions {
        skip_existing: SkipExisting::Skip,
        ..fast()
    };
    let result = uploader(&server, options)
        .upload_one(item(dist), &token(), &no_report())
        .await;
    assert_eq!(
        result.outcome.unwrap(),
        FileStatus::SkippedDifferent {
            remote_sha256: Some("e".repeat(64))
        }
    );
    assert!(bodies.lock().unwrap().is_empty(), "nothing was uploaded");
}

#[tokio::test]
async fn a_failed_lookup_falls_back_to_upload_and_reconcile() {
    let dir = tempfile::tempdir().unwrap();
    let dist = write_wheel(dir.path(), "sample", "1.0");
    let server = MockServer::start().await;
    let bodies = recording(&server, vec![ResponseTemplate::new(200)]).await;
    Mock::given(method("GET"))
        .and(path("/simple/sample/"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw("{not json", "application/vnd.pypi.simple.v1+json"),
        )
        .mount(&server)
        .await;
    let options = UploadOptions {
        skip_existing: SkipExisting::Skip,
        ..fast()
    };
    let result = uploader(&server, options)
        .upload_one(item(dist), &token(), &no_report())
        .await;
    assert_eq!(result.outcome.unwrap(), FileStatus::Uploaded);
    assert_eq!(bodies.lock().unwrap().len(), 1);
}

/// A simple page that wants the upload credentials (401 without them).
struct NeedsAuth {
    page: ResponseTemplate,
    seen: Arc<Mutex<Vec<Option<String>>>>,
}

impl wiremock::Respond for NeedsAuth {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let auth = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        self.seen.lock().unwrap().push(auth.clone());
        if auth.as_deref() == Some("Basic X190b2tlbl9fOnB5cGktdGVzdC10b2tlbg==") {
            self.page.clone()
        } else {
            ResponseTemplate::new(401).insert_header("WWW-Authenticate", "Basic realm=\"pypi\"")
        }
    }
}

fn json_page(filename: &str, sha256: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(
        serde_json::json!({"meta": {"api-version": "1.1"}, "name": "sample", "files": [
            {"filename": filename, "url": format!("../../f/{filename}"), "hashes": {"sha256": sha256}}
        ]})
        .to_string(),
        "application/vnd.pypi.simple.v1+json",
    )
}

#[tokio::test]
async fn private_simple_pages_get_the_upload_credentials_on_the_same_origin_only() {
    let dir = tempfile::tempdir().unwrap();
    let dist = write_wheel(dir.path(), "sample", "1.0");
    let options = UploadOptions {
        skip_existing: SkipExisting::Skip,
        ..fast()
    };

    // Same origin: asked without, then with the credentials.
    let server = MockServer::start().await;
    let bodies = recording(&server, vec![ResponseTemplate::new(200)]).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    Mock::given(method("GET"))
        .and(path("/simple/sample/"))
        .respond_with(NeedsAuth {
            page: json_page(&dist.filename, &dist.sha256),
            seen: seen.clone(),
        })
        .mount(&server)
        .await;
    let result = uploader(&server, options.clone())
        .upload_one(item(dist.clone()), &token(), &no_report())
        .await;
    assert_eq!(result.outcome.unwrap(), FileStatus::Skipped);
    assert_eq!(seen.lock().unwrap().len(), 2);
    assert!(
        seen.lock().unwrap()[0].is_none(),
        "first without credentials"
    );
    assert!(bodies.lock().unwrap().is_empty());

    // --simple-url on another origin (another port): the credentials stay home, the lookup
    // fails, and the file is uploaded instead (then reconciled if the index says it exists).
    let elsewhere = MockServer::start().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    Mock::given(method("GET"))
        .and(path("/simple/sample/"))
        .respond_with(NeedsAuth {
            page: json_page(&dist.filename, &dist.sha256),
            seen: seen.clone(),
        })
        .mount(&elsewhere)
        .await;
    let server = MockServer::start().await;
    let bodies = recording(&server, vec![ResponseTemplate::new(200)]).await;
    let options = UploadOptions {
        simple_url: Some(Url::parse(&format!("{}/simple/", elsewhere.uri())).unwrap()),
        ..options
    };
    let result = uploader(&server, options)
        .upload_one(item(dist), &token(), &no_report())
        .await;
    assert_eq!(result.outcome.unwrap(), FileStatus::Uploaded);
    assert_eq!(
        *seen.lock().unwrap(),
        vec![None],
        "never sent to another origin"
    );
    assert_eq!(bodies.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn credentials_do_not_follow_a_redirect_to_another_origin() {
    let dir = tempfile::tempdir().unwrap();
    let dist = write_wheel(dir.path(), "sample", "1.0");
    let elsewhere = MockServer::start().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    Mock::given(method("GET"))
        .and(path("/moved/sample/"))
        .respond_with(NeedsAuth {
            page: json_page(&dist.filename, &dist.sha256),
            seen: seen.clone(),
        })
        .mount(&elsewhere)
        .await;
    let server = MockServer::start().await;
    recording(&server, vec![ResponseTemplate::new(200)]).await;
    // Without credentials: 401; with them: a redirect to another origin.
    Mock::given(method("GET"))
        .and(path("/simple/sample/"))
        .and(header(
            "authorization",
            "Basic X190b2tlbl9fOnB5cGktdGVzdC10b2tlbg==",
        ))
        .respond_with(ResponseTemplate::new(302).insert_header(
            "Location",
            format!("{}/moved/sample/", elsewhere.uri()).as_str(),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/simple/sample/"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    let options = UploadOptions {
        skip_existing: SkipExisting::Skip,
        ..fast()
    };
    let result = uploader(&server, options)
        .upload_one(item(dist), &token(), &no_report())
        .await;
    assert_eq!(
        result.outcome.unwrap(),
        FileStatus::Uploaded,
        "the lookup failed, the upload went ahead"
    );
    // A request that carries credentials follows no redirect at all (oidc-core's policy), so
    // the other origin is never even asked.
    assert!(
        seen.lock().unwrap().is_empty(),
        "the redirect target was never asked, so never saw the credentials: {:?}",
        seen.lock().unwrap()
    );
}

#[tokio::test]
async fn refused_credentials_stop_the_run_after_the_first_file() {
    let dir = tempfile::tempdir().unwrap();
    let items: Vec<UploadItem> = ["a", "b", "c"]
        .iter()
        .map(|name| item(write_wheel(dir.path(), name, "1.0")))
        .collect();
    let server = MockServer::start().await;
    let bodies = recording(
        &server,
        vec![ResponseTemplate::new(403).set_body_raw(
            "403 Invalid or non-existent authentication information.",
            "text/plain",
        )],
    )
    .await;
    let results = uploader(&server, fast())
        .upload_all(items, &token(), no_report())
        .await;
    assert_eq!(
        bodies.lock().unwrap().len(),
        1,
        "one attempt, no retry storm"
    );
    assert!(matches!(&results[0].outcome, Err(err) if err.is_auth_failure()));
    for result in &results[1..] {
        assert!(
            matches!(&result.outcome, Err(UploadError::NotAttempted { .. })),
            "{:?}",
            result.outcome
        );
    }
}

#[tokio::test]
async fn devpi_pages_are_found_under_plus_simple() {
    let dir = tempfile::tempdir().unwrap();
    let dist = write_wheel(dir.path(), "sample", "1.0");
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/alice/stable/+simple/sample/"))
        .respond_with(json_page(&dist.filename, &dist.sha256))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let http = HttpClient::new(&HttpConfig::default(), &MapEnv::new()).unwrap();
    let index = PackageIndex::parse(&format!("{}/alice/stable/", server.uri())).unwrap();
    let options = UploadOptions {
        skip_existing: SkipExisting::Skip,
        ..fast()
    };
    let result = Uploader::new(http, index, options)
        .upload_one(item(dist), &token(), &no_report())
        .await;
    assert_eq!(result.outcome.unwrap(), FileStatus::Skipped);
}
