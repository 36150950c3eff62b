//! query-api entry point: read the configuration, start logging, serve until SIGINT/SIGTERM.

use clap::Parser;
use pipeline_runtime::shutdown::Shutdown;
use query_api::{config::Config, Application};
use std::process::ExitCode;

// Requests are served on the HTTP threads' own runtimes (see `workers`); this one only builds
// the app and waits for signals.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let secrets = [
        order_store::SECRET_SETTINGS,
        order_cache::SECRET_SETTINGS,
        query_api::config::SECRET_SETTINGS,
    ]
    .concat();
    if let Err(err) = pipeline_runtime::config::load_environment(&secrets) {
        eprintln!("query-api: {err}");
        return ExitCode::from(2);
    }
    let config = Config::parse();
    let telemetry = match pipeline_runtime::telemetry::init(&config.telemetry, "query-api") {
        Ok(telemetry) => telemetry,
        Err(err) => {
            eprintln!("query-api: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = async {
        Application::build(config)
            .await?
            .run_until_stopped(Shutdown::on_signal())
            .await
    };
    let code = match result.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One line an operator can act on: the error and its causes, joined.
            eprintln!("query-api: {err:#}");
            ExitCode::FAILURE
        }
    };
    telemetry.shutdown();
    code
}
