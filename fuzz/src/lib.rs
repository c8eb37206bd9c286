//! Shared checks of the fuzz targets (see `harness.rs`).
#![forbid(unsafe_code)]

#[path = "harness.rs"]
pub mod harness;
