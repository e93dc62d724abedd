//! Every rule against its fixtures: the positive one must trigger it, the negative one must not;
//! and a corpus of realistic publish workflows, snapshotted as the user sees the report.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use workflow_audit::{Expectation, Options, Registry, Rule, audit, collect, render};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The fixture `<rule>/<kind>.yml`, or the directory `<rule>/<kind>/`.
fn fixture(rule: &str, kind: &str) -> PathBuf {
    let dir = fixtures().join(rule).join(kind);
    if dir.is_dir() {
        dir
    } else {
        fixtures().join(rule).join(format!("{kind}.yml"))
    }
}

fn options_for(rule: Rule, kind: &str) -> Options {
    if rule != Rule::PublisherMismatch {
        return Options::default();
    }
    // The positive fixture is named `positive.yml`, so a publisher registered for
    // `release.yml` in environment `pypi` does not match it; the negative one matches.
    let workflow = if kind == "positive" {
        "release.yml"
    } else {
        "negative.yml"
    };
    Options {
        expectations: vec![Expectation {
            registry: Registry::Pypi,
            workflow: Some(workflow.into()),
            environment: Some("pypi".into()),
            origin: "test".into(),
        }],
    }
}

/// The rules that have fixtures (the `--online` ones are tested against wiremock).
const FIXTURE_RULES: &[Rule] = &[
    Rule::InvalidWorkflow,
    Rule::DangerousTrigger,
    Rule::RiskyTrigger,
    Rule::TagGuard,
    Rule::IdTokenScope,
    Rule::BroadPermissions,
    Rule::LongLivedToken,
    Rule::BuildInPublishJob,
    Rule::CacheInPublishJob,
    Rule::CrossRunArtifact,
    Rule::NoEnvironment,
    Rule::UnpinnedAction,
    Rule::PinCommentMismatch,
    Rule::SecretsInherit,
    Rule::ReusableWorkflowIdentity,
    Rule::PublisherMismatch,
    Rule::BadIgnore,
];

#[test]
fn every_offline_rule_has_fixtures() {
    for rule in Rule::ALL {
        let online = matches!(rule, Rule::StalePin | Rule::VulnerableAction);
        assert_eq!(
            FIXTURE_RULES.contains(&rule),
            !online,
            "{rule}: every offline rule needs fixtures"
        );
    }
}

#[test]
fn positive_fixtures_trigger_their_rule() {
    for rule in FIXTURE_RULES {
        let sources = collect(&[fixture(rule.id(), "positive")]).unwrap();
        let report = audit(&sources, &options_for(*rule, "positive"));
        assert!(
            report.findings.iter().any(|f| f.rule == *rule),
            "{rule}: the positive fixture did not trigger it:\n{}",
            render::human(&report)
        );
        for finding in report.findings.iter().filter(|f| f.rule == *rule) {
            assert!(finding.pos.line >= 1 && finding.pos.col >= 1);
            assert!(!finding.fix.is_empty(), "{rule}: a finding without a fix");
        }
    }
}

#[test]
fn negative_fixtures_do_not() {
    for rule in FIXTURE_RULES {
        let sources = collect(&[fixture(rule.id(), "negative")]).unwrap();
        let report = audit(&sources, &options_for(*rule, "negative"));
        assert!(
            !report.findings.iter().any(|f| f.rule == *rule),
            "{rule}: the negative fixture triggered it:\n{}",
            render::human(&report)
        );
    }
}

#[test]
fn the_clean_fixture_has_no_findings() {
    let sources = collect(&[fixtures().join("clean.yml")]).unwrap();
    let report = audit(&sources, &Options::default());
    assert!(report.findings.is_empty(), "{}", render::human(&report));
}

#[test]
fn ignore_comments_need_a_reason() {
    let good = audit(
        &collect(&[fixture("bad-ignore", "negative")]).unwrap(),
        &Options::default(),
    );
    assert_eq!(good.ignored.len(), 1);
    assert_eq!(good.ignored[0].finding.rule, Rule::NoEnvironment);
    assert!(good.ignored[0].reason.starts_with("gated by"));
    let bad = audit(
        &collect(&[fixture("bad-ignore", "positive")]).unwrap(),
        &Options::default(),
    );
    assert!(bad.ignored.is_empty());
    assert!(bad.findings.iter().any(|f| f.rule == Rule::NoEnvironment));
}

#[test]
fn positions_point_at_the_offending_text() {
    let sources = collect(&[fixture("long-lived-token", "positive")]).unwrap();
    let report = audit(&sources, &Options::default());
    let finding = report
        .findings
        .iter()
        .find(|f| f.rule == Rule::LongLivedToken)
        .unwrap();
    assert!(finding.snippet.contains("NODE_AUTH_TOKEN"), "{finding:?}");
    let col = finding.snippet.find("NODE_AUTH_TOKEN").unwrap() + 1;
    assert_eq!(finding.pos.col, col);
}

#[test]
fn corpus_snapshots() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 6);
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let name = file.file_stem().unwrap().to_str().unwrap().to_owned();
        let source = workflow_audit::Source {
            path: format!(".github/workflows/{name}.yml"),
            text,
        };
        let report = audit(&[source], &Options::default());
        insta::assert_snapshot!(name, render::human(&report));
    }
}
