//! Any bytes as a config.json: an error or a model whose every estimate is computed, never a
//! panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| estimator_cli::fuzz::config(data));
