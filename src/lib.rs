#![doc = include_str!("../README.md")]
#![deny(missing_docs, missing_debug_implementations)]

pub mod config;
pub mod engine;
pub mod error;

#[cfg(target_arch = "wasm32")]
pub mod browser;
#[cfg(target_arch = "wasm32")]
pub mod js;

#[cfg(target_arch = "wasm32")]
pub use browser::AuthClient;
pub use config::{Config, ConfigBuilder, Csrf, Options};
pub use error::{AuthError, ConfigError, ErrorCode};
