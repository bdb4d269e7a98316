use estimator::prelude::*;

model! {
    pub Empty {
        d_model = 768,
    }
}

fn main() {}
