//! A [`Config`] resolved against the page: absolute refresh URL, the page's origin, the classifier.

use alloc::string::String;

use crate::browser::global::location_href;
use crate::config::origin_of;
use crate::{Config, ConfigError};
use js_sys::Function;
use web_sys::Url;

/// Everything the browser layer needs, fixed when the client is built.
#[derive(Debug)]
pub(crate) struct Settings {
    pub config: Config,
    /// `refreshUrl` resolved against the page.
    pub refresh_url: String,
    /// The page's origin; `None` where there is no `location` (e.g. a non-browser host).
    pub page_origin: Option<String>,
    /// The app's `classifyRefresh(response)`, if given.
    pub classify: Option<Function>,
}

impl Settings {
    pub fn new(config: Config, classify: Option<Function>) -> Result<Settings, ConfigError> {
        let href = location_href();
        let page_origin = href.as_deref().and_then(origin_of);
        let resolved = match &href {
            Some(base) => Url::new_with_base(&config.refresh_url, base),
            None => Url::new(&config.refresh_url),
        };
        let refresh_url = resolved.map(|u| u.href()).map_err(|_| {
            ConfigError::new("refreshUrl", "must be a valid URL (absolute, or relative to the page)")
        })?;
        let settings = Settings { config, refresh_url, page_origin, classify };
        let origin = origin_of(&settings.refresh_url);
        if !settings.handles(origin.as_deref()) {
            return Err(ConfigError::new(
                "refreshUrl",
                "must be on the page's origin or on one of allowedOrigins",
            ));
        }
        Ok(settings)
    }

    /// Whether requests to `origin` get credentials, CSRF and refresh handling.
    pub fn handles(&self, origin: Option<&str>) -> bool {
        let Some(origin) = origin else { return false };
        self.page_origin.as_deref() == Some(origin) || self.config.allowed_origins.iter().any(|o| o == origin)
    }
}
