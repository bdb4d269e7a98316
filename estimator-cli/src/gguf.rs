//! A GGUF file's header: its metadata and tensor list, read without the tensor data and
//! bounded against hostile files (GGUF v2/v3 as llama.cpp's `gguf-py` and `ggml/src/gguf.cpp`
//! write it: magic, version, tensor and key-value counts, typed key-values, tensor infos).
//!
//! What it gives: the weights' exact bytes per tensor from each tensor's ggml type (block
//! elements and bytes from `gguf-py/gguf/constants.py`'s `GGML_QUANT_SIZES`), grouped as
//! llama.cpp places them (the input layer, each repeating layer `blk.N`, the output layer), and
//! the architecture's dimensions as a Hugging Face `config.json` for the family table.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use estimator::config::clip;

use crate::CliError;

/// The GGUF architectures read as their families (the others through a Llama stand-in).
const MAPPED: &str = "llama, qwen2, qwen2moe, qwen3, qwen3moe, gemma2, gemma3, phi3, olmo2, gpt-oss and deepseek2 (with MLA)";

/// The start of an error for an architecture not in [`MAPPED`].
fn unmapped(arch: &str) -> String {
    format!(
        "GGUF architecture `{}` is not mapped to a family ({MAPPED} are)",
        clip(arch)
    )
}
/// The most of a file read: the header (tokenizer vocabularies and merges run to tens of
/// MiB); the tensor data after it is never read.
const MAX_HEADER_BYTES: u64 = 256 << 20;
/// Tensors and metadata entries accepted (real files: under 10,000 and 100).
const MAX_COUNT: u64 = 1 << 20;

/// `(elements per block, bytes per block)` of ggml type `id` (`GGML_QUANT_SIZES`, QK_K 256).
const fn ggml_block(id: u32) -> Option<(u64, u64)> {
    Some(match id {
        0 | 26 => (1, 4),      // F32, I32
        1 | 25 | 30 => (1, 2), // F16, I16, BF16
        2 | 20 => (32, 18),    // Q4_0, IQ4_NL
        3 => (32, 20),         // Q4_1
        6 => (32, 22),         // Q5_0
        7 => (32, 24),         // Q5_1
        8 => (32, 34),         // Q8_0
        9 => (32, 36),         // Q8_1
        10 => (256, 84),       // Q2_K
        11 | 21 => (256, 110), // Q3_K, IQ3_S
        12 => (256, 144),      // Q4_K
        13 => (256, 176),      // Q5_K
        14 => (256, 210),      // Q6_K
        15 => (256, 292),      // Q8_K
        16 | 35 => (256, 66),  // IQ2_XXS, TQ2_0
        17 => (256, 74),       // IQ2_XS
        18 => (256, 98),       // IQ3_XXS
        19 => (256, 50),       // IQ1_S
        22 => (256, 82),       // IQ2_S
        23 => (256, 136),      // IQ4_XS
        24 => (1, 1),          // I8
        27 | 28 => (1, 8),     // I64, F64
        29 => (256, 56),       // IQ1_M
        34 => (256, 54),       // TQ1_0
        39 => (32, 17),        // MXFP4
        40 => (64, 36),        // NVFP4
        41 => (128, 18),       // Q1_0
        42 => (64, 18),        // Q2_0
        _ => return None,
    })
}

/// ggml's name of type `id`, for reports.
fn ggml_name(id: u32) -> &'static str {
    match id {
        0 => "f32",
        1 => "f16",
        2 => "q4_0",
        3 => "q4_1",
        6 => "q5_0",
        7 => "q5_1",
        8 => "q8_0",
        9 => "q8_1",
        10 => "q2_K",
        11 => "q3_K",
        12 => "q4_K",
        13 => "q5_K",
        14 => "q6_K",
        15 => "q8_K",
        16 => "iq2_xxs",
        17 => "iq2_xs",
        18 => "iq3_xxs",
        19 => "iq1_s",
        20 => "iq4_nl",
        21 => "iq3_s",
        22 => "iq2_s",
        23 => "iq4_xs",
        29 => "iq1_m",
        30 => "bf16",
        34 => "tq1_0",
        35 => "tq2_0",
        39 => "mxfp4",
        40 => "nvfp4",
        41 => "q1_0",
        42 => "q2_0",
        _ => "other",
    }
}

/// A metadata value as far as the estimate reads it.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Int(i128),
    Float(f64),
    Str(String),
    /// An array: its length, and its integers when it holds integers (per-layer head counts).
    Array(u64, Vec<i128>),
    Other,
}

/// One tensor: its name, elements and bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tensor {
    pub(crate) name: String,
    pub(crate) elements: u64,
    pub(crate) bytes: u64,
    pub(crate) ggml_type: u32,
}

/// A GGUF file's header.
#[derive(Debug)]
pub(crate) struct Gguf {
    metadata: HashMap<String, Value>,
    pub(crate) tensors: Vec<Tensor>,
}

/// Reads little-endian values from the header, failing on a short file.
struct Reader<R: Read> {
    inner: R,
}

impl<R: Read> Reader<R> {
    fn bytes<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut b = [0u8; N];
        self.inner
            .read_exact(&mut b)
            .map_err(|_| "the header ends early (a truncated or non-GGUF file)".to_owned())?;
        Ok(b)
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.bytes()?))
    }
    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.bytes()?))
    }
    fn string(&mut self) -> Result<String, String> {
        let len = self.u64()?;
        if len > 1 << 20 {
            return Err(format!(
                "a string of {len} bytes in the header; no GGUF has one"
            ));
        }
        let mut buf = Vec::new();
        (&mut self.inner)
            .take(len)
            .read_to_end(&mut buf)
            .map_err(|e| format!("cannot read the header: {e}"))?;
        if buf.len() as u64 != len {
            return Err("the header ends early (a truncated or non-GGUF file)".to_owned());
        }
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }
    /// Skips or reads one value of GGUF type `t`.
    fn value(&mut self, t: u32, depth: u32) -> Result<Value, String> {
        Ok(match t {
            // u8, and bool as one byte
            0 | 7 => Value::Int(i128::from(self.bytes::<1>()?[0])),
            1 => Value::Int(i128::from(i8::from_le_bytes(self.bytes()?))),
            2 => Value::Int(i128::from(u16::from_le_bytes(self.bytes()?))),
            3 => Value::Int(i128::from(i16::from_le_bytes(self.bytes()?))),
            4 => Value::Int(i128::from(self.u32()?)),
            5 => Value::Int(i128::from(i32::from_le_bytes(self.bytes()?))),
            6 => Value::Float(f64::from(f32::from_le_bytes(self.bytes()?))),
            8 => Value::Str(self.string()?),
            9 => {
                if depth > 2 {
                    return Err("arrays nested too deep in the header".to_owned());
                }
                let item = self.u32()?;
                let n = self.u64()?;
                if n > MAX_HEADER_BYTES {
                    return Err(format!(
                        "an array of {n} items in the header; no GGUF has one"
                    ));
                }
                let mut ints = Vec::new();
                for _ in 0..n {
                    if let Value::Int(v) = self.value(item, depth + 1)?
                        && ints.len() < 4096
                    {
                        ints.push(v);
                    }
                }
                Value::Array(n, ints)
            }
            10 => Value::Int(i128::from(self.u64()?)),
            11 => Value::Int(i128::from(i64::from_le_bytes(self.bytes()?))),
            12 => {
                let _ = f64::from_le_bytes(self.bytes()?);
                Value::Other
            }
            other => return Err(format!("metadata of unknown GGUF type {other}")),
        })
    }
}

impl Gguf {
    /// Reads `path`'s header.
    pub(crate) fn read(path: &Path) -> Result<Gguf, CliError> {
        let shown = path.display();
        let file = std::fs::File::open(path)
            .map_err(|e| CliError::new(format!("cannot read `{shown}`: {e}")))?;
        Gguf::parse(std::io::BufReader::new(file).take(MAX_HEADER_BYTES)).map_err(|e| {
            CliError::new(format!(
                "`{shown}`: {e}; download the file again, or convert the model anew with llama.cpp"
            ))
        })
    }

    /// Parses a header from `input`.
    pub(crate) fn parse(input: impl Read) -> Result<Gguf, String> {
        let mut r = Reader { inner: input };
        if &r.bytes::<4>()? != b"GGUF" {
            return Err("not a GGUF file (its first bytes are not `GGUF`)".to_owned());
        }
        let version = r.u32()?;
        if version != 2 && version != 3 {
            return Err(format!(
                "GGUF version {version}; versions 2 and 3 are read (convert older files with llama.cpp)"
            ));
        }
        let (tensors, kvs) = (r.u64()?, r.u64()?);
        if tensors > MAX_COUNT || kvs > MAX_COUNT {
            return Err(format!(
                "{tensors} tensors and {kvs} metadata entries in the header; no GGUF has that many"
            ));
        }
        let mut metadata = HashMap::new();
        for _ in 0..kvs {
            let key = r.string()?;
            let t = r.u32()?;
            let v = r.value(t, 0)?;
            metadata.insert(key, v);
        }
        let mut list = Vec::new();
        for _ in 0..tensors {
            let name = r.string()?;
            let dims = r.u32()?;
            if dims == 0 || dims > 4 {
                return Err(format!(
                    "tensor `{name}` has {dims} dimensions; ggml's have 1 to 4"
                ));
            }
            let mut elements: u64 = 1;
            let mut first = 0;
            for i in 0..dims {
                let d = r.u64()?;
                if i == 0 {
                    first = d;
                }
                elements = elements
                    .checked_mul(d)
                    .ok_or_else(|| format!("tensor `{name}`'s shape overflows"))?;
            }
            let ggml_type = r.u32()?;
            let _offset = r.u64()?;
            let (block, size) = ggml_block(ggml_type).ok_or_else(|| {
                format!("tensor `{name}` has ggml type {ggml_type}, which is not known")
            })?;
            if first % block != 0 {
                return Err(format!(
                    "tensor `{name}`'s rows of {first} are not whole blocks of {block} ({})",
                    ggml_name(ggml_type)
                ));
            }
            let bytes = (elements / block)
                .checked_mul(size)
                .ok_or_else(|| format!("tensor `{name}`'s bytes overflow"))?;
            list.push(Tensor {
                name,
                elements,
                bytes,
                ggml_type,
            });
        }
        Ok(Gguf {
            metadata,
            tensors: list,
        })
    }

    fn int(&self, key: &str) -> Option<u64> {
        match self.metadata.get(key) {
            Some(Value::Int(v)) => u64::try_from(*v).ok(),
            // a per-layer list: the estimate takes layers alike
            Some(Value::Array(_, ints))
                if !ints.is_empty() && ints.iter().all(|v| *v == ints[0]) =>
            {
                u64::try_from(ints[0]).ok()
            }
            _ => None,
        }
    }

    fn float(&self, key: &str) -> Option<f64> {
        match self.metadata.get(key) {
            Some(Value::Float(v)) => Some(*v),
            _ => None,
        }
    }

    /// Why `arch` is not a decoder of attention layers, if its name or keys say so: the
    /// state-space and recurrent layers' keys (`ssm.*`, `wkv.*`, `shortconv.*`), an embedding
    /// model's pooling or a bidirectional mask, an encoder–decoder's decoder start token.
    fn not_a_decoder(&self, arch: &str) -> Option<String> {
        let lower = arch.to_ascii_lowercase();
        if ["mamba", "rwkv", "bert", "t5"]
            .iter()
            .any(|n| lower.contains(n))
        {
            return Some("its name is a state-space, recurrent or encoder family's".to_owned());
        }
        let prefix = format!("{arch}.");
        let mut keys: Vec<&str> = self
            .metadata
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix))
            .collect();
        keys.sort_unstable();
        let found = keys.iter().find(|k| {
            [
                "ssm.",
                "wkv.",
                "shortconv.",
                "time_mix",
                "pooling_type",
                "decoder_start_token_id",
            ]
            .iter()
            .any(|p| k.starts_with(p))
        });
        if let Some(k) = found {
            return Some(format!(
                "its header has `{arch}.{k}` (a state-space, recurrent, embedding or encoder–decoder model's)"
            ));
        }
        // a bool is read as the integer 0 or 1
        matches!(
            self.metadata.get(&format!("{arch}.attention.causal")),
            Some(Value::Int(0))
        )
        .then(|| format!("its attention is not causal (`{arch}.attention.causal` false)"))
    }

    /// `general.architecture`.
    pub(crate) fn architecture(&self) -> Option<&str> {
        match self.metadata.get("general.architecture") {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// The tensor named `name`.
    fn tensor(&self, name: &str) -> Option<&Tensor> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// The architecture's dimensions as a Hugging Face `config.json` of the same family, for
    /// the family table (llama.cpp's `{arch}.*` keys, `src/llama-model.cpp`'s `load_hparams`).
    ///
    /// An architecture not mapped to a family (the second value names it and says how it was
    /// read) gets a Llama stand-in of the generic dims every llama.cpp architecture writes:
    /// its weights are still the tensor list's, its KV cache and compute buffers the stand-in's.
    pub(crate) fn config_json(&self) -> Result<(String, Option<(String, String)>), String> {
        let arch = self
            .architecture()
            .ok_or("the header has no `general.architecture`")?;
        let (model_type, class, stand_in) = self.family_of(arch);
        if stand_in && let Some(why) = self.not_a_decoder(arch) {
            return Err(format!(
                "{}, and {why}: a Llama stand-in would price a KV cache and compute it does not have, so it is not priced; give its Hugging Face config instead (--config or --model DIR)",
                unmapped(arch)
            ));
        }
        let need = |key: &str| self.need(arch, key, stand_in);
        let embd = need("embedding_length")?;
        let heads = need("attention.head_count")?;
        let kv = self
            .int(&format!("{arch}.attention.head_count_kv"))
            .unwrap_or(heads);
        let head_dim = self
            .int(&format!("{arch}.attention.key_length"))
            .unwrap_or_else(|| embd.checked_div(heads).unwrap_or(0));
        let embeddings = self
            .tensor("token_embd.weight")
            .ok_or("the file has no `token_embd.weight`")?;
        let vocab = embeddings.elements / embd.max(1);
        let tied = self.tensor("output.weight").is_none();
        let mut guessed = Vec::new();
        let ffn = match (stand_in, self.int(&format!("{arch}.feed_forward_length"))) {
            (_, Some(f)) => f,
            (false, None) => need("feed_forward_length")?,
            (true, None) => {
                guessed.push("feed_forward_length absent, so 4 × embedding_length".to_owned());
                4 * embd
            }
        };
        let layers = need("block_count")?;
        let mut config = crate::model::decoder_json(
            model_type,
            &crate::model::Dims {
                hidden: embd,
                ffn,
                layers,
                heads,
                kv,
                head_dim,
                vocab,
                positions: need("context_length")?,
                tied,
            },
        );
        config["architectures"] = serde_json::json!([class]);
        config["rms_norm_eps"] = serde_json::json!(
            self.float(&format!("{arch}.attention.layer_norm_rms_epsilon"))
                .unwrap_or(1e-6)
        );
        config["rope_theta"] = serde_json::json!(
            self.float(&format!("{arch}.rope.freq_base"))
                .unwrap_or(10000.0)
        );
        config["hidden_act"] = serde_json::json!("silu");
        self.family_keys(arch, &mut config, (layers, ffn))?;
        if !stand_in {
            return Ok((config.to_string(), None));
        }
        if let Some(w) = self
            .int(&format!("{arch}.attention.sliding_window"))
            .filter(|&w| w > 0)
        {
            guessed.push(format!(
                "a sliding window of {w} in the header, which the stand-in caches whole: its KV cache is an upper bound"
            ));
        }
        let absent = if guessed.is_empty() {
            String::new()
        } else {
            format!("; {}", guessed.join(", "))
        };
        let read = format!(
            "embedding_length {embd}, feed_forward_length {ffn}, {layers} blocks, {heads} heads, {kv} KV heads of {head_dim}, vocab {vocab} from the header{absent}"
        );
        Ok((config.to_string(), Some((clip(arch), read))))
    }

    /// The integer `{arch}.{key}`, or an error that says what to do without it.
    fn need(&self, arch: &str, key: &str, stand_in: bool) -> Result<u64, String> {
        // a zero dimension is no dimension
        self.int(&format!("{arch}.{key}")).filter(|&v| v > 0).ok_or_else(|| {
            if stand_in {
                format!(
                    "{}, and its header has no `{arch}.{key}` (or it is 0, or differs by layer) to price its serving from; give its Hugging Face config instead",
                    unmapped(arch)
                )
            } else {
                format!(
                    "the header has no `{arch}.{key}` (or it is 0, or differs by layer); convert the model again with llama.cpp's convert_hf_to_gguf.py"
                )
            }
        })
    }

    /// The family (`model_type`, transformers' class) a GGUF architecture is read as, or the
    /// Llama stand-in (`true`).
    fn family_of(&self, arch: &str) -> (&'static str, &'static str, bool) {
        match arch {
            "llama" => ("llama", "LlamaForCausalLM", false),
            "qwen2" => ("qwen2", "Qwen2ForCausalLM", false),
            "qwen3" => ("qwen3", "Qwen3ForCausalLM", false),
            "gemma2" => ("gemma2", "Gemma2ForCausalLM", false),
            "phi3" => ("phi3", "Phi3ForCausalLM", false),
            "gemma3" => ("gemma3_text", "Gemma3ForCausalLM", false),
            "qwen3moe" => ("qwen3_moe", "Qwen3MoeForCausalLM", false),
            "gpt-oss" => ("gpt_oss", "GptOssForCausalLM", false),
            "qwen2moe" => ("qwen2_moe", "Qwen2MoeForCausalLM", false),
            // OLMo 3 is converted as `olmo2` with a sliding window (`src/models/olmo2.cpp`)
            "olmo2"
                if self
                    .int("olmo2.attention.sliding_window")
                    .is_some_and(|w| w > 0) =>
            {
                ("olmo3", "Olmo3ForCausalLM", false)
            }
            "olmo2" => ("olmo2", "Olmo2ForCausalLM", false),
            // DeepSeek-V2/V3 as converted with MLA and experts, no multi-token-prediction
            // layers (llama.cpp skips loading those; the header would count them)
            "deepseek2" if self.deepseek_mla() => {
                // `expert_gating_func`: 2 is sigmoid (V3's score-corrected routing)
                if self.int("deepseek2.expert_gating_func") == Some(2) {
                    ("deepseek_v3", "DeepseekV3ForCausalLM", false)
                } else {
                    ("deepseek_v2", "DeepseekV2ForCausalLM", false)
                }
            }
            _ => ("llama", "LlamaForCausalLM", true),
        }
    }

    /// The keys a mapped family reads beyond the decoder's dimensions.
    fn family_keys(
        &self,
        arch: &str,
        config: &mut serde_json::Value,
        (layers, ffn): (u64, u64),
    ) -> Result<(), String> {
        if arch == "gemma2" || arch == "gemma3" {
            self.gemma(arch, config, layers);
        }
        if arch == "qwen3moe" || arch == "qwen2moe" {
            self.qwen_moe(arch, config, ffn)?;
        }
        // three sliding layers of four (`load_swa_pattern(ml, 4)`)
        if arch == "olmo2"
            && let Some(w) = self
                .int("olmo2.attention.sliding_window")
                .filter(|&w| w > 0)
        {
            config["sliding_window"] = serde_json::json!(w);
            config["layer_types"] = self.layer_types(arch, layers, true, 4);
        }
        if arch == "gpt-oss" {
            self.gpt_oss(config, layers, ffn)?;
        }
        if arch == "deepseek2" {
            self.deepseek2(config);
        }
        if arch == "phi3" {
            // `src/models/phi3.cpp`: llama.cpp disables Phi-3's sliding window ("Phi SWA is
            // currently disabled"), so every layer caches every cell
            config["sliding_window"] = serde_json::Value::Null;
        }
        Ok(())
    }

    /// Qwen3-MoE's and Qwen2-MoE's keys as llama.cpp reads them (`src/models/qwen3moe.cpp`,
    /// `qwen2moe.cpp`): every layer a mixture of `expert_count` experts of
    /// `expert_feed_forward_length` (else `feed_forward_length / expert_used_count`); Qwen2-MoE
    /// beside them a gated shared expert of `expert_shared_feed_forward_length` (else
    /// `feed_forward_length`); no dense layer.
    fn qwen_moe(&self, arch: &str, config: &mut serde_json::Value, ffn: u64) -> Result<(), String> {
        let need = |key: &str| self.need(arch, key, false);
        let used = need("expert_used_count")?;
        config["num_experts"] = serde_json::json!(need("expert_count")?);
        config["num_experts_per_tok"] = serde_json::json!(used);
        config["moe_intermediate_size"] = serde_json::json!(
            self.int(&format!("{arch}.expert_feed_forward_length"))
                .unwrap_or(ffn / used)
        );
        if arch == "qwen2moe" {
            config["shared_expert_intermediate_size"] = serde_json::json!(
                self.int("qwen2moe.expert_shared_feed_forward_length")
                    .filter(|&f| f > 0)
                    .unwrap_or(ffn)
            );
        }
        config["decoder_sparse_step"] = serde_json::json!(1);
        config["mlp_only_layers"] = serde_json::json!([]);
        config["norm_topk_prob"] = serde_json::json!(arch == "qwen3moe");
        Ok(())
    }

    /// Gemma 2's and 3's keys as llama.cpp reads them (`src/models/gemma2.cpp`, `gemma3.cpp`,
    /// `load_arch_hparams`): Gemma 2 always slides, over `attention.sliding_window` (default
    /// 4096), every other layer, its scores soft-capped (`attn_logit_softcapping`, default 50 as
    /// transformers'); Gemma 3 slides when `attention.sliding_window` is set, five layers of six;
    /// `attention.sliding_window_pattern` — a per-layer list, or `n` — overrides the pattern
    /// (`llama_hparams::set_swa_pattern`: layer `i` slides when `i % n < n − 1`); GELU (tanh)
    /// MLPs.
    fn gemma(&self, arch: &str, config: &mut serde_json::Value, layers: u64) {
        let gemma2 = arch == "gemma2";
        let key = |k: &str| format!("{arch}.{k}");
        let window = match self.int(&key("attention.sliding_window")) {
            Some(w) if w > 0 => Some(w),
            _ if gemma2 => Some(4096),
            _ => None,
        };
        let default = if gemma2 { 2 } else { 6 };
        config["layer_types"] = self.layer_types(arch, layers, window.is_some(), default);
        config["sliding_window"] = serde_json::json!(window);
        config["hidden_activation"] = serde_json::json!("gelu_pytorch_tanh");
        if gemma2 {
            config["attn_logit_softcapping"] =
                serde_json::json!(self.float(&key("attn_logit_softcapping")).unwrap_or(50.0));
            config["final_logit_softcapping"] =
                serde_json::json!(self.float(&key("final_logit_softcapping")).unwrap_or(30.0));
        }
        if let Some(o) = config.as_object_mut() {
            o.remove("hidden_act");
        }
    }

    /// transformers' `layer_types` of llama.cpp's sliding pattern (`load_swa_pattern`): with
    /// a window, `attention.sliding_window_pattern` — a per-layer list, or `n` — else the
    /// architecture's `default` `n` (`llama_hparams::set_swa_pattern`: layer `i` slides when
    /// `i % n < n − 1`); every layer full without one.
    fn layer_types(
        &self,
        arch: &str,
        layers: u64,
        window: bool,
        default: u64,
    ) -> serde_json::Value {
        let pattern = self
            .metadata
            .get(&format!("{arch}.attention.sliding_window_pattern"));
        let sliding: Vec<bool> = match (window, pattern) {
            (false, _) => vec![false; usize::try_from(layers).unwrap_or(0)],
            (true, Some(Value::Array(n, flags)))
                if *n == layers && flags.len() as u64 == layers =>
            {
                flags.iter().map(|&f| f != 0).collect()
            }
            (true, pattern) => {
                let n = match pattern {
                    Some(Value::Int(n)) if *n > 0 => u64::try_from(*n).unwrap_or(default),
                    _ => default,
                };
                (0..layers).map(|i| i % n < n - 1).collect()
            }
        };
        let types: Vec<&str> = sliding
            .iter()
            .map(|&s| {
                if s {
                    "sliding_attention"
                } else {
                    "full_attention"
                }
            })
            .collect();
        serde_json::json!(types)
    }

    /// Whether a `deepseek2` header is an MLA conversion with experts and no
    /// multi-token-prediction layers: what the deepseek families describe.
    fn deepseek_mla(&self) -> bool {
        let has = |k: &str| self.int(&format!("deepseek2.{k}")).is_some_and(|v| v > 0);
        has("attention.key_length_mla")
            && has("attention.value_length_mla")
            && has("attention.kv_lora_rank")
            && has("rope.dimension_count")
            && has("expert_count")
            && !has("nextn_predict_layers")
    }

    /// DeepSeek-V2's and V3's keys as llama.cpp reads them (`src/models/deepseek2.cpp`,
    /// written by `conversion/deepseek.py`): the query's low rank (absent in the Lite models),
    /// the latent rank, the rotary and decompressed head widths (`key_length_mla` =
    /// `qk_nope_head_dim + qk_rope_head_dim`, `value_length_mla` = `v_head_dim`; the plain
    /// `key_length` and `head_count_kv` are the MQA view of the latent), the leading dense
    /// layers, the routed and shared experts; llama.cpp caches the latent and the rotary key
    /// alone (`src/llama-kv-cache.cpp`: no V under MLA), as the families' latent cache.
    fn deepseek2(&self, config: &mut serde_json::Value) {
        let int = |k: &str| self.int(&format!("deepseek2.{k}"));
        let rope = int("rope.dimension_count").unwrap_or(0);
        let key = int("attention.key_length_mla").unwrap_or(0);
        config["q_lora_rank"] = serde_json::json!(int("attention.q_lora_rank").filter(|&r| r > 0));
        config["kv_lora_rank"] = serde_json::json!(int("attention.kv_lora_rank"));
        config["qk_rope_head_dim"] = serde_json::json!(rope);
        config["qk_nope_head_dim"] = serde_json::json!(key.saturating_sub(rope));
        config["v_head_dim"] = serde_json::json!(int("attention.value_length_mla"));
        // transformers' DeepseekV3Config: every head its own keys and values once decompressed
        config["num_key_value_heads"] = config["num_attention_heads"].clone();
        config["head_dim"] = serde_json::json!(rope);
        config["n_routed_experts"] = serde_json::json!(int("expert_count"));
        config["num_experts_per_tok"] = serde_json::json!(int("expert_used_count"));
        config["n_shared_experts"] = serde_json::json!(int("expert_shared_count").unwrap_or(0));
        config["moe_intermediate_size"] = serde_json::json!(int("expert_feed_forward_length"));
        config["first_k_dense_replace"] =
            serde_json::json!(int("leading_dense_block_count").unwrap_or(0));
        config["n_group"] = serde_json::json!(int("expert_group_count").unwrap_or(1));
        config["topk_group"] = serde_json::json!(int("expert_group_used_count").unwrap_or(1));
        if let Some(scale) = self.float("deepseek2.expert_weights_scale") {
            config["routed_scaling_factor"] = serde_json::json!(scale);
        }
    }

    /// gpt-oss's keys as llama.cpp reads them (`src/models/openai-moe.cpp`): every layer a
    /// mixture of `expert_count` biased experts of `expert_feed_forward_length` (else
    /// `feed_forward_length`), `expert_used_count` a token; `attention.sliding_window` required,
    /// on llama.cpp's pattern of 2 (even layers slide, as transformers' `layer_types`); q/k/v/o
    /// biased, a sink per head.
    fn gpt_oss(&self, config: &mut serde_json::Value, layers: u64, ffn: u64) -> Result<(), String> {
        let need = |key: &str| self.need("gpt-oss", key, false);
        config["num_local_experts"] = serde_json::json!(need("expert_count")?);
        config["num_experts_per_tok"] = serde_json::json!(need("expert_used_count")?);
        config["intermediate_size"] = serde_json::json!(
            self.int("gpt-oss.expert_feed_forward_length")
                .unwrap_or(ffn)
        );
        config["sliding_window"] = serde_json::json!(need("attention.sliding_window")?);
        config["layer_types"] = self.layer_types("gpt-oss", layers, true, 2);
        config["attention_bias"] = serde_json::json!(true);
        Ok(())
    }

    /// The weights llama.cpp puts on the GPU and on the host for `n_gpu_layers` of `layers`
    /// repeating layers (the output layer first, then from the last; `src/llama-model.cpp`):
    /// the token embeddings stay on the host, a tied head is a second copy of them on the
    /// output's device.
    pub(crate) fn split(&self, layers: u64, n_gpu_layers: u64) -> (u64, u64) {
        let first_gpu = (layers + 1).saturating_sub(n_gpu_layers);
        let output_on_gpu = n_gpu_layers > 0;
        let (mut gpu, mut host) = (0u64, 0u64);
        for t in &self.tensors {
            let on_gpu = if let Some(rest) = t.name.strip_prefix("blk.") {
                let n: u64 = rest
                    .split('.')
                    .next()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                n >= first_gpu
            } else if t.name.starts_with("output") {
                output_on_gpu
            } else {
                false
            };
            if on_gpu {
                gpu = gpu.saturating_add(t.bytes);
            } else {
                host = host.saturating_add(t.bytes);
            }
        }
        if self.tensor("output.weight").is_none()
            && output_on_gpu
            && let Some(e) = self.tensor("token_embd.weight")
        {
            gpu = gpu.saturating_add(e.bytes);
        }
        (gpu, host)
    }

    /// The tensor types by count, most common first (`q4_K ×193, q6_K ×33, f32 ×65`).
    pub(crate) fn types(&self) -> String {
        let mut counts: Vec<(u32, usize)> = Vec::new();
        for t in &self.tensors {
            match counts.iter_mut().find(|(id, _)| *id == t.ggml_type) {
                Some((_, n)) => *n += 1,
                None => counts.push((t.ggml_type, 1)),
            }
        }
        counts.sort_by_key(|c| std::cmp::Reverse(c.1));
        counts
            .iter()
            .map(|(id, n)| format!("{} ×{n}", ggml_name(*id)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::Gguf;

    const FIXTURE: &[u8] = include_bytes!("../../tests/fixtures/llama-3-8b-q4_k_m.header.gguf");

    /// The fixture's header (tests/fixtures/gen_gguf.py): 291 tensors, llama's keys.
    #[test]
    fn reads_the_fixture() {
        let g = Gguf::parse(FIXTURE).expect("parses");
        assert_eq!(g.tensors.len(), 3 + 32 * 9);
        assert_eq!(g.architecture(), Some("llama"));
        // gen_gguf.py's sum of the same list: 4,912,898,048 B
        assert_eq!(
            g.tensors.iter().map(|t| t.bytes).sum::<u64>(),
            4_912_898_048
        );
    }

    /// A GGUF header written here: `kvs` as u32 values (GGUF type 4), then 2-D f16 tensors.
    fn header(arch: &str, kvs: &[(&str, u32)], tensors: &[(&str, [u64; 2])]) -> Vec<u8> {
        fn string(out: &mut Vec<u8>, s: &str) {
            out.extend_from_slice(&(s.len() as u64).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        let mut out = b"GGUF".to_vec();
        out.extend_from_slice(&3u32.to_le_bytes());
        out.extend_from_slice(&(tensors.len() as u64).to_le_bytes());
        out.extend_from_slice(&(kvs.len() as u64 + 1).to_le_bytes());
        string(&mut out, "general.architecture");
        out.extend_from_slice(&8u32.to_le_bytes());
        string(&mut out, arch);
        for (k, v) in kvs {
            string(&mut out, &format!("{arch}.{k}"));
            out.extend_from_slice(&4u32.to_le_bytes());
            out.extend_from_slice(&v.to_le_bytes());
        }
        for (name, dims) in tensors {
            string(&mut out, name);
            out.extend_from_slice(&2u32.to_le_bytes());
            out.extend_from_slice(&dims[0].to_le_bytes());
            out.extend_from_slice(&dims[1].to_le_bytes());
            out.extend_from_slice(&1u32.to_le_bytes());
            out.extend_from_slice(&0u64.to_le_bytes());
        }
        out
    }

    /// A Qwen3 header maps to the qwen3 family with its key length as `head_dim` (Qwen3's
    /// heads are 128 wide whatever the hidden size), no `output.weight` to a tied head, and
    /// an architecture not in the table is named in the error.
    #[test]
    fn dimensions_become_the_familys_config() {
        let keys = [
            ("embedding_length", 1024),
            ("feed_forward_length", 3072),
            ("block_count", 28),
            ("attention.head_count", 16),
            ("attention.head_count_kv", 8),
            ("attention.key_length", 128),
            ("context_length", 40960),
        ];
        let bytes = header("qwen3", &keys, &[("token_embd.weight", [1024, 151_936])]);
        let g = Gguf::parse(bytes.as_slice()).expect("parses");
        let config: serde_json::Value =
            serde_json::from_str(&g.config_json().expect("maps").0).expect("JSON");
        assert_eq!(config["model_type"], "qwen3");
        assert_eq!(config["head_dim"], 128);
        assert_eq!(config["vocab_size"], 151_936);
        assert_eq!(config["tie_word_embeddings"], true);
        // Qwen3-0.6B's shape: the family table reads it (PyTorch, Qwen3ForCausalLM of these
        // dimensions on the meta device, transformers 5.24: 596,049,920 parameters, tied)
        let model = estimator::config::ModelConfig::from_json(&config.to_string()).expect("reads");
        assert_eq!(model.cost().params, 596_049_920);
        // an unmapped attention decoder: a Llama stand-in of the same dims, named
        let other = header("newlm", &keys, &[("token_embd.weight", [1024, 50_000])]);
        let (json, stand_in) = Gguf::parse(other.as_slice())
            .expect("parses")
            .config_json()
            .expect("a stand-in");
        assert!(json.contains("\"model_type\":\"llama\""), "{json}");
        assert_eq!(stand_in.map(|s| s.0), Some("newlm".to_owned()));
        // a state-space model, by name or by its keys: refused
        let mamba = header("mamba", &keys, &[("token_embd.weight", [1024, 50_000])]);
        let err = Gguf::parse(mamba.as_slice())
            .expect("parses")
            .config_json()
            .expect_err("refused");
        assert!(
            err.contains("`mamba`") && err.contains("not priced"),
            "{err}"
        );
        let mut ssm_keys = keys.to_vec();
        ssm_keys.push(("ssm.conv_kernel", 4));
        let hybrid = header(
            "newhybrid",
            &ssm_keys,
            &[("token_embd.weight", [1024, 50_000])],
        );
        let err = Gguf::parse(hybrid.as_slice())
            .expect("parses")
            .config_json()
            .expect_err("refused");
        assert!(err.contains("newhybrid.ssm.conv_kernel"), "{err}");
    }

    /// Every truncation and thousands of byte flips of a real header: an error or a header,
    /// never a panic, and never more read than the bytes given.
    #[test]
    fn mangled_headers_are_errors() {
        for end in (0..FIXTURE.len()).step_by(97) {
            let _ = Gguf::parse(&FIXTURE[..end]);
        }
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..2000 {
            let mut bytes = FIXTURE.to_vec();
            for _ in 0..4 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let at = usize::try_from(state % bytes.len() as u64).unwrap_or(0);
                bytes[at] = (state >> 32) as u8;
            }
            if let Ok(g) = Gguf::parse(bytes.as_slice()) {
                let _ = g.config_json();
                let _ = g.split(32, 20);
            }
        }
    }
}
