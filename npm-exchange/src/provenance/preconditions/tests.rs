use oidc_core::env::MapEnv;
use serde_json::json;

use super::*;
use crate::package::PackageTarball;
use crate::package::test_support::{package_tgz, write};
use crate::provenance::test_support::{env_of, github_vars, gitlab_vars, without};

/// The manifest of `@demo/pkg@1.2.3` with `"repository": <repository>` (JSON, or nothing).
fn manifest(repository: Option<&str>) -> Manifest {
    let repository = repository.map_or(String::new(), |r| format!(r#","repository":{r}"#));
    let json = format!(r#"{{"name":"@demo/pkg","version":"1.2.3"{repository}}}"#);
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "pkg.tgz", &package_tgz(&json));
    PackageTarball::read(&path).unwrap().manifest().clone()
}

fn claims(value: serde_json::Value) -> Claims {
    Claims::from_map(value.as_object().unwrap().clone()).unwrap()
}

fn github_claims(visibility: &str, runner: &str) -> Claims {
    claims(json!({
        "iss": "https://token.actions.githubusercontent.com",
        "repository": "octo-org/octo-repo",
        "workflow_ref": "octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.2.3",
        "repository_visibility": visibility,
        "runner_environment": runner,
    }))
}

fn gitlab_claims(visibility: &str, runner: &str) -> Claims {
    claims(json!({
        "iss": "https://gitlab.com",
        "project_path": "group/sub/proj",
        "ci_config_ref_uri": "gitlab.com/group/sub/proj//.gitlab-ci.yml@refs/tags/v1.2.3",
        "project_visibility": visibility,
        "runner_environment": runner,
    }))
}

const GOOD_GITHUB_REPOSITORY: &str = r#""git+https://github.com/octo-org/octo-repo.git""#;

fn check(
    manifest: &Manifest,
    env: &MapEnv,
    claims: Option<&Claims>,
    package: PackageVisibility,
) -> Result<CiBuild, String> {
    let context = ProvenanceContext {
        env,
        claims,
        package,
    };
    check_provenance_preconditions(manifest, &context).map_err(|refusal| refusal.to_string())
}

#[test]
fn a_public_repository_on_a_hosted_runner_passes() {
    let claims = github_claims("public", "github-hosted");
    let build = check(
        &manifest(Some(GOOD_GITHUB_REPOSITORY)),
        &env_of(&github_vars()),
        Some(&claims),
        PackageVisibility::AccessPublic,
    )
    .unwrap();
    assert_eq!(build.provider(), CiProvider::GithubActions);
    assert_eq!(
        build.source_repository(),
        "https://github.com/octo-org/octo-repo"
    );

    let claims = gitlab_claims("public", "gitlab-hosted");
    let build = check(
        &manifest(Some(r#""https://gitlab.com/group/sub/proj.git""#)),
        &env_of(&gitlab_vars()),
        Some(&claims),
        PackageVisibility::Registry { public: true },
    )
    .unwrap();
    assert_eq!(build.provider(), CiProvider::GitlabCi);
    assert_eq!(
        build.source_repository(),
        "https://gitlab.com/group/sub/proj"
    );
}

#[test]
fn repository_urls_match_in_every_form_npm_normalises() {
    let env = env_of(&github_vars());
    let outcome = |repository: Option<&str>| {
        check(
            &manifest(repository),
            &env,
            None,
            PackageVisibility::AccessPublic,
        )
        .map(|_| "ok".to_owned())
        .unwrap_or_else(|refusal| refusal.lines().nth(1).unwrap_or_default().to_owned())
    };
    let matching = [
        r#""octo-org/octo-repo""#,
        r#""github:octo-org/octo-repo""#,
        r#""https://github.com/octo-org/octo-repo""#,
        r#""https://github.com/octo-org/octo-repo.git""#,
        r#""git@github.com:octo-org/octo-repo.git""#,
        r#"{"type":"git","url":"git+ssh://git@github.com/octo-org/octo-repo.git","directory":"packages/pkg"}"#,
        r#"{"type":"git","url":"git://github.com/octo-org/octo-repo.git#main"}"#,
    ];
    for repository in matching {
        assert_eq!(outcome(Some(repository)), "ok", "{repository}");
    }
    let refused = [
        Some(r#""https://github.com/Octo-Org/octo-repo""#),
        Some(r#""https://github.com/octo-org/octo-repo-fork.git""#),
        Some(r#""https://gitlab.com/octo-org/octo-repo.git""#),
        Some(r#"{"type":"git"}"#),
        None,
    ];
    let texts: Vec<String> = refused.into_iter().map(outcome).collect();
    insta::assert_snapshot!(texts.join("\n"), @r#"
        - Failed to validate repository information: package.json: "repository.url" is "git+https://github.com/Octo-Org/octo-repo.git", expected to match "https://github.com/octo-org/octo-repo" from provenance
        - Failed to validate repository information: package.json: "repository.url" is "git+https://github.com/octo-org/octo-repo-fork.git", expected to match "https://github.com/octo-org/octo-repo" from provenance
        - Failed to validate repository information: package.json: "repository.url" is "git+https://gitlab.com/octo-org/octo-repo.git", expected to match "https://github.com/octo-org/octo-repo" from provenance
        - Failed to validate repository information: package.json: "repository.url" is "", expected to match "https://github.com/octo-org/octo-repo" from provenance
        - Failed to validate repository information: package.json: "repository.url" is "", expected to match "https://github.com/octo-org/octo-repo" from provenance
        "#);
}

#[test]
fn repositories_outside_known_hosts_compare_without_git_plus_and_dot_git() {
    let vars: Vec<_> = github_vars()
        .into_iter()
        .map(|(k, v)| match k {
            "GITHUB_SERVER_URL" => (k, "https://ghe.example.com".to_owned()),
            _ => (k, v),
        })
        .collect();
    let env = env_of(&vars);
    for (repository, ok) in [
        (
            r#""git+https://ghe.example.com/octo-org/octo-repo.git""#,
            true,
        ),
        (r#""https://ghe.example.com/octo-org/octo-repo/""#, true),
        (r#""https://github.com/octo-org/octo-repo""#, false),
    ] {
        let result = check(
            &manifest(Some(repository)),
            &env,
            None,
            PackageVisibility::AccessPublic,
        );
        assert_eq!(result.is_ok(), ok, "{repository}: {result:?}");
    }
}

#[test]
fn every_github_refusal_at_once() {
    let env = without(&github_vars(), &["ACTIONS_ID_TOKEN_REQUEST_URL"]);
    let claims = github_claims("private", "self-hosted");
    let refusal = check(
        &manifest(Some(r#""https://github.com/someone/else""#)),
        &env,
        Some(&claims),
        PackageVisibility::Registry { public: false },
    )
    .unwrap_err();
    insta::assert_snapshot!(refusal, @r#"
        cannot publish @demo/pkg@1.2.3 with provenance:
          - Provenance generation in GitHub Actions requires "write" access to the "id-token" permission
            (add `permissions: id-token: write` to the publishing job)
          - Can't generate provenance for new or private package, you must set `access` to public.
            (publish with `--access public` or `publishConfig.access: public`, or without provenance)
          - Failed to validate repository information: package.json: "repository.url" is "git+https://github.com/someone/else.git", expected to match "https://github.com/octo-org/octo-repo" from provenance
            (set "repository": {"type": "git", "url": "git+https://github.com/octo-org/octo-repo.git"} in package.json; owner and name are case-sensitive, and a package inside a monorepo also needs "directory")
          - Unsupported GitHub Actions source repository visibility: "private". Only public source repositories are supported when publishing with provenance.
            (make the repository public, or publish without provenance)
          - Unsupported GitHub Actions runner environment: "self-hosted". Only "github-hosted" runners are supported when publishing with provenance.
            (run the publishing job on a GitHub-hosted runner (e.g. `runs-on: ubuntu-latest`), or publish without provenance)
        "#);
}

#[test]
fn every_gitlab_refusal_at_once() {
    let env = without(&gitlab_vars(), &["SIGSTORE_ID_TOKEN"]);
    let claims = gitlab_claims("internal", "self-hosted");
    let refusal = check(
        &manifest(None),
        &env,
        Some(&claims),
        PackageVisibility::NotChecked,
    )
    .unwrap_err();
    insta::assert_snapshot!(refusal, @r#"
        cannot publish @demo/pkg@1.2.3 with provenance:
          - Provenance generation in GitLab CI requires "SIGSTORE_ID_TOKEN" with "sigstore" audience to be present in "id_tokens". For more info see:
            https://docs.gitlab.com/ee/ci/secrets/id_token_authentication.html
            (add `id_tokens: SIGSTORE_ID_TOKEN: aud: sigstore` to the publishing job)
          - Failed to validate repository information: package.json: "repository.url" is "", expected to match "https://gitlab.com/group/sub/proj" from provenance
            (set "repository": {"type": "git", "url": "git+https://gitlab.com/group/sub/proj.git"} in package.json; owner and name are case-sensitive, and a package inside a monorepo also needs "directory")
          - Unsupported GitLab CI source repository visibility: "internal". Only public source repositories are supported when publishing with provenance.
            (make the repository public, or publish without provenance)
          - Unsupported GitLab CI runner environment: "self-hosted". Only "gitlab-hosted" runners are supported when publishing with provenance.
            (run the publishing job on a GitLab.com hosted runner, or publish without provenance)
        "#);
}

#[test]
fn claims_come_before_variables() {
    let manifest = manifest(Some(GOOD_GITHUB_REPOSITORY));
    let env = env_of(&github_vars());
    // The token says self-hosted although RUNNER_ENVIRONMENT says otherwise: the token wins,
    // since Fulcio certifies what the token says.
    let claims = github_claims("public", "self-hosted");
    let refused = check(
        &manifest,
        &env,
        Some(&claims),
        PackageVisibility::AccessPublic,
    );
    assert!(
        refused
            .as_ref()
            .is_err_and(|r| r.contains("\"self-hosted\"")),
        "{refused:?}"
    );
    // Without claims, RUNNER_ENVIRONMENT decides; the visibility is unknown and not checked.
    let self_hosted = env_of(&github_vars()).with("RUNNER_ENVIRONMENT", "self-hosted");
    let refused = check(
        &manifest,
        &self_hosted,
        None,
        PackageVisibility::AccessPublic,
    );
    assert!(
        refused
            .as_ref()
            .is_err_and(|r| r.contains("\"self-hosted\"")),
        "{refused:?}"
    );
    assert!(check(&manifest, &env, None, PackageVisibility::AccessPublic).is_ok());

    // GitLab without claims: CI_PROJECT_VISIBILITY decides; the runner is not checked.
    let gitlab_manifest = manifest_for_gitlab();
    let private = env_of(&gitlab_vars()).with("CI_PROJECT_VISIBILITY", "private");
    let refused = check(
        &gitlab_manifest,
        &private,
        None,
        PackageVisibility::AccessPublic,
    );
    assert!(
        refused.as_ref().is_err_and(|r| r.contains("\"private\"")),
        "{refused:?}"
    );
    let claims = gitlab_claims("public", "gitlab-hosted");
    assert!(
        check(
            &gitlab_manifest,
            &private,
            Some(&claims),
            PackageVisibility::AccessPublic
        )
        .is_ok()
    );
}

fn manifest_for_gitlab() -> Manifest {
    manifest(Some(r#""gitlab:group/sub/proj""#))
}

#[test]
fn an_unsupported_ci_is_the_only_problem() {
    let env = MapEnv::new().with("CIRCLECI", "true").with("CI", "true");
    let refusal = check(&manifest(None), &env, None, PackageVisibility::NotChecked).unwrap_err();
    insta::assert_snapshot!(refusal, @r#"
        cannot publish @demo/pkg@1.2.3 with provenance:
          - Automatic provenance generation not supported for provider: CircleCI
            (provenance can only be generated in GitHub Actions or GitLab CI; publish without provenance, or attach a bundle signed elsewhere with --provenance-file)
        "#);
}

#[test]
fn missing_variables_skip_the_repository_check() {
    let env = without(&github_vars(), &["GITHUB_REPOSITORY", "GITHUB_RUN_ID"]);
    let refusal = check(&manifest(None), &env, None, PackageVisibility::AccessPublic).unwrap_err();
    insta::assert_snapshot!(refusal, @r#"
        cannot publish @demo/pkg@1.2.3 with provenance:
          - GitHub Actions did not set GITHUB_REPOSITORY, GITHUB_RUN_ID, which the provenance statement records; run the publish step directly in the CI job, without clearing its environment
        "#);
}

#[test]
fn the_context_debug_shows_no_values() {
    let env = env_of(&github_vars());
    let claims = github_claims("public", "github-hosted");
    let context = ProvenanceContext {
        env: &env,
        claims: Some(&claims),
        package: PackageVisibility::AccessPublic,
    };
    insta::assert_snapshot!(format!("{context:?}"), @r#"ProvenanceContext { env: "<environment>", claims: Some("<claims>"), package: AccessPublic }"#);
}
