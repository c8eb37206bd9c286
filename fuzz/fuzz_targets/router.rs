#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| teleport_fuzz::harness::router(data));
