//! A small incremental Server-Sent Events parser (the `text/event-stream` format of the WHATWG
//! HTML standard, "Interpreting an event stream").
//!
//! Feed it the body's chunks as they arrive, [`SseParser::push`] returns the events completed so
//! far. It is byte-oriented and keeps an unfinished line between chunks, so a chunk may end
//! anywhere — in the middle of a field, of a multi-byte UTF-8 character, or between the `\r` and
//! `\n` of a CRLF. Handled: `event:`, multi-line `data:`, `id:` (a value with NUL is ignored, as
//! the standard says), `retry:`, comments (`:` lines — the service's keep-alives), a leading BOM,
//! and all three line endings. Unknown fields are ignored; an event with no `data:` is not
//! dispatched; an unfinished event at the end of the stream is discarded.
//!
//! Memory is bounded: a line or an event's data longer than [`SseParser::with_limit`]'s limit
//! (default [`DEFAULT_LIMIT`]) is an error, so a broken or hostile peer cannot grow the buffer
//! without end; the caller drops the connection and reconnects.

/// Default bound on one line and on one event's accumulated data (1 MiB).
pub const DEFAULT_LIMIT: usize = 1024 * 1024;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` name (`"message"` when the event had none).
    pub event: String,
    /// The `data:` lines joined with `\n`.
    pub data: String,
    /// The last event id seen on the stream so far (`id:`), if any.
    pub id: Option<String>,
}

/// The stream broke the parser's memory bound.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event-stream line or event longer than {limit} bytes")]
pub struct SseTooLong {
    /// The bound that was exceeded.
    pub limit: usize,
}

/// Incremental `text/event-stream` parser. See the module docs.
#[derive(Debug, Clone)]
pub struct SseParser {
    line: Vec<u8>,
    skip_lf: bool,
    at_start: bool,
    event: String,
    data: String,
    has_data: bool,
    last_id: Option<String>,
    retry_ms: Option<u64>,
    limit: usize,
}

impl Default for SseParser {
    fn default() -> Self {
        Self::with_limit(DEFAULT_LIMIT)
    }
}

impl SseParser {
    /// A parser with the [`DEFAULT_LIMIT`].
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A parser refusing lines or event data longer than `limit` bytes.
    #[must_use]
    pub fn with_limit(limit: usize) -> Self {
        Self {
            line: Vec::new(),
            skip_lf: false,
            at_start: true,
            event: String::new(),
            data: String::new(),
            has_data: false,
            last_id: None,
            retry_ms: None,
            limit,
        }
    }

    /// The last `retry:` the stream asked for, in milliseconds.
    #[must_use]
    pub fn retry_ms(&self) -> Option<u64> {
        self.retry_ms
    }

    /// Feeds one chunk; returns the events it completed, in order.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<SseEvent>, SseTooLong> {
        let mut out = Vec::new();
        let mut rest = chunk;
        if self.skip_lf && !rest.is_empty() {
            self.skip_lf = false;
            if let Some(tail) = rest.strip_prefix(b"\n") {
                rest = tail;
            }
        }
        while let Some(pos) = rest.iter().position(|b| *b == b'\n' || *b == b'\r') {
            let (head, tail) = rest.split_at(pos);
            self.append(head)?;
            let is_cr = tail.first() == Some(&b'\r');
            rest = tail.get(1..).unwrap_or_default();
            if is_cr {
                match rest.first() {
                    Some(b'\n') => rest = rest.get(1..).unwrap_or_default(),
                    Some(_) => {}
                    // The chunk ends between CR and a possible LF: skip that LF if it comes.
                    None => self.skip_lf = true,
                }
            }
            let line = std::mem::take(&mut self.line);
            if let Some(event) = self.process_line(&line)? {
                out.push(event);
            }
        }
        self.append(rest)?;
        Ok(out)
    }

    fn append(&mut self, bytes: &[u8]) -> Result<(), SseTooLong> {
        if self.line.len() + bytes.len() > self.limit {
            return Err(SseTooLong { limit: self.limit });
        }
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    fn process_line(&mut self, raw: &[u8]) -> Result<Option<SseEvent>, SseTooLong> {
        let mut line = String::from_utf8_lossy(raw);
        if self.at_start {
            self.at_start = false;
            if let Some(stripped) = line.strip_prefix('\u{feff}') {
                line = stripped.to_owned().into();
            }
        }
        if line.is_empty() {
            return Ok(self.dispatch());
        }
        if line.starts_with(':') {
            return Ok(None);
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line.as_ref(), ""),
        };
        match field {
            "event" => value.clone_into(&mut self.event),
            "data" => {
                if self.data.len() + value.len() + 1 > self.limit {
                    return Err(SseTooLong { limit: self.limit });
                }
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "id" if !value.contains('\0') => self.last_id = Some(value.to_owned()),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                self.retry_ms = value.parse().ok();
            }
            _ => {}
        }
        Ok(None)
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = std::mem::take(&mut self.event);
        let data = std::mem::take(&mut self.data);
        if !std::mem::replace(&mut self.has_data, false) {
            return None;
        }
        Some(SseEvent {
            event: if event.is_empty() {
                "message".to_owned()
            } else {
                event
            },
            data,
            id: self.last_id.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(event: &str, data: &str) -> SseEvent {
        SseEvent {
            event: event.into(),
            data: data.into(),
            id: None,
        }
    }

    fn parse_all(input: &[u8]) -> Vec<SseEvent> {
        SseParser::new().push(input).unwrap()
    }

    #[test]
    fn named_event_with_json_data() {
        let got = parse_all(b"event: timer_started\ndata: {\"a\":1}\n\n");
        assert_eq!(got, [ev("timer_started", "{\"a\":1}")]);
    }

    #[test]
    fn multi_line_data_is_joined_with_newlines() {
        let got = parse_all(b"data: first\ndata:second\ndata:  third\ndata\n\n");
        assert_eq!(got, [ev("message", "first\nsecond\n third\n")]);
    }

    #[test]
    fn comments_and_keep_alives_are_ignored() {
        let got =
            parse_all(b":\n: keep-alive\n\n:ping\nevent: x\n: mid-event comment\ndata: 1\n\n");
        assert_eq!(got, [ev("x", "1")]);
    }

    #[test]
    fn event_without_data_is_not_dispatched_and_does_not_leak_its_name() {
        let got = parse_all(b"event: ready\n\ndata: 2\n\n");
        assert_eq!(got, [ev("message", "2")]);
    }

    #[test]
    fn ids_persist_and_nul_ids_are_ignored() {
        let got = parse_all(b"id: 7\ndata: a\n\ndata: b\n\nid: x\0y\ndata: c\n\nid\ndata: d\n\n");
        let ids: Vec<Option<&str>> = got.iter().map(|e| e.id.as_deref()).collect();
        assert_eq!(ids, [Some("7"), Some("7"), Some("7"), Some("")]);
    }

    #[test]
    fn retry_and_unknown_fields() {
        let mut p = SseParser::new();
        let got = p
            .push(b"retry: 1500\nretry: soon\nfoo: bar\ndata: z\n\n")
            .unwrap();
        assert_eq!(got, [ev("message", "z")]);
        assert_eq!(p.retry_ms(), Some(1500));
    }

    #[test]
    fn all_line_endings_and_bom() {
        let want = [ev("e", "1"), ev("e", "2"), ev("e", "3")];
        let got = parse_all(
            "\u{feff}event: e\r\ndata: 1\r\n\r\nevent: e\rdata: 2\r\revent: e\ndata: 3\n\n"
                .as_bytes(),
        );
        assert_eq!(got, want);
    }

    #[test]
    fn chunks_split_anywhere_give_the_same_events() {
        let input = "event: timer_stopped\r\ndata: {\"d\":\"Grüße — ok\"}\r\n: keep-alive\r\n\r\n\
                     data: line1\rdata: line2\r\r"
            .as_bytes();
        let whole = parse_all(input);
        assert_eq!(whole.len(), 2);
        assert_eq!(whole[1].data, "line1\nline2");
        // Every split into two chunks, and byte-by-byte.
        for cut in 0..=input.len() {
            let mut p = SseParser::new();
            let mut got = p.push(&input[..cut]).unwrap();
            got.extend(p.push(&input[cut..]).unwrap());
            assert_eq!(got, whole, "cut at {cut}");
        }
        let mut p = SseParser::new();
        let mut got = Vec::new();
        for b in input {
            got.extend(p.push(std::slice::from_ref(b)).unwrap());
        }
        assert_eq!(got, whole);
    }

    #[test]
    fn cr_at_chunk_end_followed_by_empty_chunk() {
        let mut p = SseParser::new();
        assert!(p.push(b"data: a\r").unwrap().is_empty());
        assert!(p.push(b"").unwrap().is_empty());
        // The pending LF may still arrive after an empty read.
        assert_eq!(p.push(b"\n\r\n").unwrap(), [ev("message", "a")]);
    }

    #[test]
    fn a_blank_line_opening_a_chunk_ends_the_event() {
        let mut p = SseParser::new();
        assert!(p.push(b"data: a\n").unwrap().is_empty());
        assert_eq!(p.push(b"\n").unwrap(), [ev("message", "a")]);
    }

    #[test]
    fn unfinished_event_yields_nothing() {
        let mut p = SseParser::new();
        assert!(p.push(b"event: x\ndata: partial").unwrap().is_empty());
        assert!(p.push(b"\n").unwrap().is_empty());
    }

    #[test]
    fn memory_is_bounded() {
        let mut p = SseParser::with_limit(16);
        assert!(p.push(b"data: 0123456789").is_ok());
        assert_eq!(p.push(b"abcdef"), Err(SseTooLong { limit: 16 }));
        let mut p = SseParser::with_limit(16);
        let err = p.push(b"data: 0123456789\ndata: 0123456789\n");
        assert_eq!(err, Err(SseTooLong { limit: 16 }));
    }

    #[test]
    fn a_line_is_bounded_across_chunks() {
        let mut p = SseParser::with_limit(10);
        assert!(p.push(b"d").is_ok());
        assert_eq!(p.push(b"ata: 12345"), Err(SseTooLong { limit: 10 }));
        let mut p = SseParser::with_limit(10);
        assert!(p.push(b"data").is_ok());
        assert!(p.push(b": 1234\n").is_ok(), "exactly the limit");
    }

    #[test]
    fn an_events_data_may_reach_the_limit_and_not_pass_it() {
        // A data line counts its value plus one newline against the bound: after two lines the
        // event holds 9 bytes, an empty third line makes 10 (exactly the bound), a fourth 11.
        let mut p = SseParser::with_limit(10);
        assert!(p.push(b"data:abcd\ndata:abcd\ndata:\n").is_ok());
        let mut full = p.clone();
        assert_eq!(full.push(b"\n").unwrap(), [ev("message", "abcd\nabcd\n")]);
        assert_eq!(p.push(b"data:\n"), Err(SseTooLong { limit: 10 }));
    }

    #[test]
    fn the_default_bound_is_one_mebibyte() {
        assert_eq!(DEFAULT_LIMIT, 1 << 20);
        let mut p = SseParser::new();
        let mut line = b"data: ".to_vec();
        line.resize(DEFAULT_LIMIT - 1, b'x');
        line.push(b'\n');
        assert!(p.push(&line).is_ok());
    }
}
