//! Comparisons with the real npm CLI: `npm pack` digests, and the exact body `npm publish` sends
//! for the same tarball, captured by a loopback registry. They need `npm` (Node.js 20+, npm 11):
//! outside CI they are skipped with a message when it is missing; with `CI=true` they fail.

use std::path::Path;

use url::Url;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::json::Json;
use super::test_support::{npm, npm_available, tgz, write};
use super::{Access, PackageTarball, PublishDocument, PublishOptions};

async fn run(command: &mut tokio::process::Command) -> String {
    let output = command.output().await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{command:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[tokio::test]
async fn digests_match_npm_pack() {
    if !npm_available() {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let package = scratch.path().join("pkg");
    fs_err::create_dir(&package).unwrap();
    write(
        &package,
        "package.json",
        br#"{"name":"@demo/packed","version":"1.2.3","description":"packed by npm"}"#,
    );
    write(&package, "README.md", b"# packed\n");
    write(&package, "index.js", b"module.exports = 'packed'\n");
    let output = run(npm(scratch.path())
        .current_dir(&package)
        .args(["pack", "--json", "--pack-destination"])
        .arg(scratch.path()))
    .await;
    let packed: serde_json::Value = serde_json::from_str(&output).unwrap();
    let packed = &packed[0];
    let tarball =
        PackageTarball::read(&scratch.path().join(packed["filename"].as_str().unwrap())).unwrap();
    assert_eq!(tarball.integrity(), packed["integrity"].as_str().unwrap());
    assert_eq!(tarball.shasum(), packed["shasum"].as_str().unwrap());
    assert_eq!(tarball.size(), packed["size"].as_u64().unwrap());
    assert_eq!(
        tarball.manifest().name().as_str(),
        packed["name"].as_str().unwrap()
    );
    assert_eq!(
        tarball.manifest().version().to_string(),
        packed["version"].as_str().unwrap()
    );
}

/// A package to publish with both npm and us: `package/` files, `--tag`, `--access`.
struct Fixture {
    files: &'static [(&'static str, &'static str)],
    tag: Option<&'static str>,
    access: Option<Access>,
}

pub(crate) const RICH_PACKAGE_JSON: &str = r#"{
  "name": " @demo/rich ",
  "version": "v2.0.0-Beta.01+build.7",
  "tag": "next",
  "description": "",
  "_private": true,
  "main": "lib/main.js",
  "bin": { "../x/tool": "./bin/tool.js", "other": 5 },
  "directories": { "man": "./man" },
  "scripts": { "test": "./node_modules/.bin/jest", "bad": 1 },
  "repositories": [{ "type": "git", "url": "git@gitlab.com:grp/sub/proj.git", "directory": "packages/rich" }],
  "author": { "name": "A B", "mail": "a@b.co", "web": "https://ab.example" },
  "maintainers": ["M <m@x.io>", { "name": "N" }],
  "bugs": "bugs@example.com",
  "homepage": "example.com/rich",
  "keywords": "one, two,three",
  "files": ["lib", "", 5, "bin"],
  "dependencies": "left@1.0.0 right>=2",
  "devDependencies": { "hosted": "o/r", "junk": 7, "plain": "^1.0.0", "gh": "git+ssh://git@github.com/o/r.git#v1" },
  "optionalDependencies": ["opt@1"],
  "bundledDependencies": ["left", "extra"],
  "dist": { "keep": "me" },
  "numbers": [1.5, 1e21, 0.1, -0, 12345678901234567890, 1e-7],
  "ordering": { "b": 1, "2": 2, "a": 3, "1": 4 },
  "escapes": "tab\t quote\" backslash\\ control\u0001 unicode é \u2028",
  "publishConfig": { "access": "public", "tag": "from-config" }
}"#;

const FIXTURES: &[Fixture] = &[
    Fixture {
        files: &[
            ("package.json", RICH_PACKAGE_JSON),
            (
                "readme.markdown",
                "Rich package\r\nIt does things.\n\nMore.\n",
            ),
            ("README", "plain readme"),
            (
                "AUTHORS",
                "# comment\nAlice <a@x.io> (https://alice.example)\n\n  Bob  \n",
            ),
            ("binding.gyp", "{}"),
            ("server.js", ""),
            ("lib/main.js", ""),
            ("lib/main.d.ts", ""),
            ("bin/tool.js", ""),
            ("man/rich.1", ""),
        ],
        tag: Some("beta"),
        access: None,
    },
    Fixture {
        files: &[
            (
                "package.json",
                r#"{"name":"basic","version":"1.0.0","private":false,"gitHead":"0123abc","repository":{"type":"git","url":"https://github.com/o/basic"},"license":"MIT"}"#,
            ),
            ("README.md", "# basic\n\nBasic package.\n"),
            ("index.js", "module.exports = 1\n"),
        ],
        tag: None,
        access: Some(Access::Public),
    },
    Fixture {
        files: &[
            (
                "package.json",
                r#"{"name":"@demo/bindir","version":"0.0.1","directories":{"bin":"./scripts"},"contributors":["C <c@x.io>"],"bundleDependencies":true,"dependencies":{"a":"1","b":"bitbucket:o/r"},"repository":"bitbucket:o/r","funding":"https://fund.example","types":"x.d.ts"}"#,
            ),
            ("readme.md", "Lower-case readme.\n"),
            ("scripts/run.js", ""),
            ("index.d.ts", ""),
        ],
        tag: None,
        access: Some(Access::Restricted),
    },
    Fixture {
        files: &[
            (
                "package.json",
                r#"{"name":"headonly","version":"3.0.0","keywords":["","k",1],"bugs":{"web":"https://b.example/issues","email":"not-an-email"},"man":"doc/x.1","scripts":"oops","bin":"cli.js"}"#,
            ),
            ("README.md", "# Only a heading\n"),
        ],
        tag: Some("latest"),
        access: None,
    },
    Fixture {
        files: &[
            (
                "package.json",
                r#"{"_id":"junk","name":"NoReadme","version":"=1.0.0","readme":"","repository":"o/r","bundleDependencies":false,"bugs":{"url":"not a url"},"homepage":5,"author":"Solo","contributors":"not-array","keywords":5,"files":"x","modules":["m"],"description":{"not":"a string"}}"#,
            ),
            ("index.js", ""),
        ],
        tag: None,
        access: None,
    },
];

/// The version entry without the fields npm adds that we do not send on purpose.
fn without_npm_only_fields(mut document: Json) -> String {
    if let Json::Object(root) = &mut document
        && let Some(Json::Object(versions)) = root.get_mut("versions")
    {
        for key in versions.keys() {
            if let Some(Json::Object(version)) = versions.get_mut(&key) {
                for field in [
                    "_integrity",
                    "_resolved",
                    "_from",
                    "_nodeVersion",
                    "_npmVersion",
                ] {
                    version.remove(field);
                }
            }
        }
    }
    document.to_json_string()
}

async fn compare(server: &MockServer, scratch: &Path, index: usize, fixture: &Fixture) {
    let entries: Vec<(String, &[u8])> = fixture
        .files
        .iter()
        .map(|(name, data)| (format!("package/{name}"), data.as_bytes()))
        .collect();
    let entries: Vec<(&str, &[u8])> = entries
        .iter()
        .map(|(name, data)| (name.as_str(), *data))
        .collect();
    let path = write(scratch, &format!("fixture-{index}.tgz"), &tgz(&entries));
    let registry = Url::parse(&format!("{}/", server.uri())).unwrap();

    let mut command = npm(scratch);
    command
        .arg("publish")
        .arg(&path)
        .arg("--registry")
        .arg(registry.as_str());
    let host = format!(
        "{}:{}",
        registry.host_str().unwrap(),
        registry.port().unwrap()
    );
    command.arg(format!("--//{host}/:_authToken=test-token"));
    if let Some(tag) = fixture.tag {
        command.args(["--tag", tag]);
    }
    if let Some(access) = fixture.access {
        command.args(["--access", access.as_str()]);
    }
    run(&mut command).await;
    let requests = server.received_requests().await.unwrap();
    let put = requests
        .iter()
        .rev()
        .find(|r| r.method.as_str() == "PUT")
        .unwrap();
    let sent =
        without_npm_only_fields(Json::parse(std::str::from_utf8(&put.body).unwrap()).unwrap());

    let tarball = PackageTarball::read(&path).unwrap();
    let options = PublishOptions {
        registry: &registry,
        tag: fixture.tag,
        access: fixture.access,
    };
    let document = PublishDocument::new(&tarball, &options).unwrap();
    assert_eq!(
        put.url.path(),
        document.publish_url().path(),
        "fixture {index}"
    );
    assert_eq!(
        document.to_json().unwrap(),
        sent,
        "fixture {index}: our document differs from npm's"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn documents_match_what_npm_publish_sends() {
    if !npm_available() {
        return;
    }
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(201).set_body_string("{}"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404).set_body_string(r#"{"error":"Not found"}"#))
        .mount(&server)
        .await;
    let scratch = tempfile::tempdir().unwrap();
    for (index, fixture) in FIXTURES.iter().enumerate() {
        compare(&server, scratch.path(), index, fixture).await;
    }
}
