//! BERT-base fine-tuned for sequence classification, declared with the `model!` DSL: named
//! hyper-parameters, a block, and the whole encoder in one place.
//!
//! Run: `cargo run --example bert`

use estimator::prelude::*;

model! {
    /// `BertModel(bert-base-uncased)` with a two-class head on the pooled output.
    pub BertClassifier {
        vocab_size = 30522,
        d_model = 768,
        n_heads = 12,
        n_layers = 12,
        d_ff = 4 * d_model,
        max_positions = 512,

        block BertLayer {
            query: Linear<d_model, d_model>,
            shares_input key: Linear<d_model, d_model>,
            shares_input value: Linear<d_model, d_model>,
            attn: AttentionCore<n_heads, n_heads, { d_model / n_heads }>,
            attention_output: Linear<d_model, d_model>,
            attention_dropout: Dropout<d_model>,
            attention_norm: LayerNorm<d_model>,
            intermediate: Linear<d_model, d_ff>,
            act: Gelu<d_ff>,
            output: Linear<d_ff, d_model>,
            output_dropout: Dropout<d_model>,
            output_norm: LayerNorm<d_model>,
        }

        word_embeddings: Embedding<vocab_size, d_model>,
        position_embeddings: PositionEmbedding<max_positions, d_model>,
        token_type_embeddings: Embedding<2, d_model>,
        embeddings_norm: LayerNorm<d_model>,
        position_ids: Buffer<max_positions, 8>,
        token_type_ids: Buffer<max_positions, 8>,
        encoder: [BertLayer; n_layers],
        pooler: Linear<d_model, d_model>,
        classifier: Linear<d_model, 2>,
    }
}

// PyTorch: BertModel(bert-base-uncased) = 109,482,240 parameters and 1,024 int64 buffers
// (tests/fixtures/params.json); the classifier adds 768·2 + 2.
const _: () = assert!(BertClassifier::PARAMS == 109_482_240 + 1538);
const _: () = assert!(BertClassifier::BUFFERS == 1024);

/// Fine-tuning at 512 tokens with fp16 autocast and AdamW on a T4 (no bf16 there).
const TRAIN: Training = Training::of::<BertClassifier>()
    .seq(512)
    .precision(Precision::Autocast(DType::F16))
    .optimizer(Optimizer::AdamW)
    .attention(AttentionKernel::Eager)
    .cross_entropy(false);
const T4: Bytes = gpu::T4.usable();
const MAX_BATCH: u64 = TRAIN.max_batch(T4);
const_assert!(MAX_BATCH >= 8);
assert_fits!(TRAIN.batch(MAX_BATCH).estimate(), T4);

fn main() {
    print!("{}", Summary::of::<BertClassifier>());
    println!("\nFine-tuning at batch 16 × 512 tokens (fp16 autocast, AdamW, eager attention):");
    print!("{}", TRAIN.batch(16).estimate());
    println!("\nLargest batch of 512-token sequences on a T4 ({T4} usable): {MAX_BATCH}");
}
