//! A config's `quantization_config`: the stored weights' bytes it implies, for serving, when
//! no safetensors headers say them exactly (the headers win).
//!
//! Which modules each method converts, and each one's tensors, from the libraries' source
//! (transformers 5.24's quantizers and integrations; see `docs/reference.md`): every `Linear`
//! of the layers but the head (`get_keys_to_not_convert`, `modules_to_not_convert`), or for
//! MXFP4 the mixture-of-experts' stacked experts only. The rest stays in the config's dtype
//! (16 bits).

use estimator::{Bytes, Cost, DType};
use serde_json::Value;

/// A quantization method and its parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Quant {
    /// bitsandbytes 4-bit: NF4 or FP4 in blocks of 64 with an fp32 absmax each, or with
    /// double quantization a uint8 absmax and an fp32 one per 256 of those, and the code books
    /// of each tensor's `QuantState` (64 bytes, 1,092 with double quantization:
    /// [`DType::tensor_overhead`]).
    Bnb4 { double: bool },
    /// FBGEMM's FP8 (`fbgemm_fp8`, transformers' `FbgemmFp8Linear`): an fp8 weight, an fp32
    /// scale per output row (`weight_scale`, `[out, 1]`) and an fp32 `input_scale_ub` buffer a
    /// Linear.
    Fp8Row,
    /// bitsandbytes' LLM.int8: an int8 weight and an fp32 scale per output row (`SCB`:
    /// `Int8Params` holds `[out_features]` fp32, bitsandbytes 0.50 read on CPU).
    Bnb8,
    /// GPTQ / AWQ: `bits`-bit weights packed in int32, an fp16 scale and a `bits`-bit zero per
    /// `group` inputs and output, and for GPTQ an int32 `g_idx` per input row (always saved,
    /// `desc_act` or not).
    Grouped {
        method: &'static str,
        bits: u64,
        group: u64,
    },
    /// FP8 weights with an fp32 scale per `block` elements (a 128 × 128 block: 16,384; per
    /// tensor: 0).
    Fp8 { block: u64 },
    /// MXFP4 experts: 4-bit values and a uint8 scale per 32.
    Mxfp4,
}

impl Quant {
    /// What the reports say it is.
    pub(crate) fn describe(&self) -> String {
        match *self {
            Quant::Bnb4 { double } => format!(
                "bitsandbytes 4-bit{} on every Linear but the head (its code books, {} bytes a tensor, counted)",
                if double { " with double quantization" } else { "" },
                if double { DType::NF4DoubleQuant } else { DType::NF4 }.tensor_overhead()
            ),
            Quant::Bnb8 => "bitsandbytes LLM.int8 on every Linear but the head (an fp32 scale a row, SCB, counted)".to_owned(),
            Quant::Grouped { method, bits, group } => format!(
                "{method} {bits}-bit, groups of {group}, on every Linear of the layers{}",
                if method == "gptq" { " (with g_idx, which vLLM drops after loading)" } else { "" }
            ),
            Quant::Fp8 { block: 0 } => "fp8 with a scale a tensor on every Linear but the head".to_owned(),
            Quant::Fp8 { block } => format!("fp8 with an fp32 scale per {block} elements on every Linear but the head"),
            Quant::Mxfp4 => "mxfp4 on the experts (4.25 bits), the rest 16-bit".to_owned(),
            Quant::Fp8Row => "fbgemm fp8 with an fp32 scale a row on every Linear but the head".to_owned(),
        }
    }

    /// The stored weights' bytes for a model of cost `c`: the converted elements at the
    /// method's rate, the rest in 16 bits.
    pub(crate) fn stored_bytes(&self, c: &Cost) -> u64 {
        let converted = match self {
            Quant::Mxfp4 => c.uncast_matmul,
            _ => c.matmul - c.unquantized_matmul,
        };
        let rest = c.params - converted;
        let n = u128::from(converted);
        // bitsandbytes' formats and a byte a weight are the library's dtypes
        let dtype = |d: DType| {
            let bytes = d.checked_bytes_for_tensors(converted, c.matmul_tensors);
            u128::from(bytes.map_or(u64::MAX, Bytes::get))
        };
        let quantized: u128 = match *self {
            Quant::Bnb4 { double: false } => dtype(DType::NF4),
            Quant::Bnb4 { double: true } => dtype(DType::NF4DoubleQuant),
            Quant::Grouped {
                method,
                bits,
                group,
            } => {
                let g = u128::from(group.max(1));
                let b = u128::from(bits);
                // packed weights, fp16 scales and packed zeros per group and output
                let grouped = (n * b).div_ceil(8) + (n / g) * 2 + ((n / g) * b).div_ceil(8);
                if method == "gptq" {
                    // g_idx: an int32 per input row of every converted Linear — the inputs the
                    // layers keep for their weight gradients, the head's aside
                    let inputs = c.act.weight_input_per_token + c.act.shared_input_per_token;
                    let head = c.unquantized_matmul.checked_div(c.output).unwrap_or(0);
                    grouped + 4 * u128::from(inputs.saturating_sub(head))
                } else {
                    grouped
                }
            }
            // int8, or fp8 with one scale a tensor
            Quant::Bnb8 => dtype(DType::I8) + 4 * u128::from(c.matmul_rows),
            Quant::Fp8Row => n + 4 * u128::from(c.matmul_rows) + 4 * u128::from(c.matmul_tensors),
            Quant::Fp8 { block: 0 } => dtype(DType::F8E4M3),
            Quant::Fp8 { block } => n + 4 * n.div_ceil(u128::from(block)),
            Quant::Mxfp4 => n.div_ceil(2) + n.div_ceil(32),
        };
        u64::try_from(quantized + 2 * u128::from(rest)).unwrap_or(u64::MAX)
    }
}

/// Takes `quantization_config` out of a config's JSON: the rest for the family table, and the
/// method it names.
///
/// # Errors
/// A method that is not priced, or parameters it does not have, in one line.
pub(crate) fn split(text: &str) -> Result<(String, Option<Quant>), String> {
    let Ok(mut json) = serde_json::from_str::<Value>(text) else {
        // the family table reports the JSON error itself
        return Ok((text.to_owned(), None));
    };
    let Some(q) = json
        .as_object_mut()
        .and_then(|m| m.remove("quantization_config"))
        .filter(|v| !v.is_null())
    else {
        return Ok((text.to_owned(), None));
    };
    let method = q.get("quant_method").and_then(Value::as_str).unwrap_or("");
    // modules the config keeps unconverted beyond the head would be priced as converted (MXFP4
    // converts the experts alone, and its checkpoints list the rest: gpt-oss's attention,
    // routers, embeddings)
    let skips: &[&str] = if method == "mxfp4" {
        &[]
    } else {
        &[
            "llm_int8_skip_modules",
            "modules_to_not_convert",
            "ignored_layers",
            "ignore",
        ]
    };
    for &key in skips {
        let kept: Vec<&str> = match q.get(key) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a.iter().map(|m| m.as_str().unwrap_or("?")).collect(),
            Some(_) => vec!["?"],
        };
        if kept.iter().any(|m| !m.ends_with("lm_head")) {
            return Err(format!(
                "`quantization_config`: `{key}` keeps {} unconverted, which the estimate does not price module by module; give the checkpoint with --model DIR, whose safetensors headers say the bytes",
                estimator::config::clip(&kept.join(", "))
            ));
        }
    }
    let int = |k: &str, default: u64| q.get(k).and_then(Value::as_u64).unwrap_or(default);
    let flag = |k: &str| q.get(k).and_then(Value::as_bool).unwrap_or(false);
    let quant = match method {
        "bitsandbytes" if flag("load_in_4bit") => Quant::Bnb4 {
            double: flag("bnb_4bit_use_double_quant"),
        },
        "bitsandbytes" if flag("load_in_8bit") => Quant::Bnb8,
        "gptq" | "awq" => {
            let bits = int("bits", 4);
            if !(2..=8).contains(&bits) {
                return Err(format!(
                    "`quantization_config`: {method} with {bits} bits; 2 to 8 are"
                ));
            }
            let group = match q.get("group_size").and_then(Value::as_i64) {
                Some(g) if g > 0 => g.unsigned_abs(),
                // -1: one group a column
                Some(_) => {
                    return Err(format!(
                        "`quantization_config`: {method} with group_size {} (one group a column) is not priced yet",
                        q["group_size"]
                    ));
                }
                None => 128,
            };
            Quant::Grouped {
                method: if method == "gptq" { "gptq" } else { "awq" },
                bits,
                group,
            }
        }
        "fp8" => {
            let block = match q.get("weight_block_size").and_then(Value::as_array) {
                Some(b) => b.iter().filter_map(Value::as_u64).product(),
                None => 0,
            };
            Quant::Fp8 { block }
        }
        "mxfp4" => Quant::Mxfp4,
        "fbgemm_fp8" => Quant::Fp8Row,
        other => {
            return Err(format!(
                "`quantization_config` ({}) is not priced yet; bitsandbytes, gptq, awq, fp8, fbgemm_fp8 and mxfp4 are — or give the checkpoint with --model DIR, whose safetensors headers say the bytes",
                estimator::config::clip(if other.is_empty() {
                    "no quant_method"
                } else {
                    other
                })
            ));
        }
    };
    Ok((json.to_string(), Some(quant)))
}
