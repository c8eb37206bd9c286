#![no_main]
//! Frames from arbitrary bytes; run with and without `alloc`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| teleport_fuzz::harness::frame_stream(data));
