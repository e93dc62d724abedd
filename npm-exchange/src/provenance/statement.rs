//! The in-toto statement npm signs, byte for byte: `JSON.stringify` of the object libnpmpublish
//! 11.2 builds in `generateProvenance` (`lib/provenance.js`), keys in its order, values from the
//! same variables. Variables npm would write as `undefined` are left out, as `JSON.stringify`
//! does; the ones a statement cannot do without are required by [`CiBuild::from_env`].

use super::build::{CiBuild, CiProvider, GITLAB_PARAMETERS, GithubBuild, GitlabBuild};
use super::subject::ProvenanceSubject;
use crate::package::json::{Json, Object};

const INTOTO_STATEMENT_V01_TYPE: &str = "https://in-toto.io/Statement/v0.1";
const INTOTO_STATEMENT_V1_TYPE: &str = "https://in-toto.io/Statement/v1";
const SLSA_PREDICATE_V02_TYPE: &str = "https://slsa.dev/provenance/v0.2";
const SLSA_PREDICATE_V1_TYPE: &str = "https://slsa.dev/provenance/v1";
const GITHUB_BUILDER_ID_PREFIX: &str = "https://github.com/actions/runner";
const GITHUB_BUILD_TYPE: &str =
    "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1";
const GITLAB_BUILD_TYPE: &str = "https://github.com/npm/cli/gitlab/v0alpha1";

/// A provenance statement, serialised exactly as npm serialises it before signing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvenanceStatement {
    provider: CiProvider,
    json: String,
}

/// An object from `(key, value)` pairs; `None` values are left out (`undefined`).
fn fields<const N: usize>(entries: [(&str, Option<Json>); N]) -> Object {
    let mut object = Object::new();
    for (key, value) in entries {
        if let Some(value) = value {
            object.insert(key, value);
        }
    }
    object
}

fn object<const N: usize>(entries: [(&str, Option<Json>); N]) -> Json {
    Json::Object(fields(entries))
}

fn text(value: impl Into<String>) -> Option<Json> {
    Some(Json::String(value.into()))
}

fn subject_list(subject: &ProvenanceSubject) -> Option<Json> {
    Some(Json::Array(vec![object([
        ("name", text(subject.name())),
        (
            "digest",
            Some(object([("sha512", text(subject.sha512_hex()))])),
        ),
    ])]))
}

fn github(build: &GithubBuild, subject: &ProvenanceSubject) -> Json {
    let repository = build.repository_url();
    object([
        ("_type", text(INTOTO_STATEMENT_V1_TYPE)),
        ("subject", subject_list(subject)),
        ("predicateType", text(SLSA_PREDICATE_V1_TYPE)),
        (
            "predicate",
            Some(object([
                (
                    "buildDefinition",
                    Some(object([
                        ("buildType", text(GITHUB_BUILD_TYPE)),
                        (
                            "externalParameters",
                            Some(object([(
                                "workflow",
                                Some(object([
                                    ("ref", text(&build.workflow_ref)),
                                    ("repository", text(&repository)),
                                    ("path", text(&build.workflow_path)),
                                ])),
                            )])),
                        ),
                        (
                            "internalParameters",
                            Some(object([(
                                "github",
                                Some(object([
                                    ("event_name", text(&build.event_name)),
                                    ("repository_id", text(&build.repository_id)),
                                    ("repository_owner_id", text(&build.repository_owner_id)),
                                ])),
                            )])),
                        ),
                        (
                            "resolvedDependencies",
                            Some(Json::Array(vec![object([
                                ("uri", text(format!("git+{repository}@{}", build.git_ref))),
                                ("digest", Some(object([("gitCommit", text(&build.sha))]))),
                            ])])),
                        ),
                    ])),
                ),
                (
                    "runDetails",
                    Some(object([
                        (
                            "builder",
                            Some(object([(
                                "id",
                                text(format!(
                                    "{GITHUB_BUILDER_ID_PREFIX}/{}",
                                    build.runner_environment
                                )),
                            )])),
                        ),
                        (
                            "metadata",
                            Some(object([(
                                "invocationId",
                                text(format!(
                                    "{repository}/actions/runs/{}/attempts/{}",
                                    build.run_id, build.run_attempt
                                )),
                            )])),
                        ),
                    ])),
                ),
            ])),
        ),
    ])
}

fn gitlab(build: &GitlabBuild, subject: &ProvenanceSubject) -> Json {
    let var = |name: &str| build.var(name).map(|value| Json::String(value.to_owned()));
    let mut parameters = Object::new();
    for name in GITLAB_PARAMETERS {
        if let Some(value) = var(name) {
            parameters.insert(name, value);
        }
    }
    let source = || {
        fields([
            ("uri", text(format!("git+{}", build.project_url))),
            ("digest", Some(object([("sha1", text(&build.commit_sha))]))),
        ])
    };
    let mut config_source = source();
    config_source.insert("entryPoint", Json::String(build.job_name.clone()));
    object([
        ("_type", text(INTOTO_STATEMENT_V01_TYPE)),
        ("subject", subject_list(subject)),
        ("predicateType", text(SLSA_PREDICATE_V02_TYPE)),
        (
            "predicate",
            Some(object([
                ("buildType", text(GITLAB_BUILD_TYPE)),
                (
                    "builder",
                    Some(object([(
                        "id",
                        text(format!(
                            "{}/-/runners/{}",
                            build.project_url, build.runner_id
                        )),
                    )])),
                ),
                (
                    "invocation",
                    Some(object([
                        ("configSource", Some(Json::Object(config_source))),
                        ("parameters", Some(Json::Object(parameters))),
                        (
                            "environment",
                            Some(object([
                                ("name", var("CI_RUNNER_DESCRIPTION")),
                                ("architecture", var("CI_RUNNER_EXECUTABLE_ARCH")),
                                ("server", var("CI_SERVER_URL")),
                                ("project", var("CI_PROJECT_PATH")),
                                ("job", Some(object([("id", var("CI_JOB_ID"))]))),
                                (
                                    "pipeline",
                                    Some(object([
                                        ("id", var("CI_PIPELINE_ID")),
                                        ("ref", var("CI_CONFIG_PATH")),
                                    ])),
                                ),
                            ])),
                        ),
                    ])),
                ),
                (
                    "metadata",
                    Some(object([
                        ("buildInvocationId", text(&build.job_url)),
                        (
                            "completeness",
                            Some(object([
                                ("parameters", Some(Json::Bool(true))),
                                ("environment", Some(Json::Bool(true))),
                                ("materials", Some(Json::Bool(false))),
                            ])),
                        ),
                        ("reproducible", Some(Json::Bool(false))),
                    ])),
                ),
                ("materials", Some(Json::Array(vec![Json::Object(source())]))),
            ])),
        ),
    ])
}

impl ProvenanceStatement {
    /// The statement npm would sign for this subject in this CI build.
    pub fn new(build: &CiBuild, subject: &ProvenanceSubject) -> Self {
        let json = match build {
            CiBuild::GithubActions(github_build) => github(github_build, subject),
            CiBuild::GitlabCi(gitlab_build) => gitlab(gitlab_build, subject),
        };
        Self {
            provider: build.provider(),
            json: json.to_json_string(),
        }
    }

    /// The CI system it describes.
    pub fn provider(&self) -> CiProvider {
        self.provider
    }

    /// `predicateType`: `https://slsa.dev/provenance/v1` (GitHub) or `.../v0.2` (GitLab).
    pub fn predicate_type(&self) -> &'static str {
        match self.provider {
            CiProvider::GithubActions => SLSA_PREDICATE_V1_TYPE,
            CiProvider::GitlabCi => SLSA_PREDICATE_V02_TYPE,
        }
    }

    /// The statement as JSON text.
    pub fn as_str(&self) -> &str {
        &self.json
    }

    /// The bytes to sign: the DSSE payload, of type
    /// [`INTOTO_PAYLOAD_TYPE`](super::INTOTO_PAYLOAD_TYPE).
    pub fn as_bytes(&self) -> &[u8] {
        self.json.as_bytes()
    }

    /// The statement as JSON text, owned.
    pub fn into_string(self) -> String {
        self.json
    }
}

#[cfg(test)]
mod tests;
