//! A configuration byte, then a request head: see `ferrohttp::h1::fuzzing::check_head`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ferrohttp::h1::fuzzing::check_head(data));
