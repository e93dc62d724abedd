//! Tests of the publish document and its streamed body.

use futures_util::StreamExt as _;

use super::*;
use crate::package::json::Json;
use crate::package::test_support::{package_tgz, scrub, tgz, write};

/// `npm pack` (npm 11.19.1) of a scoped package with README.md, index.js and cli.js.
const NPM_PACKED_SCOPED: &str = "H4sIAAAAAAAC/+2WyW7bMBRFtdZXvLIbG0gpytYAGG2RoM6ii2yK/IBMvciMJZIlKddGkH8vNKQIMuwSBUl5NgTu4yAJPCJ1wXdFhRGvBb22wavAGMvTFJ7Ke9IcgmWasTjOMpZAwGK2zBcQsGACWusKEzD2Ai/JGIN/7Tvh86eotSbaCBmh3INUJYZcSatqpLWqZgZ/t8LgjNCIzOdh4PlY6NF/IUs8vNIfgDGWJcnz/i+SR/7ni9j7PwWNKtsaKR60Ms7CN0gWXvL/0P+xpddWyYn9T+P0of9xmuTe/ym4CQGILBokKyCnJTYqckIev+hdRU662h6NFUp25Zgyyoa0RMuN0G6snEE3CCxXGksY99LQsylE3+XugBnSzRDS8d45hAa1ssIpc+xqlXDbdrN64pGK1m2V6fqssVGwxj18LXF/ioei0TVSrprvMNs6p+0qiu6l82H8Do9/lCltN0M38wl0iwy1WnCUtv8aFz8vh0y3m1rY7Q8lr0RFVnADpOAcbT9BX+QEbsPb8B37/+v8bH1xTpvyDc7/JHt0/qdL7/8093+4cysMR4vHLQFXyoBD6yz1NwKPx+P5cPwFhbf8iAAUAAA=";

fn registry(url: &str) -> Url {
    Url::parse(url).unwrap()
}

fn document(
    dir: &std::path::Path,
    bytes: &[u8],
    registry_url: &str,
    tag: Option<&str>,
) -> PublishDocument {
    let tarball = PackageTarball::read(&write(dir, "package.tgz", bytes)).unwrap();
    let registry = registry(registry_url);
    PublishDocument::new(
        &tarball,
        &PublishOptions {
            registry: &registry,
            tag,
            access: None,
        },
    )
    .unwrap()
}

async fn streamed(document: &PublishDocument) -> (u64, Vec<u8>) {
    let (length, stream) = document.body_stream();
    let chunks: Vec<Bytes> = stream.map(|chunk| chunk.unwrap()).collect().await;
    (length, chunks.concat())
}

/// The document for a tarball made by `npm pack` is the body npm 11.19.1 sent for it (captured
/// on the wire; only `_nodeVersion`, `_npmVersion` and pacote's `_integrity`, `_resolved`,
/// `_from` left out, see [`Manifest`](crate::package::Manifest)).
#[test]
fn matches_the_document_npm_sends() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = STANDARD.decode(NPM_PACKED_SCOPED).unwrap();
    let document = document(dir.path(), &bytes, "https://registry.npmjs.org/", None);
    let json = document.to_json().unwrap();
    assert_eq!(json.len() as u64, document.content_length());
    insta::assert_snapshot!(Json::parse(&json).unwrap().to_pretty(), @r##"
    {
      "_id": "@demo/tiny-pkg",
      "name": "@demo/tiny-pkg",
      "description": "A tiny scoped package",
      "dist-tags": {
        "latest": "1.0.0"
      },
      "versions": {
        "1.0.0": {
          "name": "@demo/tiny-pkg",
          "version": "1.0.0",
          "description": "A tiny scoped package",
          "main": "index.js",
          "bin": {
            "tiny-pkg": "cli.js"
          },
          "repository": {
            "type": "git",
            "url": "git+https://github.com/demo/tiny-pkg.git"
          },
          "author": {
            "name": "Demo Dev",
            "email": "dev@example.com",
            "url": "https://example.com"
          },
          "keywords": [
            "tiny",
            "demo"
          ],
          "license": "MIT",
          "publishConfig": {
            "access": "public"
          },
          "readme": "# tiny-pkg\n\nA tiny package for tests.\n",
          "readmeFilename": "README.md",
          "_id": "@demo/tiny-pkg@1.0.0",
          "bugs": {
            "url": "https://github.com/demo/tiny-pkg/issues"
          },
          "homepage": "https://github.com/demo/tiny-pkg#readme",
          "dist": {
            "integrity": "sha512-9wNTKGDwmefn2Ejl4wEqB3OFsnQ+rZeq22DjMpfB/Y5g7kEeaEl45SghujIaBMKaoRbPF4GnM3oLi88LHp1ypQ==",
            "shasum": "e89e73223a2479cafed0843f8c906229233993e1",
            "tarball": "http://registry.npmjs.org/@demo/tiny-pkg/-/@demo/tiny-pkg-1.0.0.tgz"
          }
        }
      },
      "access": "public",
      "_attachments": {
        "@demo/tiny-pkg-1.0.0.tgz": {
          "content_type": "application/octet-stream",
          "data": "H4sIAAAAAAAC/+2WyW7bMBRFtdZXvLIbG0gpytYAGG2RoM6ii2yK/IBMvciMJZIlKddGkH8vNKQIMuwSBUl5NgTu4yAJPCJ1wXdFhRGvBb22wavAGMvTFJ7Ke9IcgmWasTjOMpZAwGK2zBcQsGACWusKEzD2Ai/JGIN/7Tvh86eotSbaCBmh3INUJYZcSatqpLWqZgZ/t8LgjNCIzOdh4PlY6NF/IUs8vNIfgDGWJcnz/i+SR/7ni9j7PwWNKtsaKR60Ms7CN0gWXvL/0P+xpddWyYn9T+P0of9xmuTe/ym4CQGILBokKyCnJTYqckIev+hdRU662h6NFUp25Zgyyoa0RMuN0G6snEE3CCxXGksY99LQsylE3+XugBnSzRDS8d45hAa1ssIpc+xqlXDbdrN64pGK1m2V6fqssVGwxj18LXF/ioei0TVSrprvMNs6p+0qiu6l82H8Do9/lCltN0M38wl0iwy1WnCUtv8aFz8vh0y3m1rY7Q8lr0RFVnADpOAcbT9BX+QEbsPb8B37/+v8bH1xTpvyDc7/JHt0/qdL7/8093+4cysMR4vHLQFXyoBD6yz1NwKPx+P5cPwFhbf8iAAUAAA=",
          "length": 455
        }
      }
    }
    "##);
    assert_eq!(
        document.publish_url().as_str(),
        "https://registry.npmjs.org/@demo%2ftiny-pkg"
    );
}

#[test]
fn unscoped_documents_send_null_access_and_no_description_when_there_is_none() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = tgz(&[(
        "package/package.json",
        br#"{"name":"plain","version":"1.0.0"}"#,
    )]);
    let document = document(dir.path(), &bytes, "http://127.0.0.1:4873", None);
    let json = document.to_json().unwrap();
    let data = STANDARD.encode(&bytes);
    let sha1 = PackageTarball::read(&dir.path().join("package.tgz"))
        .unwrap()
        .shasum();
    let integrity = PackageTarball::read(&dir.path().join("package.tgz"))
        .unwrap()
        .integrity();
    let expected = format!(
        concat!(
            r#"{{"_id":"plain","name":"plain","dist-tags":{{"latest":"1.0.0"}},"versions":{{"1.0.0":{{"#,
            r#""name":"plain","version":"1.0.0","readme":"ERROR: No README data found!","_id":"plain@1.0.0","#,
            r#""dist":{{"integrity":"{}","shasum":"{}","tarball":"http://127.0.0.1:4873/plain/-/plain-1.0.0.tgz"}}}}}},"#,
            r#""access":null,"_attachments":{{"plain-1.0.0.tgz":{{"content_type":"application/octet-stream","data":"{}","length":{}}}}}}}"#
        ),
        integrity,
        sha1,
        data,
        bytes.len()
    );
    assert_eq!(json, expected);
    assert_eq!(
        document.publish_url().as_str(),
        "http://127.0.0.1:4873/plain"
    );
    assert_eq!(
        document.tarball_url(),
        "http://127.0.0.1:4873/plain/-/plain-1.0.0.tgz"
    );
}

#[test]
fn joins_registry_urls_with_or_without_a_trailing_slash() {
    let scoped = PackageName::parse("@scope/name").unwrap();
    let cases = [
        (
            "https://registry.npmjs.org",
            "https://registry.npmjs.org/@scope%2fname",
        ),
        (
            "https://registry.npmjs.org/",
            "https://registry.npmjs.org/@scope%2fname",
        ),
        (
            "https://host.example/npm/registry",
            "https://host.example/npm/registry/@scope%2fname",
        ),
        (
            "https://host.example/npm/registry/?x=1#f",
            "https://host.example/npm/registry/@scope%2fname",
        ),
    ];
    for (base, expected) in cases {
        assert_eq!(
            package_url(&registry(base), &scoped).as_str(),
            expected,
            "{base}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let bytes = package_tgz(r#"{"name":"@scope/name","version":"1.0.0"}"#);
    let document = document(dir.path(), &bytes, "https://host.example/npm", None);
    assert_eq!(
        document.tarball_url(),
        "http://host.example/npm/@scope/name/-/@scope/name-1.0.0.tgz"
    );
}

#[tokio::test]
async fn the_streamed_body_is_the_document_and_its_length_is_exact() {
    let dir = tempfile::tempdir().unwrap();
    // Incompressible content, so the tarball spans several chunks and ends mid-chunk.
    let mut seed = 7_u64;
    let blob: Vec<u8> = (0..3 * crate::package::body::CHUNK + 1000)
        .map(|_| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 56) as u8
        })
        .collect();
    let big = tgz(&[
        (
            "package/package.json",
            br#"{"name":"@s/big","version":"1.0.0"}"#,
        ),
        ("package/blob.bin", &blob),
    ]);
    assert!(big.len() > 3 * crate::package::body::CHUNK);
    let small = package_tgz(r#"{"name":"small","version":"0.1.0","description":"é \"quoted\""}"#);
    for bytes in [big, small] {
        let document = document(dir.path(), &bytes, "https://registry.npmjs.org/", None);
        let (length, body) = streamed(&document).await;
        assert_eq!(body, document.to_json().unwrap().into_bytes());
        assert_eq!(length, body.len() as u64);
        // A second stream for a retry gives the same bytes.
        assert_eq!(streamed(&document).await.1, body);
        let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let attachment = &parsed["_attachments"]
            .as_object()
            .unwrap()
            .values()
            .next()
            .unwrap()["data"];
        assert_eq!(
            STANDARD.decode(attachment.as_str().unwrap()).unwrap(),
            bytes
        );
    }
}

#[tokio::test]
async fn attaches_a_provenance_bundle_as_npm_does() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = package_tgz(r#"{"name":"@demo/p","version":"1.0.0"}"#);
    let bundle = format!(r#"{{"mediaType":"{PROVENANCE_MEDIA_TYPE_V03}","note":"ünïcode"}}"#);
    let document = document(dir.path(), &bytes, "https://registry.npmjs.org/", None)
        .with_provenance_bundle(bundle.clone())
        .unwrap();
    let json = document.to_json().unwrap();
    let expected_tail = format!(
        r#","length":{}}},"@demo/p-1.0.0.sigstore":{{"content_type":"{PROVENANCE_MEDIA_TYPE_V03}","data":{},"length":{}}}}}}}"#,
        bytes.len(),
        serde_json::to_string(&bundle).unwrap(),
        bundle.chars().count()
    );
    assert!(json.ends_with(&expected_tail), "{json}");
    let (length, body) = streamed(&document).await;
    assert_eq!((length, body), (json.len() as u64, json.into_bytes()));

    let duplicate = document
        .clone()
        .with_attachment("@demo/p-1.0.0.sigstore", "text/plain", "x")
        .unwrap_err();
    insta::assert_snapshot!(duplicate, @r#"the publish document already has an attachment named "@demo/p-1.0.0.sigstore"; give the new one another name"#);
    let tarball_name = document
        .clone()
        .with_attachment("@demo/p-1.0.0.tgz", "text/plain", "x")
        .unwrap_err();
    assert!(matches!(
        tarball_name,
        PackageError::DuplicateAttachment { .. }
    ));
    let not_a_bundle = document.with_provenance_bundle("{}").unwrap_err();
    insta::assert_snapshot!(not_a_bundle, @r#"the provenance bundle is not a Sigstore bundle (no "mediaType" string); pass the bundle JSON produced by signing"#);
}

#[tokio::test]
async fn a_tarball_changed_on_disk_is_never_sent() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = package_tgz(r#"{"name":"plain","version":"1.0.0"}"#);
    let document = document(dir.path(), &bytes, "https://registry.npmjs.org/", None);
    let mut tampered = bytes.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    write(dir.path(), "package.tgz", &tampered);
    let error = scrub(&document.to_json().unwrap_err().to_string(), dir.path());
    insta::assert_snapshot!(error, @"[TMP]/package.tgz changed on disk after it was read (its sha512 digest no longer matches); read the tarball again before publishing");
    let (_, stream) = document.body_stream();
    let chunks: Vec<_> = stream.collect().await;
    let last = chunks.last().unwrap().as_ref().unwrap_err();
    insta::assert_snapshot!(scrub(&last.to_string(), dir.path()), @"[TMP]/package.tgz changed on disk after it was read (its sha512 digest no longer matches); read it again before publishing");
    assert!(chunks[..chunks.len() - 1].iter().all(Result::is_ok));

    write(dir.path(), "package.tgz", &bytes[..100]);
    let error = document.to_json().unwrap_err().to_string();
    assert!(
        error.contains(&format!("(it was {} bytes and is now 100)", bytes.len())),
        "{error}"
    );
    let (_, stream) = document.body_stream();
    let chunks: Vec<_> = stream.collect().await;
    let error = chunks.last().unwrap().as_ref().unwrap_err().to_string();
    assert!(
        error.contains(&format!("(it was {} bytes and is now 100)", bytes.len())),
        "{error}"
    );
}

#[tokio::test]
async fn the_streamed_body_can_be_sent_with_reqwest() {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(201))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let bytes = package_tgz(r#"{"name":"@scope/name","version":"1.0.0"}"#);
    let document = document(dir.path(), &bytes, &server.uri(), Some("next"));
    let (length, stream) = document.body_stream();
    let response = reqwest::Client::new()
        .put(document.publish_url().clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(reqwest::header::CONTENT_LENGTH, length)
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let received = &server.received_requests().await.unwrap()[0];
    assert_eq!(received.url.path(), "/@scope%2fname");
    assert_eq!(
        received.headers["content-length"],
        length.to_string().as_str()
    );
    assert_eq!(received.body, document.to_json().unwrap().into_bytes());
}
