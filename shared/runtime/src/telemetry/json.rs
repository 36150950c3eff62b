//! JSON log lines written straight into the line buffer, for `LOG_FORMAT=json`.
//!
//! Same shape as tracing-subscriber's JSON formatter (`timestamp`, `level`, `fields`, `target`,
//! and the current `span` with its fields and `name`), which log collectors and our tests read.
//! That formatter stores each span's fields as a JSON object and parses it back into a map for
//! every event inside the span; with one access-log line per request that parse, and the map
//! building around it, was most of what logging cost query-api. Here a span's fields are kept as
//! a ready JSON fragment (`"a":1,"b":"x"`) that events splice in as is, and values are escaped as
//! they are written, without building maps or values.

use std::fmt::{self, Write};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// Formats events as JSON lines (the event format of the JSON log layer).
pub(super) struct JsonLines;

/// Keeps span fields as a JSON fragment without braces (the field format of the JSON log layer).
pub(super) struct JsonFragment;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        // Events bridged from the `log` crate (librdkafka's messages) carry their real target.
        let normalized = event.normalized_metadata();
        let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());
        writer.write_str("{\"timestamp\":\"")?;
        SystemTime.format_time(&mut writer)?;
        write!(writer, "\",\"level\":\"{}\",\"fields\":{{", meta.level())?;
        event.record(&mut FieldWriter::new(&mut writer));
        writer.write_str("},\"target\":")?;
        write_escaped(&mut writer, meta.target())?;
        let span = event
            .parent()
            .and_then(|id| ctx.span(id))
            .or_else(|| ctx.lookup_current());
        if let Some(span) = span {
            writer.write_str(",\"span\":{")?;
            let extensions = span.extensions();
            if let Some(fields) = extensions.get::<FormattedFields<N>>() {
                if !fields.is_empty() {
                    writer.write_str(fields.as_str())?;
                    writer.write_char(',')?;
                }
            }
            writer.write_str("\"name\":")?;
            write_escaped(&mut writer, span.name())?;
            writer.write_char('}')?;
        }
        writer.write_str("}\n")
    }
}

impl<'writer> FormatFields<'writer> for JsonFragment {
    fn format_fields<R: tracing_subscriber::field::RecordFields>(
        &self,
        mut writer: Writer<'writer>,
        fields: R,
    ) -> fmt::Result {
        let mut visitor = FieldWriter::new(&mut writer);
        fields.record(&mut visitor);
        visitor.result
    }

    /// Fields recorded later (`Span::record`) are appended to the fragment; a repeated name
    /// appears twice and JSON readers keep the last value.
    fn add_fields(
        &self,
        current: &'writer mut FormattedFields<Self>,
        fields: &tracing::span::Record<'_>,
    ) -> fmt::Result {
        let mut visitor = FieldWriter::new(&mut current.fields);
        visitor.first = visitor.out.is_empty();
        fields.record(&mut visitor);
        visitor.result
    }
}

/// Writes each visited field as `"name":value`, comma-separated.
struct FieldWriter<'a, W: Write> {
    out: &'a mut W,
    first: bool,
    result: fmt::Result,
}

impl<'a, W: Write> FieldWriter<'a, W> {
    fn new(out: &'a mut W) -> Self {
        Self {
            out,
            first: true,
            result: Ok(()),
        }
    }

    /// Writes the separator and the key; `false` for fields that are not written.
    fn key(&mut self, field: &Field) -> bool {
        let name = field.name();
        if self.result.is_err() || name.starts_with("log.") {
            return false;
        }
        let name = name.strip_prefix("r#").unwrap_or(name);
        let separator = if self.first { "" } else { "," };
        self.first = false;
        self.result = self
            .out
            .write_str(separator)
            .and_then(|()| write_escaped(self.out, name))
            .and_then(|()| self.out.write_char(':'));
        self.result.is_ok()
    }

    fn raw(&mut self, field: &Field, value: fmt::Arguments<'_>) {
        if self.key(field) {
            self.result = self.out.write_fmt(value);
        }
    }
}

impl<W: Write> Visit for FieldWriter<'_, W> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if self.key(field) {
            self.result = write_escaped(self.out, value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.key(field) {
            self.result = self
                .out
                .write_char('"')
                .and_then(|()| write!(Escaping(self.out), "{value:?}"))
                .and_then(|()| self.out.write_char('"'));
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.raw(field, format_args!("{value}"));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.raw(field, format_args!("{value}"));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.raw(field, format_args!("{value}"));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if value.is_finite() {
            self.raw(field, format_args!("{value}"));
        } else {
            self.record_debug(field, &value);
        }
    }
}

/// `value` as a JSON string, quotes included.
fn write_escaped(out: &mut impl Write, value: &str) -> fmt::Result {
    out.write_char('"')?;
    Escaping(out).write_str(value)?;
    out.write_char('"')
}

/// Escapes what passes through it for the inside of a JSON string.
struct Escaping<'a, W: Write>(&'a mut W);

impl<W: Write> Write for Escaping<'_, W> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let mut clean_from = 0;
        for (at, byte) in text.bytes().enumerate() {
            let escape = match byte {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0..=0x1f => "",
                _ => continue,
            };
            self.0.write_str(&text[clean_from..at])?;
            if escape.is_empty() {
                write!(self.0, "\\u{byte:04x}")?;
            } else {
                self.0.write_str(escape)?;
            }
            clean_from = at + 1;
        }
        self.0.write_str(&text[clean_from..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::fmt::MakeWriter;
    use tracing_subscriber::prelude::*;

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Lines {
        type Writer = Lines;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    /// The lines a closure logs through the JSON layer, parsed.
    fn logged(body: impl FnOnce()) -> Vec<serde_json::Value> {
        let lines = Lines::default();
        let layer = tracing_subscriber::fmt::layer()
            .event_format(JsonLines)
            .fmt_fields(JsonFragment)
            .with_writer(lines.clone());
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), body);
        let bytes = lines.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
        String::from_utf8(bytes)
            .expect("UTF-8")
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .collect()
    }

    #[test]
    fn an_event_in_a_span_has_the_shape_log_readers_expect() {
        let lines = logged(|| {
            let span = tracing::info_span!(
                "record",
                topic = "orders",
                partition = 0_i32,
                offset = tracing::field::Empty
            );
            span.record("offset", 7_u64);
            let _entered = span.enter();
            tracing::warn!(
                kind = "malformed",
                ratio = 0.5,
                ok = true,
                "record dead-lettered"
            );
        });
        let [line] = lines.as_slice() else {
            panic!("one line expected: {lines:?}")
        };
        assert_eq!(line["level"], "WARN");
        assert_eq!(line["fields"]["message"], "record dead-lettered");
        assert_eq!(line["fields"]["kind"], "malformed");
        assert_eq!(line["fields"]["ratio"], 0.5);
        assert_eq!(line["fields"]["ok"], true);
        assert_eq!(line["target"], module_path!());
        assert_eq!(line["span"]["name"], "record");
        assert_eq!(line["span"]["topic"], "orders");
        assert_eq!(line["span"]["partition"], 0);
        assert_eq!(line["span"]["offset"], 7);
        let timestamp = line["timestamp"].as_str().expect("a timestamp");
        assert!(
            timestamp.ends_with('Z') && timestamp.len() >= 20,
            "{timestamp}"
        );
    }

    #[test]
    fn strings_are_escaped_and_events_outside_spans_have_no_span() {
        let awkward = "quote \" backslash \\ newline \n tab \t bell \u{7} é";
        let lines = logged(|| tracing::info!(path = awkward, debug = ?awkward, "{}", awkward));
        let [line] = lines.as_slice() else {
            panic!("one line expected: {lines:?}")
        };
        assert_eq!(line["fields"]["path"], awkward);
        assert_eq!(line["fields"]["message"], awkward);
        assert_eq!(line["fields"]["debug"], format!("{awkward:?}"));
        assert!(line.get("span").is_none(), "{line}");
    }
}
