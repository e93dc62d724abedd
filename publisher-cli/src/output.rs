//! Everything the CLI shows: data on stdout, messages on stderr, workflow commands when running
//! on GitHub Actions. Only this module prints.
//!
//! Every line it prints goes through [`shown`], whatever its origin: control characters and
//! invisible direction overrides become visible escapes, a line that would start a workflow
//! command (`::stop-commands::`, `::error::`, after any indentation) is escaped with a
//! backslash, the legacy `##[` prefix is broken, and messages are cut to a length. So a
//! registry's refusal text cannot become a workflow command, in any output mode: annotations
//! carry it `%0A`-escaped on one line, JSON escapes it, logs (`-v`) go through
//! [`log_writer`]. Only `::add-mask::` and annotations built here start a line with `::`.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Mutex;

use oidc_core::ci::commands::{self, Level};
use oidc_core::ci::{MaskSink, append_step_summary};
use oidc_core::http::is_unsafe_char;

/// The longest line a message prints; the rest is cut.
pub const LINE_CAP: usize = 4096;
/// The longest message printed; the rest is cut.
pub const MESSAGE_CAP: usize = 64 * 1024;

/// Makes text safe to print on a CI log: see the module documentation. `line_cap` and
/// `message_cap` count characters.
pub fn shown(text: &str, line_cap: usize, message_cap: usize) -> String {
    let mut out = String::with_capacity(text.len().min(message_cap));
    let mut total = 0usize;
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let indent = line.len() - line.trim_start().len();
        let (lead, rest) = line.split_at(indent);
        let mut escaped = String::with_capacity(line.len());
        for c in lead.chars() {
            if c == ' ' || c == '\t' {
                escaped.push(c);
            } else {
                escaped.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
            }
        }
        if rest.starts_with("::") {
            escaped.push('\\');
        }
        for c in rest.chars() {
            if c != '\t' && is_unsafe_char(c) {
                escaped.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
            } else {
                escaped.push(c);
            }
        }
        let escaped = escaped.replace("##[", "##\\[");
        let count = escaped.chars().count();
        let line: String = if count > line_cap {
            let cut: String = escaped.chars().take(line_cap).collect();
            format!("{cut}… ({} more characters cut)", count - line_cap)
        } else {
            escaped
        };
        total = total.saturating_add(line.chars().count() + 1);
        if total > message_cap {
            out.push_str("… (message cut)");
            break;
        }
        out.push_str(&line);
    }
    out
}

/// [`shown`] with the caps for messages.
fn message(text: &str) -> String {
    shown(text, LINE_CAP, MESSAGE_CAP)
}

/// Where logs (`-v`) go: stderr, each event through [`shown`].
pub fn log_writer() -> LogWriter {
    LogWriter
}

/// The writer behind [`log_writer`]. tracing writes one whole event per call.
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let (body, newline) = match text.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (text.as_ref(), ""),
        };
        let safe = shown(body, LINE_CAP, MESSAGE_CAP);
        std::io::stderr().write_all(format!("{safe}{newline}").as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Where output goes and how it looks.
pub struct Printer {
    /// Running on a real GitHub Actions runner (from the real process environment, never the
    /// simulated one of `trustpub demo`): workflow commands are emitted.
    github_actions: bool,
    /// `$GITHUB_STEP_SUMMARY` on a real runner.
    step_summary: Option<PathBuf>,
    /// Colors on stderr.
    color: bool,
    /// `--quiet`.
    quiet: bool,
    lock: Mutex<()>,
}

impl Printer {
    /// A printer for this process.
    pub fn from_process(quiet: bool) -> Self {
        let github_actions = std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true");
        let step_summary = github_actions
            .then(|| std::env::var_os("GITHUB_STEP_SUMMARY"))
            .flatten()
            .filter(|p| !p.is_empty())
            .map(PathBuf::from);
        let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            && std::io::stderr().is_terminal();
        Self {
            github_actions,
            step_summary,
            color,
            quiet,
            lock: Mutex::new(()),
        }
    }

    /// Whether `--quiet` is on.
    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    /// Whether stderr is an interactive terminal (progress bars).
    pub fn is_tty(&self) -> bool {
        !self.github_actions && std::io::stderr().is_terminal()
    }

    /// A line of data on stdout.
    pub fn data(&self, line: &str) {
        let _guard = self.lock.lock();
        let mut out = std::io::stdout().lock();
        // A closed pipe (`trustpub ... | head`) is not an error worth reporting.
        let _ = writeln!(out, "{}", shown(line, usize::MAX, usize::MAX));
    }

    /// Workflow commands trustpub built itself (`trustpub audit --format github`), on stdout:
    /// each line that starts with `::` is printed as it is, so the runner reads it as the
    /// annotation it is. Their properties and messages went through GitHub's escaping
    /// (`oidc_core::ci::commands`), so no text inside one can start a line of its own; any
    /// other line is shown escaped, as [`Printer::data`] does.
    pub fn workflow_commands(&self, text: &str) {
        let _guard = self.lock.lock();
        let mut out = std::io::stdout().lock();
        for line in text.lines() {
            let own_command = line.starts_with("::") && !line.chars().any(is_unsafe_char);
            let _ = if own_command {
                writeln!(out, "{line}")
            } else {
                writeln!(out, "{}", shown(line, usize::MAX, usize::MAX))
            };
        }
    }

    /// A progress or status message on stderr.
    pub fn info(&self, line: &str) {
        if self.quiet {
            return;
        }
        let _guard = self.lock.lock();
        eprintln!("{}", message(line));
    }

    /// A status line with a colored leading word (`Uploaded`, `Skipped`).
    pub fn status(&self, word: &str, rest: &str) {
        if self.quiet {
            return;
        }
        let (word, rest) = (message(word), message(rest));
        let _guard = self.lock.lock();
        if self.color {
            eprintln!("\x1b[1;32m{word:>12}\x1b[0m {rest}");
        } else {
            eprintln!("{word:>12} {rest}");
        }
    }

    /// A warning: stderr, and a `::warning::` annotation on GitHub Actions.
    pub fn warning(&self, title: &str, message: &str) {
        let (title, message) = (one_line(title), self::message(message));
        let (title, message) = (title.as_str(), message.as_str());
        let _guard = self.lock.lock();
        if self.github_actions {
            println!(
                "{}",
                commands::annotation(Level::Warning, Some(title), None, message)
            );
        } else if self.color {
            eprintln!("\x1b[1;33mwarning\x1b[0m: {title}: {message}");
        } else {
            eprintln!("warning: {title}: {message}");
        }
    }

    /// An error: stderr, and a `::error::` annotation on GitHub Actions.
    pub fn error(&self, title: &str, message: &str) {
        let (title, message) = (one_line(title), self::message(message));
        let (title, message) = (title.as_str(), message.as_str());
        let _guard = self.lock.lock();
        if self.github_actions {
            println!(
                "{}",
                commands::annotation(Level::Error, Some(title), None, message)
            );
        }
        if self.color {
            eprintln!("\x1b[1;31merror\x1b[0m: {message}");
        } else {
            eprintln!("error: {message}");
        }
    }

    /// Appends Markdown to the step summary on a real runner.
    pub fn summary(&self, markdown: &str) {
        if let Some(path) = &self.step_summary
            && let Err(err) = append_step_summary(path, markdown)
        {
            self.warning(
                "Step summary",
                &format!("could not write {}: {err}", path.display()),
            );
        }
    }
}

/// A title: one line, escaped.
fn one_line(text: &str) -> String {
    message(&text.replace('\n', " "))
}

impl MaskSink for Printer {
    fn warning(&self, title: &str, message: &str) {
        Printer::warning(self, title, message);
    }

    fn mask(&self, secret: &str) {
        let _guard = self.lock.lock();
        self.masker().mask(secret);
    }
}

impl Printer {
    /// A mask sink that outlives this borrow (for work that fetches secrets later, such as a
    /// signing session renewing its certificate with a new ID token).
    pub fn masker(&self) -> Masker {
        Masker {
            github_actions: self.github_actions,
        }
    }
}

/// Masks secrets with `::add-mask::` on GitHub Actions, and does nothing elsewhere.
#[derive(Debug, Clone, Copy)]
pub struct Masker {
    github_actions: bool,
}

impl MaskSink for Masker {
    fn mask(&self, secret: &str) {
        if self.github_actions && !secret.is_empty() {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{}", commands::add_mask(secret));
            let _ = out.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_text_cannot_start_a_workflow_command() {
        let hostile =
            "refused\n::stop-commands::x\n  ::error::pwned\n##[set-env name=A]b\x1b[2J\u{202e}";
        let safe = message(hostile);
        for line in safe.lines() {
            assert!(!line.trim_start().starts_with("::"), "{line}");
            assert!(!line.contains("##["), "{line}");
            assert!(
                !line.contains('\x1b') && !line.contains('\u{202e}'),
                "{line}"
            );
        }
        assert_eq!(
            safe,
            "refused\n\\::stop-commands::x\n  \\::error::pwned\n##\\[set-env name=A]b\\u{1b}[2J\\u{202e}"
        );
        // Our own multi-line messages keep their shape.
        assert_eq!(message("a\n    b: c"), "a\n    b: c");
    }

    #[test]
    fn long_remote_text_is_cut() {
        let long = "x".repeat(LINE_CAP + 10);
        let safe = message(&long);
        assert!(
            safe.ends_with("… (10 more characters cut)"),
            "{}",
            &safe[safe.len() - 40..]
        );
        let many = "y\n".repeat(MESSAGE_CAP);
        assert!(message(&many).ends_with("… (message cut)"));
    }
}
