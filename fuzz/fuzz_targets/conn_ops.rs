#![no_main]
//! The connection state machine on growable storage (with `alloc`) or fixed
//! inline storage (without): the firmware's configuration.

#[cfg(feature = "alloc")]
type Store = teleport_core::conn::Growable;
#[cfg(not(feature = "alloc"))]
type Store = teleport_core::conn::Fixed<1024, 1024, 4, 4>;

libfuzzer_sys::fuzz_target!(|data: &[u8]| teleport_fuzz::harness::conn_ops::<Store>(data));
