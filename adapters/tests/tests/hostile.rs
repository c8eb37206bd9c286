//! Hostile peers against the tokio server, over loopback.
//!
//! Each test starts a server with tight limits, keeps a well-behaved client
//! calling it the whole time, attacks it from raw sockets, and then checks:
//! - the bad connection got a status where one could be sent, and was
//!   closed with a log line that says why;
//! - the good client never saw a failure, and a new client can connect;
//! - the server's memory stayed bounded: live heap bytes, counted by the
//!   allocator below, never rose more than a fixed amount over the start.
//!
//! Tests take a global lock so allocation counts and log lines belong to one
//! test at a time. Every loop is bounded in count and time.

// A counting global allocator needs unsafe; it only forwards to the system
// allocator and counts bytes.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use teleport_core::frame::{Decoded, decode_frame};
use teleport_core::xfer::XferFilters;
use teleport_core::{MessageRepr, Mtype, Seq, StatusRef};
use teleport_tokio::{AuthChecker, Ctx, Peer, PeerConfig, Raw, Router, Status, codec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size >= layout.size() {
            let live = LIVE.fetch_add(new_size - layout.size(), Ordering::Relaxed)
                + (new_size - layout.size());
            PEAK.fetch_max(live, Ordering::Relaxed);
        } else {
            LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Largest frame the server accepts.
const FRAME_LIMIT: u32 = 256 << 10;
/// How far the heap may grow over its level at the start of an attack.
/// Generous against allocator noise, tiny against what the attacks ask for
/// (4 GiB frames, 64 MiB inflations, megabytes of unread replies).
const HEAP_BOUND: usize = 12 << 20;
const LIMIT: Duration = Duration::from_secs(20);

// ----- shared test machinery ---------------------------------------------------

/// Log lines of the running test.
#[derive(Clone)]
struct LogBuf(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuf {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logs() -> &'static LogBuf {
    static LOGS: OnceLock<LogBuf> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = LogBuf(Arc::new(Mutex::new(Vec::new())));
        let writer = buf.clone();
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("teleport=info"))
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .init();
        buf
    })
}

/// One test at a time; clears the captured log.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    let guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    logs().0.lock().unwrap().clear();
    guard
}

fn log_text() -> String {
    String::from_utf8_lossy(&logs().0.lock().unwrap()).into_owned()
}

/// Wait until the log has a line containing every one of `parts`.
async fn expect_log(parts: &[&str]) {
    for _ in 0..200 {
        if log_text()
            .lines()
            .any(|l| parts.iter().all(|p| l.contains(p)))
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no log line with {parts:?}; log:\n{}", log_text());
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn config() -> PeerConfig {
    PeerConfig {
        listen_address: "127.0.0.1:0".into(),
        message_size_limit: FRAME_LIMIT,
        send_queue_limit: 512 << 10,
        max_inbound_calls: 64,
        read_timeout: Some(Duration::from_secs(1)),
        write_timeout: Some(Duration::from_secs(1)),
        max_sessions: Some(40),
        ..PeerConfig::default()
    }
}

fn router() -> Router {
    let mut r = Router::new();
    r.call("/echo", |ctx: Ctx, body: Raw| async move {
        // Touch the metadata the way handlers do, whatever it holds.
        let _ = ctx.meta_map();
        Ok(body)
    })
    .unwrap();
    r.call("/slow", |_ctx: Ctx, n: u32| async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        Ok(n)
    })
    .unwrap();
    r.call("/big", |_ctx: Ctx, _: ()| async move {
        Ok("x".repeat(64 << 10))
    })
    .unwrap();
    r
}

struct Server {
    peer: Peer,
    addr: String,
}

async fn start(config: PeerConfig) -> Server {
    let peer = Peer::new(config, router());
    let addr = peer.listen().await.unwrap().addr.to_string();
    Server { peer, addr }
}

/// A well-behaved client calling the server every 20 ms until stopped.
struct GoodClient {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<(usize, Vec<Status>)>,
    _peer: Peer,
}

async fn good_client(addr: &str) -> GoodClient {
    let peer = Peer::new(PeerConfig::default(), Router::new());
    let session = peer.dial(addr).await.expect("good client dials");
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let task = tokio::spawn(async move {
        let (mut ok, mut failed) = (0, Vec::new());
        for i in 0..5_000u32 {
            if flag.load(Ordering::Relaxed) {
                break;
            }
            match session.call("/echo", &i).await {
                Ok(reply) if reply.decode::<u32>().ok() == Some(i) => ok += 1,
                Ok(reply) => failed.push(Status::new(-1, format!("wrong reply {reply:?}"))),
                Err(e) => failed.push(e),
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        (ok, failed)
    });
    GoodClient {
        stop,
        task,
        _peer: peer,
    }
}

impl GoodClient {
    /// Stop; every call it made must have succeeded.
    async fn finish(self) {
        self.stop.store(true, Ordering::Relaxed);
        let (ok, failed) = self.task.await.unwrap();
        assert!(
            failed.is_empty(),
            "the good client saw failures: {failed:?}"
        );
        assert!(ok > 0, "the good client made no calls");
    }
}

/// A new client can still connect and call.
async fn fresh_client_works(addr: &str) {
    let peer = Peer::new(PeerConfig::default(), Router::new());
    let session = peer.dial(addr).await.expect("a new client dials");
    let reply = session
        .call("/echo", &7u32)
        .await
        .expect("a new client calls");
    assert_eq!(reply.decode::<u32>().unwrap(), 7);
    session.close();
}

/// Heap bytes over the level when the attack started.
struct HeapWatch(usize);

impl HeapWatch {
    fn start() -> Self {
        let live = LIVE.load(Ordering::Relaxed);
        PEAK.store(live, Ordering::Relaxed);
        Self(live)
    }

    fn check(&self, what: &str) {
        let peak = PEAK.load(Ordering::Relaxed);
        let grew = peak.saturating_sub(self.0);
        eprintln!("{what}: peak heap growth {} KiB", grew >> 10);
        assert!(
            grew <= HEAP_BOUND,
            "{what}: heap grew {grew} bytes over its start (bound {HEAP_BOUND})"
        );
    }
}

/// A frame as a peer would send it.
fn frame(seq: i32, mtype: Mtype, method: &str, meta: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    MessageRepr {
        seq: Seq(seq),
        mtype,
        service_method: method,
        status: StatusRef::OK,
        meta,
        body_codec: codec::id::JSON,
        body,
    }
    .encode_to(&mut out, u32::MAX)
    .unwrap();
    out
}

/// What the server said to a raw connection.
#[derive(Debug, Default)]
struct Answers {
    frames: Vec<(Seq, Mtype, i32, String)>,
    closed: bool,
}

impl Answers {
    fn status_of(&self, seq: i32) -> Option<(i32, &str)> {
        self.frames
            .iter()
            .find(|f| f.0 == Seq(seq) && matches!(f.1, Mtype::Reply | Mtype::AuthReply))
            .map(|f| (f.2, f.3.as_str()))
    }
}

/// Read until the server closes or `wait` passes; decode what came.
async fn read_answers(stream: &mut TcpStream, wait: Duration) -> Answers {
    let mut buf = Vec::new();
    let mut closed = false;
    let deadline = tokio::time::Instant::now() + wait;
    let mut chunk = vec![0u8; 64 << 10];
    while buf.len() < (32 << 20) {
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Err(_) => break,
            Ok(Ok(0) | Err(_)) => {
                closed = true;
                break;
            }
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let mut answers = Answers {
        closed,
        ..Answers::default()
    };
    let mut rest = &buf[..];
    while let Ok(Decoded::Frame(raw)) = decode_frame(rest, u32::MAX) {
        if let Ok(m) = raw.message() {
            let cause = m
                .status
                .cause
                .and_then(|c| c.to_str().ok().map(|c| c.into_owned()))
                .unwrap_or_default();
            answers.frames.push((m.seq, m.mtype, m.status.code, cause));
        }
        rest = &rest[raw.len()..];
    }
    answers
}

enum Then {
    /// Shut down our sending side after the bytes.
    Eof,
    /// Keep the connection open and wait.
    Hold,
}

/// Connect, send `bytes`, and collect the server's answers.
async fn attack(addr: &str, bytes: &[u8], then: Then) -> Answers {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // The server may close before reading everything: that is fine.
    let _ = stream.write_all(bytes).await;
    if let Then::Eof = then {
        let _ = stream.shutdown().await;
    }
    read_answers(&mut stream, Duration::from_secs(5)).await
}

/// Run `scenario` against a fresh server with a good client alongside.
fn hostile<F, Fut>(config: PeerConfig, scenario: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()>,
{
    hostile_with(config, || (), |addr, ()| scenario(addr));
}

/// [`hostile`], with `prepare` run under the test lock but before the heap
/// watch starts (for attacks that are expensive to build).
fn hostile_with<T, P, F, Fut>(config: PeerConfig, prepare: P, scenario: F)
where
    P: FnOnce() -> T,
    F: FnOnce(String, T) -> Fut,
    Fut: Future<Output = ()>,
{
    let _serial = serial();
    let prepared = prepare();
    runtime().block_on(async {
        let server = start(config).await;
        let good = good_client(&server.addr).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        let heap = HeapWatch::start();
        tokio::time::timeout(LIMIT, scenario(server.addr.clone(), prepared))
            .await
            .expect("the scenario finished in time");
        heap.check("during the attack");
        good.finish().await;
        fresh_client_works(&server.addr).await;
        server.peer.shutdown(Duration::ZERO).await;
    });
}

// ----- malformed bytes ---------------------------------------------------------

#[test]
fn length_prefixes_below_the_minimum_close_the_connection() {
    hostile(config(), |addr| async move {
        for size in 0u32..=5 {
            let mut bytes = size.to_be_bytes().to_vec();
            bytes.extend_from_slice(&[0; 16]);
            let answers = attack(&addr, &bytes, Then::Hold).await;
            assert!(answers.closed, "size {size}: still open");
            assert!(answers.frames.is_empty(), "size {size}: {answers:?}");
        }
        expect_log(&["closed: protocol error"]).await;
    });
}

#[test]
fn a_4_gib_length_prefix_is_refused_without_allocating_it() {
    hostile(config(), |addr| async move {
        let mut bytes = u32::MAX.to_be_bytes().to_vec();
        bytes.extend_from_slice(&[7; 4096]);
        let answers = attack(&addr, &bytes, Then::Hold).await;
        assert!(answers.closed);
        expect_log(&["closed: protocol error", "limit"]).await;
    });
}

#[test]
fn truncated_frames_and_short_bodies() {
    hostile(config(), |addr| async move {
        // The stream ends inside a frame.
        let whole = frame(1, Mtype::Call, "/echo", &[], b"12345");
        let answers = attack(&addr, &whole[..whole.len() - 3], Then::Eof).await;
        assert!(answers.closed);
        expect_log(&["closed: protocol error", "stream ended inside a frame"]).await;
        // A header that promises more body than ever comes, on an open
        // connection: the read timeout ends it.
        let mut short = frame(2, Mtype::Call, "/echo", &[], &[b'1'; 1000]);
        short.truncate(100);
        let answers = attack(&addr, &short, Then::Hold).await;
        assert!(answers.closed);
        expect_log(&["closed: read timeout"]).await;
    });
}

#[test]
fn garbage_bytes_close_the_connection() {
    hostile(config(), |addr| async move {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for round in 0..8 {
            let garbage: Vec<u8> = (0..(8 << 10))
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            let answers = attack(&addr, &garbage, Then::Hold).await;
            assert!(answers.closed, "round {round}: still open");
        }
        expect_log(&["closed: protocol error"]).await;
    });
}

#[test]
fn a_gzip_bomb_is_stopped_at_the_size_limit() {
    // 64 MiB of zeros in a frame of a few dozen KiB, built before the heap
    // watch starts.
    let build = || {
        let zeros = vec![b'0'; 64 << 20];
        let mut bomb = Vec::new();
        XferFilters::with_defaults()
            .encode_to(
                &MessageRepr {
                    seq: Seq(3),
                    mtype: Mtype::Call,
                    service_method: "/echo",
                    status: StatusRef::OK,
                    meta: teleport_core::meta::NoMeta,
                    body_codec: codec::id::PLAIN,
                    body: &zeros,
                },
                b"g",
                &mut bomb,
                u32::MAX,
            )
            .unwrap();
        assert!(
            bomb.len() < FRAME_LIMIT as usize,
            "bomb frame {} bytes",
            bomb.len()
        );
        bomb
    };
    hostile_with(config(), build, |addr, bomb| async move {
        let answers = attack(&addr, &bomb, Then::Hold).await;
        assert!(answers.closed);
        expect_log(&["closed: protocol error", "limit"]).await;
    });
}

#[test]
fn a_frame_with_255_unknown_transfer_filters_is_refused() {
    hostile(config(), |addr| async move {
        let plain = frame(4, Mtype::Call, "/echo", &[], b"1");
        // Splice 255 unknown ids in after the size; fix the size.
        let mut bytes = Vec::new();
        let size = plain.len() - 4 + 255;
        bytes.extend_from_slice(&(size as u32).to_be_bytes());
        bytes.push(255);
        bytes.extend(std::iter::repeat_n(b'z', 255));
        bytes.extend_from_slice(&plain[5..]);
        let answers = attack(&addr, &bytes, Then::Hold).await;
        assert!(answers.closed);
        expect_log(&["closed: protocol error"]).await;
    });
}

#[test]
fn unknown_message_type_closes_the_connection() {
    hostile(config(), |addr| async move {
        let mut bytes = frame(5, Mtype::Call, "/echo", &[], b"1");
        // size(4) xfer count(1) seq len(1) seq "5"(1) -> mtype at 7.
        assert_eq!(bytes[7], u8::from(Mtype::Call));
        bytes[7] = 9;
        let answers = attack(&addr, &bytes, Then::Hold).await;
        assert!(answers.closed);
        expect_log(&["closed: protocol error"]).await;
    });
}

#[test]
fn a_call_that_breaks_after_its_seq_gets_400_then_close() {
    hostile(config(), |addr| async move {
        let mut bytes = frame(11, Mtype::Call, "/echo", &[], b"1");
        // The service method is not UTF-8; seq and type were readable.
        let at = bytes.windows(5).position(|w| w == b"/echo").unwrap();
        bytes[at + 1] = 0xff;
        let answers = attack(&addr, &bytes, Then::Hold).await;
        assert!(answers.closed);
        let (code, cause) = answers.status_of(11).expect("a 400 for seq 11");
        assert_eq!(code, 400, "{answers:?}");
        assert!(!cause.is_empty(), "{answers:?}");
        expect_log(&["closed: protocol error"]).await;
    });
}

// ----- well-formed but hostile messages ------------------------------------------

#[test]
fn meta_of_64_kib_of_percent_signs_is_answered_and_the_session_lives() {
    hostile(config(), |addr| async move {
        let key = "a".repeat((64 << 10) - 1);
        let mut bytes = frame(6, Mtype::Call, "/echo", &[(key.as_str(), "")], b"1");
        // Turn the meta text into '%' without changing any length.
        let at = bytes
            .windows(64)
            .position(|w| w.iter().all(|&b| b == b'a'))
            .unwrap();
        bytes[at..at + key.len()].fill(b'%');
        bytes.extend_from_slice(&frame(7, Mtype::Call, "/echo", &[], b"2"));
        let mut stream = TcpStream::connect(&addr).await.unwrap();
        stream.write_all(&bytes).await.unwrap();
        let answers = read_answers(&mut stream, Duration::from_millis(700)).await;
        assert!(!answers.closed, "{answers:?}");
        assert!(
            answers.status_of(6).is_some(),
            "no answer to the % call: {answers:?}"
        );
        assert_eq!(answers.status_of(7), Some((0, "")), "{answers:?}");
    });
}

#[test]
fn a_reply_to_a_seq_never_sent_is_logged_and_dropped() {
    hostile(config(), |addr| async move {
        let mut bytes = frame(77, Mtype::Reply, "", &[], b"1");
        bytes.extend_from_slice(&frame(8, Mtype::Call, "/echo", &[], b"3"));
        let mut stream = TcpStream::connect(&addr).await.unwrap();
        stream.write_all(&bytes).await.unwrap();
        let answers = read_answers(&mut stream, Duration::from_millis(500)).await;
        assert!(!answers.closed, "{answers:?}");
        assert_eq!(answers.status_of(8), Some((0, "")), "{answers:?}");
        expect_log(&["77"]).await;
    });
}

#[test]
fn a_duplicate_call_seq_gets_400_and_the_first_call_completes() {
    hostile(config(), |addr| async move {
        let mut bytes = frame(9, Mtype::Call, "/slow", &[], b"1");
        bytes.extend_from_slice(&frame(9, Mtype::Call, "/slow", &[], b"2"));
        let mut stream = TcpStream::connect(&addr).await.unwrap();
        stream.write_all(&bytes).await.unwrap();
        let answers = read_answers(&mut stream, Duration::from_millis(800)).await;
        assert!(!answers.closed, "{answers:?}");
        let codes: Vec<i32> = answers
            .frames
            .iter()
            .filter(|f| f.0 == Seq(9))
            .map(|f| f.2)
            .collect();
        assert_eq!(codes, [400, 0], "{answers:?}");
        assert!(answers.frames[0].3.contains("in flight"), "{answers:?}");
        expect_log(&["9"]).await;
    });
}

#[test]
fn traffic_before_auth_gets_401_and_close() {
    let config = PeerConfig {
        auth_checker: Some(AuthChecker::new(|req| {
            if req.body == b"\"token\"" {
                Ok(Vec::new())
            } else {
                Err(Status::new(403, "Forbidden"))
            }
        })),
        ..config()
    };
    let _serial = serial();
    runtime().block_on(async {
        let server = start(config).await;
        let heap = HeapWatch::start();
        let answers = attack(
            &server.addr,
            &frame(1, Mtype::Call, "/echo", &[], b"1"),
            Then::Hold,
        )
        .await;
        assert!(answers.closed);
        assert_eq!(answers.frames.len(), 1, "{answers:?}");
        assert_eq!(answers.frames[0].1, Mtype::AuthReply);
        assert_eq!(answers.frames[0].2, 401);
        expect_log(&["closed: auth failed with status 401"]).await;
        // The right token opens the session; then calls work.
        let mut bytes = frame(1, Mtype::AuthCall, "", &[], b"\"token\"");
        bytes.extend_from_slice(&frame(2, Mtype::Call, "/echo", &[], b"5"));
        let mut stream = TcpStream::connect(&server.addr).await.unwrap();
        stream.write_all(&bytes).await.unwrap();
        let answers = read_answers(&mut stream, Duration::from_millis(500)).await;
        assert_eq!(answers.status_of(1), Some((0, "")), "{answers:?}");
        assert_eq!(answers.status_of(2), Some((0, "")), "{answers:?}");
        heap.check("auth");
        server.peer.shutdown(Duration::ZERO).await;
    });
}

// ----- slow and silent peers ---------------------------------------------------

#[test]
fn slowloris_one_byte_at_a_time_is_cut_off_by_the_read_timeout() {
    hostile(config(), |addr| async move {
        let bytes = frame(10, Mtype::Call, "/echo", &[], &[b'1'; 300]);
        let mut stream = TcpStream::connect(&addr).await.unwrap();
        let mut sent = 0;
        for b in &bytes {
            if stream.write_all(&[*b]).await.is_err() {
                break;
            }
            sent += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
            if sent % 5 == 0 && log_text().contains("closed: read timeout") {
                break;
            }
        }
        assert!(sent < bytes.len(), "the whole frame was accepted");
        let answers = read_answers(&mut stream, Duration::from_secs(3)).await;
        assert!(answers.closed);
        assert!(answers.frames.is_empty(), "{answers:?}");
        expect_log(&["closed: read timeout"]).await;
    });
}

#[test]
fn a_peer_that_never_reads_replies_is_closed_with_bounded_queues() {
    // A longer read timeout, so the write stall is what ends it.
    let config = PeerConfig {
        read_timeout: Some(Duration::from_secs(5)),
        ..config()
    };
    hostile(config, |addr| async move {
        // Calls for 64 KiB replies (up to 4,000: 250 MiB of replies), never
        // reading any. Writes stop once the socket buffers are full.
        let mut stream = TcpStream::connect(&addr).await.unwrap();
        let mut sent = 0;
        for seq in 1..=4_000 {
            let call = frame(seq, Mtype::Call, "/big", &[], b"null");
            let write = tokio::time::timeout(Duration::from_millis(500), stream.write_all(&call));
            if !matches!(write.await, Ok(Ok(()))) {
                break;
            }
            sent += 1;
        }
        assert!(sent > 64, "only {sent} calls went out");
        expect_log(&["closed: write stalled"]).await;
        drop(stream);
    });
}

#[test]
fn connections_that_say_nothing_are_bounded_and_timed_out() {
    hostile(config(), |addr| async move {
        let mut silent = Vec::new();
        for _ in 0..60 {
            silent.push(TcpStream::connect(&addr).await.unwrap());
        }
        // Past the session cap the server refuses at once; the rest go at
        // the read timeout. Every one of them ends.
        let mut buf = [0u8; 16];
        for (i, stream) in silent.iter_mut().enumerate() {
            let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await;
            assert!(
                matches!(read, Ok(Ok(0) | Err(_))),
                "silent connection {i} not closed: {read:?}"
            );
        }
        expect_log(&["refusing", "sessions already"]).await;
        expect_log(&["closed: read timeout"]).await;
    });
}
