//! Service-method routing.
//!
//! [`names`] derives route names from controller and method names exactly as
//! the Go framework's mappers do.

#[cfg(feature = "alloc")]
pub mod names;
