use estimator::prelude::*;

model!(pub Llama = "truncated-config.json");

fn main() {}
