//! The static token (a secret that never prints) and the one function that builds the headers
//! the vendor lists for every request (vendor overview, "Testing the Tracker API").

use std::fmt;
use std::sync::Arc;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::error::{Error, Result};

/// A SAFE static token. `Debug` and `Display` print `SecretToken(***)`; the value is only
/// reachable through [`SecretToken::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct SecretToken(Arc<str>);

impl SecretToken {
    /// Wraps a token. Surrounding whitespace (a common copy-paste slip) is trimmed.
    pub fn new(token: impl AsRef<str>) -> SecretToken {
        SecretToken(Arc::from(token.as_ref().trim()))
    }

    /// The token itself, for building the `Authorization` header and for redaction.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when the token is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Replaces every occurrence of the token in `text` with `***`.
    pub fn redact(&self, text: &str) -> String {
        if self.0.len() < 4 {
            return text.to_string();
        }
        text.replace(&*self.0, "***")
    }
}

impl fmt::Debug for SecretToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretToken(***)")
    }
}

impl fmt::Display for SecretToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The identity sent with every request.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The static token.
    pub token: SecretToken,
    /// The organisation id (`OrganizationId` header).
    pub organization_id: u64,
    /// The office id (`OfficeId` header).
    pub office_id: u64,
    /// Whether to send `StaticToken: true` (the token is a static one). Default true.
    pub static_token: bool,
}

/// What a request carries, which decides its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// No body: `Content-Type: application/x-www-form-urlencoded`, as the vendor lists it.
    None,
    /// A JSON body: `Content-Type: application/json`.
    Json,
}

/// Builds the exact header set of one request: `Accept`, `Content-Type`, `Authorization`,
/// `OrganizationId`, `OfficeId`, `StaticToken` (when static) and `User-Agent`.
pub fn build_headers(
    credentials: &Credentials,
    body: BodyKind,
    user_agent: &str,
) -> Result<HeaderMap> {
    let mut headers = HeaderMap::with_capacity(7);
    headers.insert(
        reqwest::header::ACCEPT,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        reqwest::header::CONTENT_TYPE,
        HeaderValue::from_static(match body {
            BodyKind::None => "application/x-www-form-urlencoded",
            BodyKind::Json => "application/json",
        }),
    );
    let mut auth = HeaderValue::from_str(&format!("Bearer {}", credentials.token.expose()))
        .map_err(|_| {
            Error::InvalidConfig("the token holds characters not allowed in a header".into())
        })?;
    auth.set_sensitive(true);
    headers.insert(reqwest::header::AUTHORIZATION, auth);
    headers.insert(
        HeaderName::from_static("organizationid"),
        HeaderValue::from(credentials.organization_id),
    );
    headers.insert(
        HeaderName::from_static("officeid"),
        HeaderValue::from(credentials.office_id),
    );
    if credentials.static_token {
        headers.insert(
            HeaderName::from_static("statictoken"),
            HeaderValue::from_static("true"),
        );
    }
    headers.insert(
        reqwest::header::USER_AGENT,
        HeaderValue::from_str(user_agent)
            .map_err(|_| Error::InvalidConfig("the user agent is not a valid header".into()))?,
    );
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_never_prints() {
        let t = SecretToken::new("  s3cr3t-token ");
        assert_eq!(t.expose(), "s3cr3t-token");
        assert_eq!(format!("{t:?}"), "SecretToken(***)");
        assert_eq!(format!("{t}"), "***");
        assert_eq!(t.redact("x s3cr3t-token y"), "x *** y");
    }

    #[test]
    fn rejects_token_with_newline() {
        let c = Credentials {
            token: SecretToken::new("a\nb"),
            organization_id: 1,
            office_id: 1,
            static_token: true,
        };
        let err = build_headers(&c, BodyKind::None, "ua").unwrap_err();
        assert!(!err.to_string().contains("a\nb"));
    }
}
