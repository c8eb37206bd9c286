//! The connection state machine: everything a Teleport peer does on one
//! connection, with no IO.
//!
//! Feed it received bytes ([`Connection::handle_input`] or the zero-copy
//! [`Connection::recv_buffer`] / [`Connection::recv_commit`]), the
//! application's calls, pushes and replies, and the current time. Take from
//! it bytes to transmit ([`Connection::poll_transmit`], every queued frame as
//! one slice), events ([`Connection::poll_event`]) and the next deadline
//! ([`Connection::poll_timeout`]).
//!
//! Guarantees:
//! - every call we make ends in exactly one [`Event::Outcome`]: the reply, a
//!   timeout (408), a plugin rejection, or connection closed (102);
//! - every peer CALL the application sees must be answered once with
//!   [`Connection::reply`]; the connection answers by itself with 404, 400,
//!   401, 503 or 102 where the application never sees the call;
//! - every byte sequence from the peer is legal input: bad frames close the
//!   connection with a [`CloseReason`] (after a 400 where the seq was
//!   readable), never panic, and never grow a buffer past its limit.
//!
//! ```
//! use teleport_core::conn::{Config, Connection, Event, Growable, Outgoing};
//! use teleport_core::router::{NoRoutes, Role, RouteKind, Router};
//! use teleport_core::{Instant, StatusRef};
//!
//! let mut router = Router::new(Default::default());
//! router.route(RouteKind::Call, "/math/add", "add")?;
//! let now = Instant::ZERO;
//! let mut server: Connection<Growable, _> = Connection::new(Config::new(), Role::Server, router, now);
//! let mut client: Connection<Growable, _> = Connection::new(Config::new(), Role::Client, NoRoutes, now);
//!
//! let seq = client.call("/math/add", Outgoing::new(b'j', b"[1,2]"), now)?;
//! server.handle_input(client.poll_transmit(), now);
//! client.advance_transmit(usize::MAX);
//!
//! let Some(Event::Call(call)) = server.poll_event() else { panic!() };
//! assert_eq!((*call.handler, call.message.body), ("add", &b"[1,2]"[..]));
//! let call_seq = call.message.seq;
//! server.reply(call_seq, StatusRef::OK, Outgoing::new(b'j', b"3"), now)?;
//!
//! client.handle_input(server.poll_transmit(), now);
//! let Some(Event::Outcome { seq: done, outcome }) = client.poll_event() else { panic!() };
//! assert_eq!(done, seq);
//! assert!(outcome.is_ok());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod storage;
mod types;

pub use storage::{ArrayQueue, ArrayTable, ByteQueue, Fixed, Keyed, SeqTable, Storage};
#[cfg(feature = "alloc")]
pub use storage::{Growable, VecQueue};
pub use types::{
    Auth, CloseReason, Config, Event, InboundCall, Incoming, MAX_REPLY_XFER, OutboundCall, Outcome,
    Outgoing, Ping, ProtocolError, SendError, Stats, Warning,
};

use core::time::Duration;

use crate::error::{DecodeErrorKind, Field};
use crate::escape::Escaped;
use crate::frame::{Decoded, decode_frame};
use crate::meta::{META_ACCEPT_BODY_CODEC, META_HEARTBEAT, MetaText, NoMeta};
use crate::router::{
    ChainMeta, ExtraMeta, MethodBuf, ReadHeader, ReadHook, Reject, Role, RouteId, RouteKind,
    Routes, WriteHeader, run_write_hook,
};
use crate::status::StatusText;
use crate::{DecodeError, Instant, MessageRepr, MessageView, Mtype, Seq, StatusRef};

/// Service method of the heartbeat plugin.
pub const HEARTBEAT_PATH: &str = "/heartbeat";

/// The status a CALL gets when too many of the peer's calls are unanswered.
pub const BUSY: Reject =
    StatusRef::new(503, "Service Unavailable").with_cause("too many calls in flight");

/// Free send-queue room needed before reading a frame the connection may
/// answer by itself (a 400/401/404 with a cause fits easily).
const ANSWER_RESERVE: usize = 384;

/// How many timed-out seqs are remembered to tell late replies from unknown ones.
const TIMED_OUT_MEMORY: usize = 16;

/// Longest cause text built from peer data (decode errors, heartbeat rates).
const CAUSE_CAPACITY: usize = 160;

/// Where the connection is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum State {
    /// The auth exchange is under way: only auth messages pass.
    Handshake,
    /// Calls and pushes flow both ways.
    Open,
    /// A graceful close: in-flight calls finish, no new ones start.
    Draining,
    /// Closed: transmit what is queued, then close the transport.
    Closed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AuthState {
    Done,
    /// Bearer: the application has not sent AUTH_CALL yet.
    BearerIdle,
    /// Bearer: AUTH_CALL sent, waiting for AUTH_REPLY.
    BearerWaiting,
    /// Checker: waiting for the peer's AUTH_CALL.
    CheckerWaiting,
    /// Checker: AUTH_CALL handed to the application, waiting for its answer.
    CheckerAnswering,
}

/// The sending half: the queue and what encoding needs.
struct Out<Q> {
    queue: Q,
    frame_limit: u32,
    extra_meta: ExtraMeta,
    frames_out: u64,
    #[cfg(feature = "alloc")]
    filters: Option<alloc::sync::Arc<crate::xfer::XferFilters>>,
    #[cfg(feature = "alloc")]
    scratch: alloc::vec::Vec<u8>,
}

impl<Q: ByteQueue> Out<Q> {
    /// Run pre-write hooks, then encode `repr` through `xfer` into the queue.
    fn write<R: Routes, St: StatusText, Me: MetaText>(
        &mut self,
        router: &R,
        route: Option<RouteId>,
        repr: &MessageRepr<'_, St, Me>,
        status_code: i32,
        xfer: &[u8],
    ) -> Result<(), SendError> {
        self.extra_meta.clear();
        if matches!(repr.mtype, Mtype::Call | Mtype::Push | Mtype::Reply) {
            let mut header = WriteHeader {
                seq: repr.seq,
                mtype: repr.mtype,
                service_method: repr.service_method,
                body_codec: repr.body_codec,
                body_len: repr.body.len(),
                status_code,
                extra_meta: &mut self.extra_meta,
            };
            router
                .visit_plugins(None, &mut |p| run_write_hook(p, &mut header))
                .map_err(SendError::Rejected)?;
            if route.is_some() {
                router
                    .visit_plugins(route, &mut |p| run_write_hook(p, &mut header))
                    .map_err(SendError::Rejected)?;
            }
        }
        let chained = MessageRepr {
            seq: repr.seq,
            mtype: repr.mtype,
            service_method: repr.service_method,
            status: &repr.status,
            meta: ChainMeta {
                first: &repr.meta,
                extra: self.extra_meta.as_bytes(),
            },
            body_codec: repr.body_codec,
            body: repr.body,
        };
        if xfer.is_empty() {
            let size = chained.frame_len()?;
            let spare = room(&mut self.queue, self.frame_limit, size)?;
            let n = chained.encode(spare, u32::MAX)?;
            self.queue.commit(n);
        } else {
            #[cfg(feature = "alloc")]
            {
                let filters = self.filters.as_deref().ok_or(SendError::Xfer)?;
                write_filtered(
                    &mut self.queue,
                    self.frame_limit,
                    filters,
                    &mut self.scratch,
                    &chained,
                    xfer,
                )?;
            }
            #[cfg(not(feature = "alloc"))]
            return Err(SendError::Xfer);
        }
        self.frames_out += 1;
        Ok(())
    }
}

/// A slice of at least `size` free bytes at the back of `queue`.
fn room<Q: ByteQueue>(
    queue: &mut Q,
    frame_limit: u32,
    size: usize,
) -> Result<&mut [u8], SendError> {
    if size > frame_limit as usize || size > queue.capacity() {
        return Err(SendError::TooLarge { needed: size });
    }
    let spare = queue.spare(size);
    if spare.len() < size {
        return Err(SendError::WouldBlock { needed: size });
    }
    Ok(spare)
}

/// Encode through transfer filters (via `scratch`), then queue.
#[cfg(feature = "alloc")]
fn write_filtered<Q: ByteQueue, St: StatusText, Me: MetaText>(
    queue: &mut Q,
    frame_limit: u32,
    filters: &crate::xfer::XferFilters,
    scratch: &mut alloc::vec::Vec<u8>,
    repr: &MessageRepr<'_, St, Me>,
    xfer: &[u8],
) -> Result<(), SendError> {
    if !filters.knows_all(xfer) {
        return Err(SendError::Xfer);
    }
    scratch.clear();
    let size = filters
        .encode_to(repr, xfer, scratch, frame_limit)
        .map_err(|e| match e {
            crate::EncodeError::FrameTooLarge { size, .. } => SendError::TooLarge { needed: size },
            e => SendError::Encode(e),
        })?;
    let spare = room(queue, frame_limit, size)?;
    spare
        .get_mut(..size)
        .ok_or(SendError::WouldBlock { needed: size })?
        .copy_from_slice(scratch.get(..size).unwrap_or_default());
    queue.commit(size);
    Ok(())
}

/// A heartbeat's `hb_` value.
#[derive(Clone, Copy)]
enum HeartbeatRate {
    /// No value, or empty: just proves liveness.
    Refresh,
    /// Seconds.
    Secs(u32),
    /// Unparsable or negative (kept for the 400's cause).
    Invalid(CauseText),
}

/// A short text built from peer data for a status cause.
#[derive(Clone, Copy)]
struct CauseText {
    buf: [u8; CAUSE_CAPACITY],
    len: usize,
}

impl CauseText {
    fn new() -> Self {
        Self {
            buf: [0; CAUSE_CAPACITY],
            len: 0,
        }
    }

    fn as_str(&self) -> &str {
        let bytes = self.buf.get(..self.len).unwrap_or_default();
        match core::str::from_utf8(bytes) {
            Ok(s) => s,
            // Truncation may have split a character: keep the valid part.
            Err(e) => core::str::from_utf8(bytes.get(..e.valid_up_to()).unwrap_or_default())
                .unwrap_or_default(),
        }
    }
}

impl core::fmt::Write for CauseText {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let n = s.len().min(CAUSE_CAPACITY - self.len);
        if let (Some(dst), Some(src)) = (
            self.buf.get_mut(self.len..self.len + n),
            s.as_bytes().get(..n),
        ) {
            dst.copy_from_slice(src);
            self.len += n;
        }
        Ok(())
    }
}

fn parse_heartbeat_rate(value: Option<Escaped<'_>>) -> HeartbeatRate {
    let Some(value) = value else {
        return HeartbeatRate::Refresh;
    };
    if value.raw().is_empty() {
        return HeartbeatRate::Refresh;
    }
    let mut secs: u64 = 0;
    let mut valid = true;
    let mut digits = 0;
    for (i, b) in value.bytes().enumerate() {
        digits = i + 1;
        if b.is_ascii_digit() && i < 10 {
            secs = secs * 10 + u64::from(b - b'0');
        } else {
            valid = false;
            break;
        }
    }
    match u32::try_from(secs) {
        Ok(secs) if valid && digits > 0 => HeartbeatRate::Secs(secs),
        _ => {
            let mut cause = CauseText::new();
            for b in value.bytes().take(CAUSE_CAPACITY) {
                let _ = core::fmt::Write::write_char(&mut cause, char::from(b));
            }
            HeartbeatRate::Invalid(cause)
        }
    }
}

/// The `X-Accept-Body-Codec` meta: 1 to 3 decimal digits naming a non-zero
/// codec id; anything else is ignored (0).
fn parse_accept_codec(meta: crate::MetaView<'_>) -> u8 {
    let Some(value) = meta.get(META_ACCEPT_BODY_CODEC) else {
        return 0;
    };
    let mut n: u16 = 0;
    for (i, b) in value.bytes().enumerate() {
        if !b.is_ascii_digit() || i == 3 {
            return 0;
        }
        n = n * 10 + u16::from(b - b'0');
    }
    u8::try_from(n).unwrap_or(0)
}

/// What the connection decided about a peer CALL.
enum CallDecision {
    Accept { route: RouteId, rewritten: bool },
    Refuse { status: Reject, warning: Warning },
    Heartbeat(HeartbeatRate),
}

/// What to hand to the application next; frame-carrying ones refer to the
/// frame at the front of the receive queue.
#[derive(Clone, Copy)]
enum Ready {
    Call { route: RouteId, rewritten: bool },
    Push { route: RouteId, rewritten: bool },
    Reply { seq: Seq, rejected: Option<Reject> },
    AuthCall,
    AuthResult { has_reply: bool, code: i32 },
    TimedOut(Seq),
    ConnectionClosed(Seq),
    Warning(Warning),
    Closed(CloseReason),
}

enum Step {
    Idle,
    Continue,
    Ready(Ready),
}

/// One Teleport connection as a state machine. `S` chooses the storage
/// ([`Fixed`] or `Growable`), `R` the router.
pub struct Connection<S: Storage, R: Routes> {
    config: Config,
    role: Role,
    router: R,
    recv: S::Recv,
    out: Out<S::Send>,
    outbound: S::Outbound,
    inbound: S::Inbound,
    state: State,
    auth: AuthState,
    now: Instant,
    opened: Instant,
    next_seq: i32,
    drain_deadline: Instant,
    close_reason: Option<CloseReason>,
    closed_reported: bool,
    eof: bool,
    /// Length of the frame the last event borrowed; dropped on the next call.
    surfaced_len: usize,
    /// Last CALL/PUSH written or read (drives our pings).
    last_activity: Instant,
    /// Last frame read (the pong watchdog and the read timeout).
    last_read: Instant,
    /// Last time the send queue was seen empty or made progress.
    send_progress: Instant,
    /// `advance_transmit` moved bytes since `send_progress` was stamped.
    sent_since_stamp: bool,
    /// The rate the peer's heartbeats announced, once positive.
    pong_rate_secs: Option<u32>,
    ping_outstanding: bool,
    /// Never later than the earliest deadline among our calls.
    next_call_deadline: Instant,
    timed_out: [Seq; TIMED_OUT_MEMORY],
    timed_out_next: usize,
    method_buf: MethodBuf,
    stats: Stats,
    #[cfg(feature = "alloc")]
    unpacked: alloc::vec::Vec<u8>,
}

impl<S: Storage, R: Routes> core::fmt::Debug for Connection<S, R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connection")
            .field("role", &self.role)
            .field("state", &self.state)
            .field("outbound", &self.outbound.len())
            .field("inbound", &self.inbound.len())
            .field("recv_buffered", &self.recv.len())
            .field("send_queued", &self.out.queue.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl<S: Storage, R: Routes> Connection<S, R> {
    /// A connection that opened at `now`. Runs the router's `on_accept`
    /// (server) or `on_dial` (client) plugins; a rejection closes it at once.
    pub fn new(config: Config, role: Role, router: R, now: Instant) -> Self {
        let auth = match config.auth {
            Auth::None => AuthState::Done,
            Auth::Bearer => AuthState::BearerIdle,
            Auth::Checker => AuthState::CheckerWaiting,
        };
        let mut conn = Self {
            recv: S::Recv::with_limit(config.frame_limit as usize),
            out: Out {
                queue: S::Send::with_limit(config.send_queue_limit),
                frame_limit: config.frame_limit,
                extra_meta: ExtraMeta::default(),
                frames_out: 0,
                #[cfg(feature = "alloc")]
                filters: None,
                #[cfg(feature = "alloc")]
                scratch: alloc::vec::Vec::new(),
            },
            outbound: S::Outbound::with_limit(config.max_outbound_calls),
            inbound: S::Inbound::with_limit(config.max_inbound_calls),
            state: if auth == AuthState::Done {
                State::Open
            } else {
                State::Handshake
            },
            auth,
            now,
            opened: now,
            next_seq: 0,
            drain_deadline: Instant::NEVER,
            close_reason: None,
            closed_reported: false,
            eof: false,
            surfaced_len: 0,
            last_activity: now,
            last_read: now,
            send_progress: now,
            sent_since_stamp: false,
            pong_rate_secs: None,
            ping_outstanding: false,
            next_call_deadline: Instant::NEVER,
            timed_out: [Seq(0); TIMED_OUT_MEMORY],
            timed_out_next: 0,
            method_buf: MethodBuf::default(),
            stats: Stats::default(),
            #[cfg(feature = "alloc")]
            unpacked: alloc::vec::Vec::new(),
            config,
            role,
            router,
        };
        let verdict = conn.router.visit_plugins(None, &mut |p| match role {
            Role::Server => p.on_accept(),
            Role::Client => p.on_dial(),
        });
        if let Err(status) = verdict {
            conn.close_now(CloseReason::Rejected(status));
        }
        conn
    }

    /// Use these transfer filters for frames that name them (both ways).
    #[cfg(feature = "alloc")]
    #[must_use]
    pub fn with_xfer_filters(
        mut self,
        filters: alloc::sync::Arc<crate::xfer::XferFilters>,
    ) -> Self {
        self.out.filters = Some(filters);
        self
    }

    // ----- input -------------------------------------------------------

    /// Copy received bytes in; returns how many fit (the rest must be offered
    /// again after events were polled). Any chunking is fine.
    pub fn handle_input(&mut self, data: &[u8], now: Instant) -> usize {
        let spare = self.recv_buffer();
        let n = spare.len().min(data.len());
        if let (Some(dst), Some(src)) = (spare.get_mut(..n), data.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.recv_commit(n, now);
        n
    }

    /// Free room to read into directly (empty when the receive queue is full
    /// or the connection is closed). Follow with [`recv_commit`](Self::recv_commit).
    pub fn recv_buffer(&mut self) -> &mut [u8] {
        self.release_surfaced();
        if self.state == State::Closed || self.eof {
            return &mut [];
        }
        let want = match decode_frame(self.recv.queued(), self.frame_limit()) {
            Ok(Decoded::NeedMore(n)) => n.max(1),
            _ => 1,
        };
        self.recv.spare(want.max(1024))
    }

    /// `n` bytes were written into [`recv_buffer`](Self::recv_buffer).
    pub fn recv_commit(&mut self, n: usize, now: Instant) {
        self.set_now(now);
        self.recv.commit(n);
    }

    /// The peer closed its sending side: buffered frames are still
    /// processed, then the connection closes.
    pub fn handle_eof(&mut self, now: Instant) {
        self.set_now(now);
        self.eof = true;
    }

    /// The transport failed: close at once.
    pub fn handle_transport_error(&mut self, now: Instant) {
        self.set_now(now);
        self.close_now(CloseReason::TransportError);
    }

    /// Time passed: fire whatever deadline is due (call timeouts are
    /// reported by [`poll_event`](Self::poll_event)).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.set_now(now);
        if self.state == State::Closed {
            return;
        }
        if let Some(age) = self.config.session_age
            && now >= self.opened + age
        {
            self.close_now(CloseReason::SessionAge);
            return;
        }
        if self.state == State::Handshake
            && let Some(limit) = self.config.handshake_timeout
            && now >= self.opened + limit
        {
            self.close_now(CloseReason::HandshakeTimeout);
            return;
        }
        if self.state == State::Draining && now >= self.drain_deadline {
            self.close_now(CloseReason::DrainTimeout);
            return;
        }
        if let Some(deadline) = self.pong_deadline()
            && now >= deadline
        {
            self.close_now(CloseReason::HeartbeatTimeout);
            return;
        }
        if let Some(deadline) = self.read_deadline()
            && now >= deadline
        {
            self.close_now(CloseReason::ReadTimeout);
            return;
        }
        if let Some(deadline) = self.write_deadline()
            && now >= deadline
        {
            self.close_now(CloseReason::WriteStalled);
            return;
        }
        if let Some(deadline) = self.ping_deadline()
            && now >= deadline
        {
            self.send_ping();
        }
    }

    // ----- output ------------------------------------------------------

    /// Every queued frame, as one slice (empty when there is nothing to send).
    pub fn poll_transmit(&self) -> &[u8] {
        self.out.queue.queued()
    }

    /// `n` bytes of [`poll_transmit`](Self::poll_transmit) were written.
    pub fn advance_transmit(&mut self, n: usize) {
        self.out.queue.consume(n);
        self.sent_since_stamp |= n > 0;
    }

    /// When [`handle_timeout`](Self::handle_timeout) next needs to run.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.state == State::Closed {
            return None;
        }
        let mut next = Instant::NEVER;
        for call in self.outbound.entries() {
            if let Some(d) = call.deadline {
                next = next.min(d);
            }
        }
        if let Some(age) = self.config.session_age {
            next = next.min(self.opened + age);
        }
        if self.state == State::Handshake
            && let Some(limit) = self.config.handshake_timeout
        {
            next = next.min(self.opened + limit);
        }
        if self.state == State::Draining {
            next = next.min(self.drain_deadline);
        }
        for d in [
            self.pong_deadline(),
            self.ping_deadline(),
            self.read_deadline(),
            self.write_deadline(),
        ]
        .into_iter()
        .flatten()
        {
            next = next.min(d);
        }
        (next != Instant::NEVER).then_some(next)
    }

    /// The next event, if any. The event borrows the connection; the frame
    /// it refers to is released by the next call that takes `&mut self`.
    pub fn poll_event(&mut self) -> Option<Event<'_, R::Handler>> {
        self.release_surfaced();
        let ready = loop {
            match self.step() {
                Step::Idle => return None,
                Step::Continue => {}
                Step::Ready(ready) => break ready,
            }
        };
        Some(self.build_event(ready))
    }

    // ----- application requests ------------------------------------------

    /// Call `service_method` (a `?query` may follow the path). Returns the
    /// seq that identifies the call's [`Event::Outcome`].
    pub fn call<Me: MetaText>(
        &mut self,
        service_method: &str,
        msg: Outgoing<'_, Me>,
        now: Instant,
    ) -> Result<Seq, SendError> {
        self.set_now(now);
        self.check_can_start()?;
        if self.outbound.len() >= self.config.max_outbound_calls || self.outbound.is_full() {
            return Err(SendError::TooManyCalls);
        }
        let seq = self.send_request(Mtype::Call, service_method, &msg)?;
        let deadline = msg.timeout.or(self.config.context_age).map(|t| now + t);
        self.track_call(seq, deadline, false);
        self.last_activity = now;
        Ok(seq)
    }

    /// Push to `service_method`; returns the seq used.
    pub fn push<Me: MetaText>(
        &mut self,
        service_method: &str,
        msg: Outgoing<'_, Me>,
        now: Instant,
    ) -> Result<Seq, SendError> {
        self.set_now(now);
        self.check_can_start()?;
        let seq = self.send_request(Mtype::Push, service_method, &msg)?;
        self.last_activity = now;
        Ok(seq)
    }

    /// Answer the peer's call `seq` (from [`Event::Call`]). An error status
    /// sends no body (codec 0), as the Go framework does. The reply goes
    /// through the request's transfer filters plus any in `msg.xfer`.
    pub fn reply<St: StatusText, Me: MetaText>(
        &mut self,
        seq: Seq,
        status: St,
        msg: Outgoing<'_, Me>,
        now: Instant,
    ) -> Result<(), SendError> {
        self.set_now(now);
        self.release_surfaced();
        if self.state == State::Closed {
            return Err(SendError::Closed);
        }
        let index = self
            .inbound
            .position(seq)
            .ok_or(SendError::UnknownSeq(seq))?;
        let call = self
            .inbound
            .entries()
            .get(index)
            .copied()
            .ok_or(SendError::UnknownSeq(seq))?;
        let code = status.code();
        let (body_codec, body) = if code == 0 {
            (msg.body_codec, msg.body)
        } else {
            (crate::codec::id::NONE, &[][..])
        };
        let mut pipe = [0u8; 2 * MAX_REPLY_XFER];
        let pipe = join_pipes(&mut pipe, call.xfer(), msg.xfer).ok_or(SendError::Xfer)?;
        let repr = MessageRepr {
            seq,
            mtype: Mtype::Reply,
            service_method: "",
            status,
            meta: &msg.meta,
            body_codec,
            body,
        };
        self.out
            .write(&self.router, Some(call.route), &repr, code, pipe)?;
        self.inbound.remove_at(index);
        Ok(())
    }

    /// The codec a reply to call `seq` should use when the handler does not
    /// choose one: the caller's `X-Accept-Body-Codec` if it is one of
    /// `supported`, else the request's codec.
    pub fn reply_codec(&self, seq: Seq, supported: impl Fn(u8) -> bool) -> Option<u8> {
        let call = self.inbound.entries().get(self.inbound.position(seq)?)?;
        Some(if call.accept_codec != 0 && supported(call.accept_codec) {
            call.accept_codec
        } else {
            call.request_codec
        })
    }

    /// (Bearer) Send the AUTH_CALL; the answer arrives as [`Event::AuthResult`].
    pub fn auth_call<Me: MetaText>(
        &mut self,
        msg: Outgoing<'_, Me>,
        now: Instant,
    ) -> Result<Seq, SendError> {
        self.set_now(now);
        if self.state == State::Closed {
            return Err(SendError::Closed);
        }
        if self.auth != AuthState::BearerIdle {
            return Err(SendError::AuthState);
        }
        let seq = self.send_request(Mtype::AuthCall, "", &msg)?;
        self.auth = AuthState::BearerWaiting;
        Ok(seq)
    }

    /// (Checker) Answer the peer's AUTH_CALL ([`Event::AuthCall`]). An OK
    /// status opens the connection; any other closes it after sending.
    pub fn auth_reply<St: StatusText, Me: MetaText>(
        &mut self,
        status: St,
        msg: Outgoing<'_, Me>,
        now: Instant,
    ) -> Result<(), SendError> {
        self.set_now(now);
        self.release_surfaced();
        if self.state == State::Closed {
            return Err(SendError::Closed);
        }
        if self.auth != AuthState::CheckerAnswering {
            return Err(SendError::AuthState);
        }
        let code = status.code();
        let seq = self.peek_seq();
        let repr = MessageRepr {
            seq,
            mtype: Mtype::AuthReply,
            service_method: "",
            status,
            meta: &msg.meta,
            body_codec: msg.body_codec,
            body: msg.body,
        };
        self.out.write(&self.router, None, &repr, code, msg.xfer)?;
        self.commit_seq(seq);
        if code == 0 {
            self.auth = AuthState::Done;
            self.state = State::Open;
            self.last_activity = now;
        } else {
            self.close_now(CloseReason::AuthFailed { code });
        }
        Ok(())
    }

    /// Close. With `drain`, gracefully: no new calls or pushes start, calls
    /// in flight both ways get up to `drain` to finish, then the connection
    /// closes. Without, at once: our calls end with [`Outcome::ConnectionClosed`].
    pub fn close(&mut self, drain: Option<Duration>, now: Instant) {
        self.set_now(now);
        match (self.state, drain) {
            (State::Closed, _) => {}
            (State::Open, Some(d)) => {
                self.state = State::Draining;
                self.drain_deadline = now + d;
            }
            (State::Draining, Some(d)) => self.drain_deadline = self.drain_deadline.min(now + d),
            _ => self.close_now(CloseReason::Local),
        }
    }

    // ----- inspection ----------------------------------------------------

    /// Where the connection is in its life.
    pub fn state(&self) -> State {
        self.state
    }

    /// Why it closed, once closed.
    pub fn close_reason(&self) -> Option<CloseReason> {
        self.close_reason
    }

    /// Closed, every event reported and every byte transmitted: the
    /// transport can be closed.
    pub fn is_finished(&self) -> bool {
        self.state == State::Closed && self.closed_reported && self.out.queue.is_empty()
    }

    /// Which side we are.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The router.
    pub fn router(&self) -> &R {
        &self.router
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        let mut stats = self.stats;
        stats.frames_out = self.out.frames_out;
        stats
    }

    /// Our calls awaiting an outcome (heartbeat calls included).
    pub fn outbound_calls(&self) -> &[OutboundCall] {
        self.outbound.entries()
    }

    /// The peer's calls awaiting our reply.
    pub fn inbound_calls(&self) -> &[InboundCall] {
        self.inbound.entries()
    }

    /// Bytes received and not yet processed.
    pub fn recv_buffered(&self) -> usize {
        self.recv.len()
    }

    /// The most bytes the receive queue holds.
    pub fn recv_capacity(&self) -> usize {
        self.recv.capacity()
    }

    /// The most bytes the send queue holds.
    pub fn send_capacity(&self) -> usize {
        self.out.queue.capacity().min(self.config.send_queue_limit)
    }

    // ----- internals -----------------------------------------------------

    fn set_now(&mut self, now: Instant) {
        // A clock that goes backwards is treated as standing still.
        self.now = self.now.max(now);
        // `advance_transmit` takes no time, so progress is stamped here: the
        // stall clock starts no earlier than the last sign of life.
        if self.sent_since_stamp || self.out.queue.is_empty() {
            self.send_progress = self.now;
            self.sent_since_stamp = false;
        }
    }

    fn frame_limit(&self) -> u32 {
        let cap = u32::try_from(self.recv.capacity()).unwrap_or(u32::MAX);
        self.config.frame_limit.min(cap)
    }

    fn release_surfaced(&mut self) {
        if self.surfaced_len > 0 {
            self.recv.consume(self.surfaced_len);
            self.surfaced_len = 0;
        }
    }

    fn check_can_start(&self) -> Result<(), SendError> {
        match self.state {
            State::Open => Ok(()),
            State::Handshake => Err(SendError::NotReady),
            State::Draining => Err(SendError::Draining),
            State::Closed => Err(SendError::Closed),
        }
    }

    /// The seq the next CALL/PUSH will use: Go's counter (first 1, wrapping),
    /// skipping seqs of our calls still awaiting replies.
    fn peek_seq(&self) -> Seq {
        let mut candidate = self.next_seq;
        loop {
            candidate = candidate.wrapping_add(1);
            if self.outbound.position(Seq(candidate)).is_none() {
                return Seq(candidate);
            }
        }
    }

    fn commit_seq(&mut self, seq: Seq) {
        self.next_seq = seq.0;
    }

    /// Queue a CALL, PUSH or AUTH_CALL under the next seq.
    fn send_request<Me: MetaText>(
        &mut self,
        mtype: Mtype,
        service_method: &str,
        msg: &Outgoing<'_, Me>,
    ) -> Result<Seq, SendError> {
        let seq = self.peek_seq();
        let repr = MessageRepr {
            seq,
            mtype,
            service_method,
            status: StatusRef::OK,
            meta: &msg.meta,
            body_codec: msg.body_codec,
            body: msg.body,
        };
        self.out.write(&self.router, None, &repr, 0, msg.xfer)?;
        self.commit_seq(seq);
        Ok(seq)
    }

    fn track_call(&mut self, seq: Seq, deadline: Option<Instant>, heartbeat: bool) {
        let entry = OutboundCall {
            seq,
            deadline,
            heartbeat,
        };
        // Capacity was checked before the frame was written.
        let _ = self.outbound.insert(entry);
        if let Some(d) = deadline {
            self.next_call_deadline = self.next_call_deadline.min(d);
        }
    }

    fn close_now(&mut self, reason: CloseReason) {
        if self.state == State::Closed {
            return;
        }
        self.state = State::Closed;
        self.close_reason = Some(reason);
        // Unanswered peer calls can no longer be answered.
        while !self.inbound.is_empty() {
            self.inbound.remove_at(0);
        }
        self.router
            .visit_plugins(None, &mut |p| {
                p.on_close(&reason);
                Ok(())
            })
            .ok();
    }

    fn pong_deadline(&self) -> Option<Instant> {
        let rate = self.pong_rate_secs.filter(|&r| r > 0)?;
        if !self.config.pong || self.state == State::Closed {
            return None;
        }
        // Closed once silent for more than two intervals.
        Some(self.last_read + Duration::from_secs(2 * u64::from(rate)) + Duration::from_millis(1))
    }

    fn read_deadline(&self) -> Option<Instant> {
        let limit = self.config.read_timeout?;
        (self.state != State::Closed).then(|| self.last_read + limit)
    }

    fn write_deadline(&self) -> Option<Instant> {
        let limit = self.config.write_timeout?;
        (self.state != State::Closed && !self.out.queue.is_empty())
            .then(|| self.send_progress + limit)
    }

    fn ping_deadline(&self) -> Option<Instant> {
        let ping = self.config.ping?;
        if self.state != State::Open || (ping.use_call && self.ping_outstanding) {
            return None;
        }
        Some(self.last_activity + Duration::from_secs(u64::from(ping.rate())))
    }

    fn send_ping(&mut self) {
        let Some(ping) = self.config.ping else {
            return;
        };
        let mut text = CauseText::new();
        let _ = core::fmt::write(&mut text, format_args!("{}", ping.rate()));
        let meta = [(META_HEARTBEAT, text.as_str())];
        let seq = self.peek_seq();
        let mtype = if ping.use_call {
            Mtype::Call
        } else {
            Mtype::Push
        };
        let repr = MessageRepr {
            seq,
            mtype,
            service_method: HEARTBEAT_PATH,
            status: StatusRef::OK,
            meta: &meta[..],
            body_codec: self.config.default_body_codec,
            body: &[],
        };
        let sent = if ping.use_call && self.outbound.is_full() {
            Err(SendError::TooManyCalls)
        } else {
            self.out.write(&self.router, None, &repr, 0, &[])
        };
        // Whether or not it fit, wait a full interval before trying again.
        self.last_activity = self.now;
        if sent.is_ok() {
            self.commit_seq(seq);
            self.stats.heartbeats_out += 1;
            if ping.use_call {
                let timeout = Duration::from_secs(u64::from(ping.rate()));
                self.track_call(seq, Some(self.now + timeout), true);
                self.ping_outstanding = true;
            }
        }
    }

    /// Remember a timed-out seq so its late reply is recognised.
    fn remember_timed_out(&mut self, seq: Seq) {
        if let Some(slot) = self.timed_out.get_mut(self.timed_out_next) {
            *slot = seq;
        }
        self.timed_out_next = (self.timed_out_next + 1) % TIMED_OUT_MEMORY;
    }

    /// One expired call of ours, if any.
    fn expire_one(&mut self) -> Option<(Seq, bool)> {
        let now = self.now;
        let index = self
            .outbound
            .entries()
            .iter()
            .position(|c| c.deadline.is_some_and(|d| d <= now));
        match index {
            Some(i) => {
                let call = self.outbound.remove_at(i);
                Some((call.seq, call.heartbeat))
            }
            None => {
                self.next_call_deadline = self
                    .outbound
                    .entries()
                    .iter()
                    .filter_map(|c| c.deadline)
                    .min()
                    .unwrap_or(Instant::NEVER);
                None
            }
        }
    }

    fn step(&mut self) -> Step {
        if self.now >= self.next_call_deadline
            && let Some((seq, heartbeat)) = self.expire_one()
        {
            self.remember_timed_out(seq);
            self.stats.timeouts += 1;
            if heartbeat {
                self.ping_outstanding = false;
                self.close_now(CloseReason::HeartbeatFailed);
                return Step::Continue;
            }
            return Step::Ready(Ready::TimedOut(seq));
        }
        if self.state == State::Draining
            && self.inbound.is_empty()
            && self.outbound.entries().iter().all(|c| c.heartbeat)
        {
            self.close_now(CloseReason::Drained);
        }
        if self.state == State::Closed {
            while !self.outbound.is_empty() {
                let call = self.outbound.remove_at(0);
                if !call.heartbeat {
                    return Step::Ready(Ready::ConnectionClosed(call.seq));
                }
            }
            if !self.closed_reported {
                self.closed_reported = true;
                if let Some(reason) = self.close_reason {
                    return Step::Ready(Ready::Closed(reason));
                }
            }
            return Step::Idle;
        }
        self.next_frame()
    }

    /// Decode and handle the frame at the front of the receive queue.
    fn next_frame(&mut self) -> Step {
        if matches!(
            self.auth,
            AuthState::BearerIdle | AuthState::CheckerAnswering
        ) {
            // Only the application can move the auth exchange on.
            return Step::Idle;
        }
        let limit = self.frame_limit();
        let raw = match decode_frame(self.recv.queued(), limit) {
            Ok(Decoded::Frame(raw)) => raw,
            Ok(Decoded::NeedMore(_)) => {
                if self.eof {
                    let buffered = self.recv.len();
                    self.close_now(if buffered == 0 {
                        CloseReason::PeerClosed
                    } else {
                        CloseReason::Protocol(ProtocolError::Truncated { buffered })
                    });
                    return Step::Continue;
                }
                return Step::Idle;
            }
            Err(e) => {
                self.fail_decode(e);
                return Step::Continue;
            }
        };
        let frame_len = raw.len();
        #[cfg(feature = "alloc")]
        let parsed = if raw.xfer().is_empty() {
            raw.message()
        } else {
            match self.out.filters.as_deref() {
                Some(filters) => filters.decode(&raw, &mut self.unpacked, limit as usize),
                None => Err(unknown_filter(&raw)),
            }
        };
        #[cfg(not(feature = "alloc"))]
        let parsed = if raw.xfer().is_empty() {
            raw.message()
        } else {
            Err(unknown_filter(&raw))
        };
        let xfer = raw.xfer();
        let msg = match parsed {
            Ok(msg) => msg,
            Err(e) => {
                self.fail_decode(e);
                return Step::Continue;
            }
        };
        let mut stored_xfer = [0u8; MAX_REPLY_XFER];
        let xfer_fits = xfer.len() <= MAX_REPLY_XFER;
        if let Some(dst) = stored_xfer.get_mut(..xfer.len()) {
            dst.copy_from_slice(xfer);
        }
        let call_decision = (self.auth == AuthState::Done && msg.mtype == Mtype::Call).then(|| {
            let seq = msg.seq;
            if self.state == State::Draining {
                CallDecision::Refuse {
                    status: StatusRef::CONN_CLOSED,
                    warning: Warning::CallWhileClosing(seq),
                }
            } else if self.config.pong && msg.service_method == HEARTBEAT_PATH {
                CallDecision::Heartbeat(parse_heartbeat_rate(msg.meta.get(META_HEARTBEAT)))
            } else if msg.service_method.is_empty() || !xfer_fits {
                CallDecision::Refuse {
                    status: StatusRef::BAD_MESSAGE.with_cause(if xfer_fits {
                        "invalid service method for message"
                    } else {
                        "too many transfer filters"
                    }),
                    warning: Warning::CallRefused(seq, StatusRef::BAD_MESSAGE.code),
                }
            } else if self.inbound.position(seq).is_some() {
                CallDecision::Refuse {
                    status: StatusRef::BAD_MESSAGE.with_cause("seq of a call still in flight"),
                    warning: Warning::DuplicateCall(seq),
                }
            } else if self.inbound.len() >= self.config.max_inbound_calls || self.inbound.is_full()
            {
                CallDecision::Refuse {
                    status: BUSY,
                    warning: Warning::CallRefused(seq, BUSY.code),
                }
            } else {
                route_message(&self.router, &msg, &mut self.method_buf, RouteKind::Call)
            }
        });
        // Frames we answer ourselves wait for send room, so a peer that does
        // not read cannot make us queue without bound. Everything else
        // (replies, pushes, accepted calls) is read regardless: stopping
        // those would let two peers that both wait for room wedge each other.
        let answered_here = match self.auth {
            AuthState::CheckerWaiting => msg.mtype != Mtype::AuthCall,
            _ => matches!(
                call_decision,
                Some(CallDecision::Refuse { .. } | CallDecision::Heartbeat(_))
            ),
        };
        if answered_here && self.out.queue.free() < ANSWER_RESERVE.min(self.out.queue.capacity()) {
            return Step::Idle;
        }
        self.stats.frames_in += 1;
        self.last_read = self.now;

        match self.auth {
            AuthState::Done => {}
            AuthState::CheckerWaiting => {
                if msg.mtype == Mtype::AuthCall {
                    self.auth = AuthState::CheckerAnswering;
                    self.surfaced_len = frame_len;
                    return Step::Ready(Ready::AuthCall);
                }
                let cause = wrong_auth_cause(msg.mtype);
                self.recv.consume(frame_len);
                let seq = self.peek_seq();
                let status = StatusRef::UNAUTHORIZED.with_cause(cause);
                let repr = MessageRepr {
                    seq,
                    mtype: Mtype::AuthReply,
                    service_method: "",
                    status,
                    meta: NoMeta,
                    body_codec: self.config.default_body_codec,
                    body: &[],
                };
                if self
                    .out
                    .write(&self.router, None, &repr, status.code, &[])
                    .is_ok()
                {
                    self.commit_seq(seq);
                }
                self.close_now(CloseReason::AuthFailed { code: status.code });
                return Step::Continue;
            }
            AuthState::BearerWaiting => {
                if msg.mtype == Mtype::AuthReply {
                    let code = msg.status.code;
                    self.surfaced_len = frame_len;
                    if code == 0 {
                        self.auth = AuthState::Done;
                        self.state = State::Open;
                        self.last_activity = self.now;
                    } else {
                        self.close_now(CloseReason::AuthFailed { code });
                    }
                    return Step::Ready(Ready::AuthResult {
                        has_reply: true,
                        code,
                    });
                }
                self.recv.consume(frame_len);
                let code = StatusRef::UNAUTHORIZED.code;
                self.close_now(CloseReason::AuthFailed { code });
                return Step::Ready(Ready::AuthResult {
                    has_reply: false,
                    code,
                });
            }
            AuthState::BearerIdle | AuthState::CheckerAnswering => return Step::Idle,
        }

        match msg.mtype {
            Mtype::Reply => {
                let seq = msg.seq;
                let Some(index) = self.outbound.position(seq) else {
                    self.recv.consume(frame_len);
                    let warning = if self.timed_out.contains(&seq) {
                        self.stats.late_replies += 1;
                        Warning::LateReply(seq)
                    } else {
                        self.stats.unknown_replies += 1;
                        Warning::UnknownReply(seq)
                    };
                    return Step::Ready(Ready::Warning(warning));
                };
                let call = self.outbound.remove_at(index);
                if call.heartbeat {
                    self.ping_outstanding = false;
                    let ok = msg.status.is_ok();
                    self.recv.consume(frame_len);
                    if !ok {
                        self.close_now(CloseReason::HeartbeatFailed);
                    }
                    return Step::Continue;
                }
                let mut header = ReadHeader::new(&msg, &mut self.method_buf);
                let rejected = self
                    .router
                    .visit_plugins(None, &mut |p| ReadHook::Reply.run(p, &mut header))
                    .err();
                self.surfaced_len = frame_len;
                Step::Ready(Ready::Reply { seq, rejected })
            }
            Mtype::Call => {
                self.last_activity = self.now;
                let seq = msg.seq;
                let request_codec = msg.body_codec;
                let accept_codec = parse_accept_codec(msg.meta);
                // Decided above, before the send-room check.
                let decision = call_decision.unwrap_or(CallDecision::Refuse {
                    status: StatusRef::BAD_MESSAGE,
                    warning: Warning::CallRefused(seq, StatusRef::BAD_MESSAGE.code),
                });
                let xfer_len = xfer.len().min(MAX_REPLY_XFER) as u8;
                let pipe = stored_xfer.get(..usize::from(xfer_len)).unwrap_or_default();
                match decision {
                    CallDecision::Accept { route, rewritten } => {
                        let entry = InboundCall {
                            seq,
                            route,
                            xfer: stored_xfer,
                            xfer_len,
                            request_codec,
                            accept_codec,
                        };
                        // Room was checked in the decision.
                        let _ = self.inbound.insert(entry);
                        self.surfaced_len = frame_len;
                        Step::Ready(Ready::Call { route, rewritten })
                    }
                    CallDecision::Refuse { status, warning } => {
                        self.recv.consume(frame_len);
                        self.stats.calls_refused += 1;
                        let warning = self.answer(seq, status, pipe, warning);
                        Step::Ready(Ready::Warning(warning))
                    }
                    CallDecision::Heartbeat(rate) => {
                        self.recv.consume(frame_len);
                        match self.take_heartbeat(&rate) {
                            Ok(()) => {
                                let repr = MessageRepr {
                                    seq,
                                    mtype: Mtype::Reply,
                                    service_method: "",
                                    status: StatusRef::OK,
                                    meta: NoMeta,
                                    body_codec: crate::codec::id::JSON,
                                    body: b"null",
                                };
                                if self.out.write(&self.router, None, &repr, 0, pipe).is_err() {
                                    return Step::Ready(Ready::Warning(Warning::AnswerDropped(
                                        seq,
                                    )));
                                }
                                Step::Continue
                            }
                            Err(cause) => {
                                let status = StatusRef::new(400, "invalid heartbeat rate")
                                    .with_cause(cause.as_str());
                                let warning =
                                    self.answer(seq, status, pipe, Warning::BadHeartbeatRate(seq));
                                Step::Ready(Ready::Warning(warning))
                            }
                        }
                    }
                }
            }
            Mtype::Push => {
                self.last_activity = self.now;
                let seq = msg.seq;
                if self.config.pong && msg.service_method == HEARTBEAT_PATH {
                    let rate = parse_heartbeat_rate(msg.meta.get(META_HEARTBEAT));
                    self.recv.consume(frame_len);
                    return match self.take_heartbeat(&rate) {
                        Ok(()) => Step::Continue,
                        Err(_) => Step::Ready(Ready::Warning(Warning::BadHeartbeatRate(seq))),
                    };
                }
                match route_message(&self.router, &msg, &mut self.method_buf, RouteKind::Push) {
                    CallDecision::Accept { route, rewritten } => {
                        self.surfaced_len = frame_len;
                        Step::Ready(Ready::Push { route, rewritten })
                    }
                    CallDecision::Heartbeat(_) => {
                        self.recv.consume(frame_len);
                        Step::Continue
                    }
                    CallDecision::Refuse { warning, .. } => {
                        self.recv.consume(frame_len);
                        self.stats.pushes_dropped += 1;
                        Step::Ready(Ready::Warning(warning))
                    }
                }
            }
            Mtype::AuthCall | Mtype::AuthReply => {
                let mtype = msg.mtype;
                self.recv.consume(frame_len);
                self.close_now(CloseReason::Protocol(ProtocolError::UnexpectedMessage(
                    mtype,
                )));
                Step::Continue
            }
        }
    }

    /// Record a heartbeat; `Err` with the raw value when its rate is invalid
    /// on the first heartbeat (later invalid rates are ignored, as in Go).
    fn take_heartbeat<'r>(&mut self, rate: &'r HeartbeatRate) -> Result<(), &'r CauseText> {
        self.stats.heartbeats_in += 1;
        match rate {
            HeartbeatRate::Refresh | HeartbeatRate::Secs(0) => Ok(()),
            HeartbeatRate::Secs(secs) => {
                self.pong_rate_secs = Some(*secs);
                Ok(())
            }
            HeartbeatRate::Invalid(cause) if self.pong_rate_secs.is_none() => Err(cause),
            HeartbeatRate::Invalid(_) => Ok(()),
        }
    }

    /// Answer a peer call ourselves with an error status (codec 0, no body).
    fn answer(
        &mut self,
        seq: Seq,
        status: StatusRef<'_>,
        pipe: &[u8],
        warning: Warning,
    ) -> Warning {
        let repr = MessageRepr {
            seq,
            mtype: Mtype::Reply,
            service_method: "",
            status,
            meta: NoMeta,
            body_codec: crate::codec::id::NONE,
            body: &[],
        };
        match self.out.write(&self.router, None, &repr, status.code, pipe) {
            Ok(()) => warning,
            Err(_) => Warning::AnswerDropped(seq),
        }
    }

    /// A frame that cannot be decoded: 400 to a readable CALL seq, then close.
    fn fail_decode(&mut self, e: DecodeError) {
        if let (Some(seq), Some(Mtype::Call)) = (e.seq, e.mtype) {
            let mut cause = CauseText::new();
            let _ = core::fmt::write(&mut cause, format_args!("{e}"));
            let status = StatusRef::BAD_MESSAGE.with_cause(cause.as_str());
            let _ = self.answer(seq, status, &[], Warning::CallRefused(seq, status.code));
        }
        self.close_now(CloseReason::Protocol(ProtocolError::Decode(e)));
    }

    fn build_event(&self, ready: Ready) -> Event<'_, R::Handler> {
        match ready {
            Ready::TimedOut(seq) => Event::Outcome {
                seq,
                outcome: Outcome::TimedOut,
            },
            Ready::ConnectionClosed(seq) => Event::Outcome {
                seq,
                outcome: Outcome::ConnectionClosed,
            },
            Ready::Warning(w) => Event::Warning(w),
            Ready::Closed(reason) => Event::Closed(reason),
            Ready::AuthResult { has_reply, code } => Event::AuthResult {
                reply: if has_reply {
                    self.surfaced_message().map(|(m, _)| m)
                } else {
                    None
                },
                code,
            },
            Ready::AuthCall => match self.surfaced_message() {
                Some((m, _)) => Event::AuthCall(m),
                None => Event::Warning(Warning::AnswerDropped(Seq(0))),
            },
            Ready::Reply { seq, rejected } => {
                let outcome = match (rejected, self.surfaced_message()) {
                    (Some(status), _) => Outcome::Rejected(status),
                    (None, Some((m, _))) => Outcome::Replied(m),
                    (None, None) => Outcome::ConnectionClosed,
                };
                Event::Outcome { seq, outcome }
            }
            Ready::Call { route, rewritten } | Ready::Push { route, rewritten } => {
                let incoming = self.surfaced_message().and_then(|(mut message, xfer)| {
                    if rewritten {
                        message.service_method = self.method_buf.as_str();
                    }
                    let handler = self.router.handler(route)?;
                    let (path, query) = crate::uri::split_query(message.service_method);
                    Some(Incoming {
                        route,
                        handler,
                        message,
                        path,
                        query,
                        xfer,
                    })
                });
                match (incoming, matches!(ready, Ready::Call { .. })) {
                    (Some(i), true) => Event::Call(i),
                    (Some(i), false) => Event::Push(i),
                    // Unreachable: the frame decoded and routed a moment ago.
                    (None, _) => Event::Warning(Warning::AnswerDropped(Seq(0))),
                }
            }
        }
    }

    /// The frame at the front of the receive queue, decoded again (it
    /// decoded a moment ago, so this cannot fail).
    fn surfaced_message(&self) -> Option<(MessageView<'_>, &[u8])> {
        let Ok(Decoded::Frame(raw)) = decode_frame(self.recv.queued(), self.frame_limit()) else {
            return None;
        };
        let xfer = raw.xfer();
        if xfer.is_empty() {
            return raw.message().ok().map(|m| (m, xfer));
        }
        #[cfg(feature = "alloc")]
        {
            MessageView::parse(&self.unpacked, raw.payload_offset())
                .ok()
                .map(|m| (m, xfer))
        }
        #[cfg(not(feature = "alloc"))]
        None
    }
}

/// Run post-read hooks (global, then the route's) and route a CALL or PUSH.
fn route_message<R: Routes>(
    router: &R,
    msg: &MessageView<'_>,
    method_buf: &mut MethodBuf,
    kind: RouteKind,
) -> CallDecision {
    let hook = match kind {
        RouteKind::Call => ReadHook::Call,
        RouteKind::Push => ReadHook::Push,
    };
    let seq = msg.seq;
    let refused = |status: Reject| CallDecision::Refuse {
        status,
        warning: match kind {
            RouteKind::Call => Warning::CallRefused(seq, status.code),
            RouteKind::Push => Warning::PushRefused(seq, status.code),
        },
    };
    let mut header = ReadHeader::new(msg, method_buf);
    if let Err(status) = router.visit_plugins(None, &mut |p| hook.run(p, &mut header)) {
        return refused(status);
    }
    let (path, _) = crate::uri::split_query(header.service_method());
    if kind == RouteKind::Call && path.is_empty() {
        return refused(StatusRef::BAD_MESSAGE.with_cause("invalid service method for message"));
    }
    let Some((route, _)) = router.find(kind, path) else {
        return CallDecision::Refuse {
            status: StatusRef::NOT_FOUND,
            warning: match kind {
                RouteKind::Call => Warning::CallNotFound(seq),
                RouteKind::Push => Warning::PushNotFound(seq),
            },
        };
    };
    if let Err(status) = router.visit_plugins(Some(route), &mut |p| hook.run(p, &mut header)) {
        return refused(status);
    }
    CallDecision::Accept {
        route,
        rewritten: header.is_rewritten(),
    }
}

fn unknown_filter(raw: &crate::RawFrame<'_>) -> DecodeError {
    let id = raw.xfer().first().copied().unwrap_or(0);
    DecodeError::new(
        Field::XferIds,
        crate::frame::PREFIX_LEN,
        DecodeErrorKind::Xfer(crate::XferError {
            id,
            kind: crate::XferErrorKind::UnknownFilter,
        }),
    )
}

fn wrong_auth_cause(mtype: Mtype) -> &'static str {
    match mtype {
        Mtype::Call => "auth message(1st) expect: AUTH_CALL, but received: CALL",
        Mtype::Reply => "auth message(1st) expect: AUTH_CALL, but received: REPLY",
        Mtype::Push => "auth message(1st) expect: AUTH_CALL, but received: PUSH",
        Mtype::AuthCall => "auth message(1st) expect: AUTH_CALL, but received: AUTH_CALL",
        Mtype::AuthReply => "auth message(1st) expect: AUTH_CALL, but received: AUTH_REPLY",
    }
}

/// `first` then `second` in `buf`; `None` if they do not fit.
fn join_pipes<'b>(buf: &'b mut [u8], first: &[u8], second: &[u8]) -> Option<&'b [u8]> {
    let total = first.len() + second.len();
    let dst = buf.get_mut(..total)?;
    let (a, b) = dst.split_at_mut(first.len());
    a.copy_from_slice(first);
    b.copy_from_slice(second);
    Some(dst)
}

/// Runs in builds without `alloc` too: fixed storage and a static router.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::router::{StaticRoute, StaticRouter};

    type Small = Fixed<512, 512, 2, 2>;

    static ROUTES: [StaticRoute<'static, u8>; 2] = [
        StaticRoute::call("/led/set", 1),
        StaticRoute::push("/telemetry/tick", 2),
    ];
    static ROUTER: StaticRouter<'static, u8> = StaticRouter {
        routes: &ROUTES,
        plugins: &[],
        unknown_call: None,
        unknown_push: None,
        ignore_case: true,
    };

    fn pipe<A: Routes, B: Routes>(from: &mut Connection<Small, A>, to: &mut Connection<Small, B>) {
        let n = to.handle_input(from.poll_transmit(), Instant::ZERO);
        from.advance_transmit(n);
    }

    #[test]
    fn fixed_storage_call_reply_push_and_limits() {
        let now = Instant::ZERO;
        let mut board: Connection<Small, _> =
            Connection::new(Config::new(), Role::Server, &ROUTER, now);
        let mut host: Connection<Small, _> =
            Connection::new(Config::new(), Role::Client, crate::router::NoRoutes, now);
        assert_eq!(board.recv_capacity(), 512);

        let a = host
            .call("/LED/Set", Outgoing::new(b's', b"on"), now)
            .unwrap();
        let b = host
            .call("/led/set", Outgoing::new(b's', b"off"), now)
            .unwrap();
        assert_eq!(
            host.call("/led/set", Outgoing::new(b's', b""), now),
            Err(SendError::TooManyCalls),
            "two calls in flight at most"
        );
        pipe(&mut host, &mut board);
        let mut seen = [Seq(0); 2];
        for slot in &mut seen {
            match board.poll_event() {
                Some(Event::Call(call)) => {
                    assert_eq!(*call.handler, 1);
                    *slot = call.message.seq;
                }
                _ => panic!("expected a call"),
            }
        }
        assert!(board.poll_event().is_none());
        for seq in seen {
            board
                .reply(seq, StatusRef::OK, Outgoing::new(b's', b"done"), now)
                .unwrap();
        }
        board
            .push("/telemetry/tick", Outgoing::new(b'c', &[1, 2]), now)
            .unwrap();
        pipe(&mut board, &mut host);
        let mut outcomes = 0;
        while let Some(ev) = host.poll_event() {
            match ev {
                Event::Outcome { seq, outcome } => {
                    assert!(seq == a || seq == b);
                    assert!(outcome.is_ok());
                    outcomes += 1;
                }
                Event::Warning(Warning::PushNotFound(_)) => {}
                _ => panic!("unexpected event"),
            }
        }
        assert_eq!(outcomes, 2);
    }

    #[test]
    fn fixed_storage_refuses_oversized_frames() {
        let now = Instant::ZERO;
        let mut board: Connection<Small, _> =
            Connection::new(Config::new(), Role::Server, &ROUTER, now);
        // A prefix announcing more than the 512-byte receive buffer.
        board.handle_input(&[0, 0, 2, 1, 0], now);
        match board.poll_event() {
            Some(Event::Closed(CloseReason::Protocol(ProtocolError::Decode(_)))) => {}
            _ => panic!("expected a protocol close"),
        }
        assert!(board.poll_event().is_none());
        let mut big = [0u8; 600];
        big[0] = b'x';
        assert!(matches!(
            board.push("/x", Outgoing::new(b's', &big), now),
            Err(SendError::Closed)
        ));
    }

    #[test]
    fn heartbeat_rate_and_accept_codec_parsing() {
        let rate = |s: &[u8]| parse_heartbeat_rate(Some(Escaped::new(s)));
        assert!(matches!(rate(b"3"), HeartbeatRate::Secs(3)));
        assert!(matches!(rate(b""), HeartbeatRate::Refresh));
        assert!(matches!(rate(b"-1"), HeartbeatRate::Invalid(c) if c.as_str() == "-1"));
        assert!(matches!(rate(b"99999999999"), HeartbeatRate::Invalid(_)));
        let codec = |s: &[u8]| parse_accept_codec(crate::MetaView::new(s));
        assert_eq!(codec(b"X-Accept-Body-Codec=115"), 115);
        assert_eq!(codec(b"X-Accept-Body-Codec=1150"), 0);
        assert_eq!(codec(b"X-Accept-Body-Codec=300"), 0);
        assert_eq!(codec(b"X-Accept-Body-Codec=j"), 0);
    }
}
