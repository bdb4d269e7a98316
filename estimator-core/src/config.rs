//! Hugging Face `config.json` → a model: the supported architectures as plain data
//! ([`ModelConfig`]) and their exact [`Cost`], the same one `model!` builds as types.
//!
//! Reading the JSON needs the `config` feature (serde_json); the data and its cost do not.

use crate::cost::{Activations, Cost};
use crate::layers::{
    attention, attention_core, attention_core_with, dropout, embedding, gated_feed_forward,
    keeps_input, layer_norm, linear, lora, moe, new_gelu, rms_norm,
};

#[cfg(feature = "config")]
mod json;
#[cfg(feature = "config")]
pub use json::{ConfigError, closest};

/// The `model_type`s `config.json` may name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
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
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
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
        self.architecture(None).cost()
    }

    /// Parameters stored, tied weights once.
    #[must_use]
    pub const fn params(&self) -> u64 {
        self.cost().params
    }

    /// Whether LoRA can be applied with `targets` (adapters on mixture-of-experts MLPs, and on
    /// BERT, are not supported).
    #[must_use]
    pub const fn supports_lora(&self, targets: LoraTargets) -> bool {
        match self.model_type {
            ModelType::Bert => false,
            _ => !(self.num_experts > 0 && (targets.gate || targets.up || targets.down)),
        }
    }

    /// The model as named parts: the top-level layers, and the fields of the repeated block.
    /// With `lora`, adapters sit on the targeted projections and everything else is frozen
    /// (peft's behaviour); see [`ModelConfig::supports_lora`].
    #[must_use]
    pub const fn architecture(&self, lora: Option<Lora>) -> Architecture {
        match self.model_type {
            ModelType::Gpt2 => self.gpt2(lora),
            ModelType::Bert => self.bert(),
            _ => self.llama_like(lora),
        }
    }

    const fn gpt2(&self, lora: Option<Lora>) -> Architecture {
        let (d, v, f, h) = (
            self.hidden_size,
            self.vocab_size,
            self.intermediate_size,
            self.num_heads,
        );
        let t = targets(lora);
        let r = rank(lora);
        let frozen = lora.is_some();
        let attn = proj(d, 3 * d, true, t.q || t.k || t.v, r, frozen)
            .add(attention_core_with(h, h, d / h, 0, false))
            .add(proj(d, d, true, t.o, r, frozen))
            .add(dropout(d));
        let mlp = proj(d, f, true, t.up, r, frozen)
            .add(new_gelu(f))
            .add(proj(f, d, true, t.down, r, frozen))
            .add(dropout(d));
        let block = Parts::new()
            .push("ln_1", "LayerNorm", freeze(layer_norm(d, true), frozen))
            .push("attn", "Attention", attn)
            .push("ln_2", "LayerNorm", freeze(layer_norm(d, true), frozen))
            .push("mlp", "Mlp", mlp);
        let top = Parts::new()
            .push("wte", "Embedding", freeze(embedding(v, d), frozen))
            .push(
                "wpe",
                "Embedding",
                freeze(embedding(self.max_positions, d), frozen),
            )
            .push("drop", "Dropout", dropout(d))
            .repeat("h", "Block", block, self.num_layers)
            .push("ln_f", "LayerNorm", freeze(layer_norm(d, true), frozen))
            .push("lm_head", "Linear", linear(d, v, false).tied());
        Architecture { top, block }
    }

    const fn bert(&self) -> Architecture {
        let (d, v, f, h, p) = (
            self.hidden_size,
            self.vocab_size,
            self.intermediate_size,
            self.num_heads,
            self.max_positions,
        );
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
            .add(attention_core_with(h, h, d / h, 0, false))
            .add(linear(d, d, true))
            .add(dropout(d))
            .add(layer_norm(d, true));
        let ffn = linear(d, f, true)
            .add(keeps_input(f))
            .add(linear(f, d, true))
            .add(dropout(d))
            .add(layer_norm(d, true));
        let block = Parts::new()
            .push("attention", "BertAttention", attention)
            .push("ffn", "BertFeedForward", ffn);
        let top = Parts::new()
            .push("embeddings", "BertEmbeddings", embeddings)
            .repeat("encoder", "BertLayer", block, self.num_layers);
        let top = if self.masked_lm {
            top.push(
                "cls",
                "BertMlmHead",
                linear(d, d, true)
                    .add(keeps_input(d))
                    .add(layer_norm(d, true))
                    .add(linear(d, v, false).tied())
                    .add(Cost::parameter(&[v])),
            )
        } else {
            top.push("pooler", "Linear", linear(d, d, true))
        };
        Architecture { top, block }
    }

    const fn llama_like(&self, lora: Option<Lora>) -> Architecture {
        let (d, v) = (self.hidden_size, self.vocab_size);
        let frozen = lora.is_some();
        let block = Parts::new()
            .push("input_layernorm", "RmsNorm", freeze(rms_norm(d), frozen))
            .push("self_attn", "Attention", self.llama_attention(lora))
            .push(
                "post_attention_layernorm",
                "RmsNorm",
                freeze(rms_norm(d), frozen),
            )
            .push(
                "mlp",
                if self.num_experts > 0 {
                    "Moe"
                } else {
                    "GatedFeedForward"
                },
                self.llama_mlp(lora),
            );
        let mut top =
            Parts::new().push("embed_tokens", "Embedding", freeze(embedding(v, d), frozen));
        if let ModelType::Gemma = self.model_type {
            top = top.push("normalizer", "Buffer", Cost::buffer(1, 4));
        }
        let head = freeze(linear(d, v, false), frozen);
        let top = top
            .repeat("layers", "Block", block, self.num_layers)
            .push("norm", "RmsNorm", freeze(rms_norm(d), frozen))
            .push(
                "rotary_emb",
                "Rotary",
                Cost::buffer(self.head_dim / 2, 4).add(Cost::buffer(self.head_dim / 2, 4)),
            )
            .push(
                "lm_head",
                "Linear",
                if self.tie_word_embeddings {
                    head.tied()
                } else {
                    head
                },
            );
        Architecture { top, block }
    }

    /// A Llama-style attention block's cost.
    const fn llama_attention(&self, lora: Option<Lora>) -> Cost {
        let (d, h, kv, hd) = (
            self.hidden_size,
            self.num_heads,
            self.num_kv_heads,
            self.head_dim,
        );
        if lora.is_none() && self.standard_attention() {
            return attention(d, h, kv, hd, self.qkv_bias, self.sliding_window);
        }
        let t = targets(lora);
        let r = rank(lora);
        let frozen = lora.is_some();
        // the first projection that keeps the input keeps it for the others
        let q = proj(d, h * hd, self.qkv_bias, t.q, r, frozen);
        let mut shared = q.act.weight_input_per_token > 0;
        let k = share(proj(d, kv * hd, self.qkv_bias, t.k, r, frozen), &mut shared);
        let v = share(proj(d, kv * hd, self.qkv_bias, t.v, r, frozen), &mut shared);
        q.add(k)
            .add(v)
            .add(attention_core(h, kv, hd, self.sliding_window))
            .add(proj(h * hd, d, self.o_bias, t.o, r, frozen))
    }

    /// A Llama-style MLP's cost: gated, or a mixture of gated experts.
    const fn llama_mlp(&self, lora: Option<Lora>) -> Cost {
        let (d, f) = (self.hidden_size, self.intermediate_size);
        let ffn = match lora {
            None => gated_feed_forward(d, f),
            Some(l) => {
                let t = l.targets;
                let gate = proj(d, f, false, t.gate, l.rank, true);
                let mut shared = gate.act.weight_input_per_token > 0;
                let up = share(proj(d, f, false, t.up, l.rank, true), &mut shared);
                // the same tensors as `gated_feed_forward`, with adapted or frozen projections
                gate.add(up)
                    .add(keeps_input(f))
                    .saves(Activations {
                        per_token: 2 * f,
                        textbook_per_token: 4 * f,
                        ..Activations::ZERO
                    })
                    .add(proj(f, d, false, t.down, l.rank, true))
                    .saves(Activations {
                        textbook_per_token: d,
                        ..Activations::ZERO
                    })
                    .live(d + 3 * f)
            }
        };
        if self.num_experts > 0 {
            let m = moe(d, self.num_experts, self.experts_per_token, ffn);
            if lora.is_some() { m.frozen() } else { m }
        } else {
            ffn
        }
    }
}

/// LoRA adapters: their rank and which projections carry them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Lora {
    /// The rank `r`: each adapted `in → out` projection gains `r·(in + out)` trainable
    /// parameters.
    pub rank: u64,
    /// The adapted projections.
    pub targets: LoraTargets,
}

/// Which projections carry LoRA adapters, by Hugging Face's module names (peft's
/// `target_modules`): `q_proj`, `k_proj`, `v_proj`, `o_proj`, `gate_proj`, `up_proj`,
/// `down_proj`; for GPT-2 `c_attn` is q/k/v, `c_proj` the attention and MLP outputs, `c_fc` up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "one switch per projection, as peft's target_modules lists them"
)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LoraTargets {
    /// The query projection.
    pub q: bool,
    /// The key projection.
    pub k: bool,
    /// The value projection.
    pub v: bool,
    /// The attention output projection.
    pub o: bool,
    /// The MLP gate projection.
    pub gate: bool,
    /// The MLP up projection.
    pub up: bool,
    /// The MLP down projection.
    pub down: bool,
}

impl LoraTargets {
    /// No projection.
    pub const NONE: LoraTargets = LoraTargets {
        q: false,
        k: false,
        v: false,
        o: false,
        gate: false,
        up: false,
        down: false,
    };

    /// Every projection (peft's `"all-linear"`).
    pub const ALL: LoraTargets = LoraTargets {
        q: true,
        k: true,
        v: true,
        o: true,
        gate: true,
        up: true,
        down: true,
    };
}

const fn targets(lora: Option<Lora>) -> LoraTargets {
    match lora {
        Some(l) => l.targets,
        None => LoraTargets::NONE,
    }
}

const fn rank(lora: Option<Lora>) -> u64 {
    match lora {
        Some(l) => l.rank,
        None => 0,
    }
}

/// A projection: LoRA-adapted, frozen (under LoRA, untargeted), or plain.
const fn proj(inp: u64, out: u64, bias: bool, adapted: bool, rank: u64, frozen: bool) -> Cost {
    if adapted {
        lora(inp, out, bias, rank)
    } else {
        freeze(linear(inp, out, bias), frozen)
    }
}

const fn freeze(c: Cost, frozen: bool) -> Cost {
    if frozen { c.frozen() } else { c }
}

/// A projection reading the same input as an earlier one: the textbook counts that input once;
/// and once one of them keeps it (a frozen projection does not), the others share the storage.
const fn share(c: Cost, kept: &mut bool) -> Cost {
    let deduped = c.shares_input();
    if *kept || c.act.weight_input_per_token == 0 {
        deduped
    } else {
        *kept = true;
        Cost {
            act: Activations {
                textbook_per_token: deduped.act.textbook_per_token,
                ..c.act
            },
            ..c
        }
    }
}

/// One named part of a model (a field of the struct `model!` declares).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Part {
    /// The field name.
    pub name: &'static str,
    /// The layer type's name.
    pub kind: &'static str,
    /// Copies (the layer count for the block stack).
    pub repeat: u64,
    /// The part's cost, all copies included.
    pub cost: Cost,
}

/// Up to 16 named parts in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parts {
    items: [Part; 16],
    len: usize,
}

impl Parts {
    const fn new() -> Parts {
        Parts {
            items: [Part {
                name: "",
                kind: "",
                repeat: 0,
                cost: Cost::ZERO,
            }; 16],
            len: 0,
        }
    }

    const fn push(mut self, name: &'static str, kind: &'static str, cost: Cost) -> Parts {
        self.items[self.len] = Part {
            name,
            kind,
            repeat: 1,
            cost,
        };
        self.len += 1;
        self
    }

    /// Appends `block` stacked `n` times (see [`Cost::repeated`]).
    const fn repeat(self, name: &'static str, kind: &'static str, block: Parts, n: u64) -> Parts {
        let mut s = self.push(name, kind, block.cost().repeated(n));
        s.items[s.len - 1].repeat = n;
        s
    }

    /// The parts, in order.
    #[must_use]
    pub fn as_slice(&self) -> &[Part] {
        &self.items[..self.len]
    }

    /// The parts one after another (see [`Cost::add`]).
    #[must_use]
    pub const fn cost(&self) -> Cost {
        let mut total = Cost::ZERO;
        let mut i = 0;
        while i < self.len {
            total = if i == 0 {
                self.items[0].cost
            } else {
                total.add(self.items[i].cost)
            };
            i += 1;
        }
        total
    }
}

/// A model as named parts: the top level, and the fields of its repeated block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Architecture {
    /// The model's own fields; one of them is the block stack.
    pub top: Parts,
    /// One repeated block's fields.
    pub block: Parts,
}

impl Architecture {
    /// The whole model's cost.
    #[must_use]
    pub const fn cost(&self) -> Cost {
        self.top.cost()
    }
}
