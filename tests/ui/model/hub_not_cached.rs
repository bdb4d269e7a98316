use estimator::prelude::*;

// the macro never reaches the network: a commit the cache lacks is an error saying how to fetch it
model!(pub Absent = hub "acme/tiny-llama@fedcba9876543210fedcba9876543210fedcba98" in "../../fixtures/hf-cache");

fn main() {}
