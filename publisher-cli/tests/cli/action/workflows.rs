//! `.github/workflows/`: CI runs the gates of `.ci/run`, and the release workflow keeps the
//! invariants trustpub asks of its users (docs/action.md, shared/reference/workflow-audit.md).

use yaml_rust2::Yaml;

use super::support::*;

const WORKFLOWS: [&str; 2] = [".github/workflows/ci.yml", ".github/workflows/release.yml"];

fn text(relative: &str) -> String {
    std::fs::read_to_string(workspace().join(relative)).unwrap()
}

fn steps(job: &Yaml) -> &[Yaml] {
    job["steps"].as_vec().map(Vec::as_slice).unwrap_or_default()
}

fn uses(step: &Yaml) -> Option<&str> {
    step["uses"].as_str()
}

/// The `${{ … }}` expressions of a file.
fn expressions(text: &str) -> Vec<&str> {
    text.match_indices("${{")
        .map(|(start, _)| {
            let rest = &text[start..];
            &rest[..rest.find("}}").map_or(rest.len(), |end| end + 2)]
        })
        .collect()
}

/// Every `uses:` line names a full 40-hex commit and says which version it is.
fn assert_pinned(relative: &str) {
    let text = text(relative);
    let mut pinned = 0;
    for line in text.lines().filter(|line| {
        let line = line.trim_start().trim_start_matches("- ");
        line.starts_with("uses:")
    }) {
        let reference = line
            .split_once("uses:")
            .map(|(_, rest)| rest.trim())
            .unwrap();
        let (action, rest) = reference
            .split_once('@')
            .unwrap_or_else(|| panic!("{relative}: `{line}` names no ref"));
        assert!(!action.is_empty(), "{relative}: {line}");
        let (sha, comment) = rest.split_at(rest.len().min(40));
        assert!(
            sha.len() == 40 && sha.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
            "{relative}: `{line}` is not pinned to a full commit SHA"
        );
        let comment = comment.trim_start();
        assert!(
            comment.starts_with("# v") && comment[3..].starts_with(|c: char| c.is_ascii_digit()),
            "{relative}: `{line}` has no `# vX.Y.Z` version comment"
        );
        pinned += 1;
    }
    assert!(pinned > 0, "{relative} uses actions");
}

#[test]
fn workflows_grant_nothing_by_default_and_pin_every_action() {
    let mut id_token_jobs = Vec::new();
    for relative in WORKFLOWS {
        let workflow = read_yaml(relative);
        let raw = text(relative);
        assert_pinned(relative);

        let top = &workflow["permissions"];
        assert!(
            top.as_hash().is_some_and(|hash| hash.is_empty()),
            "{relative}: top-level `permissions: {{}}`, got {top:?}"
        );
        let triggers = keys(&workflow["on"]);
        for dangerous in ["pull_request_target", "workflow_run", "issue_comment"] {
            assert!(
                !triggers.iter().any(|t| t == dangerous),
                "{relative}: {dangerous}"
            );
        }
        for expression in expressions(&raw) {
            assert!(
                !expression.contains("secrets"),
                "{relative} uses no stored secret: {expression}"
            );
        }
        assert!(!raw.contains("secrets: inherit"), "{relative}");
        assert!(
            !raw.contains("actions/cache"),
            "{relative}: no caches (cache poisoning)"
        );

        for (name, job) in entries(&workflow["jobs"]) {
            let permissions = &job["permissions"];
            assert!(
                permissions.as_hash().is_some(),
                "{relative}: job {name} declares its permissions"
            );
            assert!(
                permissions["contents"].as_str().is_some(),
                "{relative}: job {name} says what it does with contents"
            );
            for (scope, level) in entries(permissions) {
                if scope == "id-token" {
                    assert_eq!(level.as_str(), Some("write"));
                    id_token_jobs.push(format!("{relative}:{name}"));
                }
            }
            for step in steps(job) {
                if let Some(run) = step["run"].as_str() {
                    assert!(
                        !run.contains("${{"),
                        "{relative}: job {name} interpolates an expression into `run:` (use env): {run}"
                    );
                }
                if uses(step).is_some_and(|u| u.starts_with("actions/checkout@")) {
                    assert_eq!(
                        step["with"]["persist-credentials"].as_bool(),
                        Some(false),
                        "{relative}: job {name} checks out with persist-credentials: false"
                    );
                }
            }
        }
    }
    assert_eq!(
        id_token_jobs,
        [
            ".github/workflows/release.yml:publish",
            ".github/workflows/release.yml:publish-pypi",
            ".github/workflows/release.yml:publish-npm",
            ".github/workflows/release.yml:publish-crates"
        ],
        "`id-token: write` only where signing or publishing happens"
    );
}

/// The job-level guard: a push of a `v` tag, in a plain `if:` (not `if: |`, which is always
/// true).
fn assert_tag_guard(name: &str, job: &Yaml) {
    let guard = job["if"]
        .as_str()
        .unwrap_or_else(|| panic!("release job {name} has a job-level `if:` guard"));
    assert!(
        !guard.contains('\n'),
        "{name}: a block-scalar `if:` is always true"
    );
    assert!(!guard.contains("${{"), "{name}: {guard}");
    assert!(
        guard.contains("github.event_name == 'push'")
            && guard.contains("startsWith(github.ref, 'refs/tags/v')")
            && guard.contains("&&")
            && !guard.contains("||"),
        "{name}: `{guard}` does not imply a pushed v* tag"
    );
}

#[test]
fn release_builds_hashes_then_signs_in_a_separate_gated_job() {
    let workflow = read_yaml(".github/workflows/release.yml");
    assert_eq!(keys(&workflow["on"]), ["push"], "tag pushes only");
    assert_eq!(keys(&workflow["on"]["push"]), ["tags"]);
    let tags = workflow["on"]["push"]["tags"].as_vec().unwrap();
    assert_eq!(tags, &[Yaml::String("v*".into())]);

    let jobs = &workflow["jobs"];
    assert_eq!(
        keys(jobs),
        [
            "build",
            "checksums",
            "publish",
            "publish-pypi",
            "publish-npm",
            "publish-crates"
        ]
    );
    for (name, job) in entries(jobs) {
        assert_tag_guard(&name, job);
    }

    // The build matrix covers every target the action can install, and the same list
    // update-checksums.sh pins.
    let mut targets: Vec<&str> = jobs["build"]["strategy"]["matrix"]["include"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|entry| entry["target"].as_str().unwrap())
        .collect();
    targets.sort_unstable();
    let mut expected = RELEASE_TARGETS.to_vec();
    expected.sort_unstable();
    assert_eq!(targets, expected);
    let script = std::fs::read_to_string(workspace().join("action/update-checksums.sh")).unwrap();
    let listed = script
        .lines()
        .find_map(|line| line.strip_prefix("targets=\""))
        .and_then(|rest| rest.strip_suffix('"'))
        .expect("update-checksums.sh lists its targets");
    assert_eq!(listed.split(' ').collect::<Vec<_>>(), RELEASE_TARGETS);

    // Build and checksums: read-only, no signing identity.
    for name in ["build", "checksums"] {
        let permissions = keys(&jobs[name]["permissions"]);
        assert_eq!(permissions, ["contents"], "{name}");
        assert_eq!(jobs[name]["permissions"]["contents"].as_str(), Some("read"));
        assert!(jobs[name]["environment"].is_badvalue(), "{name}");
    }
    assert!(
        steps(&jobs["checksums"])
            .iter()
            .filter_map(|step| step["run"].as_str())
            .any(|run| run.contains("bash action/update-checksums.sh")),
        "the release workflow writes the action's checksums with update-checksums.sh"
    );

    // Publish: gated by the environment, the only job that can sign, and it neither checks
    // out nor builds anything; it verifies what it signs.
    let publish = &jobs["publish"];
    assert_eq!(publish["environment"].as_str(), Some("release"));
    let needs: Vec<&str> = publish["needs"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(needs, ["build", "checksums"]);
    let mut permissions = entries(&publish["permissions"])
        .into_iter()
        .map(|(scope, level)| format!("{scope}: {}", level.as_str().unwrap()))
        .collect::<Vec<_>>();
    permissions.sort();
    assert_eq!(
        permissions,
        ["attestations: write", "contents: write", "id-token: write"]
    );
    let publish_steps = steps(publish);
    assert!(
        !publish_steps
            .iter()
            .any(|step| uses(step).is_some_and(|u| u.starts_with("actions/checkout@"))),
        "the signing job checks out no code"
    );
    for run in publish_steps.iter().filter_map(|step| step["run"].as_str()) {
        assert!(
            !run.contains("cargo ") && !run.contains("npm ") && !run.contains("pip "),
            "the signing job builds nothing: {run}"
        );
    }
    let signing = publish_steps
        .iter()
        .position(|step| {
            uses(step).is_some_and(|u| u.starts_with("actions/attest-build-provenance@"))
        })
        .expect("the archives are signed with Sigstore");
    let verification = publish_steps
        .iter()
        .position(|step| {
            step["run"]
                .as_str()
                .is_some_and(|run| run.contains("sha256sum --check"))
        })
        .expect("the archives are checked against SHA256SUMS");
    assert!(verification < signing, "verify, then sign");
    assert_eq!(
        publish_steps[signing]["with"]["subject-checksums"].as_str(),
        Some("dist/SHA256SUMS")
    );

    // One job per registry after the GitHub release: its own environment, `id-token: write`
    // for itself, no cache, only files SHA256SUMS lists (checked) go out, with trustpub.
    for (name, environment, command) in [
        ("publish-pypi", "pypi", "pypi upload --attestations true"),
        (
            "publish-npm",
            "npm",
            "npm publish --access public --provenance",
        ),
        (
            "publish-crates",
            "crates-io",
            "exec crates-io -- cargo publish",
        ),
    ] {
        let job = &jobs[name];
        assert_eq!(job["environment"].as_str(), Some(environment), "{name}");
        assert_eq!(job["needs"].as_str(), Some("publish"), "{name}");
        assert_eq!(
            job["permissions"]["id-token"].as_str(),
            Some("write"),
            "{name}"
        );
        let steps = steps(job);
        assert!(
            !steps.iter().any(|step| uses(step).is_some_and(|u| {
                u.starts_with("actions/cache@") || u.starts_with("actions/setup-")
            })),
            "{name}: no cache"
        );
        let runs: Vec<&str> = steps
            .iter()
            .filter_map(|step| step["run"].as_str())
            .collect();
        let check = runs
            .iter()
            .position(|run| run.contains("sha256sum --check --strict"))
            .unwrap_or_else(|| panic!("{name} checks its files against SHA256SUMS"));
        let upload = runs
            .iter()
            .position(|run| run.contains(command))
            .unwrap_or_else(|| panic!("{name} runs `trustpub {command}`"));
        assert!(check < upload, "{name}: verify, then upload");
    }
}

#[test]
fn ci_runs_the_gates_of_ci_run() {
    let workflow = read_yaml(".github/workflows/ci.yml");
    let mut triggers = keys(&workflow["on"]);
    triggers.sort();
    assert_eq!(triggers, ["pull_request", "push"]);
    assert!(
        workflow["concurrency"]["group"].as_str().is_some(),
        "a concurrency group"
    );
    let runs: Vec<String> = entries(&workflow["jobs"])
        .into_iter()
        .flat_map(|(_, job)| {
            steps(job)
                .iter()
                .filter_map(|step| step["run"].as_str().map(str::to_owned))
                .collect::<Vec<_>>()
        })
        .collect();
    for gate in [
        "cargo fmt --all --check",
        "cargo clippy --workspace --all-targets --all-features --locked -- -D warnings",
        "bash .ci/run",
        "cargo doc --workspace --no-deps",
        "cargo test --locked -p trustpub --test cli action::",
    ] {
        assert!(
            runs.iter().any(|run| run.contains(gate)),
            "CI runs `{gate}`"
        );
    }
    assert_eq!(
        workflow["jobs"]["doc"]["steps"][2]["env"]["RUSTDOCFLAGS"].as_str(),
        Some("-D warnings")
    );
    let oses: Vec<&str> = workflow["jobs"]["action"]["strategy"]["matrix"]["os"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|os| os.as_str().unwrap())
        .collect();
    for family in ["ubuntu", "macos", "windows"] {
        assert!(
            oses.iter().any(|os| os.starts_with(family)),
            "the action is tested on {family}"
        );
    }
}
