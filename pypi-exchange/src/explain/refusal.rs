//! A refused mint as typed values: Warehouse's error codes, and the cause behind each.
//!
//! Warehouse answers a refused `POST /_/oidc/mint-token` with 422 and
//! `{"message": "Token request failed", "errors": [{"code": …, "description": …}]}`
//! (`warehouse/oidc/views.py`, `_invalid`). The `code` is the structured part: [`MintErrorCode`]
//! has a variant for each code Warehouse sends and keeps any other as
//! [`MintErrorCode::Other`], so a newer or foreign index never makes the answer unreadable.
//! [`MintError::cause`] turns code and description into a [`MintCause`], and the hints are
//! chosen from that and from the token's own claims, never from the text directly.
//!
//! # Where the description is read (the text fallbacks)
//!
//! Four codes say everything: `not-enabled`, `invalid-token`, `invalid-pending-publisher`,
//! `invalid-reuse-token` are read from the code alone. Two codes cover several causes that
//! Warehouse distinguishes only in the description, so only for these is the text matched,
//! each pattern being Warehouse's literal text:
//!
//! - `invalid-payload`: `unknown trusted publishing issuer` (the `iss` is no issuer Warehouse
//!   knows: a GitHub Enterprise Server or a self-managed GitLab, which need different advice)
//!   becomes [`MintCause::UnknownIssuer`]; every other description (`malformed JWT`, pydantic's
//!   text for the body, a project creation that failed for a pending publisher) is the same
//!   advice, [`MintCause::Payload`], and is not matched at all.
//! - `invalid-publisher`: `valid token, but no corresponding publisher ({reason})`, where
//!   `{reason}` is the text of Warehouse's `InvalidPublisherError` (`oidc/models/_core.py`,
//!   `models/github.py`, `oidc/services.py`). Each reason is a different fix, so it is read
//!   into a [`PublisherMismatch`] by its opening words: `Missing claim 'X'`, `Check failed for
//!   required claim 'X'`, `Check failed for optional claim 'X'` (the claim name `X` is kept),
//!   `Publishing from a workflow invoked via 'pull_request_target'`, `JWT issuer`, `Could not job
//!   extract workflow filename`, `The job_workflow_ref claim` (empty, or not matching the
//!   expected references), `The ref and sha claims are empty`, and `Publisher with matching
//!   claims was not found` (older Warehouse: `All lookup strategies exhausted`). A reason none
//!   of these match is [`PublisherMismatch::Unrecognized`], which gets the general
//!   field-by-field advice.
//!
//! If Warehouse changes one of these texts, the cause falls back to the general advice for
//! its code (`Payload`, `Unrecognized`): the hint gets less specific, never wrong, and the
//! description itself is always shown.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The error code of one refusal reason (`errors[].code`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MintErrorCode {
    /// `invalid-payload`: the body, the JWT's shape or its issuer was refused before
    /// verification (also a failed project creation from a pending publisher).
    InvalidPayload,
    /// `not-enabled`: the index's administrators switched trusted publishing off for this
    /// provider (or altogether).
    NotEnabled,
    /// `invalid-token`: the JWT did not verify (signature, audience, expiry, `nbf`).
    InvalidToken,
    /// `invalid-pending-publisher`: a pending publisher matched, but its project exists.
    InvalidPendingPublisher,
    /// `invalid-publisher`: the token is valid, but no trusted publisher matches it.
    InvalidPublisher,
    /// `invalid-reuse-token`: this JWT (its `jti`) already minted a token.
    InvalidReuseToken,
    /// A code this version of trustpub does not know, as the index sent it.
    Other(String),
}

impl MintErrorCode {
    /// The codes Warehouse sends, in the order its mint checks them.
    pub const KNOWN: [Self; 6] = [
        Self::InvalidPayload,
        Self::NotEnabled,
        Self::InvalidToken,
        Self::InvalidPendingPublisher,
        Self::InvalidPublisher,
        Self::InvalidReuseToken,
    ];

    /// Reads a code; an unknown one is kept as [`Other`](Self::Other).
    ///
    /// ```
    /// use pypi_exchange::explain::MintErrorCode;
    /// assert_eq!(MintErrorCode::parse("invalid-publisher"), MintErrorCode::InvalidPublisher);
    /// assert_eq!(MintErrorCode::parse("rate-limited").as_str(), "rate-limited");
    /// ```
    pub fn parse(code: &str) -> Self {
        Self::KNOWN
            .into_iter()
            .find(|known| known.as_str() == code)
            .unwrap_or_else(|| Self::Other(code.to_owned()))
    }

    /// The code as Warehouse spells it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::InvalidPayload => "invalid-payload",
            Self::NotEnabled => "not-enabled",
            Self::InvalidToken => "invalid-token",
            Self::InvalidPendingPublisher => "invalid-pending-publisher",
            Self::InvalidPublisher => "invalid-publisher",
            Self::InvalidReuseToken => "invalid-reuse-token",
            Self::Other(code) => code,
        }
    }
}

impl std::fmt::Display for MintErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for MintErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for MintErrorCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Ok(Self::parse(&code))
    }
}

/// One `{code, description}` from a 422 `Token request failed` answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct MintError {
    /// The error code.
    pub code: MintErrorCode,
    /// Warehouse's description (remote text: escape it before printing); empty when the
    /// index sent none.
    #[serde(default)]
    pub description: String,
}

impl MintError {
    /// What the refusal means: the code, and for `invalid-payload` and `invalid-publisher`
    /// the cause read from the description (see the [module docs](self)).
    pub fn cause(&self) -> MintCause {
        match &self.code {
            MintErrorCode::InvalidPayload => {
                if self.description.contains(UNKNOWN_ISSUER) {
                    MintCause::UnknownIssuer
                } else {
                    MintCause::Payload
                }
            }
            MintErrorCode::NotEnabled => MintCause::NotEnabled,
            MintErrorCode::InvalidToken => MintCause::InvalidToken,
            MintErrorCode::InvalidPendingPublisher => MintCause::PendingProjectExists,
            MintErrorCode::InvalidPublisher => {
                MintCause::NoPublisher(PublisherMismatch::parse(&self.description))
            }
            MintErrorCode::InvalidReuseToken => MintCause::ReusedToken,
            MintErrorCode::Other(code) => MintCause::Unknown { code: code.clone() },
        }
    }
}

/// Warehouse's description for an issuer it does not know (`invalid-payload`).
const UNKNOWN_ISSUER: &str = "unknown trusted publishing issuer";

/// What a refusal reason means, one variant per distinct advice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MintCause {
    /// `invalid-payload` `unknown trusted publishing issuer`.
    UnknownIssuer,
    /// Any other `invalid-payload`: the request or the JWT's shape.
    Payload,
    /// `not-enabled`.
    NotEnabled,
    /// `invalid-token`.
    InvalidToken,
    /// `invalid-pending-publisher`: the pending publisher's project already exists.
    PendingProjectExists,
    /// `invalid-publisher`, with its reason.
    NoPublisher(PublisherMismatch),
    /// `invalid-reuse-token`.
    ReusedToken,
    /// A code this version does not know.
    Unknown {
        /// The code as the index sent it.
        code: String,
    },
}

/// Why no trusted publisher matched (the `{reason}` of an `invalid-publisher` refusal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublisherMismatch {
    /// `Missing claim 'X'`: a claim the publisher type requires is absent.
    MissingClaim(String),
    /// `Check failed for required claim 'X'`.
    RequiredClaimFailed(String),
    /// `Check failed for optional claim 'X'` (Warehouse's only optional claim is
    /// `environment`).
    OptionalClaimFailed(String),
    /// `Publishing from a workflow invoked via 'pull_request_target' is not supported.`
    PullRequestTarget,
    /// `JWT issuer '…' does not match expected issuer '…'`.
    IssuerMismatch,
    /// The workflow reference: no file name in `job_workflow_ref`, the claim empty, or not one
    /// of the references the publisher expects.
    WorkflowRef,
    /// `The ref and sha claims are empty`.
    RefAndShaEmpty,
    /// `Publisher with matching claims was not found`: no publisher has this owner,
    /// repository, owner id and workflow file (and environment).
    NotFound,
    /// A reason this version does not recognise.
    Unrecognized,
}

impl PublisherMismatch {
    /// Reads the reason from an `invalid-publisher` description (`valid token, but no
    /// corresponding publisher (<reason>)`), by the opening words of each reason Warehouse
    /// raises.
    ///
    /// ```
    /// use pypi_exchange::explain::PublisherMismatch;
    /// assert_eq!(
    ///     PublisherMismatch::parse("valid token, but no corresponding publisher (Check failed for optional claim 'environment')"),
    ///     PublisherMismatch::OptionalClaimFailed("environment".into()),
    /// );
    /// ```
    pub fn parse(description: &str) -> Self {
        let reason = description
            .split_once(" (")
            .and_then(|(_, rest)| rest.strip_suffix(')'))
            .unwrap_or(description);
        // The claim in `… claim 'X'`.
        let claim_after = |prefix: &str| {
            reason
                .strip_prefix(prefix)?
                .strip_prefix('\'')?
                .split_once('\'')
                .map(|(name, _)| name.to_owned())
        };
        if let Some(name) = claim_after("Missing claim ") {
            return Self::MissingClaim(name);
        }
        if let Some(name) = claim_after("Check failed for required claim ") {
            return Self::RequiredClaimFailed(name);
        }
        if let Some(name) = claim_after("Check failed for optional claim ") {
            return Self::OptionalClaimFailed(name);
        }
        let fixed: [(&str, Self); 7] = [
            (
                "Publishing from a workflow invoked via 'pull_request_target'",
                Self::PullRequestTarget,
            ),
            ("JWT issuer ", Self::IssuerMismatch),
            ("Could not job extract workflow filename", Self::WorkflowRef),
            ("The job_workflow_ref claim", Self::WorkflowRef),
            ("The ref and sha claims are empty", Self::RefAndShaEmpty),
            (
                "Publisher with matching claims was not found",
                Self::NotFound,
            ),
            ("All lookup strategies exhausted", Self::NotFound),
        ];
        fixed
            .into_iter()
            .find(|(prefix, _)| reason.starts_with(prefix))
            .map_or(Self::Unrecognized, |(_, mismatch)| mismatch)
    }

    /// The claim the reason names (`Missing claim 'X'`, `Check failed for … claim 'X'`).
    pub fn claim(&self) -> Option<&str> {
        match self {
            Self::MissingClaim(claim)
            | Self::RequiredClaimFailed(claim)
            | Self::OptionalClaimFailed(claim) => Some(claim),
            Self::PullRequestTarget
            | Self::IssuerMismatch
            | Self::WorkflowRef
            | Self::RefAndShaEmpty
            | Self::NotFound
            | Self::Unrecognized => None,
        }
    }
}
