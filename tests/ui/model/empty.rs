use estimator::prelude::*;

model! {}

fn main() {}
