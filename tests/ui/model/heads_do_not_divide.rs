use estimator::prelude::*;

model! {
    pub Odd {
        d_model = 768,
        n_heads = 7,
        attn: MultiHeadAttention<d_model, n_heads>,
    }
}

const _: u64 = Odd::PARAMS;

fn main() {}
