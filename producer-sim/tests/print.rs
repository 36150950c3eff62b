//! `--print` through the library and through the binary: one record value per line, the same
//! seed gives the same output, and a paced run prints no record before the pacer lets it.

mod common;

use chrono::{TimeZone, Utc};
use common::run_binary;
use governor::clock::FakeRelativeClock;
use pipeline_runtime::pacing::Pacer;
use producer_sim::{print, MixSettings, RecordMix};
use std::io::Write;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
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

/// Counts the lines written through it.
struct LineCounter(Arc<AtomicUsize>);

impl Write for LineCounter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let lines = bytes.iter().filter(|&&b| b == b'\n').count();
        self.0.fetch_add(lines, Ordering::SeqCst);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Pacing at 200/s on a clock the test steps instead of time passing: the pacer's slack lets 5
/// records go at once (20 ms of 5 ms intervals, plus the one due), then each 5 ms step of the
/// clock lets exactly one more go, and the run never gets ahead of the clock. (How the pacer
/// spaces sends is its own unit tests' subject; this is print mode waiting for it.)
#[test]
fn a_paced_run_prints_each_record_only_when_the_pacer_lets_it() {
    const RECORDS: usize = 12;
    let clock = FakeRelativeClock::default();
    let pacer = Pacer::with_clock(Some(200.0), producer_sim::pacing::SLACK, clock.clone());
    let lines = Arc::new(AtomicUsize::new(0));
    let mut out = LineCounter(Arc::clone(&lines));
    let stop = AtomicBool::new(false);
    let paced = print::Paced {
        flush_each: true,
        next_slot: |stop: &AtomicBool| pacer.wait_blocking(stop),
    };
    let summary = std::thread::scope(|scope| {
        let run = scope.spawn(|| {
            print::run_paced(mix(0.0), Some(RECORDS as u64), paced, &stop, &mut out, None)
        });
        let mut allowed = 5;
        loop {
            // A bound on a hang only: the run waits for nothing but this test's clock.
            let deadline = Instant::now() + Duration::from_secs(60);
            while lines.load(Ordering::SeqCst) < allowed {
                assert!(
                    Instant::now() < deadline,
                    "record {allowed} not printed within 60 s of the clock allowing it"
                );
                std::thread::sleep(Duration::from_millis(1));
            }
            assert_eq!(
                lines.load(Ordering::SeqCst),
                allowed,
                "printed ahead of the pacer's clock"
            );
            if allowed == RECORDS {
                break;
            }
            clock.advance(Duration::from_millis(5));
            allowed += 1;
        }
        run.join().expect("the run")
    })
    .expect("print");
    assert_eq!(summary.sent.total(), RECORDS as u64);
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
    use std::io::{BufRead, BufReader, Read};
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_producer-sim"))
        .args(["--print", "--rate", "50"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start producer-sim");
    let stderr =
        pipeline_testing::process::read_in_background(child.stderr.take().expect("piped stderr"));
    // Signalled mid-run: once it has printed some orders (a closed stdout ends the loop early).
    const SEEN: usize = 10;
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut lines = 0;
    let mut line = Vec::new();
    while lines < SEEN {
        line.clear();
        let read = stdout.read_until(b'\n', &mut line).expect("read stdout");
        assert!(read > 0, "stdout ended after {lines} lines");
        lines += 1;
    }
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).expect("read stdout");
    lines += rest.iter().filter(|&&b| b == b'\n').count();
    let status = child.wait().expect("wait");
    let stderr = stderr.join().expect("stderr reader");
    assert!(status.success(), "exit {status:?}: {stderr}");
    assert!(
        stderr.contains(&format!("sent {lines} (")),
        "summary must match the {lines} lines printed: {stderr}"
    );
}
