//! The one error type of authflight, shared by the Rust API and the JS surface.

use alloc::borrow::Cow;
use alloc::string::String;
use core::fmt;

/// The default cause type of [`AuthError`]: the JS value `fetch` rejected with.
#[cfg(target_arch = "wasm32")]
pub type Cause = wasm_bindgen::JsValue;
/// The default cause type of [`AuthError`] off the web: nothing.
#[cfg(not(target_arch = "wasm32"))]
pub type Cause = ();

/// The stable, machine-readable kind of an [`AuthError`].
///
/// [`ErrorCode::as_str`] is the `code` property JavaScript callers see on the
/// rejected `AuthError`; these strings never change between versions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The refresh endpoint rejected the refresh token: the user must log in again.
    SessionExpired = 0,
    /// The refresh could not be completed (network error, timeout, 5xx). The session is not over.
    RefreshFailed = 1,
    /// The request still failed authentication after its one replay.
    Unauthorized = 2,
    /// The request itself failed at the network level.
    Network = 3,
    /// The caller's `AbortSignal` aborted the request.
    Aborted = 4,
    /// The client options are invalid; the message names the field.
    InvalidConfig = 5,
    /// The request body cannot be sent twice, so the request cannot be replayed.
    BodyNotReplayable = 6,
    /// The request's input or `init` is one `fetch` itself would refuse (the cause says why).
    InvalidRequest = 7,
    /// JavaScript only: a method was called on something that is not a live client (a wrong `this`,
    /// after `free()`), or before `init()`.
    InvalidCall = 8,
}

impl ErrorCode {
    /// The `code` string JavaScript sees, e.g. `"session_expired"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::SessionExpired => "session_expired",
            ErrorCode::RefreshFailed => "refresh_failed",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Network => "network",
            ErrorCode::Aborted => "aborted",
            ErrorCode::InvalidConfig => "invalid_config",
            ErrorCode::BodyNotReplayable => "body_not_replayable",
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidCall => "invalid_call",
        }
    }
}

/// An invalid option: which field, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The option's name as JavaScript spells it, e.g. `"refreshUrl"`.
    pub field: Cow<'static, str>,
    /// What is wrong with it, e.g. `"is required"`.
    pub reason: &'static str,
}

impl ConfigError {
    /// Creates a `ConfigError` for `field`.
    pub const fn new(field: &'static str, reason: &'static str) -> Self {
        ConfigError { field: Cow::Borrowed(field), reason }
    }

    /// Creates a `ConfigError` for an option whose name is only known at run time.
    pub fn named(field: String, reason: &'static str) -> Self {
        ConfigError { field: Cow::Owned(field), reason }
    }
}

/// Why `AuthClient` (the browser client, on wasm32) could not deliver a response.
///
/// `C` carries the underlying cause from the transport: a `JsValue` in the browser.
/// Responses with 4xx/5xx statuses are not errors: they resolve, exactly like `fetch`.
#[derive(Clone, Debug, PartialEq)]
pub enum AuthError<C = Cause> {
    /// The refresh endpoint rejected the refresh token (`status` is its answer, if any),
    /// or an earlier refresh did and no new login has been reported since.
    SessionExpired {
        /// The refresh response's status, when this request waited on that refresh.
        status: Option<u16>,
    },
    /// The refresh failed for a reason that does not end the session.
    RefreshFailed {
        /// The refresh response's status (e.g. 500), if there was a response.
        status: Option<u16>,
        /// The network error or timeout, if there was no response.
        cause: Option<C>,
    },
    /// The replayed request was rejected again with this auth status.
    Unauthorized {
        /// The replay's status, e.g. 401.
        status: u16,
    },
    /// The request failed at the network level (the `fetch` promise rejected).
    Network {
        /// The error `fetch` rejected with.
        cause: C,
    },
    /// The request's `AbortSignal` fired.
    Aborted,
    /// An option is invalid.
    InvalidConfig(ConfigError),
    /// The body is a stream that cannot be read twice.
    BodyNotReplayable,
    /// The request could not be built: `fetch` would refuse its input or `init` (a bad method,
    /// signal or URL, a `skipAuthRefresh` that is not a boolean).
    InvalidRequest {
        /// The `TypeError` that says why.
        cause: C,
    },
}

impl<C> AuthError<C> {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            AuthError::SessionExpired { .. } => ErrorCode::SessionExpired,
            AuthError::RefreshFailed { .. } => ErrorCode::RefreshFailed,
            AuthError::Unauthorized { .. } => ErrorCode::Unauthorized,
            AuthError::Network { .. } => ErrorCode::Network,
            AuthError::Aborted => ErrorCode::Aborted,
            AuthError::InvalidConfig(_) => ErrorCode::InvalidConfig,
            AuthError::BodyNotReplayable => ErrorCode::BodyNotReplayable,
            AuthError::InvalidRequest { .. } => ErrorCode::InvalidRequest,
        }
    }

    /// The HTTP status behind this error, where there is one.
    pub fn status(&self) -> Option<u16> {
        match self {
            AuthError::SessionExpired { status } | AuthError::RefreshFailed { status, .. } => *status,
            AuthError::Unauthorized { status } => Some(*status),
            _ => None,
        }
    }

    /// The underlying cause (a network error or timeout), where there is one.
    pub fn cause(&self) -> Option<&C> {
        match self {
            AuthError::RefreshFailed { cause, .. } => cause.as_ref(),
            AuthError::Network { cause } | AuthError::InvalidRequest { cause } => Some(cause),
            _ => None,
        }
    }

    /// A human-readable message, without any token or cookie value.
    pub fn message(&self) -> String {
        match self {
            AuthError::InvalidConfig(e) => {
                let mut m = String::from("invalid option `");
                m.push_str(&e.field);
                m.push_str("`: ");
                m.push_str(e.reason);
                m
            }
            other => String::from(other.static_message()),
        }
    }

    fn static_message(&self) -> &'static str {
        match self {
            AuthError::SessionExpired { .. } => "session expired: the refresh token was rejected; log in again",
            AuthError::RefreshFailed { .. } => "the token refresh failed (network error, timeout or server error); the session is still valid",
            AuthError::Unauthorized { .. } => "the request was rejected again after a successful token refresh",
            AuthError::Network { .. } => "network error: the request could not be sent",
            AuthError::Aborted => "the request was aborted",
            AuthError::InvalidConfig(_) => "invalid option",
            AuthError::InvalidRequest { .. } => "invalid request: fetch would refuse its input or init",
            AuthError::BodyNotReplayable => "the request body is a stream that cannot be replayed after a token refresh; pass a string, Blob, ArrayBuffer, FormData or URLSearchParams body",
        }
    }
}

impl<C> From<ConfigError> for AuthError<C> {
    fn from(e: ConfigError) -> Self {
        AuthError::InvalidConfig(e)
    }
}

impl<C> fmt::Display for AuthError<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code().as_str())?;
        f.write_str(": ")?;
        f.write_str(&self.message())
    }
}

impl<C: fmt::Debug> core::error::Error for AuthError<C> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_config_message_names_the_field() {
        let e: AuthError<()> = ConfigError::new("refreshUrl", "is required").into();
        assert_eq!(e.code().as_str(), "invalid_config");
        assert_eq!(e.message(), "invalid option `refreshUrl`: is required");
    }

    #[test]
    fn status_is_reported_where_known() {
        let e: AuthError<()> = AuthError::Unauthorized { status: 401 };
        assert_eq!(e.status(), Some(401));
        assert_eq!(AuthError::<()>::Aborted.status(), None);
    }
}
