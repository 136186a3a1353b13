//! Request body decoding: Content-Length and chunked, as a byte-level state machine (the shape of
//! hyper's `ChunkedState`) with llhttp's strictness and Node's limits on extensions and trailers.

use super::llhttp::{scan_trailer_block, scan_trailers, Grammar, HeadState, TOKEN};
use super::parse::{
    count_spans, counted_so_far, names_over_so_far, open_value_overflow, value_spans, Fold,
};
use super::ParseError;

/// Node caps chunk extensions at 16 KiB per chunk (HPE_CHUNK_EXTENSIONS_OVERFLOW → 413).
pub const MAX_CHUNK_EXTENSIONS: usize = 16 * 1024;

#[derive(Debug)]
pub struct BodyDecoder {
    kind: Kind,
    trailers: Vec<u8>,
    /// Node's maxHeaderSize for the trailers, counted on their own as a head's are: names and
    /// values (`trailer_count` for the lines complete so far).
    max_trailer_bytes: usize,
    trailer_count: usize,
    /// Trailer lines allowed (`HeadLimits::names_left`), and those complete so far.
    max_trailer_names: usize,
    trailer_names: usize,
    /// Which llhttp: `lenient` (insecureHTTPParser) lets a bare LF end a line and spaces follow
    /// the size.
    grammar: Grammar,
    /// Where the trailer line being read starts in `trailers`.
    trailer_line: usize,
    /// Bytes of the blank line that ended the trailers: 2 (CRLF), or 1 where lenient llhttp
    /// ends them at a bare LF or CR.
    trailer_end_len: usize,
    /// llhttp's flags as the head left them, and with the complete trailer lines added.
    head_state: HeadState,
    trailer_state: HeadState,
    /// A chunked body: only its trailers can change what the head said (Connection…).
    chunked: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Length(u64),
    /// Everything until the peer's EOF.
    UntilEof,
    Chunked(Chunked),
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunked {
    /// Hex digits of the size; `digits` counts them.
    Size {
        size: u64,
        digits: u8,
    },
    /// Chunk extensions (`;name=value`, llhttp's grammar); `bytes` counts them for Node's cap.
    Extension {
        size: u64,
        bytes: usize,
        at: Ext,
    },
    SizeLf {
        size: u64,
    },
    Data {
        remaining: u64,
    },
    DataCr,
    DataLf,
    TrailerLineStart,
    TrailerLine,
    EndLf,
}

/// Where in a chunk extension llhttp is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ext {
    /// After `;`.
    Start,
    Name,
    Value,
    Quoted,
    QuotedPair,
    QuotedDone,
}

/// llhttp's QDTEXT: HTAB, SP, VCHAR except `"` and `\`, obs-text.
fn is_qdtext(b: u8) -> bool {
    b == b'\t' || (b >= b' ' && b != b'"' && b != b'\\' && b != 0x7f)
}

/// One step of decoding: what the bytes consumed so far amount to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded {
    /// Body bytes at `start..end` of the input.
    Data { start: usize, end: usize },
    /// Everything given was consumed without finishing; give more.
    NeedMore,
    /// The body (and trailers) ended.
    Done,
}

impl BodyDecoder {
    pub fn length(n: u64) -> Self {
        Self {
            kind: if n == 0 { Kind::Done } else { Kind::Length(n) },
            trailers: Vec::new(),
            max_trailer_bytes: 0,
            trailer_count: 0,
            max_trailer_names: usize::MAX,
            trailer_names: 0,
            grammar: Grammar::default(),
            trailer_line: 0,
            trailer_end_len: 0,
            head_state: HeadState::default(),
            trailer_state: HeadState::default(),
            chunked: false,
        }
    }

    /// A body that ends with the connection's read side (lenient llhttp's `body_identity_eof`).
    pub fn until_eof() -> Self {
        Self {
            kind: Kind::UntilEof,
            ..Self::length(0)
        }
    }

    /// Whether the peer's EOF completes this body rather than cutting it short.
    pub fn ends_at_eof(&self) -> bool {
        self.kind == Kind::UntilEof
    }

    /// `head_flags`: llhttp's flags after the head (`RequestHead::flags`), which its trailers
    /// are parsed with.
    pub fn chunked(max_trailer_bytes: usize, grammar: Grammar, head_flags: u16) -> Self {
        let head_state = HeadState {
            flags: head_flags,
            ..HeadState::default()
        };
        Self {
            kind: Kind::Chunked(Chunked::Size { size: 0, digits: 0 }),
            trailers: Vec::new(),
            max_trailer_bytes,
            trailer_count: 0,
            max_trailer_names: usize::MAX,
            trailer_names: 0,
            grammar,
            trailer_line: 0,
            trailer_end_len: 0,
            head_state,
            trailer_state: head_state,
            chunked: true,
        }
    }

    /// Bounds the trailer lines, counted as a head's are (`HeadLimits::names_left`).
    pub fn max_trailer_lines(self, names_left: usize) -> Self {
        Self {
            max_trailer_names: names_left,
            ..self
        }
    }

    /// llhttp's flags once a chunked body's trailers are in: the head's and those the trailers
    /// added. `None` for other bodies, whose end leaves the head's flags as they were.
    pub fn trailer_flags(&self) -> Option<u16> {
        self.chunked.then_some(self.trailer_state.flags)
    }

    pub fn is_done(&self) -> bool {
        self.kind == Kind::Done
    }

    /// Raw trailer lines (each ending in CRLF), empty when there were none.
    pub fn trailer_bytes(&self) -> &[u8] {
        &self.trailers
    }

    /// The bytes of the last read that ended the trailers after `trailer_bytes()`: their blank
    /// line (0 when llhttp ended them inside a line).
    pub fn trailer_end_len(&self) -> usize {
        self.trailer_end_len
    }

    /// Decodes from `buf`; returns how many bytes were consumed and what they were. Data is
    /// returned as soon as it is seen, so call again with the rest until `NeedMore` or `Done`.
    /// An error comes with the offset in `buf` where llhttp stops (Node's `bytesParsed`).
    pub fn decode(&mut self, buf: &[u8]) -> Result<(usize, Decoded), (ParseError, usize)> {
        match self.kind {
            Kind::Done => Ok((0, Decoded::Done)),
            Kind::Length(remaining) => {
                if buf.is_empty() {
                    return Ok((0, Decoded::NeedMore));
                }
                let take = remaining.min(buf.len() as u64) as usize;
                let left = remaining - take as u64;
                self.kind = if left == 0 {
                    Kind::Done
                } else {
                    Kind::Length(left)
                };
                Ok((
                    take,
                    Decoded::Data {
                        start: 0,
                        end: take,
                    },
                ))
            }
            Kind::UntilEof if buf.is_empty() => Ok((0, Decoded::NeedMore)),
            Kind::UntilEof => Ok((
                buf.len(),
                Decoded::Data {
                    start: 0,
                    end: buf.len(),
                },
            )),
            Kind::Chunked(_) => self.decode_chunked(buf),
        }
    }

    fn decode_chunked(&mut self, buf: &[u8]) -> Result<(usize, Decoded), (ParseError, usize)> {
        use ParseError as E;
        let lenient = self.grammar.lenient;
        let mut i = 0;
        while i < buf.len() {
            let Kind::Chunked(state) = self.kind else {
                return Ok((i, Decoded::Done));
            };
            if let Chunked::Data { remaining } = state {
                let take = remaining.min((buf.len() - i) as u64) as usize;
                let left = remaining - take as u64;
                self.kind = Kind::Chunked(if left == 0 {
                    Chunked::DataCr
                } else {
                    Chunked::Data { remaining: left }
                });
                return Ok((
                    i + take,
                    Decoded::Data {
                        start: i,
                        end: i + take,
                    },
                ));
            }
            // llhttp reports an error at the byte (`at`) or, where its node consumed the byte
            // first, just after it (`after`).
            let at = i;
            let after = i + 1;
            let b = buf[i];
            i += 1;
            let next = match state {
                Chunked::Size { size, digits } => match b {
                    b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' => {
                        let v = u64::from((b as char).to_digit(16).unwrap_or(0));
                        let size = size
                            .checked_mul(16)
                            .and_then(|s| s.checked_add(v))
                            .ok_or((E::ChunkSizeOverflow, after))?;
                        Chunked::Size {
                            size,
                            digits: digits.saturating_add(1),
                        }
                    }
                    _ if digits == 0 => return Err((E::InvalidChunkSize, at)),
                    b' ' | b'\t' if lenient => Chunked::Size { size, digits },
                    b' ' | b'\t' => return Err((E::InvalidChunkSize, after)),
                    b';' => Chunked::Extension {
                        size,
                        bytes: 0,
                        at: Ext::Start,
                    },
                    // Lenient llhttp takes a bare LF for the CR, and then still an LF if one
                    // follows (chunk_size_almost_done): "0\n\n" is one line end.
                    b'\r' => Chunked::SizeLf { size },
                    b'\n' if lenient => Chunked::SizeLf { size },
                    b'\n' => return Err((E::CrExpectedAfterChunkSize, after)),
                    _ => return Err((E::InvalidChunkSize, at)),
                },
                Chunked::Extension {
                    size,
                    bytes,
                    at: ext,
                } => {
                    // Node caps the extension bytes of a chunk line (line ends not counted).
                    let go = |to: Ext| {
                        if bytes + 1 > MAX_CHUNK_EXTENSIONS {
                            return Err((E::ChunkExtensionsOverflow, at));
                        }
                        Ok(Chunked::Extension {
                            size,
                            bytes: bytes + 1,
                            at: to,
                        })
                    };
                    let line_end = |why: ParseError| {
                        if lenient {
                            Ok(Self::after_size(size))
                        } else {
                            Err((why, at))
                        }
                    };
                    match (ext, b) {
                        (Ext::Start, b' ' | b'\r') => return Err((E::ExtensionChar, after)),
                        (Ext::Start | Ext::Name, b'=') => go(Ext::Value)?,
                        (Ext::Start | Ext::Name | Ext::Value | Ext::QuotedDone, b';') => {
                            go(Ext::Start)?
                        }
                        (Ext::Name | Ext::Value | Ext::QuotedDone, b'\r') => {
                            Chunked::SizeLf { size }
                        }
                        (Ext::Start | Ext::Name, b'\n') => line_end(E::CrExpectedAfterExtName)?,
                        (Ext::Value | Ext::QuotedDone, b'\n') => {
                            line_end(E::CrExpectedAfterExtValue)?
                        }
                        (Ext::Start | Ext::Name, _) if TOKEN[b as usize] => go(Ext::Name)?,
                        (Ext::Start | Ext::Name, _) => return Err((E::ExtensionNameChar, after)),
                        (Ext::Value, b'"') => go(Ext::Quoted)?,
                        (Ext::Value, _) if TOKEN[b as usize] => go(Ext::Value)?,
                        (Ext::Value, _) => return Err((E::ExtensionValueChar, after)),
                        (Ext::Quoted, b'"') => go(Ext::QuotedDone)?,
                        (Ext::Quoted, b'\\') => go(Ext::QuotedPair)?,
                        (Ext::Quoted, _) if is_qdtext(b) => go(Ext::Quoted)?,
                        (Ext::Quoted, _) => return Err((E::ExtensionQuotedChar, after)),
                        (Ext::QuotedPair, _) if b == b'\t' || (b >= b' ' && b != 0x7f) => {
                            go(Ext::Quoted)?
                        }
                        (Ext::QuotedPair, _) => return Err((E::ExtensionQuotedPair, after)),
                        (Ext::QuotedDone, _) => return Err((E::ExtensionAfterQuote, at)),
                    }
                }
                Chunked::SizeLf { size } => match b {
                    b'\n' => Self::after_size(size),
                    _ if lenient => {
                        i = at;
                        Self::after_size(size)
                    }
                    _ => return Err((E::StrictLfAfterChunkSize, at)),
                },
                Chunked::Data { .. } => unreachable!("handled above"),
                Chunked::DataCr => match b {
                    b'\r' => Chunked::DataLf,
                    b'\n' if lenient => Chunked::Size { size: 0, digits: 0 },
                    b'\n' => return Err((E::CrExpectedAfterChunkData, after)),
                    _ if lenient => {
                        i = at;
                        Chunked::Size { size: 0, digits: 0 }
                    }
                    _ => return Err((E::Strict, at)),
                },
                Chunked::DataLf => match b {
                    b'\n' => Chunked::Size { size: 0, digits: 0 },
                    _ if lenient => {
                        i = at;
                        Chunked::Size { size: 0, digits: 0 }
                    }
                    _ => return Err((E::Strict, at)),
                },
                Chunked::TrailerLineStart => match b {
                    b'\r' => Chunked::EndLf,
                    b'\n' if lenient => {
                        self.kind = Kind::Done;
                        self.trailer_end_len = 1;
                        return Ok((i, Decoded::Done));
                    }
                    b'\n' => return Err((E::InvalidHeaderFieldChar, after)),
                    _ => {
                        self.trailer_line = self.trailers.len();
                        if let Some(done) = self.push_trailer(b, at)? {
                            return Ok((done, Decoded::Done));
                        }
                        Chunked::TrailerLine
                    }
                },
                Chunked::TrailerLine => {
                    if let Some(done) = self.push_trailer(b, at)? {
                        return Ok((done, Decoded::Done));
                    }
                    if b == b'\n' {
                        // Each line is checked as it completes (and while incomplete, at the
                        // end of each read), so an error stops where llhttp stops.
                        if let Some(done) = self.check_trailer_line(true, at + 1)? {
                            return Ok((done, Decoded::Done));
                        }
                        Chunked::TrailerLineStart
                    } else {
                        Chunked::TrailerLine
                    }
                }
                Chunked::EndLf => match b {
                    b'\n' => {
                        self.kind = Kind::Done;
                        self.trailer_end_len = 2;
                        return Ok((i, Decoded::Done));
                    }
                    _ if lenient => {
                        self.kind = Kind::Done;
                        self.trailer_end_len = 1;
                        return Ok((at, Decoded::Done));
                    }
                    _ => return Err((E::StrictLfAfterHeaders, at)),
                },
            };
            self.kind = Kind::Chunked(next);
        }
        if self.kind == Kind::Chunked(Chunked::TrailerLine) {
            if let Some(done) = self.check_trailer_line(false, buf.len())? {
                return Ok((done, Decoded::Done));
            }
        }
        Ok((i, Decoded::NeedMore))
    }

    /// The trailer line being read, as llhttp has parsed it so far: its error, or Node's count
    /// of its name and value reaching maxHeaderSize (with the lines before). `complete`: the
    /// line has its LF; `end`: the offset in the read just after the line's last byte. An
    /// obs-fold line (lenient) continues the one before: the whole block is checked at its end.
    ///
    /// `Ok(Some(at))`: llhttp's trailers (so the body) end inside this line, at `at` in the
    /// read; the decoder is done.
    fn check_trailer_line(
        &mut self,
        complete: bool,
        end: usize,
    ) -> Result<Option<usize>, (ParseError, usize)> {
        use ParseError as E;
        let line = &self.trailers[self.trailer_line..];
        // The first line has no value to continue: llhttp refuses its whitespace at once.
        if self.grammar.lenient
            && self.trailer_line > 0
            && matches!(line.first(), Some(b' ' | b'\t'))
        {
            return Ok(None);
        }
        let line_len = line.len();
        let mut probe = Vec::with_capacity(line_len + 2);
        probe.extend_from_slice(line);
        if complete {
            probe.extend_from_slice(b"\r\n");
        }
        // An offset in the line as one in the read (past the line for the CRLF `probe` adds;
        // an error in an earlier read's bytes was raised at that read's end).
        let in_read = |k: usize| (end + k).saturating_sub(line_len);
        let left = self.max_trailer_bytes - self.trailer_count;
        let names_left = self.max_trailer_names - self.trailer_names;
        let mut st = self.trailer_state;
        match scan_trailer_block(&probe, self.grammar, &mut st) {
            Ok(((spans, folds), ended)) if complete || ended <= line_len => {
                match count_spans(
                    &probe,
                    (0, 0),
                    value_spans(&spans, &folds),
                    left,
                    names_left,
                ) {
                    Ok(n) => self.trailer_count += n,
                    Err(k) => return Err((E::HeaderOverflow, in_read(k))),
                }
                self.trailer_names += spans.len();
                self.trailer_state = st;
                if ended < probe.len() {
                    // What follows is the next message's.
                    self.trailers.truncate(self.trailer_line + ended);
                    self.kind = Kind::Done;
                    return Ok(Some(in_read(ended)));
                }
                Ok(None)
            }
            Err((Some((e, k)), open)) => {
                // A value llhttp ended before its error is counted first.
                let name_over = open.headers.len() >= names_left;
                let over = open.open_value.and_then(|h| {
                    open_value_overflow(&probe, h.map(|v| v as usize), k, 0, left, name_over)
                });
                Err(match over {
                    Some(over) if over <= k => (E::HeaderOverflow, in_read(over)),
                    _ => (e, in_read(k)),
                })
            }
            Err((None, _)) if complete => Err((E::InvalidEofState, in_read(probe.len()))),
            Err((None, done)) => {
                // Node counts the spans llhttp finished and those still open when the packet
                // ends (lenient llhttp may finish a line at a bare CR).
                let spans = value_spans(&done.headers, &done.folds);
                let counted = count_spans(&probe, (0, 0), spans, left, names_left)
                    .map_err(|k| (E::HeaderOverflow, in_read(k)))?;
                let open = &probe[done.end..];
                let names_left = names_left.saturating_sub(done.headers.len());
                if let Some(k) = names_over_so_far(open, false, names_left) {
                    return Err((E::HeaderOverflow, in_read(done.end + k)));
                }
                if counted + counted_so_far(open, false) >= left {
                    return Err((E::HeaderOverflow, end));
                }
                Ok(None)
            }
            // Trailers llhttp would end after this partial line's bytes: not yet known here.
            Ok(_) => Ok(None),
        }
    }

    /// The chunk's line ended: its data, or the trailers after the last chunk.
    fn after_size(size: u64) -> Chunked {
        if size == 0 {
            Chunked::TrailerLineStart
        } else {
            Chunked::Data { remaining: size }
        }
    }

    /// Adds a trailer byte; `Ok(Some(at))` when llhttp's trailers ended before it (see
    /// `check_trailer_line`).
    fn push_trailer(&mut self, b: u8, at: usize) -> Result<Option<usize>, (ParseError, usize)> {
        // Only names and values count; lines of "a:" make the block up to four times that. A
        // line that long may hold an error llhttp would have stopped at first.
        if self.trailers.len() >= 4 * self.max_trailer_bytes + 4 {
            return match self.check_trailer_line(false, at)? {
                Some(done) => Ok(Some(done)),
                None => Err((ParseError::HeaderOverflow, at)),
            };
        }
        self.trailers.push(b);
        Ok(None)
    }

    /// Trailers as `[name_off, name_len, value_off, value_len]` into `trailer_bytes()`, parsed
    /// as llhttp does; an error comes with its offset in `trailer_bytes()`.
    /// Values continued over obs-fold lines (lenient) come in `folds`.
    pub fn parse_trailers(
        &mut self,
        out: &mut Vec<[u32; 4]>,
        folds: &mut Vec<Fold>,
    ) -> Result<(), (ParseError, usize)> {
        out.clear();
        folds.clear();
        if self.trailers.is_empty() {
            return Ok(());
        }
        let mut block = self.trailers.clone();
        block.extend_from_slice(b"\r\n");
        let mut st = self.head_state;
        (*out, *folds) = scan_trailers(&block, self.grammar, &mut st)?;
        self.trailer_state = st;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::h1::llhttp::{
        F_CHUNKED, F_CONNECTION_CLOSE, F_CONNECTION_KEEP_ALIVE, F_CONTENT_LENGTH,
        F_TRANSFER_ENCODING,
    };

    /// The flags of a head with `Transfer-Encoding: chunked`.
    const CHUNKED_HEAD: u16 = F_TRANSFER_ENCODING | F_CHUNKED;

    /// Decodes `input` fed in pieces of `step` bytes; returns (body, rest after the body).
    fn run(
        mut dec: BodyDecoder,
        input: &[u8],
        step: usize,
    ) -> Result<(Vec<u8>, usize), ParseError> {
        let mut body = Vec::new();
        let mut pos = 0;
        let mut avail = step.min(input.len());
        loop {
            let (n, what) = dec.decode(&input[pos..avail]).map_err(|(e, _)| e)?;
            match what {
                Decoded::Data { start, end } => {
                    body.extend_from_slice(&input[pos + start..pos + end])
                }
                Decoded::Done => return Ok((body, pos + n)),
                Decoded::NeedMore => {
                    if avail == input.len() {
                        return Err(ParseError::InvalidEofState);
                    }
                    avail = (avail + step).min(input.len());
                }
            }
            pos += n;
        }
    }

    #[test]
    fn content_length() {
        let (body, used) = run(BodyDecoder::length(5), b"helloGET", 2).unwrap();
        assert_eq!(body, b"hello");
        assert_eq!(used, 5);
        assert!(BodyDecoder::length(0).is_done());
    }

    #[test]
    fn chunked_every_split() {
        let wire = b"5\r\nhello\r\n1;ext=1\r\n \r\na\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\nNEXT";
        for step in 1..wire.len() {
            let (body, used) = run(
                BodyDecoder::chunked(1024, Grammar::default(), CHUNKED_HEAD),
                wire,
                step,
            )
            .unwrap();
            assert_eq!(body, b"hello 0123456789", "step {step}");
            assert_eq!(&wire[used..], b"NEXT");
        }
    }

    #[test]
    fn trailers_are_parsed() {
        let mut dec = BodyDecoder::chunked(1024, Grammar::default(), CHUNKED_HEAD);
        let wire = b"0\r\nX-A: 1\r\nx-b: two\r\n\r\n";
        let (n, d) = dec.decode(wire).unwrap();
        assert_eq!((n, d), (wire.len(), Decoded::Done));
        let mut t = Vec::new();
        dec.parse_trailers(&mut t, &mut Vec::new()).unwrap();
        let raw = dec.trailer_bytes();
        let s = |o: u32, l: u32| &raw[o as usize..(o + l) as usize];
        assert_eq!(t.len(), 2);
        assert_eq!(s(t[1][0], t[1][1]), b"x-b");
        assert_eq!(s(t[1][2], t[1][3]), b"two");
    }

    /// llhttp parses trailers with the head's flags: what the head could not carry beside
    /// `Transfer-Encoding: chunked` is an error there too, at the byte Node 20 reports
    /// (offsets into the body here); a trailer's Connection header counts for the connection.
    #[test]
    fn trailers_keep_the_heads_flags() {
        let strict = Grammar::default();
        let cases: &[(&str, ParseError, usize)] = &[
            (
                "3\r\nabc\r\n0\r\nContent-Length: 5\r\n\r\n",
                ParseError::ContentLengthWithTransferEncoding,
                26,
            ),
            (
                "3\r\nabc\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n",
                ParseError::InvalidTransferEncodingValue,
                31,
            ),
        ];
        for &(input, want, at) in cases {
            let mut dec = BodyDecoder::chunked(1024, strict, CHUNKED_HEAD);
            let mut pos = 0;
            let got = loop {
                match dec.decode(&input.as_bytes()[pos..]) {
                    Ok((n, Decoded::Data { .. })) => pos += n,
                    Ok(other) => break Ok(other),
                    Err((e, k)) => break Err((e, pos + k)),
                }
            };
            assert_eq!(got, Err((want, at)), "{input:?}");
        }
        let flags_after = |trailer: &str, g: Grammar| {
            let mut dec = BodyDecoder::chunked(1024, g, CHUNKED_HEAD);
            let input = format!("0\r\n{trailer}\r\n");
            assert_eq!(dec.decode(input.as_bytes()).unwrap().1, Decoded::Done);
            dec.parse_trailers(&mut Vec::new(), &mut Vec::new())
                .unwrap();
            dec.trailer_flags().unwrap()
        };
        assert_eq!(flags_after("", strict), CHUNKED_HEAD);
        assert_eq!(
            flags_after("Connection: close\r\n", strict),
            CHUNKED_HEAD | F_CONNECTION_CLOSE
        );
        let lenient = Grammar {
            lenient: true,
            ..Grammar::default()
        };
        assert_eq!(
            flags_after("Connection: keep-alive\r\nContent-Length: 1\r\n", lenient),
            CHUNKED_HEAD | F_CONNECTION_KEEP_ALIVE | F_CONTENT_LENGTH
        );
    }

    /// Lenient llhttp: a bare LF after the size stands for the CR and an LF may still follow
    /// ("0\n\n" is one line end, so the trailers start after it); an obs-fold line continues
    /// a trailer's value.
    #[test]
    fn lenient_line_ends_and_folded_trailers() {
        let lenient = Grammar {
            lenient: true,
            ..Grammar::default()
        };
        let mut dec = BodyDecoder::chunked(1024, lenient, CHUNKED_HEAD);
        let input = b"3\nabc\n0\n\nX: y\r\n\r\nNEXT";
        let (body, used) = run(dec, input, 1).unwrap();
        assert_eq!(body, b"abc");
        assert_eq!(&input[used..], b"NEXT");

        dec = BodyDecoder::chunked(1024, lenient, CHUNKED_HEAD);
        let input = b"0\r\nA: b \r\n  folded\r\n\tagain \r\nC: d\r\n\r\n";
        assert_eq!(dec.decode(input).unwrap(), (input.len(), Decoded::Done));
        let (mut spans, mut folds) = (Vec::new(), Vec::new());
        dec.parse_trailers(&mut spans, &mut folds).unwrap();
        assert_eq!(spans.len(), 2);
        assert_eq!(folds.len(), 1);
        assert_eq!(folds[0].header, 0);
        let mut value = Vec::new();
        folds[0].joined_value(dec.trailer_bytes(), &mut value);
        assert_eq!(value, b"b   folded\tagain");

        // Strict llhttp refuses the fold.
        let mut dec = BodyDecoder::chunked(1024, Grammar::default(), CHUNKED_HEAD);
        assert!(dec.decode(b"0\r\nA: b\r\n c\r\n\r\n").is_err());

        // A first trailer line that starts with whitespace continues nothing: refused at its
        // first byte as soon as it arrives (Node 20.20, insecureHTTPParser).
        for input in [&b"0\r\n "[..], b"0\r\n v\r\nT\r\n", b"0\r\n\tv\r\n\r\n"] {
            let mut dec = BodyDecoder::chunked(1024, lenient, CHUNKED_HEAD);
            assert_eq!(
                dec.decode(input),
                Err((ParseError::InvalidHeaderToken, 3)),
                "{input:?}"
            );
        }
    }

    #[test]
    fn chunked_errors() {
        let cases: &[(&[u8], ParseError)] = &[
            (b"zz\r\n", ParseError::InvalidChunkSize),
            (b"\r\n", ParseError::InvalidChunkSize),
            (b"11111111111111111\r\n", ParseError::ChunkSizeOverflow),
            (b"1\r\nab\r\n", ParseError::Strict),
            (b"1\nA\r\n", ParseError::CrExpectedAfterChunkSize),
            (b"0\r\nX: 1\n\r\n", ParseError::CrExpected),
        ];
        for (input, want) in cases {
            let got = run(
                BodyDecoder::chunked(1024, Grammar::default(), CHUNKED_HEAD),
                input,
                input.len(),
            )
            .err();
            assert_eq!(got, Some(*want), "{:?}", String::from_utf8_lossy(input));
        }
        let ext = format!("2;{}=bar\r\nAA\r\n0\r\n\r\n", "A".repeat(20000));
        let got = run(
            BodyDecoder::chunked(1024, Grammar::default(), CHUNKED_HEAD),
            ext.as_bytes(),
            1000,
        )
        .err();
        assert_eq!(got, Some(ParseError::ChunkExtensionsOverflow));
        let trailer = format!("0\r\nX: {}\r\n\r\n", "a".repeat(2000));
        let got = run(
            BodyDecoder::chunked(1024, Grammar::default(), CHUNKED_HEAD),
            trailer.as_bytes(),
            100,
        )
        .err();
        assert_eq!(got, Some(ParseError::HeaderOverflow));
    }

    /// Trailers count against maxHeaderSize as a head does (names and values, on their own),
    /// whatever the bytes are split into.
    #[test]
    fn trailers_count_names_and_values() {
        let dec = || BodyDecoder::chunked(64, Grammar::default(), CHUNKED_HEAD);
        // 5 + 58 = 63 counted, 70 bytes of line: taken.
        let fits = format!("0\r\nT-Pad: {}\r\n\r\n", "p".repeat(58));
        let over = format!("0\r\nT-Pad: {}\r\n\r\n", "p".repeat(59));
        // 30 lines "a:" count 30.
        let short = format!("0\r\n{}\r\n", "a:\r\n".repeat(30));
        for step in [1, 7, 100] {
            assert!(run(dec(), fits.as_bytes(), step).is_ok());
            assert!(run(dec(), short.as_bytes(), step).is_ok());
            assert_eq!(
                run(dec(), over.as_bytes(), step).err(),
                Some(ParseError::HeaderOverflow)
            );
        }
        // Where Node stops, the trailer whole in one packet: after the value's CR.
        let mut d = dec();
        assert_eq!(
            d.decode(over.as_bytes()),
            Err((ParseError::HeaderOverflow, 70))
        );
        // A value ended at a bare LF is counted before llhttp's error about it.
        let bare_lf = format!("0\r\nT-Pad: {}\n\r\n", "p".repeat(59));
        let mut d = dec();
        assert_eq!(
            d.decode(bare_lf.as_bytes()),
            Err((ParseError::HeaderOverflow, 69))
        );
    }

    /// Node 22.23.2+ (CVE-2026-58044) limits trailer lines as it does a head's, on their own:
    /// the line over it stops at its colon, or at the packet's end inside its name (Node 24.21).
    #[test]
    fn trailer_line_limit() {
        let dec =
            || BodyDecoder::chunked(1024, Grammar::default(), CHUNKED_HEAD).max_trailer_lines(2);
        let two = b"0\r\nT1: a\r\nT2: b\r\n\r\n";
        let three = b"0\r\nT1: a\r\nT2: b\r\nT3: c\r\n\r\n";
        for step in [1, 7, 100] {
            assert!(run(dec(), two, step).is_ok());
            assert_eq!(
                run(dec(), three, step).err(),
                Some(ParseError::HeaderOverflow)
            );
            let no_limit = BodyDecoder::chunked(1024, Grammar::default(), CHUNKED_HEAD);
            assert!(run(no_limit, three, step).is_ok());
        }
        assert_eq!(dec().decode(three), Err((ParseError::HeaderOverflow, 20)));
        assert_eq!(
            dec().decode(&three[..19]),
            Err((ParseError::HeaderOverflow, 19))
        );
        // Over it before llhttp's error in the value.
        assert_eq!(
            dec().decode(b"0\r\nT1: a\r\nT2: b\r\nT3: \x01\r\n\r\n"),
            Err((ParseError::HeaderOverflow, 20))
        );
    }

    /// (body bytes, llhttp's reason, offset) as Node 20.20 reports them for a body that
    /// starts the packet.
    #[test]
    fn chunked_errors_stop_where_llhttp_does() {
        let cases: &[(&str, &str, usize)] = &[
            ("zz\r\n", "Invalid character in chunk size", 0),
            ("3 \r\nabc\r\n", "Invalid character in chunk size", 2),
            ("3\nabc\r\n", "Missing expected CR after chunk size", 2),
            ("3\rabc\r\n", "Expected LF after chunk size", 2),
            ("fffffffffffffffff\r\n", "Chunk size overflow", 17),
            ("0000000000000000003\r\nabc\r\n0\r\n\r\n", "", 0),
            ("3\r\nabcX\r\n", "Expected LF after chunk data", 6),
            (
                "3\r\nabc\n0\r\n\r\n",
                "Missing expected CR after chunk data",
                7,
            ),
            ("3; a=b\r\n", "Invalid character in chunk extensions", 3),
            ("3;a b\r\n", "Invalid character in chunk extensions name", 4),
            (
                "3;a=b c\r\n",
                "Invalid character in chunk extensions value",
                6,
            ),
            (
                "3;a=\"b\u{1}\"\r\n",
                "Invalid character in chunk extensions quoted value",
                7,
            ),
            (
                "3;a=\"b\"c\r\n",
                "Invalid character in chunk extensions quote value",
                7,
            ),
            ("3;a\n", "Missing expected CR after chunk extension name", 3),
            (
                "3;a=b\n",
                "Missing expected CR after chunk extension value",
                5,
            ),
            ("3;a=\"b;\\\"c\";d\r\nabc\r\n0\r\n\r\n", "", 0),
        ];
        for &(input, reason, at) in cases {
            let mut dec = BodyDecoder::chunked(1024, Grammar::default(), CHUNKED_HEAD);
            let mut pos = 0;
            let got = loop {
                match dec.decode(&input.as_bytes()[pos..]) {
                    Err((e, off)) => break Some((e.reason(), pos + off)),
                    Ok((_, Decoded::Done)) => break None,
                    Ok((_, Decoded::NeedMore)) => panic!("{input:?}: incomplete"),
                    Ok((n, Decoded::Data { .. })) => pos += n,
                }
            };
            let want = (!reason.is_empty()).then_some((reason, at));
            assert_eq!(got, want, "{input:?}");
        }
    }
}
