//! The process environment, injected.
//!
//! Providers read CI variables and files through [`Environment`] so tests can hand them a map
//! instead of touching the real process environment (which is shared by every test thread).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::bounded::{ENV_FILE_CAP, read_text_file};

/// Read access to environment variables and small files (event payloads, DMI product names).
pub trait Environment: Send + Sync {
    /// The value of a variable, or `None` when it is unset or not valid Unicode.
    fn var(&self, name: &str) -> Option<String>;

    /// Reads a whole (small) file as text, at most [`ENV_FILE_CAP`] bytes.
    fn read_to_string(&self, path: &Path) -> std::io::Result<String> {
        read_text_file(path, ENV_FILE_CAP)
    }

    /// A variable that is set and not empty.
    fn non_empty(&self, name: &str) -> Option<String> {
        self.var(name).filter(|value| !value.is_empty())
    }

    /// Whether a variable is exactly `true` (how CI providers announce themselves).
    fn is_true(&self, name: &str) -> bool {
        self.var(name).is_some_and(|value| value == "true")
    }
}

/// The real process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Environment for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

/// An environment made of a map, for tests and for callers that assemble variables themselves.
///
/// Files are read from the real file system unless they were added with [`MapEnv::with_file`].
#[derive(Debug, Clone, Default)]
pub struct MapEnv {
    vars: BTreeMap<String, String>,
    files: BTreeMap<PathBuf, String>,
}

impl MapEnv {
    /// An empty environment.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a variable.
    #[must_use]
    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.vars.insert(name.into(), value.into());
        self
    }

    /// Adds every variable of a map.
    #[must_use]
    pub fn with_all<K: Into<String>, V: Into<String>>(
        mut self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.vars
            .extend(vars.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Serves `contents` for reads of `path` instead of the file system.
    #[must_use]
    pub fn with_file(mut self, path: impl Into<PathBuf>, contents: impl Into<String>) -> Self {
        self.files.insert(path.into(), contents.into());
        self
    }

    /// The variables, for handing to a child process.
    pub fn vars(&self) -> &BTreeMap<String, String> {
        &self.vars
    }
}

impl Environment for MapEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }

    fn read_to_string(&self, path: &Path) -> std::io::Result<String> {
        match self.files.get(path) {
            Some(contents) => Ok(contents.clone()),
            None => read_text_file(path, ENV_FILE_CAP),
        }
    }
}

impl<T: Environment + ?Sized> Environment for Arc<T> {
    fn var(&self, name: &str) -> Option<String> {
        (**self).var(name)
    }

    fn read_to_string(&self, path: &Path) -> std::io::Result<String> {
        (**self).read_to_string(path)
    }
}
