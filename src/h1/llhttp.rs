//! llhttp's request-head grammar (v9.3, Node 20's parser), byte by byte: which heads it takes,
//! and for the others the error and the offset it stops at (Node's `err.bytesParsed`).
//!
//! httparse stays the fast path (`parse.rs`); this scanner decides whenever httparse refuses a
//! head, or accepts one llhttp might judge differently (an unusual method, target or version,
//! or a header whose value llhttp parses itself). The shapes follow llhttp's `src/llhttp/http.ts`
//! and `url.ts`: a `match` consumes what it matched, a `peek` does not, `skipTo` consumes one
//! byte, and an error is reported at the byte where its node is reached.

use super::parse::{Fold, RequestHead};
use super::ParseError;

/// llhttp's methods (HTTP, PRI and RTSP), sorted; a request's method crosses as an index here.
pub const METHODS: [&str; 47] = [
    "ACL",
    "ANNOUNCE",
    "BIND",
    "CHECKOUT",
    "CONNECT",
    "COPY",
    "DELETE",
    "DESCRIBE",
    "FLUSH",
    "GET",
    "GET_PARAMETER",
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
    "PAUSE",
    "PLAY",
    "POST",
    "PRI",
    "PROPFIND",
    "PROPPATCH",
    "PURGE",
    "PUT",
    "QUERY",
    "REBIND",
    "RECORD",
    "REDIRECT",
    "REPORT",
    "SEARCH",
    "SETUP",
    "SET_PARAMETER",
    "SOURCE",
    "SUBSCRIBE",
    "TEARDOWN",
    "TRACE",
    "UNBIND",
    "UNLINK",
    "UNLOCK",
    "UNSUBSCRIBE",
];
pub const METHOD_CONNECT: u8 = 4;
pub const METHOD_PRI: u8 = 26;

/// Methods llhttp allows only with `RTSP/` (plus OPTIONS, GET and POST, allowed with both).
const RTSP_ONLY: [&str; 11] = [
    "ANNOUNCE",
    "DESCRIBE",
    "FLUSH",
    "GET_PARAMETER",
    "PAUSE",
    "PLAY",
    "RECORD",
    "REDIRECT",
    "SETUP",
    "SET_PARAMETER",
    "TEARDOWN",
];

/// Whether llhttp accepts `method` in an `HTTP/x.y` request (every method but the RTSP ones).
pub fn is_http_method(method: u8) -> bool {
    !RTSP_ONLY.contains(&METHODS[usize::from(method)])
}

fn is_rtsp_method(method: u8) -> bool {
    let name = METHODS[usize::from(method)];
    RTSP_ONLY.contains(&name) || matches!(name, "OPTIONS" | "GET" | "POST")
}

// llhttp's FLAGS.
pub const F_CONNECTION_KEEP_ALIVE: u16 = 1 << 0;
pub const F_CONNECTION_CLOSE: u16 = 1 << 1;
pub const F_CONNECTION_UPGRADE: u16 = 1 << 2;
pub const F_CHUNKED: u16 = 1 << 3;
pub const F_UPGRADE: u16 = 1 << 4;
pub const F_CONTENT_LENGTH: u16 = 1 << 5;
pub const F_TRANSFER_ENCODING: u16 = 1 << 9;

/// The headers llhttp parses values of (its SPECIAL_HEADERS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Special {
    Connection,
    ContentLength,
    TransferEncoding,
    Upgrade,
}

impl Special {
    /// `proxy-connection` counts as `connection`, as in llhttp.
    pub fn of(name: &[u8]) -> Option<Self> {
        let eq = |s: &[u8]| name.eq_ignore_ascii_case(s);
        match name.len() {
            10 if eq(b"connection") => Some(Self::Connection),
            14 if eq(b"content-length") => Some(Self::ContentLength),
            16 if eq(b"proxy-connection") => Some(Self::Connection),
            17 if eq(b"transfer-encoding") => Some(Self::TransferEncoding),
            7 if eq(b"upgrade") => Some(Self::Upgrade),
            _ => None,
        }
    }
}

/// `llhttp_should_keep_alive` for a message whose length does not depend on EOF: HTTP/1.1
/// (and later minors) unless `Connection: close`, older versions only with `keep-alive`.
pub fn should_keep_alive(version_major: u8, version_minor: u8, flags: u16) -> bool {
    if version_major > 0 && version_minor > 0 {
        flags & F_CONNECTION_CLOSE == 0
    } else {
        flags & F_CONNECTION_KEEP_ALIVE != 0
    }
}

/// The parser state a head's headers build up: llhttp's `flags` and `content_length`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct HeadState {
    pub flags: u16,
    pub content_length: u64,
    /// A Connection value ended inside llhttp's token list (its last token none of close,
    /// upgrade, keep-alive: `header_state` still CONNECTION), so an obs-fold line goes on
    /// parsing tokens; after a known token the rest is an ordinary value.
    pub connection_open: bool,
}

/// An error and the input offset llhttp reports it at.
pub type Stop = (ParseError, usize);

/// Which llhttp the grammar follows.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Grammar {
    /// `insecureHTTPParser`: llhttp's lenient flags.
    pub lenient: bool,
    /// llhttp 9.4 and later (Node 22, 24): a tab after a Content-Length value or after a
    /// Connection token is whitespace, as a space is; llhttp 9.3 (Node 20) refuses it there.
    pub tab_is_ows: bool,
    /// Node 24's `httpValidation: 'relaxed'` (llhttp's LENIENT_HEADER_VALUE_RELAXED): control
    /// characters other than NUL, CR and LF are taken in a header value.
    pub relaxed_values: bool,
    /// llhttp 9.4.3 and later (Node 22.23, 24.21): an empty Transfer-Encoding value is an
    /// error, as an empty Content-Length is everywhere.
    pub empty_te_refused: bool,
}

/// What llhttp does with a request head.
#[derive(Debug, PartialEq, Eq)]
pub enum Scan {
    /// A valid prefix: llhttp would wait for more bytes.
    Partial,
    Error(ParseError, usize),
    /// A head llhttp takes, filled into the caller's `RequestHead` (offsets into the input,
    /// values without trailing whitespace); the state its headers left.
    Complete(HeadState),
}

/// A 256-entry byte class, built at compile time from a predicate on `b`.
macro_rules! byte_class {
    (|$b:ident| $pred:expr) => {{
        let mut t = [false; 256];
        let mut i = 0;
        while i < 256 {
            let $b = i as u8;
            t[i] = $pred;
            i += 1;
        }
        t
    }};
}

const fn alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

const fn bytes_contain(set: &[u8], b: u8) -> bool {
    let mut i = 0;
    while i < set.len() {
        if set[i] == b {
            return true;
        }
        i += 1;
    }
    false
}

static URL_CHAR: [bool; 256] =
    byte_class!(|b| alnum(b) || bytes_contain(b"!\"$%&'()*+,-./:;<=>@[\\]^_`{|}~", b));
static USERINFO: [bool; 256] = byte_class!(|b| alnum(b) || bytes_contain(b"-_.!~*'()%;:&=+$,", b));
pub static TOKEN: [bool; 256] = byte_class!(|b| alnum(b) || bytes_contain(b"!#$%&'*+-.^_`|~", b));
/// HTAB, SP, VCHAR and obs-text.
static HEADER_CHAR: [bool; 256] = byte_class!(|b| b == b'\t' || (b >= b' ' && b != 0x7f));
/// llhttp's RELAXED_HEADER_CHARS: HEADER_CHAR and the control characters but NUL, CR and LF.
static RELAXED_HEADER_CHAR: [bool; 256] = byte_class!(|b| b != 0 && b != b'\r' && b != b'\n');
/// HEADER_CHAR without the comma.
static CONNECTION_TOKEN_CHAR: [bool; 256] =
    byte_class!(|b| b == b'\t' || (b >= b' ' && b != 0x7f && b != b','));

/// Outcome of matching a literal (or a set of them) from `p`.
enum Lit {
    /// Matched; the position after it.
    Yes(usize),
    /// Mismatch at this position.
    No(usize),
    Partial,
}

/// llparse's sequence match: compares byte by byte (case-insensitively if `fold`), stopping at
/// the first mismatch.
fn literal(input: &[u8], p: usize, lit: &[u8], fold: bool) -> Lit {
    for (i, &want) in lit.iter().enumerate() {
        let Some(&b) = input.get(p + i) else {
            return Lit::Partial;
        };
        let b = if fold { b.to_ascii_lowercase() } else { b };
        if b != want {
            return Lit::No(p + i);
        }
    }
    Lit::Yes(p + lit.len())
}

/// The method trie: the longest walk along method names; a name ends the walk when the next
/// byte does not continue a longer one. No backtracking, as in llparse.
fn method_at(input: &[u8], p: usize) -> Result<(u8, usize), Option<usize>> {
    let mut len = 0;
    loop {
        let prefix = &input[p..p + len];
        let complete = METHODS.iter().position(|m| m.as_bytes() == prefix);
        let Some(&next) = input.get(p + len) else {
            return Err(None);
        };
        let continues = METHODS.iter().any(|m| {
            let m = m.as_bytes();
            m.len() > len && m[..len] == *prefix && m[len] == next
        });
        if continues {
            len += 1;
            continue;
        }
        return match complete {
            Some(i) => Ok((i as u8, p + len)),
            None => Err(Some(p + len)),
        };
    }
}

/// Where the request target ends and what follows it.
enum UrlEnd {
    /// A space: a version follows.
    Http(usize),
    /// CRLF or LF right after the target: HTTP/0.9, headers next (position after the line end).
    Http09(usize),
}

/// llhttp's URL machine from the target's first byte.
fn scan_url(input: &[u8], mut p: usize, connect: bool) -> Result<(usize, UrlEnd), Option<Stop>> {
    #[derive(Clone, Copy, PartialEq)]
    enum S {
        Start,
        Schema,
        SchemaDelim,
        Server,
        ServerWithAt,
        Path,
        Query,
        Fragment,
    }
    use ParseError as E;
    let mut s = if connect { S::Server } else { S::Start };
    loop {
        let Some(&b) = input.get(p) else {
            return Err(None);
        };
        if b == b'\t' || b == 0x0c {
            return Err(Some((E::UrlInvalidChars, p + 1)));
        }
        let in_target = matches!(
            s,
            S::Server | S::ServerWithAt | S::Path | S::Query | S::Fragment
        );
        if matches!(b, b' ' | b'\r' | b'\n') {
            if !in_target {
                return Err(Some((E::UrlInvalidChars, p + 1)));
            }
            return match b {
                b' ' => Ok((p, UrlEnd::Http(p + 1))),
                b'\n' => Ok((p, UrlEnd::Http09(p + 1))),
                _ => match literal(input, p, b"\r\n", false) {
                    Lit::Yes(q) => Ok((p, UrlEnd::Http09(q))),
                    Lit::No(q) => Err(Some((E::UrlExpectedCrlf, q))),
                    Lit::Partial => Err(None),
                },
            };
        }
        // (next state, bytes consumed): a peek consumes none.
        let (next, used) = match s {
            S::Start => match b {
                b'/' | b'*' => (S::Path, 1),
                _ if b.is_ascii_alphabetic() => (S::Schema, 0),
                _ => return Err(Some((E::UrlStartChar, p))),
            },
            S::Schema => match b {
                _ if b.is_ascii_alphabetic() => (S::Schema, 1),
                b':' => (S::SchemaDelim, 1),
                _ => return Err(Some((E::UrlSchemaChar, p))),
            },
            S::SchemaDelim => match literal(input, p, b"//", false) {
                Lit::Yes(_) => (S::Server, 2),
                Lit::No(q) => return Err(Some((E::UrlSchemaChar, q))),
                Lit::Partial => return Err(None),
            },
            S::Server | S::ServerWithAt => match b {
                b'/' => (S::Path, 1),
                b'?' => (S::Query, 1),
                b'@' if s == S::Server => (S::ServerWithAt, 1),
                b'@' => return Err(Some((E::UrlDoubleAt, p + 1))),
                _ if USERINFO[b as usize] || b == b'[' || b == b']' => (S::Server, 1),
                _ => return Err(Some((E::UrlServerChar, p))),
            },
            S::Path => match b {
                _ if URL_CHAR[b as usize] => (S::Path, 1),
                b'?' => (S::Query, 1),
                b'#' => (S::Fragment, 1),
                _ => return Err(Some((E::InvalidUrlChar, p))),
            },
            S::Query => match b {
                _ if URL_CHAR[b as usize] || b == b'?' => (S::Query, 1),
                b'#' => (S::Fragment, 1),
                _ => return Err(Some((E::UrlQueryChar, p))),
            },
            S::Fragment => match b {
                _ if URL_CHAR[b as usize] || b == b'?' || b == b'#' => (S::Fragment, 1),
                _ => return Err(Some((E::UrlFragmentChar, p))),
            },
        };
        s = next;
        p += used;
    }
}

/// Whether the URL machine takes the target at `input[off..off + len]` whole, up to the space
/// after it (a target httparse already took): the fast path's check for targets that are not
/// origin-form.
pub fn url_is_valid(input: &[u8], off: usize, len: usize, connect: bool) -> bool {
    matches!(scan_url(input, off, connect), Ok((end, UrlEnd::Http(_))) if end == off + len)
}

/// llhttp's value machines for the special headers, from the value's first byte (after the
/// leading whitespace) to the CR or LF ending it, which is returned. An empty value is not
/// passed here (`empty_value`).
pub fn scan_special_value(
    input: &[u8],
    mut p: usize,
    kind: Special,
    st: &mut HeadState,
    g: Grammar,
) -> Result<usize, Option<Stop>> {
    use ParseError as E;
    let lenient = g.lenient;
    let ows = |b: Option<&u8>| b == Some(&b' ') || (g.tab_is_ows && b == Some(&b'\t'));
    // Every value ends in header_value_otherwise: CR or LF, else an invalid character.
    let otherwise = |p: usize| -> Result<usize, Option<Stop>> { value_end(input, p, g) };
    match kind {
        Special::Upgrade => {
            st.flags |= F_UPGRADE;
            general_value(input, p, g)
        }
        Special::ContentLength => {
            if st.flags & F_CONTENT_LENGTH != 0 {
                return Err(Some((E::UnexpectedContentLength, p)));
            }
            let mut n: u64 = 0;
            while let Some(&b) = input.get(p) {
                if !b.is_ascii_digit() {
                    break;
                }
                p += 1;
                n = match n
                    .checked_mul(10)
                    .and_then(|n| n.checked_add(u64::from(b - b'0')))
                {
                    Some(n) => n,
                    None => return Err(Some((E::ContentLengthOverflow, p))),
                };
            }
            st.content_length = n;
            while ows(input.get(p)) {
                p += 1;
            }
            match input.get(p) {
                None => Err(None),
                Some(b'\r' | b'\n') => {
                    st.flags |= F_CONTENT_LENGTH;
                    otherwise(p)
                }
                Some(_) => Err(Some((E::InvalidContentLength, p))),
            }
        }
        Special::TransferEncoding => {
            if st.flags & F_CHUNKED != 0 && !lenient {
                return Err(Some((E::InvalidTransferEncodingValue, p + 1)));
            }
            st.flags |= F_TRANSFER_ENCODING;
            st.flags &= !F_CHUNKED;
            loop {
                // header_value_te_chunked
                match literal(input, p, b"chunked", true) {
                    Lit::Partial => return Err(None),
                    Lit::Yes(q) => {
                        p = q;
                        while input.get(p) == Some(&b' ') {
                            p += 1;
                        }
                        match input.get(p) {
                            None => return Err(None),
                            Some(b'\r' | b'\n') => {
                                st.flags |= F_CHUNKED;
                                return otherwise(p);
                            }
                            Some(b',') if !lenient => {
                                return Err(Some((E::InvalidTransferEncodingValue, p + 1)));
                            }
                            Some(b',') => continue,
                            Some(_) => {}
                        }
                    }
                    Lit::No(q) => p = q,
                }
                // header_value_te_token
                loop {
                    match input.get(p) {
                        None => return Err(None),
                        Some(b',') => {
                            p += 1;
                            while matches!(input.get(p), Some(b' ' | b'\t')) {
                                p += 1;
                            }
                            break;
                        }
                        Some(&b) if CONNECTION_TOKEN_CHAR[b as usize] => p += 1,
                        Some(_) => return general_value(input, p, g),
                    }
                }
            }
        }
        Special::Connection => {
            // The flag of the token being read, set when a comma or the value's end confirms it.
            let mut pending = 0u16;
            st.connection_open = false;
            'value: loop {
                // header_value_connection
                while matches!(input.get(p), Some(b' ' | b'\t')) {
                    p += 1;
                }
                let mut known = None;
                for (word, flag) in [
                    (&b"close"[..], F_CONNECTION_CLOSE),
                    (b"upgrade", F_CONNECTION_UPGRADE),
                    (b"keep-alive", F_CONNECTION_KEEP_ALIVE),
                ] {
                    match literal(input, p, word, true) {
                        Lit::Yes(q) => known = Some((q, flag)),
                        Lit::Partial => return Err(None),
                        Lit::No(_) => {}
                    }
                }
                if let Some((q, flag)) = known {
                    p = q;
                    pending = flag;
                    st.connection_open = false;
                    // header_value_connection_ws
                    while ows(input.get(p)) {
                        p += 1;
                    }
                    match input.get(p) {
                        None => return Err(None),
                        Some(b',') => {
                            st.flags |= pending;
                            pending = 0;
                            p += 1;
                            continue 'value;
                        }
                        Some(b'\r' | b'\n') => {
                            st.flags |= pending;
                            return otherwise(p);
                        }
                        Some(_) => pending = 0,
                    }
                } else {
                    st.connection_open = true;
                    // A mismatch inside a word leaves the trie where it failed.
                    p = [&b"close"[..], b"upgrade", b"keep-alive"]
                        .iter()
                        .filter_map(|w| match literal(input, p, w, true) {
                            Lit::No(q) => Some(q),
                            _ => None,
                        })
                        .max()
                        .unwrap_or(p);
                }
                // header_value_connection_token
                loop {
                    match input.get(p) {
                        None => return Err(None),
                        Some(b',') => {
                            p += 1;
                            continue 'value;
                        }
                        Some(&b) if CONNECTION_TOKEN_CHAR[b as usize] => p += 1,
                        Some(_) => {
                            st.flags |= pending;
                            return otherwise(p);
                        }
                    }
                }
            }
        }
    }
}

/// header_value: any header character, then the line end.
fn general_value(input: &[u8], p: usize, g: Grammar) -> Result<usize, Option<Stop>> {
    value_end(input, skip(input, p, &HEADER_CHAR), g)
}

/// The position of the first byte from `p` not in `class` (or the input's end).
fn skip(input: &[u8], p: usize, class: &[bool; 256]) -> usize {
    input[p.min(input.len())..]
        .iter()
        .position(|&b| !class[b as usize])
        .map_or(input.len(), |i| p + i)
}

/// header_value_otherwise: the CR (or, lenient, LF) ending a value, else an invalid character
/// (lenient: anything up to the line end; relaxed: a run of relaxed characters, then this again).
fn value_end(input: &[u8], p: usize, g: Grammar) -> Result<usize, Option<Stop>> {
    use ParseError as E;
    match input.get(p) {
        None => Err(None),
        Some(b'\r') => Ok(p),
        Some(b'\n') if g.lenient => Ok(p),
        Some(b'\n') => Err(Some((E::CrExpected, p))),
        Some(_) if g.lenient => match memchr::memchr2(b'\r', b'\n', &input[p..]) {
            Some(i) => Ok(p + i),
            None => Err(None),
        },
        Some(&b) if g.relaxed_values && RELAXED_HEADER_CHAR[b as usize] => {
            value_end(input, skip(input, p, &RELAXED_HEADER_CHAR), g)
        }
        Some(_) => Err(Some((E::InvalidHeaderValueChar, p))),
    }
}

/// What an empty value does (checkContentLengthEmptiness, and llhttp 9.4.3's
/// Transfer-Encoding check); `at` is the next line's first byte.
pub fn empty_value(kind: Option<Special>, at: usize, g: Grammar) -> Result<(), Stop> {
    match kind {
        Some(Special::ContentLength) => Err((ParseError::EmptyContentLength, at)),
        Some(Special::TransferEncoding) if g.empty_te_refused => {
            Err((ParseError::EmptyTransferEncoding, at))
        }
        _ => Ok(()),
    }
}

/// Scans a request head from the start of `input` as llhttp would, into `out` (its
/// presence flags, body and keep-alive are the caller's to derive).
pub fn scan_head(input: &[u8], g: Grammar, out: &mut RequestHead) -> Scan {
    // What a stop leaves in `out` (the target, the header lines before it, `end` just past
    // them) is what llhttp had finished: Node's maxHeaderSize counts those.
    out.url = (0, 0);
    out.end = 0;
    out.open_value = None;
    out.headers.clear();
    out.folds.clear();
    match scan(input, g, out) {
        Ok(st) => Scan::Complete(st),
        Err(None) => Scan::Partial,
        Err(Some((e, at))) => Scan::Error(e, at),
    }
}

fn scan(input: &[u8], g: Grammar, out: &mut RequestHead) -> Result<HeadState, Option<Stop>> {
    use ParseError as E;
    let lenient = g.lenient;
    let mut p = 0;
    while matches!(input.get(p), Some(b'\r' | b'\n')) {
        p += 1;
    }
    if p == input.len() {
        return Err(None);
    }
    out.start = p;
    let (method, q) = method_at(input, p).map_err(|at| at.map(|at| (E::InvalidMethod, at)))?;
    out.method = method;
    p = q;
    match input.get(p) {
        None => return Err(None),
        Some(b' ') => p += 1,
        Some(_) => return Err(Some((E::ExpectedSpaceAfterMethod, p))),
    }
    while input.get(p) == Some(&b' ') {
        p += 1;
    }
    let url_start = p;
    let (url_end, after) = match scan_url(input, p, method == METHOD_CONNECT) {
        Ok(found) => found,
        Err(Some((E::UrlExpectedCrlf, q))) => {
            // The target's span ends at its CR (and Node counts it) before this error.
            out.url = (url_start as u32, (q - 1 - url_start) as u32);
            return Err(Some((E::UrlExpectedCrlf, q)));
        }
        Err(stop) => return Err(stop),
    };
    out.url = (url_start as u32, (url_end - url_start) as u32);
    match after {
        UrlEnd::Http09(q) => {
            out.version_major = 0;
            out.version_minor = 9;
            p = q;
        }
        UrlEnd::Http(q) => {
            p = q;
            while input.get(p) == Some(&b' ') {
                p += 1;
            }
            p = request_version(input, p, out, lenient)?;
        }
    }
    out.end = p;
    headers(input, p, out, g, true, HeadState::default())
}

/// Trailer lines (each with its CRLF) followed by the blank line, as llhttp parses them after
/// the last chunk: `[name_off, name_len, value_off, value_len]` into `block`, or where llhttp
/// stops. llhttp parses trailers with the head's flags still set (a Content-Length or a second
/// Transfer-Encoding there is the same error as in the head), and the flags they add count for
/// the connection (`Connection: close` in a trailer ends it): `st` comes in as the head left
/// it and goes out with the trailers' flags added.
pub fn scan_trailers(block: &[u8], g: Grammar, st: &mut HeadState) -> Result<TrailerLines, Stop> {
    // The decoder hands over whole lines ending in the blank one.
    scan_trailer_block(block, g, st)
        .map(|(lines, _)| lines)
        .map_err(|(stop, _)| stop.unwrap_or((ParseError::InvalidEofState, block.len())))
}

/// Trailer lines as `scan_trailers` gives them: `[name_off, name_len, value_off, value_len]`
/// each, and the folded values.
pub type TrailerLines = (Vec<[u32; 4]>, Vec<Fold>);

/// `scan_trailers` for lines that may not be complete yet, with where the trailers end (lenient
/// llhttp ends them at a bare CR after an empty value, inside what the decoder reads as one
/// line): `Err((None, _))` when llhttp would wait for more bytes; a stop comes with what llhttp
/// had finished (`headers`, `end`) and the header whose value it was reading (`open_value`),
/// for Node's count.
pub fn scan_trailer_block(
    block: &[u8],
    g: Grammar,
    st: &mut HeadState,
) -> Result<(TrailerLines, usize), (Option<Stop>, Box<RequestHead>)> {
    let mut out = RequestHead::default();
    match headers(block, 0, &mut out, g, false, *st) {
        Ok(after) => {
            *st = after;
            Ok(((out.headers, out.folds), out.end))
        }
        Err(stop) => Err((stop, Box::new(out))),
    }
}

/// From the protocol name to the end of the request line; the position of the first header.
fn request_version(
    input: &[u8],
    mut p: usize,
    out: &mut RequestHead,
    lenient: bool,
) -> Result<usize, Option<Stop>> {
    use ParseError as E;
    let method = out.method;
    let mut matched = None;
    let mut furthest = p;
    for (proto, ok, err) in [
        (
            &b"HTTP"[..],
            is_http_method(method),
            E::InvalidMethodForHttp,
        ),
        (b"RTSP", is_rtsp_method(method), E::InvalidMethodForRtsp),
        (
            b"ICE",
            METHODS[usize::from(method)] == "SOURCE",
            E::ExpectedSourceForIce,
        ),
    ] {
        match literal(input, p, proto, false) {
            Lit::Yes(q) => matched = Some((q, ok, err)),
            Lit::No(q) => furthest = furthest.max(q),
            Lit::Partial => return Err(None),
        }
    }
    let Some((q, method_ok, method_err)) = matched else {
        return Err(Some((E::InvalidConstant, furthest)));
    };
    p = q;
    if !method_ok {
        return Err(Some((method_err, p)));
    }
    let byte = |p: usize| input.get(p).copied().ok_or(None);
    if byte(p)? != b'/' {
        return Err(Some((E::InvalidConstant, p)));
    }
    p += 1;
    let major = byte(p)?;
    if !major.is_ascii_digit() {
        return Err(Some((E::InvalidMajorVersion, p)));
    }
    p += 1;
    if byte(p)? != b'.' {
        return Err(Some((E::ExpectedDot, p)));
    }
    p += 1;
    let minor = byte(p)?;
    if !minor.is_ascii_digit() {
        return Err(Some((E::InvalidMinorVersion, p)));
    }
    p += 1;
    out.version_major = major - b'0';
    out.version_minor = minor - b'0';
    let version = (out.version_major, out.version_minor);
    if !lenient && !matches!(version, (0, 9) | (1, 0) | (1, 1) | (2, 0)) {
        return Err(Some((E::InvalidVersion, p)));
    }
    if method == METHOD_PRI {
        return match literal(input, p, b"\r\n\r\nSM\r\n\r\n", false) {
            Lit::Yes(q) => Err(Some((E::PausedH2Upgrade, q))),
            Lit::No(q) => Err(Some((E::ExpectedH2Preface, q))),
            Lit::Partial => Err(None),
        };
    }
    match byte(p)? {
        b'\r' => {}
        b'\n' if lenient => {}
        b'\n' => return Err(Some((E::CrlfAfterVersion, p + 1))),
        _ => return Err(Some((E::CrlfAfterVersion, p))),
    }
    p += 1;
    match byte(p)? {
        b'\n' => Ok(p + 1),
        _ if lenient => Ok(p),
        _ => Err(Some((E::StrictCrlfAfterVersion, p))),
    }
}

/// Header lines from `p` through the blank line; fills `out.headers` and `out.end`.
/// `after_start_line`: llhttp's headers_start (a space there has its own error), not trailers.
/// `st`: the parser state the lines start from (the head's, for trailers).
fn headers(
    input: &[u8],
    mut p: usize,
    out: &mut RequestHead,
    g: Grammar,
    after_start_line: bool,
    mut st: HeadState,
) -> Result<HeadState, Option<Stop>> {
    use ParseError as E;
    let lenient = g.lenient;
    let byte = |p: usize| input.get(p).copied().ok_or(None);
    if after_start_line && byte(p)? == b' ' {
        if !lenient {
            return Err(Some((E::UnexpectedSpace, p + 1)));
        }
        p += 1;
    }
    loop {
        // header_field_start
        match byte(p)? {
            b'\r' => {
                p += 1;
                match byte(p)? {
                    b'\n' => p += 1,
                    _ if lenient => {}
                    _ => return Err(Some((E::StrictLfAfterHeaders, p))),
                }
                break;
            }
            b'\n' if lenient => {
                p += 1;
                break;
            }
            b'\n' => return Err(Some((E::InvalidHeaderFieldChar, p + 1))),
            b':' => return Err(Some((E::InvalidHeaderToken, p))),
            _ => {}
        }
        let name_start = p;
        while TOKEN[byte(p)? as usize] {
            p += 1;
        }
        let mut kind = Special::of(&input[name_start..p]);
        match byte(p)? {
            b':' => {}
            b' ' if kind.is_some() && !lenient => {
                // The name's span ends (and is counted) before this error, a value of none.
                out.open_value = Some([name_start as u32, (p - name_start) as u32, p as u32 + 1]);
                return Err(Some((E::InvalidHeaderFieldChar, p + 1)));
            }
            b' ' if kind.is_some() => {
                while byte(p)? == b' ' {
                    p += 1;
                }
                if byte(p)? != b':' {
                    // header_field_general: the name goes on, spaces included, as any header's.
                    kind = None;
                    while TOKEN[byte(p)? as usize] {
                        p += 1;
                    }
                    if byte(p)? != b':' {
                        return Err(Some((E::InvalidHeaderToken, p)));
                    }
                }
            }
            _ => return Err(Some((E::InvalidHeaderToken, p))),
        }
        let name = &input[name_start..p];
        p += 1;
        if !lenient {
            match kind {
                Some(Special::TransferEncoding) if st.flags & F_CONTENT_LENGTH != 0 => {
                    return Err(Some((E::TransferEncodingWithContentLength, p)));
                }
                Some(Special::ContentLength) if st.flags & F_TRANSFER_ENCODING != 0 => {
                    return Err(Some((E::ContentLengthWithTransferEncoding, p)));
                }
                _ => {}
            }
        }
        // header_value_discard_ws, and the empty value's line end
        let mut empty = false;
        // An empty value's offset: its line end, where httparse puts it too.
        let mut empty_at;
        loop {
            empty_at = p;
            match byte(p)? {
                b' ' | b'\t' => p += 1,
                b'\r' => {
                    match byte(p + 1)? {
                        b'\n' => p += 2,
                        _ if lenient => p += 1,
                        _ => return Err(Some((E::StrictLfAfterCr, p + 1))),
                    }
                    empty = true;
                }
                b'\n' if lenient => {
                    p += 1;
                    empty = true;
                }
                b'\n' => return Err(Some((E::InvalidHeaderValueChar, p + 1))),
                _ => break,
            }
            if empty {
                // header_value_discard_lws
                match byte(p)? {
                    b' ' | b'\t' if lenient => {
                        empty = false;
                        continue;
                    }
                    b' ' | b'\t' => return Err(Some((E::InvalidHeaderValueChar, p + 1))),
                    _ => break,
                }
            }
        }
        if empty {
            empty_value(kind, p, g).map_err(Some)?;
            out.headers
                .push([name_start as u32, name.len() as u32, empty_at as u32, 0]);
            out.end = p;
            continue;
        }
        let value_start = p;
        out.open_value = Some([name_start as u32, name.len() as u32, value_start as u32]);
        let mut cr = match kind {
            Some(kind) => scan_special_value(input, p, kind, &mut st, g)?,
            None => general_value(input, p, g)?,
        };
        let mut pieces = Vec::new();
        loop {
            // header_value_almost_done
            p = cr;
            if byte(p)? == b'\r' {
                p += 1;
                match byte(p)? {
                    b'\n' => p += 1,
                    _ => return Err(Some((E::LfExpected, p))),
                }
            } else {
                p += 1;
            }
            // header_value_lws: whitespace starting the next line is obs-fold, which only
            // lenient llhttp takes: the value goes on from that whitespace, with the special
            // header's parsing going on too (after a final `chunked`, as any header's).
            if !matches!(byte(p)?, b' ' | b'\t') {
                break;
            }
            if !lenient {
                return Err(Some((E::UnexpectedWhitespace, p)));
            }
            if pieces.is_empty() {
                pieces.push((value_start as u32, (cr - value_start) as u32));
            }
            // What llhttp's header_state makes of the rest: Content-Length is parsed again (a
            // duplicate), a token list still open goes on; anything else is an ordinary value,
            // and a Transfer-Encoding's `chunked` no longer counts (its flag is set only when
            // the value ends in that state, which the fold resets).
            kind = match kind {
                Some(Special::ContentLength) => kind,
                Some(Special::Connection) if st.connection_open => kind,
                Some(Special::TransferEncoding) => {
                    st.flags &= !F_CHUNKED;
                    None
                }
                _ => None,
            };
            let piece_start = p;
            cr = match kind {
                Some(kind) => scan_special_value(input, p, kind, &mut st, g)?,
                None => general_value(input, p, g)?,
            };
            pieces.push((piece_start as u32, (cr - piece_start) as u32));
        }
        let mut value_end = cr;
        if pieces.is_empty() {
            while value_end > value_start && matches!(input[value_end - 1], b' ' | b'\t') {
                value_end -= 1;
            }
        } else {
            out.folds.push(Fold {
                header: out.headers.len(),
                pieces,
            });
        }
        out.headers.push([
            name_start as u32,
            name.len() as u32,
            value_start as u32,
            (value_end - value_start) as u32,
        ]);
        out.open_value = None;
        out.end = p;
    }
    out.end = p;
    Ok(st)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scans into a fresh head: (what llhttp does, the head as filled).
    fn scan_new(input: &[u8], g: Grammar) -> (Scan, RequestHead) {
        let mut head = RequestHead::default();
        (scan_head(input, g, &mut head), head)
    }

    /// (input, llhttp's error reason, bytesParsed) as Node 20.20 (llhttp 9.3.1) reports them.
    const NODE_ERRORS: &[(&str, &str, usize)] = &[
        ("FOO / HTTP/1.1\r\n\r\n", "Invalid method encountered", 1),
        ("GETX / HTTP/1.1\r\n\r\n", "Expected space after method", 3),
        ("get / HTTP/1.1\r\n\r\n", "Invalid method encountered", 0),
        (
            "PROPFIX / HTTP/1.1\r\n\r\n",
            "Invalid method encountered",
            6,
        ),
        ("GET\t/ HTTP/1.1\r\n\r\n", "Expected space after method", 3),
        (
            "DESCRIBE / HTTP/1.1\r\n\r\n",
            "Invalid method for HTTP/x.x request",
            15,
        ),
        (
            "GET / ICE/1.0\r\n\r\n",
            "Expected SOURCE method for ICE/x.x request",
            9,
        ),
        ("GET / HTTP/9.9\r\n\r\n", "Invalid HTTP version", 14),
        ("GET / HTTP/1\r\n\r\n", "Expected dot", 12),
        ("GET / HTTP/1.\r\n\r\n", "Invalid minor version", 13),
        ("GET / HTTP/x.1\r\n\r\n", "Invalid major version", 11),
        ("GET / HTTP/1.1x\r\n\r\n", "Expected CRLF after version", 14),
        ("GET / HTTP/1.1\rX\n\r\n", "Expected CRLF after version", 15),
        (
            "GET / HTTP/1.1\nHost: x\n\n",
            "Expected CRLF after version",
            15,
        ),
        ("GET / XTTP/1.1\r\n\r\n", "Expected HTTP/, RTSP/ or ICE/", 6),
        ("GET / HTTX/1.1\r\n\r\n", "Expected HTTP/, RTSP/ or ICE/", 9),
        (
            "GET / HTTP-1.1\r\n\r\n",
            "Expected HTTP/, RTSP/ or ICE/",
            10,
        ),
        (
            "GET /a b HTTP/1.1\r\n\r\n",
            "Expected HTTP/, RTSP/ or ICE/",
            7,
        ),
        ("GET /\u{1} HTTP/1.1\r\n\r\n", "Invalid char in url path", 5),
        ("GET /a\tb HTTP/1.1\r\n\r\n", "Invalid characters in url", 7),
        ("GET foo HTTP/1.1\r\n\r\n", "Invalid characters in url", 8),
        (
            "GET h2://x/ HTTP/1.1\r\n\r\n",
            "Unexpected char in url schema",
            5,
        ),
        ("GET http://u@@h/ HTTP/1.1\r\n\r\n", "Double @ in url", 14),
        (
            "GET / HTTP/1.1\r\nBad Header\r\n\r\n",
            "Invalid header token",
            19,
        ),
        (
            "GET / HTTP/1.1\r\nContent-Length : 0\r\n\r\n",
            "Invalid header field char",
            31,
        ),
        ("GET / HTTP/1.1\r\n: v\r\n\r\n", "Invalid header token", 16),
        (
            "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",
            "Missing expected LF after header value",
            21,
        ),
        (
            "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n",
            "Unexpected whitespace after header value",
            22,
        ),
        ("GET / HTTP/1.1\r\n\n", "Invalid header field char", 17),
        ("GET / HTTP/1.1\r\n\rX", "Expected LF after headers", 17),
        (
            "GET / HTTP/1.1\r\n Host: x\r\n\r\n",
            "Unexpected space after start line",
            17,
        ),
        (
            "GET / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n",
            "Invalid character in Content-Length",
            34,
        ),
        (
            "GET / HTTP/1.1\r\nContent-Length: \r\n\r\n",
            "Empty Content-Length",
            34,
        ),
        (
            "GET / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            "Content-Length overflow",
            52,
        ),
        (
            "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length:  4\r\n\r\n",
            "Duplicate Content-Length",
            53,
        ),
        (
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
            "Content-Length can't be present with Transfer-Encoding",
            60,
        ),
        (
            "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            "Transfer-Encoding can't be present with Content-Length",
            54,
        ),
        (
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked , gzip\r\n\r\n",
            "Invalid `Transfer-Encoding` header value",
            45,
        ),
        (
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
            "Invalid `Transfer-Encoding` header value",
            65,
        ),
        (
            "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            "Pause on PRI/Upgrade",
            24,
        ),
    ];

    #[test]
    fn errors_and_offsets_are_llhttps() {
        for &(input, reason, at) in NODE_ERRORS {
            match scan_new(input.as_bytes(), Grammar::default()).0 {
                Scan::Error(e, got) => {
                    assert_eq!((e.reason(), got), (reason, at), "{input:?}");
                }
                other => panic!("{input:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn accepts_what_llhttp_accepts() {
        let cases: &[(&str, &str, &str, (u8, u8))] = &[
            ("GET  /  HTTP/1.1\r\n\r\n", "GET", "/", (1, 1)),
            ("GET / RTSP/1.0\r\n\r\n", "GET", "/", (1, 0)),
            ("DESCRIBE / RTSP/1.0\r\n\r\n", "DESCRIBE", "/", (1, 0)),
            ("SOURCE / ICE/1.0\r\n\r\n", "SOURCE", "/", (1, 0)),
            ("GET / HTTP/2.0\r\n\r\n", "GET", "/", (2, 0)),
            ("GET / HTTP/0.9\r\n\r\n", "GET", "/", (0, 9)),
            ("GET /x?a#b\r\n\r\n", "GET", "/x?a#b", (0, 9)),
            (
                "GET http://[::1]:80/a?b HTTP/1.1\r\n\r\n",
                "GET",
                "http://[::1]:80/a?b",
                (1, 1),
            ),
            ("CONNECT a:1 HTTP/1.1\r\n\r\n", "CONNECT", "a:1", (1, 1)),
            (
                "GET_PARAMETER * RTSP/1.0\r\n\r\n",
                "GET_PARAMETER",
                "*",
                (1, 0),
            ),
        ];
        for &(input, method, url, version) in cases {
            let (Scan::Complete(_), h) = scan_new(input.as_bytes(), Grammar::default()) else {
                panic!("{input:?}");
            };
            let (off, len) = (h.url.0 as usize, h.url.1 as usize);
            assert_eq!(METHODS[usize::from(h.method)], method);
            assert_eq!(&input[off..off + len], url);
            assert_eq!((h.version_major, h.version_minor), version);
            assert_eq!(h.end, input.len());
        }
    }

    #[test]
    fn header_flags_follow_llhttp() {
        let flags = |headers: &str| {
            let input = format!("GET / HTTP/1.1\r\n{headers}\r\n");
            match scan_new(input.as_bytes(), Grammar::default()).0 {
                Scan::Complete(st) => st.flags,
                other => panic!("{headers:?}: {other:?}"),
            }
        };
        assert_eq!(flags("Connection: close\r\n"), F_CONNECTION_CLOSE);
        assert_eq!(flags("Proxy-Connection: close\r\n"), F_CONNECTION_CLOSE);
        assert_eq!(
            flags("Connection: foo, Keep-Alive , upgrade\r\n"),
            F_CONNECTION_KEEP_ALIVE | F_CONNECTION_UPGRADE
        );
        assert_eq!(flags("Connection: closed\r\n"), 0);
        assert_eq!(flags("Connection: close x\r\n"), 0);
        assert_eq!(
            flags("Transfer-Encoding: gzip, chunked\r\n"),
            F_TRANSFER_ENCODING | F_CHUNKED
        );
        assert_eq!(
            flags("Transfer-Encoding: chunked\t\r\n"),
            F_TRANSFER_ENCODING
        );
        assert_eq!(
            flags("Transfer-Encoding: chunkedx\r\n"),
            F_TRANSFER_ENCODING
        );
        assert_eq!(flags("Upgrade: websocket\r\n"), F_UPGRADE);
        assert_eq!(flags("Content-Length: 12 \r\n"), F_CONTENT_LENGTH);
    }

    #[test]
    fn prefixes_of_valid_heads_are_partial() {
        let input = "POST http://a/b?c HTTP/1.1\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\nContent-Type: x\r\n\r\n";
        for n in 0..input.len() {
            assert_eq!(
                scan_new(&input.as_bytes()[..n], Grammar::default()).0,
                Scan::Partial,
                "{n}"
            );
        }
        assert!(matches!(
            scan_new(input.as_bytes(), Grammar::default()).0,
            Scan::Complete(_)
        ));
    }

    #[test]
    fn lenient_takes_bare_lf_and_control_characters() {
        let input = b"GET / HTTP/1.1\nX: a\x01b\nContent-Length: 1\nTransfer-Encoding: chunked\n\n";
        let lenient = Grammar {
            lenient: true,
            ..Grammar::default()
        };
        let (Scan::Complete(_), h) = scan_new(input, lenient) else {
            panic!()
        };
        assert_eq!(h.headers.len(), 3);
        assert_eq!(h.end, input.len());
    }

    /// Node 24's `httpValidation: 'relaxed'`: control characters in values, not NUL, a bare LF
    /// or a fold (offsets as Node 24.21 reports them; on NUL its llhttp 9.4.3 never returns).
    #[test]
    fn relaxed_values_take_control_characters_only() {
        let relaxed = Grammar {
            relaxed_values: true,
            ..Grammar::default()
        };
        let input = b"GET / HTTP/1.1\r\nX: a\x01b\x7f\x0c\r\nConnection: close\x01\r\n\r\n";
        let (Scan::Complete(_), h) = scan_new(input, relaxed) else {
            panic!()
        };
        assert_eq!(h.headers.len(), 2);
        assert_eq!(h.end, input.len());
        assert!(matches!(
            scan_new(input, Grammar::default()).0,
            Scan::Error(ParseError::InvalidHeaderValueChar, 20)
        ));
        let refused: &[(&[u8], ParseError, usize)] = &[
            (
                b"GET / HTTP/1.1\r\nX: a\x01\x00b\r\n\r\n",
                ParseError::InvalidHeaderValueChar,
                21,
            ),
            (
                b"GET / HTTP/1.1\r\nX: a\x01b\nY: c\r\n\r\n",
                ParseError::CrExpected,
                22,
            ),
            (
                b"GET / HTTP/1.1\r\nContent-Length: 1\x01\r\n\r\n",
                ParseError::InvalidContentLength,
                33,
            ),
        ];
        for &(input, error, at) in refused {
            assert_eq!(
                scan_new(input, relaxed).0,
                Scan::Error(error, at),
                "{input:?}"
            );
        }
    }

    /// Lenient llhttp continues a value over obs-fold lines (Node 20.20, insecureHTTPParser):
    /// the value Node sees, and what the fold does to a special header's flags.
    #[test]
    fn lenient_obs_fold_follows_llhttp() {
        let lenient = Grammar {
            lenient: true,
            ..Grammar::default()
        };
        let scan = |headers: &str| {
            let input = format!("GET / HTTP/1.1\r\n{headers}\r\n");
            let (scan, head) = scan_new(input.as_bytes(), lenient);
            let values: Vec<String> = (0..head.headers.len())
                .map(|k| {
                    let mut v = Vec::new();
                    match head.folds.iter().find(|f| f.header == k) {
                        Some(fold) => fold.joined_value(input.as_bytes(), &mut v),
                        None => {
                            let [_, _, off, len] = head.headers[k];
                            v.extend_from_slice(
                                &input.as_bytes()[off as usize..(off + len) as usize],
                            );
                        }
                    }
                    String::from_utf8(v).unwrap()
                })
                .collect();
            (scan, values)
        };
        let flags = |s: Scan| match s {
            Scan::Complete(st) => st.flags,
            other => panic!("{other:?}"),
        };
        let (s, v) = scan("X: a \r\n b\r\nY: z\r\n");
        assert_eq!(
            (flags(s), v),
            (0, vec!["a  b".to_string(), "z".to_string()])
        );
        assert_eq!(scan("X: a\r\n b \r\n\tc\t\r\n").1, vec!["a b \tc"]);
        assert_eq!(scan("X: a\r\n  \r\n").1, vec!["a"]);
        // A `chunked` that a fold follows no longer counts.
        let (s, v) = scan("Transfer-Encoding: chunked\r\n x\r\n");
        assert_eq!(
            (flags(s), v),
            (F_TRANSFER_ENCODING, vec!["chunked x".to_string()])
        );
        for (head, want) in [
            (
                "Transfer-Encoding: gzip\r\n chunked\r\n",
                F_TRANSFER_ENCODING,
            ),
            // A token list still open goes on over the fold; after a known token it is text.
            ("Connection: foo\r\n close\r\n", F_CONNECTION_CLOSE),
            (
                "Connection: keep-alive\r\n close\r\n",
                F_CONNECTION_KEEP_ALIVE,
            ),
            ("Connection: close\r\n foo\r\n", F_CONNECTION_CLOSE),
        ] {
            assert_eq!(flags(scan(head).0), want, "{head:?}");
        }
        // Content-Length is parsed again: a duplicate, at the fold's whitespace.
        assert_eq!(
            scan("Content-Length: 1\r\n 2\r\n").0,
            Scan::Error(ParseError::UnexpectedContentLength, 35)
        );
        // Strict llhttp refuses the fold.
        assert_eq!(
            scan_new(b"GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", Grammar::default()).0,
            Scan::Error(ParseError::UnexpectedWhitespace, 22)
        );
    }

    #[test]
    fn method_table_is_sorted_and_indexed() {
        let mut sorted = METHODS;
        sorted.sort_unstable();
        assert_eq!(sorted, METHODS);
        assert_eq!(METHODS[METHOD_CONNECT as usize], "CONNECT");
        assert_eq!(METHODS[METHOD_PRI as usize], "PRI");
    }

    /// llhttp 9.4.3 (Node 22.23, 24.21) refuses an empty Transfer-Encoding at the next line's
    /// first byte, as an empty Content-Length; 9.3 (Node 20) takes it.
    #[test]
    fn an_empty_transfer_encoding_is_refused_from_llhttp_9_4_3() {
        let node24 = Grammar {
            tab_is_ows: true,
            empty_te_refused: true,
            ..Grammar::default()
        };
        let lenient = Grammar {
            lenient: true,
            ..node24
        };
        for (head, at) in [
            (
                &b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n\r\n"[..],
                45,
            ),
            (
                b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \r\n\r\n",
                46,
            ),
        ] {
            assert_eq!(
                scan_new(head, node24).0,
                Scan::Error(ParseError::EmptyTransferEncoding, at)
            );
            assert!(matches!(
                scan_new(head, Grammar::default()).0,
                Scan::Complete(_)
            ));
        }
        assert_eq!(
            scan_new(b"GET / HTTP/1.1\r\nTransfer-Encoding:\rx", lenient).0,
            Scan::Error(ParseError::EmptyTransferEncoding, 35)
        );
    }

    #[test]
    fn a_tab_after_tokens_is_whitespace_from_llhttp_9_4() {
        let node22 = Grammar {
            tab_is_ows: true,
            ..Grammar::default()
        };
        let scan = |headers: &str, g| {
            let input = format!("GET / HTTP/1.1\r\n{headers}\r\n");
            scan_new(input.as_bytes(), g).0
        };
        let flags = |s: Scan| match s {
            Scan::Complete(st) => st.flags,
            other => panic!("{other:?}"),
        };
        let close = "Connection: close\t\r\n";
        assert_eq!(flags(scan(close, Grammar::default())), 0);
        assert_eq!(flags(scan(close, node22)), F_CONNECTION_CLOSE);
        let length = "Content-Length: 5\t\r\n";
        assert_eq!(
            scan(length, Grammar::default()),
            Scan::Error(ParseError::InvalidContentLength, 33)
        );
        assert_eq!(flags(scan(length, node22)), F_CONTENT_LENGTH);
    }
}
