//! Request heads: httparse does the tokenising on the fast path; llhttp's own grammar
//! (`llhttp.rs`) decides every head httparse refuses or that llhttp might judge differently,
//! so the heads taken and refused, the errors and their offsets are Node's. Ranges are offsets
//! into the read buffer, not copies.

use std::mem::MaybeUninit;

use super::llhttp::{self, Grammar, HeadState, Scan, Special, Stop};
use super::ParseError;

pub use super::llhttp::{METHODS, METHOD_CONNECT};

#[derive(Debug, Clone, Copy)]
pub struct HeadLimits {
    /// Node's `maxHeaderSize`: bytes of request line plus header lines.
    pub max_head_bytes: usize,
    /// `insecureHTTPParser`: llhttp's lenient flags (bare LF, control characters in values,
    /// Transfer-Encoding beside Content-Length, any version).
    pub lenient: bool,
    /// The running Node's llhttp is 9.4 or later (see `Grammar::tab_is_ows`).
    pub tab_is_ows: bool,
    /// The running Node's llhttp is 9.4.3 or later (see `Grammar::empty_te_refused`).
    pub empty_te_refused: bool,
    /// `httpValidation: 'relaxed'` (see `Grammar::relaxed_values`).
    pub relaxed_values: bool,
    /// Header lines a head (and, on their own, its trailers) may have; 0: no limit. Node
    /// 22.23.2, 24.18.1 and 26.5.1 (CVE-2026-58044) refuse more than `maxHeaderPairs / 2`
    /// with HPE_HEADER_OVERFLOW, counting a header as its name's first bytes are reported.
    pub max_headers: usize,
}

impl HeadLimits {
    pub fn grammar(&self) -> Grammar {
        Grammar {
            lenient: self.lenient,
            tab_is_ows: self.tab_is_ows,
            empty_te_refused: self.empty_te_refused,
            relaxed_values: self.relaxed_values,
        }
    }

    /// Header lines allowed (`max_headers`, or no bound).
    pub fn names_left(&self) -> usize {
        match self.max_headers {
            0 => usize::MAX,
            n => n,
        }
    }
}

impl Default for HeadLimits {
    fn default() -> Self {
        Self {
            max_head_bytes: 16 * 1024,
            lenient: false,
            tab_is_ows: false,
            empty_te_refused: false,
            relaxed_values: false,
            max_headers: 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    None,
    Length(u64),
    Chunked,
    /// Until the peer ends its side: a request Transfer-Encoding without chunked last, which
    /// only lenient llhttp (insecureHTTPParser) takes.
    UntilEof,
}

/// A parsed head. Every range is `(offset, len)` into the buffer that was parsed, so the
/// caller can copy the head bytes once and hand out offsets.
#[derive(Debug, Default)]
pub struct RequestHead {
    /// Where the request line starts (leading empty lines are skipped, as llhttp does).
    pub start: usize,
    /// Bytes up to and including the blank line that ends the head.
    pub end: usize,
    /// Index into `METHODS`.
    pub method: u8,
    pub url: (u32, u32),
    pub version_major: u8,
    pub version_minor: u8,
    /// `[name_off, name_len, value_off, value_len]` per header, in wire order.
    pub headers: Vec<[u32; 4]>,
    /// Values continued over obs-fold lines (lenient llhttp only): the header's index in
    /// `headers` and the value's pieces, `(offset, length)` each; see `Fold`.
    pub folds: Vec<Fold>,
    pub body: BodyKindSlot,
    pub keep_alive: bool,
    /// llhttp's flags after the head (`F_*`): trailers are parsed with them.
    pub flags: u16,
    /// llhttp's upgrade flag: CONNECT, or `Upgrade` with `Connection: upgrade`.
    pub upgrade: bool,
    /// A `Host` header is present (so JS can check requireHostHeader without building
    /// `req.headers`).
    pub has_host: bool,
    /// An `Expect` header is present.
    pub has_expect: bool,
    /// An error llhttp raises only after `onHeadersComplete`, so Node dispatches the request
    /// first (a request `Transfer-Encoding` whose last coding is not chunked).
    pub late_error: Option<ParseError>,
    /// The header llhttp's grammar was reading a value of, until its line is taken: `[name
    /// offset, name length, value offset]`. llhttp ends a value's span (and Node counts it)
    /// before the errors raised inside it; a special header's name followed by a space is
    /// counted too, with its value offset at the error.
    pub open_value: Option<[u32; 3]>,
}

/// A header value llhttp (lenient) continued over obs-fold lines: Node's value is its pieces
/// joined, each continuation with its leading whitespace, the line ends left out and the trailing
/// whitespace of the whole trimmed. Not one span of the input, so whoever hands the head on
/// joins it (`joined_value`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fold {
    pub header: usize,
    pub pieces: Vec<(u32, u32)>,
}

impl Fold {
    /// The value Node sees, from the input the pieces point into.
    pub fn joined_value(&self, input: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        for &(off, len) in &self.pieces {
            out.extend_from_slice(&input[off as usize..(off + len) as usize]);
        }
        while out.len() > start && matches!(out.last(), Some(b' ' | b'\t')) {
            out.pop();
        }
    }
}

/// `BodyKind` with a `Default`, so `RequestHead` can be reused across requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyKindSlot(pub BodyKind);

impl Default for BodyKindSlot {
    fn default() -> Self {
        Self(BodyKind::None)
    }
}

thread_local! {
    // httparse wants a header array up front; one per IO thread, grown to the largest limit seen.
    static HEADER_SLOTS: std::cell::RefCell<Vec<MaybeUninit<httparse::Header<'static>>>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Parses the head at the start of `buf` into `out`. `Ok(false)`: incomplete, read more.
/// An error comes with the offset in `buf` where llhttp stops (Node's `bytesParsed`).
pub fn parse_request_head(
    buf: &[u8],
    limits: &HeadLimits,
    out: &mut RequestHead,
) -> Result<bool, Stop> {
    // llhttp ignores empty lines before a request line (RFC 9112 §2.2).
    let mut start = 0;
    while start < buf.len() && (buf[start] == b'\r' || buf[start] == b'\n') {
        start += 1;
    }
    if start == buf.len() {
        return Ok(false);
    }
    if fast_path(buf, start, limits, out) {
        return Ok(true);
    }
    parse_with_llhttp(buf, start, limits, out)
}

/// The head as llhttp's grammar takes it, with Node's maxHeaderSize check where Node makes it:
/// each span (target, name, value) is counted when it ends, and a span still open when the
/// packet ends is counted then; an error llhttp raises before the count is over stands. Header
/// lines are counted (`max_headers`) as names are reported, at the same points. The
/// fast path's answer for every head it is not sure of; public so the two can be compared.
pub fn parse_with_llhttp(
    buf: &[u8],
    start: usize,
    limits: &HeadLimits,
    out: &mut RequestHead,
) -> Result<bool, Stop> {
    let max = limits.max_head_bytes;
    let names_left = limits.names_left();
    let scan = llhttp::scan_head(buf, limits.grammar(), out);
    // The spans llhttp completed (for an error or a partial head, those before it stopped).
    let url = (out.url.0 as usize, out.url.1 as usize);
    let spans = value_spans(&out.headers, &out.folds);
    let count = count_spans(buf, url, spans, max, names_left);
    match scan {
        Scan::Partial => {
            // The spans llhttp finished, and those still open when the packet ends: those of
            // the line it is in (`end` is past the last line it finished).
            let done = count.map_err(|at| (ParseError::HeaderOverflow, at))?;
            // Before llhttp finished a line, the open one is the request line.
            let (from, request_line, done) = if out.end > start {
                (out.end, false, done)
            } else {
                (start, true, 0)
            };
            let open = &buf[from..];
            let counted = done + counted_so_far(open, request_line);
            let left = names_left.saturating_sub(out.headers.len());
            let names_over = names_over_so_far(open, request_line, left).map(|k| from + k);
            let size_over = (counted >= max).then_some(buf.len());
            match names_over.into_iter().chain(size_over).min() {
                Some(at) => Err((ParseError::HeaderOverflow, at)),
                None => Ok(false),
            }
        }
        Scan::Error(e, at) => {
            let over = match count {
                Err(over) => Some(over),
                Ok(before) => out.open_value.and_then(|h| {
                    let name_over = out.headers.len() >= names_left;
                    open_value_overflow(buf, h.map(|v| v as usize), at, before, max, name_over)
                }),
            };
            match over {
                Some(over) if over <= at => Err((ParseError::HeaderOverflow, over)),
                _ => Err((e, at)),
            }
        }
        Scan::Complete(st) => {
            if let Err(at) = count {
                return Err((ParseError::HeaderOverflow, at));
            }
            out.has_host = false;
            out.has_expect = false;
            for i in 0..out.headers.len() {
                let [off, len, _, _] = out.headers[i];
                note_header(out, &buf[off as usize..(off + len) as usize]);
            }
            finish_head(out, &st, limits.lenient);
            Ok(true)
        }
    }
}

/// httparse's view of the head, when llhttp would take it the same way; false when llhttp's
/// grammar must decide (incomplete, refused by httparse, over maxHeaderSize, or one of the
/// cases `fill_head` leaves to it).
fn fast_path(buf: &[u8], start: usize, limits: &HeadLimits, out: &mut RequestHead) -> bool {
    let input = &buf[start..];
    // Enough for heads whose header lines average 4 bytes ("a:\r\n"); more lines go to llhttp.
    let slots_needed = limits.max_head_bytes / 4 + 2;
    HEADER_SLOTS.with(|cell| {
        let mut slots = cell.borrow_mut();
        if slots.len() < slots_needed {
            slots.resize_with(slots_needed, MaybeUninit::uninit);
        }
        // SAFETY: the slots are only written by httparse with headers borrowing `input`, and
        // every such borrow ends before this closure returns; the 'static in the element type
        // is never observed outside it.
        let slots: &mut [MaybeUninit<httparse::Header<'_>>] =
            unsafe { std::mem::transmute(&mut slots[..slots_needed]) };
        let mut req = httparse::Request::new(&mut []);
        let Ok(httparse::Status::Complete(len)) = req.parse_with_uninit_headers(input, slots)
        else {
            // Incomplete (llhttp refuses a bad byte as soon as it arrives, and Node counts
            // the spans of a partial head), refused, or more header lines than slots (Node
            // counts only names and values, so they may still be within the limit).
            return false;
        };
        let path = req.path.unwrap_or("").as_bytes();
        let url = (offset_of(buf, path) as usize, path.len());
        let spans = req.headers.iter().map(|h| {
            [
                offset_of(buf, h.name.as_bytes()) as usize,
                h.name.len(),
                offset_of(buf, h.value) as usize,
                h.value.len(),
            ]
        });
        // Over a limit: whether llhttp stops at an error first is llhttp's to say.
        if req.headers.len() > limits.names_left()
            || overflow_at(buf, url, spans, limits.max_head_bytes).is_some()
        {
            return false;
        }
        // Strict llhttp refuses a bare LF; lenient llhttp takes one where a CR goes and then
        // an LF if one follows, which httparse does not: llhttp's grammar decides.
        if has_bare_lf(&input[..len]) {
            return false;
        }
        out.start = start;
        out.end = start + len;
        fill_head(buf, &req, limits, out)
    })
}

/// Node counts the target, header names and values (with their trailing whitespace) against
/// maxHeaderSize, not the method, version, separators or line ends, and stops at the end of the
/// span that reaches the limit: the target's end, the byte after a name's colon or after a
/// value's CR. That offset, if the head overflows.
fn overflow_at(
    buf: &[u8],
    url: (usize, usize),
    headers: impl Iterator<Item = [usize; 4]>,
    max: usize,
) -> Option<usize> {
    count_spans(buf, url, headers, max, usize::MAX).err()
}

/// Headers as llhttp hands their spans to Node: a value continued over obs-fold lines
/// (lenient) in its pieces, each its own span (after the first, with no name).
pub(crate) fn value_spans<'a>(
    headers: &'a [[u32; 4]],
    folds: &'a [Fold],
) -> impl Iterator<Item = [usize; 4]> + 'a {
    headers.iter().enumerate().flat_map(move |(i, h)| {
        let h = h.map(|v| v as usize);
        let pieces = folds.iter().find(|f| f.header == i).map(|f| &f.pieces[..]);
        let (first, rest) = match pieces {
            Some([(off, len), rest @ ..]) => ([h[0], h[1], *off as usize, *len as usize], rest),
            _ => (h, &[][..]),
        };
        std::iter::once(first).chain(
            rest.iter()
                .map(|&(off, len)| [off as usize, 0, off as usize, len as usize]),
        )
    })
}

/// `overflow_at`'s walk: the count when under the limit, else `Err` with where Node stops. A
/// header past the first `names_left` stops at its name's colon, as one over `max` does.
pub(crate) fn count_spans(
    buf: &[u8],
    url: (usize, usize),
    headers: impl Iterator<Item = [usize; 4]>,
    max: usize,
    names_left: usize,
) -> Result<usize, usize> {
    let mut count = url.1;
    if count >= max {
        return Err(url.0 + url.1);
    }
    let mut names = 0;
    for [name, name_len, value, value_len] in headers {
        count += name_len;
        // A folded value's continuation (`value_spans`) starts no header of its own.
        names += usize::from(name != value);
        if count >= max || names > names_left {
            return Err(name + name_len + 1);
        }
        let mut end = value + value_len;
        while matches!(buf.get(end), Some(b' ' | b'\t')) {
            end += 1;
        }
        count += end - value;
        if count >= max {
            return Err(end + usize::from(buf.get(end) == Some(&b'\r')));
        }
    }
    Ok(count)
}

/// An error inside a header's value (llhttp at `at`), `before` counted ahead of that header:
/// where Node stops for maxHeaderSize instead, if its name or the value's span up to the error
/// (or to its line end, when that came first) reaches the limit. `name_over`: the header is
/// past the header-line limit, which stops at its name.
pub(crate) fn open_value_overflow(
    buf: &[u8],
    [name, name_len, value]: [usize; 3],
    at: usize,
    before: usize,
    max: usize,
    name_over: bool,
) -> Option<usize> {
    if name_over || before + name_len >= max {
        return Some(name + name_len + 1);
    }
    let (end, stop) = match memchr::memchr2(b'\r', b'\n', &buf[value..at.max(value)]) {
        // llhttp steps over the CR as the value's span ends there.
        Some(i) => (value + i, value + i + usize::from(buf[value + i] == b'\r')),
        None => (at, at),
    };
    (before + name_len + end - value >= max).then_some(stop)
}

/// What Node has counted (`overflow_at`) for a head still arriving: the target, each header's
/// name and value (trailing whitespace included), and the spans still open.
/// `request_line`: `input` starts with one (a head), or with a header line (trailers).
pub(crate) fn counted_so_far(input: &[u8], request_line: bool) -> usize {
    let mut lines = input
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let mut count = 0;
    if request_line {
        let request_line = lines.next().unwrap_or_default();
        // The target is the second word (llhttp takes more than one space between them).
        let mut words = request_line.split(|&b| b == b' ').filter(|w| !w.is_empty());
        count = words.nth(1).map_or(0, <[u8]>::len);
    }
    for line in lines {
        count += match memchr::memchr(b':', line) {
            Some(colon) => {
                let value = &line[colon + 1..];
                let ows = value
                    .iter()
                    .take_while(|&&b| b == b' ' || b == b'\t')
                    .count();
                colon + value.len() - ows
            }
            None => line.len(),
        };
    }
    count
}

/// Where Node's header-line count passes `names_left` in the lines of a head (or trailers)
/// still arriving, past those llhttp took: a line starting a name is counted when the name's
/// span is reported, at its colon, or at the packet's end for a name the packet cuts.
/// `request_line`: `input` starts with one. Offsets are in `input`.
pub(crate) fn names_over_so_far(
    input: &[u8],
    request_line: bool,
    names_left: usize,
) -> Option<usize> {
    let mut names = 0;
    let mut line_start = 0;
    for (i, line) in input.split(|&b| b == b'\n').enumerate() {
        let start = line_start;
        line_start += line.len() + 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        // Blank, or an obs-fold line continuing the value before it (lenient).
        if (request_line && i == 0) || matches!(line.first(), None | Some(b' ' | b'\t')) {
            continue;
        }
        names += 1;
        if names > names_left {
            return Some(memchr::memchr(b':', line).map_or(input.len(), |colon| start + colon + 1));
        }
    }
    None
}

/// httparse takes a bare LF as a line end; strict llhttp does not (a request-smuggling vector).
fn has_bare_lf(head: &[u8]) -> bool {
    memchr::memchr_iter(b'\n', head).any(|i| i == 0 || head[i - 1] != b'\r')
}

fn offset_of(buf: &[u8], part: &[u8]) -> u32 {
    (part.as_ptr() as usize - buf.as_ptr() as usize) as u32
}

/// Fills `out` from httparse's view when llhttp would take the head the same way; false when
/// llhttp's grammar must decide (an RTSP-only method or PRI, a target that is not origin-form,
/// a special header's value it refuses or Content-Length beside Transfer-Encoding).
fn fill_head(
    buf: &[u8],
    req: &httparse::Request<'_, '_>,
    limits: &HeadLimits,
    out: &mut RequestHead,
) -> bool {
    let method = req.method.unwrap_or("");
    let Ok(method) = METHODS.binary_search(&method) else {
        return false;
    };
    let method = method as u8;
    if !llhttp::is_http_method(method) || method == llhttp::METHOD_PRI {
        return false;
    }
    out.method = method;
    let path = req.path.unwrap_or("").as_bytes();
    // httparse takes a target's bytes 0x80-0xff when they are UTF-8; llhttp refuses them.
    let origin_form =
        matches!(path.first(), Some(b'/' | b'*')) && method != METHOD_CONNECT && path.is_ascii();
    let path_at = offset_of(buf, path);
    if !origin_form
        && !llhttp::url_is_valid(buf, path_at as usize, path.len(), method == METHOD_CONNECT)
    {
        return false;
    }
    out.url = (path_at, path.len() as u32);
    out.version_major = 1;
    out.version_minor = req.version.unwrap_or(1);
    out.headers.clear();
    out.folds.clear();
    out.late_error = None;
    out.has_host = false;
    out.has_expect = false;

    let mut st = HeadState::default();
    for h in req.headers.iter() {
        let name = h.name.as_bytes();
        let value = h.value;
        let value_at = offset_of(buf, value);
        out.headers.push([
            offset_of(buf, name),
            name.len() as u32,
            value_at,
            value.len() as u32,
        ]);
        match Special::of(name) {
            Some(kind) => {
                if !limits.lenient {
                    let conflict = match kind {
                        Special::TransferEncoding => st.flags & llhttp::F_CONTENT_LENGTH,
                        Special::ContentLength => st.flags & llhttp::F_TRANSFER_ENCODING,
                        _ => 0,
                    };
                    if conflict != 0 {
                        return false;
                    }
                }
                if value.is_empty() {
                    if llhttp::empty_value(Some(kind), 0, limits.grammar()).is_err() {
                        return false;
                    }
                } else if llhttp::scan_special_value(
                    buf,
                    value_at as usize,
                    kind,
                    &mut st,
                    limits.grammar(),
                )
                .is_err()
                {
                    return false;
                }
            }
            None => note_header(out, name),
        }
    }
    finish_head(out, &st, limits.lenient);
    true
}

/// The presence flags JS reads instead of building `req.headers`.
fn note_header(out: &mut RequestHead, name: &[u8]) {
    match name.len() {
        4 if name.eq_ignore_ascii_case(b"host") => out.has_host = true,
        6 if name.eq_ignore_ascii_case(b"expect") => out.has_expect = true,
        _ => {}
    }
}

/// llhttp's after-headers decisions: body framing, keep-alive (`llhttp_should_keep_alive`)
/// and upgrade.
fn finish_head(out: &mut RequestHead, st: &HeadState, lenient: bool) {
    let flags = st.flags;
    out.late_error = None;
    let both = llhttp::F_UPGRADE | llhttp::F_CONNECTION_UPGRADE;
    out.upgrade = out.method == METHOD_CONNECT || flags & both == both;
    let has_body = flags & llhttp::F_CHUNKED != 0 || st.content_length > 0;
    // llhttp_after_headers_complete: a CONNECT, or an upgrade without a body, ends the message
    // at its head whatever its framing headers say; the rest is the new protocol's.
    let ends_at_head = out.upgrade && (out.method == METHOD_CONNECT || !has_body);
    out.body.0 = if ends_at_head {
        BodyKind::None
    } else if flags & llhttp::F_CHUNKED != 0 {
        BodyKind::Chunked
    } else if flags & llhttp::F_TRANSFER_ENCODING != 0 && lenient {
        BodyKind::UntilEof
    } else if flags & llhttp::F_TRANSFER_ENCODING != 0 {
        // A request body whose length cannot be known: llhttp errors after the head.
        out.late_error = Some(ParseError::InvalidTransferEncoding);
        BodyKind::None
    } else if st.content_length > 0 {
        BodyKind::Length(st.content_length)
    } else {
        BodyKind::None
    };
    out.flags = flags;
    out.keep_alive = llhttp::should_keep_alive(out.version_major, out.version_minor, flags);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Option<RequestHead>, ParseError> {
        let mut head = RequestHead::default();
        parse_request_head(s.as_bytes(), &HeadLimits::default(), &mut head)
            .map(|done| done.then_some(head))
            .map_err(|(e, _)| e)
    }

    fn text(buf: &str, r: (u32, u32)) -> &str {
        &buf[r.0 as usize..(r.0 + r.1) as usize]
    }

    #[test]
    fn simple_get() {
        let s = "GET /a?b=1 HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\r\nrest";
        let h = parse(s).unwrap().unwrap();
        assert_eq!(METHODS[h.method as usize], "GET");
        assert_eq!(text(s, h.url), "/a?b=1");
        assert_eq!(h.version_minor, 1);
        assert_eq!(h.end, s.len() - 4);
        assert_eq!(h.headers.len(), 2);
        assert_eq!(text(s, (h.headers[1][0], h.headers[1][1])), "X-A");
        assert_eq!(text(s, (h.headers[1][2], h.headers[1][3])), "1");
        assert!(h.keep_alive);
        assert_eq!(h.body.0, BodyKind::None);
        assert!(h.has_host && !h.has_expect);
    }

    #[test]
    fn partial_head_waits() {
        assert!(parse("GET / HTTP/1.1\r\nHost: x\r\n").unwrap().is_none());
        assert!(parse("").unwrap().is_none());
        assert!(parse("\r\n").unwrap().is_none());
    }

    #[test]
    fn leading_empty_lines_are_skipped() {
        let h = parse("\r\n\r\nGET / HTTP/1.1\r\n\r\n").unwrap().unwrap();
        assert_eq!(h.start, 4);
    }

    #[test]
    fn keep_alive_rules() {
        assert!(!parse("GET / HTTP/1.0\r\n\r\n").unwrap().unwrap().keep_alive);
        assert!(
            parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
                .unwrap()
                .unwrap()
                .keep_alive
        );
        assert!(
            !parse("GET / HTTP/1.1\r\nConnection: foo, close\r\n\r\n")
                .unwrap()
                .unwrap()
                .keep_alive
        );
    }

    #[test]
    fn upgrade_flag() {
        let h = parse("GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
        assert!(h.unwrap().unwrap().upgrade);
        let h = parse("GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n");
        assert!(!h.unwrap().unwrap().upgrade);
        assert!(
            parse("CONNECT a:1 HTTP/1.1\r\n\r\n")
                .unwrap()
                .unwrap()
                .upgrade
        );
    }

    #[test]
    fn an_upgrade_ends_at_its_head_unless_it_has_a_body_and_is_not_connect() {
        let body = |s: &str| {
            let h = parse(s).unwrap().unwrap();
            (h.body.0, h.late_error)
        };
        let up = "GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: x\r\n";
        assert_eq!(
            body(&format!("{up}Content-Length: 5\r\n\r\n")),
            (BodyKind::Length(5), None)
        );
        assert_eq!(
            body(&format!("{up}Transfer-Encoding: chunked\r\n\r\n")),
            (BodyKind::Chunked, None)
        );
        // No body llhttp can frame: the upgrade exits before the Transfer-Encoding error.
        assert_eq!(
            body(&format!("{up}Transfer-Encoding: gzip\r\n\r\n")),
            (BodyKind::None, None)
        );
        for framing in [
            "Content-Length: 5",
            "Transfer-Encoding: chunked",
            "Transfer-Encoding: gzip",
        ] {
            assert_eq!(
                body(&format!("CONNECT a:1 HTTP/1.1\r\n{framing}\r\n\r\n")),
                (BodyKind::None, None),
                "{framing}"
            );
        }
    }

    #[test]
    fn body_kinds() {
        let h = parse("POST / HTTP/1.1\r\nContent-Length: 12\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(h.body.0, BodyKind::Length(12));
        let h = parse("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
        assert_eq!(h.unwrap().unwrap().body.0, BodyKind::Chunked);
        let h = parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunkedchunked\r\n\r\n");
        assert_eq!(
            h.unwrap().unwrap().late_error,
            Some(ParseError::InvalidTransferEncoding)
        );
    }

    #[test]
    fn rejects_what_llhttp_rejects() {
        use ParseError::*;
        let cases: &[(&str, ParseError)] = &[
            ("FOO / HTTP/1.1\r\n\r\n", InvalidMethod),
            ("GET / HTTP/1.1\r\nBad Header\r\n\r\n", InvalidHeaderToken),
            ("GET / HTTP/1.1\r\nHost : x\r\n\r\n", InvalidHeaderToken),
            (
                "GET / HTTP/1.1\r\nDummy: x\nContent-Length: 23\r\n\r\n",
                CrExpected,
            ),
            ("GET / HTTP/1.1\nHost: x\r\n\r\n", CrlfAfterVersion),
            ("GET / HTTP/1.1\r\nHost: x\r\n\n", InvalidHeaderFieldChar),
            ("GET /a b HTTP/1.1\r\n\r\n", InvalidConstant),
            (
                "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
                InvalidTransferEncodingValue,
            ),
            (
                "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
                InvalidTransferEncodingValue,
            ),
            ("GET /a\x01b HTTP/1.1\r\n\r\n", InvalidUrlChar),
            ("GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", UnexpectedWhitespace),
            (
                "GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n",
                InvalidHeaderValueChar,
            ),
            (
                "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
                UnexpectedContentLength,
            ),
            (
                "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
                InvalidContentLength,
            ),
            (
                "POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
                InvalidContentLength,
            ),
            (
                "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
                ContentLengthOverflow,
            ),
            (
                "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
                TransferEncodingWithContentLength,
            ),
            (
                "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
                ContentLengthWithTransferEncoding,
            ),
            ("GET / HTTP/1.2\r\n\r\n", InvalidVersion),
            ("\x00\x01\x02 hello\r\n\r\n", InvalidMethod),
        ];
        for (input, want) in cases {
            assert_eq!(parse(input).err(), Some(*want), "{input:?}");
        }
    }

    #[test]
    fn error_offsets_point_at_the_offending_byte() {
        let at = |s: &str| {
            let mut head = RequestHead::default();
            parse_request_head(s.as_bytes(), &HeadLimits::default(), &mut head)
                .unwrap_err()
                .1
        };
        assert_eq!(at("GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n"), 28);
        assert_eq!(at("G\x01T / HTTP/1.1\r\n\r\n"), 1);
        assert_eq!(at("GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n"), 20);
        assert_eq!(at("GET / HTTP/1.1\r\nHost: x\nY: 1\r\n\r\n"), 23);
    }

    #[test]
    fn header_overflow() {
        let big = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(17000));
        assert_eq!(parse(&big).err(), Some(ParseError::HeaderOverflow));
        let partial = format!("GET / HTTP/1.1\r\nX: {}", "a".repeat(17000));
        assert_eq!(parse(&partial).err(), Some(ParseError::HeaderOverflow));
        let many: String = (0..3000).map(|i| format!("h{i}: v\r\n")).collect();
        let s = format!("GET / HTTP/1.1\r\n{many}\r\n");
        assert_eq!(parse(&s).err(), Some(ParseError::HeaderOverflow));
        // Node counts target, names and values (16383 here), not the head's bytes (16404).
        let under = format!("GET / HTTP/1.1\r\nHost: x\r\nX: {}", "a".repeat(16376));
        assert!(parse(&under).unwrap().is_none());
        assert_eq!(
            parse(&format!("{under}a")).err(),
            Some(ParseError::HeaderOverflow)
        );
        assert!(parse(&format!("{under}\r\n\r\n")).unwrap().is_some());
        // 5000 lines of "a:": 5000 counted.
        let short = format!("GET / HTTP/1.1\r\n{}\r\n", "a:\r\n".repeat(5000));
        assert_eq!(parse(&short).unwrap().map(|h| h.headers.len()), Some(5000));
    }

    /// A head over maxHeaderSize (1024 here) arriving whole: which of llhttp's error and Node's
    /// count stops first, and where (offsets as Node 20 reports them).
    #[test]
    fn header_overflow_against_errors_in_one_packet() {
        let at = |s: &str| {
            let limits = HeadLimits {
                max_head_bytes: 1024,
                ..HeadLimits::default()
            };
            parse_request_head(s.as_bytes(), &limits, &mut RequestHead::default())
        };
        let pad = "a".repeat(2000);
        // Heads httparse refuses but llhttp takes so far: counted while incomplete too.
        assert_eq!(
            at(&format!("GET  /{pad}")),
            Err((ParseError::HeaderOverflow, 2006))
        );
        assert_eq!(
            at(&format!("GET  / HTTP/1.1\r\nX: {pad}")),
            Err((ParseError::HeaderOverflow, 2020))
        );
        // An error before the count is over stands, complete head or not.
        for tail in ["", "\r\n\r\n"] {
            assert_eq!(
                at(&format!(
                    "GET / HTTP/1.1\r\nContent-Length: 1x\r\nX: {pad}{tail}"
                )),
                Err((ParseError::InvalidContentLength, 33))
            );
        }
        assert_eq!(
            at(&format!(
                "GET / HTTP/1.1\r\nX: {pad}\r\nContent-Length: 1x\r\n\r\n"
            )),
            Err((ParseError::HeaderOverflow, 2020))
        );
        // llhttp ends a value's span at a bad byte before raising the error: counted first.
        assert_eq!(
            at(&format!("GET / HTTP/1.1\r\nX: {pad}\x01\r\n\r\n")),
            Err((ParseError::HeaderOverflow, 2019))
        );
        // So do a special header's name before a space, and a target before a CR without LF.
        let url = "p".repeat(1030);
        assert_eq!(
            at(&format!("GET /{url}\rx")),
            Err((ParseError::HeaderOverflow, 1035))
        );
        // Target 1011 + name 17: over; target 1001 + 17: the error.
        for (n, stop) in [
            (1010, Err((ParseError::HeaderOverflow, 1044))),
            (1000, Err((ParseError::InvalidHeaderFieldChar, 1034))),
        ] {
            let head = format!(
                "GET /{} HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n",
                "p".repeat(n)
            );
            assert_eq!(at(&head), stop);
        }
    }

    /// Node 22.23.2+ (CVE-2026-58044): a header line past the limit stops at its colon, or at
    /// the packet's end inside its name (offsets as Node 24.21 reports them).
    #[test]
    fn header_line_limit() {
        let at = |s: &str, max_headers, lenient| {
            let limits = HeadLimits {
                max_headers,
                lenient,
                ..HeadLimits::default()
            };
            parse_request_head(s.as_bytes(), &limits, &mut RequestHead::default())
        };
        let over = |n| Err((ParseError::HeaderOverflow, n));
        let two = "GET / HTTP/1.1\r\nHost: x\r\nA: b\r\n\r\n";
        assert_eq!(at(two, 1, false), over(27));
        assert_eq!(at(two, 2, false), Ok(true));
        assert_eq!(at(two, 0, false), Ok(true));
        for (partial, stop) in [("Ab", 27), ("Abc:", 29), ("Abc: d", 29), ("A: b\r\n", 27)] {
            let head = format!("GET / HTTP/1.1\r\nHost: x\r\n{partial}");
            assert_eq!(at(&head, 1, false), over(stop), "{partial:?}");
            assert_eq!(at(&head, 2, false), Ok(false), "{partial:?}");
        }
        // Before llhttp's error in that header's value or a later line; not one in its name.
        assert_eq!(
            at("GET / HTTP/1.1\r\nHost: x\r\nA: b\x01\r\n\r\n", 1, false),
            over(27)
        );
        assert_eq!(
            at(
                "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n",
                1,
                false
            ),
            over(40)
        );
        assert_eq!(
            at(
                "GET / HTTP/1.1\r\nHost: x\r\nA: b\r\nC\x01: d\r\n\r\n",
                1,
                false
            ),
            over(27)
        );
        assert_eq!(
            at("GET / HTTP/1.1\r\nHost: x\r\nA b: c\r\n\r\n", 1, false),
            Err((ParseError::InvalidHeaderToken, 26))
        );
        // A folded value's continuation (lenient) is no header line of its own.
        let folded = "GET / HTTP/1.1\r\nHost: x\r\n  y\r\nA: b\r\n\r\n";
        assert_eq!(at(folded, 1, true), over(32));
        assert_eq!(at(folded, 2, true), Ok(true));
    }

    #[test]
    fn lenient_mode_accepts_control_characters_in_values() {
        let s = b"GET / HTTP/1.1\r\nHello: foo\x08foo\r\n\r\n";
        let mut h = RequestHead::default();
        let strict = HeadLimits::default();
        assert_eq!(
            parse_request_head(s, &strict, &mut h),
            Err((ParseError::InvalidHeaderValueChar, 26))
        );
        let lenient = HeadLimits {
            lenient: true,
            ..strict
        };
        assert!(parse_request_head(s, &lenient, &mut h).unwrap());
        let [_, _, vo, vl] = h.headers[0];
        assert_eq!(&s[vo as usize..(vo + vl) as usize], b"foo\x08foo");
    }

    #[test]
    fn obs_text_values_are_kept() {
        let s = b"GET / HTTP/1.1\r\nX: caf\xe9\r\n\r\n";
        let mut h = RequestHead::default();
        assert!(parse_request_head(s, &HeadLimits::default(), &mut h).unwrap());
        let [_, _, vo, vl] = h.headers[0];
        assert_eq!(&s[vo as usize..(vo + vl) as usize], b"caf\xe9");
    }

    /// The fast path must agree with llhttp's grammar on every input: mutated heads (bytes
    /// replaced, inserted, removed) are judged by both and compared.
    #[test]
    fn fast_path_agrees_with_llhttp_grammar() {
        let seeds: &[&[u8]] = &[
            b"GET /a?b=1#c HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Upgrade\r\nUpgrade: ws\r\n\r\n",
            b"POST /p HTTP/1.0\r\nContent-Length: 12\r\nConnection: close\r\nX-A:  v \r\n\r\n",
            b"PUT * HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\nProxy-Connection: close\r\n\r\n",
            b"CONNECT h:1 HTTP/1.1\r\nHost: h:1\r\n\r\n",
            b"GET http://u@h:8/x?y HTTP/1.1\r\nContent-Length: 0\r\nExpect: 100-continue\r\n\r\n",
        ];
        const BYTES: &[u8] = b" \t\r\n:,;/?#@*\"\x00\x01\x7f\x80\xffaAzZ09-_.HTPchunkedclose";
        let mut rng: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let limits = HeadLimits::default();
        for round in 0..20_000 {
            let seed = seeds[round % seeds.len()];
            let mut input = seed.to_vec();
            for _ in 0..1 + next() % 3 {
                let at = (next() % input.len() as u64) as usize;
                let b = BYTES[(next() % BYTES.len() as u64) as usize];
                match next() % 3 {
                    0 => input[at] = b,
                    1 => input.insert(at, b),
                    _ => {
                        input.remove(at);
                    }
                }
            }
            let mut fast = RequestHead::default();
            let got = parse_request_head(&input, &limits, &mut fast);
            let mut slow = RequestHead::default();
            let want = llhttp::scan_head(&input, Grammar::default(), &mut slow);
            let shown = String::from_utf8_lossy(&input).into_owned();
            match (&got, &want) {
                (Ok(false), Scan::Partial) => {}
                (Err(e), Scan::Error(we, wat)) => assert_eq!(*e, (*we, *wat), "{shown:?}"),
                (Ok(true), Scan::Complete(st)) => {
                    finish_head(&mut slow, st, false);
                    let view = |h: &RequestHead| {
                        (
                            (h.start, h.end, h.method, h.url),
                            (h.version_major, h.version_minor),
                            h.headers.clone(),
                            (h.keep_alive, h.upgrade, h.body.0, h.late_error),
                        )
                    };
                    assert_eq!(view(&fast), view(&slow), "{shown:?}");
                }
                _ => panic!("{shown:?}: fast {got:?}, llhttp {want:?}"),
            }
        }
    }
}
