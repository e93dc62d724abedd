//! Forwarding mode: accepted uploads and publishes go on to a real index (here, stand-ins speaking plain HTTP on
//! 127.0.0.1 like pypiserver and verdaccio do).

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{post, put};
use serde_json::{Value, json};
use testbed::{NpmConfig, NpmPublisher, PypiConfig, TestbedConfig};

use crate::common::{Upload, client, default_pypi_publisher, fetch_id_token, mint_ok, start_with};

#[derive(Default)]
struct Seen {
    bodies: Vec<(Option<String>, Vec<u8>)>,
}

type Shared = Arc<Mutex<Seen>>;

async fn serve(router: Router) -> url::Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    url::Url::parse(&format!("http://{address}/")).unwrap()
}

/// pypiserver-like: records the upload and accepts it.
async fn fake_pypiserver(
    State(seen): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let auth = headers
        .get("authorization")
        .map(|v| v.to_str().unwrap().to_owned());
    seen.lock().unwrap().bodies.push((auth, body.to_vec()));
    StatusCode::OK
}

#[tokio::test]
async fn pypi_uploads_are_forwarded() {
    let seen = Shared::default();
    let target = serve(
        Router::new()
            .route("/", post(fake_pypiserver))
            .with_state(Arc::clone(&seen)),
    )
    .await;
    let config = TestbedConfig {
        pypi: PypiConfig {
            forward_to: Some(target),
            forward_auth: Some(("ci".to_owned(), "secret".to_owned())),
            ..PypiConfig::default()
        },
        ..TestbedConfig::default()
    };
    let testbed = start_with(config).await;
    testbed.add_pypi_publisher("sampleproject", default_pypi_publisher());
    let token = mint_ok(&testbed).await;
    let upload = Upload::wheel("sampleproject", "1.0.0");
    let answer = upload.send(&testbed, &token).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.bodies.len(), 1);
        let (auth, body) = &seen.bodies[0];
        assert_eq!(auth.as_deref(), Some("Basic Y2k6c2VjcmV0"));
        let text = String::from_utf8_lossy(body);
        assert!(
            text.contains("name=\":action\"\r\n\r\nfile_upload"),
            "{text}"
        );
        assert!(text.contains("filename=\"sampleproject-1.0.0-py3-none-any.whl\""));
        assert!(
            body.windows(upload.content.len())
                .any(|window| window == upload.content.as_slice())
        );
    }

    let answer = Upload::sdist("sampleproject", "1.0.0")
        .send(&testbed, &token)
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(seen.lock().unwrap().bodies.len(), 2);
    assert_eq!(testbed.pypi_files("sampleproject").len(), 2);
}

#[tokio::test]
async fn pypi_forward_refusals_fail_the_upload() {
    let refuse = Router::new().route(
        "/",
        // Like pypiserver, read the upload before refusing it: answering mid-body would race the
        // sender and turn the refusal into a broken connection.
        post(|_upload: axum::body::Bytes| async { (StatusCode::CONFLICT, "File already exists.") }),
    );
    let target = serve(refuse).await;
    let config = TestbedConfig {
        pypi: PypiConfig {
            forward_to: Some(target.clone()),
            ..PypiConfig::default()
        },
        ..TestbedConfig::default()
    };
    let testbed = start_with(config).await;
    testbed.add_pypi_publisher("sampleproject", default_pypi_publisher());
    let token = mint_ok(&testbed).await;
    let answer = Upload::wheel("sampleproject", "1.0.0")
        .send(&testbed, &token)
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.message(),
        format!(
            "The testbed accepted the upload but the forwarding target {target} refused it: 409 Conflict File already exists."
        )
    );
    assert!(
        testbed.pypi_files("sampleproject").is_empty(),
        "a refused forward stores nothing"
    );
}

/// verdaccio-like: one attachment only, 409 for a version it already has.
async fn fake_verdaccio(
    State(seen): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, axum::Json<Value>) {
    let document: Value = serde_json::from_slice(&body).unwrap();
    let auth = headers
        .get("authorization")
        .map(|v| v.to_str().unwrap().to_owned());
    let mut seen = seen.lock().unwrap();
    if document["_attachments"].as_object().unwrap().len() != 1 {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "unsupported registry call"})),
        );
    }
    let version = document["versions"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    let repeated = seen.bodies.iter().any(|(_, earlier)| {
        serde_json::from_slice::<Value>(earlier).unwrap()["versions"]
            .get(&version)
            .is_some()
    });
    seen.bodies.push((auth, body.to_vec()));
    if repeated {
        (
            StatusCode::CONFLICT,
            axum::Json(json!({"error": "this package is already present"})),
        )
    } else {
        (
            StatusCode::CREATED,
            axum::Json(json!({"ok": "created new package", "success": true})),
        )
    }
}

#[tokio::test]
async fn npm_publishes_are_forwarded_without_the_bundle() {
    let seen = Shared::default();
    let target = serve(
        Router::new()
            .route("/{name}", put(fake_verdaccio))
            .with_state(Arc::clone(&seen)),
    )
    .await;
    let config = TestbedConfig {
        npm: NpmConfig {
            forward_to: Some(target.clone()),
            forward_token: Some("verdaccio-token".to_owned()),
            ..NpmConfig::default()
        },
        ..TestbedConfig::default()
    };
    let testbed = start_with(config).await;
    let name = "@demo/tiny-pkg";
    testbed.add_npm_publisher(
        name,
        NpmPublisher::github("octo-org/octo-repo", "release.yml"),
    );
    let jwt = fetch_id_token(&testbed, "npm:127.0.0.1").await;
    let exchanged: Value = client(&testbed)
        .post(format!(
            "{}-/npm/v1/oidc/token/exchange/package/@demo%2ftiny-pkg",
            testbed.npm_registry_url()
        ))
        .bearer_auth(jwt)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = exchanged["token"].as_str().unwrap();

    let tarball = crate::npm::npm_tarball(name, "1.0.0");
    let mut document =
        crate::npm::publish_document(&testbed.npm_registry_url(), name, "1.0.0", &tarball);
    let statement = crate::sigstore::npm_statement(
        name,
        "1.0.0",
        &tarball,
        "https://github.com/octo-org/octo-repo",
    );
    let bundle = crate::sigstore::sign(&testbed, &statement).await;
    document["_attachments"]["@demo/tiny-pkg-1.0.0.sigstore"] = json!({"content_type": "application/vnd.dev.sigstore.bundle.v0.3+json", "data": bundle.to_string()});
    let put = |document: Value| {
        client(&testbed)
            .put(format!("{}@demo%2ftiny-pkg", testbed.npm_registry_url()))
            .bearer_auth(token)
            .json(&document)
            .send()
    };

    let response = put(document.clone()).await.unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    {
        let seen = seen.lock().unwrap();
        let (auth, body) = &seen.bodies[0];
        assert_eq!(auth.as_deref(), Some("Bearer verdaccio-token"));
        let forwarded: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(
            forwarded["_attachments"]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            ["@demo/tiny-pkg-1.0.0.tgz"]
        );
    }
    assert!(
        testbed.npm_versions(name)[0].provenance.is_some(),
        "the testbed keeps the bundle"
    );

    // verdaccio's 409 comes through as a 409, and nothing is stored: make the stand-in believe it has 1.0.1.
    let tarball = crate::npm::npm_tarball(name, "1.0.1");
    seen.lock().unwrap().bodies[0].1 =
        serde_json::to_vec(&json!({"versions": {"1.0.1": {}}})).unwrap();
    let document =
        crate::npm::publish_document(&testbed.npm_registry_url(), name, "1.0.1", &tarball);
    let response = put(document).await.unwrap();
    assert_eq!(response.status(), 409);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .ends_with("refused it: 409 Conflict {\"error\":\"this package is already present\"}"),
        "{body}"
    );
    assert_eq!(testbed.npm_versions(name).len(), 1);
}
