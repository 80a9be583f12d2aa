//! [`FetchRequest`]: the request types [`AuthClient::fetch`](super::AuthClient::fetch) takes, each
//! answered with its own response type. web-sys's always; gloo-net's with the `gloo` feature.

use crate::AuthError;

/// A request [`AuthClient::fetch`](super::AuthClient::fetch) sends, and the response it answers with.
///
/// | request | [`FetchRequest::Response`] | feature |
/// |---|---|---|
/// | [`web_sys::Request`] | [`web_sys::Response`] | |
/// | `gloo_net::http::Request` | `gloo_net::http::Response` | `gloo` |
/// | `gloo_net::http::RequestBuilder` (`Request::get(url).header(..)`) | `gloo_net::http::Response` | `gloo` |
/// | `Result<gloo_net::http::Request, gloo_net::Error>` (what `.body(..)` and `.json(..)` return) | `gloo_net::http::Response` | `gloo` |
///
/// With `gloo`, a gloo-net app keeps its request builders and hands them to the client instead of
/// calling `.send()`:
///
/// ```no_run
/// # async fn demo(api: &authflight::AuthClient) -> Result<(), authflight::AuthError> {
/// use gloo_net::http::Request;
/// // was: Request::get("/api/me/").header("Accept", "application/json").send().await
/// let me = api.fetch(Request::get("/api/me/").header("Accept", "application/json")).await?;
/// let created = api.fetch(Request::post("/api/notes/").body(r#"{"text":"hi"}"#)).await?;
/// assert_eq!((me.status(), created.ok()), (200, true));
/// # Ok(()) }
/// ```
///
/// A gloo-net request that cannot be built (a bad URL, a body that does not serialise) fails with
/// [`AuthError::InvalidRequest`], its cause a JS `Error` with gloo-net's name and message. Sealed:
/// the crate implements it, apps only use it.
pub trait FetchRequest: sealed::Sealed {
    /// What `fetch` answers with.
    type Response;

    /// The `web_sys::Request` to send; `invalid_request` if it cannot be built.
    fn into_request(self) -> Result<web_sys::Request, AuthError>;

    /// The answer to the request, as this request type's response.
    fn from_response(res: web_sys::Response) -> Self::Response;
}

mod sealed {
    pub trait Sealed {}
}

impl sealed::Sealed for web_sys::Request {}

impl FetchRequest for web_sys::Request {
    type Response = web_sys::Response;

    fn into_request(self) -> Result<web_sys::Request, AuthError> {
        Ok(self)
    }

    fn from_response(res: web_sys::Response) -> web_sys::Response {
        res
    }
}

#[cfg(feature = "gloo")]
mod gloo {
    use super::{sealed::Sealed, FetchRequest};
    use crate::AuthError;
    use gloo_net::http::{Request, RequestBuilder, Response};

    impl Sealed for Request {}
    impl Sealed for RequestBuilder {}
    impl Sealed for Result<Request, gloo_net::Error> {}

    impl FetchRequest for Request {
        type Response = Response;

        fn into_request(self) -> Result<web_sys::Request, AuthError> {
            Ok(self.into())
        }

        fn from_response(res: web_sys::Response) -> Response {
            res.into()
        }
    }

    impl FetchRequest for RequestBuilder {
        type Response = Response;

        fn into_request(self) -> Result<web_sys::Request, AuthError> {
            self.build().into_request()
        }

        fn from_response(res: web_sys::Response) -> Response {
            res.into()
        }
    }

    impl FetchRequest for Result<Request, gloo_net::Error> {
        type Response = Response;

        fn into_request(self) -> Result<web_sys::Request, AuthError> {
            self.map(Into::into).map_err(invalid_request)
        }

        fn from_response(res: web_sys::Response) -> Response {
            res.into()
        }
    }

    /// gloo-net's build error as `invalid_request`: a JS `Error` with its name (a JS error's, e.g.
    /// `TypeError`) and message.
    fn invalid_request(e: gloo_net::Error) -> AuthError {
        let cause = match &e {
            gloo_net::Error::JsError(js) => {
                let cause = js_sys::Error::new(&js.message);
                cause.set_name(&js.name);
                cause
            }
            other => js_sys::Error::new(&other.to_string()),
        };
        AuthError::InvalidRequest { cause: cause.into() }
    }
}
