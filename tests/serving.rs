//! Serving as people run it: what the prompt's pass keeps (the logits policy), and the working
//! set of a long prompt.

use estimator::config::ModelConfig;
use estimator::{Inference, Phase};

fn config(text: &str) -> ModelConfig {
    ModelConfig::from_json(text).expect("a bundled config reads")
}

/// The prompt's logits: `generate()` passes `logits_to_keep=1` (transformers'
/// `GenerationMixin`: one token's logits per step), what engines do too; a forward call on the
/// whole prompt computes every token's. Llama-3-8B (configs/llama-3-8b.json, vocabulary
/// 128,256) at batch 4 × 8192, bf16.
#[test]
fn the_prompt_keeps_the_logits_the_plan_says() {
    use estimator::Logits;
    let cost = config(include_str!("../configs/llama-3-8b.json")).cost();
    let prefill = |l: Logits| {
        Inference::new(cost, "llama-3-8b")
            .batch(4)
            .prompt(8192)
            .logits(l)
            .at(Phase::Prefill)
            .logits
            .get()
    };
    assert_eq!(prefill(Logits::Last), 4 * 128_256 * 2);
    assert_eq!(prefill(Logits::Prompt), 4 * 8192 * 128_256 * 2);
    // the default is generate()'s
    assert_eq!(
        Inference::new(cost, "llama-3-8b")
            .batch(4)
            .prompt(8192)
            .at(Phase::Prefill)
            .logits
            .get(),
        prefill(Logits::Last)
    );
}
