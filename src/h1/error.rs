//! Parse errors, named by the `HPE_*` codes llhttp gives Node, so `clientError` listeners see the
//! same `err.code` and the server sends the same canned reply.

/// Declares `ParseError` from one table: each variant with llhttp's code and reason.
macro_rules! parse_errors {
    ($($(#[$doc:meta])* $variant:ident => $code:literal, $reason:literal;)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ParseError {
            $($(#[$doc])* $variant,)*
        }

        /// Every error, in declaration order (`ParseError::index`).
        pub const ALL: &[ParseError] = &[$(ParseError::$variant,)*];

        impl ParseError {
            /// The `HPE_*` code Node puts on `err.code`.
            pub fn code(self) -> &'static str {
                match self {
                    $(Self::$variant => $code,)*
                }
            }

            /// llhttp's reason text, which Node uses as `err.reason`.
            pub fn reason(self) -> &'static str {
                match self {
                    $(Self::$variant => $reason,)*
                }
            }
        }
    };
}

parse_errors! {
    HeaderOverflow => "HPE_HEADER_OVERFLOW", "Header overflow";
    InvalidMethod => "HPE_INVALID_METHOD", "Invalid method encountered";
    InvalidConstant => "HPE_INVALID_CONSTANT", "Expected HTTP/, RTSP/ or ICE/";
    InvalidVersion => "HPE_INVALID_VERSION", "Invalid HTTP version";
    InvalidHeaderToken => "HPE_INVALID_HEADER_TOKEN", "Invalid header token";
    /// A bare LF where a header line should start.
    InvalidHeaderFieldChar => "HPE_INVALID_HEADER_TOKEN", "Invalid header field char";
    /// A control character (or other non-token byte) in a header value.
    InvalidHeaderValueChar => "HPE_INVALID_HEADER_TOKEN", "Invalid header value char";
    /// obs-fold: a header line starting with whitespace.
    UnexpectedWhitespace => "HPE_INVALID_HEADER_TOKEN", "Unexpected whitespace after header value";
    /// A byte that cannot appear in the request target.
    InvalidUrlChar => "HPE_INVALID_URL", "Invalid char in url path";
    /// A bare LF where the request line's CRLF belongs.
    CrlfAfterVersion => "HPE_INVALID_VERSION", "Expected CRLF after version";
    /// A coding after `chunked` in Transfer-Encoding (rejected before the head is dispatched).
    InvalidTransferEncodingValue => "HPE_INVALID_TRANSFER_ENCODING", "Invalid `Transfer-Encoding` header value";
    CrExpected => "HPE_CR_EXPECTED", "Missing expected CR after header value";
    LfExpected => "HPE_LF_EXPECTED", "Missing expected LF after header value";
    InvalidContentLength => "HPE_INVALID_CONTENT_LENGTH", "Invalid character in Content-Length";
    UnexpectedContentLength => "HPE_UNEXPECTED_CONTENT_LENGTH", "Duplicate Content-Length";
    InvalidTransferEncoding => "HPE_INVALID_TRANSFER_ENCODING", "Request has invalid `Transfer-Encoding`";
    /// A Content-Length after a Transfer-Encoding (llhttp names the later header).
    ContentLengthWithTransferEncoding => "HPE_INVALID_CONTENT_LENGTH", "Content-Length can't be present with Transfer-Encoding";
    /// A Transfer-Encoding after a Content-Length.
    TransferEncodingWithContentLength => "HPE_INVALID_TRANSFER_ENCODING", "Transfer-Encoding can't be present with Content-Length";
    InvalidChunkSize => "HPE_INVALID_CHUNK_SIZE", "Invalid character in chunk size";
    ChunkExtensionsOverflow => "HPE_CHUNK_EXTENSIONS_OVERFLOW", "Chunk extensions overflow";
    Strict => "HPE_STRICT", "Expected LF after chunk data";
    InvalidEofState => "HPE_INVALID_EOF_STATE", "Invalid EOF state";
    // llhttp's request-line, URL and header errors (see `llhttp.rs`).
    ExpectedSpaceAfterMethod => "HPE_INVALID_METHOD", "Expected space after method";
    InvalidMethodForHttp => "HPE_INVALID_CONSTANT", "Invalid method for HTTP/x.x request";
    InvalidMethodForRtsp => "HPE_INVALID_CONSTANT", "Invalid method for RTSP/x.x request";
    ExpectedSourceForIce => "HPE_INVALID_CONSTANT", "Expected SOURCE method for ICE/x.x request";
    InvalidMajorVersion => "HPE_INVALID_VERSION", "Invalid major version";
    ExpectedDot => "HPE_INVALID_VERSION", "Expected dot";
    InvalidMinorVersion => "HPE_INVALID_VERSION", "Invalid minor version";
    StrictCrlfAfterVersion => "HPE_STRICT", "Expected CRLF after version";
    ExpectedH2Preface => "HPE_INVALID_VERSION", "Expected HTTP/2 Connection Preface";
    PausedH2Upgrade => "HPE_PAUSED_H2_UPGRADE", "Pause on PRI/Upgrade";
    UnexpectedSpace => "HPE_UNEXPECTED_SPACE", "Unexpected space after start line";
    UrlInvalidChars => "HPE_INVALID_URL", "Invalid characters in url";
    UrlStartChar => "HPE_INVALID_URL", "Unexpected start char in url";
    UrlSchemaChar => "HPE_INVALID_URL", "Unexpected char in url schema";
    UrlServerChar => "HPE_INVALID_URL", "Unexpected char in url server";
    UrlDoubleAt => "HPE_INVALID_URL", "Double @ in url";
    UrlQueryChar => "HPE_INVALID_URL", "Invalid char in url query";
    UrlFragmentChar => "HPE_INVALID_URL", "Invalid char in url fragment start";
    UrlExpectedCrlf => "HPE_INVALID_URL", "Expected CRLF";
    StrictLfAfterCr => "HPE_STRICT", "Expected LF after CR";
    StrictLfAfterHeaders => "HPE_STRICT", "Expected LF after headers";
    EmptyContentLength => "HPE_INVALID_CONTENT_LENGTH", "Empty Content-Length";
    EmptyTransferEncoding => "HPE_INVALID_TRANSFER_ENCODING", "Empty Transfer-Encoding";
    ContentLengthOverflow => "HPE_INVALID_CONTENT_LENGTH", "Content-Length overflow";
    // llhttp's chunked-body errors.
    ChunkSizeOverflow => "HPE_INVALID_CHUNK_SIZE", "Chunk size overflow";
    CrExpectedAfterChunkSize => "HPE_CR_EXPECTED", "Missing expected CR after chunk size";
    StrictLfAfterChunkSize => "HPE_STRICT", "Expected LF after chunk size";
    CrExpectedAfterChunkData => "HPE_CR_EXPECTED", "Missing expected CR after chunk data";
    ExtensionChar => "HPE_STRICT", "Invalid character in chunk extensions";
    ExtensionNameChar => "HPE_STRICT", "Invalid character in chunk extensions name";
    ExtensionValueChar => "HPE_STRICT", "Invalid character in chunk extensions value";
    ExtensionQuotedChar => "HPE_STRICT", "Invalid character in chunk extensions quoted value";
    ExtensionQuotedPair => "HPE_STRICT", "Invalid quoted-pair in chunk extensions quoted value";
    ExtensionAfterQuote => "HPE_STRICT", "Invalid character in chunk extensions quote value";
    CrExpectedAfterExtName => "HPE_CR_EXPECTED", "Missing expected CR after chunk extension name";
    CrExpectedAfterExtValue => "HPE_CR_EXPECTED", "Missing expected CR after chunk extension value";
    /// Bytes after a request that does not keep the connection alive.
    ClosedConnection => "HPE_CLOSED_CONNECTION", "Data after `Connection: close`";
}

impl ParseError {
    /// A stable small number for crossing the boundary; JS maps it back with `from_index`.
    pub fn index(self) -> u32 {
        self as u32
    }

    pub fn from_index(i: u32) -> Option<Self> {
        ALL.get(i as usize).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_round_trips() {
        for (i, &e) in ALL.iter().enumerate() {
            assert_eq!(e.index() as usize, i);
            assert_eq!(ParseError::from_index(e.index()), Some(e));
            assert!(e.code().starts_with("HPE_"));
        }
    }
}
