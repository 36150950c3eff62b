//! `--manifest FILE`: one `seq<TAB>kind<TAB>key` line per record, in the order sent, matching
//! the records the same seed generates (and, with `--print`, the printed lines one for one).

mod common;

use chrono::{TimeZone, Utc};
use common::run_binary;
use producer_sim::{manifest, MixSettings, RecordMix, SimKind};
use std::ffi::OsStr;

#[test]
fn binary_writes_one_manifest_line_per_printed_record() {
    let path =
        std::env::temp_dir().join(format!("producer-sim-manifest-{}.tsv", std::process::id()));
    let flags = ["--print", "--count", "500", "--rate", "0", "--seed", "11"]
        .into_iter()
        .chain(["--base-time", "2025-06-01T12:00:00Z", "--start-seq", "40"])
        .chain([
            "--invalid-ratio",
            "0.2",
            "--duplicate-ratio",
            "0.1",
            "--manifest",
        ])
        .map(OsStr::new)
        .chain([path.as_os_str()]);
    let (stdout, _) = run_binary(flags);
    let written = std::fs::read_to_string(&path).expect("manifest file");
    let _ = std::fs::remove_file(&path);

    let expected: Vec<String> = RecordMix::new(&MixSettings {
        seed: 11,
        base_time: Utc
            .with_ymd_and_hms(2025, 6, 1, 12, 0, 0)
            .single()
            .expect("valid date"),
        start_seq: 40,
        invalid_ratio: 0.2,
        duplicate_ratio: 0.1,
    })
    .take(500)
    .map(|record| manifest::line(&record))
    .collect();
    assert_eq!(written, expected.concat());
    let printed = stdout.iter().filter(|&&b| b == b'\n').count();
    assert_eq!(written.lines().count(), printed);

    // Every kind occurs, and a re-send names the key of an earlier valid line.
    let rows: Vec<Vec<&str>> = written.lines().map(|l| l.split('\t').collect()).collect();
    assert!(rows.iter().all(|row| row.len() == 3));
    assert_eq!(rows[0][0], "40");
    for kind in SimKind::ALL {
        assert!(
            rows.iter().any(|row| row[1] == kind.as_str()),
            "no {kind} line"
        );
    }
    for (i, row) in rows
        .iter()
        .enumerate()
        .filter(|(_, row)| row[1] == "duplicate")
    {
        assert!(
            rows[..i]
                .iter()
                .any(|earlier| earlier[1] == "valid" && earlier[2] == row[2]),
            "re-send {row:?} has no earlier valid line"
        );
    }
}
