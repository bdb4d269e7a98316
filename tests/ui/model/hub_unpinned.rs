use estimator::prelude::*;

// a branch moves: the build must read the same config every time
model!(pub Moving = hub "acme/tiny-llama@main" in "../../fixtures/hf-cache");

fn main() {}
