//! Hostile clients against the whole connection machinery (accept, `Conn`'s reading states,
//! pipelining bound, upgrades, errors, resets), without Node: mutated request streams arrive
//! in random pieces, then the client half-closes or resets. A thread standing in for JS
//! answers as node:http would and checks the event stream of every connection. The server must
//! keep serving, every connection must end with one `CLOSE` after the client leaves, and no
//! event may contradict the state it arrives in. The decoders' own properties are in
//! `h1::fuzzing`; this covers what they cannot see: `Conn` between reads, JS's commands and EOF.

use std::collections::{HashMap, VecDeque};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::AtomicUsize;
use std::sync::{mpsc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::queue::*;
use super::tests::Submission;
use super::*;

/// xorshift64*: deterministic per seed, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

const SEEDS: &[&[u8]] = &[
    b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /q?x=1 HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nX-A: 2\r\n\r\n",
    b"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
    b"POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nT: v\r\n\r\n",
    b"PUT /e HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"GET /u HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\nRAW BYTES",
    b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\ntunnel",
    b"GET /old HTTP/1.0\r\n\r\n",
    b"GET /ka HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    b"GET /last HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"\r\n\r\nOPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
    b"POST /both HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    b"GET /fold HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n",
    b"POST /exp HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok",
    b"GET /bare HTTP/1.1\nHost: a\n\n",
    // Lenient: a body that runs to the peer's end.
    b"POST /eof HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\nto the end",
];

/// The URL of the request that checks the server still serves after the hostile clients.
const STILL_SERVING: &str = "/still-serving";

/// Bytes a mutation inserts: the ones the grammar turns on.
const INTERESTING: &[u8] = b"\r\n: \t;0f9aZ\x00\x7f\x80\xff,=\"/?";

fn hostile_stream(rng: &mut Rng) -> Vec<u8> {
    let mut s = Vec::new();
    for _ in 0..1 + rng.below(6) {
        s.extend_from_slice(SEEDS[rng.below(SEEDS.len())]);
    }
    if rng.chance(10) {
        // A body larger than a read, so a request spans reads and the body budget.
        let n = 20_000 + rng.below(100_000);
        s.extend_from_slice(
            format!("POST /big HTTP/1.1\r\nContent-Length: {n}\r\n\r\n").as_bytes(),
        );
        s.resize(s.len() + n, b'b');
    }
    for _ in 0..rng.below(5) {
        if s.is_empty() {
            break;
        }
        let at = rng.below(s.len());
        match rng.below(6) {
            0 => s[at] = INTERESTING[rng.below(INTERESTING.len())],
            1 => s.insert(at, INTERESTING[rng.below(INTERESTING.len())]),
            2 => {
                let end = (at + 1 + rng.below(8)).min(s.len());
                s.drain(at..end);
            }
            3 => {
                let end = (at + 1 + rng.below(16)).min(s.len());
                let piece = s[at..end].to_vec();
                s.splice(at..at, piece);
            }
            4 => s.truncate(at),
            _ => s[at] ^= 1 << rng.below(8),
        }
    }
    s
}

/// Where a connection's events say it stands.
#[derive(Default)]
struct ConnState {
    in_body: bool,
    errored: bool,
    /// A request timeout was answered and the connection ended: as Node's parser, Rust goes
    /// on parsing what still comes (events stay well-formed), and nothing more is answered.
    timed_out: bool,
    raw: bool,
    declined: bool,
    eof: bool,
    /// JS listens to its bytes (`OP_TAP`): DATA comes beside the parsed events.
    tapped: bool,
    /// The latest event was an upgrade's head: its UPGRADE_HEAD may follow.
    after_upgrade: bool,
    /// Answers held back, oldest first (payload, request flags): JS finishing responses in a
    /// later turn, in order, as a handler waiting on something would.
    held: VecDeque<(Vec<u8>, u32)>,
}

/// What the stand-in for JS does besides answering at once.
#[derive(Clone, Copy, Default)]
struct Mode {
    /// Holds some answers back for later turns, so pipelined requests wait at the bound.
    delays: bool,
    /// Small timeouts (the config's and `OP_SET_TIMEOUT`), keep-alive timeouts with the
    /// responses, `OP_CLOSE_IF_IDLE`, `OP_TAP`; clients that dawdle between pieces.
    timers: bool,
}

/// Keep-alive timeout the timed stand-in sends with its responses, ms.
const KEEP_ALIVE_MS: u32 = 25;

struct Checker {
    violations: Mutex<Vec<String>>,
    open: AtomicUsize,
    connections: AtomicUsize,
    /// The event kinds of each open connection, for the message when one never closes.
    history: Mutex<HashMap<u32, Vec<u32>>>,
    /// Events seen, by kind; request timeouts (errors with their code) under `REQUEST_TIMEOUT`.
    seen: Mutex<HashMap<u32, usize>>,
}

/// `Checker::seen`'s key for errors that are request timeouts.
const REQUEST_TIMEOUT: u32 = u32::MAX;

impl Checker {
    fn violation(&self, what: String) {
        self.violations.lock().unwrap().push(what);
    }
}

/// The stand-in for JS's choices: its random source and what it does besides answering.
struct StandIn {
    rng: Rng,
    mode: Mode,
    /// Connections ended as destroySoon() ends them (`OP_END` 2: nothing read after the
    /// shutdown), destroyed by a submission of their own right after, as JS destroys at the
    /// socket's 'finish': Rust may have shut down and stopped reading by then.
    destroy_soon: Vec<u32>,
}

impl StandIn {
    /// Answers a request now, or holds the answer back behind the ones already held.
    fn answer(
        &mut self,
        out: &mut Submission,
        id: u32,
        st: &mut ConnState,
        payload: Vec<u8>,
        flags: u32,
    ) {
        if self.mode.delays && (!st.held.is_empty() || self.rng.chance(40)) {
            st.held.push_back((payload, flags));
        } else {
            self.send(out, id, &payload, flags);
        }
    }

    fn send(&mut self, out: &mut Submission, id: u32, payload: &[u8], flags: u32) {
        if flags & HEAD_KEEP_ALIVE == 0 && self.rng.chance(50) {
            // Answered as keep-alive (no OP_END of its own), then ended as destroySoon() ends.
            out.respond(id, payload, HEAD_KEEP_ALIVE);
            out.op(OP_END, id, 2, 0);
            self.destroy_soon.push(id);
            return;
        }
        if self.mode.timers {
            // Sometimes the keep-alive timeout stands in for an idle timeout until the next head.
            let idle_after = if self.rng.chance(30) {
                1 + 5 + self.rng.below(40) as u32
            } else {
                0
            };
            out.respond_timed(id, payload, flags, KEEP_ALIVE_MS, idle_after);
        } else {
            out.respond(id, payload, flags);
        }
    }

    /// The 'finish' of the connections ended by destroySoon(): destroyed once written.
    fn destroy_soon_now(&mut self, js: &Server) {
        if self.destroy_soon.is_empty() {
            return;
        }
        let mut out = Submission::default();
        for id in self.destroy_soon.drain(..) {
            out.op(OP_END, id, 1, 0);
        }
        out.submit(js);
    }

    /// Sends what `id` holds, in order.
    fn release(&mut self, out: &mut Submission, id: u32, st: &mut ConnState) {
        while let Some((payload, flags)) = st.held.pop_front() {
            self.send(out, id, &payload, flags);
        }
    }
}

/// A server whose stand-in for JS answers each request (200, its URL and body), takes upgrades
/// over or declines them at random (echoing the raw bytes of those it took), answers an error
/// with 400 and a close, and sometimes destroys a connection mid-request instead. `mode` adds
/// held-back answers and timers.
fn start_checked(config: ServerConfig, seed: u64, mode: Mode) -> (Arc<Server>, u16, Arc<Checker>) {
    let (tx, rx) = mpsc::channel::<()>();
    let server = Arc::new(Server::new(
        config,
        Box::new(move || {
            let _ = tx.send(());
        }),
    ));
    let port = server
        .listen("127.0.0.1", 0, 511, false, false)
        .unwrap()
        .port;
    let checker = Arc::new(Checker {
        violations: Mutex::new(Vec::new()),
        open: AtomicUsize::new(0),
        connections: AtomicUsize::new(0),
        history: Mutex::new(HashMap::new()),
        seen: Mutex::new(HashMap::new()),
    });
    let js = server.clone();
    let check = checker.clone();
    thread::spawn(move || {
        let mut stand_in = StandIn {
            rng: Rng(seed | 1),
            mode,
            destroy_soon: Vec::new(),
        };
        let mut conns: HashMap<u32, ConnState> = HashMap::new();
        let mut bodies: HashMap<u32, usize> = HashMap::new();
        let mut paused: Vec<u32> = Vec::new();
        loop {
            // A paused connection reads again a moment later, events or not; held answers and
            // idle-closes go out on later turns too.
            let busy = !paused.is_empty()
                || (stand_in.mode.timers && !conns.is_empty())
                || conns.values().any(|c| !c.held.is_empty());
            let wait = if busy { 2 } else { 3600 };
            let woken = rx.recv_timeout(Duration::from_millis(wait));
            if woken == Err(mpsc::RecvTimeoutError::Disconnected) {
                return;
            }
            let mut out = Submission::default();
            for id in paused.drain(..) {
                out.op(OP_RESUME, id, 0, 0);
            }
            for (&id, st) in conns.iter_mut() {
                while !st.held.is_empty() && stand_in.rng.chance(60) {
                    let (payload, flags) = st.held.pop_front().unwrap();
                    stand_in.send(&mut out, id, &payload, flags);
                }
                if stand_in.mode.timers && stand_in.rng.chance(1) {
                    // server.closeIdleConnections(): closes it only if it is idle.
                    out.op(OP_CLOSE_IF_IDLE, id, 0, 0);
                }
            }
            if woken.is_err() {
                out.submit(&js);
                stand_in.destroy_soon_now(&js);
                continue;
            }
            let batch = js.take_events();
            let m = &batch.meta;
            let mut i = 0;
            while i < m.len() {
                let (kind, id) = (m[i], m[i + 1]);
                let len = event_len(m, i);
                if len == 0 {
                    check.violation(format!("unknown event {kind}"));
                    break;
                }
                i += len;
                *check.seen.lock().unwrap().entry(kind).or_default() += 1;
                if kind == EV_ERROR && m[i - len + 2] == CODE_REQUEST_TIMEOUT {
                    *check
                        .seen
                        .lock()
                        .unwrap()
                        .entry(REQUEST_TIMEOUT)
                        .or_default() += 1;
                }
                check
                    .history
                    .lock()
                    .unwrap()
                    .entry(id)
                    .or_default()
                    .push(kind);
                if kind == EV_CONNECTION {
                    let mut st = ConnState::default();
                    if stand_in.mode.timers {
                        if stand_in.rng.chance(20) {
                            st.tapped = true;
                            out.op(OP_TAP, id, 0, 0);
                        }
                        if stand_in.rng.chance(50) {
                            out.op(OP_SET_TIMEOUT, id, 5 + stand_in.rng.below(30) as u32, 0);
                        }
                    }
                    if conns.insert(id, st).is_some() {
                        check.violation(format!("{id}: CONNECTION of an open connection"));
                    }
                    check.open.fetch_add(1, Ordering::SeqCst);
                    check.connections.fetch_add(1, Ordering::SeqCst);
                    continue;
                }
                let Some(st) = conns.get_mut(&id) else {
                    if kind != EV_DROP {
                        check.violation(format!("{id}: event {kind} of no open connection"));
                    }
                    continue;
                };
                let parsing = !st.errored && !st.raw && !st.declined && !st.eof;
                let after_upgrade = std::mem::take(&mut st.after_upgrade);
                match kind {
                    EV_HEAD => {
                        if !parsing || st.in_body {
                            check.violation(format!("{id}: HEAD while not awaiting a head"));
                        }
                        let flags = m[i - len + 2];
                        let (uo, ul) = (m[i - len + 5] as usize, m[i - len + 6] as usize);
                        // The last check's request is answered, never destroyed.
                        let check_request = &batch.text[uo..uo + ul] == STILL_SERVING.as_bytes();
                        // Node's parserOnIncoming: an upgrade is taken over or declined at its
                        // head; declined, it is a request like another (its body included).
                        let upgrade = flags & HEAD_UPGRADE != 0;
                        if st.timed_out {
                            if upgrade {
                                st.after_upgrade = true;
                                st.declined = true;
                                out.op(OP_UPGRADE, id, 0, 0);
                            } else if flags & HEAD_HAS_BODY != 0 {
                                st.in_body = true;
                                bodies.insert(id, 0);
                            }
                            continue;
                        }
                        let take = upgrade && stand_in.rng.chance(50);
                        if stand_in.mode.timers && stand_in.rng.chance(10) {
                            // A handler's socket.setTimeout, 0 (off) at times.
                            out.op(OP_SET_TIMEOUT, id, stand_in.rng.below(50) as u32, 0);
                        }
                        if upgrade {
                            // What was answered before the upgrade goes out first.
                            stand_in.release(&mut out, id, st);
                            st.after_upgrade = true;
                            st.raw = take;
                            st.declined = !take;
                            out.op(OP_UPGRADE, id, u32::from(take), 0);
                        }
                        if take {
                            out.write(id, b"HTTP/1.1 101 Switching Protocols\r\n\r\n");
                        } else if flags & HEAD_HAS_BODY != 0 {
                            st.in_body = true;
                            bodies.insert(id, 0);
                            if stand_in.rng.chance(10) {
                                out.op(OP_PAUSE, id, 0, 0);
                                paused.push(id);
                            }
                        } else if upgrade {
                            stand_in.answer(&mut out, id, st, Vec::new(), HEAD_KEEP_ALIVE);
                        } else if !check_request && stand_in.rng.chance(3) {
                            out.op(OP_DESTROY, id, stand_in.rng.below(3) as u32, 0);
                        } else if check_request {
                            stand_in.release(&mut out, id, st);
                            out.respond(id, b"", flags);
                        } else {
                            stand_in.answer(&mut out, id, st, Vec::new(), flags);
                        }
                    }
                    EV_BODY => {
                        if !st.in_body || st.raw || st.errored || st.eof {
                            check.violation(format!("{id}: BODY outside a body"));
                        }
                        *bodies.entry(id).or_default() += m[i - len + 3] as usize;
                    }
                    EV_END => {
                        if !st.in_body {
                            check.violation(format!("{id}: END outside a body"));
                        }
                        st.in_body = false;
                        let n = bodies.remove(&id).unwrap_or(0);
                        if !st.timed_out {
                            stand_in.answer(&mut out, id, st, vec![b'0'; n], HEAD_KEEP_ALIVE);
                        }
                    }
                    EV_UPGRADE_HEAD => {
                        if !after_upgrade {
                            check.violation(format!("{id}: UPGRADE_HEAD out of place"));
                        }
                    }
                    EV_DATA => {
                        if !st.raw && !st.tapped {
                            check.violation(format!(
                                "{id}: DATA on a connection neither taken over nor tapped"
                            ));
                        }
                        if st.raw {
                            let (o, l) = (m[i - len + 2] as usize, m[i - len + 3] as usize);
                            out.write(id, &batch.body[o..o + l]);
                            out.op(OP_RAW_CREDIT, id, l as u32, 0);
                        }
                    }
                    EV_ERROR if m[i - len + 2] == CODE_REQUEST_TIMEOUT => {
                        if st.raw {
                            check.violation(format!("{id}: request timeout on a raw connection"));
                        }
                        st.timed_out = true;
                        stand_in.release(&mut out, id, st);
                        out.write(
                            id,
                            b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n",
                        );
                        out.op(OP_END, id, 1, 0);
                    }
                    EV_ERROR => {
                        if st.raw {
                            check.violation(format!("{id}: parse error on a raw connection"));
                        }
                        st.errored = true;
                        st.in_body = false;
                        stand_in.release(&mut out, id, st);
                        out.write(id, b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
                        out.op(OP_END, id, 1, 0);
                    }
                    EV_EOF | EV_EOF_END => {
                        if st.eof {
                            check.violation(format!("{id}: second EOF"));
                        }
                        if kind == EV_EOF_END {
                            // Lenient: a body that runs to the peer's end. Node completes it
                            // as the socket ends, too late for an answer.
                            if !st.in_body {
                                check.violation(format!("{id}: EOF_END outside a body"));
                            }
                            st.in_body = false;
                            bodies.remove(&id);
                        }
                        st.eof = true;
                        // Node ends at once, aborting what is still unanswered; or the answers
                        // were already on their way.
                        if stand_in.rng.chance(50) {
                            stand_in.release(&mut out, id, st);
                        } else {
                            st.held.clear();
                        }
                        // Both sides ended: a net.Socket destroys itself once its writes are out.
                        out.op(OP_END, id, 1, 0);
                    }
                    EV_TIMEOUT => {
                        if !stand_in.mode.timers {
                            check.violation(format!("{id}: TIMEOUT without a timeout set"));
                        }
                        // No 'timeout' listener: Node destroys the socket. A listener may
                        // also do nothing.
                        if stand_in.rng.chance(70) {
                            out.op(OP_DESTROY, id, 0, 0);
                        }
                    }
                    EV_CLOSE => {
                        check.history.lock().unwrap().remove(&id);
                        conns.remove(&id);
                        bodies.remove(&id);
                        check.open.fetch_sub(1, Ordering::SeqCst);
                    }
                    // The stand-in taps only after a request: early reads are not its.
                    EV_DRAIN | EV_READ_END | EV_EARLY_DATA => {}
                    other => check.violation(format!("{id}: unexpected event {other}")),
                }
            }
            out.submit(&js);
            stand_in.destroy_soon_now(&js);
        }
    });
    (server, port, checker)
}

/// One hostile client: its stream in random pieces, then a half-close or a reset. Returns a
/// complaint if the server did not close the connection after the client left.
fn hostile_client(port: u16, rng: &mut Rng, dawdles: bool) -> Option<String> {
    let input = hostile_stream(rng);
    // A dawdling client pauses between pieces and before it leaves, long enough for the
    // timed server's timeouts to fire, 120 ms at most in all.
    let mut pauses_left = if dawdles && rng.chance(25) { 120 } else { 0 };
    let mut dawdle = |rng: &mut Rng| {
        if pauses_left > 0 && rng.chance(50) {
            let ms = (1 + rng.below(30)).min(pauses_left);
            pauses_left -= ms;
            thread::sleep(Duration::from_millis(ms as u64));
        }
    };
    let mut s = match TcpStream::connect(("127.0.0.1", port)) {
        Ok(s) => s,
        Err(e) => return Some(format!("connect: {e}")),
    };
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let reader = {
        let mut r = s.try_clone().ok()?;
        // Read on while writing: a server whose replies are not read stops reading too.
        thread::spawn(move || {
            let mut sink = [0u8; 64 * 1024];
            loop {
                match r.read(&mut sink) {
                    Ok(0) => return Ok(()),
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Ok(()),
                    Err(e) => return Err(e),
                }
            }
        })
    };
    let mut at = 0;
    while at < input.len() {
        let n = 1 + rng.below((input.len() - at).min(4096));
        if s.write_all(&input[at..at + n]).is_err() {
            break; // the server closed (an error reply): what is left is refused
        }
        at += n;
        dawdle(rng);
    }
    dawdle(rng);
    if rng.chance(15) {
        // A reset: the reader's copy of the descriptor must close too before the kernel
        // sends RST, so its read is ended first (shutdown of reading returns it 0).
        let _ = socket2::SockRef::from(&s).set_linger(Some(Duration::ZERO));
        let _ = s.shutdown(std::net::Shutdown::Read);
        let _ = reader.join();
        drop(s);
        return None;
    }
    let _ = s.shutdown(std::net::Shutdown::Write);
    match reader.join() {
        Ok(Ok(())) => None,
        Ok(Err(e)) => {
            let shown = String::from_utf8_lossy(&input[..input.len().min(400)]).into_owned();
            Some(format!("{e} after {} bytes: {shown:?}", input.len()))
        }
        Err(_) => Some("reader panicked".into()),
    }
}

/// `HOSTILE_CLIENTS` and `HOSTILE_SEED` override a test's count and seed, for longer hunts.
fn run_hostile(config: ServerConfig, seed: u64, clients: usize, mode: Mode) {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let seed = env("HOSTILE_SEED").map_or(seed, |s| seed ^ s);
    let clients = env("HOSTILE_CLIENTS").map_or(clients, |n| n as usize);
    let lenient = config.head_limits.lenient;
    let (_server, port, checker) = start_checked(config, seed, mode);
    let complaints = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..4u64)
        .map(|w| {
            let complaints = complaints.clone();
            thread::spawn(move || {
                let mut rng = Rng((seed ^ (w + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)) | 1);
                for _ in 0..clients / 4 {
                    if let Some(c) = hostile_client(port, &mut rng, mode.timers) {
                        complaints.lock().unwrap().push(c);
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let complaints = complaints.lock().unwrap();
    assert!(
        complaints.is_empty(),
        "connections not closed: {complaints:#?}"
    );
    // Every connection's task ended and said so (its events may still be on their way).
    let expected = clients / 4 * 4;
    let deadline = Instant::now() + Duration::from_secs(10);
    while (checker.open.load(Ordering::SeqCst) > 0
        || checker.connections.load(Ordering::SeqCst) < expected)
        && Instant::now() < deadline
    {
        thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        checker.open.load(Ordering::SeqCst),
        0,
        "connections without CLOSE (their events): {:?}",
        checker.history.lock().unwrap()
    );
    assert_eq!(checker.connections.load(Ordering::SeqCst), expected);
    let violations = checker.violations.lock().unwrap();
    assert!(violations.is_empty(), "{violations:#?}");
    drop(violations);
    // The paths this run is for were taken.
    let seen = checker.seen.lock().unwrap().clone();
    let mut wanted = vec![EV_HEAD, EV_BODY, EV_END, EV_ERROR, EV_EOF, EV_UPGRADE_HEAD];
    if lenient {
        wanted.push(EV_EOF_END);
    }
    if mode.timers {
        wanted.extend([EV_DATA, EV_TIMEOUT, REQUEST_TIMEOUT]);
    }
    for kind in wanted {
        assert!(
            seen.get(&kind).is_some_and(|&n| n > 0),
            "no event {kind} in {seen:?}"
        );
    }
    if std::env::var_os("HOSTILE_STATS").is_some() {
        eprintln!("events by kind: {seen:?}");
    }
    // And it still serves. A timed stand-in may destroy a connection whose idle timeout fired
    // before its request arrived: that is an answer too, so it is asked again.
    let mut replies = Vec::new();
    for _ in 0..5 {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(
            format!("GET {STILL_SERVING} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        let out = String::from_utf8_lossy(&out).into_owned();
        if out.starts_with("HTTP/1.1 200 OK\r\n") || !(mode.timers && out.is_empty()) {
            replies.push(out);
            break;
        }
        replies.push(out);
    }
    let last = replies.last().unwrap();
    assert!(last.starts_with("HTTP/1.1 200 OK\r\n"), "{replies:?}");
}

#[test]
fn hostile_streams_neither_stop_the_server_nor_confuse_a_connection() {
    run_hostile(
        ServerConfig {
            // Small bounds, so pipelines reach them.
            max_pipelined: 3,
            ..ServerConfig::default()
        },
        0x5eed_0001,
        400,
        Mode::default(),
    );
}

#[test]
fn hostile_streams_under_the_lenient_grammar() {
    let mut config = ServerConfig {
        max_pipelined: 3,
        ..ServerConfig::default()
    };
    config.head_limits.lenient = true;
    config.head_limits.max_head_bytes = 256;
    run_hostile(config, 0x5eed_0002, 400, Mode::default());
}

#[test]
fn hostile_streams_meet_held_answers_and_timers() {
    let config = ServerConfig {
        max_pipelined: 2,
        headers_timeout: Some(Duration::from_millis(20)),
        request_timeout: Some(Duration::from_millis(50)),
        keep_alive_timeout: Some(Duration::from_millis(u64::from(KEEP_ALIVE_MS))),
        ..ServerConfig::default()
    };
    run_hostile(
        config,
        0x5eed_0003,
        400,
        Mode {
            delays: true,
            timers: true,
        },
    );
}

#[test]
fn hostile_streams_meet_held_answers_under_a_small_strict_head_limit() {
    let mut config = ServerConfig {
        max_pipelined: 3,
        ..ServerConfig::default()
    };
    config.head_limits.max_head_bytes = 64;
    run_hostile(
        config,
        0x5eed_0004,
        400,
        Mode {
            delays: true,
            timers: false,
        },
    );
}
