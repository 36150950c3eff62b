//! `producer-sim validate` (contract §11): one verdict line per input line, from ingest's own
//! decoding and validation, exit 1 when any line fails; and `--print` output pipes straight in.

use chrono::Utc;
use order_model::SAMPLE_JSON;
use order_synthetic::OrderGenerator;
use producer_sim::validate::{self, Verdicts};
use producer_sim::{print, MixSettings, RecordMix, SimKind};
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;

fn settings() -> MixSettings {
    MixSettings {
        seed: 21,
        // Now, so no generated order is judged to be from the future.
        base_time: Utc::now(),
        start_seq: 0,
        invalid_ratio: 0.4,
        duplicate_ratio: 0.1,
    }
}

/// Runs the binary's `validate` with `input` on stdin (or `args` naming a file).
fn run_validate(args: &[&str], input: &[u8]) -> (Option<i32>, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_producer-sim"))
        .arg("validate")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run producer-sim validate");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input).expect("write stdin");
    drop(stdin);
    let output = child.wait_with_output().expect("wait");
    (
        output.status.code(),
        String::from_utf8(output.stdout).expect("UTF-8 verdicts"),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn every_printed_record_is_judged_as_its_kind_says() {
    let settings = settings();
    let mut printed = Vec::new();
    let stop = AtomicBool::new(false);
    print::run(
        RecordMix::new(&settings),
        Some(500),
        0.0,
        &stop,
        &mut printed,
    )
    .expect("print");
    let mix = RecordMix::new(&settings);
    let generator = mix.generator().clone();
    let records: Vec<_> = mix.take(500).collect();

    let (code, stdout, stderr) = run_validate(&[], &printed);
    assert_eq!(code, Some(1), "some lines fail: {stderr}");
    let verdicts: Vec<&str> = stdout.lines().collect();
    assert_eq!(verdicts.len(), 500, "one verdict per line");
    for (record, verdict) in records.iter().zip(&verdicts) {
        let expected = match record.kind {
            SimKind::Valid | SimKind::Duplicate => "ok",
            SimKind::Invalid => "invalid: ",
            SimKind::Malformed => "malformed: ",
        };
        assert!(
            verdict.starts_with(expected),
            "#{} {:?}: {verdict}",
            record.seq,
            record.poison
        );
        // An invalid record's verdict names the path its poison broke.
        if let Some(kind) = record.poison {
            if let Some(path) = generator.poison_with_seq(record.seq, kind).expected_path {
                assert!(
                    verdict.contains(&format!("{path}: ")),
                    "#{}: {verdict}",
                    record.seq
                );
            }
        }
    }
    assert!(stderr.contains("500 lines"), "{stderr}");
}

#[test]
fn names_the_failing_paths_and_reads_a_file() {
    let fixture: serde_json::Value = serde_json::from_str(SAMPLE_JSON).expect("fixture");
    let compact = fixture.to_string();
    let mut evolved = fixture.clone();
    evolved["gift"] = serde_json::json!({"wrap": true});
    evolved["delivery"]["floor"] = serde_json::json!(3);
    let mut broken = fixture.clone();
    broken["delivery"]["email"] = "ivan at example.org".into();
    broken["items"][0]["sale"] = 130.into();
    let mut wrong_type = fixture.clone();
    wrong_type["payment"]["amount"] = "Ivan Petrov".into();
    let lines = [
        compact.clone(),
        evolved.to_string(),
        broken.to_string(),
        wrong_type.to_string(),
        "not json".to_owned(),
        String::new(),
        format!("base64:{}", print::base64(compact.as_bytes())),
    ];
    let dir = std::env::temp_dir().join(format!("validate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("orders.jsonl");
    std::fs::write(&file, lines.join("\r\n")).expect("write");

    let (code, stdout, stderr) = run_validate(&[file.to_str().expect("path")], b"");
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(code, Some(1), "{stderr}");
    let verdicts: Vec<&str> = stdout.lines().collect();
    assert_eq!(verdicts.len(), lines.len(), "{stdout}");
    assert_eq!(verdicts[0], "ok");
    assert_eq!(verdicts[1], "ok", "unknown fields are fine");
    assert_eq!(
        verdicts[2],
        "invalid: delivery.email: must be a valid e-mail address; items[0].sale: must be between 0 and 100"
    );
    assert!(
        verdicts[3].starts_with(
            "malformed: not an order document: payment.amount: expected an integer, found a string"
        ),
        "{}",
        verdicts[3]
    );
    assert!(!verdicts[3].contains("Ivan"), "no values: {}", verdicts[3]);
    assert!(
        verdicts[4].starts_with("malformed: not an order document: ")
            && verdicts[4].contains("at line 1 column"),
        "{}",
        verdicts[4]
    );
    assert!(verdicts[5].starts_with("malformed: "), "{}", verdicts[5]);
    assert_eq!(verdicts[6], "ok", "base64 lines as --print writes them");
}

#[test]
fn exits_0_when_every_line_is_ok_and_2_when_the_file_is_missing() {
    let generator = OrderGenerator::new(4, Utc::now());
    let input: String = (0..50)
        .map(|seq| {
            serde_json::to_string(&generator.evolved_order_with_seq(seq)).expect("json") + "\n"
        })
        .collect();
    let (code, stdout, _) = run_validate(&[], input.as_bytes());
    assert_eq!(code, Some(0));
    assert_eq!(stdout, "ok\n".repeat(50));

    let (code, stdout, stderr) = run_validate(&["/nonexistent/orders.jsonl"], b"");
    assert_eq!(code, Some(2));
    assert!(stdout.is_empty());
    assert!(stderr.contains("cannot open"), "{stderr}");
}

#[test]
fn an_oversized_line_is_judged_by_its_length_without_holding_it() {
    let huge = format!("{{\"pad\":\"{}\"}}\n", "x".repeat(3 * 1024 * 1024));
    let mut out = Vec::new();
    let verdicts = validate::run(&mut huge.as_bytes(), &mut out).expect("run");
    assert_eq!(
        verdicts,
        Verdicts {
            ok: 0,
            invalid: 0,
            malformed: 1
        }
    );
    let text = String::from_utf8(out).expect("UTF-8");
    assert_eq!(
        text,
        format!(
            "malformed: message is {} bytes, more than the 1048576-byte limit\n",
            huge.len() - 1
        )
    );
}
