//! PyPI's legacy upload API and simple index.

use serde_json::{Value, json};
use testbed::{PypiConfig, PypiPublisher, TestbedConfig};

use crate::common::{
    Upload, UploadAnswer, client, default_pypi_publisher, mint_ok, start, start_with,
};

async fn ready() -> (testbed::Testbed, String) {
    let testbed = start().await;
    testbed.add_pypi_publisher("sampleproject", default_pypi_publisher());
    let token = mint_ok(&testbed).await;
    (testbed, token)
}

#[tokio::test]
async fn uploads_are_stored_indexed_and_downloadable() {
    let (testbed, token) = ready().await;
    let wheel = Upload::wheel("sampleproject", "1.0.0").set("requires_python", ">=3.9");
    let answer = wheel.send(&testbed, &token).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, ""));
    // uv sends the file part without a Content-Type.
    let sdist = Upload {
        content_type: None,
        ..Upload::sdist("sampleproject", "1.0.0")
    };
    assert_eq!(sdist.send(&testbed, &token).await.status, 200);

    let http = client(&testbed);
    let json: Value = http
        .get(testbed.pypi_url().join("simple/sampleproject/").unwrap())
        .header("accept", "application/vnd.pypi.simple.v1+json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(json["name"], "sampleproject");
    assert_eq!(json["versions"], json!(["1.0.0"]));
    let files = json["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0]["filename"], "sampleproject-1.0.0-py3-none-any.whl");
    assert_eq!(files[0]["requires-python"], ">=3.9");
    use sha2::Digest as _;
    assert_eq!(
        files[0]["hashes"]["sha256"],
        hex::encode(sha2::Sha256::digest(&wheel.content))
    );

    let downloaded = http
        .get(files[0]["url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(downloaded.as_ref(), wheel.content.as_slice());

    let html = http
        .get(testbed.pypi_url().join("simple/sampleproject/").unwrap())
        .send()
        .await
        .unwrap();
    assert!(
        html.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = html.text().await.unwrap();
    assert!(
        html.contains(&format!(
            "sampleproject-1.0.0.tar.gz#sha256={}\"",
            hex::encode(sha2::Sha256::digest(&sdist.content))
        )),
        "{html}"
    );
    assert!(html.contains("data-requires-python=\"&gt;=3.9\""), "{html}");

    let redirect = http
        .get(testbed.pypi_url().join("simple/SampleProject").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(redirect.status(), 301);
    assert_eq!(redirect.headers()["location"], "/simple/sampleproject/");
    assert_eq!(
        http.get(testbed.pypi_url().join("simple/nothing-here/").unwrap())
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let root = http
        .get(testbed.pypi_url().join("simple/").unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(root.contains("/simple/sampleproject/"));

    let records = testbed.records();
    assert_eq!(records.uploads.len(), 2);
    assert_eq!(
        records.uploads[0].filename,
        "sampleproject-1.0.0-py3-none-any.whl"
    );
    assert_eq!(records.uploads[0].status, 200);
    assert!(!records.uploads[0].had_attestations);
    assert_eq!(testbed.pypi_files("SampleProject").len(), 2);
}

#[tokio::test]
async fn duplicates() {
    let (testbed, token) = ready().await;
    let first = Upload::wheel("sampleproject", "1.0.0");
    assert_eq!(first.send(&testbed, &token).await.status, 200);
    // Identical re-upload: 200, nothing changes.
    assert_eq!(first.send(&testbed, &token).await.status, 200);
    assert_eq!(testbed.pypi_files("sampleproject").len(), 1);

    // Same name, other bytes.
    let mut changed = Upload::wheel("sampleproject", "1.0.0");
    changed
        .content
        .extend_from_slice(b"trailing bytes after the zip directory");
    let changed = changed.with_digests();
    let answer = changed.send(&testbed, &token).await;
    assert_eq!(answer.status, 400);
    use blake2::Digest as _;
    let blake2 = hex::encode(blake2::Blake2b256::digest(&changed.content));
    assert_eq!(
        answer.message(),
        format!(
            "File already exists ('sampleproject-1.0.0-py3-none-any.whl', with blake2_256 hash '{blake2}'). See https://pypi.org/help/#file-name-reuse for more information."
        )
    );

    // One sdist per release.
    assert_eq!(
        Upload::sdist("sampleproject", "1.0.0")
            .send(&testbed, &token)
            .await
            .status,
        200
    );
    let mut zip_sdist = Upload::sdist("sampleproject", "1.0.0");
    zip_sdist.filename = "sampleproject-1.0.0.zip".to_owned();
    zip_sdist.content.push(0);
    let answer = zip_sdist.with_digests().send(&testbed, &token).await;
    insta::assert_snapshot!(answer.message(), @"Only one sdist may be uploaded per release.");
}

#[tokio::test]
async fn authentication_failures() {
    let (testbed, token) = ready().await;
    let upload = Upload::wheel("sampleproject", "1.0.0");
    let http = client(&testbed);
    let send = |request: reqwest::RequestBuilder| async {
        UploadAnswer::from(
            request
                .header("accept", "application/json")
                .multipart(upload.form())
                .send()
                .await
                .unwrap(),
        )
        .await
    };

    let answer = send(http.post(testbed.pypi_upload_url())).await;
    assert_eq!(answer.status, 403);
    insta::assert_snapshot!(answer.message(), @"Invalid or non-existent authentication information. See https://pypi.org/help/#invalid-auth for more information.");

    let answer = send(
        http.post(testbed.pypi_upload_url())
            .basic_auth("alice", Some("secret")),
    )
    .await;
    assert_eq!(answer.status, 403);
    insta::assert_snapshot!(answer.message(), @"Username/Password authentication is no longer supported. Migrate to API Tokens or Trusted Publishers instead. See https://pypi.org/help/#apitoken and https://pypi.org/help/#trusted-publishers");

    let answer = send(
        http.post(testbed.pypi_upload_url())
            .basic_auth("__token__", Some("pypi-unknown")),
    )
    .await;
    assert_eq!(answer.status, 403);

    // `token` and `bearer` schemes work.
    let answer = send(
        http.post(testbed.pypi_upload_url())
            .header("authorization", format!("token {token}")),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let answer = send(
        http.post(testbed.pypi_upload_url())
            .header("authorization", format!("Bearer {token}")),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);

    // Scope: a project the publisher is not registered on.
    testbed.add_pypi_project("someone-else");
    let answer = Upload::wheel("someone-else", "1.0.0")
        .send(&testbed, &token)
        .await;
    assert_eq!(answer.status, 403);
    insta::assert_snapshot!(answer.message(), @"The given token isn't allowed to upload to project 'someone-else'. See https://pypi.org/help/#project-name for more information.");

    let answer = Upload::wheel("does-not-exist", "1.0.0")
        .send(&testbed, &token)
        .await;
    assert_eq!(answer.status, 400);
    insta::assert_snapshot!(answer.message(), @"Non-user identities cannot create new projects. This was probably caused by successfully using a pending publisher but specifying the project name incorrectly (either in PyPI or in the upload metadata). Make sure the project name is set correctly in both places.");
}

#[tokio::test]
async fn form_and_metadata_errors() {
    let (testbed, token) = ready().await;
    let message = |upload: Upload| {
        let testbed = &testbed;
        let token = &token;
        async move {
            let answer = upload.send(testbed, token).await;
            assert_eq!(answer.status, 400, "{}", answer.body);
            answer.message()
        }
    };
    let wheel = || Upload::wheel("sampleproject", "1.0.0");

    insta::assert_snapshot!(message(wheel().set("protocol_version", "2")).await, @"Unknown protocol version.");
    insta::assert_snapshot!(message(wheel().set("metadata_version", "2.0")).await, @"'2.0' is not a valid metadata version See https://packaging.python.org/specifications/core-metadata for more information.");
    insta::assert_snapshot!(message(wheel().without("name")).await, @"'name' is a required field See https://packaging.python.org/specifications/core-metadata for more information.");
    insta::assert_snapshot!(message(wheel().set("version", "1.0.0+local")).await, @"The use of local versions in '1.0.0+local' is not allowed. See https://packaging.python.org/specifications/core-metadata for more information.");
    insta::assert_snapshot!(message(wheel().without("sha256_digest").without("blake2_256_digest")).await, @"Include at least one message digest.");
    insta::assert_snapshot!(message(wheel().without("pyversion")).await, @"Python version is required for binary distribution uploads.");
    insta::assert_snapshot!(message(wheel().set("sha256_digest", &"0".repeat(64))).await, @"The digest supplied does not match a digest calculated from the uploaded file.");
    insta::assert_snapshot!(message(wheel().set("md5_digest", &"0".repeat(32))).await, @"The digest supplied does not match a digest calculated from the uploaded file.");
    insta::assert_snapshot!(message(wheel().set("version", "1.0.1")).await, @"Version in filename should be '1.0.1' not '1.0.0'.");
    insta::assert_snapshot!(message(wheel().set("attestations", "[]")).await, @"Invalid attestations supplied during upload: an empty attestation set is not permitted");

    let mut misnamed = Upload::sdist("sampleproject", "1.0.0");
    misnamed.filename = "SampleProject-1.0.0.tar.gz".to_owned();
    insta::assert_snapshot!(message(misnamed).await, @"Filename 'SampleProject-1.0.0.tar.gz' is invalid, should be 'sampleproject-1.0.0.tar.gz'.");

    let mut garbage = Upload::sdist("sampleproject", "2.0.0");
    garbage.content = b"not a tarball".to_vec();
    insta::assert_snapshot!(message(garbage.with_digests()).await, @"Invalid distribution file. Not a gzipped tar file: invalid gzip header");

    let mut image = wheel();
    image.content_type = Some("image/png".to_owned());
    insta::assert_snapshot!(message(image).await, @"Invalid distribution file.");

    // A metadata field sent as a file.
    let form = wheel().form().part(
        "summary",
        reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("summary.txt"),
    );
    let answer = UploadAnswer::from(
        client(&testbed)
            .post(testbed.pypi_upload_url())
            .basic_auth("__token__", Some(&token))
            .header("accept", "application/json")
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    insta::assert_snapshot!(answer.message(), @"summary: Should not be a tuple.");
    assert!(testbed.pypi_files("sampleproject").is_empty());
}

#[tokio::test]
async fn size_limit() {
    let config = TestbedConfig {
        pypi: PypiConfig {
            max_file_size: 1024 * 1024,
            ..PypiConfig::default()
        },
        ..TestbedConfig::default()
    };
    let testbed = start_with(config).await;
    testbed.add_pypi_publisher("sampleproject", default_pypi_publisher());
    let token = mint_ok(&testbed).await;
    let mut big = Upload::wheel("sampleproject", "1.0.0");
    big.content.extend(std::iter::repeat_n(0u8, 1024 * 1024));
    let answer = big.with_digests().send(&testbed, &token).await;
    assert_eq!(answer.status, 400);
    insta::assert_snapshot!(answer.message(), @"File too large. Limit for project 'sampleproject' is 1 MB. See https://docs.pypi.org/project-management/storage-limits#requesting-a-file-size-limit-increase for more information.");
}

#[tokio::test]
async fn unsigned_attestations_are_refused() {
    let (testbed, token) = ready().await;
    let message = |attestation: Value| {
        let (testbed, token) = (&testbed, &token);
        async move {
            let answer = Upload::wheel("sampleproject", "1.0.0")
                .set("attestations", &json!([attestation]).to_string())
                .send(testbed, token)
                .await;
            assert_eq!(answer.status, 400, "{}", answer.body);
            answer.message()
        }
    };
    insta::assert_snapshot!(message(json!({"version": 1, "verification_material": {"certificate": "MII", "transparency_entries": []}, "envelope": {"statement": "e30=", "signature": "c2ln"}})).await, @"Invalid attestations supplied during upload: Malformed attestations: attestation 0: verification_material.certificate must be base64");
    insta::assert_snapshot!(message(json!({"version": 1, "verification_material": {"certificate": "MIIB", "transparency_entries": []}, "envelope": {"statement": "e30=", "signature": "c2ln"}})).await, @"Invalid attestations supplied during upload: Malformed attestations: attestation 0: transparency_entries must hold at least 1 item");
    insta::assert_snapshot!(message(json!({"version": 1, "verification_material": {"certificate": "MIIB", "transparency_entries": [{"logIndex": "1"}]}, "envelope": {"statement": "e30=", "signature": "c2ln"}})).await, @"Invalid attestations supplied during upload: Unknown error while trying to verify included attestations: invalid X.509 certificate");
    assert!(testbed.pypi_files("sampleproject").is_empty());
    assert!(testbed.records().uploads[0].had_attestations);
}

#[tokio::test]
async fn error_wire_formats_and_redirect() {
    let (testbed, token) = ready().await;
    let http = client(&testbed);
    let upload = Upload::wheel("sampleproject", "1.0.0").set("protocol_version", "7");
    let post = |accept: Option<&str>| {
        let mut request = http
            .post(testbed.pypi_upload_url())
            .basic_auth("__token__", Some(&token))
            .multipart(upload.form());
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        request.send()
    };
    let html = UploadAnswer::from(post(Some("*/*")).await.unwrap()).await;
    assert_eq!(html.reason.as_deref(), Some("Unknown protocol version."));
    assert!(
        html.body
            .starts_with("<html>\n <head>\n  <title>400 Unknown protocol version.</title>"),
        "{}",
        html.body
    );
    let plain = UploadAnswer::from(post(Some("text/plain")).await.unwrap()).await;
    assert!(
        plain
            .body
            .starts_with("400 Unknown protocol version.\n\nThe server could not comply"),
        "{}",
        plain.body
    );

    let redirect = http
        .post(testbed.pypi_url().join("legacy").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(redirect.status(), 308);
    assert_eq!(redirect.headers()["location"], "/legacy/");

    let not_multipart = UploadAnswer::from(
        http.post(testbed.pypi_upload_url())
            .basic_auth("__token__", Some(&token))
            .header("accept", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(not_multipart.status, 400);
    assert!(not_multipart.message().contains("multipart/form-data"));
}

#[tokio::test]
async fn tokens_cover_every_project_of_the_publisher() {
    let testbed = start().await;
    let publisher = PypiPublisher::new("octo-org", "octo-repo", 5_050_505, "release.yml");
    testbed.add_pypi_publisher("alpha", publisher.clone());
    testbed.add_pypi_publisher("beta", publisher);
    let token = mint_ok(&testbed).await;
    assert_eq!(
        Upload::wheel("alpha", "1.0")
            .send(&testbed, &token)
            .await
            .status,
        200
    );
    assert_eq!(
        Upload::wheel("beta", "1.0")
            .send(&testbed, &token)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn the_root_also_takes_uploads() {
    let (testbed, token) = ready().await;
    let upload = Upload::wheel("sampleproject", "1.0.0");
    let response = client(&testbed)
        .post(testbed.pypi_url())
        .basic_auth("__token__", Some(&token))
        .multipart(upload.form())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(testbed.pypi_files("sampleproject").len(), 1);
}
