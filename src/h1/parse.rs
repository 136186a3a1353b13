//! Request heads: httparse does the tokenising; this module adds what llhttp (Node's parser)
//! enforces on top of it — known methods only, CRLF line endings, Content-Length and
//! Transfer-Encoding rules — and records offsets into the read buffer instead of copying.

use std::mem::MaybeUninit;

use super::ParseError;

/// Node's `http.METHODS` (llhttp's list, sorted); a request's method crosses as an index into it.
pub const METHODS: [&str; 35] = [
    "ACL",
    "BIND",
    "CHECKOUT",
    "CONNECT",
    "COPY",
    "DELETE",
    "GET",
    "HEAD",
    "LINK",
    "LOCK",
    "M-SEARCH",
    "MERGE",
    "MKACTIVITY",
    "MKCALENDAR",
    "MKCOL",
    "MOVE",
    "NOTIFY",
    "OPTIONS",
    "PATCH",
    "POST",
    "PROPFIND",
    "PROPPATCH",
    "PURGE",
    "PUT",
    "QUERY",
    "REBIND",
    "REPORT",
    "SEARCH",
    "SOURCE",
    "SUBSCRIBE",
    "TRACE",
    "UNBIND",
    "UNLINK",
    "UNLOCK",
    "UNSUBSCRIBE",
];
pub const METHOD_CONNECT: u8 = 3;
pub const METHOD_GET: u8 = 6;
pub const METHOD_HEAD: u8 = 7;

#[derive(Debug, Clone, Copy)]
pub struct HeadLimits {
    /// Node's `maxHeaderSize`: bytes of request line plus header lines.
    pub max_head_bytes: usize,
    /// `insecureHTTPParser`: tolerate bare LF and a Transfer-Encoding beside Content-Length.
    pub lenient: bool,
}

impl Default for HeadLimits {
    fn default() -> Self {
        Self {
            max_head_bytes: 16 * 1024,
            lenient: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    None,
    Length(u64),
    Chunked,
}

/// A parsed head. Every range is `(offset, len)` into the buffer that was parsed, so the
/// caller can copy the head bytes once and hand out offsets.
#[derive(Debug, Default)]
pub struct RequestHead {
    /// Where the request line starts (leading empty lines are skipped, as llhttp does).
    pub start: usize,
    /// Bytes up to and including the blank line that ends the head.
    pub end: usize,
    pub method: u8,
    pub url: (u32, u32),
    pub version_minor: u8,
    /// `[name_off, name_len, value_off, value_len]` per header, in wire order.
    pub headers: Vec<[u32; 4]>,
    pub body: BodyKindSlot,
    pub keep_alive: bool,
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
pub fn parse_request_head(
    buf: &[u8],
    limits: &HeadLimits,
    out: &mut RequestHead,
) -> Result<bool, ParseError> {
    match parse_exact(buf, limits, out) {
        Err(ParseError::InvalidHeaderValueChar) if limits.lenient => {
            // llhttp's lenient mode takes control characters in header values; httparse never
            // does. Parse a copy with them masked: same layout, so the offsets index the
            // original bytes, which is what JS reads.
            let is_ctl = |b: u8| (b < b' ' && !matches!(b, b'\r' | b'\n' | b'\t')) || b == 0x7f;
            let masked: Vec<u8> = buf
                .iter()
                .map(|&b| if is_ctl(b) { b'!' } else { b })
                .collect();
            parse_exact(&masked, limits, out)
        }
        r => r,
    }
}

fn parse_exact(buf: &[u8], limits: &HeadLimits, out: &mut RequestHead) -> Result<bool, ParseError> {
    // llhttp ignores empty lines before a request line (RFC 9112 §2.2).
    let mut start = 0;
    while start < buf.len() && (buf[start] == b'\r' || buf[start] == b'\n') {
        start += 1;
    }
    let input = &buf[start..];
    if input.is_empty() {
        return Ok(false);
    }
    // Each header line is at least "a:\r\n", so this many slots can never overflow first.
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
        let status = req.parse_with_uninit_headers(input, slots);
        match status {
            Ok(httparse::Status::Partial) => {
                if counted_so_far(input) >= limits.max_head_bytes {
                    return Err(ParseError::HeaderOverflow);
                }
                // Reject what can never become valid before waiting for more bytes.
                check_line_endings(input, limits)?;
                Ok(false)
            }
            Ok(httparse::Status::Complete(len)) => {
                if counted_head_bytes(&req) >= limits.max_head_bytes {
                    return Err(ParseError::HeaderOverflow);
                }
                check_line_endings(&input[..len], limits)?;
                out.start = start;
                out.end = start + len;
                fill_head(buf, &req, limits, out)?;
                Ok(true)
            }
            Err(e) => Err(map_httparse_error(e, input, limits)),
        }
    })
}

fn map_httparse_error(e: httparse::Error, input: &[u8], limits: &HeadLimits) -> ParseError {
    match e {
        // httparse reports a bad method and a bad target alike; llhttp tells them apart.
        httparse::Error::Token => match memchr::memchr(b' ', input) {
            Some(sp) if std::str::from_utf8(&input[..sp]).is_ok_and(|m| METHODS.contains(&m)) => {
                ParseError::InvalidUrlChar
            }
            _ => ParseError::InvalidMethod,
        },
        httparse::Error::Version => {
            if input.len() > limits.max_head_bytes {
                ParseError::HeaderOverflow
            } else if version_token(input).is_some_and(|v| !v.starts_with(b"HTTP/")) {
                // "GET /a b HTTP/1.1": what follows the target is not a version at all.
                ParseError::InvalidConstant
            } else {
                ParseError::InvalidVersion
            }
        }
        httparse::Error::HeaderName if has_folded_line(input) => ParseError::UnexpectedWhitespace,
        httparse::Error::HeaderName => ParseError::InvalidHeaderToken,
        httparse::Error::HeaderValue => ParseError::InvalidHeaderValueChar,
        httparse::Error::NewLine => ParseError::LfExpected,
        httparse::Error::TooManyHeaders => ParseError::HeaderOverflow,
        httparse::Error::Status => ParseError::InvalidConstant,
    }
}

/// Where in `input` (a head as received, from its first byte) llhttp would have stopped with
/// `err`: Node reports it as `err.bytesParsed`. httparse does not say, so the offending byte is
/// found again here; errors not tied to one byte give 0.
pub fn error_offset(input: &[u8], err: ParseError) -> usize {
    let is_tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    let line_end =
        |from: usize| memchr::memchr(b'\n', &input[from..]).map_or(input.len(), |i| from + i);
    let first_header_line = memchr::memchr(b'\n', input).map_or(input.len(), |i| i + 1);
    let headers = || {
        let mut pos = first_header_line;
        std::iter::from_fn(move || {
            if pos >= input.len() {
                return None;
            }
            let start = pos;
            let end = line_end(start);
            pos = end + 1;
            Some((start, end))
        })
    };
    let found = match err {
        ParseError::InvalidMethod => input.iter().position(|&b| !is_tchar(b)),
        ParseError::InvalidUrlChar => {
            let sp = memchr::memchr(b' ', input).unwrap_or(0);
            input[sp + 1..]
                .iter()
                .position(|&b| b <= b' ' || b == 0x7f)
                .map(|i| sp + 1 + i)
        }
        ParseError::InvalidHeaderToken => headers().find_map(|(start, end)| {
            let line = &input[start..end];
            let colon = memchr::memchr(b':', line).unwrap_or(line.len());
            line[..colon]
                .iter()
                .position(|&b| !is_tchar(b))
                .map(|i| start + i)
        }),
        ParseError::InvalidHeaderValueChar => headers().find_map(|(start, end)| {
            let line = &input[start..end];
            let colon = memchr::memchr(b':', line)?;
            line[colon + 1..]
                .iter()
                .position(|&b| (b < b' ' && b != b'\t' && b != b'\r') || b == 0x7f)
                .map(|i| start + colon + 1 + i)
        }),
        ParseError::UnexpectedWhitespace => headers()
            .find_map(|(start, _)| matches!(input.get(start), Some(b' ' | b'\t')).then_some(start)),
        ParseError::CrExpected
        | ParseError::CrlfAfterVersion
        | ParseError::InvalidHeaderFieldChar => {
            memchr::memchr_iter(b'\n', input).find(|&i| i == 0 || input[i - 1] != b'\r')
        }
        _ => None,
    };
    found.unwrap_or(0)
}

/// A header line that begins with whitespace (obs-fold), which llhttp names as such.
fn has_folded_line(input: &[u8]) -> bool {
    memchr::memchr_iter(b'\n', input).any(|i| matches!(input.get(i + 1), Some(b' ' | b'\t')))
}

/// What Node counts against maxHeaderSize: the target, header names and values (not the
/// method, version, separators or line ends); reaching the limit overflows.
fn counted_head_bytes(req: &httparse::Request<'_, '_>) -> usize {
    req.path.map_or(0, str::len)
        + req
            .headers
            .iter()
            .map(|h| h.name.len() + h.value.len())
            .sum::<usize>()
}

/// A lower bound of `counted_head_bytes` for a head still arriving: each line costs at least
/// 4 uncounted bytes (": " and CRLF), the request line at least 12 besides the target.
fn counted_so_far(input: &[u8]) -> usize {
    let lines = memchr::memchr_iter(b'\n', input).count();
    input.len().saturating_sub(4 * lines + 12)
}

/// The third space-separated token of the request line, if the line has one.
fn version_token(input: &[u8]) -> Option<&[u8]> {
    let line_end = memchr::memchr2(b'\r', b'\n', input).unwrap_or(input.len());
    let mut parts = input[..line_end].splitn(3, |&b| b == b' ');
    parts.next()?;
    parts.next()?;
    parts.next()
}

/// llhttp (strict) wants CRLF after the request line and every header line; httparse also
/// accepts a bare LF, which is a request-smuggling vector, so reject it here.
fn check_line_endings(head: &[u8], limits: &HeadLimits) -> Result<(), ParseError> {
    if limits.lenient {
        return Ok(());
    }
    let request_line_end = memchr::memchr(b'\n', head).unwrap_or(head.len());
    for i in memchr::memchr_iter(b'\n', head) {
        if i > 0 && head[i - 1] == b'\r' {
            continue;
        }
        // llhttp's wording depends on where the bare LF is.
        return Err(if i == request_line_end {
            ParseError::CrlfAfterVersion
        } else if i > 0 && head[i - 1] == b'\n' {
            ParseError::InvalidHeaderFieldChar
        } else {
            ParseError::CrExpected
        });
    }
    Ok(())
}

fn offset_of(buf: &[u8], part: &[u8]) -> u32 {
    (part.as_ptr() as usize - buf.as_ptr() as usize) as u32
}

fn fill_head(
    buf: &[u8],
    req: &httparse::Request<'_, '_>,
    limits: &HeadLimits,
    out: &mut RequestHead,
) -> Result<(), ParseError> {
    let method = req.method.unwrap_or("");
    out.method = METHODS
        .binary_search(&method)
        .map_err(|_| ParseError::InvalidMethod)? as u8;
    let path = req.path.unwrap_or("");
    if path.is_empty() {
        return Err(ParseError::InvalidUrl);
    }
    out.url = (offset_of(buf, path.as_bytes()), path.len() as u32);
    out.version_minor = req.version.unwrap_or(1);
    out.headers.clear();
    out.late_error = None;

    let mut content_length: Option<u64> = None;
    let mut transfer_encoding = false;
    let mut chunked_last = false;
    let mut conn_close = false;
    let mut conn_keep_alive = false;
    let mut conn_upgrade = false;
    let mut has_upgrade = false;
    out.has_host = false;
    out.has_expect = false;

    for h in req.headers.iter() {
        let name = h.name.as_bytes();
        let value = h.value;
        out.headers.push([
            offset_of(buf, name),
            name.len() as u32,
            offset_of(buf, value),
            value.len() as u32,
        ]);
        match name.len() {
            14 if name.eq_ignore_ascii_case(b"content-length") => {
                if content_length.is_some() {
                    // llhttp: "Duplicate Content-Length", whatever the values.
                    return Err(ParseError::UnexpectedContentLength);
                }
                if transfer_encoding && !limits.lenient {
                    return Err(ParseError::ContentLengthWithTransferEncoding);
                }
                content_length = Some(parse_content_length(value)?);
            }
            17 if name.eq_ignore_ascii_case(b"transfer-encoding") => {
                if content_length.is_some() && !limits.lenient {
                    return Err(ParseError::TransferEncodingWithContentLength);
                }
                transfer_encoding = true;
                // chunked must be the final coding (RFC 9112 §6.1); llhttp rejects a coding
                // after it at once, before the head is dispatched.
                for token in tokens(value) {
                    if chunked_last && !limits.lenient {
                        return Err(ParseError::InvalidTransferEncodingValue);
                    }
                    chunked_last = token.eq_ignore_ascii_case(b"chunked");
                }
            }
            10 if name.eq_ignore_ascii_case(b"connection") => {
                for token in tokens(value) {
                    if token.eq_ignore_ascii_case(b"close") {
                        conn_close = true;
                    } else if token.eq_ignore_ascii_case(b"keep-alive") {
                        conn_keep_alive = true;
                    } else if token.eq_ignore_ascii_case(b"upgrade") {
                        conn_upgrade = true;
                    }
                }
            }
            7 if name.eq_ignore_ascii_case(b"upgrade") => has_upgrade = true,
            4 if name.eq_ignore_ascii_case(b"host") => out.has_host = true,
            6 if name.eq_ignore_ascii_case(b"expect") => out.has_expect = true,
            _ => {}
        }
    }

    out.body.0 = if transfer_encoding {
        if chunked_last {
            BodyKind::Chunked
        } else {
            // A request body whose length cannot be known: llhttp errors after the head.
            out.late_error = Some(ParseError::InvalidTransferEncoding);
            BodyKind::None
        }
    } else {
        match content_length {
            Some(0) | None => BodyKind::None,
            Some(n) => BodyKind::Length(n),
        }
    };

    out.keep_alive = if out.version_minor >= 1 {
        !conn_close
    } else {
        conn_keep_alive && !conn_close
    };
    out.upgrade = out.method == METHOD_CONNECT || (has_upgrade && conn_upgrade);
    Ok(())
}

fn parse_content_length(value: &[u8]) -> Result<u64, ParseError> {
    if value.is_empty() {
        return Err(ParseError::InvalidContentLength);
    }
    let mut n: u64 = 0;
    for &b in value {
        if !b.is_ascii_digit() {
            return Err(ParseError::InvalidContentLength);
        }
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(b - b'0')))
            .ok_or(ParseError::InvalidContentLength)?;
    }
    Ok(n)
}

/// Comma-separated tokens with optional whitespace trimmed.
fn tokens(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(|t| t.trim_ascii())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Option<RequestHead>, ParseError> {
        let mut head = RequestHead::default();
        parse_request_head(s.as_bytes(), &HeadLimits::default(), &mut head)
            .map(|done| done.then_some(head))
    }

    fn text(buf: &str, r: (u32, u32)) -> &str {
        &buf[r.0 as usize..(r.0 + r.1) as usize]
    }

    #[test]
    fn methods_are_sorted_for_binary_search() {
        let mut sorted = METHODS;
        sorted.sort_unstable();
        assert_eq!(sorted, METHODS);
        assert_eq!(METHODS[METHOD_GET as usize], "GET");
        assert_eq!(METHODS[METHOD_HEAD as usize], "HEAD");
        assert_eq!(METHODS[METHOD_CONNECT as usize], "CONNECT");
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
                InvalidContentLength,
            ),
            (
                "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
                TransferEncodingWithContentLength,
            ),
            (
                "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
                ContentLengthWithTransferEncoding,
            ),
            ("GET / HTTP/2.0\r\n\r\n", InvalidVersion),
            ("\x00\x01\x02 hello\r\n\r\n", InvalidMethod),
        ];
        for (input, want) in cases {
            assert_eq!(parse(input).err(), Some(*want), "{input:?}");
        }
    }

    #[test]
    fn error_offsets_point_at_the_offending_byte() {
        let at = |s: &str| {
            let e = parse(s).unwrap_err();
            error_offset(s.as_bytes(), e)
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
    }

    #[test]
    fn lenient_mode_accepts_control_characters_in_values() {
        let s = b"GET / HTTP/1.1\r\nHello: foo\x08foo\r\n\r\n";
        let mut h = RequestHead::default();
        let strict = HeadLimits::default();
        assert_eq!(
            parse_request_head(s, &strict, &mut h),
            Err(ParseError::InvalidHeaderValueChar)
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
}
