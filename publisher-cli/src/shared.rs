//! Helpers every command uses: sizes, the Sigstore instance from the flags, how signing
//! failures are titled and which exit code they give.

use oidc_core::sigstore::{SigstoreConfig, SigstoreError, VerifiedBundle};
use pypi_exchange::SignFailure;
use url::Url;

use crate::cli::SigstoreArgs;
use crate::error::CliError;
use crate::exit::Outcome;

/// `1.5 MiB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// The Sigstore instance the flags name. A custom Fulcio or Rekor needs its own trust root:
/// the public-good root would reject everything it issues.
pub fn sigstore_config(args: &SigstoreArgs) -> Result<SigstoreConfig, CliError> {
    let parse = |flag: &str, value: &str| {
        Url::parse(value)
            .map_err(|err| CliError::Usage(format!("--{flag} `{value}` is not a URL: {err}")))
    };
    let config = SigstoreConfig {
        fulcio_url: parse("fulcio-url", &args.fulcio_url)?,
        rekor_url: parse("rekor-url", &args.rekor_url)?,
        trusted_root: args.trusted_root.clone(),
    };
    let public = SigstoreConfig::public_good();
    let custom_services =
        config.fulcio_url != public.fulcio_url || config.rekor_url != public.rekor_url;
    if custom_services && config.trusted_root.is_none() {
        return Err(CliError::Usage(
            "a custom --fulcio-url or --rekor-url needs the instance's --trusted-root <trusted_root.json>: bundles from it cannot verify against the public-good root".into(),
        ));
    }
    Ok(config)
}

/// `, Rekor entry N` for messages (empty without a log entry).
pub fn rekor_suffix(verified: &VerifiedBundle) -> String {
    verified
        .log_index
        .map(|index| format!(", Rekor entry {index}"))
        .unwrap_or_default()
}

/// The exit code of a Sigstore failure.
pub fn sigstore_outcome(err: &SigstoreError) -> Outcome {
    match err {
        SigstoreError::Token { .. } => Outcome::Identity,
        SigstoreError::TrustRoot { .. } => Outcome::Usage,
        SigstoreError::Malformed { .. } => Outcome::InvalidArtifact,
        SigstoreError::Verification { .. } => Outcome::VerificationFailed,
        SigstoreError::Fulcio { .. }
        | SigstoreError::Rekor { .. }
        | SigstoreError::Signing { .. } => Outcome::UploadFailed,
    }
}

/// The annotation title of a Sigstore failure.
pub fn sigstore_title(err: &SigstoreError) -> &'static str {
    match err {
        SigstoreError::Verification { .. } => "Verification failed",
        _ => "Signing failed",
    }
}

/// The annotation title of an attestation that could not be made.
pub fn sign_failure_title(failure: &SignFailure) -> &'static str {
    match failure {
        SignFailure::Sigstore(err) => sigstore_title(err),
        SignFailure::Convert { .. } | SignFailure::Digest { .. } => "Internal error",
        SignFailure::Write(_) => "Attestation not written",
    }
}

/// The exit code of an attestation that could not be made.
pub fn sign_failure_outcome(failure: &SignFailure) -> Outcome {
    match failure {
        SignFailure::Sigstore(err) => sigstore_outcome(err),
        SignFailure::Convert { .. } | SignFailure::Digest { .. } => Outcome::Internal,
        SignFailure::Write(_) => Outcome::Usage,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(5 * 1024 * 1024 * 1024), "5.0 GiB");
    }
}
