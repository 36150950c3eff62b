//! Helpers shared by the producer-sim test binaries that run the real binary.

use std::ffi::OsStr;
use std::process::Command;

/// Runs `producer-sim <flags>` to the end without `SIM_SEED` from the environment, and asserts
/// it succeeded: its stdout and its stderr.
pub fn run_binary(flags: impl IntoIterator<Item = impl AsRef<OsStr>>) -> (Vec<u8>, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_producer-sim"));
    command.args(flags).env_remove("SIM_SEED");
    let output = pipeline_testing::process::run_ok(&mut command, "producer-sim");
    (
        output.stdout,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
