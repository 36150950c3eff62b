//! Child processes in tests: one way to run a command to its end and insist it succeeded, and to
//! read a piped output while the child runs (a full pipe would stall it).

use std::io::Read;
use std::process::{Command, Output};
use std::thread::JoinHandle;

/// Runs `command` to its end and asserts it succeeded; its output. `what` names it in the panic,
/// which on failure carries its stderr.
pub fn run_ok(command: &mut Command, what: &str) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|err| panic!("run {what}: {err}"));
    assert!(
        output.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Reads `pipe` (a child's stdout or stderr) to its end on a thread of its own, so the child
/// never blocks on a full pipe; join the handle for the text (read errors are ignored).
pub fn read_in_background(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
}
