//! Encoder–decoders: the source sequence (its length, its limits) and what the decoder keeps of
//! it — the cross-attention cache and the encoder's output — from the bundled configs.

use estimator::config::ModelConfig;
use estimator::{EstimateError, Inference, Phase, Training};

fn config(text: &str) -> ModelConfig {
    ModelConfig::from_json(text).expect("a bundled config reads")
}

/// t5-small (configs/t5-small.json): 6 decoder layers of 8 heads × d_kv 64, d_model 512.
#[test]
fn the_cross_attention_cache_holds_every_source_position() {
    let cost = config(include_str!("../configs/t5-small.json")).cost();
    // K and V of 8 · 64 per decoder layer per source position (transformers'
    // EncoderDecoderCache), 6 layers
    assert_eq!(cost.source.kv_per_token, 2 * 6 * 512);
    let serve = Inference::new(cost, "t5-small")
        .source(512)
        .prompt(1)
        .generate(255);
    let m = serve.at(Phase::Decode);
    // bf16: the decoder's self-attention over 1 + 255 tokens and the cross-attention over
    // 512 source positions, 2 · 6 · 512 · (256 + 512) · 2 bytes
    assert_eq!(m.kv_cache.get(), 2 * 6 * 512 * (256 + 512) * 2);
    // the encoder's output (512 positions × 512, bf16) stays alive while the decoder generates
    assert!(m.activations.get() >= 512 * 512 * 2);
    // twice the source: twice the cross-attention cache, the same self-attention cache
    let long = serve.source(1024).at(Phase::Decode);
    assert_eq!(
        long.kv_cache.get() - m.kv_cache.get(),
        2 * 6 * 512 * 512 * 2
    );
}

#[test]
fn the_source_length_is_checked_against_the_encoder() {
    let whisper = config(include_str!("../configs/whisper-tiny.json")).cost();
    // Whisper's encoder reads exactly max_source_positions = 1500 positions (3000 mel frames:
    // WhisperEncoder raises on any other length), the default
    let train = Training::new(whisper, "whisper-tiny");
    assert_eq!(train.source_len(), 1500);
    assert!(train.checked_estimate().is_ok());
    assert_eq!(
        train.source(1000).checked_estimate(),
        Err(EstimateError::SourceLength {
            source: 1000,
            positions: 1500,
            fixed: true
        })
    );
    // the decoder's 448 learned positions bound the target
    assert!(matches!(
        train.seq(449).checked_estimate(),
        Err(EstimateError::SequenceTooLong { positions: 448, .. })
    ));
    // BART's encoder table: 1024 positions (1026 rows, the first two offset)
    let bart = config(include_str!("../configs/bart-large.json")).cost();
    assert_eq!(bart.source.positions, 1024);
    assert!(matches!(
        Training::new(bart, "bart").source(1025).checked_estimate(),
        Err(EstimateError::SourceLength { fixed: false, .. })
    ));
    // a model without an encoder has no source, and refuses one
    let gpt2 = config(include_str!("../configs/gpt2.json")).cost();
    assert_eq!(Training::new(gpt2, "gpt2").source_len(), 0);
    assert_eq!(
        Inference::new(gpt2, "gpt2").source(512).checked_estimate(),
        Err(EstimateError::SourceWithoutEncoder)
    );
    // and an encoder–decoder needs one
    let t5 = config(include_str!("../configs/t5-small.json")).cost();
    assert_eq!(
        Training::new(t5, "t5").source(0).checked_estimate(),
        Err(EstimateError::ZeroSeq)
    );
}

/// The encoder's activations follow the source, the decoder's the target: with a fused kernel
/// (no score matrices) and absolute positions, a BART training step's activations are affine
/// in each length with the other fixed — and a longer source costs the decoder too (its
/// cross-attention keys and values per source position), so the source's slope exceeds those
/// keys and values alone.
#[test]
fn encoder_activations_follow_the_source() {
    let bart = config(include_str!("../configs/bart-large.json")).cost();
    let at = |source: u64, seq: u64| {
        Training::new(bart, "bart")
            .source(source)
            .seq(seq)
            .at(Phase::Forward)
            .activations
            .get()
    };
    let (a, b, c) = (at(512, 64), at(512, 128), at(512, 192));
    assert_eq!(b - a, c - b);
    let (a, b, c) = (at(256, 64), at(512, 64), at(768, 64));
    assert_eq!(b - a, c - b);
    // per source position: the 12 encoder layers and, per decoder layer, K and V (2 · 1024,
    // bf16) — at least 12 · 2 · 1024 · 2 bytes more than the encoder alone keeps
    assert!((b - a) / 256 > 12 * 2 * 1024 * 2);
}
