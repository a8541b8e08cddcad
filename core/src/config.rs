//! Configuration: where the API is, the key, and limits.

use std::fmt;

use http::HeaderValue;
use http::uri::{Authority, Scheme, Uri};

use crate::InputError;
use crate::wire::check_url;

/// The API's public origin.
pub const DEFAULT_BASE_URL: &str = "https://api.sarvam.ai";

pub use crate::wire::bodies::DEFAULT_MAX_JSON_BODY;

/// An API subscription key. It redacts itself in `Debug` and `Display`, and
/// the header that carries it is marked sensitive.
///
/// ```
/// use sarvam_doc_core::ApiKey;
/// let key = ApiKey::new("sk_live_123").unwrap();
/// assert_eq!(format!("{key:?}"), "ApiKey(<redacted>)");
/// assert_eq!(key.to_string(), "<redacted>");
/// assert_eq!(key.expose_secret(), "sk_live_123");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(HeaderValue);

impl ApiKey {
    /// Wraps a key, trimming surrounding white space (a key read from a file
    /// usually ends with a newline).
    ///
    /// # Errors
    /// [`InputError::ApiKey`] when the key is empty or holds characters that
    /// cannot go in a header. The error never holds the key.
    pub fn new(key: impl AsRef<str>) -> Result<Self, InputError> {
        let key = key.as_ref().trim();
        if key.is_empty() {
            return Err(InputError::ApiKey("is empty"));
        }
        if !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(InputError::ApiKey(
                "holds white space or characters that cannot go in an HTTP header",
            ));
        }
        let mut value =
            HeaderValue::from_str(key).map_err(|_| InputError::ApiKey("cannot go in a header"))?;
        value.set_sensitive(true);
        Ok(ApiKey(value))
    }

    /// The key itself. Send it to the API origin and nowhere else.
    #[must_use]
    pub fn expose_secret(&self) -> &str {
        // Only visible ASCII gets in, so this cannot fail.
        self.0.to_str().unwrap_or_default()
    }

    /// `text` with the key, in any spelling a JSON or URL decoder reads as
    /// the key, replaced by `<redacted>`: for text that holds what a user
    /// wrote (a schema's field names) or a server sent, before it is shown.
    ///
    /// ```
    /// use sarvam_doc_core::ApiKey;
    /// let key = ApiKey::new("sk_live_abc")?;
    /// assert_eq!(key.redact("field sk_live_abc, or %73k_live_abc"), "field <redacted>, or <redacted>");
    /// # Ok::<(), sarvam_doc_core::error::InputError>(())
    /// ```
    #[must_use]
    pub fn redact(&self, text: &str) -> String {
        let key = self.expose_secret();
        match crate::error::redact_body(text.as_bytes(), Some(text), key) {
            std::borrow::Cow::Borrowed(_) => text.to_owned(),
            std::borrow::Cow::Owned(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// The key as a header value marked sensitive, so that `Debug` of a
    /// request does not show it.
    pub(crate) fn header_value(&self) -> HeaderValue {
        self.0.clone()
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A checked origin (plus optional path prefix) for the API.
#[derive(Clone, PartialEq, Eq)]
pub struct BaseUrl {
    scheme: Scheme,
    authority: Authority,
    prefix: String,
}

impl BaseUrl {
    /// Parses and checks a base URL: `https`, or `http` to a loopback host
    /// (`127.0.0.0/8`, `::1`, `localhost`) unless `allow_insecure_http`; no
    /// user name or password, query or fragment. A path is kept as a prefix.
    ///
    /// # Errors
    /// [`InputError::Url`] naming what is wrong.
    pub fn parse(url: &str, allow_insecure_http: bool) -> Result<Self, InputError> {
        let uri = check_url("base URL", url, allow_insecure_http)?;
        let bad = |reason: &str| InputError::Url {
            role: "base URL",
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        if uri.query().is_some() || url.contains('#') {
            return Err(bad("a base URL has no query or fragment"));
        }
        let (Some(scheme), Some(authority)) = (uri.scheme().cloned(), uri.authority().cloned())
        else {
            return Err(bad("it needs a scheme and a host"));
        };
        Ok(BaseUrl {
            scheme,
            authority,
            prefix: uri.path().trim_end_matches('/').to_owned(),
        })
    }

    /// The URL of `path` (which starts with `/`) under this base.
    pub(crate) fn join(&self, path: &str) -> Uri {
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(format!("{}{path}", self.prefix))
            .build()
            // Scheme and authority were parsed already; the path is ours.
            .unwrap_or_default()
    }

    /// Whether `uri` is on this base's origin (scheme, host and port).
    #[must_use]
    pub fn same_origin(&self, uri: &Uri) -> bool {
        uri.scheme() == Some(&self.scheme)
            && uri.authority().is_some_and(|a| {
                a.host().eq_ignore_ascii_case(self.authority.host())
                    && effective_port(a, &self.scheme)
                        == effective_port(&self.authority, &self.scheme)
            })
    }
}

fn effective_port(a: &Authority, scheme: &Scheme) -> u16 {
    a.port_u16()
        .unwrap_or(if *scheme == Scheme::HTTPS { 443 } else { 80 })
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}{}", self.scheme, self.authority, self.prefix)
    }
}

impl fmt::Debug for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BaseUrl({self})")
    }
}

/// Which of Sarvam's two document APIs a client speaks.
///
/// Both run a document through an asynchronous job; they differ in every
/// message. A [`Config`] picks one, and every machine and call made from it
/// follows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApiVersion {
    /// `/doc-digitization/job/v1`: create, upload, start, status, download.
    /// Marked legacy by Sarvam, kept for existing integrations.
    #[default]
    Legacy,
    /// `/doc-ai/v1`: presign and upload, one submit that creates and starts
    /// (digitise, parse or extract), status, results, download URL. What
    /// Sarvam points new integrations to.
    DocAi,
}

impl ApiVersion {
    /// The name on the command line and in journals: `legacy` or `doc-ai`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            ApiVersion::Legacy => "legacy",
            ApiVersion::DocAi => "doc-ai",
        }
    }
}

impl std::fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything the core needs to build requests and read answers.
///
/// ```
/// use sarvam_doc_core::{ApiKey, Config};
/// let config = Config::builder(ApiKey::new("sk_test")?)
///     .base_url("http://127.0.0.1:8080")
///     .build()?;
/// assert_eq!(config.base_url().to_string(), "http://127.0.0.1:8080");
/// assert!(!format!("{config:?}").contains("sk_test"));
/// # Ok::<(), sarvam_doc_core::error::InputError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Config {
    base_url: BaseUrl,
    api_key: ApiKey,
    user_agent: HeaderValue,
    max_json_body: usize,
    allow_insecure_http: bool,
    api_version: ApiVersion,
}

impl Config {
    /// The configuration for Sarvam's public API with `api_key`.
    #[must_use]
    pub fn new(api_key: ApiKey) -> Self {
        Config {
            base_url: BaseUrl::parse(DEFAULT_BASE_URL, false)
                .unwrap_or_else(|_| unreachable!("the default base URL is valid")),
            api_key,
            user_agent: HeaderValue::from_static(concat!("sarvam-doc/", env!("CARGO_PKG_VERSION"))),
            max_json_body: DEFAULT_MAX_JSON_BODY,
            allow_insecure_http: false,
            api_version: ApiVersion::Legacy,
        }
    }

    /// A builder starting from [`Config::new`].
    pub fn builder(api_key: ApiKey) -> ConfigBuilder {
        ConfigBuilder {
            config: Config::new(api_key),
            base_url: None,
            user_agent: None,
        }
    }

    /// The API's base URL.
    #[must_use]
    pub fn base_url(&self) -> &BaseUrl {
        &self.base_url
    }

    /// The API key.
    #[must_use]
    pub fn api_key(&self) -> &ApiKey {
        &self.api_key
    }

    /// The `User-Agent` sent with every request.
    #[must_use]
    pub fn user_agent(&self) -> &HeaderValue {
        &self.user_agent
    }

    /// The largest JSON body read, in bytes.
    #[must_use]
    pub fn max_json_body(&self) -> usize {
        self.max_json_body
    }

    /// Whether plain `http` to hosts other than loopback is allowed (for the
    /// base URL and for presigned storage URLs).
    #[must_use]
    pub fn allow_insecure_http(&self) -> bool {
        self.allow_insecure_http
    }

    /// Which API the machines and calls made from this configuration speak.
    #[must_use]
    pub fn api_version(&self) -> ApiVersion {
        self.api_version
    }
}

/// Builds a [`Config`]; everything is checked in [`ConfigBuilder::build`].
#[derive(Debug)]
#[must_use]
pub struct ConfigBuilder {
    config: Config,
    base_url: Option<String>,
    user_agent: Option<String>,
}

impl ConfigBuilder {
    /// The API's base URL (default [`DEFAULT_BASE_URL`]).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Allows plain `http` to hosts other than loopback, for the base URL and
    /// presigned URLs (for a test server in a private network). Off by default.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.config.allow_insecure_http = allow;
        self
    }

    /// Which API to speak (default [`ApiVersion::Legacy`]).
    pub fn api_version(mut self, version: ApiVersion) -> Self {
        self.config.api_version = version;
        self
    }

    /// The `User-Agent` header (default `sarvam-doc/<version>`).
    pub fn user_agent(mut self, agent: impl Into<String>) -> Self {
        self.user_agent = Some(agent.into());
        self
    }

    /// The largest JSON response body read, in bytes (default 4 MiB).
    pub fn max_json_body(mut self, bytes: usize) -> Self {
        self.config.max_json_body = bytes;
        self
    }

    /// Checks everything and returns the configuration.
    ///
    /// # Errors
    /// [`InputError::Url`] for a base URL that is not `https` (nor loopback,
    /// nor allowed insecure) or is malformed; [`InputError::UserAgent`].
    pub fn build(self) -> Result<Config, InputError> {
        let mut config = self.config;
        if let Some(url) = self.base_url {
            config.base_url = BaseUrl::parse(&url, config.allow_insecure_http)?;
        }
        if let Some(agent) = self.user_agent {
            config.user_agent = HeaderValue::from_str(&agent).map_err(|_| InputError::UserAgent)?;
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked_and_trimmed() {
        assert_eq!(ApiKey::new("  k\n").unwrap().expose_secret(), "k");
        assert!(matches!(ApiKey::new(" \n"), Err(InputError::ApiKey(_))));
        assert!(matches!(ApiKey::new("a b"), Err(InputError::ApiKey(_))));
        assert!(matches!(ApiKey::new("ké"), Err(InputError::ApiKey(_))));
        // The error never holds the key.
        let e = ApiKey::new("sec ret").unwrap_err();
        assert!(!e.to_string().contains("sec"));
    }

    #[test]
    fn base_urls_must_be_https_or_loopback() {
        for ok in [
            "https://api.sarvam.ai",
            "https://api.sarvam.ai/",
            "http://127.0.0.1:9000",
            "http://127.1.2.3",
            "http://[::1]:8080/",
            "http://localhost:1",
            "https://proxy.example.com/sarvam/",
        ] {
            BaseUrl::parse(ok, false).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in [
            "http://api.sarvam.ai",
            "http://10.0.0.1",
            "ftp://127.0.0.1",
            "api.sarvam.ai",
            "/relative",
            "https://user:pw@api.sarvam.ai",
            "https://api.sarvam.ai?x=1",
            "http://localhost.evil.com",
            "",
        ] {
            assert!(
                matches!(BaseUrl::parse(bad, false), Err(InputError::Url { .. })),
                "{bad}"
            );
        }
        assert!(BaseUrl::parse("http://10.0.0.1", true).is_ok());
    }

    #[test]
    fn join_keeps_the_prefix_and_drops_trailing_slashes() {
        let base = BaseUrl::parse("https://proxy.example.com/sarvam/", false).unwrap();
        assert_eq!(
            base.join("/doc-digitization/job/v1").to_string(),
            "https://proxy.example.com/sarvam/doc-digitization/job/v1"
        );
    }

    #[test]
    fn same_origin_compares_scheme_host_and_port() {
        let base = BaseUrl::parse("https://api.sarvam.ai", false).unwrap();
        assert!(base.same_origin(&"https://API.sarvam.ai:443/x".parse().unwrap()));
        assert!(!base.same_origin(&"http://api.sarvam.ai/x".parse().unwrap()));
        assert!(!base.same_origin(&"https://api.sarvam.ai:8443/x".parse().unwrap()));
        assert!(!base.same_origin(&"https://blob.core.windows.net/x".parse().unwrap()));
    }
}
