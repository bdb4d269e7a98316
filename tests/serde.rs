//! The `serde` feature (on by default): reports serialize, configs and policies round-trip.

use estimator::config::ModelConfig;
use estimator::prelude::*;

#[test]
fn memory_serializes_with_its_parts() {
    let m = Training::of::<[TransformerLayer<768, 12>; 12]>()
        .batch(4)
        .seq(512)
        .estimate();
    let v: serde_json::Value = serde_json::to_value(m).expect("serializes");
    // every part under its report name, in bytes
    for (part, bytes) in m.parts() {
        assert_eq!(v[part].as_u64(), Some(bytes.get()), "{part}");
    }
    assert_eq!(v["phase"], "Backward");
}

#[test]
fn configs_and_policies_round_trip() {
    let c = ModelConfig::from_json(include_str!("../configs/mixtral-8x7b.json")).expect("parses");
    let text = serde_json::to_string(&c).expect("serializes");
    let back: ModelConfig = serde_json::from_str(&text).expect("deserializes");
    assert_eq!(back, c);
    for p in [
        Precision::Fp32,
        Precision::Mixed(DType::BF16),
        Precision::Autocast(DType::F16),
    ] {
        let back: Precision =
            serde_json::from_str(&serde_json::to_string(&p).expect("ser")).expect("de");
        assert_eq!(back, p);
    }
    let b: Bytes = serde_json::from_str("25769803776").expect("a byte count");
    assert_eq!(b, GB24);
}
