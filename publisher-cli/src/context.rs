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
}

impl Context {
    /// Builds the context over `env`, trusting `extra_ca_files` too.
    pub fn new(env: Arc<dyn Environment>, extra_ca_files: Vec<PathBuf>) -> Result<Self, HttpError> {
        let config = HttpConfig {
            extra_ca_files,
            ..HttpConfig::default()
        };
        let http = HttpClient::new(&config, env.as_ref())?;
        Ok(Self { env, http })
    }

    /// The identity detector over this context.
    pub fn detector(&self) -> Detector {
        Detector::new(&ProviderContext {
            env: self.env.clone(),
            runner: Arc::new(TokioRunner),
            http: self.http.clone(),
        })
    }
}
