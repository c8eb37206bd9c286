//! The checks behind every fuzz target, as plain functions of the input
//! bytes. The fuzz targets call them; `teleport-core`'s regression test
//! (`proto-core/tests/fuzz_regressions.rs`) includes this file and replays
//! every input saved under `fuzz/regressions/<target>/` through them, so a
//! crash once found stays fixed without nightly or libFuzzer.
//!
//! Each function panics only when an invariant breaks: that is the finding.

#![allow(dead_code)]

use arbitrary::{Arbitrary, Unstructured};
use core::time::Duration;
use teleport_core::conn::{
    Auth, Config, Connection, Event, Outcome, Outgoing, Ping, State, Storage,
};
use teleport_core::frame::{Decoded, decode_frame};
use teleport_core::meta::MetaView;
use teleport_core::router::{Role, RouteKind, Routes, StaticGroup, StaticRoute, StaticRouter};
use teleport_core::{Instant, MessageRepr, Mtype, Seq, StatusRef, StatusView};

/// Frame limit of the decoding targets: small, so size checks get hit.
pub const FUZZ_FRAME_LIMIT: u32 = 1 << 16;

// ----- frame decoding -------------------------------------------------------

/// Decode `data` as a stream of frames. Every frame that decodes must
/// re-encode to the same bytes and decode to the same message.
pub fn frame_stream(data: &[u8]) {
    let mut rest = data;
    let mut frames = 0usize;
    loop {
        match decode_frame(rest, FUZZ_FRAME_LIMIT) {
            Ok(Decoded::Frame(raw)) => {
                assert!(raw.len() >= 4 && raw.len() <= rest.len());
                assert_eq!(raw.bytes(), &rest[..raw.len()]);
                if let Ok(msg) = raw.message() {
                    check_message_view(&msg);
                    if raw.xfer().is_empty() {
                        check_reencode(raw.bytes(), &msg);
                    }
                }
                rest = &rest[raw.len()..];
                frames += 1;
                assert!(frames <= data.len(), "frames without bytes");
            }
            Ok(Decoded::NeedMore(n)) => {
                assert!(n > 0, "NeedMore(0)");
                assert!(rest.len() + n <= FUZZ_FRAME_LIMIT as usize + 4);
                return;
            }
            Err(_) => return,
        }
    }
}

/// Walk every part of a decoded message the way an application would.
fn check_message_view(msg: &teleport_core::MessageView<'_>) {
    let _ = msg.path();
    for (k, v) in msg.query().iter().chain(msg.meta.iter()) {
        assert_eq!(k.bytes().count(), k.unescaped_len());
        assert_eq!(v.bytes().count(), v.unescaped_len());
    }
    check_status(msg.status);
}

fn check_status(status: StatusView<'_>) {
    if let Some(m) = status.msg {
        assert_eq!(m.bytes().count(), m.unescaped_len());
    }
    if let Some(c) = status.cause {
        assert_eq!(c.bytes().count(), c.unescaped_len());
    }
    assert_eq!(status.is_ok(), status.code == 0);
}

/// Re-encode a decoded message: decoding the result gives the same message.
/// (Not always the same bytes: text with invalid escapes is re-escaped.)
fn check_reencode(frame: &[u8], msg: &teleport_core::MessageView<'_>) {
    let mut buf = [0u8; 8192];
    let Ok(n) = msg.to_repr().encode(&mut buf, FUZZ_FRAME_LIMIT) else {
        // Re-escaping can grow the text up to three times.
        assert!(
            3 * frame.len() > buf.len(),
            "a frame that decoded did not re-encode"
        );
        return;
    };
    let Ok(Decoded::Frame(raw)) = decode_frame(&buf[..n], FUZZ_FRAME_LIMIT) else {
        panic!("a re-encoded frame did not decode");
    };
    let again = raw.message().expect("a re-encoded message parses");
    assert_eq!(
        (
            again.seq,
            again.mtype,
            again.service_method,
            again.body_codec,
            again.body
        ),
        (
            msg.seq,
            msg.mtype,
            msg.service_method,
            msg.body_codec,
            msg.body
        )
    );
    assert_eq!(again.status.code, msg.status.code);
    assert!(same_text(again.status.msg, msg.status.msg));
    assert!(same_text(again.status.cause, msg.status.cause));
    let mut a = again.meta.iter();
    for (k, v) in msg.meta.iter() {
        if k.raw().is_empty() && v.raw().is_empty() {
            continue;
        }
        let Some((k2, v2)) = a.next() else {
            panic!("a meta pair was lost");
        };
        assert!(k.bytes().eq(k2.bytes()) && v.bytes().eq(v2.bytes()));
    }
}

fn same_text(
    a: Option<teleport_core::escape::Escaped<'_>>,
    b: Option<teleport_core::escape::Escaped<'_>>,
) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.bytes().eq(b.bytes()),
        (None, None) => true,
        // An absent and an empty value are the same on the wire.
        (Some(x), None) | (None, Some(x)) => x.bytes().next().is_none(),
    }
}

// ----- structured round trips ------------------------------------------------

/// A message built from arbitrary header fields.
#[derive(Arbitrary, Debug)]
pub struct ArbMessage {
    seq: i32,
    mtype: u8,
    service_method: String,
    code: i32,
    msg: Option<String>,
    cause: Option<String>,
    meta: Vec<(String, String)>,
    body_codec: u8,
    body: Vec<u8>,
    /// Transfer filters: bit 0 gzip, bit 1 md5, bit 2 their order.
    xfer: u8,
    /// Byte edits applied to the encoded frame before decoding it again.
    mutations: Vec<(u16, u8)>,
}

/// Encode an arbitrary message (through gzip/md5 when chosen), decode it
/// and compare every field; then decode mutated copies (no panic, bounded).
#[cfg(feature = "alloc")]
pub fn frame_roundtrip(data: &[u8]) {
    use teleport_core::xfer::XferFilters;
    use teleport_core::{Meta, Status};

    let Ok(input) = ArbMessage::arbitrary(&mut Unstructured::new(data)) else {
        return;
    };
    let Ok(mtype) = Mtype::try_from(1 + input.mtype % 5) else {
        unreachable!("1..=5 are the message types")
    };
    let mut status = Status::new(input.code, input.msg.clone().unwrap_or_default());
    if let Some(cause) = &input.cause {
        status = status.with_cause(cause.clone());
    }
    let meta: Meta = input.meta.iter().cloned().collect();
    let pipe: &[u8] = match input.xfer & 7 {
        1 | 5 => b"g",
        2 | 6 => b"m",
        3 => b"gm",
        7 => b"mg",
        _ => b"",
    };
    let repr = MessageRepr {
        seq: Seq(input.seq),
        mtype,
        service_method: &input.service_method,
        status: &status,
        meta: &meta,
        body_codec: input.body_codec,
        body: &input.body,
    };
    let filters = XferFilters::with_defaults();
    let mut frame = Vec::new();
    if filters
        .encode_to(&repr, pipe, &mut frame, FUZZ_FRAME_LIMIT)
        .is_err()
    {
        return;
    }
    let Ok(Decoded::Frame(raw)) = decode_frame(&frame, FUZZ_FRAME_LIMIT) else {
        panic!("an encoded frame did not decode");
    };
    assert_eq!(raw.len(), frame.len());
    assert_eq!(raw.xfer(), pipe);
    let mut scratch = Vec::new();
    let msg = filters
        .decode(&raw, &mut scratch, 1 << 20)
        .expect("an encoded message decodes");
    assert_eq!(msg.seq, Seq(input.seq));
    assert_eq!(msg.mtype, mtype);
    assert_eq!(msg.service_method, input.service_method);
    assert_eq!(msg.body_codec, input.body_codec);
    assert_eq!(msg.body, &input.body[..]);
    assert_eq!(msg.status.code, input.code);
    let decoded_status = msg.status.to_owned().expect("status text is UTF-8");
    assert_eq!(decoded_status.code, input.code);
    // An OK status carries no text on the wire.
    if input.code != 0 {
        assert_eq!(decoded_status.msg, input.msg.unwrap_or_default());
        assert_eq!(decoded_status.cause, input.cause);
    }
    let decoded_meta = Meta::from_view(msg.meta).expect("meta text is UTF-8");
    let want: Vec<_> = meta
        .iter()
        .filter(|(k, v)| !(k.is_empty() && v.is_empty()))
        .collect();
    let got: Vec<_> = decoded_meta.iter().collect();
    assert_eq!(got, want);

    // Mutations: whatever decodes must stay within the limits.
    for &(at, value) in input.mutations.iter().take(8) {
        let at = usize::from(at) % frame.len().max(1);
        if let Some(b) = frame.get_mut(at) {
            *b = value;
        }
        if let Ok(Decoded::Frame(raw)) = decode_frame(&frame, FUZZ_FRAME_LIMIT) {
            let mut scratch = Vec::new();
            if let Ok(msg) = filters.decode(&raw, &mut scratch, 1 << 16) {
                check_message_view(&msg);
                assert!(scratch.len() <= 1 << 16);
            }
        }
    }
}

// ----- metadata and status ---------------------------------------------------

/// Status and metadata parsers on arbitrary text, and owned metadata
/// through the wire text and back.
pub fn meta_status(data: &[u8]) {
    let (a, b) = data.split_at(data.len() / 2);
    check_status(StatusView::parse(a));
    let view = MetaView::new(b);
    for (k, v) in view.iter() {
        let mut buf = [0u8; 256];
        let _ = k.decode_into(&mut buf);
        let _ = v.decode_into(&mut buf);
    }
    if let Ok(uri) = core::str::from_utf8(a) {
        let (path, query) = teleport_core::uri::split_query(uri);
        assert!(uri.starts_with(path));
        let _ = query.iter().count();
    }
    #[cfg(feature = "alloc")]
    {
        if let Ok(status) = StatusView::parse(a).to_owned() {
            let again = reencode_status(&status);
            assert_eq!(again.code, status.code);
        }
        if let Ok(meta) = teleport_core::Meta::from_view(view) {
            let mut text = Vec::new();
            teleport_core::meta::MetaText::encode(&meta, &mut text);
            let back = teleport_core::Meta::from_view(MetaView::new(&text))
                .expect("our own meta text is valid");
            let want: Vec<_> = meta
                .iter()
                .filter(|(k, v)| !(k.is_empty() && v.is_empty()))
                .collect();
            assert_eq!(back.iter().collect::<Vec<_>>(), want);
        }
    }
}

#[cfg(feature = "alloc")]
fn reencode_status(status: &teleport_core::Status) -> teleport_core::Status {
    let mut text = Vec::new();
    teleport_core::status::StatusText::encode(status, &mut text);
    let again = StatusView::parse(&text)
        .to_owned()
        .expect("our own status text is valid");
    if status.code != 0 {
        assert_eq!(&again, status);
    }
    again
}

// ----- transfer filters ------------------------------------------------------

/// Unpack arbitrary bytes through an arbitrary pipe: the output never
/// exceeds the limit. Then pack and unpack the same bytes: a round trip.
#[cfg(feature = "alloc")]
pub fn xfer_unpack(data: &[u8]) {
    use teleport_core::xfer::XferFilters;
    let [n, l0, l1, rest @ ..] = data else {
        return;
    };
    let pipe_len = usize::from(n % 4).min(rest.len());
    let (pipe, payload) = rest.split_at(pipe_len);
    let limit = usize::from(u16::from_le_bytes([*l0, *l1])) * 16;
    let filters = XferFilters::with_defaults();
    if let Ok(out) = filters.unpack(pipe, payload, limit) {
        assert!(out.len() <= limit, "unpacked {} > limit {limit}", out.len());
    }
    // Round trip through known filters only.
    let known: Vec<u8> = pipe
        .iter()
        .map(|b| if b % 2 == 0 { b'g' } else { b'm' })
        .collect();
    let packed = filters
        .pack(&known, payload.to_vec())
        .expect("packing known filters works");
    let unpacked = filters
        .unpack(&known, &packed, 2 * payload.len() + 1024)
        .expect("our own packing unpacks");
    assert_eq!(unpacked, payload);
}

// ----- routing ---------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum H {
    Add,
    Home,
    Tick,
    Unknown,
}

static MATH: StaticGroup<'static> = StaticGroup {
    prefix: "/math",
    parent: None,
    plugins: &[],
};
static ROUTES: [StaticRoute<'static, H>; 3] = [
    StaticRoute {
        group: Some(&MATH),
        ..StaticRoute::call("/add", H::Add)
    },
    StaticRoute::call("/home/test", H::Home),
    StaticRoute::push("/telemetry/tick", H::Tick),
];

fn static_router(ignore_case: bool) -> StaticRouter<'static, H> {
    StaticRouter {
        routes: &ROUTES,
        plugins: &[],
        unknown_call: Some(H::Unknown),
        unknown_push: None,
        ignore_case,
    }
}

/// Route arbitrary service methods: the static table and the dynamic router
/// with the same routes must agree, and a hit must really match the path.
pub fn router(data: &[u8]) {
    let Some((&flags, text)) = data.split_first() else {
        return;
    };
    let Ok(uri) = core::str::from_utf8(text) else {
        return;
    };
    let ignore_case = flags & 1 == 1;
    let kind = if flags & 2 == 0 {
        RouteKind::Call
    } else {
        RouteKind::Push
    };
    let (path, query) = teleport_core::uri::split_query(uri);
    assert!(uri.starts_with(path));
    let _ = query.iter().count();
    let table = static_router(ignore_case);
    let found = table.find(kind, path).map(|(_, h)| *h);
    let expect = |name: &str| {
        if ignore_case {
            path.eq_ignore_ascii_case(name)
        } else {
            path == name
        }
    };
    match found {
        Some(H::Add) => assert!(expect("/math/add")),
        Some(H::Home) => assert!(expect("/home/test")),
        Some(H::Tick) => assert!(expect("/telemetry/tick")),
        Some(H::Unknown) => assert_eq!(kind, RouteKind::Call),
        None => assert_eq!(kind, RouteKind::Push),
    }
    #[cfg(feature = "alloc")]
    {
        use teleport_core::router::Router;
        let mut dynamic = Router::new(Default::default());
        dynamic.set_ignore_case(ignore_case);
        let math = dynamic.group(None, "math");
        let _ = dynamic.route_in(RouteKind::Call, math, "add", H::Add);
        let _ = dynamic.route(RouteKind::Call, "/home/test", H::Home);
        let _ = dynamic.route(RouteKind::Push, "/telemetry/tick", H::Tick);
        dynamic.set_unknown_call(H::Unknown);
        assert_eq!(dynamic.find(kind, path).map(|(_, h)| *h), found);
        // Registering arbitrary names never panics; a name that registered
        // routes to itself.
        let mut free = Router::new(Default::default());
        if free.route(kind, uri, H::Home).is_ok() {
            let registered: Vec<_> = free.routes().map(|(_, p, _)| p.to_owned()).collect();
            for p in registered {
                assert_eq!(free.find(kind, &p).map(|(_, h)| *h), Some(H::Home));
            }
        }
        let _ = teleport_core::router::names::snake_case(uri);
    }
}

// ----- the connection state machine ------------------------------------------

/// One thing that happens to a connection.
#[derive(Arbitrary, Debug)]
enum Op {
    /// Raw bytes from the peer.
    Bytes(Vec<u8>),
    /// A well-formed frame from the peer, fed in two chunks.
    Frame {
        seq: u8,
        mtype: u8,
        method: u8,
        meta: u8,
        body: Vec<u8>,
        gzip: bool,
        split: u16,
    },
    Call {
        method: u8,
        timeout_ms: Option<u16>,
    },
    Push {
        method: u8,
    },
    Reply {
        index: u8,
        code: u8,
    },
    AuthCall,
    AuthReply {
        ok: bool,
    },
    Transmit(u16),
    Advance(u16),
    Timeout,
    Close {
        drain_ms: Option<u16>,
    },
    Eof,
    TransportError,
}

const METHODS: [&str; 6] = ["/a", "/b?x=1&y=%zz", "/heartbeat", "/nope", "", "/A"];
const METAS: [&[(&str, &str)]; 5] = [
    &[],
    &[("hb_", "3")],
    &[("hb_", "x!")],
    &[("X-Accept-Body-Codec", "115")],
    &[("k", "%"), ("", "v")],
];

static CONN_ROUTES: [StaticRoute<'static, u8>; 3] = [
    StaticRoute::call("/a", 1),
    StaticRoute::call("/b", 2),
    StaticRoute::push("/a", 3),
];

#[derive(Arbitrary, Debug)]
struct ArbConfig {
    frame_limit: u16,
    send_queue_limit: u16,
    max_outbound: u8,
    max_inbound: u8,
    context_age_ms: Option<u16>,
    session_age_ms: Option<u16>,
    auth: u8,
    ping: Option<(u8, bool)>,
    pong: bool,
    read_timeout_ms: Option<u16>,
    write_timeout_ms: Option<u16>,
    server: bool,
    ignore_case: bool,
}

impl ArbConfig {
    fn config(&self) -> Config {
        let ms = |v: Option<u16>| v.map(|v| Duration::from_millis(u64::from(v) + 1));
        Config {
            frame_limit: 64 + u32::from(self.frame_limit % 4096),
            send_queue_limit: 64 + usize::from(self.send_queue_limit % 4096),
            max_outbound_calls: 1 + usize::from(self.max_outbound % 6),
            max_inbound_calls: 1 + usize::from(self.max_inbound % 6),
            context_age: ms(self.context_age_ms),
            session_age: ms(self.session_age_ms),
            auth: match self.auth % 3 {
                0 => Auth::None,
                1 => Auth::Bearer,
                _ => Auth::Checker,
            },
            handshake_timeout: ms(self.session_age_ms.map(|v| v / 2)),
            ping: self.ping.map(|(rate, use_call)| Ping {
                rate_secs: u32::from(rate % 4),
                use_call,
            }),
            pong: self.pong,
            read_timeout: ms(self.read_timeout_ms),
            write_timeout: ms(self.write_timeout_ms),
            ..Config::new()
        }
    }
}

/// What the harness learned from one event.
enum Seen {
    Outcome(Seq),
    Call(Seq),
    AuthCall,
    Other,
}

/// Feed a connection an arbitrary interleaving of peer bytes, application
/// requests, replies, closes and clock moves. Invariants:
/// - no panic, no event storm (every `poll_event` loop ends);
/// - tables and queues stay within their configured capacity;
/// - each of our calls gets exactly one outcome, and all of them do once
///   the connection closed;
/// - replies are only accepted for calls the application saw.
pub fn conn_ops<S: Storage>(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(arb) = ArbConfig::arbitrary(&mut u) else {
        return;
    };
    let config = arb.config();
    let router = StaticRouter {
        routes: &CONN_ROUTES,
        plugins: &[],
        unknown_call: None,
        unknown_push: None,
        ignore_case: arb.ignore_case,
    };
    let role = if arb.server {
        Role::Server
    } else {
        Role::Client
    };
    let mut now = Instant::from_millis(1);
    let mut conn: Connection<S, _> = Connection::new(config, role, router, now);
    let mut open_calls: Vec<Seq> = Vec::new();
    let mut peer_calls: Vec<Seq> = Vec::new();
    let mut auth_pending = false;
    let mut frame = Vec::new();

    let mut ops = 0;
    while let Ok(op) = Op::arbitrary(&mut u) {
        ops += 1;
        if ops > 256 {
            break;
        }
        match op {
            Op::Bytes(b) => feed(&mut conn, &b, now),
            Op::Frame {
                seq,
                mtype,
                method,
                meta,
                body,
                gzip,
                split,
            } => {
                frame.clear();
                let repr = MessageRepr {
                    seq: Seq(i32::from(seq % 8)),
                    mtype: Mtype::try_from(1 + mtype % 5).unwrap_or(Mtype::Call),
                    service_method: METHODS[usize::from(method) % METHODS.len()],
                    status: if mtype & 0x80 == 0 {
                        StatusRef::OK
                    } else {
                        StatusRef::NOT_FOUND
                    },
                    meta: METAS[usize::from(meta) % METAS.len()],
                    body_codec: b'j',
                    body: &body,
                };
                if !encode_frame(&repr, gzip, &mut frame) {
                    continue;
                }
                let at = usize::from(split) % (frame.len() + 1);
                feed(&mut conn, &frame[..at], now);
                feed(&mut conn, &frame[at..], now);
            }
            Op::Call { method, timeout_ms } => {
                let mut msg = Outgoing::new(b'j', b"1");
                if let Some(t) = timeout_ms {
                    msg = msg.with_timeout(Duration::from_millis(u64::from(t)));
                }
                let uri = METHODS[usize::from(method) % METHODS.len()];
                if let Ok(seq) = conn.call(uri, msg, now) {
                    assert!(!open_calls.contains(&seq), "seq {seq:?} reused while open");
                    open_calls.push(seq);
                }
            }
            Op::Push { method } => {
                let uri = METHODS[usize::from(method) % METHODS.len()];
                let _ = conn.push(uri, Outgoing::new(b'j', b"2"), now);
            }
            Op::Reply { index, code } => {
                if !peer_calls.is_empty() {
                    let seq = peer_calls[usize::from(index) % peer_calls.len()];
                    let status = if code % 2 == 0 {
                        StatusRef::OK
                    } else {
                        StatusRef::new(400 + i32::from(code), "x")
                    };
                    if conn
                        .reply(seq, status, Outgoing::new(b'j', b"3"), now)
                        .is_ok()
                    {
                        peer_calls.retain(|s| *s != seq);
                    }
                } else {
                    assert!(
                        conn.reply(
                            Seq(i32::from(index)),
                            StatusRef::OK,
                            Outgoing::new(b'j', b"3"),
                            now
                        )
                        .is_err(),
                        "a reply to a call nobody saw was accepted"
                    );
                }
            }
            Op::AuthCall => {
                let _ = conn.auth_call(Outgoing::new(b'j', b"\"token\""), now);
            }
            Op::AuthReply { ok } => {
                let status = if ok {
                    StatusRef::OK
                } else {
                    StatusRef::UNAUTHORIZED
                };
                let sent = conn.auth_reply(status, Outgoing::new(b'j', b""), now);
                assert!(
                    auth_pending || sent.is_err(),
                    "auth reply without an AUTH_CALL"
                );
                auth_pending &= sent.is_err() && conn.state() != State::Closed;
            }
            Op::Transmit(n) => {
                let queued = conn.poll_transmit().len();
                conn.advance_transmit(usize::from(n).min(queued));
            }
            Op::Advance(ms) => {
                now = now + Duration::from_millis(u64::from(ms));
                conn.handle_timeout(now);
            }
            Op::Timeout => {
                if let Some(t) = conn.poll_timeout() {
                    assert!(t != Instant::NEVER);
                    now = now.max(t);
                    conn.handle_timeout(now);
                }
            }
            Op::Close { drain_ms } => {
                conn.close(drain_ms.map(|d| Duration::from_millis(u64::from(d))), now);
            }
            Op::Eof => conn.handle_eof(now),
            Op::TransportError => conn.handle_transport_error(now),
        }
        drain(
            &mut conn,
            &mut open_calls,
            &mut peer_calls,
            &mut auth_pending,
        );
        check_bounds(&conn, &config, open_calls.len());
    }

    // The end: close at once; every call we made has its outcome.
    conn.close(None, now);
    drain(
        &mut conn,
        &mut open_calls,
        &mut peer_calls,
        &mut auth_pending,
    );
    assert_eq!(conn.state(), State::Closed);
    assert!(
        open_calls.is_empty(),
        "calls without an outcome: {open_calls:?}"
    );
    assert!(conn.outbound_calls().is_empty());
    assert!(conn.inbound_calls().is_empty());
    let queued = conn.poll_transmit().len();
    conn.advance_transmit(queued);
    assert!(conn.is_finished());
    assert!(conn.poll_timeout().is_none());
}

fn encode_frame<St, Me>(repr: &MessageRepr<'_, St, Me>, gzip: bool, out: &mut Vec<u8>) -> bool
where
    St: teleport_core::status::StatusText,
    Me: teleport_core::meta::MetaText,
{
    #[cfg(feature = "alloc")]
    if gzip {
        let filters = teleport_core::xfer::XferFilters::with_defaults();
        return filters.encode_to(repr, b"g", out, u32::MAX).is_ok();
    }
    let _ = gzip;
    let Ok(len) = repr.frame_len() else {
        return false;
    };
    out.resize(len, 0);
    repr.encode(out, u32::MAX).is_ok()
}

fn feed<S: Storage, R: Routes>(conn: &mut Connection<S, R>, mut bytes: &[u8], now: Instant) {
    // Offer everything; what does not fit is dropped, as a transport that
    // closes would (the harness does not model back-pressure here).
    for _ in 0..64 {
        if bytes.is_empty() {
            return;
        }
        let n = conn.handle_input(bytes, now);
        if n == 0 {
            return;
        }
        bytes = &bytes[n..];
    }
}

fn drain<S: Storage, R: Routes>(
    conn: &mut Connection<S, R>,
    open_calls: &mut Vec<Seq>,
    peer_calls: &mut Vec<Seq>,
    auth_pending: &mut bool,
) {
    for _ in 0..10_000 {
        let seen = match conn.poll_event() {
            None => return,
            Some(Event::Outcome { seq, outcome }) => {
                if let Outcome::Replied(m) = outcome {
                    assert_eq!(m.seq, seq);
                    assert_eq!(m.mtype, Mtype::Reply);
                }
                Seen::Outcome(seq)
            }
            Some(Event::Call(incoming)) => {
                assert_eq!(incoming.message.mtype, Mtype::Call);
                Seen::Call(incoming.message.seq)
            }
            Some(Event::Push(incoming)) => {
                assert_eq!(incoming.message.mtype, Mtype::Push);
                Seen::Other
            }
            Some(Event::AuthCall(_)) => Seen::AuthCall,
            Some(Event::AuthResult { .. } | Event::Warning(_) | Event::Closed(_)) => Seen::Other,
        };
        match seen {
            Seen::Outcome(seq) => {
                let at = open_calls.iter().position(|s| *s == seq);
                let at = at.unwrap_or_else(|| panic!("outcome for {seq:?}: not open or twice"));
                open_calls.swap_remove(at);
            }
            Seen::Call(seq) => {
                assert!(!peer_calls.contains(&seq), "call {seq:?} surfaced twice");
                peer_calls.push(seq);
            }
            Seen::AuthCall => *auth_pending = true,
            Seen::Other => {}
        }
    }
    panic!("event storm: 10,000 events without the connection going idle");
}

fn check_bounds<S: Storage, R: Routes>(conn: &Connection<S, R>, config: &Config, open: usize) {
    let outbound = conn.outbound_calls();
    assert!(
        outbound.len() <= config.max_outbound_calls + 1,
        "outbound table over cap"
    );
    assert!(outbound.iter().filter(|c| !c.is_heartbeat()).count() == open);
    assert!(conn.inbound_calls().len() <= config.max_inbound_calls);
    assert!(conn.recv_buffered() <= conn.recv_capacity());
    assert!(conn.poll_transmit().len() <= conn.send_capacity().max(config.send_queue_limit));
    if conn.state() == State::Closed {
        assert!(conn.poll_timeout().is_none());
    }
}
