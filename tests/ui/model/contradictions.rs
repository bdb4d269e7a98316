use estimator::prelude::*;

model! {
    pub FrozenAdapter {
        embed: Embedding<100, 64>,
        frozen lora(8) q_proj: Linear<64, 64, false>,
        tied lora(8) head: Linear<64, 100, false>,
    }
}

model! {
    pub TargetsFrozen {
        frozen q_proj: Linear<64, 64, false>,
        lora(rank = 8, targets = [q_proj]),
    }
}

// a tied head with nothing to share: its weights would vanish from the count
model! {
    pub Orphan {
        norm: LayerNorm<64>,
        tied head: Linear<64, 100, false>,
    }
}

model! {
    pub Suffixed {
        d = 300u8,
        layer: Linear<d, d>,
    }
}

fn main() {}
