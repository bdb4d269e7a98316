//! `model!`: the DSL, and every bundled `config.json` read at compile time, each equal to
//! PyTorch's count (`tests/fixtures/config-params.json`, made by `gen_config_params.py`: the
//! same files loaded with transformers' `AutoConfig` and built on the meta device).

use estimator::config::ModelConfig;
use estimator::prelude::*;

fn reference(file: &str, key: &str) -> u64 {
    let all: serde_json::Value = serde_json::from_str(include_str!("fixtures/config-params.json"))
        .expect("config-params.json is valid JSON");
    all["configs"][file][key]
        .as_u64()
        .unwrap_or_else(|| panic!("config-params.json: {file}: no `{key}`"))
}

model! {
    /// GPT-2 small through the DSL.
    pub Gpt2 {
        vocab_size = 50257,
        d_model = 768,
        n_heads = 12,
        n_layers = 12,
        d_ff = 4 * d_model,

        block Block {
            ln_1: LayerNorm<d_model>,
            attn: MultiHeadAttention<d_model, n_heads>,
            ln_2: LayerNorm<d_model>,
            mlp: FeedForward<d_model, d_ff>,
        }

        wte: Embedding<vocab_size, d_model>,
        wpe: PositionEmbedding<1024, d_model>,
        h: [Block; n_layers],
        ln_f: LayerNorm<d_model>,
        tied lm_head: Linear<d_model, vocab_size, false>,
    }
}

#[test]
fn dsl_gpt2_matches_pytorch() {
    // PyTorch: GPT2LMHeadModel(GPT2Config()) has 124,439,808 parameters (params.json)
    assert_eq!(Gpt2::PARAMS, 124_439_808);
    assert_eq!(Block::PARAMS, 12 * 768 * 768 + 13 * 768);
    assert_eq!(Gpt2::COST.tied, 50257 * 768);
}

model! {
    /// Llama-2-7B with LoRA on q and v: expressions in braces, computed head width, peft's
    /// freezing.
    LoraLlama {
        d_model = 4096,
        n_heads = 32,
        head_dim = d_model / n_heads,
        vocab = 32000,

        block Attention {
            q_proj: Linear<d_model, d_model, false>,
            shares_input k_proj: Linear<d_model, d_model, false>,
            shares_input v_proj: Linear<d_model, d_model, false>,
            core: AttentionCore<n_heads, n_heads, head_dim>,
            o_proj: Linear<d_model, d_model, false>,
        }
        block Layer {
            input_layernorm: RmsNorm<d_model>,
            self_attn: Attention,
            post_attention_layernorm: RmsNorm<d_model>,
            mlp: GatedFeedForward<d_model, { 11008 }>,
        }

        embed_tokens: Embedding<vocab, d_model>,
        layers: [Layer; { 4 * 8 }],
        norm: RmsNorm<d_model>,
        rotary_emb: Rotary<head_dim>,
        // bitsandbytes leaves the head in 16 bits
        unquantized lm_head: Linear<d_model, vocab, false>,
        lora(rank = 16, targets = [q_proj, v_proj]),
    }
}

#[test]
fn lora_option_matches_peft() {
    // peft's print_trainable_parameters() for Llama-2-7B, r = 16 on q_proj and v_proj:
    // "trainable params: 8,388,608" = 32 layers · 2 · 16 · (4096 + 4096)
    assert_eq!(LoraLlama::TRAINABLE, 8_388_608);
    assert_eq!(LoraLlama::PARAMS, 6_738_415_616 + 8_388_608);
    // everything else frozen; the frozen matmul weights are what QLoRA stores in NF4: the
    // layers' projections, not the head (transformers' get_keys_to_not_convert skips lm_head)
    assert_eq!(
        LoraLlama::COST.frozen_matmul,
        32 * (4 * 4096 * 4096 + 3 * 4096 * 11008)
    );
    assert_eq!(LoraLlama::COST.unquantized_matmul, 32000 * 4096);
}

#[test]
fn lora_from_a_config_matches_the_dsl() {
    use estimator::config::{Lora, LoraTargets};
    let config =
        ModelConfig::from_json(include_str!("../configs/llama-2-7b.json")).expect("parses");
    let qv = Lora {
        rank: 16,
        targets: LoraTargets {
            q: true,
            v: true,
            ..LoraTargets::default()
        },
    };
    // the same model for training; for inference the config's recipe also knows the tensors
    // Hugging Face's forward holds beside each layer (the embedding output, the layer's input,
    // the residual, eager attention's causal mask), which the DSL's types do not declare
    let from_config = config.architecture(Some(qv)).cost();
    let training = |c: estimator::Cost| estimator::Cost {
        live_per_token: 0,
        score_live_per_token: 0,
        logits_input: 0,
        eager_masks: 0,
        act: estimator::Activations {
            textbook_per_token: 0,
            textbook_replicated_per_token: 0,
            ..c.act
        },
        block: estimator::Activations {
            textbook_per_token: 0,
            textbook_replicated_per_token: 0,
            ..c.block
        },
        checkpointed: estimator::Activations {
            textbook_per_token: 0,
            textbook_replicated_per_token: 0,
            ..c.checkpointed
        },
        ..c
    };
    // and the fused kernel's own output, which the recipe counts once the output projection is
    // frozen (it no longer keeps it for its weight's gradient; measured with peft,
    // tests/fixtures/memory-settings.json) and the DSL's frozen Linear cannot say: 4096 a token
    // in each of the 32 layers
    let kernel_output = |c: estimator::Cost| estimator::Cost {
        act: estimator::Activations {
            flash_per_token: c.act.flash_per_token - 32 * 4096,
            ..c.act
        },
        block: estimator::Activations {
            flash_per_token: c.block.flash_per_token - 4096,
            ..c.block
        },
        checkpointed: estimator::Activations {
            flash_per_token: c.checkpointed.flash_per_token - 32 * 4096,
            ..c.checkpointed
        },
        ..c
    };
    assert_eq!(
        training(kernel_output(from_config)),
        training(LoraLlama::COST)
    );
    // the textbook account differs by what the DSL's bare Linears cannot say: the recipe knows
    // Korthikanti et al.'s output-dropout mask (1 byte per feature, 32 layers of 4096) and which
    // projections are column-parallel (their input replicated under tensor parallelism)
    assert_eq!(
        from_config.act.textbook_per_token,
        LoraLlama::COST.act.textbook_per_token + 32 * 4096
    );
    assert!(
        from_config.act.textbook_replicated_per_token
            > LoraLlama::COST.act.textbook_replicated_per_token
    );
    assert!(from_config.live_per_token >= LoraLlama::COST.live_per_token);
    // peft, r = 8 on all seven projections of Llama-2-7B: "trainable params: 19,988,480"
    let all = Lora {
        rank: 8,
        targets: LoraTargets::ALL,
    };
    assert_eq!(config.architecture(Some(all)).cost().trainable, 19_988_480);
}

macro_rules! from_config {
    ($($test:ident: $ty:ident = $file:literal;)+) => {$(
        model!(pub $ty = $file);

        #[test]
        fn $test() {
            let name = $file.trim_start_matches("../configs/");
            assert_eq!($ty::PARAMS, reference(name, "total_params"), "{name}: parameters");
            assert_eq!($ty::BUFFERS, reference(name, "buffers_numel"), "{name}: buffers");
            // the type and the run-time reading of the same file agree on everything
            let config = ModelConfig::from_json(include_str!($file)).expect("bundled config parses");
            assert_eq!($ty::COST, config.cost(), "{name}: cost");
        }
    )+};
}

from_config! {
    llama_2_7b: Llama2_7B = "../configs/llama-2-7b.json";
    llama_2_13b: Llama2_13B = "../configs/llama-2-13b.json";
    llama_2_70b: Llama2_70B = "../configs/llama-2-70b.json";
    llama_3_8b: Llama3_8B = "../configs/llama-3-8b.json";
    mistral_7b: Mistral7B = "../configs/mistral-7b.json";
    mixtral_8x7b: Mixtral8x7B = "../configs/mixtral-8x7b.json";
    qwen2_7b: Qwen2_7B = "../configs/qwen2-7b.json";
    gemma_2b: Gemma2B = "../configs/gemma-2b.json";
    phi3_mini: Phi3Mini = "../configs/phi3-mini.json";
    gpt2_small: Gpt2Small = "../configs/gpt2.json";
    gpt2_medium: Gpt2Medium = "../configs/gpt2-medium.json";
    gpt2_large: Gpt2Large = "../configs/gpt2-large.json";
    gpt2_xl: Gpt2Xl = "../configs/gpt2-xl.json";
    bert_base: BertBase = "../configs/bert-base-uncased.json";
    bert_large: BertLarge = "../configs/bert-large-uncased.json";
    roberta_base: RobertaBase = "../configs/roberta-base.json";
    xlm_roberta_base: XlmRobertaBase = "../configs/xlm-roberta-base.json";
    distilbert_base: DistilbertBase = "../configs/distilbert-base-uncased.json";
    electra_base: ElectraBase = "../configs/electra-base-discriminator.json";
    modernbert_base: ModernbertBase = "../configs/modernbert-base.json";
    deberta_v3_base: DebertaV3Base = "../configs/deberta-v3-base.json";
    t5_small: T5Small = "../configs/t5-small.json";
    flan_t5_xl: FlanT5Xl = "../configs/flan-t5-xl.json";
    bart_large: BartLarge = "../configs/bart-large.json";
    opus_mt_en_de: OpusMtEnDe = "../configs/opus-mt-en-de.json";
    whisper_tiny: WhisperTiny = "../configs/whisper-tiny.json";
}

#[test]
fn encoder_decoders_from_config_price_their_source() {
    // whisper-tiny: the library's defaults read the encoder's 1500 positions and the decoder's
    // 128 target tokens; 4 decoder layers cache K and V of 384 per source position
    const TRAIN: Training = Training::of::<WhisperTiny>();
    assert_eq!((TRAIN.source_len(), TRAIN.seq_len()), (1500, 128));
    assert_eq!(WhisperTiny::COST.source.kv_per_token, 4 * 2 * 384);
    // T5's source defaults to its pre-training inputs, 512 tokens
    assert_eq!(Training::of::<T5Small>().source_len(), 512);
}

#[test]
fn llama_2_7b_from_config_is_exact() {
    // PyTorch: LlamaForCausalLM(llama-2-7b config) = 6,738,415,616 (params.json)
    const _: () = assert!(Llama2_7B::PARAMS == 6_738_415_616);
    // Mistral's sliding window and GQA come from the file
    assert_eq!(Mistral7B::COST.window, 4096);
    assert_eq!(Mistral7B::COST.kv_window_per_token, 32 * 2 * 8 * 128);
    // Mixtral: 12.9B of 46.7B parameters active per token
    assert_eq!((Mixtral8x7B::COST.active + 50_000_000) / 100_000_000, 129);
}

#[test]
fn config_errors_name_the_key() {
    let err = |text: &str| {
        ModelConfig::from_json(text)
            .expect_err("invalid")
            .to_string()
    };
    let xlnet = err(r#"{"model_type": "xlnet"}"#);
    assert!(
        xlnet.starts_with("unsupported model_type `xlnet`; supported: llama, mistral, mixtral,"),
        "{xlnet}"
    );
    assert!(
        xlnet.contains("deepseek_v3") && xlnet.contains("gpt_oss"),
        "{xlnet}"
    );
    let missing = r#"{"model_type": "llama", "hidden_size": 4096, "num_attention_heads": 32,
        "num_hidden_layers": 32, "vocab_size": 32000}"#;
    assert_eq!(
        err(missing),
        "missing key `intermediate_size`; add it (a positive integer) to the config"
    );
    assert!(
        err(r#"{"model_type": "gpt2", "n_embd": "768"}"#)
            .contains("`n_embd` must be a positive integer")
    );
    assert!(err(r#"{"model_type": "gpt2", "n_embd": 0}"#).contains("`n_embd` must be at least 1"));
    assert!(err("{ not json").starts_with("not valid JSON"));
    assert!(err("[1, 2]").contains("JSON object"));
    let gqa = r#"{"model_type": "llama", "hidden_size": 4096, "intermediate_size": 11008,
        "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 5, "vocab_size": 32000}"#;
    assert!(err(gqa).contains("`num_key_value_heads` (5) must divide `num_attention_heads` (32)"));
    let wide = r#"{"model_type": "gpt2", "n_embd": 33554432, "n_head": 16, "n_layer": 12, "vocab_size": 50257}"#;
    assert_eq!(
        err(wide),
        "`n_embd` = 33554432 is beyond any real model (the limit is 16777216); check the value"
    );
    // transformers has no RobertaForPreTraining: no head is made up for it
    let roberta = r#"{"model_type": "roberta", "architectures": ["RobertaForPreTraining"],
        "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
        "intermediate_size": 128, "vocab_size": 100}"#;
    let refused = err(roberta);
    assert!(
        refused.contains("unsupported head `RobertaForPreTraining`")
            && refused.ends_with("*ForMaskedLM"),
        "{refused}"
    );
    let deep = r#"{"model_type": "gpt2", "n_embd": 65536, "n_head": 16, "n_layer": 16000000, "vocab_size": 50257}"#;
    assert!(err(deep).contains("too large to count"));
}

// A Hub model pinned to a commit, read from a Hugging Face cache laid out as `huggingface_hub`
// writes it (tests/fixtures/hf-cache: `refs/main`, the snapshot's config.json a link into
// `blobs/`); the config is tests/fixtures/tiny-llama-bf16's.
model!(pub TinyFromHub = hub "acme/tiny-llama@0123456789abcdef0123456789abcdef01234567" in "fixtures/hf-cache");

/// The Hub model's type counts what PyTorch counts for the same config (1,963,264 parameters,
/// tests/fixtures/gen_safetensors.py) and equals the run-time reading of the snapshot's file.
#[test]
fn hub_models_read_from_the_cache() {
    assert_eq!(TinyFromHub::PARAMS, 1_963_264);
    let config = ModelConfig::from_json(include_str!("fixtures/tiny-llama-bf16/config.json"))
        .expect("the fixture parses");
    assert_eq!(TinyFromHub::COST, config.cost());
}
