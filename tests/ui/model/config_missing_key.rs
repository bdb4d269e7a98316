use estimator::prelude::*;

model!(pub Llama = "llama-missing-key.json");

fn main() {}
