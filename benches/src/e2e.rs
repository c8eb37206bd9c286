//! The end-to-end benchmark of `shared/bench/BENCH.md`: a server and a load
//! generator over loopback TCP or a unix socket.
//!
//! Two rows: the full stack (`Hello.Say`: routing, protobuf decode/encode in
//! the handler) and the socket layer alone (frames echoed by a read-frame /
//! write-frame loop on the core's codec, no router, no handler).

use std::future::Future;
use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use teleport_async::Runtime;
use teleport_core::frame::{DEFAULT_FRAME_LIMIT, Decoded, MessageRepr, decode_frame};
use teleport_core::meta::NoMeta;
use teleport_core::{Mtype, StatusRef};
use teleport_tokio::{Ctx, Network, Peer, PeerConfig, Proto, Router, Status, call_controller};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::BenchmarkMessage;

/// Service method of the benchmark call.
pub const METHOD: &str = "Hello.Say";
/// Route reporting the server's allocation count and peak RSS.
pub const STATS_METHOD: &str = "/bench/stats";

/// The server's counters, as `/bench/stats` reports them.
#[derive(Clone, Copy, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct ServerStats {
    /// Heap allocations so far (`None` without a counting allocator).
    pub allocations: Option<u64>,
    /// Peak resident set size in KiB (`VmHWM`).
    pub peak_rss_kib: Option<u64>,
}

/// Peak RSS of a process in KiB, from `/proc` (Linux).
pub fn peak_rss_kib(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

struct Hello;

impl Hello {
    async fn say(
        &self,
        _ctx: Ctx,
        arg: Proto<BenchmarkMessage>,
    ) -> Result<Proto<BenchmarkMessage>, Status> {
        let mut msg = arg.0;
        msg.field1 = "OK".into();
        msg.field2 = 100;
        Ok(Proto(msg))
    }
}

/// Run the benchmark server on tokio until SIGINT/SIGTERM. `allocations`
/// reads the process's allocation counter when it has one.
pub async fn serve(
    network: Network,
    addr: &str,
    socket_layer: bool,
    allocations: Option<fn() -> u64>,
) -> std::io::Result<()> {
    if socket_layer {
        return serve_socket_layer(network, addr).await;
    }
    serve_full::<teleport_tokio::Tokio>(
        network,
        addr,
        allocations,
        teleport_tokio::shutdown_signal(),
    )
    .await
}

/// The full-stack benchmark server (`Hello.Say` and `/bench/stats`) on any
/// runtime, until `stop` resolves.
pub async fn serve_full<R: Runtime + Default>(
    network: Network,
    addr: &str,
    allocations: Option<fn() -> u64>,
    stop: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut router = Router::rpc();
    call_controller!(router, Hello = Arc::new(Hello), [say]).expect("static route");
    router
        .call(
            STATS_METHOD,
            move |_ctx: Ctx, _: teleport_tokio::Raw| async move {
                Ok(ServerStats {
                    allocations: allocations.map(|f| f()),
                    peak_rss_kib: peak_rss_kib("self"),
                })
            },
        )
        .expect("static route");
    let peer = teleport_async::Peer::<R>::new(
        PeerConfig {
            network,
            listen_address: addr.into(),
            default_body_codec: teleport_core::codec::id::PROTOBUF,
            ..PeerConfig::default()
        },
        router,
    );
    let bound = peer.listen().await?;
    println!("bench server listening on {}", bound.addr);
    stop.await;
    peer.shutdown(Duration::from_secs(1)).await;
    Ok(())
}

/// The socket layer alone: each CALL frame is answered with a REPLY frame
/// carrying the same body, by a read-frame/write-frame loop.
async fn serve_socket_layer(network: Network, addr: &str) -> std::io::Result<()> {
    match network.resolve(addr)? {
        teleport_tokio::Addr::Tcp(a) => {
            let listener = tokio::net::TcpListener::bind(a).await?;
            println!(
                "socket-layer server listening on {}",
                listener.local_addr()?
            );
            loop {
                let (stream, _) = listener.accept().await?;
                stream.set_nodelay(true)?;
                tokio::spawn(echo_frames(stream));
            }
        }
        teleport_tokio::Addr::Unix(path) => {
            let _ = std::fs::remove_file(&path);
            let listener = tokio::net::UnixListener::bind(&path)?;
            println!("socket-layer server listening on {}", path.display());
            loop {
                let (stream, _) = listener.accept().await?;
                tokio::spawn(echo_frames(stream));
            }
        }
    }
}

async fn echo_frames<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(mut stream: S) {
    let mut inbuf = vec![0u8; 64 << 10];
    let mut filled = 0;
    let mut out = Vec::with_capacity(64 << 10);
    loop {
        let n = match stream.read(&mut inbuf[filled..]).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        filled += n;
        let mut start = 0;
        while let Ok(Decoded::Frame(frame)) =
            decode_frame(&inbuf[start..filled], DEFAULT_FRAME_LIMIT)
        {
            let len = frame.len();
            if let Ok(msg) = frame.message()
                && msg.mtype == Mtype::Call
            {
                let reply = MessageRepr {
                    seq: msg.seq,
                    mtype: Mtype::Reply,
                    service_method: "",
                    status: StatusRef::OK,
                    meta: NoMeta,
                    body_codec: msg.body_codec,
                    body: msg.body,
                };
                if reply.encode_to(&mut out, DEFAULT_FRAME_LIMIT).is_err() {
                    return;
                }
            }
            start += len;
        }
        inbuf.copy_within(start..filled, 0);
        filled -= start;
        if filled == inbuf.len() {
            return; // a frame larger than the buffer: not a benchmark client
        }
        if !out.is_empty() {
            if stream.write_all(&out).await.is_err() {
                return;
            }
            out.clear();
        }
    }
}

/// What the load generator does.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Network of `addr`.
    pub network: Network,
    /// Server address (or socket path).
    pub addr: String,
    /// Sessions (connections), each making calls one after another.
    pub concurrency: usize,
    /// Total counted calls.
    pub total: usize,
    /// Socket-layer row: count a call OK on status alone (the echo server
    /// does not set `field1`).
    pub socket_layer: bool,
    /// Draw a progress bar on stderr.
    pub progress: bool,
}

/// One row of the table.
#[derive(Clone, Debug, Default)]
pub struct Row {
    /// Concurrency.
    pub concurrency: usize,
    /// Calls sent (counted phase).
    pub sent: u64,
    /// Replies received.
    pub received: u64,
    /// Replies with status OK and `field1 == "OK"`.
    pub received_ok: u64,
    /// Latencies in microseconds: mean, median, max, min, p99, p99.9.
    pub mean_us: f64,
    /// Median.
    pub median_us: u64,
    /// Max.
    pub max_us: u64,
    /// Min.
    pub min_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Counted calls per second of the counted phase.
    pub throughput: f64,
    /// Server allocations per counted call, when the server counts them.
    pub allocs_per_call: Option<f64>,
    /// Server peak RSS in KiB, when known.
    pub server_peak_rss_kib: Option<u64>,
}

impl Row {
    /// The table header (latencies in microseconds).
    pub fn header() -> String {
        format!(
            "{:>11} | {:>9} | {:>9} | {:>9} | {:>9} | {:>9} | {:>9} | {:>12} | {:>8} | {:>8} | {:>8} | {:>11} | {:>9}",
            "concurrency",
            "mean µs",
            "median µs",
            "max µs",
            "min µs",
            "p99 µs",
            "p99.9 µs",
            "calls/s",
            "sent",
            "received",
            "ok",
            "allocs/call",
            "peak RSS"
        )
    }

    /// The row as a table line.
    pub fn line(&self) -> String {
        format!(
            "{:>11} | {:>9.1} | {:>9} | {:>9} | {:>9} | {:>9} | {:>9} | {:>12.0} | {:>8} | {:>8} | {:>8} | {:>11} | {:>9}",
            self.concurrency,
            self.mean_us,
            self.median_us,
            self.max_us,
            self.min_us,
            self.p99_us,
            self.p999_us,
            self.throughput,
            self.sent,
            self.received,
            self.received_ok,
            self.allocs_per_call
                .map_or_else(|| "-".into(), |a| format!("{a:.1}")),
            self.server_peak_rss_kib
                .map_or_else(|| "-".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0)),
        )
    }
}

/// Run one concurrency level and measure it.
pub async fn run(opts: &LoadOptions) -> Result<Row, Status> {
    const WARMUP: usize = 5;
    let client = Peer::new(
        PeerConfig {
            network: opts.network,
            default_body_codec: teleport_core::codec::id::PROTOBUF,
            default_context_age: Some(Duration::from_secs(60)),
            ..PeerConfig::default()
        },
        Router::new(),
    );
    let c = opts.concurrency.max(1);
    let per_session = (opts.total / c).max(1);
    let mut sessions = Vec::with_capacity(c);
    for _ in 0..c {
        sessions.push(client.dial(&opts.addr).await?);
    }
    let stats_before = server_stats(&sessions[0]).await;

    let arg = Arc::new(Proto(BenchmarkMessage::prepared()));
    let ready = Arc::new(tokio::sync::Barrier::new(c + 1));
    let go = Arc::new(tokio::sync::Barrier::new(c + 1));
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for session in &sessions {
        let session = session.clone();
        let (arg, ready, go, done) = (arg.clone(), ready.clone(), go.clone(), done.clone());
        let check_field = !opts.socket_layer;
        tasks.spawn(async move {
            for _ in 0..WARMUP {
                let _ = session.call(METHOD, &*arg).await;
            }
            ready.wait().await;
            go.wait().await;
            let mut lat = Vec::with_capacity(per_session);
            let (mut received, mut ok) = (0u64, 0u64);
            for _ in 0..per_session {
                let t = Instant::now();
                let result = session.call(METHOD, &*arg).await;
                lat.push(t.elapsed().as_micros() as u64);
                if let Ok(reply) = result {
                    received += 1;
                    let good = !check_field
                        || reply
                            .decode::<Proto<BenchmarkMessage>>()
                            .is_ok_and(|m| m.0.field1 == "OK");
                    ok += u64::from(good);
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
            (lat, received, ok)
        });
    }
    ready.wait().await;
    let stop_bar = Arc::new(AtomicBool::new(false));
    let bar = opts.progress.then(|| {
        let (done, stop, total) = (done.clone(), stop_bar.clone(), (per_session * c) as u64);
        std::thread::spawn(move || progress_bar(&done, &stop, total))
    });
    let started = Instant::now();
    go.wait().await;
    let mut lat = Vec::with_capacity(per_session * c);
    let mut row = Row {
        concurrency: c,
        ..Row::default()
    };
    while let Some(r) = tasks.join_next().await {
        let (l, received, ok) = r.map_err(|e| Status::new(-1, e.to_string()))?;
        row.sent += l.len() as u64;
        row.received += received;
        row.received_ok += ok;
        lat.extend(l);
    }
    let wall = started.elapsed();
    stop_bar.store(true, Ordering::Relaxed);
    if let Some(bar) = bar {
        let _ = bar.join();
    }
    let stats_after = server_stats(&sessions[0]).await;
    for s in &sessions {
        s.close_with(None);
    }

    lat.sort_unstable();
    let pick = |q: f64| lat[((lat.len() as f64 * q).ceil() as usize).clamp(1, lat.len()) - 1];
    row.mean_us = lat.iter().sum::<u64>() as f64 / lat.len() as f64;
    row.median_us = pick(0.5);
    row.max_us = *lat.last().unwrap_or(&0);
    row.min_us = *lat.first().unwrap_or(&0);
    row.p99_us = pick(0.99);
    row.p999_us = pick(0.999);
    row.throughput = row.sent as f64 / wall.as_secs_f64();
    if let (Some(a), Some(b)) = (
        stats_before.and_then(|s| s.allocations),
        stats_after.and_then(|s| s.allocations),
    ) {
        // The two stats calls themselves are a rounding error here.
        row.allocs_per_call = Some(b.saturating_sub(a) as f64 / row.sent.max(1) as f64);
    }
    row.server_peak_rss_kib = stats_after.and_then(|s| s.peak_rss_kib);
    Ok(row)
}

async fn server_stats(session: &teleport_tokio::Session) -> Option<ServerStats> {
    let reply = session
        .call(STATS_METHOD, &())
        .codec(teleport_core::codec::id::JSON)
        .await
        .ok()?;
    reply.decode().ok()
}

fn progress_bar(done: &AtomicU64, stop: &AtomicBool, total: u64) {
    const WIDTH: u64 = 40;
    let mut err = std::io::stderr();
    loop {
        let d = done.load(Ordering::Relaxed).min(total);
        let filled = d * WIDTH / total.max(1);
        let _ = write!(
            err,
            "\r[{}{}] {d}/{total} ",
            "#".repeat(filled as usize),
            ".".repeat((WIDTH - filled) as usize)
        );
        let _ = err.flush();
        if stop.load(Ordering::Relaxed) {
            let _ = writeln!(err);
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
