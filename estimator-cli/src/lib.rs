//! The `estimator` command line as a library: [`run`] takes the arguments and returns what to
//! print and the exit status, so that the binary, the tests and the fuzzer share one path.

mod args;
mod checkpoint;
mod gguf;
mod hub;
mod model;
mod plan;
mod plot;
mod quant;
mod report;
mod validate;

use clap::Parser as _;

use args::{Cli, Command};

/// A user-facing error: one line saying what is wrong and what to do.
#[derive(Debug)]
pub(crate) struct CliError(String);

impl CliError {
    pub(crate) fn new(message: impl Into<String>) -> CliError {
        CliError(message.into())
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The error line as printed: one printable line of at most 2000 characters, whatever a user
/// typed or a file held.
fn one_line(message: &str) -> String {
    estimator::config::clip_to(message, 2000)
}

/// The contents of `path`, refused beyond `cap` bytes (read through a limit, so that
/// `/dev/zero` or a mistaken multi-gigabyte file costs nothing), and as UTF-8 text.
pub(crate) fn read_bounded(
    path: &std::path::Path,
    cap: u64,
    what: &str,
) -> Result<String, CliError> {
    use std::io::Read as _;
    let shown = path.display();
    let file = std::fs::File::open(path)
        .map_err(|e| CliError::new(format!("cannot read `{shown}`: {e}; give {what}")))?;
    let mut bytes = Vec::new();
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::new(format!("cannot read `{shown}`: {e}; give {what}")))?;
    if bytes.len() as u64 > cap {
        return Err(CliError::new(format!(
            "`{shown}` is larger than {} MiB, the limit for {what}; check the path",
            cap >> 20
        )));
    }
    String::from_utf8(bytes).map_err(|_| {
        CliError::new(format!(
            "`{shown}` is not a text file (invalid UTF-8); give {what}"
        ))
    })
}

/// Exit status for a usage or input error.
const EXIT_ERROR: u8 = 2;
/// Exit status of `validate` when a case is outside the tolerance.
const EXIT_OUTSIDE_TOLERANCE: u8 = 1;

/// What a run prints, and its exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Text for standard output.
    pub stdout: String,
    /// Text for standard error: empty, or one line.
    pub stderr: String,
    /// The exit status: 0, 1 (`validate` outside its tolerance) or 2 (bad input).
    pub code: u8,
}

/// Runs the command line `args` (the first is the program's name).
pub fn run<I, T>(args: I) -> Outcome
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => return clap_error(&e),
    };
    match dispatch(cli) {
        Ok((stdout, code)) => Outcome {
            stdout,
            stderr: String::new(),
            code,
        },
        Err(e) => Outcome {
            stdout: String::new(),
            stderr: format!("estimator: {}\n", one_line(&e.0)),
            code: EXIT_ERROR,
        },
    }
}

/// Help and version go to stdout with status 0; a usage error is one line with status 2.
fn clap_error(e: &clap::Error) -> Outcome {
    use clap::error::ErrorKind;
    let fail = |line: String| Outcome {
        stdout: String::new(),
        stderr: format!("estimator: {}\n", one_line(&line)),
        code: EXIT_ERROR,
    };
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => Outcome {
            stdout: e.render().to_string(),
            stderr: String::new(),
            code: 0,
        },
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand => fail(
            "give a subcommand (estimate, plot, validate, presets); run `estimator --help`"
                .to_owned(),
        ),
        _ => {
            let rendered = e.render().to_string();
            // the message, up to clap's usage block, on one line
            let message: Vec<&str> = rendered
                .lines()
                .map(str::trim)
                .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
                .filter(|l| !l.is_empty() && !l.starts_with("tip:"))
                .collect();
            let mut first = message.join(" ");
            first = first.trim_start_matches("error: ").to_owned();
            if let Some(arg) = first
                .strip_prefix("unexpected argument '")
                .and_then(|r| r.split('\'').next())
                .filter(|a| a.starts_with('-') && a[1..].parse::<f64>().is_ok())
            {
                first = format!("`{arg}` is negative; sizes and counts are at least 1");
            }
            let tip = rendered
                .lines()
                .find_map(|l| l.trim().strip_prefix("tip: "))
                .map(|t| format!("; {t}"))
                .unwrap_or_default();
            fail(format!("{first}{tip}; run `estimator --help`"))
        }
    }
}

/// The text to print and the exit status.
fn dispatch(cli: Cli) -> Result<(String, u8), CliError> {
    match cli.command {
        Command::Estimate(args) => {
            let s = &args.settings;
            let model = model::load(&s.source)?;
            let built = plan::build(s, &model)?;
            Ok((report::estimate(&args, &model, &built)?, 0))
        }
        Command::Plot(args) => {
            let s = &args.settings;
            let model = model::load(&s.source)?;
            let built = plan::build(s, &model)?;
            Ok((plot::plot(&args, &model, &built)?, 0))
        }
        Command::Validate(args) => {
            let (text, all_within) = validate::validate(&args)?;
            Ok((
                text,
                if all_within {
                    0
                } else {
                    EXIT_OUTSIDE_TOLERANCE
                },
            ))
        }
        Command::Presets => Ok((report::presets()?, 0)),
    }
}

/// The fuzz targets' bodies, shared with the regression test that replays their corpus.
#[doc(hidden)]
pub mod fuzz {
    use estimator::config::{Lora, LoraTargets, ModelConfig};
    use estimator::{Inference, Phase, Training};

    /// Bytes as a GGUF file's header: an error, or a header whose tensors, family config and
    /// offload split are all computed, never a panic nor an allocation the bytes do not pay for.
    pub fn gguf(data: &[u8]) {
        if let Ok(g) = crate::gguf::Gguf::parse(data) {
            let _ = g.config_json();
            let _ = g.split(32, 20);
            let _ = g.types();
        }
    }

    /// Bytes as a measurements file for `validate`: a report or one error line, never a panic
    /// (the sums of crafted sizes included).
    pub fn measurements(data: &[u8]) {
        let Ok(text) = std::str::from_utf8(data) else {
            return;
        };
        if let Err(e) = crate::validate::compare_all(text, "fuzz.json", 0.1) {
            let line = crate::one_line(&e.0);
            assert!(!line.contains('\n'), "{line}");
        }
    }

    /// Bytes as a config.json: an error, or a model whose estimates are all computed, and
    /// every plan the model accepts keeps the model's bounds (whole heads per GPU, whole
    /// layers per stage, the sequence inside the position table).
    pub fn config(data: &[u8]) {
        let Ok(text) = std::str::from_utf8(data) else {
            return;
        };
        let Ok(c) = ModelConfig::from_json(text) else {
            return;
        };
        let cost = c.cost();
        for (tp, pp, seq) in [(2, 1, 512), (3, 2, 1024), (8, 4, 4096), (64, 3, 1 << 20)] {
            let t = Training::new(cost, "fuzz")
                .seq(seq)
                .tensor_parallel(tp)
                .pipeline_parallel(pp);
            if t.checked_estimate().is_ok() {
                assert!(cost.heads == 0 || cost.heads % tp == 0);
                assert!(cost.kv_heads == 0 || cost.kv_heads % tp == 0);
                assert!(cost.blocks % pp == 0);
                assert!(cost.positions == 0 || seq <= cost.positions);
            }
            let i = Inference::new(cost, "fuzz")
                .prompt(seq)
                .generate(64)
                .tensor_parallel(tp);
            if i.checked_estimate().is_ok() {
                assert!(cost.positions == 0 || seq + 64 <= cost.positions);
            }
        }
        let longest = Training::new(cost, "fuzz").max_seq(estimator::Bytes::gib(1 << 20));
        assert!(cost.positions == 0 || longest <= cost.positions);
        let targets = LoraTargets {
            q: true,
            v: true,
            ..LoraTargets::default()
        };
        let lora = c
            .supports_lora(targets)
            .then_some(Lora { rank: 16, targets });
        for cost in [c.cost(), c.architecture(lora).cost()] {
            let t = Training::new(cost, "fuzz").batch(2).seq(256);
            let _ = t.checked_estimate();
            let _ = t.checked_at(Phase::Forward);
            let _ = t.max_batch(estimator::Bytes::gib(80));
            let i = Inference::new(cost, "fuzz").prompt(512).generate(64);
            let _ = i.checked_estimate();
            let _ = i.max_seq(estimator::Bytes::gib(24));
        }
    }

    /// Lines of bytes as the arguments of `estimator`: one line on stderr at most, exit status
    /// 0, 1 or 2. `plot`, which writes files, is left out.
    pub fn args(data: &[u8]) {
        let text = String::from_utf8_lossy(data);
        let args: Vec<&str> = text.lines().collect();
        if args
            .iter()
            .any(|a| a.contains("plot") || a.contains("--out"))
        {
            return;
        }
        let outcome = crate::run(std::iter::once("estimator").chain(args.iter().copied()));
        assert!(outcome.code <= 2, "exit status {}", outcome.code);
        assert!(
            outcome.stderr.lines().count() <= 1,
            "more than one line on stderr: {}",
            outcome.stderr
        );
        if outcome.code == 2 {
            assert!(
                outcome.stderr.starts_with("estimator: "),
                "{}",
                outcome.stderr
            );
        }
    }
}
