//! Request body decoding: Content-Length and chunked, as a byte-level state machine (the shape of
//! hyper's `ChunkedState`) with llhttp's strictness and Node's limits on extensions and trailers.

use super::ParseError;

/// Node caps chunk extensions at 16 KiB per chunk (HPE_CHUNK_EXTENSIONS_OVERFLOW → 413).
pub const MAX_CHUNK_EXTENSIONS: usize = 16 * 1024;

#[derive(Debug)]
pub struct BodyDecoder {
    kind: Kind,
    trailers: Vec<u8>,
    max_trailer_bytes: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Length(u64),
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
    Extension {
        size: u64,
        bytes: usize,
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
        }
    }

    pub fn chunked(max_trailer_bytes: usize) -> Self {
        Self {
            kind: Kind::Chunked(Chunked::Size { size: 0, digits: 0 }),
            trailers: Vec::new(),
            max_trailer_bytes,
        }
    }

    pub fn is_done(&self) -> bool {
        self.kind == Kind::Done
    }

    /// Raw trailer lines (each ending in CRLF), empty when there were none.
    pub fn trailer_bytes(&self) -> &[u8] {
        &self.trailers
    }

    /// Decodes from `buf`; returns how many bytes were consumed and what they were. Data is
    /// returned as soon as it is seen, so call again with the rest until `NeedMore` or `Done`.
    pub fn decode(&mut self, buf: &[u8]) -> Result<(usize, Decoded), ParseError> {
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
            Kind::Chunked(_) => self.decode_chunked(buf),
        }
    }

    fn decode_chunked(&mut self, buf: &[u8]) -> Result<(usize, Decoded), ParseError> {
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
            let b = buf[i];
            i += 1;
            let next = match state {
                Chunked::Size { size, digits } => match b {
                    b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' => {
                        // 16 hex digits fill a u64; more is an overflow.
                        if digits >= 16 {
                            return Err(ParseError::InvalidChunkSize);
                        }
                        let v = (b as char).to_digit(16).unwrap_or(0) as u64;
                        Chunked::Size {
                            size: (size << 4) | v,
                            digits: digits + 1,
                        }
                    }
                    b';' if digits > 0 => Chunked::Extension { size, bytes: 0 },
                    b'\r' if digits > 0 => Chunked::SizeLf { size },
                    _ => return Err(ParseError::InvalidChunkSize),
                },
                Chunked::Extension { size, bytes } => match b {
                    b'\r' => Chunked::SizeLf { size },
                    b'\n' => return Err(ParseError::Strict),
                    _ => {
                        if bytes + 1 > MAX_CHUNK_EXTENSIONS {
                            return Err(ParseError::ChunkExtensionsOverflow);
                        }
                        Chunked::Extension {
                            size,
                            bytes: bytes + 1,
                        }
                    }
                },
                Chunked::SizeLf { size } => match b {
                    b'\n' if size == 0 => Chunked::TrailerLineStart,
                    b'\n' => Chunked::Data { remaining: size },
                    _ => return Err(ParseError::Strict),
                },
                Chunked::Data { .. } => unreachable!("handled above"),
                Chunked::DataCr => match b {
                    b'\r' => Chunked::DataLf,
                    _ => return Err(ParseError::Strict),
                },
                Chunked::DataLf => match b {
                    b'\n' => Chunked::Size { size: 0, digits: 0 },
                    _ => return Err(ParseError::Strict),
                },
                Chunked::TrailerLineStart => match b {
                    b'\r' => Chunked::EndLf,
                    _ => {
                        self.push_trailer(b)?;
                        Chunked::TrailerLine
                    }
                },
                Chunked::TrailerLine => {
                    self.push_trailer(b)?;
                    if b == b'\n' {
                        if self.trailers.len() < 2
                            || self.trailers[self.trailers.len() - 2] != b'\r'
                        {
                            return Err(ParseError::CrExpected);
                        }
                        Chunked::TrailerLineStart
                    } else {
                        Chunked::TrailerLine
                    }
                }
                Chunked::EndLf => match b {
                    b'\n' => {
                        self.kind = Kind::Done;
                        return Ok((i, Decoded::Done));
                    }
                    _ => return Err(ParseError::Strict),
                },
            };
            self.kind = Kind::Chunked(next);
        }
        Ok((i, Decoded::NeedMore))
    }

    fn push_trailer(&mut self, b: u8) -> Result<(), ParseError> {
        if self.trailers.len() >= self.max_trailer_bytes {
            return Err(ParseError::HeaderOverflow);
        }
        self.trailers.push(b);
        Ok(())
    }

    /// Trailers as `[name_off, name_len, value_off, value_len]` into `trailer_bytes()`.
    pub fn parse_trailers(&self, out: &mut Vec<[u32; 4]>) -> Result<(), ParseError> {
        out.clear();
        if self.trailers.is_empty() {
            return Ok(());
        }
        let mut block = self.trailers.clone();
        block.extend_from_slice(b"\r\n");
        let mut slots = vec![httparse::EMPTY_HEADER; block.len() / 4 + 1];
        match httparse::parse_headers(&block, &mut slots) {
            Ok(httparse::Status::Complete((_, headers))) => {
                let base = block.as_ptr() as usize;
                for h in headers {
                    out.push([
                        (h.name.as_ptr() as usize - base) as u32,
                        h.name.len() as u32,
                        (h.value.as_ptr() as usize - base) as u32,
                        h.value.len() as u32,
                    ]);
                }
                Ok(())
            }
            _ => Err(ParseError::InvalidHeaderToken),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            let (n, what) = dec.decode(&input[pos..avail])?;
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
            let (body, used) = run(BodyDecoder::chunked(1024), wire, step).unwrap();
            assert_eq!(body, b"hello 0123456789", "step {step}");
            assert_eq!(&wire[used..], b"NEXT");
        }
    }

    #[test]
    fn trailers_are_parsed() {
        let mut dec = BodyDecoder::chunked(1024);
        let wire = b"0\r\nX-A: 1\r\nx-b: two\r\n\r\n";
        let (n, d) = dec.decode(wire).unwrap();
        assert_eq!((n, d), (wire.len(), Decoded::Done));
        let mut t = Vec::new();
        dec.parse_trailers(&mut t).unwrap();
        let raw = dec.trailer_bytes();
        let s = |o: u32, l: u32| &raw[o as usize..(o + l) as usize];
        assert_eq!(t.len(), 2);
        assert_eq!(s(t[1][0], t[1][1]), b"x-b");
        assert_eq!(s(t[1][2], t[1][3]), b"two");
    }

    #[test]
    fn chunked_errors() {
        let cases: &[(&[u8], ParseError)] = &[
            (b"zz\r\n", ParseError::InvalidChunkSize),
            (b"\r\n", ParseError::InvalidChunkSize),
            (b"11111111111111111\r\n", ParseError::InvalidChunkSize),
            (b"1\r\nab\r\n", ParseError::Strict),
            (b"1\nA\r\n", ParseError::InvalidChunkSize),
            (b"0\r\nX: 1\n\r\n", ParseError::CrExpected),
        ];
        for (input, want) in cases {
            let got = run(BodyDecoder::chunked(1024), input, input.len()).err();
            assert_eq!(got, Some(*want), "{:?}", String::from_utf8_lossy(input));
        }
        let ext = format!("2;{}=bar\r\nAA\r\n0\r\n\r\n", "A".repeat(20000));
        let got = run(BodyDecoder::chunked(1024), ext.as_bytes(), 1000).err();
        assert_eq!(got, Some(ParseError::ChunkExtensionsOverflow));
        let trailer = format!("0\r\nX: {}\r\n\r\n", "a".repeat(2000));
        let got = run(BodyDecoder::chunked(1024), trailer.as_bytes(), 100).err();
        assert_eq!(got, Some(ParseError::HeaderOverflow));
    }
}
