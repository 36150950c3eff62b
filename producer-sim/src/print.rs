//! `--print`: record values as lines on stdout instead of Kafka, to eyeball the data or pipe it
//! into other tools. Values are never altered, except that a value which is not UTF-8 (the
//! `not-utf8` poison) is written as `base64:<standard base64>` so the output stays text.

use crate::manifest::Manifest;
use crate::mix::RecordMix;
use crate::pacing;
use crate::summary::{KindCounts, Stats, Summary};
use std::io::{self, Write};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// Writes `count` records (or until `stop`) to `out`, paced at `rate` per second. A closed
/// pipe (`producer-sim --print | head`) ends the run normally.
pub fn run(
    mix: RecordMix,
    count: Option<u64>,
    rate: f64,
    stop: &AtomicBool,
    out: &mut impl Write,
) -> io::Result<Summary> {
    run_with_manifest(mix, count, rate, stop, out, None)
}

/// [`run`], also writing each printed record's line to `manifest` (`--manifest`).
pub fn run_with_manifest(
    mix: RecordMix,
    count: Option<u64>,
    rate: f64,
    stop: &AtomicBool,
    out: &mut impl Write,
    manifest: Option<Manifest>,
) -> io::Result<Summary> {
    let pacer = pacing::pacer(rate);
    let paced = Paced {
        flush_each: rate > 0.0,
        next_slot: |stop: &AtomicBool| pacer.wait_blocking(stop),
    };
    run_paced(mix, count, paced, stop, out, manifest)
}

/// How a run is paced: `next_slot` blocks until the next record may go (`false`: stopped
/// meanwhile); `flush_each` writes each line out as it is printed (paced output should appear
/// as it is produced, not a buffer-full at a time).
pub struct Paced<F: FnMut(&AtomicBool) -> bool> {
    pub flush_each: bool,
    pub next_slot: F,
}

/// [`run_with_manifest`] with the pacing given (tests give it a pacer on a clock they step).
pub fn run_paced(
    mut mix: RecordMix,
    count: Option<u64>,
    mut paced: Paced<impl FnMut(&AtomicBool) -> bool>,
    stop: &AtomicBool,
    out: &mut impl Write,
    mut manifest: Option<Manifest>,
) -> io::Result<Summary> {
    let seed = mix.generator().seed();
    let stats = Stats::default();
    let started = Instant::now();
    let mut out = io::BufWriter::with_capacity(256 * 1024, out);
    let mut written = 0u64;
    // One note about base64 lines is enough; a heavy poison mix would repeat it constantly.
    let mut noted = false;
    while count.is_none_or(|count| written < count) && (paced.next_slot)(stop) {
        let record = mix.next_record();
        let result = match std::str::from_utf8(&record.value) {
            Ok(_) => out.write_all(&record.value),
            Err(_) => {
                if !noted {
                    eprintln!(
                        "producer-sim: note: record seq {} ({}) is not UTF-8; such values are printed as `base64:<value in base64>`",
                        record.seq,
                        record.poison.map_or("?", |kind| kind.name())
                    );
                    noted = true;
                }
                out.write_all(b"base64:")
                    .and_then(|()| out.write_all(base64(&record.value).as_bytes()))
            }
        };
        match result.and_then(|()| out.write_all(b"\n")) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::BrokenPipe => break,
            Err(err) => return Err(err),
        }
        if paced.flush_each {
            flush_unless_closed(&mut out)?;
        }
        if let Some(manifest) = manifest.as_mut() {
            manifest.record(&record)?;
        }
        stats.record_sent(record.kind);
        written += 1;
    }
    flush_unless_closed(&mut out)?;
    if let Some(manifest) = manifest {
        manifest.finish()?;
    }
    Ok(Summary {
        seed,
        sent: stats.sent(),
        acked: None,
        failed: KindCounts::default(),
        elapsed: started.elapsed(),
        next_seq: mix.next_seq(),
    })
}

fn flush_unless_closed(out: &mut impl Write) -> io::Result<()> {
    match out.flush() {
        Err(err) if err.kind() != io::ErrorKind::BrokenPipe => Err(err),
        _ => Ok(()),
    }
}

/// Standard base64 with padding (RFC 4648 §4); too small a need for a dependency.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut text = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let word = chunk
            .iter()
            .enumerate()
            .fold(0u32, |word, (i, &b)| word | (u32::from(b) << (16 - 8 * i)));
        for position in 0..4 {
            if position <= chunk.len() {
                text.push(char::from(
                    ALPHABET[((word >> (18 - 6 * position)) & 0x3f) as usize],
                ));
            } else {
                text.push('=');
            }
        }
    }
    text
}

/// [`base64`] reversed (padding optional; no whitespace): `None` for anything else.
pub fn base64_decode(text: &[u8]) -> Option<Vec<u8>> {
    let text = text
        .strip_suffix(b"==")
        .or_else(|| text.strip_suffix(b"="))
        .unwrap_or(text);
    if text.len() % 4 == 1 {
        return None;
    }
    let mut bytes = Vec::with_capacity(text.len() / 4 * 3 + 2);
    for chunk in text.chunks(4) {
        let mut word = 0u32;
        for (position, &symbol) in chunk.iter().enumerate() {
            let value = match symbol {
                b'A'..=b'Z' => symbol - b'A',
                b'a'..=b'z' => symbol - b'a' + 26,
                b'0'..=b'9' => symbol - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                _ => return None,
            };
            word |= u32::from(value) << (18 - 6 * position);
        }
        // 2, 3 or 4 symbols carry 1, 2 or 3 bytes.
        for index in 0..chunk.len() - 1 {
            bytes.push((word >> (16 - 8 * index)) as u8);
        }
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::{base64, base64_decode};

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(base64(plain.as_bytes()), encoded);
            assert_eq!(
                base64_decode(encoded.as_bytes()),
                Some(plain.as_bytes().to_vec())
            );
        }
        let every_byte: Vec<u8> = (0..=255).collect();
        assert_eq!(
            base64_decode(base64(&every_byte).as_bytes()),
            Some(every_byte)
        );
        for bad in ["Zg=a", "Z", "Zm9v!", "Zm 9v"] {
            assert_eq!(base64_decode(bad.as_bytes()), None, "{bad}");
        }
    }
}
