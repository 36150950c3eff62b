//! Logging setup shared by the binaries: `RUST_LOG` filters, `LOG_FORMAT` picks human text or
//! JSON lines (one object per event, span fields included, for log collectors). Logs go to
//! stderr so a binary's stdout stays clean for its output (`producer-sim --print`, `--json`).

use crate::config::TelemetryArgs;
use tracing_subscriber::{fmt, prelude::*, EnvFilter};

/// Installs the global subscriber. Call once, first thing in `main`.
pub fn init(args: &TelemetryArgs) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    // `try_init` so tests that start several apps in one process don't panic on the second.
    let _ = if args.log_format == "json" {
        registry
            .with(
                fmt::layer()
                    .json()
                    .with_writer(std::io::stderr)
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_target(true),
            )
            .try_init()
    } else {
        registry
            .with(fmt::layer().with_writer(std::io::stderr).with_target(false))
            .try_init()
    };
}
