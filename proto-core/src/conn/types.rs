//! Configuration, events, errors and table entries of a [`Connection`](super::Connection).

use core::fmt;
use core::time::Duration;

use crate::router::{Reject, RouteId};
use crate::{DecodeError, EncodeError, MessageView, MetaView, Mtype, Seq, StatusRef};

use super::storage::Keyed;

/// Who authenticates on this connection (the Go `plugin/auth` exchange).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Auth {
    /// No auth exchange: the connection is ready at once.
    #[default]
    None,
    /// We send AUTH_CALL first ([`Connection::auth_call`](super::Connection::auth_call))
    /// and wait for AUTH_REPLY (the dialer's side in Go).
    Bearer,
    /// We wait for AUTH_CALL and answer with
    /// [`Connection::auth_reply`](super::Connection::auth_reply) (the acceptor's side in Go).
    Checker,
}

/// Heartbeat pings we send (Go's `plugin/heartbeat` Ping).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Ping {
    /// Interval in whole seconds; values below 3 are raised to 3 as in Go.
    pub rate_secs: u32,
    /// Send the ping as a CALL (a failed reply closes the connection)
    /// instead of a PUSH.
    pub use_call: bool,
}

impl Ping {
    /// The smallest rate Go accepts.
    pub const MIN_RATE_SECS: u32 = 3;

    pub(crate) fn rate(&self) -> u32 {
        self.rate_secs.max(Self::MIN_RATE_SECS)
    }
}

/// Settings of one connection. `Config::new()` is usable in `const`/`static`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Config {
    /// Largest frame accepted or sent (also bounded by the receive buffer).
    pub frame_limit: u32,
    /// Most bytes of encoded frames waiting to be transmitted; past it,
    /// sends return [`SendError::WouldBlock`] (also bounded by the send buffer).
    pub send_queue_limit: usize,
    /// Most of our calls awaiting a reply.
    pub max_outbound_calls: usize,
    /// Most of the peer's calls we have not answered; past it the peer gets
    /// 503 "Service Unavailable".
    pub max_inbound_calls: usize,
    /// Default timeout of our calls (Go's context age); `None`: no timeout.
    pub context_age: Option<Duration>,
    /// The connection closes itself this long after it opened.
    pub session_age: Option<Duration>,
    /// Body codec of heartbeats and automatic auth replies (json by default).
    pub default_body_codec: u8,
    /// The auth exchange.
    pub auth: Auth,
    /// Close if the auth exchange has not finished in this time.
    pub handshake_timeout: Option<Duration>,
    /// Heartbeat pings to send.
    pub ping: Option<Ping>,
    /// Answer the peer's heartbeats and close a connection whose peer goes
    /// silent for two of its announced intervals (Go's Pong).
    pub pong: bool,
    /// Close when no complete frame arrived for this long (since the last
    /// one, or since the connection opened). Bounds peers that connect and
    /// say nothing or trickle a frame a byte at a time; peers that sit idle
    /// on purpose must send heartbeats more often than this.
    pub read_timeout: Option<Duration>,
    /// Close when queued bytes made no transmit progress for this long: a
    /// peer that stops reading cannot hold the send queue (and the calls
    /// waiting for room in it) forever.
    pub write_timeout: Option<Duration>,
}

impl Config {
    /// Defaults: 4 MiB frames, 8 MiB send queue, 1024 calls each way, no
    /// timeouts, json, no auth, no ping, pong on, no read or write timeout.
    pub const fn new() -> Self {
        Self {
            frame_limit: crate::frame::DEFAULT_FRAME_LIMIT,
            send_queue_limit: 8 << 20,
            max_outbound_calls: 1024,
            max_inbound_calls: 1024,
            context_age: None,
            session_age: None,
            default_body_codec: crate::codec::id::JSON,
            auth: Auth::None,
            handshake_timeout: None,
            ping: None,
            pong: true,
            read_timeout: None,
            write_timeout: None,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self::new()
    }
}

/// An outgoing message body and options, for calls, pushes and replies.
///
/// ```
/// use core::time::Duration;
/// use teleport_core::conn::Outgoing;
///
/// let msg = Outgoing::new(b'j', b"[1,2]")
///     .with_meta(&[("peer_id", "110")][..])
///     .with_timeout(Duration::from_secs(5));
/// assert_eq!(msg.body, b"[1,2]");
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Outgoing<'a, Me = crate::meta::NoMeta> {
    /// Body codec id.
    pub body_codec: u8,
    /// Encoded body.
    pub body: &'a [u8],
    /// Metadata.
    pub meta: Me,
    /// Transfer filter ids (needs `alloc` and registered filters).
    pub xfer: &'a [u8],
    /// Call timeout, overriding the configured context age (calls only).
    pub timeout: Option<Duration>,
}

impl<'a> Outgoing<'a> {
    /// A body with no metadata, filters or timeout.
    pub const fn new(body_codec: u8, body: &'a [u8]) -> Self {
        Self {
            body_codec,
            body,
            meta: crate::meta::NoMeta,
            xfer: &[],
            timeout: None,
        }
    }
}

impl<'a, Me> Outgoing<'a, Me> {
    /// The same message with `meta`.
    pub fn with_meta<M2>(self, meta: M2) -> Outgoing<'a, M2> {
        Outgoing {
            body_codec: self.body_codec,
            body: self.body,
            meta,
            xfer: self.xfer,
            timeout: self.timeout,
        }
    }

    /// The same message through transfer filters `xfer`.
    #[must_use]
    pub fn with_xfer(mut self, xfer: &'a [u8]) -> Self {
        self.xfer = xfer;
        self
    }

    /// The same message with a call timeout.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

/// Why a call, push or reply could not be queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SendError {
    /// The send queue lacks room: transmit, then retry.
    WouldBlock {
        /// Bytes the frame needs.
        needed: usize,
    },
    /// The frame is larger than the send queue or the frame limit allows.
    TooLarge {
        /// Bytes the frame needs.
        needed: usize,
    },
    /// The connection is closed.
    Closed,
    /// A graceful close is under way: no new calls or pushes.
    Draining,
    /// The auth exchange has not finished.
    NotReady,
    /// The auth exchange is not in the state this needs.
    AuthState,
    /// Too many of our calls await replies.
    TooManyCalls,
    /// No unanswered call of the peer has this seq (never received, or
    /// already answered).
    UnknownSeq(Seq),
    /// A plugin rejected the message.
    Rejected(Reject),
    /// A field does not fit its length prefix.
    Encode(EncodeError),
    /// Transfer filters were asked for but are not available (no `alloc`,
    /// or an id that is not registered).
    Xfer,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WouldBlock { needed } => write!(f, "send queue full ({needed} bytes needed)"),
            Self::TooLarge { needed } => write!(f, "frame of {needed} bytes is too large"),
            Self::Closed => f.write_str("connection closed"),
            Self::Draining => f.write_str("connection is closing"),
            Self::NotReady => f.write_str("auth exchange not finished"),
            Self::AuthState => f.write_str("not expected in this auth state"),
            Self::TooManyCalls => f.write_str("too many calls in flight"),
            Self::UnknownSeq(seq) => write!(f, "no unanswered call with seq {seq}"),
            Self::Rejected(s) => write!(f, "rejected by plugin: {s}"),
            Self::Encode(e) => write!(f, "{e}"),
            Self::Xfer => f.write_str("transfer filter not available"),
        }
    }
}

impl core::error::Error for SendError {}

impl From<EncodeError> for SendError {
    fn from(e: EncodeError) -> Self {
        Self::Encode(e)
    }
}

/// Why a connection closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum CloseReason {
    /// The application closed it at once.
    Local,
    /// A graceful close finished with nothing left in flight.
    Drained,
    /// A graceful close reached its deadline with calls still in flight.
    DrainTimeout,
    /// The peer closed its side (end of stream).
    PeerClosed,
    /// The transport failed (reported by the adapter).
    TransportError,
    /// The session age was reached.
    SessionAge,
    /// The peer sent no heartbeat or message within twice its rate.
    HeartbeatTimeout,
    /// Our CALL heartbeat got an error reply or timed out.
    HeartbeatFailed,
    /// The auth exchange did not finish in time.
    HandshakeTimeout,
    /// The auth exchange failed with this status code.
    AuthFailed {
        /// Status code (401 for a wrong message type).
        code: i32,
    },
    /// A plugin rejected the connection on accept or dial.
    Rejected(Reject),
    /// The peer broke the protocol.
    Protocol(ProtocolError),
    /// No complete frame arrived within [`Config::read_timeout`].
    ReadTimeout,
    /// Queued bytes made no progress within [`Config::write_timeout`]: the
    /// peer stopped reading.
    WriteStalled,
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local => f.write_str("closed locally"),
            Self::Drained => f.write_str("graceful close finished"),
            Self::DrainTimeout => f.write_str("graceful close timed out with calls in flight"),
            Self::PeerClosed => f.write_str("peer closed the connection"),
            Self::TransportError => f.write_str("transport error"),
            Self::SessionAge => f.write_str("session age reached"),
            Self::HeartbeatTimeout => f.write_str("peer silent past its heartbeat interval"),
            Self::HeartbeatFailed => f.write_str("heartbeat call failed"),
            Self::HandshakeTimeout => f.write_str("auth exchange timed out"),
            Self::AuthFailed { code } => write!(f, "auth failed with status {code}"),
            Self::Rejected(s) => write!(f, "rejected by plugin: {s}"),
            Self::Protocol(e) => write!(f, "protocol error: {e}"),
            Self::ReadTimeout => f.write_str("read timeout: no complete frame in time"),
            Self::WriteStalled => f.write_str("write stalled: peer stopped reading"),
        }
    }
}

/// How the peer broke the protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ProtocolError {
    /// A frame could not be decoded (or unpacked).
    Decode(DecodeError),
    /// The stream ended inside a frame.
    Truncated {
        /// Bytes of the unfinished frame received.
        buffered: usize,
    },
    /// A message type that is not allowed here (e.g. AUTH_REPLY without
    /// an auth exchange).
    UnexpectedMessage(Mtype),
    /// Our own answer to the peer does not fit the send buffer.
    SendBufferTooSmall,
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Decode(e) => write!(f, "{e}"),
            Self::Truncated { buffered } => {
                write!(f, "stream ended inside a frame ({buffered} bytes buffered)")
            }
            Self::UnexpectedMessage(m) => write!(f, "unexpected {m} message"),
            Self::SendBufferTooSmall => f.write_str("send buffer too small for a reply"),
        }
    }
}

/// What happened to one of our calls. Every call gets exactly one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome<'a> {
    /// The peer replied; the status inside may be an error.
    Replied(MessageView<'a>),
    /// No reply before the deadline (status 408); a later reply is dropped.
    TimedOut,
    /// The connection closed first (status 102).
    ConnectionClosed,
    /// A plugin rejected the reply.
    Rejected(Reject),
}

impl Outcome<'_> {
    /// The status code: the reply's, or 408 / 102 / the plugin's.
    pub fn code(&self) -> i32 {
        match self {
            Self::Replied(m) => m.status.code,
            Self::TimedOut => StatusRef::HANDLE_TIMEOUT.code,
            Self::ConnectionClosed => StatusRef::CONN_CLOSED.code,
            Self::Rejected(s) => s.code,
        }
    }

    /// The local status of an outcome that is not a reply.
    pub fn local_status(&self) -> Option<Reject> {
        match self {
            Self::Replied(_) => None,
            Self::TimedOut => Some(StatusRef::HANDLE_TIMEOUT),
            Self::ConnectionClosed => Some(StatusRef::CONN_CLOSED),
            Self::Rejected(s) => Some(*s),
        }
    }

    /// Whether the call succeeded (a reply with status OK).
    pub fn is_ok(&self) -> bool {
        matches!(self, Self::Replied(m) if m.status.is_ok())
    }
}

/// A CALL or PUSH from the peer, routed to a handler.
#[derive(Debug)]
pub struct Incoming<'a, H> {
    /// The route it matched (or a fallback).
    pub route: RouteId,
    /// The handler registered for that route.
    pub handler: &'a H,
    /// The message; `service_method` is as plugins left it.
    pub message: MessageView<'a>,
    /// The service method without its `?query`.
    pub path: &'a str,
    /// The parsed `?query`.
    pub query: MetaView<'a>,
    /// The transfer filters the message came through (a reply uses them too).
    pub xfer: &'a [u8],
}

/// Input that was dropped or answered by the connection itself: for logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Warning {
    /// A reply arrived after its call timed out (dropped, counted).
    LateReply(Seq),
    /// A reply for a seq we never called or already settled (dropped).
    UnknownReply(Seq),
    /// A CALL matched no route: answered 404.
    CallNotFound(Seq),
    /// A PUSH matched no route: dropped.
    PushNotFound(Seq),
    /// A CALL was refused with this status (plugin, limit, bad header).
    CallRefused(Seq, i32),
    /// A PUSH was refused by a plugin: dropped.
    PushRefused(Seq, i32),
    /// A CALL reused the seq of a call still unanswered: answered 400.
    DuplicateCall(Seq),
    /// A heartbeat carried an invalid rate.
    BadHeartbeatRate(Seq),
    /// A CALL arrived during a graceful close: answered 102.
    CallWhileClosing(Seq),
    /// An answer the connection writes itself did not fit the send queue.
    AnswerDropped(Seq),
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LateReply(s) => write!(f, "late reply for timed-out call {s} dropped"),
            Self::UnknownReply(s) => write!(f, "reply for unknown call {s} dropped"),
            Self::CallNotFound(s) => write!(f, "call {s}: no route, answered 404"),
            Self::PushNotFound(s) => write!(f, "push {s}: no route, dropped"),
            Self::CallRefused(s, c) => write!(f, "call {s} refused with status {c}"),
            Self::PushRefused(s, c) => write!(f, "push {s} refused with status {c}, dropped"),
            Self::DuplicateCall(s) => write!(f, "call {s} reuses a seq in flight, answered 400"),
            Self::BadHeartbeatRate(s) => write!(f, "heartbeat {s} has an invalid rate"),
            Self::CallWhileClosing(s) => write!(f, "call {s} during graceful close, answered 102"),
            Self::AnswerDropped(s) => write!(f, "answer to {s} did not fit the send queue"),
        }
    }
}

/// Something the application should know about. Borrows the connection
/// until the next call that changes it.
#[derive(Debug)]
pub enum Event<'a, H> {
    /// The peer calls us: answer with [`Connection::reply`](super::Connection::reply).
    Call(Incoming<'a, H>),
    /// The peer pushes to us.
    Push(Incoming<'a, H>),
    /// One of our calls ended.
    Outcome {
        /// The seq [`Connection::call`](super::Connection::call) returned.
        seq: Seq,
        /// How it ended.
        outcome: Outcome<'a>,
    },
    /// (Checker) the peer's AUTH_CALL: answer with
    /// [`Connection::auth_reply`](super::Connection::auth_reply).
    AuthCall(MessageView<'a>),
    /// (Bearer) the peer's AUTH_REPLY; the connection is ready if its status
    /// is OK and closes otherwise. A wrong message type is reported with
    /// status 401 and no message.
    AuthResult {
        /// The reply, if the peer sent an AUTH_REPLY.
        reply: Option<MessageView<'a>>,
        /// Its status, or 401.
        code: i32,
    },
    /// Input the connection dropped or answered itself.
    Warning(Warning),
    /// The connection closed: the last event. Transmit what is queued, then
    /// close the transport.
    Closed(CloseReason),
}

/// Counters for monitoring.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Stats {
    /// Frames decoded.
    pub frames_in: u64,
    /// Frames queued for transmission.
    pub frames_out: u64,
    /// Replies after their call timed out.
    pub late_replies: u64,
    /// Replies for seqs never called.
    pub unknown_replies: u64,
    /// Calls that timed out.
    pub timeouts: u64,
    /// CALLs answered by the connection itself with an error status.
    pub calls_refused: u64,
    /// PUSHes dropped.
    pub pushes_dropped: u64,
    /// Heartbeats received.
    pub heartbeats_in: u64,
    /// Heartbeats sent.
    pub heartbeats_out: u64,
}

/// One of our calls awaiting a reply.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutboundCall {
    pub(crate) seq: Seq,
    pub(crate) deadline: Option<crate::Instant>,
    /// A heartbeat CALL of ours, not the application's.
    pub(crate) heartbeat: bool,
}

impl Keyed for OutboundCall {
    fn seq(&self) -> Seq {
        self.seq
    }
}

impl OutboundCall {
    /// When it times out, if it does.
    pub fn deadline(&self) -> Option<crate::Instant> {
        self.deadline
    }

    /// A heartbeat CALL the connection made itself.
    pub fn is_heartbeat(&self) -> bool {
        self.heartbeat
    }
}

/// Transfer-filter ids remembered per inbound call, so the reply uses them.
pub const MAX_REPLY_XFER: usize = 8;

/// One of the peer's calls we have not answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InboundCall {
    pub(crate) seq: Seq,
    pub(crate) route: RouteId,
    pub(crate) xfer: [u8; MAX_REPLY_XFER],
    pub(crate) xfer_len: u8,
    pub(crate) request_codec: u8,
    pub(crate) accept_codec: u8,
}

impl Default for InboundCall {
    fn default() -> Self {
        Self {
            seq: Seq(0),
            route: RouteId::UnknownCall,
            xfer: [0; MAX_REPLY_XFER],
            xfer_len: 0,
            request_codec: 0,
            accept_codec: 0,
        }
    }
}

impl InboundCall {
    pub(crate) fn xfer(&self) -> &[u8] {
        self.xfer
            .get(..usize::from(self.xfer_len))
            .unwrap_or_default()
    }
}

impl Keyed for InboundCall {
    fn seq(&self) -> Seq {
        self.seq
    }
}
