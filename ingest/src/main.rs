//! Entry point: parse the command line, set up logging, run the chosen command. Everything else
//! lives in the library so tests can run it in-process.

use clap::Parser;
use ingest::{Application, Cli, Command};
use pipeline_runtime::shutdown::Shutdown;

#[tokio::main]
async fn main() {
    let secrets = [
        order_store::SECRET_SETTINGS,
        order_cache::SECRET_SETTINGS,
        pipeline_kafka::SECRET_SETTINGS,
    ];
    if let Err(err) = pipeline_runtime::config::load_environment(&secrets.concat()) {
        eprintln!("ingest: {err}");
        std::process::exit(2);
    }
    let cli = Cli::parse();
    let telemetry = match pipeline_runtime::telemetry::init(&cli.config.telemetry, "ingest") {
        Ok(telemetry) => telemetry,
        Err(err) => {
            eprintln!("ingest: {err}");
            std::process::exit(1);
        }
    };
    let config = cli.config;
    let result = match cli.command.unwrap_or(Command::Run) {
        Command::Run => match Application::build(config).await {
            Ok(app) => app.run_until_stopped(Shutdown::on_signal()).await,
            Err(err) => Err(err),
        },
        Command::Migrate { action } => ingest::migrate::run(action, &config.postgres).await,
        Command::Dlq { command } => {
            ingest::dlq::run(command, &config.kafka, &config.group, &config.postgres).await
        }
    };
    // Spans still queued are sent before the process ends (exit skips destructors).
    telemetry.shutdown();
    if let Err(err) = result {
        // One line an operator can act on; the details were logged where they happened.
        eprintln!("ingest: {err:#}");
        std::process::exit(1);
    }
}
