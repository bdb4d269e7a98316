use estimator::prelude::*;

model! {
    pub Adapted {
        block Attention {
            q_proj: Linear<64, 64, false>,
            norm: LayerNorm<64>,
        }
        layers: [Attention; 2],
        lora(rank = 8, targets = [q_proj, k_proj, norm]),
    }
}

fn main() {}
