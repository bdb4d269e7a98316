//! Any bytes as a `validate` measurements file: a report or one error line, never a panic and
//! never a wrapped sum.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| estimator_cli::fuzz::measurements(data));
