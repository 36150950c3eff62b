//! `producer-sim`: publishes synthetic orders to Kafka (or prints them). All logic is in the
//! library so tests can drive it in-process; this file only wires configuration and exit codes.

use clap::Parser;
use pipeline_runtime::shutdown::Shutdown;
use producer_sim::Args;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    if let Err(err) = pipeline_runtime::config::load_environment(pipeline_kafka::SECRET_SETTINGS) {
        eprintln!("producer-sim: error: {err}");
        return ExitCode::from(2);
    }
    let args = Args::parse();
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
}
