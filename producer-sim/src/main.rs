//! `producer-sim`: publishes synthetic orders to Kafka (or prints them), or checks a producer's
//! orders (`validate`). All logic is in the library so tests can drive it in-process; this file
//! only wires configuration and exit codes.

use clap::Parser;
use pipeline_runtime::shutdown::Shutdown;
use producer_sim::{Args, Cli, Command};
use std::io::{self, BufReader};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    if let Err(err) = pipeline_runtime::config::load_environment(pipeline_kafka::SECRET_SETTINGS) {
        eprintln!("producer-sim: error: {err}");
        return ExitCode::from(2);
    }
    let cli = Cli::parse();
    match cli.command {
        None | Some(Command::Run) => publish(cli.args),
        // No async runtime and no telemetry: a producer's CI runs this on a plain file.
        Some(Command::Validate { file }) => validate(file.as_deref()),
    }
}

fn publish(args: Args) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("producer-sim: error: cannot start the async runtime: {err}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(async {
        let telemetry = match pipeline_runtime::telemetry::init(&args.telemetry, "producer-sim") {
            Ok(telemetry) => telemetry,
            Err(err) => {
                eprintln!("producer-sim: error: {err}");
                return ExitCode::from(2);
            }
        };
        let code = match producer_sim::run(args, Shutdown::on_signal()).await {
            Ok(summary) if summary.is_clean() => ExitCode::SUCCESS,
            // Undelivered records were already reported in the summary.
            Ok(_) => ExitCode::from(1),
            Err(err) => {
                eprintln!("producer-sim: error: {err:#}");
                ExitCode::from(2)
            }
        };
        telemetry.shutdown();
        code
    })
}

/// Exit 0 when every line is `ok`, 1 when any is not, 2 when the input cannot be read.
fn validate(file: Option<&Path>) -> ExitCode {
    let started = Instant::now();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let result = match file {
        Some(path) => match std::fs::File::open(path) {
            Ok(file) => producer_sim::validate::run(
                &mut BufReader::with_capacity(256 * 1024, file),
                &mut out,
            ),
            Err(err) => {
                eprintln!("producer-sim: error: cannot open {}: {err}", path.display());
                return ExitCode::from(2);
            }
        },
        None => producer_sim::validate::run(
            &mut BufReader::with_capacity(256 * 1024, io::stdin().lock()),
            &mut out,
        ),
    };
    match result {
        Ok(verdicts) => {
            let seconds = started.elapsed().as_secs_f64();
            eprintln!(
                "producer-sim validate: {} lines: {} ok, {} invalid, {} malformed ({:.0} lines/s)",
                verdicts.lines(),
                verdicts.ok,
                verdicts.invalid,
                verdicts.malformed,
                verdicts.lines() as f64 / seconds.max(1e-9),
            );
            if verdicts.all_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        // A closed stdout (`… | head`) is the reader's choice, not a failure of the input.
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => ExitCode::from(1),
        Err(err) => {
            eprintln!("producer-sim: error: {err}");
            ExitCode::from(2)
        }
    }
}
