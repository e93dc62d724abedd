//! `action/install.sh` installs only what `action/checksums.txt` pins, and
//! `action/update-checksums.sh` writes that file for every target of a release or not at all.

use std::collections::BTreeMap;
use std::path::Path;

use super::support::*;

/// A release `version` of every target (the host's holding the real binary, the others
/// stand-in bytes), its checksums file written by update-checksums.sh, and a server for it.
struct Release {
    version: String,
    dir: tempfile::TempDir,
    checksums: std::path::PathBuf,
    archives: BTreeMap<String, Vec<u8>>,
}

async fn release(bash: &Path, version: &str) -> Release {
    let dir = tempfile::tempdir().unwrap();
    let archives_dir = dir.path().join("archives");
    std::fs::create_dir_all(&archives_dir).unwrap();
    let binary = std::fs::read(env!("CARGO_BIN_EXE_trustpub")).unwrap();
    let mut archives = BTreeMap::new();
    for target in RELEASE_TARGETS {
        let bytes = if target == host_target() {
            release_archive(version, target, &binary)
        } else {
            format!("stand-in archive for {target}").into_bytes()
        };
        std::fs::write(archives_dir.join(asset_name(version, target)), &bytes).unwrap();
        archives.insert(asset_name(version, target), bytes);
    }
    let checksums = dir.path().join("checksums.txt");
    let output =
        run_update_checksums(bash, &checksums, &[version, archives_dir.to_str().unwrap()]).await;
    assert!(output.status.success(), "{}", both(&output));
    Release {
        version: version.to_owned(),
        dir,
        checksums,
        archives,
    }
}

async fn run_update_checksums(
    bash: &Path,
    checksums: &Path,
    args: &[&str],
) -> std::process::Output {
    let mut command = tokio::process::Command::new(bash);
    command
        .arg(workspace().join("action/update-checksums.sh"))
        .args(args)
        .env("TRUSTPUB_CHECKSUMS_FILE", checksums);
    command.output().await.unwrap()
}

/// Runs install.sh for `release` from `server` with `checksums`; returns the output and the
/// `path` output, if any.
async fn install(
    bash: &Path,
    release: &Release,
    server: &ReleaseServer,
    checksums: &Path,
    extra: &[(&str, &str)],
) -> (std::process::Output, Option<String>) {
    let runner = tempfile::tempdir_in(release.dir.path()).unwrap();
    let github_output = runner.path().join("github_output");
    std::fs::write(&github_output, "").unwrap();
    let mut env: BTreeMap<String, String> = [
        ("TRUSTPUB_VERSION", release.version.as_str()),
        ("TRUSTPUB_RELEASE_BASE_URL", server.base_url.as_str()),
        ("TRUSTPUB_CHECKSUMS_FILE", checksums.to_str().unwrap()),
        ("TRUSTPUB_INSTALL_TESTING", "1"),
        ("RUNNER_TEMP", runner.path().to_str().unwrap()),
        ("GITHUB_OUTPUT", github_output.to_str().unwrap()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    env.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let output = run_script(
        bash,
        &workspace().join("action/install.sh"),
        &env,
        runner.path(),
    )
    .await;
    let path = output_value(&github_output, "path");
    // Keep the runner directory: the installed binary lives in it.
    let _ = runner.keep();
    (output, path)
}

fn serve(release: &Release) -> BTreeMap<String, Vec<u8>> {
    release
        .archives
        .iter()
        .map(|(name, bytes)| {
            (
                format!("/releases/download/v{}/{name}", release.version),
                bytes.clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn update_checksums_pins_every_target_and_install_sh_installs_only_a_pinned_download() {
    let Some(bash) = bash_and_curl() else { return };
    let version = env!("CARGO_PKG_VERSION");
    let release = release(&bash, version).await;
    let host_asset = asset_name(version, host_target());

    // update-checksums.sh: a header naming the version, then `<sha256>  <asset>` per target.
    let text = std::fs::read_to_string(&release.checksums).unwrap();
    assert!(
        text.contains(&format!("\n# version: {version}\n")),
        "{text}"
    );
    let pinned: Vec<String> = text
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(str::to_owned)
        .collect();
    let expected: Vec<String> = RELEASE_TARGETS
        .iter()
        .map(|target| {
            let name = asset_name(version, target);
            format!("{}  {name}", sha256_hex(&release.archives[&name]))
        })
        .collect();
    assert_eq!(pinned, expected);

    // A good download installs, and the action's outputs point at a working binary.
    let server = ReleaseServer::start(serve(&release)).await;
    let (output, path) = install(&bash, &release, &server, &release.checksums, &[]).await;
    assert!(output.status.success(), "{}", both(&output));
    assert_eq!(
        server.requests(),
        [format!("/releases/download/v{version}/{host_asset}")]
    );
    let path = path.expect("path output");
    let version_output = std::process::Command::new(&path)
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&version_output.stdout).trim(),
        format!("trustpub {version}")
    );
    assert!(
        stdout(&output).contains(&format!(
            "sha256 {} matches the pin",
            sha256_hex(&release.archives[&host_asset])
        )),
        "{}",
        both(&output)
    );

    // A download that is not the pinned one is refused, and nothing is installed.
    let tampered = release.dir.path().join("tampered.txt");
    let wrong = "0".repeat(64);
    std::fs::write(
        &tampered,
        text.replace(&sha256_hex(&release.archives[&host_asset]), &wrong),
    )
    .unwrap();
    let (output, path) = install(&bash, &release, &server, &tampered, &[]).await;
    assert_eq!(output.status.code(), Some(1), "{}", both(&output));
    assert!(path.is_none(), "no path output");
    assert!(
        stdout(&output).contains(&format!(
            "::error title=trustpub install::checksum mismatch for {host_asset}: "
        )),
        "{}",
        both(&output)
    );
    assert!(
        stdout(&output).contains(&format!("pins sha256 {wrong}")),
        "{}",
        both(&output)
    );

    // No entry for this runner's asset: refused before any download.
    let requests = server.requests().len();
    let partial = release.dir.path().join("partial.txt");
    std::fs::write(
        &partial,
        text.lines()
            .filter(|line| !line.ends_with(&host_asset))
            .map(|line| format!("{line}\n"))
            .collect::<String>(),
    )
    .unwrap();
    let (output, path) = install(&bash, &release, &server, &partial, &[]).await;
    assert_eq!(output.status.code(), Some(1), "{}", both(&output));
    assert!(path.is_none());
    assert!(
        stdout(&output).contains(&format!(
            "::error title=trustpub install::no pinned checksum for {host_asset} in trustpub {version} "
        )),
        "{}",
        both(&output)
    );
    assert_eq!(server.requests().len(), requests, "nothing downloaded");

    // A pinned asset the server does not have: the download error, named.
    let empty = ReleaseServer::start(BTreeMap::new()).await;
    let (output, path) = install(&bash, &release, &empty, &release.checksums, &[]).await;
    assert_eq!(output.status.code(), Some(1), "{}", both(&output));
    assert!(path.is_none());
    assert!(
        stdout(&output).contains(&format!(
            "::error title=trustpub install::downloading {}/v{version}/{host_asset} failed",
            empty.base_url
        )),
        "{}",
        both(&output)
    );

    // update-checksums.sh pins all of a release or nothing, and wants a version.
    let out_file = release.dir.path().join("incomplete.txt");
    let output = run_update_checksums(&bash, &out_file, &[]).await;
    assert_eq!(output.status.code(), Some(1), "{}", both(&output));
    assert!(stderr(&output).contains("usage: "), "{}", both(&output));
    let archives_dir = release.dir.path().join("archives");
    std::fs::remove_file(archives_dir.join(asset_name(version, "aarch64-apple-darwin"))).unwrap();
    let output =
        run_update_checksums(&bash, &out_file, &[version, archives_dir.to_str().unwrap()]).await;
    assert_eq!(output.status.code(), Some(1), "{}", both(&output));
    assert!(
        stderr(&output).contains("aarch64-apple-darwin.tar.gz is missing"),
        "{}",
        both(&output)
    );
    assert!(!out_file.exists(), "nothing written");
}

#[tokio::test]
async fn install_sh_picks_the_target_for_each_runner() {
    let Some(bash) = bash() else { return };
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("checksums.txt");
    std::fs::write(&empty, "# version: 1.2.3\n").unwrap();
    let linux_x64 = if Path::new("/lib/ld-musl-x86_64.so.1").exists() {
        "x86_64-unknown-linux-musl"
    } else {
        "x86_64-unknown-linux-gnu"
    };
    for (os, arch, expected) in [
        ("Linux", "X64", Some(linux_x64)),
        ("Linux", "ARM64", Some("aarch64-unknown-linux-gnu")),
        ("macOS", "ARM64", Some("aarch64-apple-darwin")),
        ("macOS", "X64", Some("x86_64-apple-darwin")),
        ("Windows", "X64", Some("x86_64-pc-windows-msvc")),
        ("Windows", "ARM64", Some("x86_64-pc-windows-msvc")),
        ("Linux", "ARM", None),
        ("Linux", "X86", None),
    ] {
        let env = BTreeMap::from(
            [
                ("RUNNER_OS", os),
                ("RUNNER_ARCH", arch),
                ("TRUSTPUB_CHECKSUMS_FILE", empty.to_str().unwrap()),
                ("TRUSTPUB_INSTALL_TESTING", "1"),
                ("RUNNER_TEMP", dir.path().to_str().unwrap()),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
        );
        let output = run_script(
            &bash,
            &workspace().join("action/install.sh"),
            &env,
            dir.path(),
        )
        .await;
        assert_eq!(output.status.code(), Some(1), "{}", both(&output));
        let message = match expected {
            Some(target) => format!(
                "::error title=trustpub install::no pinned checksum for {} in trustpub 1.2.3 ",
                asset_name("1.2.3", target)
            ),
            None => format!(
                "::error title=trustpub install::no prebuilt trustpub for {os}/{arch}: build it from source"
            ),
        };
        assert!(
            stdout(&output).contains(&message),
            "{os}/{arch}: {}",
            both(&output)
        );
    }

    // A version that could escape the release URL is refused.
    let env = BTreeMap::from([
        ("TRUSTPUB_VERSION".to_owned(), "1.0.0/../../evil".to_owned()),
        (
            "TRUSTPUB_CHECKSUMS_FILE".to_owned(),
            empty.to_str().unwrap().to_owned(),
        ),
        ("TRUSTPUB_INSTALL_TESTING".to_owned(), "1".to_owned()),
    ]);
    let output = run_script(
        &bash,
        &workspace().join("action/install.sh"),
        &env,
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout(&output).contains("is not a trustpub version"),
        "{}",
        both(&output)
    );
}

/// Outside the action's own tests nothing moves the pin or weakens the transport: no other
/// checksums file, no base URL that is not https (not even loopback http); in tests only
/// loopback http. Each refusal comes before any download.
#[tokio::test]
async fn install_sh_refuses_another_pin_and_plain_http() {
    let Some(bash) = bash_and_curl() else { return };
    let version = env!("CARGO_PKG_VERSION");
    let release = release(&bash, version).await;
    let server = ReleaseServer::start(serve(&release)).await;
    let cases: [(&[(&str, &str)], &str); 4] = [
        (
            &[("TRUSTPUB_INSTALL_TESTING", "")],
            "TRUSTPUB_CHECKSUMS_FILE is set: only the action's own tests may replace the pinned action/checksums.txt",
        ),
        (
            &[("TRUSTPUB_RELEASE_BASE_URL", "http://example.com/releases")],
            "TRUSTPUB_RELEASE_BASE_URL=http://example.com/releases is not https",
        ),
        (
            &[("TRUSTPUB_RELEASE_BASE_URL", "file:///tmp/releases")],
            "TRUSTPUB_RELEASE_BASE_URL=file:///tmp/releases is not https",
        ),
        (
            &[("TRUSTPUB_INSTALL_TESTING", "0")],
            "TRUSTPUB_CHECKSUMS_FILE is set",
        ),
    ];
    for (extra, message) in cases {
        let (output, path) = install(&bash, &release, &server, &release.checksums, extra).await;
        assert_eq!(
            output.status.code(),
            Some(1),
            "{extra:?}: {}",
            both(&output)
        );
        assert!(path.is_none(), "{extra:?}: nothing installed");
        assert!(
            stdout(&output).contains(&format!("::error title=trustpub install::{message}")),
            "{extra:?}: {}",
            both(&output)
        );
    }
    // Loopback http without the test marker (and without a checksums override): refused too.
    let dir = tempfile::tempdir().unwrap();
    let env = BTreeMap::from(
        [
            ("TRUSTPUB_RELEASE_BASE_URL", server.base_url.as_str()),
            ("RUNNER_TEMP", dir.path().to_str().unwrap()),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    let output = run_script(
        &bash,
        &workspace().join("action/install.sh"),
        &env,
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(1), "{}", both(&output));
    assert!(
        stdout(&output).contains("is not https: releases are downloaded over https only"),
        "{}",
        both(&output)
    );
    assert!(server.requests().is_empty(), "nothing downloaded");

    // The install unpacks into a fresh `mktemp -d` directory, not a fixed, guessable path.
    let (output, path) = install(&bash, &release, &server, &release.checksums, &[]).await;
    assert!(output.status.success(), "{}", both(&output));
    let path = path.unwrap();
    let root = Path::new(&path).parent().unwrap().parent().unwrap();
    let name = root.file_name().unwrap().to_str().unwrap();
    let fixed = format!("trustpub-{version}-{}", host_target());
    assert!(
        name.starts_with(&format!("{fixed}.")) && name.len() == fixed.len() + 7,
        "{name}"
    );
}

/// update-checksums.sh pins a published release only after `gh attestation verify` passed for
/// every archive: no gh login, or one archive without a valid attestation, and nothing is
/// written. (`gh` is a stand-in here: the tests reach no GitHub.)
#[tokio::test]
async fn update_checksums_refuses_a_release_whose_attestation_does_not_verify() {
    let Some(bash) = bash_and_curl() else { return };
    if cfg!(windows) {
        // The stand-in `gh` is a bash script without an .exe: Git Bash would not find it.
        return;
    }
    let version = env!("CARGO_PKG_VERSION");
    let release = release(&bash, version).await;
    let server = ReleaseServer::start(serve(&release)).await;
    let fake_bin = release.dir.path().join("fake-bin");
    std::fs::create_dir_all(&fake_bin).unwrap();
    let gh = fake_bin.join("gh");
    std::fs::write(
        &gh,
        r#"#!/usr/bin/env bash
echo "$*" >>"$GH_LOG"
case "$1 $2" in
  'auth status') [ "$GH_MODE" != logged-out ] ;;
  'attestation verify') case "$3" in *"$GH_REJECT"*) exit 1 ;; esac ;;
  *) exit 2 ;;
esac
"#,
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&gh, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!(
        "{}:{}",
        fake_bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let log = release.dir.path().join("gh.log");
    for (mode, reject, expected) in [
        ("logged-out", "none", Err("gh is not logged in")),
        (
            "ok",
            "aarch64-apple-darwin",
            Err("aarch64-apple-darwin.tar.gz has no valid build attestation"),
        ),
        ("ok", "none", Ok(())),
    ] {
        let out_file = release
            .dir
            .path()
            .join(format!("pinned-{mode}-{reject}.txt"));
        let output = tokio::process::Command::new(&bash)
            .arg(workspace().join("action/update-checksums.sh"))
            .arg(version)
            .env("TRUSTPUB_CHECKSUMS_FILE", &out_file)
            .env("TRUSTPUB_RELEASE_BASE_URL", &server.base_url)
            .env("PATH", &path)
            .env("GH_MODE", mode)
            .env("GH_REJECT", reject)
            .env("GH_LOG", &log)
            .output()
            .await
            .unwrap();
        match expected {
            Err(message) => {
                assert_eq!(output.status.code(), Some(1), "{mode}: {}", both(&output));
                assert!(stderr(&output).contains(message), "{}", both(&output));
                assert!(!out_file.exists(), "{mode}: nothing pinned");
            }
            Ok(()) => {
                assert!(output.status.success(), "{}", both(&output));
                let text = std::fs::read_to_string(&out_file).unwrap();
                assert_eq!(text.lines().filter(|l| !l.starts_with('#')).count(), 6);
                let verified = std::fs::read_to_string(&log).unwrap();
                for target in RELEASE_TARGETS {
                    assert!(
                        verified.contains(&asset_name(version, target)),
                        "{target} verified: {verified}"
                    );
                }
            }
        }
    }
}

/// The pinned file in the repository is honest: either nothing is pinned yet (then the action
/// refuses with a clear error) or every target of its version is.
#[tokio::test]
async fn the_committed_checksums_pin_all_targets_or_none() {
    let Some(bash) = bash() else { return };
    let text = std::fs::read_to_string(workspace().join("action/checksums.txt")).unwrap();
    let version = text
        .lines()
        .find_map(|line| line.strip_prefix("# version: "))
        .expect("a `# version:` header")
        .trim()
        .to_owned();
    let entries: Vec<(&str, &str)> = text
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| line.split_once("  ").expect("`<sha256>  <asset>` lines"))
        .collect();
    if entries.is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let env = BTreeMap::from([(
            "RUNNER_TEMP".to_owned(),
            dir.path().to_str().unwrap().to_owned(),
        )]);
        let output = run_script(
            &bash,
            &workspace().join("action/install.sh"),
            &env,
            dir.path(),
        )
        .await;
        assert_eq!(output.status.code(), Some(1), "{}", both(&output));
        assert!(
            stdout(&output).contains(&format!(
                "no pinned checksum for {} in trustpub {version} ",
                asset_name(&version, host_target())
            )),
            "{}",
            both(&output)
        );
    } else {
        let names: Vec<String> = RELEASE_TARGETS
            .iter()
            .map(|target| asset_name(&version, target))
            .collect();
        let pinned: Vec<String> = entries.iter().map(|(_, name)| (*name).to_owned()).collect();
        assert_eq!(pinned, names, "every target of {version}, in order");
        for (hash, name) in entries {
            assert!(
                hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
                "{name}: `{hash}` is not a SHA-256"
            );
        }
    }
}
