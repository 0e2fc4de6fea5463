//! What every Offsite function shares.
//!
//! - [`config`]: typed settings read once from environment variables, with errors that name
//!   the variable, the value and the expected form.
//! - [`aws`]: the SDK configuration, built from an explicit endpoint setting and with the
//!   SDK's retries configured, so that no stray variable silently redirects a function.
//! - [`account`]: AWS account identifiers, validated where they enter.
//!
//! Decision logic lives here as plain functions over plain data; AWS calls live in thin
//! adapters in the function crates.

pub mod account;
pub mod aws;
pub mod config;
mod error;
pub mod identifier;
pub mod logging;
pub mod metrics;
pub mod notice;
pub mod presign;
pub mod rds;
pub mod rds_error;
pub mod snapshot;
pub mod table;
pub mod tags;

pub use account::AccountId;
pub use error::{CommonError, ConfigError};
