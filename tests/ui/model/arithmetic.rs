use estimator::prelude::*;

model! {
    pub Bad {
        huge = 18446744073709551615 * 2,
        nothing = 768 / 0,
        negative = 1 - 2,
        fraction = 1.5,
        text = "768",
        zero = 0,
        layer: Linear<8, 8>,
    }
}

fn main() {}
