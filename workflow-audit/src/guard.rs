//! Does a job's `if:` really restrict it to tag (or release) runs?
//!
//! A small reader of GitHub expressions, enough to prove a guard: the condition is split at
//! top-level `||` (every branch must be restricted) and `&&` (one conjunct must be), and a
//! conjunct restricts when it is `startsWith(github.ref, 'refs/tags/…')`,
//! `github.ref_type == 'tag'` or `github.event_name == 'release'`. Anything else proves
//! nothing; `contains()` over the ref is called out because a branch can be named
//! `x/refs/tags/y`, and a `|` block scalar is always true.

/// What a guard proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Guard {
    /// The job runs only for tags or releases.
    Tags,
    /// The condition does not restrict the job to tags.
    Unproven,
    /// The condition is written so it is always true (the reason).
    AlwaysTrue(&'static str),
    /// The condition uses `contains()` on the ref, which a branch name can satisfy.
    UnsoundContains,
}

/// Reads `text` (the value of `if:`), written as a block scalar when `block`.
pub fn analyze(text: &str, block: bool) -> Guard {
    let trimmed = text.trim();
    if block && trimmed.contains("${{") {
        return Guard::AlwaysTrue(
            "a `|` or `>` block scalar that holds `${{ … }}` is a non-empty string, which is always true",
        );
    }
    let inner = match trimmed.strip_prefix("${{") {
        Some(rest) => match rest.strip_suffix("}}") {
            Some(inner) if !inner.contains("${{") => inner,
            _ => {
                return Guard::AlwaysTrue(
                    "text around `${{ … }}` makes the condition a non-empty string, which is always true",
                );
            }
        },
        None if trimmed.contains("${{") => {
            return Guard::AlwaysTrue(
                "text around `${{ … }}` makes the condition a non-empty string, which is always true",
            );
        }
        None => trimmed,
    };
    let normalized = normalize(inner);
    if normalized.contains("contains(github.ref")
        || normalized.contains("contains(github.event.ref")
    {
        return Guard::UnsoundContains;
    }
    if implies_tags(&normalized) {
        Guard::Tags
    } else {
        Guard::Unproven
    }
}

/// Lowercases identifiers outside string literals, unifies quotes and drops whitespace
/// outside strings.
fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    for c in text.chars() {
        match c {
            '\'' | '"' => {
                in_string = !in_string;
                out.push('\'');
            }
            c if c.is_whitespace() && !in_string => {}
            c if !in_string => out.extend(c.to_lowercase()),
            c => out.push(c),
        }
    }
    out
}

/// Splits at `op` where it is not inside parentheses or a string.
fn split_top<'a>(text: &'a str, op: &str) -> Vec<&'a str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut in_string = false;
    let mut start = 0;
    let mut skip_until = 0;
    // `char_indices` keeps every slice on a character boundary (the text is user input).
    for (i, c) in text.char_indices() {
        if i < skip_until {
            continue;
        }
        match c {
            '\'' => in_string = !in_string,
            '(' if !in_string => depth += 1,
            ')' if !in_string => depth -= 1,
            _ if !in_string && depth == 0 && text[i..].starts_with(op) => {
                parts.push(&text[start..i]);
                start = i + op.len();
                skip_until = start;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn strip_parens(mut text: &str) -> &str {
    while let Some(inner) = text.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
        // Only strip when the parentheses enclose the whole text: `(a) || (b)` stays.
        if !balanced(inner) {
            break;
        }
        text = inner;
    }
    text
}

fn balanced(text: &str) -> bool {
    let mut depth = 0i32;
    let mut in_string = false;
    for b in text.bytes() {
        match b {
            b'\'' => in_string = !in_string,
            b'(' if !in_string => depth += 1,
            b')' if !in_string => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0
}

fn implies_tags(text: &str) -> bool {
    let text = strip_parens(text);
    let branches = split_top(text, "||");
    if branches.len() > 1 {
        return branches.iter().all(|b| implies_tags(b));
    }
    split_top(text, "&&").iter().any(|conjunct| {
        let c = strip_parens(conjunct);
        if split_top(c, "&&").len() > 1 || split_top(c, "||").len() > 1 {
            return implies_tags(c);
        }
        is_tag_predicate(c)
    })
}

fn is_tag_predicate(c: &str) -> bool {
    c.starts_with("startswith(github.ref,'refs/tags/")
        || c.starts_with("startswith(github.event.ref,'refs/tags/")
        || c == "github.ref_type=='tag'"
        || c == "'tag'==github.ref_type"
        || c == "github.event_name=='release'"
        || c == "'release'==github.event_name"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proves_tag_guards() {
        for text in [
            "startsWith(github.ref, 'refs/tags/v')",
            "github.event_name == 'push' && startsWith(github.ref, 'refs/tags/v')",
            "${{ github.ref_type == 'tag' }}",
            "(github.event_name == 'release') || (github.ref_type == 'tag' && github.repository == 'a/b')",
            "github.repository_owner == 'me' && (startsWith(github.ref, \"refs/tags/\"))",
        ] {
            assert_eq!(analyze(text, false), Guard::Tags, "{text}");
        }
    }

    #[test]
    fn rejects_weak_guards() {
        for text in [
            "github.event_name == 'push'",
            "startsWith(github.ref, 'refs/tags/') || github.event_name == 'workflow_dispatch'",
            "!startsWith(github.ref, 'refs/tags/')",
            "always()",
            "github.ref == 'é' || é && ü",
        ] {
            assert_eq!(analyze(text, false), Guard::Unproven, "{text}");
        }
        assert_eq!(
            analyze("contains(github.ref, 'refs/tags')", false),
            Guard::UnsoundContains
        );
        assert!(matches!(
            analyze("${{ startsWith(github.ref, 'refs/tags/') }}\n", true),
            Guard::AlwaysTrue(_)
        ));
        assert!(matches!(
            analyze("${{ github.ref_type == 'tag' }} ", false),
            Guard::Tags
        ));
        assert!(matches!(
            analyze("x ${{ github.ref_type == 'tag' }}", false),
            Guard::AlwaysTrue(_)
        ));
    }
}
