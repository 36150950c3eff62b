//! `producer-sim validate [FILE]`: tells a producer, before it sends anything, what ingest will
//! do with each of its orders. One output line per input line — `ok`, or the very
//! `invalid: …` / `malformed: …` text ingest would put in the dead letter's `x-error-message`,
//! which names field paths, never values — because it runs ingest's own decoding and
//! validation ([`order_model::check`]: [`order_model::decode`] without building the canonical
//! JSON). Lines written as `base64:<value>` (how `--print` writes
//! a value that is not UTF-8) are decoded first, so `--print` output can be piped straight in.
//!
//! Memory stays bounded whatever the input: at most one line is held, and of a line longer than
//! any acceptable record only its length is kept.

use crate::print::base64_decode;
use order_model::{check, DecodeError, MAX_MESSAGE_BYTES};
use std::io::{self, BufRead, Write};

/// What the lines were judged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Verdicts {
    pub ok: u64,
    pub invalid: u64,
    pub malformed: u64,
}

impl Verdicts {
    pub fn lines(&self) -> u64 {
        self.ok + self.invalid + self.malformed
    }

    pub fn all_ok(&self) -> bool {
        self.lines() == self.ok
    }
}

const BASE64_PREFIX: &[u8] = b"base64:";

/// Longest line kept in full: a base64 line of a maximal record, with room for padding. Anything
/// longer is too big whatever it holds.
const MAX_LINE: usize = BASE64_PREFIX.len() + MAX_MESSAGE_BYTES.div_ceil(3) * 4 + 8;

/// Judges every line of `input`, writing one verdict line per input line to `out`.
pub fn run(input: &mut impl BufRead, out: &mut impl Write) -> io::Result<Verdicts> {
    let mut verdicts = Verdicts::default();
    let mut line = Vec::with_capacity(8 * 1024);
    let mut out = io::BufWriter::with_capacity(64 * 1024, out);
    while let Some(length) = read_line(input, &mut line)? {
        let verdict = if length > line.len() {
            Err(DecodeError::too_big(value_length(&line, length)))
        } else {
            judge(&line)
        };
        match verdict {
            Ok(()) => {
                verdicts.ok += 1;
                out.write_all(b"ok\n")?;
            }
            Err(err) => {
                match err {
                    DecodeError::Invalid(_) => verdicts.invalid += 1,
                    DecodeError::Malformed(_) => verdicts.malformed += 1,
                }
                writeln!(out, "{err}")?;
            }
        }
    }
    out.flush()?;
    Ok(verdicts)
}

fn judge(line: &[u8]) -> Result<(), DecodeError> {
    match line.strip_prefix(BASE64_PREFIX) {
        Some(encoded) => match base64_decode(encoded) {
            Some(value) => check(&value),
            None => Err(DecodeError::Malformed(
                "line starts with `base64:` but the rest is not standard base64".into(),
            )),
        },
        None => check(line),
    }
}

/// The length of the record a cut-off line holds: `total` bytes of text, or for a base64 line
/// what that text decodes to.
fn value_length(kept: &[u8], total: usize) -> usize {
    if kept.starts_with(BASE64_PREFIX) {
        (total - BASE64_PREFIX.len()) / 4 * 3
    } else {
        total
    }
}

/// Reads the next line into `line` without its `\n` (nor a `\r` before it), keeping at most
/// [`MAX_LINE`] bytes. Returns the line's full length, or `None` at the end of the input.
fn read_line(input: &mut impl BufRead, line: &mut Vec<u8>) -> io::Result<Option<usize>> {
    line.clear();
    let mut length = 0;
    let mut ended = false;
    loop {
        let buffer = match input.fill_buf() {
            Ok(buffer) => buffer,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        if buffer.is_empty() {
            break;
        }
        let (chunk, used) = match find_newline(buffer) {
            Some(at) => {
                ended = true;
                (&buffer[..at], at + 1)
            }
            None => (buffer, buffer.len()),
        };
        let room = MAX_LINE.saturating_sub(line.len());
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        length += chunk.len();
        input.consume(used);
        if ended {
            break;
        }
    }
    if length == 0 && !ended {
        return Ok(None);
    }
    if line.last() == Some(&b'\r') && length == line.len() {
        line.pop();
        length -= 1;
    }
    Ok(Some(length))
}

fn find_newline(bytes: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8]) -> Vec<(Vec<u8>, usize)> {
        let mut reader = input;
        let mut line = Vec::new();
        let mut found = Vec::new();
        while let Some(length) = read_line(&mut reader, &mut line).expect("read") {
            found.push((line.clone(), length));
        }
        found
    }

    #[test]
    fn splits_lines_like_a_producer_writes_them() {
        assert_eq!(
            lines(b"a\nbb\r\n\nccc"),
            vec![
                (b"a".to_vec(), 1),
                (b"bb".to_vec(), 2),
                (Vec::new(), 0),
                (b"ccc".to_vec(), 3)
            ]
        );
        assert!(lines(b"").is_empty());
        assert_eq!(lines(b"\n"), vec![(Vec::new(), 0)]);
    }

    #[test]
    fn keeps_only_a_bounded_prefix_of_a_huge_line() {
        let huge = vec![b'x'; MAX_LINE * 2 + 5];
        let found = lines(&huge);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0.len(), MAX_LINE);
        assert_eq!(found[0].1, MAX_LINE * 2 + 5);
    }
}
