//! The diagnosis as text: sections for a terminal or a CI log, and Markdown for the step
//! summary. Both show claims and findings only: there is no token in a [`Diagnosis`].

use oidc_core::doctor::{
    ClaimRow, CompareRule, Conclusion, Diagnosis, ExchangeOutcome, FieldCheck, Finding, Mode,
    PublisherForm, Verdict, unix_now,
};

use crate::exit::Outcome;

/// The human report.
pub fn human(diagnosis: &Diagnosis, outcome: Outcome) -> String {
    let mut out = String::new();
    let mode = match diagnosis.mode {
        Mode::Live => "live",
        Mode::Offline => "offline, no network",
    };
    out.push_str(&format!(
        "trustpub doctor: {} ({mode})\n",
        diagnosis.registry
    ));
    out.push_str(&format!("  target    {}\n", diagnosis.target));
    if let Some(audience) = &diagnosis.audience {
        out.push_str(&format!("  audience  {audience}\n"));
    }
    for note in &diagnosis.network {
        out.push_str(&format!("  network   {note}\n"));
    }

    if !diagnosis.claims.is_empty() {
        let source = match &diagnosis.provider {
            Some(provider) => format!("from {provider}"),
            None => "captured".to_owned(),
        };
        out.push_str(&format!(
            "\nID token claims ({source}; the token itself is never shown)\n"
        ));
        let now = unix_now();
        for row in &diagnosis.claims {
            out.push_str(&format!("  {:<22}{}\n", row.name, claim_value(row, now)));
        }
    }

    if !diagnosis.checks.is_empty() {
        out.push_str(&format!(
            "\nWhat {} matches on\n",
            short_registry(&diagnosis.registry)
        ));
        for check in &diagnosis.checks {
            out.push_str(&check_line(check));
        }
    }

    if let Some(form) = &diagnosis.form {
        out.push_str(&form_section(form));
    }

    out.push_str("\nExchange\n");
    out.push_str(&exchange_lines(&diagnosis.exchange));

    out.push_str("\nFindings\n");
    if diagnosis.findings.is_empty() {
        out.push_str("  none\n");
    }
    for finding in &diagnosis.findings {
        out.push_str(&finding_lines(finding));
    }

    out.push_str(&format!(
        "\nResult: {} (exit {})\n",
        conclusion_text(diagnosis),
        outcome.code()
    ));
    out
}

/// `PyPI` from `PyPI (upload.pypi.org)`.
fn short_registry(registry: &str) -> &str {
    registry.split(" (").next().unwrap_or(registry)
}

fn claim_value(row: &ClaimRow, now: i64) -> String {
    let Some(value) = &row.value else {
        return "MISSING".to_owned();
    };
    match (row.name.as_str(), value.parse::<i64>()) {
        ("iat" | "nbf" | "exp", Ok(at)) => {
            let delta = at - now;
            if delta > 0 {
                format!("{value} (in {delta} s)")
            } else {
                format!("{value} ({} s ago)", -delta)
            }
        }
        _ => value.clone(),
    }
}

fn check_line(check: &FieldCheck) -> String {
    let mark = match check.verdict {
        Verdict::Match => "ok",
        Verdict::Mismatch => "MISMATCH",
        Verdict::Missing => "MISSING",
        Verdict::Unchecked => "-",
    };
    let value = check.value.as_deref().unwrap_or("(none)");
    let how = match (&check.expected, check.verdict) {
        (None, _) => format!("not compared: no --expect-*; `{}`", check.claim),
        (Some(expected), _) if check.rule == CompareRule::Required => {
            format!("must be {expected}; `{}`", check.claim)
        }
        (Some(expected), _) => format!("expected `{expected}`, {}; `{}`", check.rule, check.claim),
    };
    format!("  {mark:<10}{:<30}{value}  ({how})\n", check.field)
}

fn form_section(form: &PublisherForm) -> String {
    let mut out = format!("\nTrusted-publisher form ({})\n", form.location);
    for field in &form.fields {
        let value = if field.value.is_empty() {
            "(empty)"
        } else {
            field.value.as_str()
        };
        match &field.note {
            Some(note) => out.push_str(&format!("  {:<22}{value}  ({note})\n", field.label)),
            None => out.push_str(&format!("  {:<22}{value}\n", field.label)),
        }
    }
    if let Some(link) = &form.link {
        out.push_str(&format!("  link: {link}\n"));
    }
    if let Some(command) = &form.command {
        out.push_str(&format!("  or:   {command}\n"));
    }
    out
}

fn exchange_lines(exchange: &ExchangeOutcome) -> String {
    match exchange {
        ExchangeOutcome::NotAttempted { reason } => format!("  not attempted: {reason}\n"),
        ExchangeOutcome::Succeeded { detail } => format!("  succeeded: {detail}\n"),
        ExchangeOutcome::Failed { detail } => format!("  failed: {}\n", indent(detail, 4)),
        ExchangeOutcome::Refused {
            http_status,
            errors,
            ..
        } => {
            let mut out = format!("  refused (HTTP {http_status}):\n");
            for error in errors {
                match &error.code {
                    Some(code) => out.push_str(&format!("    * `{code}`: {}\n", error.description)),
                    None => out.push_str(&format!("    * {}\n", error.description)),
                }
            }
            out.push_str("  (what to change is under Findings)\n");
            out
        }
    }
}

fn finding_lines(finding: &Finding) -> String {
    let mut out = format!(
        "  {}[{}]: {}\n    {}\n",
        finding.severity.as_str(),
        finding.code,
        finding.title,
        indent(&finding.detail, 4)
    );
    if let Some(fix) = &finding.fix {
        let lines: Vec<&str> = fix.lines().collect();
        if let [one] = lines.as_slice() {
            out.push_str(&format!("    fix: {one}\n"));
        } else {
            out.push_str("    fix:\n");
            for line in lines {
                out.push_str(&format!("      - {line}\n"));
            }
        }
    }
    out
}

/// Continuation lines of a multi-line text, indented.
fn indent(text: &str, by: usize) -> String {
    let pad = " ".repeat(by);
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            if i == 0 || line.is_empty() {
                line.to_owned()
            } else {
                format!("{pad}{line}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The bottom line in words.
pub fn conclusion_text(diagnosis: &Diagnosis) -> &'static str {
    match diagnosis.conclusion() {
        Conclusion::Ready => "all good: the exchange succeeded, a publish from this job would work",
        Conclusion::Unproven if diagnosis.mode == Mode::Offline => {
            "no problem found in the claims; offline, so the exchange itself was not tried"
        }
        Conclusion::Unproven => "no problem found, but the exchange was not tried",
        Conclusion::NoCredential => {
            "a publish would fail: no credential could be obtained (see the errors above)"
        }
        Conclusion::ChecksFailed => "a check failed (see the errors above)",
    }
}

/// The step summary.
pub fn markdown(diagnosis: &Diagnosis, outcome: Outcome) -> String {
    let mut out = format!(
        "## trustpub doctor: {}\n\n**Result:** {} (exit {})\n\n",
        diagnosis.registry,
        conclusion_text(diagnosis),
        outcome.code()
    );
    if !diagnosis.findings.is_empty() {
        out.push_str("| Severity | Code | Finding | Fix |\n|---|---|---|---|\n");
        for finding in &diagnosis.findings {
            out.push_str(&format!(
                "| {} | `{}` | **{}**: {} | {} |\n",
                finding.severity.as_str(),
                finding.code,
                cell(&finding.title),
                cell(&finding.detail),
                cell(finding.fix.as_deref().unwrap_or("")),
            ));
        }
        out.push('\n');
    }
    if !diagnosis.checks.is_empty() {
        out.push_str("| Field | Token | Expected | Result |\n|---|---|---|---|\n");
        for check in &diagnosis.checks {
            out.push_str(&format!(
                "| {} (`{}`) | `{}` | {} | {:?} |\n",
                check.field,
                check.claim,
                cell(check.value.as_deref().unwrap_or("(none)")),
                cell(check.expected.as_deref().unwrap_or("")),
                check.verdict,
            ));
        }
        out.push('\n');
    }
    if let Some(form) = &diagnosis.form {
        out.push_str(&format!(
            "**Trusted-publisher form** ({})\n\n| Field | Value |\n|---|---|\n",
            cell(&form.location)
        ));
        for field in &form.fields {
            out.push_str(&format!("| {} | `{}` |\n", field.label, cell(&field.value)));
        }
        if let Some(link) = &form.link {
            out.push_str(&format!("\n[Open the form]({link})\n"));
        }
        if let Some(command) = &form.command {
            out.push_str(&format!("\n`{command}`\n"));
        }
    }
    out
}

/// Text safe inside a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', "<br>")
}
