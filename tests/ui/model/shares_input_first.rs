use estimator::prelude::*;

model! {
    pub Attn {
        shares_input k_proj: Linear<64, 64>,
    }
}

fn main() {}
