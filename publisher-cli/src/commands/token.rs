//! `trustpub token`: fetch an ambient ID token and explain it.

use std::time::{SystemTime, UNIX_EPOCH};

use oidc_core::ci::MaskSink;
use oidc_core::{AmbientToken, TokenRequest};

use crate::cli::TokenArgs;
use crate::context::Context;
use crate::error::CliError;
use crate::exit::Outcome;
use crate::output::Printer;

/// Runs `trustpub token`.
pub async fn run(
    args: &TokenArgs,
    context: &Context,
    printer: &Printer,
) -> Result<Outcome, CliError> {
    let mut request = TokenRequest::new(&args.audience);
    if let Some(variable) = &args.token_variable {
        request = request.with_token_variable(variable);
    }
    let ambient = context.detector().detect(&request).await?;
    printer.mask(ambient.token.expose());
    printer.info(&format!(
        "Got an ID token from {} for audience `{}`",
        ambient.provider, args.audience
    ));
    if args.claims {
        let json = serde_json::to_string_pretty(&ambient.claims.raw)
            .map_err(|err| CliError::Internal(format!("cannot render claims: {err}")))?;
        printer.data(&json);
    } else {
        for line in summary_lines(&ambient) {
            printer.data(&line);
        }
    }
    if args.reveal {
        printer.warning(
            "Revealed token",
            "the ID token below is a credential until it expires: do not paste it anywhere public",
        );
        printer.data(ambient.token.expose());
    }
    Ok(Outcome::Success)
}

/// The claims that tell where a token comes from, one per line.
pub fn summary_lines(ambient: &AmbientToken) -> Vec<String> {
    let claims = &ambient.claims;
    let mut lines = Vec::new();
    let mut push = |label: &str, value: Option<String>| {
        if let Some(value) = value {
            lines.push(format!("{label:<20} {value}"));
        }
    };
    push("issuer", claims.iss.clone());
    push("audience", claims.aud.as_ref().map(|a| a.display()));
    push("subject", claims.sub.clone());
    push(
        "repository",
        claims
            .github
            .repository
            .clone()
            .or(claims.gitlab.project_path.clone()),
    );
    push(
        "repository_owner_id",
        claims.github.repository_owner_id.clone(),
    );
    push("workflow_ref", claims.github.workflow_ref.clone());
    push("job_workflow_ref", claims.github.job_workflow_ref.clone());
    push("ci_config_ref_uri", claims.gitlab.ci_config_ref_uri.clone());
    push("ref", claims.github.r#ref.clone());
    push("environment", claims.github.environment.clone());
    push("event_name", claims.github.event_name.clone());
    push(
        "runner_environment",
        claims.github.runner_environment.clone(),
    );
    push("expires", claims.exp.map(describe_expiry));
    lines
}

fn describe_expiry(exp: i64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    // `exp` is remote input: checked arithmetic, so an extreme value cannot overflow.
    match exp.checked_sub(now) {
        Some(left) if left >= 0 => format!("in {left} s"),
        Some(left) => format!("{} s ago (expired)", left.unsigned_abs()),
        None if exp > now => "in the far future".to_owned(),
        None => "long ago (expired)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::describe_expiry;

    #[test]
    fn extreme_expiries_do_not_overflow() {
        assert!(describe_expiry(i64::MAX).starts_with("in "));
        assert_eq!(describe_expiry(i64::MIN), "long ago (expired)");
        assert!(describe_expiry(0).ends_with("s ago (expired)"));
    }
}
