use estimator::prelude::*;

model! {
    pub NoRank {
        q_proj: Linear<64, 64, false>,
        lora(targets = [q_proj]),
    }
}

model! {
    pub ZeroRank {
        q_proj: Linear<64, 64, false>,
        lora(rank = 0, targets = [q_proj]),
    }
}

model! {
    pub Wrapped {
        lora(4) norm: LayerNorm<64>,
    }
}

fn main() {}
