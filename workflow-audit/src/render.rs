//! A [`Report`] as text for people, versioned JSON, SARIF 2.1.0, or GitHub annotations.
//!
//! Everything a workflow file contributes (snippets, job names, action references) is data:
//! the annotation renderer escapes it so a crafted file cannot inject workflow commands, and
//! the text renderer strips control characters so it cannot drive the terminal.

use oidc_core::ci::commands::{escape_data, escape_property};
use serde_json::{Value, json};

use crate::Report;
use crate::finding::{Finding, Rule, Severity};
use crate::online::PinStatus;

/// The JSON schema id: bump on an incompatible change.
pub const JSON_SCHEMA: &str = "trustpub.audit/v1";

/// Control characters (other than tab) replaced, for terminal output.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}

/// The text report: `path:line:col: severity[rule]: message`, the line, the fix; then a
/// summary line.
pub fn human(report: &Report) -> String {
    let mut out = String::new();
    for f in &report.findings {
        out.push_str(&format!(
            "{}:{}:{}: {}[{}]: {}\n",
            printable(&f.path),
            f.pos.line,
            f.pos.col,
            f.severity,
            f.rule.id(),
            printable(&f.message)
        ));
        if !f.snippet.is_empty() {
            let gutter = f.pos.line.to_string();
            let pad = " ".repeat(gutter.len());
            out.push_str(&format!("{pad} |\n{gutter} | {}\n", printable(&f.snippet)));
            let col = f.pos.col.saturating_sub(1);
            let indent: String = f
                .snippet
                .chars()
                .take(col)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            out.push_str(&format!("{pad} | {indent}^\n"));
        }
        out.push_str(&format!("  = fix: {}\n\n", printable(&f.fix)));
    }
    let files = report.files.len();
    if report.findings.is_empty() {
        out.push_str(&format!(
            "No findings in {files} workflow file(s){}.\n",
            ignored_note(report)
        ));
    } else {
        out.push_str(&format!(
            "{} finding(s) in {files} workflow file(s): {} error(s), {} warning(s), {} note(s){}.\n",
            report.findings.len(),
            report.count(Severity::Error),
            report.count(Severity::Warning),
            report.count(Severity::Note),
            ignored_note(report)
        ));
    }
    out
}

fn ignored_note(report: &Report) -> String {
    match report.ignored.len() {
        0 => String::new(),
        n => format!("; {n} ignored by comments"),
    }
}

fn finding_json(f: &Finding) -> Value {
    json!({
        "rule": f.rule.id(),
        "severity": f.severity,
        "message": f.message,
        "fix": f.fix,
        "location": {
            "path": f.path,
            "line": f.pos.line,
            "column": f.pos.col,
        },
        "job": f.job,
        "snippet": f.snippet,
        "help": f.rule.help_uri(),
    })
}

/// The versioned JSON document (`schema: trustpub.audit/v1`). Lines and columns are 1-based.
pub fn json(report: &Report) -> Value {
    json!({
        "schema": JSON_SCHEMA,
        "tool": {"name": "trustpub", "version": env!("CARGO_PKG_VERSION")},
        "files": report.files,
        "summary": {
            "errors": report.count(Severity::Error),
            "warnings": report.count(Severity::Warning),
            "notes": report.count(Severity::Note),
            "ignored": report.ignored.len(),
        },
        "findings": report.findings.iter().map(finding_json).collect::<Vec<_>>(),
        "ignored": report.ignored.iter().map(|i| {
            let mut value = finding_json(&i.finding);
            value["reason"] = json!(i.reason);
            value
        }).collect::<Vec<_>>(),
    })
}

fn sarif_level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

/// A SARIF 2.1.0 log (one run; every rule described; ignored findings as suppressed results).
pub fn sarif(report: &Report) -> Value {
    let rules: Vec<Value> = Rule::ALL
        .iter()
        .map(|rule| {
            json!({
                "id": rule.id(),
                "name": rule.id(),
                "shortDescription": {"text": rule.summary()},
                "helpUri": rule.help_uri(),
            })
        })
        .collect();
    let result = |f: &Finding, suppressed: Option<&str>| {
        let rule_index = Rule::ALL.iter().position(|r| *r == f.rule).unwrap_or(0);
        let mut value = json!({
            "ruleId": f.rule.id(),
            "ruleIndex": rule_index,
            "level": sarif_level(f.severity),
            "message": {"text": format!("{} Fix: {}", f.message, f.fix)},
            "locations": [{
                "physicalLocation": {
                    "artifactLocation": {"uri": f.path.replace('\\', "/")},
                    "region": {"startLine": f.pos.line, "startColumn": f.pos.col},
                }
            }],
        });
        if let Some(reason) = suppressed {
            value["suppressions"] = json!([{"kind": "inSource", "justification": reason}]);
        }
        value
    };
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| result(f, None))
        .chain(
            report
                .ignored
                .iter()
                .map(|i| result(&i.finding, Some(&i.reason))),
        )
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "trustpub",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/trustpub/trustpub",
                "rules": rules,
            }},
            "results": results,
        }],
    })
}

/// GitHub workflow-command annotations, one line per finding. Every value is escaped:
/// properties (`file`, `title`) also escape `:` and `,`, and no field can end the command.
pub fn github(report: &Report) -> String {
    let mut out = String::new();
    for f in &report.findings {
        let level = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "notice",
        };
        out.push_str(&format!(
            "::{level} file={},line={},col={},title={}::{}\n",
            escape_property(&f.path),
            f.pos.line,
            f.pos.col,
            escape_property(&format!("trustpub audit: {}", f.rule.id())),
            escape_data(&format!("{}\nFix: {}", f.message, f.fix)),
        ));
    }
    out
}

/// The `--online` pin report as text: one block per pinned action.
pub fn pins_human(pins: &[PinStatus]) -> String {
    let mut out = String::new();
    for pin in pins {
        let short: String = pin.sha.chars().take(12).collect();
        let version = pin.pinned_version.as_deref().unwrap_or("version unknown");
        let latest = pin.latest.as_deref().unwrap_or("no release");
        let behind = match pin.commits_behind {
            Some(0) => "up to date".to_owned(),
            Some(n) => format!(
                "{n} commit(s){} behind",
                pin.releases_behind
                    .map(|r| format!(", {r} release(s)"))
                    .unwrap_or_default()
            ),
            None => "distance unknown".to_owned(),
        };
        out.push_str(&printable(&format!(
            "{}@{short} ({version}): newest {latest}, {behind}; {} advisory(ies)\n",
            pin.repo,
            pin.advisories.len()
        )));
        for (sha, message) in &pin.commits {
            out.push_str(&format!("    {} {}\n", printable(sha), printable(message)));
        }
        for advisory in &pin.advisories {
            out.push_str(&printable(&format!(
                "    {} [{}] {}\n",
                advisory.id, advisory.severity, advisory.summary
            )));
        }
    }
    out
}

/// The `--online` pin report for the JSON document's `pins` field.
pub fn pins_json(pins: &[PinStatus]) -> Value {
    Value::Array(
        pins.iter()
            .map(|pin| {
                json!({
                    "action": pin.repo,
                    "sha": pin.sha,
                    "pinned_version": pin.pinned_version,
                    "latest_release": pin.latest,
                    "releases_behind": pin.releases_behind,
                    "commits_behind": pin.commits_behind,
                    "commits": pin.commits.iter().map(|(sha, message)| json!({"sha": sha, "message": message})).collect::<Vec<_>>(),
                    "advisories": pin.advisories.iter().map(|a| json!({
                        "id": a.id,
                        "severity": a.severity,
                        "summary": a.summary,
                        "affects_pin": a.affected,
                        "first_patched_version": a.patched,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::Pos;

    fn report_with(message: &str, path: &str) -> Report {
        Report {
            files: vec![path.into()],
            findings: vec![Finding {
                rule: Rule::NoEnvironment,
                severity: Severity::Warning,
                message: message.into(),
                fix: "fix it".into(),
                path: path.into(),
                pos: Pos {
                    line: 3,
                    col: 5,
                    offset: 0,
                },
                job: Some("publish".into()),
                snippet: "    x: y".into(),
            }],
            ignored: Vec::new(),
        }
    }

    #[test]
    fn annotations_cannot_inject_commands() {
        let report = report_with("job `a`\n::error::pwned\r\n%0A", "evil,title=x::y.yml");
        let text = github(&report);
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(!text.contains("\n::error::pwned"));
        assert!(text.contains("file=evil%2Ctitle=x%3A%3Ay.yml,"), "{text}");
        assert!(text.contains("%0A::error::pwned%0D%0A%250A"), "{text}");
    }

    #[test]
    fn human_strips_control_characters() {
        let text = human(&report_with("bad \u{1b}[31mred", "a.yml"));
        assert!(!text.contains('\u{1b}'));
        assert!(text.starts_with("a.yml:3:5: warning[no-environment]: bad"));
    }
}
