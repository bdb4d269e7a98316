use estimator::prelude::*;

model!(pub Llama = configs::LLAMA);

fn main() {}
