//! Everything the CLI shows: data on stdout, messages on stderr, workflow commands when running
//! on GitHub Actions. Only this module prints.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Mutex;

use oidc_core::ci::commands::{self, Level};
use oidc_core::ci::{MaskSink, append_step_summary};

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
        let _ = writeln!(out, "{line}");
    }

    /// A progress or status message on stderr.
    pub fn info(&self, line: &str) {
        if self.quiet {
            return;
        }
        let _guard = self.lock.lock();
        eprintln!("{line}");
    }

    /// A status line with a colored leading word (`Uploaded`, `Skipped`).
    pub fn status(&self, word: &str, rest: &str) {
        if self.quiet {
            return;
        }
        let _guard = self.lock.lock();
        if self.color {
            eprintln!("\x1b[1;32m{word:>12}\x1b[0m {rest}");
        } else {
            eprintln!("{word:>12} {rest}");
        }
    }

    /// A warning: stderr, and a `::warning::` annotation on GitHub Actions.
    pub fn warning(&self, title: &str, message: &str) {
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

impl MaskSink for Printer {
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
