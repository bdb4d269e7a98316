use estimator::prelude::*;

model!(pub XlNet = "xlnet-config.json");

fn main() {}
