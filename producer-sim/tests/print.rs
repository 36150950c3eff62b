//! `--print` through the library and through the binary: one record value per line, the same
//! seed gives the same output, and pacing spreads records over time.

mod common;

use chrono::{TimeZone, Utc};
use common::run_binary;
use producer_sim::{print, MixSettings, RecordMix};
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

fn mix(invalid_ratio: f64) -> RecordMix {
    RecordMix::new(&MixSettings {
        seed: 99,
        base_time: Utc
            .with_ymd_and_hms(2025, 6, 1, 12, 0, 0)
            .single()
            .expect("valid date"),
        start_seq: 0,
        invalid_ratio,
        duplicate_ratio: 0.1,
    })
}

#[test]
fn prints_one_value_per_line() {
    let mut out = Vec::new();
    let summary =
        print::run(mix(0.3), Some(400), 0.0, &AtomicBool::new(false), &mut out).expect("print");
    assert_eq!(summary.sent.total(), 400);
    assert!(summary.is_clean());
    let expected: Vec<Vec<u8>> = mix(0.3).take(400).map(|record| record.value).collect();
    let lines: Vec<&[u8]> = out.split(|&b| b == b'\n').collect();
    assert_eq!(lines.len(), 401, "400 lines and a final newline");
    for (line, value) in lines.iter().zip(&expected) {
        if std::str::from_utf8(value).is_ok() {
            assert_eq!(line, value);
        } else {
            assert_eq!(*line, format!("base64:{}", print::base64(value)).as_bytes());
        }
    }
}

#[test]
fn rate_200_for_200_records_takes_about_a_second() {
    let started = Instant::now();
    let summary = print::run(
        mix(0.0),
        Some(200),
        200.0,
        &AtomicBool::new(false),
        &mut Vec::new(),
    )
    .expect("print");
    let elapsed = started.elapsed();
    assert_eq!(summary.sent.total(), 200);
    assert!(
        (Duration::from_millis(700)..Duration::from_millis(1_600)).contains(&elapsed),
        "200 records at 200/s took {elapsed:?}"
    );
}

#[test]
fn stop_ends_a_paced_run() {
    let stop = AtomicBool::new(true);
    let summary = print::run(mix(0.0), None, 5.0, &stop, &mut Vec::new()).expect("print");
    assert_eq!(summary.sent.total(), 0);
}

#[test]
fn binary_print_mode_is_reproducible_from_the_printed_seed() {
    let flags = [
        "--print",
        "--count",
        "300",
        "--rate",
        "0",
        "--invalid-ratio",
        "0.2",
        "--duplicate-ratio",
        "0.1",
    ];
    let (first, stderr) = run_binary(flags);
    assert_eq!(first.iter().filter(|&&b| b == b'\n').count(), 300);
    // The start line tells how to repeat the run; doing so gives the same bytes.
    let repeat = stderr
        .split("(pass ")
        .nth(1)
        .and_then(|rest| rest.split(" to repeat").next())
        .expect("start line with the flags to repeat the run");
    let mut again_flags: Vec<&str> = flags.to_vec();
    again_flags.extend(repeat.split(' '));
    let (again, _) = run_binary(&again_flags);
    assert_eq!(first, again);
    assert!(stderr.contains("sent 300"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn sigterm_stops_the_binary_with_a_summary() {
    use std::process::Stdio;
    let child = Command::new(env!("CARGO_BIN_EXE_producer-sim"))
        .args(["--print", "--rate", "50"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start producer-sim");
    std::thread::sleep(Duration::from_millis(800));
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let output = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "exit {:?}: {stderr}",
        output.status
    );
    let lines = output.stdout.iter().filter(|&&b| b == b'\n').count();
    assert!(lines > 10, "{lines} lines in 0.8 s at 50/s");
    assert!(
        stderr.contains(&format!("sent {lines} (")),
        "summary must match the output: {stderr}"
    );
}
