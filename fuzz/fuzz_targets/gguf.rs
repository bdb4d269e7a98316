//! Any bytes as a GGUF file's header: an error or a header, never a panic and never an
//! allocation the bytes do not pay for.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| estimator_cli::fuzz::gguf(data));
