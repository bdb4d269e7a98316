use estimator::prelude::*;

model!(pub Missing = "no-such-config.json");

fn main() {}
