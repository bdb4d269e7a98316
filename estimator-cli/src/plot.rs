//! `estimator plot`: memory parts stacked against batch size or context length, with the GPU's
//! usable memory as a line.

use estimator::{Bytes, Memory};
use plotters::prelude::*;

use crate::CliError;
use crate::args::{Mode, PlotArgs, Sweep};
use crate::model::Model;
use crate::plan::{Built, Plan};

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
    let plan = built.plan;
    let budget = built.gpu.map(estimator::gpu::Gpu::usable);
    let (label, default_max) = match args.sweep {
        Sweep::Batch => ("batch size", 64),
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
                    Sweep::Batch => plan.max_batch(b),
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
            Sweep::Batch => plan.with_batch(x),
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
