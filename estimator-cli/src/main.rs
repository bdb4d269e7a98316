//! `estimator`: how much GPU memory training or serving a model takes, for any Hugging Face
//! `config.json` or a bundled preset — offline, in milliseconds, on the same const-fn engine
//! as the `estimator` crate.

mod args;
mod model;
mod plan;
mod plot;
mod report;
mod validate;

use std::io::Write as _;
use std::process::ExitCode;

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

/// Exit status for a usage or input error.
const EXIT_ERROR: u8 = 2;
/// Exit status of `validate` when a case is outside the tolerance.
const EXIT_OUTSIDE_TOLERANCE: u8 = 1;

fn main() -> ExitCode {
    // A last resort: a bug must still end in one line, never a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        eprintln!("estimator: internal error ({what}); please report it with the command line");
        std::process::exit(i32::from(EXIT_ERROR));
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_error(&e),
    };
    match run(cli) {
        Ok((text, code)) => {
            let mut out = std::io::stdout().lock();
            // a closed pipe (`| head`) is not an error
            let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
            ExitCode::from(code)
        }
        Err(e) => {
            eprintln!("estimator: {e}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// Help and version go to stdout with status 0; a usage error is one line with status 2.
fn clap_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand => {
            eprintln!(
                "estimator: give a subcommand (estimate, plot, validate, presets); run `estimator --help`"
            );
            ExitCode::from(EXIT_ERROR)
        }
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
            eprintln!("estimator: {first}{tip}; run `estimator --help`");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// The text to print and the exit status.
fn run(cli: Cli) -> Result<(String, u8), CliError> {
    match cli.command {
        Command::Estimate(args) => {
            let s = &args.settings;
            let model = model::load(s.source.config.as_deref(), s.source.preset.as_deref())?;
            let built = plan::build(s, &model)?;
            Ok((report::estimate(&args, &model, &built)?, 0))
        }
        Command::Plot(args) => {
            let s = &args.settings;
            let model = model::load(s.source.config.as_deref(), s.source.preset.as_deref())?;
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
