//! Client options: a validated [`Config`], built with [`ConfigBuilder`] or deserialised from [`Options`].

use crate::error::ConfigError;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use serde::Deserialize;

/// Where the CSRF token is read from and which header carries it (Django: `csrftoken` → `X-CSRFToken`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Csrf {
    /// Name of the cookie holding the CSRF token.
    pub cookie: String,
    /// Name of the request header the token is copied into, on unsafe methods only.
    pub header: String,
}

impl Csrf {
    /// Django's defaults: cookie `csrftoken`, header `X-CSRFToken`.
    pub fn django() -> Self {
        Csrf { cookie: "csrftoken".into(), header: "X-CSRFToken".into() }
    }
}

/// A validated client configuration. Build one with [`Config::builder`].
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub(crate) refresh_url: String,
    pub(crate) refresh_method: String,
    pub(crate) refresh_headers: Vec<(String, String)>,
    pub(crate) refresh_body: Option<String>,
    pub(crate) auth_statuses: Vec<u16>,
    pub(crate) allowed_origins: Vec<String>,
    pub(crate) csrf: Option<Csrf>,
    pub(crate) refresh_timeout_ms: u32,
    pub(crate) cross_tab: bool,
    pub(crate) lock_timeout_ms: u32,
    pub(crate) confirm_delay_ms: u32,
    pub(crate) max_concurrent: Option<u32>,
}

impl Config {
    /// Starts a configuration whose refresh endpoint is `refresh_url` (absolute, or relative to the page).
    pub fn builder(refresh_url: impl Into<String>) -> ConfigBuilder {
        ConfigBuilder {
            config: Config {
                refresh_url: refresh_url.into(),
                refresh_method: "POST".into(),
                refresh_headers: vec![("Content-Type".into(), "application/json".into())],
                refresh_body: Some("{}".into()),
                auth_statuses: vec![401],
                allowed_origins: Vec::new(),
                csrf: None,
                refresh_timeout_ms: 10_000,
                cross_tab: true,
                lock_timeout_ms: 3_000,
                confirm_delay_ms: 1_000,
                max_concurrent: None,
            },
        }
    }

    /// The refresh endpoint as configured.
    pub fn refresh_url(&self) -> &str {
        &self.refresh_url
    }

    /// The origins (besides the page's own) that get credentials, CSRF headers and refresh handling.
    pub fn allowed_origins(&self) -> &[String] {
        &self.allowed_origins
    }

    /// Whether `status` means "the access token was not accepted".
    pub fn is_auth_status(&self, status: u16) -> bool {
        self.auth_statuses.contains(&status)
    }
}

/// Builds a [`Config`]; every setter is checked when [`ConfigBuilder::build`] runs.
#[derive(Clone, Debug)]
pub struct ConfigBuilder {
    config: Config,
}

impl ConfigBuilder {
    /// HTTP method of the refresh call (default `POST`).
    pub fn refresh_method(mut self, method: impl Into<String>) -> Self {
        self.config.refresh_method = method.into();
        self
    }

    /// Replaces the refresh call's headers (default `Content-Type: application/json`).
    pub fn refresh_headers(mut self, headers: Vec<(String, String)>) -> Self {
        self.config.refresh_headers = headers;
        self
    }

    /// Body of the refresh call (default `{}`); `None` sends no body.
    pub fn refresh_body(mut self, body: Option<String>) -> Self {
        self.config.refresh_body = body;
        self
    }

    /// Statuses that mean "access token not accepted" (default `[401]`); each must be 400–599.
    pub fn auth_statuses(mut self, statuses: Vec<u16>) -> Self {
        self.config.auth_statuses = statuses;
        self
    }

    /// Adds an origin such as `https://api.example.com` that gets credentials and refresh handling.
    pub fn allowed_origin(mut self, origin: impl Into<String>) -> Self {
        self.config.allowed_origins.push(origin.into());
        self
    }

    /// Copies a CSRF cookie into a header on unsafe methods (default off).
    pub fn csrf(mut self, csrf: Option<Csrf>) -> Self {
        self.config.csrf = csrf;
        self
    }

    /// How long a refresh call may take before it counts as failed (default 10 000 ms). A call
    /// that takes longer is abandoned, not aborted: a late success still counts.
    pub fn refresh_timeout_ms(mut self, ms: u32) -> Self {
        self.config.refresh_timeout_ms = ms;
        self
    }

    /// Coordinate refreshes with other tabs and clients of this origin (default on).
    pub fn cross_tab(mut self, on: bool) -> Self {
        self.config.cross_tab = on;
        self
    }

    /// The longest a tab waits for another tab's refresh before it goes ahead (default 3 000 ms).
    /// With `cross_tab`, a refresh ends within `lock_timeout_ms` + `confirm_delay_ms` + `refresh_timeout_ms`.
    pub fn lock_timeout_ms(mut self, ms: u32) -> Self {
        self.config.lock_timeout_ms = ms;
        self
    }

    /// Before a rejected refresh ends the session, wait this long and call once more (default
    /// 1 000 ms, at most 60 000; 0 turns it off). A rejection can be transient: a refresh view
    /// that authenticates the access cookie rejects while the browser still sends the expired one.
    /// Safe, as a rejected refresh rotated nothing; a real expiry is reported this much later.
    pub fn confirm_delay_ms(mut self, ms: u32) -> Self {
        self.config.confirm_delay_ms = ms;
        self
    }

    /// At most `max` handled requests in flight, none sent while a refresh runs (default: no cap).
    /// About 6 suits HTTP/1.1 servers, where a burst after expiry then costs a handful of 401s
    /// instead of one per request; over HTTP/2 a cap only slows bursts down.
    pub fn max_concurrent(mut self, max: Option<u32>) -> Self {
        self.config.max_concurrent = max;
        self
    }

    /// Checks every option and returns the configuration, or the first invalid field.
    pub fn build(self) -> Result<Config, ConfigError> {
        let mut c = self.config;
        let url = c.refresh_url.trim();
        if url.is_empty() {
            return Err(ConfigError::new("refreshUrl", "is required"));
        }
        if url.chars().any(char::is_control) {
            return Err(ConfigError::new("refreshUrl", "must not contain control characters"));
        }
        c.refresh_url = url.into();
        if !is_token(&c.refresh_method) {
            return Err(ConfigError::new("refreshMethod", "must be an HTTP method such as POST"));
        }
        c.refresh_method.make_ascii_uppercase();
        if c.refresh_body.is_some() && matches!(c.refresh_method.as_str(), "GET" | "HEAD") {
            return Err(ConfigError::new("refreshBody", "must be null when refreshMethod is GET or HEAD"));
        }
        for (name, value) in &c.refresh_headers {
            if !is_token(name) {
                return Err(ConfigError::new("refreshHeaders", "header names must be HTTP tokens"));
            }
            if value.contains(['\r', '\n', '\0']) {
                return Err(ConfigError::new("refreshHeaders", "header values must not contain line breaks"));
            }
        }
        if c.auth_statuses.is_empty() {
            return Err(ConfigError::new("authStatuses", "must list at least one status"));
        }
        if c.auth_statuses.iter().any(|s| !(400..=599).contains(s)) {
            return Err(ConfigError::new("authStatuses", "each status must be between 400 and 599"));
        }
        for origin in c.allowed_origins.iter_mut() {
            match normalize_origin(origin) {
                Some(o) => *origin = o,
                None => return Err(ConfigError::new(
                    "allowedOrigins",
                    "each entry must be an origin like https://api.example.com (scheme and host, no path)",
                )),
            }
        }
        if let Some(csrf) = &c.csrf {
            if !is_token(&csrf.cookie) {
                return Err(ConfigError::new("csrf.cookie", "must be a cookie name"));
            }
            if !is_token(&csrf.header) {
                return Err(ConfigError::new("csrf.header", "must be a header name"));
            }
        }
        if c.refresh_timeout_ms == 0 || c.refresh_timeout_ms > 600_000 {
            return Err(ConfigError::new("refreshTimeoutMs", "must be between 1 and 600000 milliseconds"));
        }
        if c.lock_timeout_ms == 0 || c.lock_timeout_ms > 600_000 {
            return Err(ConfigError::new("lockTimeoutMs", "must be between 1 and 600000 milliseconds"));
        }
        if c.confirm_delay_ms > 60_000 {
            return Err(ConfigError::new("confirmDelayMs", "must be between 0 and 60000 milliseconds"));
        }
        if c.max_concurrent.is_some_and(|m| m == 0 || m > 10_000) {
            return Err(ConfigError::new("maxConcurrent", "must be a whole number from 1 to 10000"));
        }
        Ok(c)
    }
}

/// The options as a Rust front end may load them from JSON or TOML (names as in JavaScript).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Options {
    /// See [`Config::builder`].
    pub refresh_url: String,
    /// See [`ConfigBuilder::refresh_method`].
    pub refresh_method: Option<String>,
    /// See [`ConfigBuilder::refresh_headers`]: an object of header names to values, as in JavaScript.
    pub refresh_headers: Option<BTreeMap<String, String>>,
    /// See [`ConfigBuilder::refresh_body`]; `Some(None)` (JSON `null`) sends no body.
    #[serde(default, deserialize_with = "double_option")]
    pub refresh_body: Option<Option<String>>,
    /// See [`ConfigBuilder::auth_statuses`].
    pub auth_statuses: Option<Vec<u16>>,
    /// See [`ConfigBuilder::allowed_origin`].
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// See [`ConfigBuilder::csrf`].
    pub csrf: Option<Csrf>,
    /// See [`ConfigBuilder::refresh_timeout_ms`].
    pub refresh_timeout_ms: Option<u32>,
    /// See [`ConfigBuilder::cross_tab`].
    pub cross_tab: Option<bool>,
    /// See [`ConfigBuilder::lock_timeout_ms`].
    pub lock_timeout_ms: Option<u32>,
    /// See [`ConfigBuilder::confirm_delay_ms`].
    pub confirm_delay_ms: Option<u32>,
    /// See [`ConfigBuilder::max_concurrent`].
    pub max_concurrent: Option<u32>,
}

fn double_option<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

impl TryFrom<Options> for Config {
    type Error = ConfigError;

    fn try_from(o: Options) -> Result<Config, ConfigError> {
        let mut b = Config::builder(o.refresh_url);
        if let Some(m) = o.refresh_method {
            b = b.refresh_method(m);
        }
        if let Some(h) = o.refresh_headers {
            b = b.refresh_headers(h.into_iter().collect());
        }
        if let Some(body) = o.refresh_body {
            b = b.refresh_body(body);
        }
        if let Some(s) = o.auth_statuses {
            b = b.auth_statuses(s);
        }
        for origin in o.allowed_origins {
            b = b.allowed_origin(origin);
        }
        if let Some(ms) = o.refresh_timeout_ms {
            b = b.refresh_timeout_ms(ms);
        }
        if let Some(on) = o.cross_tab {
            b = b.cross_tab(on);
        }
        if let Some(ms) = o.lock_timeout_ms {
            b = b.lock_timeout_ms(ms);
        }
        if let Some(ms) = o.confirm_delay_ms {
            b = b.confirm_delay_ms(ms);
        }
        b.csrf(o.csrf).max_concurrent(o.max_concurrent).build()
    }
}

/// `true` for a non-empty RFC 9110 token (header names, methods, cookie names).
fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Lower-cases `http(s)://host[:port]`, drops a trailing `/` and a default port; `None` if it is not an origin.
pub(crate) fn normalize_origin(input: &str) -> Option<String> {
    let s = input.trim().trim_end_matches('/').to_ascii_lowercase();
    let (scheme, rest) = s.split_once(':')?;
    let rest = rest.strip_prefix("//")?;
    let default_port = match scheme {
        "http" => ":80",
        "https" => ":443",
        _ => return None,
    };
    if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ', '\\']) {
        return None;
    }
    let host = rest.strip_suffix(default_port).unwrap_or(rest);
    if let Some((name, port)) = host.rsplit_once(':').filter(|_| !host.ends_with(']')) {
        if name.is_empty() || port.is_empty() || port.parse::<u16>().is_err() {
            return None;
        }
    }
    let mut out = String::from(scheme);
    out.push_str("://");
    out.push_str(host);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_simple_jwt_cookie_refresh() {
        let c = Config::builder("/api/auth/token/refresh/").build().unwrap();
        assert_eq!(c.refresh_method, "POST");
        assert_eq!(c.refresh_body.as_deref(), Some("{}"));
        assert!(c.is_auth_status(401) && !c.is_auth_status(403));
        assert_eq!((c.refresh_timeout_ms, c.lock_timeout_ms, c.confirm_delay_ms), (10_000, 3_000, 1_000));
        assert!(c.csrf.is_none() && c.cross_tab);
    }

    #[test]
    fn each_bad_option_is_named() {
        let cases: Vec<(ConfigBuilder, &str)> = vec![
            (Config::builder("  "), "refreshUrl"),
            (Config::builder("/r").refresh_method("PO ST"), "refreshMethod"),
            (Config::builder("/r").refresh_method("get"), "refreshBody"),
            (Config::builder("/r").auth_statuses(vec![]), "authStatuses"),
            (Config::builder("/r").auth_statuses(vec![200]), "authStatuses"),
            (Config::builder("/r").allowed_origin("ftp://x"), "allowedOrigins"),
            (Config::builder("/r").allowed_origin("https://a.com/path"), "allowedOrigins"),
            (Config::builder("/r").allowed_origin("https://a.com:99999"), "allowedOrigins"),
            (Config::builder("/r").refresh_timeout_ms(0), "refreshTimeoutMs"),
            (Config::builder("/r").lock_timeout_ms(0), "lockTimeoutMs"),
            (Config::builder("/r").confirm_delay_ms(60_001), "confirmDelayMs"),
            (Config::builder("/r").max_concurrent(Some(0)), "maxConcurrent"),
            (
                Config::builder("/r").csrf(Some(Csrf { cookie: "a b".into(), header: "X".into() })),
                "csrf.cookie",
            ),
            (Config::builder("/r").refresh_headers(vec![("X".into(), "a\r\nb".into())]), "refreshHeaders"),
        ];
        for (builder, field) in cases {
            assert_eq!(builder.build().unwrap_err().field, field);
        }
    }

    #[test]
    fn origins_are_normalised() {
        assert_eq!(
            normalize_origin("HTTPS://API.example.com:443/").as_deref(),
            Some("https://api.example.com")
        );
        assert_eq!(normalize_origin("http://127.0.0.1:8765").as_deref(), Some("http://127.0.0.1:8765"));
        assert_eq!(normalize_origin("http://[::1]").as_deref(), Some("http://[::1]"));
        assert_eq!(normalize_origin("http://user@host"), None);
    }

    #[test]
    fn options_deserialise_into_a_checked_config() {
        let o = Options {
            refresh_url: "/r".into(),
            refresh_body: Some(None),
            allowed_origins: vec!["https://api.example.com/".into()],
            csrf: Some(Csrf::django()),
            confirm_delay_ms: Some(0),
            ..Options::default()
        };
        let c = Config::try_from(o).unwrap();
        assert_eq!((c.refresh_body.as_deref(), c.confirm_delay_ms), (None, 0));
        assert_eq!(c.allowed_origins(), ["https://api.example.com".to_string()]);
    }
}
