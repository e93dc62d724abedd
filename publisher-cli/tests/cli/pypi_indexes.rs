//! Private and self-hosted indexes through the binary (issues #10 and #16): every boolean
//! option in every spelling, twine's `--skip-existing` semantics, conflict answers and
//! re-runs, `.pypirc` with `-r NAME`, token checks, `--print-hash`; against real pypiserver
//! and devpi-server, with twine run against the same server as the referee.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;
use crate::tools;

use std::io::Write;
use std::path::{Path, PathBuf};

use common::*;
use testbed::{GithubIdentity, PypiPublisher, ReusableWorkflow, Testbed};
use tools::*;

/// A plausible (made-up) PyPI token: right shape, never valid anywhere.
const TOKEN: &str = "pypi-AgEIcHlwaS5vcmcCJGZha2UtdG9rZW4tZm9yLXRydXN0cHViLXRlc3RzLW9ubHk";

/// A wheel whose `__init__.py` says `marker`: same name, other bytes for another marker.
fn wheel(dir: &Path, name: &str, version: &str, marker: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let module = name.to_ascii_lowercase().replace(['-', '.'], "_");
    let path = dir.join(format!("{module}-{version}-py3-none-any.whl"));
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let options = zip::write::SimpleFileOptions::default();
    let info = format!("{module}-{version}.dist-info");
    for (member, contents) in [
        (
            format!("{module}/__init__.py"),
            format!("MARKER = {marker:?}\n"),
        ),
        (
            format!("{info}/METADATA"),
            format!(
                "Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nDescription-Content-Type: text/markdown\n\nA sample.\n"
            ),
        ),
        (
            format!("{info}/WHEEL"),
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
                .to_owned(),
        ),
        (format!("{info}/RECORD"), String::new()),
    ] {
        zip.start_file(member, options).unwrap();
        zip.write_all(contents.as_bytes()).unwrap();
    }
    zip.finish().unwrap();
    path
}

fn sha256_of(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

async fn run_trustpub(args: &[&str], dir: &Path) -> (Option<i32>, String) {
    let output = trustpub(args, &Default::default(), dir).await;
    (
        output.status.code(),
        format!("{}\n{}", stdout(&output), stderr(&output)),
    )
}

/// A dry run with a token touches no network: what it prints shows how the flags were read.
async fn dry_run(dir: &Path, flags: &[&str]) -> (Option<i32>, String) {
    let mut args = vec![
        "pypi",
        "upload",
        "--repository-url",
        "http://127.0.0.1:9/",
        "--password",
        TOKEN,
    ];
    if !flags.iter().any(|f| f.starts_with("--dry-run")) {
        args.push("--dry-run");
    }
    args.extend(flags);
    run_trustpub(&args, dir).await
}

#[tokio::test]
async fn boolean_options_take_every_spelling_and_never_eat_a_path() {
    let dir = tempfile::tempdir().unwrap();
    wheel(&dir.path().join("dist"), "flags-sample", "1.0", "a");
    for (flags, expected) in [
        (vec!["--skip-existing", "dist/"], "skip-existing: on,"),
        (vec!["--skip-existing=true", "dist/"], "skip-existing: on,"),
        (
            vec!["--skip-existing=false", "dist/"],
            "skip-existing: off,",
        ),
        (
            vec!["--skip-existing", "true", "dist/"],
            "skip-existing: on,",
        ),
        (
            vec!["--skip-existing", "false", "dist/"],
            "skip-existing: off,",
        ),
        (
            vec!["--skip_existing", "true", "dist/"],
            "skip-existing: on,",
        ),
        (
            vec!["--skip-existing=strict", "dist/"],
            "skip-existing: strict,",
        ),
        (vec!["dist/", "--skip-existing"], "skip-existing: on,"),
        (vec!["--verify-metadata", "dist/"], "metadata checks: on,"),
        (
            vec!["--verify-metadata=false", "dist/"],
            "metadata checks: off,",
        ),
        (
            vec!["--verify-metadata", "false", "dist/"],
            "metadata checks: off,",
        ),
        (vec!["--print-hash", "dist/"], "print-hash: on"),
        (vec!["--print-hash=false", "dist/"], "print-hash: off"),
        (vec!["--print-hash", "false", "dist/"], "print-hash: off"),
        (vec!["--print-hash", "true", "dist/"], "print-hash: on"),
        (vec!["--dry-run", "true", "dist/"], "Dry run"),
        (vec!["--dry-run", "dist/"], "Dry run"),
        (vec!["--dry-run=TRUE", "dist/"], "Dry run"),
        (vec!["--allow-pull-request", "dist/"], "Dry run"),
        (vec!["--allow-pull-request", "false", "dist/"], "Dry run"),
        (vec!["--attestations", "false", "dist/"], "Dry run"),
        (vec!["--attestations=false", "dist/"], "Dry run"),
    ] {
        let (code, text) = dry_run(dir.path(), &flags).await;
        assert_eq!(code, Some(0), "{flags:?}: {text}");
        assert!(text.contains(expected), "{flags:?} → `{expected}`:\n{text}");
        assert!(
            text.contains("flags_sample-1.0-py3-none-any.whl"),
            "{flags:?}: dist/ was read as the path:\n{text}"
        );
    }
    // `--attestations` bare or true means true: refused with a token, before anything is read.
    for flags in [
        vec!["--attestations", "dist/"],
        vec!["--attestations", "TRUE", "dist/"],
        vec!["--attestations=true", "dist/"],
    ] {
        let (code, text) = dry_run(dir.path(), &flags).await;
        assert_eq!(code, Some(2), "{flags:?}: {text}");
        assert!(
            text.contains("--attestations needs trusted publishing"),
            "{text}"
        );
    }
    // --quiet as a value-taking global.
    let (code, text) = dry_run(dir.path(), &["--quiet", "true", "dist/"]).await;
    assert_eq!(code, Some(0), "{text}");
    assert!(!text.contains("Checked"), "{text}");
    let (code, text) = dry_run(dir.path(), &["--quiet=false", "dist/"]).await;
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("Checked"), "{text}");
    // Anything but a boolean after `=` is a usage error naming the value.
    let (code, text) = dry_run(dir.path(), &["--print-hash=maybe", "dist/"]).await;
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("`maybe` is not a boolean"), "{text}");
}

#[tokio::test]
async fn print_hash_shows_what_hashlib_computes() {
    let Some(python) = require(tools_bin().join("python"), "the tools venv's python") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = wheel(&dir.path().join("dist"), "hash-sample", "1.0", "h");
    let (code, text) = dry_run(dir.path(), &["--print-hash", "dist/"]).await;
    assert_eq!(code, Some(0), "{text}");
    let expected = run_ok(
        &python,
        &[
            "-c",
            "import hashlib,sys; d=open(sys.argv[1],'rb').read(); print('SHA256: '+hashlib.sha256(d).hexdigest()); print('MD5: '+hashlib.md5(d).hexdigest()); print('BLAKE2-256: '+hashlib.blake2b(d, digest_size=32).hexdigest())",
            path.to_str().unwrap(),
        ],
        dir.path(),
        &[],
    )
    .await;
    assert!(
        text.contains("Showing hash values of files to be uploaded:"),
        "{text}"
    );
    for line in expected.lines().filter(|l| !l.trim().is_empty()) {
        assert!(text.contains(line.trim()), "missing `{line}` in:\n{text}");
    }
    let (_, text) = dry_run(dir.path(), &["--print-hash=false", "dist/"]).await;
    assert!(!text.contains("MD5:"), "{text}");
}

#[tokio::test]
async fn token_checks_apply_to_every_index_and_the_nudge_names_the_project() {
    let dir = tempfile::tempdir().unwrap();
    wheel(&dir.path().join("dist"), "Nudge.Sample", "1.0", "n");
    // A damaged token is refused before anything is read or sent, on any index.
    let (code, text) = run_trustpub(
        &[
            "pypi",
            "upload",
            "--repository-url",
            "http://127.0.0.1:9/",
            "--password",
            &format!("{TOKEN}\n"),
            "dist/",
        ],
        dir.path(),
    )
    .await;
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("contains whitespace"), "{text}");
    // __token__ with something that is not a PyPI token: warned on a private index too.
    let (code, text) = run_trustpub(
        &[
            "pypi",
            "upload",
            "--dry-run",
            "--repository-url",
            "http://127.0.0.1:9/",
            "--password",
            "not-a-token",
            "dist/",
        ],
        dir.path(),
    )
    .await;
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("Potentially invalid token"), "{text}");
    assert!(
        !text.contains("Upgrade to Trusted Publishing"),
        "pypi.org only: {text}"
    );
    // On PyPI: the nudge carries the real (normalized) project name.
    let env: std::collections::BTreeMap<String, String> = [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_REPOSITORY", "octo-org/octo-repo"),
        (
            "GITHUB_WORKFLOW_REF",
            "octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let output = trustpub(
        &["pypi", "upload", "--dry-run", "--password", TOKEN, "dist/"],
        &env,
        dir.path(),
    )
    .await;
    let text = format!("{}\n{}", stdout(&output), stderr(&output));
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(
        text.contains("https://pypi.org/manage/project/nudge-sample/settings/publishing/?provider=github&owner=octo-org&repository=octo-repo&workflow_filename=release.yml"),
        "{text}"
    );
    assert!(!text.contains("<project>"), "{text}");
    let masked = assert_no_secret_leaks(&output, &[TOKEN]);
    assert_eq!(masked, [TOKEN], "the token is masked, never shown");
}

// ---------------------------------------------------------------------------------------
// Real peers.

struct Peers {
    python: PathBuf,
    twine: PathBuf,
    pypi_server: PathBuf,
}

fn peers() -> Option<Peers> {
    let bin = tools_bin();
    Some(Peers {
        python: require(bin.join("python"), "the tools venv's python")?,
        twine: require(bin.join("twine"), "twine")?,
        pypi_server: require(bin.join("pypi-server"), "pypiserver")?,
    })
}

/// pypiserver with authentication on everything (uploads, listing, downloads): the simple
/// lookups need the upload credentials.
async fn private_pypiserver(peers: &Peers, dir: &Path) -> Server {
    let packages = dir.join("packages");
    std::fs::create_dir_all(&packages).unwrap();
    let htpasswd = dir.join("htpasswd");
    run_ok(
        &peers.python,
        &[
            "-c",
            "import sys; from passlib.apache import HtpasswdFile; h = HtpasswdFile(sys.argv[1], new=True); h.set_password('alice', 'secret-pw'); h.save()",
            htpasswd.to_str().unwrap(),
        ],
        dir,
        &[],
    )
    .await;
    let port = free_port().to_string();
    Server::start(
        &peers.pypi_server,
        &[
            "run",
            "-i",
            "127.0.0.1",
            "-p",
            &port,
            "-a",
            "update,download,list",
            "-P",
            htpasswd.to_str().unwrap(),
            packages.to_str().unwrap(),
        ],
        &[],
        format!("http://127.0.0.1:{port}/"),
        "/",
        dir.join("pypiserver.log"),
    )
    .await
}

async fn twine(peers: &Peers, dir: &Path, args: &[&str], files: &[&Path]) -> (bool, String) {
    let mut all = vec!["upload", "--non-interactive", "--disable-progress-bar"];
    all.extend(args);
    let files: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    all.extend(files.iter().map(String::as_str));
    run(&peers.twine, &all, dir, &[("HOME", dir.to_str().unwrap())]).await
}

/// Upload, re-run, changed file (error, or skipped with `--skip-existing`), strict, refused
/// credentials, `.pypirc -r NAME`: trustpub and twine against the same private pypiserver.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pypiserver_reruns_conflicts_and_pypirc_agree_with_twine() {
    let Some(peers) = peers() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let server = private_pypiserver(&peers, d).await;
    let url = server.url.clone();
    let first = wheel(&d.join("dist"), "peer-sample", "1.0", "first");
    let changed = wheel(&d.join("changed"), "peer-sample", "1.0", "rebuilt");
    let creds = ["--user", "alice", "--password", "secret-pw"];
    let up = |extra: Vec<&'static str>, path: &'static str| {
        let mut args = vec!["pypi", "upload", "--repository-url", url.as_str()];
        args.extend(creds);
        args.extend(extra);
        args.push(path);
        args.into_iter().map(str::to_owned).collect::<Vec<String>>()
    };
    let go = |args: Vec<String>| async move {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_trustpub(&args, d).await
    };

    let (code, text) = go(up(vec![], "dist/")).await;
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("Uploaded peer_sample-1.0-py3-none-any.whl"),
        "{text}"
    );
    assert!(!text.contains("secret-pw"), "the password is never shown");

    // A re-run: pypiserver answers 409; the authenticated simple page shows the same bytes.
    let (code, text) = go(up(vec![], "dist/")).await;
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("Present peer_sample-1.0-py3-none-any.whl"),
        "{text}"
    );
    assert!(!text.contains("HTML page"), "{text}");

    // Other bytes under the same name: an error naming both hashes; twine fails too.
    let (local, remote) = (sha256_of(&changed), sha256_of(&first));
    let (code, text) = go(up(vec![], "changed/")).await;
    assert_eq!(code, Some(5), "{text}");
    assert!(text.contains(&local) && text.contains(&remote), "{text}");
    let (twine_ok, twine_text) = twine(
        &peers,
        d,
        &["--repository-url", &url, "-u", "alice", "-p", "secret-pw"],
        &[changed.as_path()],
    )
    .await;
    assert!(!twine_ok, "twine fails on the conflict too:\n{twine_text}");

    // --skip-existing (bare, before a path): skipped with a warning naming both hashes, exit 0
    // — as twine's `--skip-existing` does.
    for spelling in [vec!["--skip-existing"], vec!["--skip-existing", "true"]] {
        let (code, text) = go(up(spelling.clone(), "changed/")).await;
        assert_eq!(code, Some(0), "{spelling:?}: {text}");
        assert!(text.contains("Skipped a different file"), "{text}");
        assert!(text.contains(&local) && text.contains(&remote), "{text}");
        assert!(
            text.contains("0 uploaded, 0 already present, 1 skipped, 0 failed"),
            "{text}"
        );
    }
    let (twine_ok, twine_text) = twine(
        &peers,
        d,
        &[
            "--repository-url",
            &url,
            "-u",
            "alice",
            "-p",
            "secret-pw",
            "--skip-existing",
        ],
        &[changed.as_path()],
    )
    .await;
    // twine 7 parses the same line (bare --skip-existing before the files) but refuses
    // --skip-existing for any index but PyPI and TestPyPI (`Settings.check_repository_url`
    // compares the URL); trustpub reads the index's simple page instead, so it works here.
    assert!(!twine_ok, "{twine_text}");
    assert!(
        twine_text.contains("does not have support for the following"),
        "{twine_text}"
    );
    assert!(
        !twine_text.contains("unrecognized arguments"),
        "{twine_text}"
    );
    // The same file is skipped, then --skip-existing=strict keeps the old error.
    let (code, text) = go(up(vec!["--skip-existing"], "dist/")).await;
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("Skipped peer_sample-1.0-py3-none-any.whl (exists with the same hash)"),
        "{text}"
    );
    let (code, text) = go(up(vec!["--skip-existing=strict"], "changed/")).await;
    assert_eq!(code, Some(5), "{text}");
    assert!(text.contains(&local) && text.contains(&remote), "{text}");
    assert_eq!(
        std::fs::read_dir(d.join("packages")).unwrap().count(),
        1,
        "the index kept its one file"
    );

    // Refused credentials stop the run after the first file; twine fails as well.
    wheel(&d.join("two"), "peer-a", "1.0", "a");
    wheel(&d.join("two"), "peer-b", "1.0", "b");
    let (code, text) = run_trustpub(
        &[
            "pypi",
            "upload",
            "--repository-url",
            &url,
            "--user",
            "alice",
            "--password",
            "wrong-pw",
            "--concurrency",
            "4",
            "two/",
        ],
        d,
    )
    .await;
    assert_eq!(code, Some(5), "{text}");
    assert!(text.contains("check --user and --password"), "{text}");
    assert!(text.contains("1 other file(s) were not tried"), "{text}");
    let refused = d.join("two/peer_a-1.0-py3-none-any.whl");
    let (twine_ok, _) = twine(
        &peers,
        d,
        &["--repository-url", &url, "-u", "alice", "-p", "wrong-pw"],
        &[refused.as_path()],
    )
    .await;
    assert!(!twine_ok);

    // .pypirc with -r NAME: URL and credentials from the file, as twine reads them.
    let rc = d.join("pypirc");
    std::fs::write(
        &rc,
        format!("[distutils]\nindex-servers =\n    private\n\n[private]\nrepository = {url}\nusername = alice\npassword = secret-pw\n"),
    )
    .unwrap();
    let rc_path = rc.to_str().unwrap().to_owned();
    let v2 = wheel(&d.join("v2"), "peer-sample", "2.0", "v2");
    let (code, text) = run_trustpub(
        &[
            "pypi",
            "upload",
            "-r",
            "private",
            "--config-file",
            &rc_path,
            "v2/",
        ],
        d,
    )
    .await;
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("Uploaded peer_sample-2.0-py3-none-any.whl"),
        "{text}"
    );
    assert!(!text.contains("secret-pw"), "{text}");
    let (twine_ok, twine_text) = twine(
        &peers,
        d,
        &["-r", "private", "--config-file", &rc_path],
        &[v2.as_path()],
    )
    .await;
    assert!(
        !twine_ok && twine_text.contains("HTTPError: 4"),
        "twine, same file, same .pypirc: the index has it now:\n{twine_text}"
    );
    let v3 = wheel(&d.join("v3"), "peer-sample", "3.0", "v3");
    let (twine_ok, twine_text) = twine(
        &peers,
        d,
        &["-r", "private", "--config-file", &rc_path],
        &[v3.as_path()],
    )
    .await;
    assert!(twine_ok, "{twine_text}");
    // Flags win over the file: a wrong --password beats the file's right one.
    let (code, text) = run_trustpub(
        &[
            "pypi",
            "upload",
            "-r",
            "private",
            "--config-file",
            &rc_path,
            "--password",
            "wrong-pw",
            "v3/",
        ],
        d,
    )
    .await;
    assert_eq!(code, Some(5), "{text}");
    // An unknown section names the file and the sections it has.
    let (code, text) = run_trustpub(
        &[
            "pypi",
            "upload",
            "-r",
            "nope",
            "--config-file",
            &rc_path,
            "v3/",
        ],
        d,
    )
    .await;
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("missing 'nope' section from"), "{text}");
}

/// devpi-server (its own venv, `.ci/devpi-venv`: devpi needs an older setuptools).
fn devpi_bin() -> PathBuf {
    std::env::var_os("TRUSTPUB_DEVPI_BIN")
        .map_or_else(|| workspace().join(".ci/devpi-venv/bin"), PathBuf::from)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devpi_reruns_conflicts_skip_existing_and_pypirc() {
    let bin = devpi_bin();
    let Some(init) = require(bin.join("devpi-init"), "devpi-server") else {
        return;
    };
    let Some(devpi_server) = require(bin.join("devpi-server"), "devpi-server") else {
        return;
    };
    let Some(devpi) = require(bin.join("devpi"), "devpi-client") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let serverdir = d.join("server");
    run_ok(
        &init,
        &["--serverdir", serverdir.to_str().unwrap(), "--no-root-pypi"],
        d,
        &[],
    )
    .await;
    let port = free_port().to_string();
    let server = Server::start(
        &devpi_server,
        &[
            "--serverdir",
            serverdir.to_str().unwrap(),
            "--host",
            "127.0.0.1",
            "--port",
            &port,
        ],
        &[],
        format!("http://127.0.0.1:{port}/"),
        "/+api",
        d.join("devpi.log"),
    )
    .await;
    let clientdir = d.join("client");
    let client_env = [("DEVPI_CLIENTDIR", clientdir.to_str().unwrap())];
    for args in [
        vec!["use", server.url.as_str()],
        vec!["user", "-c", "alice", "password=secret-pw"],
        vec!["login", "alice", "--password", "secret-pw"],
        vec!["index", "-c", "stable", "bases=", "volatile=False"],
    ] {
        run_ok(&devpi, &args, d, &client_env).await;
    }
    let url = format!("{}alice/stable/", server.url);
    let first = wheel(&d.join("dist"), "devpi-sample", "1.0", "first");
    let changed = wheel(&d.join("changed"), "devpi-sample", "1.0", "rebuilt");
    let up = |extra: &[&str], path: &str| {
        let mut args: Vec<String> = [
            "pypi",
            "upload",
            "--repository-url",
            url.as_str(),
            "-u",
            "alice",
            "-p",
            "secret-pw",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args.push(path.to_owned());
        args
    };
    let go = |args: Vec<String>| async move {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_trustpub(&args, d).await
    };
    let (code, text) = go(up(&[], "dist/")).await;
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("Uploaded devpi_sample-1.0-py3-none-any.whl"),
        "{text}"
    );
    // devpi takes an identical re-upload (200), so a re-run simply succeeds.
    let (code, text) = go(up(&[], "dist/")).await;
    assert_eq!(code, Some(0), "{text}");
    // Other bytes: devpi answers 409 (non-volatile index); the +simple page has the hash.
    let (local, remote) = (sha256_of(&changed), sha256_of(&first));
    let (code, text) = go(up(&[], "changed/")).await;
    assert_eq!(code, Some(5), "{text}");
    assert!(text.contains(&local) && text.contains(&remote), "{text}");
    let (code, text) = go(up(&["--skip-existing"], "changed/")).await;
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("Skipped a different file")
            && text.contains(&local)
            && text.contains(&remote),
        "{text}"
    );
    // Found before uploading: the same file is skipped without an upload.
    let (code, text) = go(up(&["--skip-existing"], "dist/")).await;
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("Skipped devpi_sample-1.0-py3-none-any.whl (exists with the same hash)"),
        "{text}"
    );
    assert!(!text.contains("Uploading devpi_sample"), "{text}");
    // .pypirc with -r NAME.
    let rc = d.join("pypirc");
    std::fs::write(&rc, format!("[distutils]\nindex-servers = devpi\n[devpi]\nrepository: {url}\nusername: alice\npassword: secret-pw\n")).unwrap();
    wheel(&d.join("v2"), "devpi-sample", "2.0", "v2");
    let (code, text) = run_trustpub(
        &[
            "pypi",
            "upload",
            "-r",
            "devpi",
            "--config-file",
            rc.to_str().unwrap(),
            "v2/",
        ],
        d,
    )
    .await;
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("Uploaded devpi_sample-2.0-py3-none-any.whl"),
        "{text}"
    );
    assert!(!text.contains("secret-pw"), "{text}");
}

// ---------------------------------------------------------------------------------------
// Trusted publishing: attestations from another workflow, reusable workflows.

fn add_publisher(testbed: &Testbed, project: &str, workflow: &str) {
    let identity = testbed.identity();
    let (owner, repo) = identity.repository.split_once('/').unwrap();
    testbed.add_pypi_publisher(
        project,
        PypiPublisher::new(owner, repo, identity.repository_owner_id, workflow),
    );
}

async fn trusted_upload(
    testbed: &Testbed,
    dir: &Path,
    attestations: &str,
) -> (Option<i32>, String) {
    let url = testbed.pypi_upload_url().to_string();
    let mut args: Vec<String> = [
        "pypi",
        "upload",
        "--repository-url",
        url.as_str(),
        "--attestations",
        attestations,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.extend(testbed_sigstore_args(testbed));
    args.push("dist".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = trustpub(&args, &testbed.github_env(), dir).await;
    (
        output.status.code(),
        format!("{}\n{}", stdout(&output), stderr(&output)),
    )
}

#[tokio::test]
async fn attestations_made_by_another_workflow_are_re_signed() {
    let testbed = testbed().await;
    let identity = testbed.identity();
    add_publisher(&testbed, "resign-sample", &identity.workflow_file);
    let dir = tempfile::tempdir().unwrap();
    write_wheel(&dir.path().join("dist"), "resign-sample", "1.0");
    let attestation = dir
        .path()
        .join("dist/resign_sample-1.0-py3-none-any.whl.publish.attestation");
    let (code, text) = trusted_upload(&testbed, dir.path(), "true").await;
    assert_eq!(code, Some(0), "{text}");
    let before = std::fs::read_to_string(&attestation).unwrap();

    // The same dist is published next by another workflow of the repository: its existing
    // attestation names release.yml, PyPI would check it against other.yml.
    testbed.set_identity(GithubIdentity {
        workflow_file: "other.yml".into(),
        ..identity.clone()
    });
    add_publisher(&testbed, "resign-sample", "other.yml");
    let (code, text) = trusted_upload(&testbed, dir.path(), "true").await;
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("Attestation re-signed"), "{text}");
    assert!(
        text.contains(&identity.workflow_file) && text.contains("other.yml"),
        "{text}"
    );
    let after = std::fs::read_to_string(&attestation).unwrap();
    assert_ne!(before, after, "a new attestation replaced the foreign one");

    // Now it matches this workflow: kept as it is.
    let (code, text) = trusted_upload(&testbed, dir.path(), "true").await;
    assert_eq!(code, Some(0), "{text}");
    assert!(!text.contains("re-signed"), "{text}");
    assert_eq!(std::fs::read_to_string(&attestation).unwrap(), after);
}

#[tokio::test]
async fn a_reusable_workflow_is_warned_about_with_what_each_registry_matches() {
    let testbed = testbed().await;
    let identity = testbed.identity();
    testbed.set_identity(GithubIdentity {
        reusable_workflow: Some(ReusableWorkflow {
            repository: identity.repository.clone(),
            workflow_file: "publish-reusable.yml".into(),
            git_ref: identity.git_ref.clone(),
            sha: identity.sha.clone(),
        }),
        ..identity.clone()
    });
    // PyPI matches the called workflow.
    add_publisher(&testbed, "reusable-sample", "publish-reusable.yml");
    let dir = tempfile::tempdir().unwrap();
    write_wheel(&dir.path().join("dist"), "reusable-sample", "1.0");
    let (code, text) = trusted_upload(&testbed, dir.path(), "false").await;
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("Potential workflow misconfiguration"),
        "{text}"
    );
    assert!(
        text.contains(&format!("PyPI matches the trusted publisher on the called workflow: `publish-reusable.yml` in `{}`; npm matches the caller: `{}`", identity.repository, identity.workflow_file)),
        "{text}"
    );
}
