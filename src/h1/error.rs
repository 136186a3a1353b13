//! Parse errors, named by the `HPE_*` codes llhttp gives Node, so `clientError` listeners see the
//! same `err.code` and the server sends the same canned reply.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    HeaderOverflow,
    InvalidMethod,
    InvalidConstant,
    InvalidVersion,
    InvalidHeaderToken,
    /// A bare LF where a header line should start.
    InvalidHeaderFieldChar,
    /// A control character (or other non-token byte) in a header value.
    InvalidHeaderValueChar,
    /// obs-fold: a header line starting with whitespace.
    UnexpectedWhitespace,
    /// A byte that cannot appear in the request target.
    InvalidUrlChar,
    /// A bare LF where the request line's CRLF belongs.
    CrlfAfterVersion,
    /// A coding after `chunked` in Transfer-Encoding (rejected before the head is dispatched).
    InvalidTransferEncodingValue,
    CrExpected,
    LfExpected,
    InvalidContentLength,
    UnexpectedContentLength,
    InvalidTransferEncoding,
    /// A Content-Length after a Transfer-Encoding (llhttp names the later header).
    ContentLengthWithTransferEncoding,
    /// A Transfer-Encoding after a Content-Length.
    TransferEncodingWithContentLength,
    InvalidChunkSize,
    ChunkExtensionsOverflow,
    Strict,
    InvalidEofState,
    // llhttp's request-line, URL and header errors (see `llhttp.rs`).
    ExpectedSpaceAfterMethod,
    InvalidMethodForHttp,
    InvalidMethodForRtsp,
    ExpectedSourceForIce,
    InvalidMajorVersion,
    ExpectedDot,
    InvalidMinorVersion,
    StrictCrlfAfterVersion,
    ExpectedH2Preface,
    PausedH2Upgrade,
    UnexpectedSpace,
    UrlInvalidChars,
    UrlStartChar,
    UrlSchemaChar,
    UrlServerChar,
    UrlDoubleAt,
    UrlQueryChar,
    UrlFragmentChar,
    UrlExpectedCrlf,
    StrictLfAfterCr,
    StrictLfAfterHeaders,
    EmptyContentLength,
    ContentLengthOverflow,
    // llhttp's chunked-body errors.
    ChunkSizeOverflow,
    CrExpectedAfterChunkSize,
    StrictLfAfterChunkSize,
    CrExpectedAfterChunkData,
    ExtensionChar,
    ExtensionNameChar,
    ExtensionValueChar,
    ExtensionQuotedChar,
    ExtensionQuotedPair,
    ExtensionAfterQuote,
    CrExpectedAfterExtName,
    CrExpectedAfterExtValue,
    /// Bytes after a request that does not keep the connection alive.
    ClosedConnection,
}

impl ParseError {
    /// The `HPE_*` code Node puts on `err.code`.
    pub fn code(self) -> &'static str {
        match self {
            Self::HeaderOverflow => "HPE_HEADER_OVERFLOW",
            Self::InvalidMethod => "HPE_INVALID_METHOD",
            Self::InvalidConstant => "HPE_INVALID_CONSTANT",
            Self::InvalidVersion => "HPE_INVALID_VERSION",
            Self::InvalidHeaderToken
            | Self::InvalidHeaderFieldChar
            | Self::InvalidHeaderValueChar
            | Self::UnexpectedWhitespace => "HPE_INVALID_HEADER_TOKEN",
            Self::InvalidUrlChar => "HPE_INVALID_URL",
            Self::CrlfAfterVersion => "HPE_INVALID_VERSION",
            Self::InvalidTransferEncodingValue => "HPE_INVALID_TRANSFER_ENCODING",
            Self::CrExpected => "HPE_CR_EXPECTED",
            Self::LfExpected => "HPE_LF_EXPECTED",
            Self::InvalidContentLength => "HPE_INVALID_CONTENT_LENGTH",
            Self::UnexpectedContentLength => "HPE_UNEXPECTED_CONTENT_LENGTH",
            Self::InvalidTransferEncoding => "HPE_INVALID_TRANSFER_ENCODING",
            Self::ContentLengthWithTransferEncoding => "HPE_INVALID_CONTENT_LENGTH",
            Self::TransferEncodingWithContentLength => "HPE_INVALID_TRANSFER_ENCODING",
            Self::InvalidChunkSize => "HPE_INVALID_CHUNK_SIZE",
            Self::ChunkExtensionsOverflow => "HPE_CHUNK_EXTENSIONS_OVERFLOW",
            Self::Strict => "HPE_STRICT",
            Self::InvalidEofState => "HPE_INVALID_EOF_STATE",
            Self::ExpectedSpaceAfterMethod => "HPE_INVALID_METHOD",
            Self::InvalidMethodForHttp => "HPE_INVALID_CONSTANT",
            Self::InvalidMethodForRtsp => "HPE_INVALID_CONSTANT",
            Self::ExpectedSourceForIce => "HPE_INVALID_CONSTANT",
            Self::InvalidMajorVersion => "HPE_INVALID_VERSION",
            Self::ExpectedDot => "HPE_INVALID_VERSION",
            Self::InvalidMinorVersion => "HPE_INVALID_VERSION",
            Self::StrictCrlfAfterVersion => "HPE_STRICT",
            Self::ExpectedH2Preface => "HPE_INVALID_VERSION",
            Self::PausedH2Upgrade => "HPE_PAUSED_H2_UPGRADE",
            Self::UnexpectedSpace => "HPE_UNEXPECTED_SPACE",
            Self::UrlInvalidChars => "HPE_INVALID_URL",
            Self::UrlStartChar => "HPE_INVALID_URL",
            Self::UrlSchemaChar => "HPE_INVALID_URL",
            Self::UrlServerChar => "HPE_INVALID_URL",
            Self::UrlDoubleAt => "HPE_INVALID_URL",
            Self::UrlQueryChar => "HPE_INVALID_URL",
            Self::UrlFragmentChar => "HPE_INVALID_URL",
            Self::UrlExpectedCrlf => "HPE_INVALID_URL",
            Self::StrictLfAfterCr => "HPE_STRICT",
            Self::StrictLfAfterHeaders => "HPE_STRICT",
            Self::EmptyContentLength => "HPE_INVALID_CONTENT_LENGTH",
            Self::ContentLengthOverflow => "HPE_INVALID_CONTENT_LENGTH",
            Self::ChunkSizeOverflow => "HPE_INVALID_CHUNK_SIZE",
            Self::CrExpectedAfterChunkSize => "HPE_CR_EXPECTED",
            Self::StrictLfAfterChunkSize => "HPE_STRICT",
            Self::CrExpectedAfterChunkData => "HPE_CR_EXPECTED",
            Self::ExtensionChar => "HPE_STRICT",
            Self::ExtensionNameChar => "HPE_STRICT",
            Self::ExtensionValueChar => "HPE_STRICT",
            Self::ExtensionQuotedChar => "HPE_STRICT",
            Self::ExtensionQuotedPair => "HPE_STRICT",
            Self::ExtensionAfterQuote => "HPE_STRICT",
            Self::CrExpectedAfterExtName => "HPE_CR_EXPECTED",
            Self::CrExpectedAfterExtValue => "HPE_CR_EXPECTED",
            Self::ClosedConnection => "HPE_CLOSED_CONNECTION",
        }
    }

    /// llhttp's reason text, which Node uses as `err.reason`.
    pub fn reason(self) -> &'static str {
        match self {
            Self::HeaderOverflow => "Header overflow",
            Self::InvalidMethod => "Invalid method encountered",
            Self::InvalidConstant => "Expected HTTP/, RTSP/ or ICE/",
            Self::InvalidVersion => "Invalid HTTP version",
            Self::InvalidHeaderToken => "Invalid header token",
            Self::InvalidHeaderFieldChar => "Invalid header field char",
            Self::InvalidHeaderValueChar => "Invalid header value char",
            Self::UnexpectedWhitespace => "Unexpected whitespace after header value",
            Self::InvalidUrlChar => "Invalid char in url path",
            Self::CrlfAfterVersion => "Expected CRLF after version",
            Self::InvalidTransferEncodingValue => "Invalid `Transfer-Encoding` header value",
            Self::CrExpected => "Missing expected CR after header value",
            Self::LfExpected => "Missing expected LF after header value",
            Self::InvalidContentLength => "Invalid character in Content-Length",
            Self::UnexpectedContentLength => "Duplicate Content-Length",
            Self::InvalidTransferEncoding => "Request has invalid `Transfer-Encoding`",
            Self::ContentLengthWithTransferEncoding => {
                "Content-Length can't be present with Transfer-Encoding"
            }
            Self::TransferEncodingWithContentLength => {
                "Transfer-Encoding can't be present with Content-Length"
            }
            Self::InvalidChunkSize => "Invalid character in chunk size",
            Self::ChunkExtensionsOverflow => "Chunk extensions overflow",
            Self::Strict => "Expected LF after chunk data",
            Self::InvalidEofState => "Invalid EOF state",
            Self::ExpectedSpaceAfterMethod => "Expected space after method",
            Self::InvalidMethodForHttp => "Invalid method for HTTP/x.x request",
            Self::InvalidMethodForRtsp => "Invalid method for RTSP/x.x request",
            Self::ExpectedSourceForIce => "Expected SOURCE method for ICE/x.x request",
            Self::InvalidMajorVersion => "Invalid major version",
            Self::ExpectedDot => "Expected dot",
            Self::InvalidMinorVersion => "Invalid minor version",
            Self::StrictCrlfAfterVersion => "Expected CRLF after version",
            Self::ExpectedH2Preface => "Expected HTTP/2 Connection Preface",
            Self::PausedH2Upgrade => "Pause on PRI/Upgrade",
            Self::UnexpectedSpace => "Unexpected space after start line",
            Self::UrlInvalidChars => "Invalid characters in url",
            Self::UrlStartChar => "Unexpected start char in url",
            Self::UrlSchemaChar => "Unexpected char in url schema",
            Self::UrlServerChar => "Unexpected char in url server",
            Self::UrlDoubleAt => "Double @ in url",
            Self::UrlQueryChar => "Invalid char in url query",
            Self::UrlFragmentChar => "Invalid char in url fragment start",
            Self::UrlExpectedCrlf => "Expected CRLF",
            Self::StrictLfAfterCr => "Expected LF after CR",
            Self::StrictLfAfterHeaders => "Expected LF after headers",
            Self::EmptyContentLength => "Empty Content-Length",
            Self::ContentLengthOverflow => "Content-Length overflow",
            Self::ChunkSizeOverflow => "Chunk size overflow",
            Self::CrExpectedAfterChunkSize => "Missing expected CR after chunk size",
            Self::StrictLfAfterChunkSize => "Expected LF after chunk size",
            Self::CrExpectedAfterChunkData => "Missing expected CR after chunk data",
            Self::ExtensionChar => "Invalid character in chunk extensions",
            Self::ExtensionNameChar => "Invalid character in chunk extensions name",
            Self::ExtensionValueChar => "Invalid character in chunk extensions value",
            Self::ExtensionQuotedChar => "Invalid character in chunk extensions quoted value",
            Self::ExtensionQuotedPair => "Invalid quoted-pair in chunk extensions quoted value",
            Self::ExtensionAfterQuote => "Invalid character in chunk extensions quote value",
            Self::CrExpectedAfterExtName => "Missing expected CR after chunk extension name",
            Self::CrExpectedAfterExtValue => "Missing expected CR after chunk extension value",
            Self::ClosedConnection => "Data after `Connection: close`",
        }
    }

    /// A stable small number for crossing the boundary; JS maps it back with `from_index`.
    pub fn index(self) -> u32 {
        ALL.iter().position(|e| *e == self).unwrap_or(0) as u32
    }

    pub fn from_index(i: u32) -> Option<Self> {
        ALL.get(i as usize).copied()
    }
}

pub const ALL: [ParseError; 58] = [
    ParseError::HeaderOverflow,
    ParseError::InvalidMethod,
    ParseError::InvalidConstant,
    ParseError::InvalidVersion,
    ParseError::InvalidHeaderToken,
    ParseError::CrExpected,
    ParseError::LfExpected,
    ParseError::InvalidContentLength,
    ParseError::UnexpectedContentLength,
    ParseError::InvalidTransferEncoding,
    ParseError::ContentLengthWithTransferEncoding,
    ParseError::TransferEncodingWithContentLength,
    ParseError::InvalidChunkSize,
    ParseError::ChunkExtensionsOverflow,
    ParseError::Strict,
    ParseError::InvalidEofState,
    ParseError::InvalidHeaderValueChar,
    ParseError::UnexpectedWhitespace,
    ParseError::InvalidUrlChar,
    ParseError::CrlfAfterVersion,
    ParseError::InvalidTransferEncodingValue,
    ParseError::InvalidHeaderFieldChar,
    ParseError::ExpectedSpaceAfterMethod,
    ParseError::InvalidMethodForHttp,
    ParseError::InvalidMethodForRtsp,
    ParseError::ExpectedSourceForIce,
    ParseError::InvalidMajorVersion,
    ParseError::ExpectedDot,
    ParseError::InvalidMinorVersion,
    ParseError::StrictCrlfAfterVersion,
    ParseError::ExpectedH2Preface,
    ParseError::PausedH2Upgrade,
    ParseError::UnexpectedSpace,
    ParseError::UrlInvalidChars,
    ParseError::UrlStartChar,
    ParseError::UrlSchemaChar,
    ParseError::UrlServerChar,
    ParseError::UrlDoubleAt,
    ParseError::UrlQueryChar,
    ParseError::UrlFragmentChar,
    ParseError::UrlExpectedCrlf,
    ParseError::StrictLfAfterCr,
    ParseError::StrictLfAfterHeaders,
    ParseError::EmptyContentLength,
    ParseError::ContentLengthOverflow,
    ParseError::ChunkSizeOverflow,
    ParseError::CrExpectedAfterChunkSize,
    ParseError::StrictLfAfterChunkSize,
    ParseError::CrExpectedAfterChunkData,
    ParseError::ExtensionChar,
    ParseError::ExtensionNameChar,
    ParseError::ExtensionValueChar,
    ParseError::ExtensionQuotedChar,
    ParseError::ExtensionQuotedPair,
    ParseError::ExtensionAfterQuote,
    ParseError::CrExpectedAfterExtName,
    ParseError::CrExpectedAfterExtValue,
    ParseError::ClosedConnection,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_round_trips() {
        for e in ALL {
            assert_eq!(ParseError::from_index(e.index()), Some(e));
            assert!(e.code().starts_with("HPE_"));
        }
    }
}
