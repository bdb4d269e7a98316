//! `estimator estimate`: the per-layer summary, the breakdown, the verdict, as text or JSON.

use std::fmt::Write as _;

use estimator::config::{Architecture, Lora, clip};
use estimator::{Bytes, DType, KvPlan, Layer, LlamaCppPlan, Memory, SglangPlan, Summary};
use serde::Serialize;

use crate::CliError;
use crate::args::{EstimateArgs, Mode};
use crate::model::Model;
use crate::plan::{Built, Plan, estimate_error};

/// Bytes as the user asked: binary (GiB) or SI (GB).
fn show(b: Bytes, si: bool) -> String {
    if si {
        b.si().to_string()
    } else {
        b.to_string()
    }
}

/// `1234567` → `1,234,567`.
pub(crate) fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// vLLM's startup of the plan, when `--engine vllm`.
fn vllm_plan(built: &Built) -> Result<Option<KvPlan>, CliError> {
    match &built.vllm {
        None => Ok(None),
        Some(v) => v.checked_plan().map(Some).map_err(estimate_error),
    }
}

/// One row of `--dtypes all`.
#[derive(Serialize)]
struct DtypeRow {
    dtype: &'static str,
    largest_layer_bytes: u64,
    total_bytes: u64,
}

/// The weights of `c` in `d` ([`estimator::Cost::weights_in`]: quantized formats convert the
/// matmul weights but the head).
fn weights_in(c: &estimator::Cost, d: DType) -> u64 {
    c.weights_in(d).map_or(u64::MAX, Bytes::get)
}

/// The weights' total and largest layer (the largest part, a block counted once) in fp32,
/// bf16, int8 and int4.
fn dtype_rows(arch: &Architecture) -> Vec<DtypeRow> {
    // one block of each stack is one layer
    let block: Vec<estimator::Cost> = arch
        .top
        .items()
        .iter()
        .filter_map(|p| p.block.map(|b| arch.blocks[b].cost()))
        .collect();
    [
        ("fp32", DType::F32),
        ("bf16/fp16", DType::BF16),
        ("int8", DType::I8),
        ("int4", DType::I4),
    ]
    .into_iter()
    .map(|(name, d)| DtypeRow {
        dtype: name,
        largest_layer_bytes: arch
            .top
            .items()
            .iter()
            .filter(|p| p.block.is_none())
            .map(|p| weights_in(&p.cost, d))
            .chain(block.iter().map(|c| weights_in(c, d)))
            .max()
            .unwrap_or(0),
        total_bytes: weights_in(&arch.cost(), d),
    })
    .collect()
}

fn write_dtypes(out: &mut String, rows: &[DtypeRow], si: bool) {
    let _ = writeln!(
        out,
        "\nWeights by dtype (the head and embeddings 16-bit when quantized):"
    );
    let _ = writeln!(
        out,
        "  {:<12}{:>16}{:>14}",
        "dtype", "largest layer", "total"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "  {:<12}{:>16}{:>14}",
            r.dtype,
            show(Bytes::new(r.largest_layer_bytes), si),
            show(Bytes::new(r.total_bytes), si)
        );
    }
}

/// llama.cpp's load of the plan, when `--engine llama.cpp`.
fn llama_cpp_plan(built: &Built) -> Result<Option<LlamaCppPlan>, CliError> {
    match &built.llama_cpp {
        None => Ok(None),
        Some(v) => v.checked_plan().map(Some).map_err(estimate_error),
    }
}

/// llama.cpp's buffers as text, GPU and host, as it logs them.
fn write_llama_cpp(out: &mut String, p: &LlamaCppPlan, gpu: Option<Bytes>, si: bool) {
    let _ = writeln!(
        out,
        "\nllama.cpp at load: offloaded {}/{} layers to GPU, {} cells",
        p.gpu_layers,
        p.layers,
        grouped(p.n_ctx)
    );
    let _ = writeln!(out, "  {:<24}{:>12}{:>12}", "", "GPU", "host");
    for (name, g, h) in [
        ("model buffer", p.gpu_weights, p.host_weights),
        ("KV buffer", p.gpu_kv_cache, p.host_kv_cache),
        ("compute (+ output) buffer", p.gpu_compute, p.host_compute),
        ("total", p.gpu_total(), p.host_total()),
    ] {
        let _ = writeln!(out, "  {name:<24}{:>12}{:>12}", show(g, si), show(h, si));
    }
    if p.gpu_layers < p.layers {
        let _ = writeln!(
            out,
            "(partial offload: llama.cpp also copies host layers' weights into the GPU's compute buffer for batches of 32 tokens or more — not counted)"
        );
    }
    if let Some(usable) = gpu {
        let fits = p.gpu_total().get() <= usable.get();
        let _ = writeln!(
            out,
            "fits on the GPU: {} ({} usable; llama.cpp's --fit keeps 1 GiB free and lowers n-ctx, then n-gpu-layers, when it does not fit)",
            if fits { "yes" } else { "NO" },
            show(usable, si)
        );
    }
}

/// Thousandths of requests as the engines print concurrency, `4.25x`.
fn times(milli: u64) -> String {
    format!("{}.{:02}x", milli / 1000, milli % 1000 / 10)
}

/// SGLang's startup of the plan, when `--engine sglang`.
fn sglang_plan(built: &Built) -> Result<Option<SglangPlan>, CliError> {
    match &built.sglang {
        None => Ok(None),
        Some(v) => v.checked_plan().map(Some).map_err(estimate_error),
    }
}

/// SGLang's startup as text: the fraction, the pool and what it holds, as SGLang logs them.
fn write_sglang(out: &mut String, p: &SglangPlan, si: bool) {
    let _ = writeln!(out, "\nSGLang at startup (per GPU):");
    let reserve = if p.reserve.get() > 0 {
        format!(" (its default: {} reserved)", show(p.reserve, si))
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "  mem_fraction_static {}.{:03}{reserve}",
        p.mem_fraction_static_permille / 1000,
        p.mem_fraction_static_permille % 1000
    );
    let _ = writeln!(out, "  {:<16}{:>12}", "free (P)", show(p.free, si));
    let _ = writeln!(out, "  {:<16}{:>12}", "weights", show(p.weights, si));
    if p.state_slots > 0 {
        let _ = writeln!(out, "  {:<16}{:>12}", "Mamba pool", show(p.kv_cache, si));
        let _ = writeln!(
            out,
            "max_mamba_cache_size={} ({} B a request), no KV pool (no attention layer)",
            grouped(p.state_slots),
            grouped(p.state_bytes)
        );
    } else {
        let _ = writeln!(out, "  {:<16}{:>12}", "KV pool", show(p.kv_cache, si));
    }
    let _ = writeln!(
        out,
        "max_total_num_tokens={} ({} B per token), max_running_requests={}, context_len={}",
        grouped(p.tokens),
        grouped(p.bytes_per_token),
        p.max_running_requests,
        p.context_length
    );
    if p.swa_tokens > 0 {
        let _ = writeln!(
            out,
            "sliding window memory pool: full_layer_tokens={}, swa_layer_tokens={}",
            grouped(p.tokens),
            grouped(p.swa_tokens)
        );
    }
    let _ = writeln!(
        out,
        "requests of context_len at once: {}",
        times(p.concurrency_milli)
    );
    if p.tokens == 0 {
        let _ = writeln!(
            out,
            "starts: NO — SGLang stops with \"Not enough memory\" (raise --mem-fraction-static or use more GPUs)"
        );
    } else if !p.starts {
        let _ = writeln!(
            out,
            "starts: NO — the sliding-window pool cannot hold one request (sliding_window + page_size); raise --mem-fraction-static or use more GPUs"
        );
    }
}

/// What reaches `--target-concurrency` requests of `max_model_len` at once under vLLM.
#[derive(Serialize)]
struct TargetReport {
    concurrency: u64,
    /// The least `gpu_memory_utilization` on this GPU, if any reaches it.
    gpu_memory_utilization: Option<f64>,
    /// The least tensor-parallel degree at the plan's utilization, if one up to 64 does.
    tensor_parallel: Option<u64>,
}

fn vllm_target(args: &EstimateArgs, built: &Built) -> Option<TargetReport> {
    let (Some(v), Some(n)) = (&built.vllm, args.settings.target_concurrency) else {
        return None;
    };
    let milli = n.saturating_mul(1000);
    Some(TargetReport {
        concurrency: n,
        #[allow(clippy::cast_precision_loss, reason = "thousandths")]
        gpu_memory_utilization: v.utilization_for(milli).map(|p| p as f64 / 1000.0),
        tensor_parallel: v.tensor_parallel_for(milli),
    })
}

fn write_target(out: &mut String, t: &TargetReport, gpu: &str) {
    let util = match t.gpu_memory_utilization {
        Some(u) => format!("--gpu-memory-utilization {u:.3} on one {gpu}"),
        None => format!("more than one {gpu} holds at any --gpu-memory-utilization"),
    };
    let tp = match t.tensor_parallel {
        Some(1) => "tensor parallel 1 is enough".to_owned(),
        Some(k) => format!("tensor parallel {k} ({k} × {gpu})"),
        None => "not within tensor parallel 64".to_owned(),
    };
    let _ = writeln!(
        out,
        "For {} requests of max_model_len at once: {util}; {tp}",
        t.concurrency
    );
}

/// vLLM's startup as text: its budget, the KV cache's pages, capacity and concurrency.
fn write_vllm(out: &mut String, p: &KvPlan, si: bool) {
    let _ = writeln!(
        out,
        "
vLLM at startup (per GPU):"
    );
    let _ = writeln!(out, "  {:<16}{:>12}", "requested", show(p.requested, si));
    let _ = writeln!(out, "  {:<16}{:>12}", "weights", show(p.weights, si));
    let _ = writeln!(
        out,
        "  {:<16}{:>12}  (the profiling forward's peak)",
        "activations",
        show(p.activations, si)
    );
    if p.other.get() > 0 {
        let _ = writeln!(out, "  {:<16}{:>12}", "other", show(p.other, si));
    }
    let _ = writeln!(out, "  {:<16}{:>12}", "KV cache", show(p.kv_cache, si));
    let _ = writeln!(
        out,
        "GPU KV cache size: {} tokens ({} blocks of {} B, {} B per token{})",
        grouped(p.tokens),
        grouped(p.blocks),
        grouped(p.bytes_per_block),
        grouped(p.bytes_per_token),
        if p.groups > 1 {
            format!(
                "; {} KV-cache groups, {} blocks a request",
                p.groups,
                grouped(p.blocks_per_request)
            )
        } else {
            String::new()
        }
    );
    if p.state_bytes > 0 && p.bytes_per_token == 0 {
        let _ = writeln!(
            out,
            "Mamba states: {} B a layer per request, one block a request of any length (attention-free)",
            grouped(p.state_bytes)
        );
    } else if p.state_bytes > 0 {
        let _ = writeln!(
            out,
            "Mamba states: {} B a layer per request, padded to the attention page (vLLM raised the attention block to {} tokens)",
            grouped(p.state_bytes),
            p.block_size
        );
    }
    let _ = writeln!(
        out,
        "Maximum concurrency at max_model_len: {}",
        times(p.concurrency_milli)
    );
    if p.starts {
        let _ = writeln!(out, "starts: yes");
    } else {
        let _ = writeln!(
            out,
            "starts: NO — one request of max_model_len does not fit the KV cache; the longest that does is {} (lower --max-model-len or raise --gpu-memory-utilization)",
            grouped(p.max_model_len)
        );
    }
    let _ = writeln!(
        out,
        "(non-torch memory and CUDA graphs, which vLLM measures at startup, are not counted)"
    );
}

/// The dtype the summary sizes parameters in, as priced: training keeps fp32 masters
/// (Lightning's convention), serving its weights' dtype — 16-bit for quantized weights, which
/// quantize the matmul weights only (the breakdown's `weights` line is exact).
fn summary_dtype(built: &Built) -> DType {
    match &built.plan {
        Plan::Infer(i) if i.weight_dtype().whole_bytes().is_some_and(|b| b >= 2) => {
            i.weight_dtype()
        }
        Plan::Infer(_) => DType::BF16,
        Plan::Train(_) => DType::F32,
    }
}

/// The model's per-layer tree, printed by the library's `Summary`: the top-level parts, and
/// the block's parts under the block stack.
fn write_summary(out: &mut String, model: &Model, arch: &Architecture, depth: usize, dtype: DType) {
    let blocks: Vec<Vec<Layer<'_>>> = arch
        .blocks
        .iter()
        .map(|b| b.as_slice().iter().map(|p| p.layer(&[])).collect())
        .collect();
    let top: Vec<Layer<'_>> = arch
        .top
        .as_slice()
        .iter()
        .map(|p| match p.block {
            Some(i) => p.layer(&blocks[i]),
            None => p.layer(&[]),
        })
        .collect();
    let _ = write!(
        out,
        "{}",
        Summary::new(&model.name, arch.cost(), &top)
            .depth(depth)
            .dtype(dtype)
    );
}

/// The JSON object of `estimate --json` (the keys are documented in the README).
#[derive(Serialize)]
struct Report<'a> {
    model: &'a str,
    model_type: &'a str,
    mode: &'a str,
    params: u64,
    trainable_params: u64,
    settings: &'a str,
    assumed: &'a [String],
    notes: &'a [String],
    peak_phase: &'a str,
    total_bytes: u64,
    parts: Parts,
    phases: Vec<PhaseTotal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gpu: Option<GpuReport<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fits: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    headroom_bytes: Option<i128>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_batch: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_seq: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vllm: Option<KvPlan>,
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<HostReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    paged_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vllm_target: Option<TargetReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sglang: Option<SglangPlan>,
    #[serde(skip_serializing_if = "Option::is_none")]
    llama_cpp: Option<LlamaCppPlan>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dtypes: Option<Vec<DtypeRow>>,
}

/// Host memory under `--offload`: per GPU's process, and per node.
#[derive(Serialize)]
struct HostReport {
    per_gpu_bytes: u64,
    gpus_per_node: u64,
    per_node_bytes: u64,
}

fn host(built: &Built, m: &Memory) -> Option<HostReport> {
    built.gpus_per_node.map(|n| HostReport {
        per_gpu_bytes: m.host.get(),
        gpus_per_node: n,
        per_node_bytes: m.host.get().saturating_mul(n),
    })
}

#[derive(Serialize)]
struct Parts {
    weights: u64,
    gradients: u64,
    optimizer: u64,
    master_weights: u64,
    activations: u64,
    kv_cache: u64,
    logits: u64,
    temporaries: u64,
    overhead: u64,
}

#[derive(Serialize)]
struct PhaseTotal {
    phase: &'static str,
    total_bytes: u64,
}

#[derive(Serialize)]
struct GpuReport<'a> {
    name: &'a str,
    capacity_bytes: u64,
    reserve_bytes: u64,
    usable_bytes: u64,
}

fn parts(m: &Memory) -> Parts {
    Parts {
        weights: m.weights.get(),
        gradients: m.gradients.get(),
        optimizer: m.optimizer.get(),
        master_weights: m.master_weights.get(),
        activations: m.activations.get(),
        kv_cache: m.kv_cache.get(),
        logits: m.logits.get(),
        temporaries: m.temporaries.get(),
        overhead: m.overhead.get(),
    }
}

/// What an engine other than Hugging Face's loop takes on one GPU: its total, parts and
/// verdict, reported in place of the generate loop's (whose peak is not what the engine
/// allocates). vLLM: the weights, the profiling forward, the given non-torch memory and the
/// KV cache; SGLang: the static memory, weights and KV pool (activations and graphs live in
/// the fraction it leaves); llama.cpp: its GPU buffers.
struct EngineView {
    total: Bytes,
    parts: Parts,
    fits: Option<bool>,
}

fn engine_view(built: &Built, budget: Option<Bytes>) -> Result<Option<EngineView>, CliError> {
    let view = |weights: Bytes, activations: Bytes, kv: Bytes, other: Bytes, fits| {
        let total = Bytes::new(
            weights
                .get()
                .saturating_add(activations.get())
                .saturating_add(kv.get())
                .saturating_add(other.get()),
        );
        EngineView {
            total,
            parts: Parts {
                weights: weights.get(),
                gradients: 0,
                optimizer: 0,
                master_weights: 0,
                activations: activations.get(),
                kv_cache: kv.get(),
                logits: 0,
                temporaries: 0,
                overhead: other.get(),
            },
            fits,
        }
    };
    if let Some(p) = vllm_plan(built)? {
        return Ok(Some(view(
            p.weights,
            p.activations,
            p.kv_cache,
            p.other,
            Some(p.starts),
        )));
    }
    if let Some(p) = sglang_plan(built)? {
        let zero = Bytes::new(0);
        return Ok(Some(view(
            p.weights,
            zero,
            p.kv_cache,
            zero,
            Some(p.tokens > 0),
        )));
    }
    if let Some(p) = llama_cpp_plan(built)? {
        let fits = budget.map(|b| p.gpu_total().get() <= b.get());
        let zero = Bytes::new(0);
        return Ok(Some(view(
            p.gpu_weights,
            p.gpu_compute,
            p.gpu_kv_cache,
            zero,
            fits,
        )));
    }
    Ok(None)
}

/// The report of `estimate`, as the text or JSON to print.
pub(crate) fn estimate(
    args: &EstimateArgs,
    model: &Model,
    built: &Built,
) -> Result<String, CliError> {
    if let (Some(g), Some(_)) = (&model.generic, args.dtypes) {
        return Err(not_a_family(&g.model_type));
    }
    let arch = model.config.architecture(built.lora);
    let cost = arch.cost();
    let peak = built.plan.estimate()?;
    let total = peak.total();
    let mut phases = Vec::new();
    for &p in built.plan.phases() {
        phases.push(PhaseTotal {
            phase: p.name(),
            total_bytes: built.plan.at(p)?.total().get(),
        });
    }
    let budget = built.gpu.map(estimator::gpu::Gpu::usable);
    let engine = engine_view(built, budget)?;
    let (fits, total) = match &engine {
        Some(e) => (e.fits, e.total),
        None => (budget.map(|b| peak.fits(b)), total),
    };
    let headroom = budget.map(|b| i128::from(b.get()) - i128::from(total.get()));
    // the loop's largest batch and prompt; an engine's are its concurrency and max_model_len
    let max_batch = budget
        .filter(|_| engine.is_none())
        .map(|b| built.plan.with_seq(built.seq).max_batch(b));
    let max_seq = budget
        .filter(|_| engine.is_none())
        .map(|b| built.plan.with_batch(built.batch).max_seq(b));
    if engine.is_some() {
        phases = vec![PhaseTotal {
            phase: "startup",
            total_bytes: total.get(),
        }];
    }
    let mode = match built.mode {
        Mode::Train => "train",
        Mode::Infer => "infer",
    };
    if args.json {
        let report = Report {
            model: &model.name,
            model_type: model.type_name(),
            mode,
            params: model.count(cost.params),
            trainable_params: if built.mode == Mode::Train {
                cost.trainable
            } else {
                0
            },
            settings: &built.described,
            assumed: &built.assumed,
            notes: &built.notes,
            peak_phase: if engine.is_some() {
                "startup"
            } else {
                peak.peak_phase().name()
            },
            total_bytes: total.get(),
            parts: engine.map_or_else(|| parts(&peak), |e| e.parts),
            phases,
            gpu: built.gpu.map(|g| GpuReport {
                name: g.name,
                capacity_bytes: g.capacity.get(),
                reserve_bytes: g.reserve.get(),
                usable_bytes: g.usable().get(),
            }),
            fits,
            headroom_bytes: headroom,
            max_batch,
            max_seq,
            vllm: vllm_plan(built)?,
            host: host(built, &peak),
            paged_bytes: (peak.paged.get() > 0).then(|| peak.paged.get()),
            vllm_target: vllm_target(args, built),
            sglang: sglang_plan(built)?,
            llama_cpp: llama_cpp_plan(built)?,
            dtypes: args.dtypes.map(|_| dtype_rows(&arch)),
        };
        let mut text = serde_json::to_string_pretty(&report)
            .map_err(|e| CliError::new(format!("cannot write JSON: {e}")))?;
        text.push('\n');
        return Ok(text);
    }
    text(
        args,
        model,
        built,
        &Facts {
            arch: &arch,
            peak: &peak,
            budget,
            fits,
            headroom,
            max_batch,
            max_seq,
            engine: engine.is_some(),
        },
    )
}

/// The peak's parts, largest first, the total and, under `--offload`, the host's share.
fn write_parts(out: &mut String, built: &Built, peak: &Memory, si: bool) {
    let _ = writeln!(out, "\nMemory per GPU at the peak ({}):", peak.peak_phase());
    for (name, bytes) in peak.largest_first() {
        if bytes.get() > 0 {
            let _ = writeln!(
                out,
                "  {:<16}{:>12}",
                name.replace('_', " "),
                show(bytes, si)
            );
        }
    }
    let _ = writeln!(out, "  {:<16}{:>12}", "total", show(peak.total(), si));
    if peak.paged.get() > 0 {
        let _ = writeln!(
            out,
            "Optimizer state the driver may page to the host at this phase, not in the total: {} (bitsandbytes' paged optimizer; the step needs it back)",
            show(peak.paged, si)
        );
    }
    if let Some(h) = host(built, peak) {
        let _ = writeln!(
            out,
            "Host (CPU) memory for the offload, not in the total: {} per GPU, {} per node of {} GPU{}",
            show(Bytes::new(h.per_gpu_bytes), si),
            show(Bytes::new(h.per_node_bytes), si),
            h.gpus_per_node,
            if h.gpus_per_node == 1 { "" } else { "s" }
        );
    }
}

/// The engine's section of the text report, when an engine is chosen.
fn write_engines(out: &mut String, args: &EstimateArgs, built: &Built) -> Result<(), CliError> {
    let si = args.si;
    if let Some(p) = vllm_plan(built)? {
        write_vllm(out, &p, si);
        if let (Some(t), Some(g)) = (vllm_target(args, built), built.gpu) {
            write_target(out, &t, g.name);
        }
    }
    if let Some(p) = sglang_plan(built)? {
        write_sglang(out, &p, si);
    }
    if let Some(p) = llama_cpp_plan(built)? {
        write_llama_cpp(out, &p, built.gpu.map(estimator::gpu::Gpu::usable), si);
    }
    Ok(())
}

/// What the text report shows, computed once.
struct Facts<'a> {
    arch: &'a Architecture,
    peak: &'a Memory,
    budget: Option<Bytes>,
    fits: Option<bool>,
    headroom: Option<i128>,
    max_batch: Option<u64>,
    max_seq: Option<u64>,
    /// An engine's section gives the memory and the verdict: the loop's are not printed.
    engine: bool,
}

fn text(
    args: &EstimateArgs,
    model: &Model,
    built: &Built,
    f: &Facts<'_>,
) -> Result<String, CliError> {
    let (arch, peak) = (f.arch, f.peak);
    let (budget, fits, headroom, max_batch, max_seq) =
        (f.budget, f.fits, f.headroom, f.max_batch, f.max_seq);
    let cost = arch.cost();
    let si = args.si;
    let mut out = String::new();
    write_heading(&mut out, model, built, cost.params, cost.trainable);
    let _ = writeln!(out, "{}", built.described);
    if !built.assumed.is_empty() {
        let _ = writeln!(out, "assumed: {}", built.assumed.join(", "));
    }
    for note in &built.notes {
        let _ = writeln!(out, "note: {note}");
    }
    // a stand-in's layers are not the model's: no per-layer table
    if args.depth > 0 && model.generic.is_none() {
        let _ = writeln!(out);
        write_summary(&mut out, model, arch, args.depth, summary_dtype(built));
    }
    write_engines(&mut out, args, built)?;
    if !f.engine {
        write_parts(&mut out, built, peak, si);
    }
    if args.dtypes.is_some() {
        write_dtypes(&mut out, &dtype_rows(arch), si);
    }
    if f.engine {
        return Ok(out);
    }
    let _ = writeln!(out, "By phase:");
    for p in &built
        .plan
        .phases()
        .iter()
        .map(|&p| built.plan.at(p))
        .collect::<Result<Vec<_>, _>>()?
    {
        let _ = writeln!(
            out,
            "  {:<16}{:>12}",
            p.peak_phase().name(),
            show(p.total(), si)
        );
    }
    if let (Some(g), Some(budget), Some(fits), Some(headroom)) = (built.gpu, budget, fits, headroom)
    {
        let _ = writeln!(
            out,
            "\nGPU {}: {} usable ({} − {} CUDA context)",
            g.name,
            show(budget, si),
            show(g.capacity, si),
            show(g.reserve, si)
        );
        let margin = Bytes::new(u64::try_from(headroom.unsigned_abs()).unwrap_or(u64::MAX));
        if fits {
            let _ = writeln!(out, "fits: yes, {} to spare", show(margin, si));
        } else {
            let _ = writeln!(out, "fits: NO, {} short", show(margin, si));
        }
        let what = if built.mode == Mode::Train {
            "sequence"
        } else {
            "prompt"
        };
        // the longest is the position table's end when the memory is not what stops it
        let generated = match built.plan {
            Plan::Infer(i) => i.generated(),
            Plan::Train(_) => 0,
        };
        let max_seq = max_seq.unwrap_or(0);
        let table = cost.positions;
        let bound = if table > 0 && max_seq > 0 && max_seq == table.saturating_sub(generated) {
            " (the end of the position table)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "largest batch at {} tokens: {}; longest {what} at batch {}: {max_seq} tokens{bound}",
            built.seq,
            max_batch.unwrap_or(0),
            built.batch,
        );
    }
    Ok(out)
}

/// `--dtypes all` for an architecture no family describes.
fn not_a_family(model_type: &str) -> CliError {
    CliError::new(format!(
        "`--dtypes all` converts a family's layers, and `{}` is not a family this tool describes; its weights are the headers'",
        clip(model_type)
    ))
}

/// The report's first line: the model, its type and its count.
fn write_heading(out: &mut String, model: &Model, built: &Built, params: u64, trainable: u64) {
    let _ = match &model.generic {
        Some(g) => writeln!(
            out,
            "{} ({}, not a family this tool describes: {} elements in {} tensors as stored)",
            model.name,
            clip(&g.model_type),
            grouped(g.elements),
            grouped(g.tensors as u64)
        ),
        None => writeln!(
            out,
            "{} ({}, {} parameters{})",
            model.name,
            model.config.model_type.name(),
            grouped(params),
            lora_note(built.lora, trainable)
        ),
    };
}

fn lora_note(lora: Option<Lora>, trainable: u64) -> String {
    match lora {
        Some(_) => format!(", {} trainable", grouped(trainable)),
        None => String::new(),
    }
}

/// `estimator presets`.
pub(crate) fn presets() -> Result<String, CliError> {
    let mut out = String::from("Presets (--preset NAME):\n");
    for (name, text) in crate::model::PRESETS {
        let config = estimator::config::ModelConfig::from_json(text)
            .map_err(|e| CliError::new(format!("preset `{name}`: {e}")))?;
        let _ = writeln!(
            out,
            "  {name:<20} {:<8} {:>16} parameters",
            config.model_type.name(),
            grouped(config.params())
        );
    }
    out.push_str("\nGPUs (--gpu NAME):\n");
    for g in estimator::gpu::ALL {
        let _ = writeln!(
            out,
            "  {:<20} {:>12} ({} usable)",
            g.name,
            g.capacity,
            g.usable()
        );
    }
    Ok(out)
}
