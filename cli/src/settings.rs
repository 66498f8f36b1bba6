//! Connection settings from flags, `SAFE_*` environment variables and an optional TOML file
//! (flags and environment win over the file). The token comes from `SAFE_TOKEN`,
//! `--token-file`, the file's `token_file`, or (with a warning) `--token`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use safe_tracker::{ClientConfig, Error, Pacing};

/// Connection flags shared by every command.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Connection {
    /// A TOML file with base_url, organization_id, office_id, token_file, requests_per_second, ca_file.
    #[arg(long, global = true, env = "SAFE_CONFIG")]
    pub config: Option<PathBuf>,
    /// API root (default https://securelb.trackerproducts.com/api/).
    #[arg(long, global = true, env = "SAFE_BASE_URL")]
    pub base_url: Option<String>,
    /// Organisation id.
    #[arg(long, global = true, env = "SAFE_ORGANIZATION_ID")]
    pub organization_id: Option<u64>,
    /// Office id.
    #[arg(long, global = true, env = "SAFE_OFFICE_ID")]
    pub office_id: Option<u64>,
    /// A file holding the static token (preferred over --token).
    #[arg(long, global = true, env = "SAFE_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// The static token itself (visible to other users in the process list: prefer SAFE_TOKEN or --token-file).
    #[arg(long, global = true, hide_env_values = true)]
    pub token: Option<String>,
    /// Requests per second (default 2; 0 turns pacing off, for a local simulator only).
    #[arg(long, global = true, env = "SAFE_REQUESTS_PER_SECOND")]
    pub requests_per_second: Option<f64>,
    /// Extra CA certificates (PEM).
    #[arg(long, global = true, env = "SAFE_CA_FILE")]
    pub ca_file: Option<PathBuf>,
    /// Allow plain http:// to a host that is not loopback.
    #[arg(long, global = true)]
    pub allow_insecure_http: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    base_url: Option<String>,
    organization_id: Option<u64>,
    office_id: Option<u64>,
    token_file: Option<PathBuf>,
    requests_per_second: Option<f64>,
    ca_file: Option<PathBuf>,
}

fn read_token(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path)
        .map(|t| t.trim().to_string())
        .map_err(|e| {
            Error::InvalidConfig(format!(
                "cannot read the token file {}: {e}",
                path.display()
            ))
        })
}

impl Connection {
    /// Builds the client configuration. `need_token = false` (status, plan) accepts a missing
    /// token, since those commands send no request.
    pub fn client_config(&self, need_token: bool) -> Result<ClientConfig, Error> {
        let file: FileSettings = match &self.config {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| {
                    Error::InvalidConfig(format!("cannot read {}: {e}", p.display()))
                })?;
                toml::from_str(&text).map_err(|e| {
                    Error::InvalidConfig(format!("{} is not valid: {e}", p.display()))
                })?
            }
            None => FileSettings::default(),
        };
        let token = if let Some(t) = std::env::var("SAFE_TOKEN")
            .ok()
            .filter(|t| !t.trim().is_empty())
        {
            Some(t)
        } else if let Some(p) = self.token_file.as_ref().or(file.token_file.as_ref()) {
            Some(read_token(p)?)
        } else if let Some(t) = &self.token {
            eprintln!(
                "warning: --token puts the token in the process list and shell history; use SAFE_TOKEN or --token-file"
            );
            Some(t.clone())
        } else {
            None
        };
        let token = match token {
            Some(t) => t,
            None if !need_token => "no-token-needed".into(),
            None => {
                return Err(Error::InvalidConfig(
                    "no token: set SAFE_TOKEN, or pass --token-file".into(),
                ));
            }
        };
        let mut b = ClientConfig::builder().token(token).host_language("cli");
        if let Some(u) = self.base_url.clone().or(file.base_url) {
            b = b.base_url(u);
        }
        if let Some(o) = self.organization_id.or(file.organization_id) {
            b = b.organization_id(o);
        }
        if let Some(o) = self.office_id.or(file.office_id) {
            b = b.office_id(o);
        }
        if let Some(r) = self.requests_per_second.or(file.requests_per_second) {
            // Only 0 turns pacing off: a negative, NaN or infinite rate is refused by `build`.
            b = b.pacing(if r == 0.0 {
                Pacing::unlimited()
            } else {
                Pacing::per_second(r)
            });
        }
        if let Some(c) = self.ca_file.clone().or(file.ca_file) {
            b = b.ca_file(c);
        }
        b.allow_insecure_http(self.allow_insecure_http).build()
    }
}
