//! `estimator`: how much GPU memory training or serving a model takes, for any Hugging Face
//! `config.json` or a bundled preset — offline, in milliseconds, on the same const-fn engine
//! as the `estimator` crate.

use std::io::Write as _;
use std::process::ExitCode;

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
        std::process::exit(2);
    }));
    let outcome = estimator_cli::run(std::env::args_os());
    // a closed pipe (`| head`) is not an error
    let mut out = std::io::stdout().lock();
    let _ = out
        .write_all(outcome.stdout.as_bytes())
        .and_then(|()| out.flush());
    let _ = std::io::stderr().write_all(outcome.stderr.as_bytes());
    ExitCode::from(outcome.code)
}
