//! The boundary's ceiling without JS: a plain thread stands in for the JS thread, taking each
//! batch and answering every request with a fixed hello response through `submit`, exactly as
//! the binding does. `cargo run --release --example ceiling --no-default-features` and load it
//! with wrk (port 18091): the gap to ferrohttp under the same load is what JS costs.

use std::sync::{mpsc, Arc};

use ferrohttp::server::queue::*;
use ferrohttp::server::{Server, ServerConfig, OP_RESPONSE_DONE, OP_WRITE};

const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nHello World";

fn main() {
    let (tx, rx) = mpsc::sync_channel::<()>(1);
    let server = Arc::new(Server::new(
        ServerConfig::default(),
        Box::new(move || {
            let _ = tx.try_send(());
        }),
    ));
    let port = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(18091);
    server
        .listen("127.0.0.1", port, 511, false, false)
        .expect("listen");
    eprintln!("ceiling listening on 127.0.0.1:{port}");
    let mut ops = Vec::new();
    while rx.recv().is_ok() {
        let batch = server.take_events();
        ops.clear();
        let m = &batch.meta;
        let mut i = 0;
        while i < m.len() {
            let (kind, id) = (m[i], m[i + 1]);
            if kind == EV_HEAD {
                ops.extend_from_slice(&[OP_WRITE, id, 0, RESPONSE.len() as u32]);
                ops.extend_from_slice(&[OP_RESPONSE_DONE, id, 6000, 0]);
            }
            i += event_len(m, i).max(2);
        }
        server.submit(&ops, RESPONSE, &[]);
    }
}
