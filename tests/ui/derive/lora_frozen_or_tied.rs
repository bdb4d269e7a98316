use estimator::prelude::*;

#[derive(Params)]
struct Attention {
    // the adapter would not train
    #[params(frozen)]
    q_proj: Lora<Linear<64, 64, false>, 8>,
    // the adapter would vanish with the shared weights
    #[params(tied)]
    v_proj: Lora<Linear<64, 64, false>, 8>,
}

fn main() {}
