//! A configuration byte, read boundaries, then a chunked body: see
//! `ferrohttp::h1::fuzzing::check_chunked`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ferrohttp::h1::fuzzing::check_chunked(data));
