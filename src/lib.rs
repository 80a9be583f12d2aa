#![doc = include_str!("../README.md")]
#![deny(missing_docs, missing_debug_implementations)]
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

// The npm package's allocator; only the wasm `no_std` build installs it, the rest test it.
#[cfg_attr(not(all(target_arch = "wasm32", not(feature = "std"))), allow(dead_code))]
mod heap;

#[cfg(all(target_arch = "wasm32", not(feature = "std")))]
mod no_std_runtime {
    /// Nothing in authflight panics on any input (it returns errors instead); should a bug panic
    /// anyway, trap at once rather than ship std's message formatting to every browser.
    #[panic_handler]
    fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
        core::arch::wasm32::unreachable()
    }
}

pub mod config;
pub mod engine;
pub mod error;

#[cfg(target_arch = "wasm32")]
pub mod browser;
#[cfg(target_arch = "wasm32")]
pub mod js;

#[cfg(target_arch = "wasm32")]
pub use browser::{AuthClient, FetchRequest};
pub use config::{Config, ConfigBuilder, Csrf, Options};
pub use error::{AuthError, ConfigError, ErrorCode};
