use estimator::prelude::*;

model! {
    pub Gpt {
        d_model = 768,
        d_ff = 4 * d_modl,
        mlp: FeedForward<d_model, d_ff>,
    }
}

fn main() {}
