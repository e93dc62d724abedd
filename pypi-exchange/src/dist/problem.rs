//! A problem found in a distribution before upload.

use std::fmt;

use serde::Serialize;

use super::error::DistError;

/// How serious a [`Problem`] is: `Error` means PyPI will reject the file, `Warning` that the
/// upload may fail or the release look wrong, `Note` that the upload is not at risk.
pub use oidc_core::Severity;

/// One problem: its severity, the file and field it is about, and a message that says what to
/// do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// How serious it is.
    pub severity: Severity,
    /// The distribution file name, or `None` for a problem about the upload as a whole.
    pub file: Option<String>,
    /// The metadata field (`Name`, `Version`, ...) or aspect (`filename`, `size`, `archive`)
    /// concerned, if any.
    pub field: Option<&'static str>,
    /// What is wrong and what to do.
    pub message: String,
}

impl Problem {
    /// An error about `file`.
    pub fn error(file: &str, field: Option<&'static str>, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, Some(file), field, message)
    }

    /// A warning about `file`.
    pub fn warning(file: &str, field: Option<&'static str>, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, Some(file), field, message)
    }

    /// A problem with the given severity.
    pub fn new(
        severity: Severity,
        file: Option<&str>,
        field: Option<&'static str>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            severity,
            file: file.map(str::to_owned),
            field,
            message: message.into(),
        }
    }

    /// The error-level problem for a file that could not be read at all, so that read failures
    /// and validation problems can be reported together.
    pub fn from_read_error(error: &DistError) -> Self {
        let path = error.path();
        let file = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        // The file is named by `file`; drop the `{path}: ` the error text starts with.
        let message = error.to_string();
        let prefix = format!("{}: ", path.display());
        let message = message.strip_prefix(&prefix).unwrap_or(&message).to_owned();
        Self::new(Severity::Error, Some(&file), None, message)
    }

    /// Whether this problem blocks the upload.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.severity)?;
        if let Some(file) = &self.file {
            write!(f, "{file}: ")?;
        }
        if let Some(field) = self.field {
            write!(f, "{field}: ")?;
        }
        f.write_str(&self.message)
    }
}
