//! The parts of a GitHub Actions workflow the audit reads, each with its source position.
//!
//! Built once from the [`yaml`] tree ("parse, don't validate"): triggers,
//! permissions (workflow and job), jobs with their environment, `if:`, steps (`uses`, `with`,
//! `env`, `run`) and reusable-workflow calls (`uses:` at job level, `secrets: inherit`).
//! Shapes GitHub would reject are skipped rather than guessed at; only a file that is not YAML
//! or not a mapping is an error.

use crate::yaml::{self, Node, Pos, Style, Value};

/// One workflow file, parsed.
#[derive(Debug, Clone)]
pub struct Workflow {
    /// The path as given (for messages).
    pub path: String,
    /// The file name (`release.yml`): what registries match on.
    pub file_name: String,
    /// The source text.
    pub source: String,
    /// The `on:` triggers.
    pub triggers: Vec<Trigger>,
    /// Where `on:` is (or the top of the file).
    pub on_pos: Pos,
    /// Top-level `permissions:`.
    pub permissions: Option<Permissions>,
    /// Top-level `env:`.
    pub env: Vec<Entry>,
    /// The jobs, in source order.
    pub jobs: Vec<Job>,
}

/// An `on:` event.
#[derive(Debug, Clone)]
pub struct Trigger {
    /// `push`, `release`, `pull_request_target`, ...
    pub event: String,
    /// Where the event is named.
    pub pos: Pos,
    /// For `push`: runs on branch pushes (a `branches` filter, or no filter at all).
    pub branches: bool,
    /// For `push`: has a `tags` filter.
    pub tags: bool,
}

/// A `permissions:` block.
#[derive(Debug, Clone)]
pub enum Permissions {
    /// `permissions: write-all`.
    WriteAll(Pos),
    /// `permissions: read-all`.
    ReadAll(Pos),
    /// `permissions: {scope: level, ...}` (possibly empty).
    Scopes {
        /// `(scope, level, position of the scope)`.
        scopes: Vec<(String, String, Pos)>,
        /// Where the block starts.
        pos: Pos,
    },
}

impl Permissions {
    /// Where `id-token: write` is granted (or `write-all`).
    pub fn id_token_write(&self) -> Option<Pos> {
        match self {
            Permissions::WriteAll(pos) => Some(*pos),
            Permissions::ReadAll(_) => None,
            Permissions::Scopes { scopes, .. } => scopes
                .iter()
                .find(|(scope, level, _)| scope == "id-token" && level == "write")
                .map(|(_, _, pos)| *pos),
        }
    }

    /// The scopes granted `write` (all of them for `write-all`).
    pub fn writes(&self) -> Vec<(String, Pos)> {
        match self {
            Permissions::WriteAll(pos) => vec![("write-all".into(), *pos)],
            Permissions::ReadAll(_) => Vec::new(),
            Permissions::Scopes { scopes, .. } => scopes
                .iter()
                .filter(|(_, level, _)| level == "write")
                .map(|(scope, _, pos)| (scope.clone(), *pos))
                .collect(),
        }
    }

    /// Where the block starts.
    pub fn pos(&self) -> Pos {
        match self {
            Permissions::WriteAll(pos) | Permissions::ReadAll(pos) => *pos,
            Permissions::Scopes { pos, .. } => *pos,
        }
    }
}

/// A `key: value` pair of `with:` or `env:`.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The key.
    pub key: String,
    /// The value as text (empty for a non-scalar).
    pub value: String,
    /// Where the key is.
    pub pos: Pos,
}

/// A job's `environment:`.
#[derive(Debug, Clone)]
pub struct Environment {
    /// Its name (may be an expression).
    pub name: String,
    /// Where it is.
    pub pos: Pos,
}

/// An `if:` condition.
#[derive(Debug, Clone)]
pub struct Condition {
    /// The text.
    pub text: String,
    /// Written as a `|` or `>` block scalar.
    pub block: bool,
    /// Where the value is.
    pub pos: Pos,
}

/// A `uses:` reference: an action or a reusable workflow.
#[derive(Debug, Clone)]
pub struct ActionRef {
    /// As written.
    pub raw: String,
    /// `owner/repo`, lowercased (empty for local and docker references).
    pub repo: String,
    /// The path inside the repository (`.github/workflows/x.yml` for a workflow).
    pub subpath: Option<String>,
    /// The part after `@`.
    pub git_ref: Option<String>,
    /// `./…`: a local action or workflow.
    pub local: bool,
    /// `docker://…`.
    pub docker: bool,
    /// The trailing `# comment` on the same line (`v4.2.2`).
    pub comment: Option<String>,
    /// Where the value is.
    pub pos: Pos,
}

impl ActionRef {
    fn parse(raw: &str, pos: Pos, source: &str) -> Self {
        let comment = line_comment(source, pos);
        let trimmed = raw.trim();
        if let Some(rest) = trimmed.strip_prefix("docker://") {
            return Self {
                raw: raw.to_owned(),
                repo: String::new(),
                subpath: None,
                git_ref: rest.split_once("@").map(|(_, r)| r.to_owned()),
                local: false,
                docker: true,
                comment,
                pos,
            };
        }
        if trimmed.starts_with("./") {
            return Self {
                raw: raw.to_owned(),
                repo: String::new(),
                subpath: Some(trimmed.trim_start_matches("./").to_owned()),
                git_ref: None,
                local: true,
                docker: false,
                comment,
                pos,
            };
        }
        let (name, git_ref) = match trimmed.split_once('@') {
            Some((name, r)) => (name, Some(r.to_owned())),
            None => (trimmed, None),
        };
        let mut parts = name.splitn(3, '/');
        let owner = parts.next().unwrap_or_default();
        let repo = parts.next().unwrap_or_default();
        let subpath = parts.next().map(str::to_owned);
        Self {
            raw: raw.to_owned(),
            repo: format!("{owner}/{repo}").to_ascii_lowercase(),
            subpath,
            git_ref,
            local: false,
            docker: false,
            comment,
            pos,
        }
    }

    /// Pinned to a full 40-hex commit SHA (or a docker `sha256:` digest).
    pub fn is_sha_pinned(&self) -> bool {
        if self.local {
            return true;
        }
        match &self.git_ref {
            Some(r) if self.docker => r.starts_with("sha256:"),
            Some(r) => r.len() == 40 && r.bytes().all(|b| b.is_ascii_hexdigit()),
            None => false,
        }
    }

    /// The version named by the trailing comment (`# v4.2.2`, `# tag=v4.2.2`), if any.
    pub fn comment_version(&self) -> Option<&str> {
        let comment = self.comment.as_deref()?;
        let word = comment.split_whitespace().next()?;
        let word = word
            .strip_prefix("tag=")
            .or_else(|| word.strip_prefix("pin@"))
            .unwrap_or(word);
        let looks_like_version = word.starts_with('v')
            && word.len() > 1
            && word[1..].bytes().next().is_some_and(|b| b.is_ascii_digit());
        looks_like_version.then_some(word)
    }
}

/// A step.
#[derive(Debug, Clone)]
pub struct Step {
    /// Where the step starts.
    pub pos: Pos,
    /// `uses:`.
    pub uses: Option<ActionRef>,
    /// `with:`.
    pub with: Vec<Entry>,
    /// `env:`.
    pub env: Vec<Entry>,
    /// `run:` and where its value is.
    pub run: Option<(String, Pos)>,
}

/// A job: a normal one with steps, or a call of a reusable workflow.
#[derive(Debug, Clone)]
pub struct Job {
    /// The job id.
    pub id: String,
    /// Where the id is.
    pub pos: Pos,
    /// `permissions:`.
    pub permissions: Option<Permissions>,
    /// `environment:`.
    pub environment: Option<Environment>,
    /// `if:`.
    pub condition: Option<Condition>,
    /// `env:`.
    pub env: Vec<Entry>,
    /// `steps:`.
    pub steps: Vec<Step>,
    /// `uses:` at job level: a reusable-workflow call.
    pub calls: Option<ActionRef>,
    /// `with:` of a reusable-workflow call.
    pub with: Vec<Entry>,
    /// `secrets:` of a call: `inherit`, or the names passed.
    pub secrets: Option<Secrets>,
}

/// The `secrets:` of a reusable-workflow call.
#[derive(Debug, Clone)]
pub enum Secrets {
    /// `secrets: inherit`.
    Inherit(Pos),
    /// Named secrets.
    Named(Vec<Entry>),
}

impl Job {
    /// The permissions in force: the job's, else the workflow's.
    pub fn effective_permissions<'a>(&'a self, workflow: &'a Workflow) -> Option<&'a Permissions> {
        self.permissions.as_ref().or(workflow.permissions.as_ref())
    }
}

/// Why a workflow could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// Not YAML.
    #[error("not valid YAML: {0}")]
    Yaml(#[from] yaml::YamlError),
    /// YAML, but not a workflow.
    #[error("not a workflow: {0}")]
    Shape(String),
}

impl ModelError {
    /// Where the problem is.
    pub fn pos(&self) -> Pos {
        match self {
            ModelError::Yaml(err) => Pos {
                line: err.line.max(1),
                col: err.col.max(1),
                offset: 0,
            },
            ModelError::Shape(_) => Pos {
                line: 1,
                col: 1,
                offset: 0,
            },
        }
    }
}

/// The text after `#` on the line where `pos` is, outside the value itself.
fn line_comment(source: &str, pos: Pos) -> Option<String> {
    let line = source.lines().nth(pos.line.checked_sub(1)?)?;
    let start = line
        .char_indices()
        .nth(pos.col.saturating_sub(1))
        .map_or(line.len(), |(i, _)| i);
    let rest = line.get(start..)?;
    let hash = rest.find(" #")?;
    Some(rest[hash + 2..].trim().to_owned()).filter(|c| !c.is_empty())
}

fn scalar(node: &Node) -> String {
    node.as_str().unwrap_or_default().to_owned()
}

fn entries(node: Option<&Node>) -> Vec<Entry> {
    node.map(|n| {
        n.entries()
            .iter()
            .filter_map(|(k, v)| {
                Some(Entry {
                    key: k.as_str()?.to_owned(),
                    value: scalar(v),
                    pos: k.pos,
                })
            })
            .collect()
    })
    .unwrap_or_default()
}

fn permissions(node: &Node) -> Option<Permissions> {
    match &node.value {
        Value::Scalar(text, _) => match text.as_str() {
            "write-all" => Some(Permissions::WriteAll(node.pos)),
            "read-all" => Some(Permissions::ReadAll(node.pos)),
            _ => None,
        },
        Value::Map(map) => Some(Permissions::Scopes {
            scopes: map
                .iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.as_str()?.to_owned(), k.pos)))
                .collect(),
            pos: node.pos,
        }),
        Value::Seq(_) => None,
    }
}

fn triggers(node: &Node) -> Vec<Trigger> {
    let simple = |name: &str, pos: Pos| Trigger {
        event: name.to_owned(),
        pos,
        branches: name == "push",
        tags: name == "push",
    };
    match &node.value {
        Value::Scalar(name, _) => vec![simple(name, node.pos)],
        Value::Seq(items) => items
            .iter()
            .filter_map(|item| Some(simple(item.as_str()?, item.pos)))
            .collect(),
        Value::Map(map) => map
            .iter()
            .filter_map(|(k, v)| {
                let event = k.as_str()?.to_owned();
                let has = |key: &str| v.get(key).is_some();
                let (branches, tags) = if event == "push" {
                    let tags = has("tags") || has("tags-ignore");
                    let branches = has("branches") || has("branches-ignore") || !tags;
                    (branches, tags)
                } else {
                    (false, false)
                };
                Some(Trigger {
                    event,
                    pos: k.pos,
                    branches,
                    tags,
                })
            })
            .collect(),
    }
}

fn step(node: &Node, source: &str) -> Step {
    Step {
        pos: node.pos,
        uses: node
            .get("uses")
            .and_then(|u| Some(ActionRef::parse(u.as_str()?, u.pos, source))),
        with: entries(node.get("with")),
        env: entries(node.get("env")),
        run: node
            .get("run")
            .and_then(|r| Some((r.as_str()?.to_owned(), r.pos))),
    }
}

fn job(id: &Node, node: &Node, source: &str) -> Option<Job> {
    let environment = node.get("environment").and_then(|env| {
        let name = match &env.value {
            Value::Scalar(name, _) => name.clone(),
            Value::Map(_) => env.get("name").map(scalar).unwrap_or_default(),
            Value::Seq(_) => return None,
        };
        Some(Environment { name, pos: env.pos })
    });
    let condition = node.get("if").and_then(|c| {
        Some(Condition {
            text: c.as_str()?.to_owned(),
            block: c.style() == Some(Style::Block),
            pos: c.pos,
        })
    });
    let secrets = node.get("secrets").map(|s| match s.as_str() {
        Some("inherit") => Secrets::Inherit(s.pos),
        _ => Secrets::Named(entries(Some(s))),
    });
    Some(Job {
        id: id.as_str()?.to_owned(),
        pos: id.pos,
        permissions: node.get("permissions").and_then(permissions),
        environment,
        condition,
        env: entries(node.get("env")),
        steps: node
            .get("steps")
            .map(|s| s.items().iter().map(|n| step(n, source)).collect())
            .unwrap_or_default(),
        calls: node
            .get("uses")
            .and_then(|u| Some(ActionRef::parse(u.as_str()?, u.pos, source))),
        with: entries(node.get("with")),
        secrets,
    })
}

impl Workflow {
    /// Parses `source`, read from `path`.
    pub fn parse(path: &str, source: &str) -> Result<Self, ModelError> {
        let root =
            yaml::parse(source)?.ok_or_else(|| ModelError::Shape("the file is empty".into()))?;
        if !root.is_map() {
            return Err(ModelError::Shape(
                "the top level is not a mapping (expected `on:` and `jobs:`)".into(),
            ));
        }
        let (on_pos, on) = match root.entry("on") {
            Some((k, v)) => (k.pos, triggers(v)),
            None => (root.pos, Vec::new()),
        };
        let jobs_node = root
            .get("jobs")
            .ok_or_else(|| ModelError::Shape("there is no `jobs:` mapping".into()))?;
        let jobs = jobs_node
            .entries()
            .iter()
            .filter_map(|(id, node)| job(id, node, source))
            .collect();
        let file_name = path.rsplit(['/', '\\']).next().unwrap_or(path).to_owned();
        Ok(Self {
            path: path.to_owned(),
            file_name,
            source: source.to_owned(),
            triggers: on,
            on_pos,
            permissions: root.get("permissions").and_then(permissions),
            env: entries(root.get("env")),
            jobs,
        })
    }

    /// The trigger named `event`.
    pub fn trigger(&self, event: &str) -> Option<&Trigger> {
        self.triggers.iter().find(|t| t.event == event)
    }

    /// The source line `line` (1-based), without its newline.
    pub fn line(&self, line: usize) -> &str {
        line.checked_sub(1)
            .and_then(|i| self.source.lines().nth(i))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
on:
  push:
    tags: ['v*']
  workflow_dispatch:
permissions: {}
jobs:
  publish:
    if: startsWith(github.ref, 'refs/tags/')
    environment:
      name: pypi
    permissions:
      id-token: write
    steps:
      - uses: actions/download-artifact@37930b1c2abaa49bbe596cd826c3c89aef350131 # v7.0.0
        with:
          name: dist
      - run: twine upload dist/*
        env:
          TWINE_PASSWORD: ${{ secrets.PYPI_TOKEN }}
  call:
    uses: ./.github/workflows/reusable.yml
    secrets: inherit
";

    #[test]
    fn reads_the_parts() {
        let wf = Workflow::parse(".github/workflows/release.yml", SAMPLE).unwrap();
        assert_eq!(wf.file_name, "release.yml");
        assert_eq!(wf.triggers.len(), 2);
        assert!(wf.trigger("push").unwrap().tags);
        assert!(!wf.trigger("push").unwrap().branches);
        assert!(
            matches!(&wf.permissions, Some(Permissions::Scopes { scopes, .. }) if scopes.is_empty())
        );
        let publish = &wf.jobs[0];
        assert_eq!(publish.environment.as_ref().unwrap().name, "pypi");
        assert_eq!(
            publish
                .permissions
                .as_ref()
                .unwrap()
                .id_token_write()
                .unwrap()
                .line,
            12
        );
        let uses = publish.steps[0].uses.as_ref().unwrap();
        assert_eq!(uses.repo, "actions/download-artifact");
        assert!(uses.is_sha_pinned());
        assert_eq!(uses.comment_version(), Some("v7.0.0"));
        assert_eq!(publish.steps[1].env[0].key, "TWINE_PASSWORD");
        let call = &wf.jobs[1];
        assert!(call.calls.as_ref().unwrap().local);
        assert!(matches!(call.secrets, Some(Secrets::Inherit(_))));
    }

    #[test]
    fn rejects_what_is_not_a_workflow() {
        assert!(matches!(
            Workflow::parse("x.yml", "- a\n- b\n"),
            Err(ModelError::Shape(_))
        ));
        assert!(matches!(
            Workflow::parse("x.yml", "on: [push\n"),
            Err(ModelError::Yaml(_))
        ));
    }
}
