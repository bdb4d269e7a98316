//! Any argument list (lines of the input): output and one line on stderr at most, exit status
//! 0, 1 or 2, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| estimator_cli::fuzz::args(data));
