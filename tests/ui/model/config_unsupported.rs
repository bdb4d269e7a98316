use estimator::prelude::*;

model!(pub T5 = "t5-config.json");

fn main() {}
