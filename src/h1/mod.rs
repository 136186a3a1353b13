//! The HTTP/1 protocol core: request heads, body decoding and the errors llhttp would raise.

pub mod decode;
pub mod error;
/// Properties the fuzz targets (`fuzz/`) and `cargo test` check.
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod llhttp;
pub mod parse;

pub use decode::{BodyDecoder, Decoded};
pub use error::ParseError;
pub use parse::{parse_request_head, BodyKind, Fold, HeadLimits, RequestHead};
