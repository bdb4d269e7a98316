//! Hugging Face `config.json` → a model: the supported architectures as plain data
//! ([`ModelConfig`]) and their exact [`Cost`], the same one `model!` builds as types.
//!
//! Reading the JSON needs the `config` feature (serde_json); the data and its cost do not.

use crate::cost::Cost;
use crate::layers::{
    attention, attention_core, dropout, embedding, gated_feed_forward, keeps_input, layer_norm,
    linear, moe, new_gelu, rms_norm,
};

#[cfg(feature = "config")]
mod json;
#[cfg(feature = "config")]
pub use json::ConfigError;

/// The `model_type`s `config.json` may name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ModelType {
    /// `llama`: Llama 1/2/3, TinyLlama, Vicuna, CodeLlama.
    Llama,
    /// `mistral`: Mistral-7B (sliding-window attention in v0.1).
    Mistral,
    /// `mixtral`: Mixtral-8x7B / 8x22B, sparse mixture of experts.
    Mixtral,
    /// `qwen2`: Qwen2 / Qwen2.5 (biased q, k, v).
    Qwen2,
    /// `gemma`: Gemma (tied embeddings, `head_dim` apart from `hidden_size / heads`).
    Gemma,
    /// `phi3`: Phi-3 / Phi-3.5 (fused projections, counted as separate ones).
    Phi3,
    /// `gpt2`: GPT-2 (tied head, learned positions, `gelu_new`).
    Gpt2,
    /// `bert`: BERT (`BertModel` with pooler, or `BertForMaskedLM`).
    Bert,
}

impl ModelType {
    /// Every supported type, as `config.json` spells it.
    pub const NAMES: [&'static str; 8] = [
        "llama", "mistral", "mixtral", "qwen2", "gemma", "phi3", "gpt2", "bert",
    ];

    /// The name `config.json` uses (`"llama"`).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            ModelType::Llama => "llama",
            ModelType::Mistral => "mistral",
            ModelType::Mixtral => "mixtral",
            ModelType::Qwen2 => "qwen2",
            ModelType::Gemma => "gemma",
            ModelType::Phi3 => "phi3",
            ModelType::Gpt2 => "gpt2",
            ModelType::Bert => "bert",
        }
    }

    /// The type `config.json` calls `name`.
    #[must_use]
    pub fn from_name(name: &str) -> Option<ModelType> {
        Some(match name {
            "llama" => ModelType::Llama,
            "mistral" => ModelType::Mistral,
            "mixtral" => ModelType::Mixtral,
            "qwen2" => ModelType::Qwen2,
            "gemma" => ModelType::Gemma,
            "phi3" => ModelType::Phi3,
            "gpt2" => ModelType::Gpt2,
            "bert" => ModelType::Bert,
            _ => return None,
        })
    }

    /// Whether the architecture is a Llama-style decoder (RMSNorm, rotary, gated MLP).
    #[must_use]
    pub const fn is_llama_like(self) -> bool {
        !matches!(self, ModelType::Gpt2 | ModelType::Bert)
    }
}

/// The hyper-parameters that decide a supported model's size, read from its `config.json`
/// (names as Hugging Face's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent switches of the config file, named as Hugging Face names them"
)]
pub struct ModelConfig {
    /// `model_type`.
    pub model_type: ModelType,
    /// `vocab_size`.
    pub vocab_size: u64,
    /// `hidden_size` (`n_embd` for GPT-2).
    pub hidden_size: u64,
    /// `num_hidden_layers` (`n_layer`).
    pub num_layers: u64,
    /// `num_attention_heads` (`n_head`).
    pub num_heads: u64,
    /// `num_key_value_heads` (default: the attention heads).
    pub num_kv_heads: u64,
    /// `head_dim` (default `hidden_size / num_attention_heads`).
    pub head_dim: u64,
    /// `intermediate_size` (`n_inner`, default `4 · n_embd` for GPT-2).
    pub intermediate_size: u64,
    /// `max_position_embeddings` (`n_positions`).
    pub max_positions: u64,
    /// `tie_word_embeddings`: the head shares the token embedding.
    pub tie_word_embeddings: bool,
    /// `sliding_window` when in use (0: none).
    pub sliding_window: u64,
    /// `num_local_experts` (Mixtral; 0 otherwise).
    pub num_experts: u64,
    /// `num_experts_per_tok` (Mixtral).
    pub experts_per_token: u64,
    /// Biases on the q, k, v projections (Qwen2; `attention_bias` for Llama).
    pub qkv_bias: bool,
    /// A bias on the output projection (`attention_bias` for Llama).
    pub o_bias: bool,
    /// `type_vocab_size` (BERT).
    pub type_vocab_size: u64,
    /// BERT with the masked-LM head (`architectures` names `BertForMaskedLM`) instead of the
    /// pooler.
    pub masked_lm: bool,
    /// Whether any dropout probability is above zero (what training with `model.train()` keeps).
    pub dropout: bool,
}

impl ModelConfig {
    /// Whether the attention is `MultiHeadAttention` exactly (heads of `hidden / heads`, no
    /// biases or biases on all four projections).
    #[must_use]
    pub const fn standard_attention(&self) -> bool {
        self.head_dim * self.num_heads == self.hidden_size && self.qkv_bias == self.o_bias
    }

    /// The model's exact [`Cost`]: the same value the type `model!` builds from this config has
    /// as `Params::COST`.
    #[must_use]
    pub const fn cost(&self) -> Cost {
        let d = self.hidden_size;
        let v = self.vocab_size;
        let l = self.num_layers;
        let f = self.intermediate_size;
        match self.model_type {
            ModelType::Gpt2 => {
                let h = self.num_heads;
                let attn = linear(d, 3 * d, true)
                    .add(attention_core(h, h, d / h, 0))
                    .add(linear(d, d, true))
                    .add(dropout(d));
                let mlp = linear(d, f, true)
                    .add(new_gelu(f))
                    .add(linear(f, d, true))
                    .add(dropout(d));
                let block = layer_norm(d, true)
                    .add(attn)
                    .add(layer_norm(d, true))
                    .add(mlp);
                embedding(v, d)
                    .add(embedding(self.max_positions, d))
                    .add(dropout(d))
                    .add(block.repeated(l))
                    .add(layer_norm(d, true))
                    .add(linear(d, v, false).tied())
            }
            ModelType::Bert => {
                let h = self.num_heads;
                let p = self.max_positions;
                let embeddings = embedding(v, d)
                    .add(embedding(p, d))
                    .add(embedding(self.type_vocab_size, d))
                    .add(layer_norm(d, true))
                    .add(dropout(d))
                    .add(Cost::buffer(p, 8))
                    .add(Cost::buffer(p, 8));
                let attention = linear(d, d, true)
                    .add(linear(d, d, true).shares_input())
                    .add(linear(d, d, true).shares_input())
                    .add(attention_core(h, h, d / h, 0))
                    .add(linear(d, d, true))
                    .add(dropout(d))
                    .add(layer_norm(d, true));
                let layer = attention
                    .add(linear(d, f, true))
                    .add(keeps_input(f))
                    .add(linear(f, d, true))
                    .add(dropout(d))
                    .add(layer_norm(d, true));
                let body = embeddings.add(layer.repeated(l));
                if self.masked_lm {
                    body.add(
                        linear(d, d, true)
                            .add(keeps_input(d))
                            .add(layer_norm(d, true))
                            .add(linear(d, v, false).tied())
                            .add(Cost::parameter(&[v])),
                    )
                } else {
                    body.add(linear(d, d, true))
                }
            }
            _ => {
                let block = rms_norm(d)
                    .add(self.llama_attention())
                    .add(rms_norm(d))
                    .add(self.llama_mlp());
                let mut c = embedding(v, d);
                if let ModelType::Gemma = self.model_type {
                    c = c.add(Cost::buffer(1, 4));
                }
                let head = linear(d, v, false);
                c.add(block.repeated(l))
                    .add(rms_norm(d))
                    .add(Cost::buffer(self.head_dim / 2, 4).add(Cost::buffer(self.head_dim / 2, 4)))
                    .add(if self.tie_word_embeddings {
                        head.tied()
                    } else {
                        head
                    })
            }
        }
    }

    /// A Llama-style attention block's cost.
    const fn llama_attention(&self) -> Cost {
        let (d, h, kv, hd) = (
            self.hidden_size,
            self.num_heads,
            self.num_kv_heads,
            self.head_dim,
        );
        if self.standard_attention() {
            attention(d, h, kv, hd, self.qkv_bias, self.sliding_window)
        } else {
            linear(d, h * hd, self.qkv_bias)
                .add(linear(d, kv * hd, self.qkv_bias).shares_input())
                .add(linear(d, kv * hd, self.qkv_bias).shares_input())
                .add(attention_core(h, kv, hd, self.sliding_window))
                .add(linear(h * hd, d, self.o_bias))
        }
    }

    /// A Llama-style MLP's cost: gated, or a mixture of gated experts.
    const fn llama_mlp(&self) -> Cost {
        let ffn = gated_feed_forward(self.hidden_size, self.intermediate_size);
        if self.num_experts > 0 {
            moe(
                self.hidden_size,
                self.num_experts,
                self.experts_per_token,
                ffn,
            )
        } else {
            ffn
        }
    }

    /// Parameters stored, tied weights once.
    #[must_use]
    pub const fn params(&self) -> u64 {
        self.cost().params
    }
}
