//! The shape of a PyPI API token, checked before anything is uploaded with it.
//!
//! A PyPI token is `pypi-` followed by a base64url-encoded macaroon (version 2, so the encoding
//! starts with `Ag`). Copy-and-paste damage (a trailing newline, quotes, a space) makes every
//! upload fail with a 403 after the files were read and sent; it is cheaper to say so first.

/// What is wrong with a password that looks like a PyPI API token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenShape {
    /// Not a `pypi-` token at all (a password, another index's token): nothing to check.
    NotPypi,
    /// A `pypi-` token of the expected shape.
    Plausible,
    /// A `pypi-` token with characters no token has: it will be refused.
    Damaged(String),
    /// Only base64url characters, but not a macaroon: it may be truncated or made up.
    Unusual(String),
}

/// Checks a password that may be a PyPI API token.
pub fn check_token_shape(password: &str) -> TokenShape {
    let Some(body) = password.strip_prefix("pypi-") else {
        return TokenShape::NotPypi;
    };
    if let Some(bad) = body
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        let what = match bad {
            c if c.is_whitespace() => "whitespace (a pasted newline or space?)".to_owned(),
            '"' | '\'' => "quotes (copied with the token?)".to_owned(),
            '=' => "`=` padding (a PyPI token has none)".to_owned(),
            other => format!("the character {:?}", other),
        };
        return TokenShape::Damaged(format!(
            "the password starts with `pypi-` but contains {what}; a PyPI API token is `pypi-` and base64url characters only: copy it again"
        ));
    }
    if !body.starts_with("Ag") || body.len() < 64 {
        return TokenShape::Unusual(
            "the password starts with `pypi-` but is not shaped like a PyPI API token (`pypi-AgE…`, well over 64 characters): check that it is the whole token".to_owned(),
        );
    }
    TokenShape::Plausible
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let real = format!("pypi-AgEIcHlwaS5vcmcC{}", "a1_B-".repeat(30));
        assert_eq!(check_token_shape(&real), TokenShape::Plausible);
        assert_eq!(check_token_shape("hunter2"), TokenShape::NotPypi);
        assert!(
            matches!(check_token_shape(&format!("{real}\n")), TokenShape::Damaged(m) if m.contains("whitespace"))
        );
        assert!(
            matches!(check_token_shape(&format!("{real}\"")), TokenShape::Damaged(m) if m.contains("quotes"))
        );
        assert!(matches!(
            check_token_shape("pypi-abc"),
            TokenShape::Unusual(_)
        ));
    }
}
