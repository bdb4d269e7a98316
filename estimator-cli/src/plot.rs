//! `estimator plot`: memory parts stacked against batch size or context length, with the GPU's
//! usable memory as a line; or vLLM's concurrency against `max_model_len`, a line per GPU.

use estimator::{Bytes, Memory};
use plotters::prelude::*;

use crate::CliError;
use crate::args::{Mode, PlotArgs, Sweep};
use crate::model::Model;
use crate::plan::{Built, Plan, estimate_error, gpu_named, vllm_on};

/// The parts in stacking order, with their colours.
const PARTS: [(&str, RGBColor); 9] = [
    ("weights", RGBColor(31, 119, 180)),
    ("master weights", RGBColor(174, 199, 232)),
    ("optimizer", RGBColor(255, 127, 14)),
    ("gradients", RGBColor(44, 160, 44)),
    ("kv cache", RGBColor(148, 103, 189)),
    ("activations", RGBColor(214, 39, 40)),
    ("logits", RGBColor(140, 86, 75)),
    ("temporaries", RGBColor(127, 127, 127)),
    ("overhead", RGBColor(188, 189, 34)),
];

fn values(m: &Memory) -> [u64; 9] {
    [
        m.weights.get(),
        m.master_weights.get(),
        m.optimizer.get(),
        m.gradients.get(),
        m.kv_cache.get(),
        m.activations.get(),
        m.logits.get(),
        m.temporaries.get(),
        m.overhead.get(),
    ]
}

#[allow(clippy::cast_precision_loss, reason = "plot coordinates")]
fn gib(b: u64) -> f64 {
    b as f64 / f64::from(1u32 << 30)
}

/// The sweep's points: powers of two (and their midpoints) up to `max`.
fn points(max: u64) -> Vec<u64> {
    let mut xs = Vec::new();
    let mut x = 1u64;
    while x <= max {
        xs.push(x);
        let mid = x + x / 2;
        if x >= 2 && mid <= max {
            xs.push(mid);
        }
        match x.checked_mul(2) {
            Some(n) => x = n,
            None => break,
        }
    }
    if xs.last() != Some(&max) {
        xs.push(max);
    }
    xs.sort_unstable();
    xs.dedup();
    xs
}

pub(crate) fn plot(args: &PlotArgs, model: &Model, built: &Built) -> Result<String, CliError> {
    let svg = args
        .out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("svg"));
    if !svg {
        return Err(CliError::new(format!(
            "`--out {}`: the plot is an SVG drawing; name the file `….svg`",
            args.out.display()
        )));
    }
    if args.sweep == Sweep::Context {
        return context(args, model, built);
    }
    if !args.compare.is_empty() {
        return Err(CliError::new(
            "`--compare` draws other GPUs' vLLM concurrency; use it with `--sweep context`",
        ));
    }
    // the sweep is Hugging Face's loop at each size; an engine allocates its own way
    if built.vllm.is_some() || built.sglang.is_some() || built.llama_cpp.is_some() {
        return Err(CliError::new(
            "`--sweep batch|seq` plots Hugging Face's generate loop, not an engine's memory: drop `--engine`, or plot vLLM's concurrency with `--engine vllm --sweep context`",
        ));
    }
    let plan = built.plan;
    let budget = built.gpu.map(estimator::gpu::Gpu::usable);
    let (label, default_max) = match args.sweep {
        // (`context` returned above)
        Sweep::Batch | Sweep::Context => ("batch size", 64),
        Sweep::Seq if built.mode == Mode::Infer => ("prompt length (tokens)", 32_768),
        Sweep::Seq => ("sequence length (tokens)", 32_768),
    };
    let max = match args.max {
        Some(0) => return Err(CliError::new("`--max` must be at least 1")),
        Some(m) => m,
        None => match budget {
            // past the largest that fits, so the crossing shows
            Some(b) => {
                let fit = match args.sweep {
                    Sweep::Batch | Sweep::Context => plan.max_batch(b),
                    Sweep::Seq => plan.max_seq(b),
                };
                (fit.saturating_mul(3) / 2).max(8)
            }
            None => default_max,
        },
    };
    // a learned position table ends the sequence sweep
    let table = model.config.cost().positions;
    let end = match plan {
        Plan::Infer(i) => table.saturating_sub(i.generated()),
        Plan::Train(_) => table,
    };
    let (max, cut) = if args.sweep == Sweep::Seq && table > 0 && max > end {
        (
            end.max(1),
            format!("; the position table ends at {table} tokens"),
        )
    } else {
        (max, String::new())
    };
    let xs = points(max);
    let mut rows: Vec<(u64, [u64; 9])> = Vec::new();
    for &x in &xs {
        let at = match args.sweep {
            Sweep::Batch | Sweep::Context => plan.with_batch(x),
            Sweep::Seq => plan.with_seq(x),
        };
        match at.estimate() {
            Ok(m) => rows.push((x, values(&m))),
            // beyond u64 bytes: the sweep stops there
            Err(_) => break,
        }
    }
    if rows.is_empty() {
        return Err(CliError::new(
            "nothing to plot: even the smallest point overflows",
        ));
    }
    let top = rows
        .iter()
        .map(|(_, v)| gib(v.iter().sum()))
        .fold(0.0, f64::max)
        .max(budget.map_or(0.0, |b| gib(b.get())))
        * 1.1;
    let x_last = rows.last().map_or(1, |r| r.0);
    let title = format!("{}: memory per GPU vs {label}", model.name);
    let out = args.out.clone();
    let labels = Labels {
        title: &title,
        subtitle: &built.described,
        x: label,
        gpu: built.gpu.map(|g| g.name),
    };
    draw(&out, &labels, &rows, x_last, top, budget)
        .map_err(|e| CliError::new(format!("cannot write `{}`: {e}", out.display())))?;
    Ok(format!(
        "wrote {} ({} points, {label} 1 to {x_last}{cut})\n",
        out.display(),
        rows.len()
    ))
}

/// A GPU's line: its name and (context, concurrency) where vLLM starts.
type Line = (String, Vec<(u64, f64)>);

/// vLLM's maximum concurrency against `max_model_len`, a line per GPU (`--gpu`, then
/// `--compare`), each ending where vLLM would no longer start.
fn context(args: &PlotArgs, model: &Model, built: &Built) -> Result<String, CliError> {
    let s = &args.settings;
    if built.vllm.is_none() {
        return Err(CliError::new(
            "`--sweep context` plots vLLM's concurrency; add `--mode infer --engine vllm --gpu NAME`",
        ));
    }
    let mut gpus = Vec::new();
    gpus.extend(built.gpu);
    for name in &args.compare {
        let g = gpu_named(name)?;
        if !gpus.contains(&g) {
            gpus.push(g);
        }
    }
    let max = match args.max {
        Some(0) => return Err(CliError::new("`--max` must be at least 1")),
        Some(m) => m,
        None if model.config.max_positions > 0 => model.config.max_positions,
        None => 131_072,
    };
    let xs: Vec<u64> = points(max)
        .into_iter()
        .filter(|&x| x >= 256.min(max))
        .collect();
    let mut lines: Vec<Line> = Vec::new();
    let mut summary = Vec::new();
    for g in gpus {
        let v = vllm_on(s, model, g, built)?;
        let mut line = Vec::new();
        let mut longest = None;
        for &x in &xs {
            let p = v.max_model_len(x).checked_plan().map_err(estimate_error)?;
            if !p.starts {
                longest = Some(p.max_model_len);
                break;
            }
            #[allow(clippy::cast_precision_loss, reason = "plot coordinates")]
            line.push((x, p.concurrency_milli as f64 / 1000.0));
        }
        let end = match line.last() {
            Some((x, c)) => format!("{c:.2}x at {x} tokens"),
            None => "nothing".to_owned(),
        };
        summary.push(match longest {
            Some(n) => format!("{} {end}, starts up to {n}", g.name),
            None => format!("{} {end}", g.name),
        });
        lines.push((g.name.to_owned(), line));
    }
    let title = format!(
        "{}: vLLM's maximum concurrency vs max_model_len",
        model.name
    );
    let subtitle = format!(
        "{}; vLLM's startup per GPU: the pool left by the weights and the profiling forward",
        built.described
    );
    draw_context(&args.out, &title, &subtitle, &lines, max)
        .map_err(|e| CliError::new(format!("cannot write `{}`: {e}", args.out.display())))?;
    Ok(format!(
        "wrote {} ({})\n",
        args.out.display(),
        summary.join("; ")
    ))
}

/// Log–log lines of concurrency against context.
#[allow(clippy::cast_precision_loss, reason = "plot coordinates")]
fn draw_context(
    path: &std::path::Path,
    title: &str,
    subtitle: &str,
    lines: &[Line],
    max: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (960, 640)).into_drawing_area();
    root.fill(&WHITE)?;
    let (header, body) = root.split_vertically(64);
    header.draw(&Text::new(
        title.to_owned(),
        (24, 14),
        ("sans-serif", 22).into_font(),
    ))?;
    header.draw(&Text::new(
        subtitle.to_owned(),
        (24, 44),
        ("sans-serif", 13).into_font().color(&BLACK.mix(0.7)),
    ))?;
    let top = lines
        .iter()
        .flat_map(|(_, l)| l.iter().map(|p| p.1))
        .fold(1.0, f64::max)
        * 1.5;
    let left = 256.min(max) as f64;
    let mut chart = ChartBuilder::on(&body)
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(
            (left..(max as f64).max(left + 1.0)).log_scale(),
            (0.1f64..top).log_scale(),
        )?;
    chart
        .configure_mesh()
        .x_desc("max_model_len (tokens)")
        .y_desc("requests at once (maximum concurrency)")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y}"))
        .draw()?;
    for (i, (name, line)) in lines.iter().enumerate() {
        let colour = PARTS[i % PARTS.len()].1;
        let points: Vec<(f64, f64)> = line.iter().map(|&(x, c)| (x as f64, c)).collect();
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(2)))?
            .label(name.clone())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 14, y)], colour.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .draw()?;
    root.present()?;
    Ok(())
}

/// The texts of the picture.
struct Labels<'a> {
    title: &'a str,
    subtitle: &'a str,
    x: &'a str,
    gpu: Option<&'a str>,
}

#[allow(clippy::cast_precision_loss, reason = "plot coordinates")]
fn draw(
    path: &std::path::Path,
    labels: &Labels<'_>,
    rows: &[(u64, [u64; 9])],
    x_last: u64,
    top: f64,
    budget: Option<Bytes>,
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (960, 640)).into_drawing_area();
    root.fill(&WHITE)?;
    let (header, body) = root.split_vertically(64);
    header.draw(&Text::new(
        labels.title.to_owned(),
        (24, 14),
        ("sans-serif", 22).into_font(),
    ))?;
    header.draw(&Text::new(
        labels.subtitle.to_owned(),
        (24, 44),
        ("sans-serif", 13).into_font().color(&BLACK.mix(0.7)),
    ))?;
    let (gpu, x_label) = (labels.gpu, labels.x);
    let mut chart = ChartBuilder::on(&body)
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(1f64..x_last as f64, 0f64..top)?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc("GiB per GPU")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    // stacked areas, drawn from the top of the stack down so each covers the ones above it
    for (i, (name, colour)) in PARTS.iter().enumerate().rev() {
        if rows.iter().all(|(_, v)| v[i] == 0) {
            continue;
        }
        let series: Vec<(f64, f64)> = rows
            .iter()
            .map(|(x, v)| (*x as f64, gib(v[..=i].iter().sum())))
            .collect();
        chart
            .draw_series(AreaSeries::new(series, 0.0, colour.mix(0.85)).border_style(colour))?
            .label(*name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], colour.filled()));
    }
    if let Some(b) = budget {
        let y = gib(b.get());
        let label = format!("{} usable: {:.1} GiB", gpu.unwrap_or("GPU"), y);
        chart
            .draw_series(LineSeries::new(
                [(1.0, y), (x_last as f64, y)],
                BLACK.stroke_width(2),
            ))?
            .label(label)
            .legend(|(x, y)| PathElement::new([(x, y), (x + 14, y)], BLACK.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .draw()?;
    root.present()?;
    Ok(())
}
