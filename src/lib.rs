#![doc = include_str!("../README.md")]
#![deny(missing_docs, missing_debug_implementations)]

pub mod config;
pub mod engine;
pub mod error;

pub use config::{Config, ConfigBuilder, Csrf, Options};
pub use error::{AuthError as GenericAuthError, ConfigError, ErrorCode};
