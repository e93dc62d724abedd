//! What every command needs: the environment, the HTTP client, the identity detector.

use std::path::PathBuf;
use std::sync::Arc;

use oidc_core::process::TokioRunner;
use oidc_core::{Detector, Environment, HttpClient, HttpConfig, HttpError, ProviderContext};

/// The shared pieces of a run.
pub struct Context {
    /// The environment the providers read: the process's, or the demo's simulated one.
    pub env: Arc<dyn Environment>,
    /// The HTTP client.
    pub http: HttpClient,
    /// `--id-token-file`.
    pub id_token_file: Option<PathBuf>,
}

impl Context {
    /// Builds the context over `env`, trusting `extra_ca_files` too (the demo's simulated
    /// environment; real runs build theirs from the flags with [`Context::with_config`]).
    #[cfg(feature = "demo")]
    pub fn new(env: Arc<dyn Environment>, extra_ca_files: Vec<PathBuf>) -> Result<Self, HttpError> {
        let config = HttpConfig {
            extra_ca_files,
            ..HttpConfig::default()
        };
        Self::with_config(env, &config)
    }

    /// Builds the context over `env` with an HTTP client set up by `config`.
    pub fn with_config(env: Arc<dyn Environment>, config: &HttpConfig) -> Result<Self, HttpError> {
        let mut config = config.clone();
        // `TRUSTPUB_READ_TIMEOUT` (seconds): the longest silence while waiting for an answer.
        // The default suits a large upload; the fault matrix uses a short one.
        if let Some(seconds) = env
            .non_empty("TRUSTPUB_READ_TIMEOUT")
            .and_then(|value| value.parse::<f64>().ok())
            .filter(|seconds| seconds.is_finite() && *seconds > 0.0)
        {
            config.read_timeout = std::time::Duration::from_secs_f64(seconds.min(86_400.0));
        }
        let http = HttpClient::new(&config, env.as_ref())?;
        Ok(Self {
            env,
            http,
            id_token_file: None,
        })
    }

    /// Takes ID tokens from this file where its audience fits (`--id-token-file`).
    #[must_use]
    pub fn with_id_token_file(mut self, path: Option<PathBuf>) -> Self {
        self.id_token_file = path;
        self
    }

    /// The identity detector over this context.
    pub fn detector(&self) -> Detector {
        Detector::new(&ProviderContext {
            env: self.env.clone(),
            runner: Arc::new(TokioRunner),
            http: self.http.clone(),
        })
        .with_token_file(self.id_token_file.clone())
    }
}
