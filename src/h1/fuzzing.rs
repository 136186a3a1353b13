//! Properties of the protocol core that must hold for any input: what the fuzz targets in
//! `fuzz/` check under libFuzzer, and `cargo test` over generated inputs (`tests` below). Each
//! check panics on a violation; none may panic otherwise.
//!
//! - `check_head`: the httparse fast path and llhttp's grammar give the same answer for every
//!   head (a head the fast path takes differently would be a smuggling vector), every offset is
//!   in the input, and a complete head's prefixes wait for more bytes.
//! - `check_chunked`: a chunked body decodes the same however its bytes are split into reads
//!   (data, end, trailers, error); only where Node's header count stops depends on the reads.
//!
//! Known imprecision, lenient grammar only (insecureHTTPParser), which both checks let pass:
//! the line still open at the end of a read is counted line by line (`counted_so_far`), where
//! llhttp's lenient grammar (a bare CR ending a line, whitespace after it, obs-fold) may have no
//! span open, or a shorter one: a 431 can come at a read's end while Node's count is under.

use super::decode::{BodyDecoder, Decoded};
use super::parse::{parse_request_head, parse_with_llhttp, HeadLimits, RequestHead};
use super::ParseError;

/// Limits from one configuration byte: maxHeaderSize 32..=1040, lenient, llhttp 9.4's tabs,
/// a header-line limit;
/// an odd size without lenient is also relaxed (Node 24 refuses the two together).
fn limits_from(cfg: u8) -> HeadLimits {
    HeadLimits {
        max_head_bytes: 32 + usize::from(cfg & 0x3f) * 16,
        lenient: cfg & 0x40 != 0,
        tab_is_ows: cfg & 0x80 != 0,
        empty_te_refused: cfg & 0x80 != 0,
        relaxed_values: cfg & 0x41 == 0x01,
        // None, or a few header lines (the low bits are the size's too).
        max_headers: usize::from(cfg & 0x03) * 2,
    }
}

/// `data`: a configuration byte, then the head's bytes.
pub fn check_head(data: &[u8]) {
    let Some((&cfg, input)) = data.split_first() else {
        return;
    };
    let limits = limits_from(cfg);
    let mut fast = RequestHead::default();
    let got = parse_request_head(input, &limits, &mut fast);
    let start = input
        .iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count();
    let mut slow = RequestHead::default();
    let want = if start == input.len() {
        Ok(false)
    } else {
        parse_with_llhttp(input, start, &limits, &mut slow)
    };
    assert_eq!(got, want, "fast path and llhttp differ");
    match got {
        Ok(true) => {
            assert_same_head(&fast, &slow);
            assert_in_input(&fast, input.len());
            // Nothing in a head llhttp takes is an error earlier, and Node's count of a prefix
            // is no more than the whole head's: every prefix waits.
            for cut in [start, (start + fast.end) / 2, fast.end - 1] {
                if cut > start && cut < fast.end {
                    let mut h = RequestHead::default();
                    let r = parse_request_head(&input[..cut], &limits, &mut h);
                    if limits.lenient && matches!(r, Err((ParseError::HeaderOverflow, _))) {
                        // The known lenient imprecision (module note).
                        continue;
                    }
                    assert_eq!(r, Ok(false), "prefix of {cut} bytes");
                }
            }
        }
        Ok(false) => {}
        Err((_, at)) => assert!(at <= input.len(), "error offset {at} past the input"),
    }
}

fn assert_same_head(a: &RequestHead, b: &RequestHead) {
    assert_eq!(
        (
            a.start,
            a.end,
            a.method,
            a.url,
            a.version_major,
            a.version_minor
        ),
        (
            b.start,
            b.end,
            b.method,
            b.url,
            b.version_major,
            b.version_minor
        )
    );
    assert_eq!(a.headers, b.headers);
    assert_eq!(a.folds, b.folds);
    assert_eq!(
        (a.body, a.keep_alive, a.flags, a.upgrade),
        (b.body, b.keep_alive, b.flags, b.upgrade)
    );
    assert_eq!(
        (a.has_host, a.has_expect, a.late_error),
        (b.has_host, b.has_expect, b.late_error)
    );
}

fn assert_in_input(h: &RequestHead, len: usize) {
    assert!(h.start <= h.end && h.end <= len);
    let within = |off: u32, n: u32| off as usize + n as usize <= h.end;
    assert!(within(h.url.0, h.url.1));
    for &[name, name_len, value, value_len] in &h.headers {
        assert!(within(name, name_len) && within(value, value_len));
    }
    for fold in &h.folds {
        assert!(fold.header < h.headers.len());
        assert!(fold.pieces.iter().all(|&(off, n)| within(off, n)));
    }
}

/// What decoding a body came to.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    data: Vec<u8>,
    /// Bytes of input the body took, when it ended.
    end: Option<usize>,
    /// The error and its absolute offset (None for where Node's count stopped, which depends
    /// on where reads end).
    error: Option<(ParseError, Option<usize>)>,
    trailers: Vec<u8>,
}

/// Decodes `input` as reads ending at `cuts` (ascending offsets), as the connection does: each
/// read's bytes with what the previous ones left unconsumed.
fn decode_in_reads(mut dec: BodyDecoder, input: &[u8], cuts: &[usize]) -> Outcome {
    let mut out = Outcome {
        data: Vec::new(),
        end: None,
        error: None,
        trailers: Vec::new(),
    };
    let mut pos = 0;
    let ends = cuts
        .iter()
        .copied()
        .filter(|&c| c > 0 && c < input.len())
        .chain([input.len()]);
    for avail in ends {
        loop {
            match dec.decode(&input[pos..avail]) {
                Err((e, at)) => {
                    assert!(pos + at <= avail, "error offset {at} past the read");
                    let at = (e != ParseError::HeaderOverflow).then_some(pos + at);
                    out.error = Some((e, at));
                    return out;
                }
                Ok((n, what)) => {
                    assert!(pos + n <= avail, "consumed past the read");
                    match what {
                        Decoded::Data { start, end } => {
                            assert!(start <= end && end <= n);
                            out.data.extend_from_slice(&input[pos + start..pos + end]);
                            pos += n;
                        }
                        Decoded::NeedMore => {
                            pos += n;
                            break;
                        }
                        Decoded::Done => {
                            out.end = Some(pos + n);
                            out.trailers = dec.trailer_bytes().to_vec();
                            return out;
                        }
                    }
                }
            }
            if pos == avail {
                break;
            }
        }
    }
    out
}

/// `data`: a configuration byte, a count `k` and `k` cut points (one byte each, offsets into
/// the body), then the body's bytes.
pub fn check_chunked(data: &[u8]) {
    let [cfg, k, rest @ ..] = data else {
        return;
    };
    let k = usize::from(*k % 8).min(rest.len());
    let (cut_bytes, body) = rest.split_at(k);
    let limits = limits_from(*cfg);
    let grammar = limits.grammar();
    let flags = super::llhttp::F_TRANSFER_ENCODING | super::llhttp::F_CHUNKED;
    let dec = || {
        BodyDecoder::chunked(limits.max_head_bytes, grammar, flags)
            .max_trailer_lines(limits.names_left())
    };
    let whole = decode_in_reads(dec(), body, &[]);
    let mut cuts: Vec<usize> = cut_bytes.iter().map(|&c| usize::from(c)).collect();
    cuts.sort_unstable();
    let lenient = grammar.lenient;
    assert_alike(&whole, &decode_in_reads(dec(), body, &cuts), &cuts, lenient);
    // Byte by byte, the most reads there can be.
    let all: Vec<usize> = (1..body.len()).collect();
    assert_alike(&whole, &decode_in_reads(dec(), body, &all), &all, lenient);
}

/// `split` is what `whole` came to, read in pieces: the same, except that Node counts a span
/// still open at the end of each read, so a count can stop a split read before an error it
/// would have reached.
fn assert_alike(whole: &Outcome, split: &Outcome, cuts: &[usize], lenient: bool) {
    let split_overflow = matches!(split.error, Some((ParseError::HeaderOverflow, _)));
    // Lenient: the known imprecision (module note).
    if split_overflow && (whole.error.is_some() || lenient) {
        assert_eq!(whole.data, split.data, "cut at {cuts:?}");
        return;
    }
    assert_eq!(whole, split, "cut at {cuts:?}");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Heads and bodies to mutate, each after its configuration bytes.
    const HEADS: &[&[u8]] = &[
        b"GET /a?b=1#c HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Upgrade\r\nUpgrade: ws\r\n\r\n",
        b"POST /p HTTP/1.0\r\nContent-Length: 2\r\nConnection: close\r\nX-A:  v \r\n\r\n",
        b"PUT * HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        b"GET http://u@h:8/x?y HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nExpect: 100-continue\r\n\r\n",
        b"CONNECT h:443 HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n",
        b"\r\nGET / HTTP/1.1\nHost: x\n\tX: y\n\n",
    ];
    const BODIES: &[&[u8]] = &[
        b"3;a=\"b\"\r\nabc\r\n0\r\nT: v\r\n\r\n",
        b"5\r\nhello\r\n1;ext\r\n \r\n0\r\nConnection: close\r\nX-T: 1\r\n\r\nNEXT",
        b"A\r\n0123456789\r\n0\n\n",
    ];
    const BYTES: &[u8] = b" \t\r\n:,;/?#@*\"\x00\x01\x7f\x80\xffaAzZ09-_.HTPchunkedclose";

    /// A small LCG, so the cases are the same on every run.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 33) as usize
        }
    }

    fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
        let mut s = seed.to_vec();
        for _ in 0..1 + rng.next() % 4 {
            let at = rng.next() % (s.len() + 1);
            let b = BYTES[rng.next() % BYTES.len()];
            match rng.next() % 4 {
                0 if at < s.len() => s[at] = b,
                1 => s.insert(at, b),
                2 if at < s.len() => {
                    s.remove(at);
                }
                // A run of padding, to cross the header limits.
                _ => {
                    let n = rng.next() % 600;
                    s.splice(at..at, std::iter::repeat_n(b'p', n));
                }
            }
        }
        s
    }

    #[test]
    fn heads_fast_path_and_llhttp_agree() {
        let mut rng = Rng(1);
        for i in 0..20_000 {
            let mut data = vec![rng.next() as u8];
            data.extend(mutate(&mut rng, HEADS[i % HEADS.len()]));
            check_head(&data);
        }
    }

    #[test]
    fn chunked_bodies_decode_alike_however_split() {
        let mut rng = Rng(2);
        for i in 0..5_000 {
            let body = mutate(&mut rng, BODIES[i % BODIES.len()]);
            let mut data = vec![rng.next() as u8, 7];
            data.extend((0..7).map(|_| (rng.next() % (body.len() + 1)) as u8));
            data.extend(body);
            check_chunked(&data);
        }
    }
}
