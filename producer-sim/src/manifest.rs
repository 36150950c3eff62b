//! `--manifest FILE`: one line per record sent, `seq<TAB>kind<TAB>key`, so that a test or a
//! reliability drill knows exactly which records were valid, invalid, malformed or re-sent, and
//! under which key, without reading the topic back. `kind` is the `x-sim-kind` header value.
//!
//! Keys never contain control characters today; should one ever, `\`, TAB, LF and CR are written
//! as `\\`, `\t`, `\n` and `\r` so that every record stays on one line of three fields.

use crate::mix::SimRecord;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// Writes the manifest lines; call [`Manifest::finish`] to flush them.
#[derive(Debug)]
pub struct Manifest {
    out: BufWriter<File>,
}

impl Manifest {
    /// Creates (or truncates) the manifest file.
    pub fn create(path: &Path) -> io::Result<Self> {
        let file = File::create(path)?;
        Ok(Self {
            out: BufWriter::with_capacity(64 * 1024, file),
        })
    }

    /// Appends the line of a record that was handed to the producer (or printed).
    pub fn record(&mut self, record: &SimRecord) -> io::Result<()> {
        self.out.write_all(line(record).as_bytes())
    }

    /// Flushes every line to the file.
    pub fn finish(mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// The manifest line of `record`, newline included.
pub fn line(record: &SimRecord) -> String {
    format!("{}\t{}\t{}\n", record.seq, record.kind, escape(&record.key))
}

fn escape(key: &str) -> std::borrow::Cow<'_, str> {
    if !key.contains(['\\', '\t', '\n', '\r']) {
        return key.into();
    }
    let mut escaped = String::with_capacity(key.len() + 8);
    for c in key.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '\t' => escaped.push_str("\\t"),
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\r"),
            c => escaped.push(c),
        }
    }
    escaped.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mix::SimKind;

    fn record(seq: u64, kind: SimKind, key: &str) -> SimRecord {
        SimRecord {
            seq,
            kind,
            key: key.to_owned(),
            value: Vec::new(),
            traceparent: String::new(),
            poison: None,
            duplicate_of: None,
        }
    }

    #[test]
    fn one_line_of_three_fields_per_record() {
        assert_eq!(
            line(&record(7, SimKind::Valid, "abc123")),
            "7\tvalid\tabc123\n"
        );
        assert_eq!(
            line(&record(8, SimKind::Invalid, "0123456789ab cdef.ü")),
            "8\tinvalid\t0123456789ab cdef.ü\n"
        );
        assert_eq!(
            line(&record(9, SimKind::Malformed, "a\tb\nc\\d\r")),
            "9\tmalformed\ta\\tb\\nc\\\\d\\r\n"
        );
    }
}
