//! ferrohttp: node:http's server side with the connection in Rust.
//!
//! `h1` is the protocol core (parse, decode, errors) and `server` the tokio accept loop and
//! per-connection task; neither knows about napi, so `cargo test` exercises them without Node.
//! All napi glue lives in `binding`.

pub mod h1;
pub mod server;

#[cfg(feature = "napi")]
mod binding;
