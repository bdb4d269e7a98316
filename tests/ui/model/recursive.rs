use estimator::prelude::*;

model! {
    pub Loop {
        block A {
            norm: LayerNorm<8>,
            inner: B,
        }
        block B {
            again: [A; 2],
        }
        layer: A,
    }
}

model! {
    pub Itself {
        layer: Linear<8, 8>,
        me: Itself,
    }
}

fn main() {}
