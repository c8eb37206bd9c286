//! `Session`: a cloneable handle on one connection, and its shared state.
//!
//! The connection state machine sits in a mutex shared by the session's IO
//! task and every handle. A call encodes straight into the machine's send
//! queue under the lock and wakes the IO task; the IO task completes the
//! call's slot when the outcome event arrives. No channel, no copy of the
//! request body.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use teleport_core::conn::{CloseReason, Connection, Growable, Outgoing, SendError, State, Stats};
use teleport_core::router::Router as CoreRouter;
use teleport_core::{Meta, MetaView, Seq, Status, StatusRef};

use crate::body::{Body, FromBody, bad_body};
use crate::config::PeerConfig;
use crate::handler::Handler;
use crate::rt::{self, Addr};

pub(crate) type Conn = Connection<Growable, Arc<CoreRouter<Handler>>>;

/// How long `Session::close` lets calls in flight finish.
pub const DEFAULT_DRAIN: Duration = Duration::from_secs(5);

/// The result of a call: its metadata and body. Non-OK statuses are the
/// `Err` side of [`Session::call`].
#[derive(Clone, Debug)]
pub struct Reply {
    /// The call's seq.
    pub seq: Seq,
    /// Reply metadata.
    pub meta: Meta,
    /// Body codec id.
    pub codec: u8,
    /// Body bytes.
    pub body: Bytes,
}

impl Reply {
    /// Decode the body as `T` with the codec the reply declares.
    pub fn decode<T: FromBody>(&self) -> Result<T, Status> {
        T::decode_body(self.codec, &self.body).map_err(|e| bad_body(&e))
    }
}

pub(crate) enum CallSlot {
    Waiting(Option<Waker>),
    Done(Result<Reply, Status>),
}

/// Slots are keyed by connection generation and seq, so a redialed
/// connection's seqs never meet an old call.
pub(crate) fn call_key(generation: u32, seq: Seq) -> u64 {
    (u64::from(generation) << 32) | u64::from(seq.0 as u32)
}

pub(crate) struct Inner {
    pub(crate) conn: Option<Conn>,
    pub(crate) generation: u32,
    pub(crate) calls: HashMap<u64, CallSlot>,
    pub(crate) io_waker: Option<Waker>,
    /// Senders waiting for queue space, a call slot, or the end of a redial.
    pub(crate) space_waiters: Vec<Waker>,
    pub(crate) close_waiters: Vec<Waker>,
    /// Set once the session is over for good (no more redials).
    pub(crate) finished: Option<CloseReason>,
    /// The user closed it: do not redial.
    pub(crate) closing: bool,
    pub(crate) redialing: bool,
    pub(crate) id: String,
    pub(crate) scratch: Vec<u8>,
}

impl Inner {
    pub(crate) fn wake_io(&mut self) {
        if let Some(w) = &self.io_waker {
            w.wake_by_ref();
        }
    }

    pub(crate) fn wake_senders(&mut self) {
        for w in self.space_waiters.drain(..) {
            w.wake();
        }
    }
}

/// A timer firing at an instant, from the session's runtime (the session
/// itself is not generic over it).
pub(crate) type TimerFn =
    Arc<dyn Fn(std::time::Instant) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

pub(crate) struct Shared {
    pub(crate) inner: Mutex<Inner>,
    pub(crate) remote: Addr,
    pub(crate) config: Arc<PeerConfig>,
    pub(crate) registry: Weak<crate::peer::Registry>,
    pub(crate) timer: TimerFn,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock is a bug in this crate; the state is
        // still consistent enough to close, so recover it instead of
        // poisoning every handle.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A cloneable handle on one session, usable from any task.
///
/// Both sides of a session can call and push. Handles stay valid across
/// redials; calls made while the link is down fail at once with
/// [`StatusRef::CONN_CLOSED`] (102).
#[derive(Clone)]
pub struct Session(pub(crate) Arc<Shared>);

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id())
            .field("peer_addr", &self.0.remote)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// The session id (by default the peer's address).
    pub fn id(&self) -> String {
        self.0.lock().id.clone()
    }

    /// Rename the session; the peer's registry follows.
    pub fn set_id(&self, id: impl Into<String>) {
        let id = id.into();
        let old = self.id();
        let id = match self.0.registry.upgrade() {
            Some(reg) => reg.rename(&old, id, self),
            None => id,
        };
        self.0.lock().id = id;
    }

    /// The remote address.
    pub fn peer_addr(&self) -> &Addr {
        &self.0.remote
    }

    /// Whether the link is up and open for calls.
    pub fn health(&self) -> bool {
        let inner = self.0.lock();
        inner
            .conn
            .as_ref()
            .is_some_and(|c| matches!(c.state(), State::Open | State::Handshake))
    }

    /// Counters of the current connection.
    pub fn stats(&self) -> Option<Stats> {
        self.0.lock().conn.as_ref().map(Connection::stats)
    }

    /// Start a call; add options with the builder, then `.await` it.
    ///
    /// ```no_run
    /// # async fn f(session: teleport_async::Session) -> Result<(), teleport_async::Status> {
    /// let sum: i64 = session
    ///     .call("/math/add?author=ann", &[1, 2, 3])
    ///     .meta("peer_id", "110")
    ///     .timeout(std::time::Duration::from_secs(2))
    ///     .await?
    ///     .decode()?;
    /// # Ok(()) }
    /// ```
    pub fn call<'a, A: Body + ?Sized>(&'a self, uri: &'a str, arg: &'a A) -> Call<'a, A> {
        Call {
            req: Request::new(self, uri, arg),
            state: CallState::Start,
        }
    }

    /// Send a push (no reply); add options with the builder, then `.await`.
    pub fn push<'a, A: Body + ?Sized>(&'a self, uri: &'a str, arg: &'a A) -> Push<'a, A> {
        Push {
            req: Request::new(self, uri, arg),
        }
    }

    /// Close gracefully: no new calls, calls in flight get up to
    /// [`DEFAULT_DRAIN`] to finish both ways. Never redials afterwards.
    pub fn close(&self) {
        self.close_with(Some(DEFAULT_DRAIN));
    }

    /// Close with a drain period (`None`: at once, calls in flight fail).
    pub fn close_with(&self, drain: Option<Duration>) {
        let mut inner = self.0.lock();
        inner.closing = true;
        if let Some(conn) = inner.conn.as_mut() {
            conn.close(drain, rt::now());
        }
        inner.wake_io();
        inner.wake_senders();
    }

    /// Wait until the session is over for good and return why.
    pub async fn closed(&self) -> CloseReason {
        std::future::poll_fn(|cx| {
            let mut inner = self.0.lock();
            if let Some(reason) = inner.finished {
                return Poll::Ready(reason);
            }
            crate::peer::push_waker(&mut inner.close_waiters, cx.waker());
            Poll::Pending
        })
        .await
    }

    /// Whether the session is over for good.
    pub fn is_closed(&self) -> bool {
        self.0.lock().finished.is_some()
    }

    pub(crate) fn same(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// Options shared by calls and pushes.
struct Request<'a, A: ?Sized> {
    session: &'a Session,
    uri: &'a str,
    arg: &'a A,
    meta: Meta,
    codec: Option<u8>,
    xfer: &'a [u8],
    timeout: Option<Duration>,
    started: Option<std::time::Instant>,
    /// Fires at the deadline while the request waits for room to start.
    wait_timer: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl<'a, A: Body + ?Sized> Request<'a, A> {
    fn new(session: &'a Session, uri: &'a str, arg: &'a A) -> Self {
        Self {
            session,
            uri,
            arg,
            meta: Meta::new(),
            codec: None,
            xfer: &[],
            timeout: None,
            started: None,
            wait_timer: None,
        }
    }

    /// Try to queue the request; `Pending` when the queue or the call table
    /// is full (the waker is kept and woken when space frees).
    fn start(&mut self, cx: &mut Context<'_>, call: bool) -> Poll<Result<(Seq, u32), Status>> {
        let shared = &self.session.0;
        let mut guard = shared.lock();
        let inner = &mut *guard;
        if inner.redialing && inner.finished.is_none() && inner.conn.is_none() {
            return Poll::Ready(Err(StatusRef::CONN_CLOSED.to_owned()));
        }
        let Some(conn) = inner.conn.as_mut() else {
            return Poll::Ready(Err(StatusRef::CONN_CLOSED.to_owned()));
        };
        let codec = self
            .codec
            .or_else(|| self.arg.fixed_codec())
            .unwrap_or(shared.config.default_body_codec);
        let mut body = std::mem::take(&mut inner.scratch);
        body.clear();
        if let Err(e) = self.arg.encode_body(codec, &mut body) {
            inner.scratch = body;
            return Poll::Ready(Err(bad_body(&e)));
        }
        let mut msg = Outgoing::new(codec, &body)
            .with_meta(&self.meta)
            .with_xfer(self.xfer);
        // The deadline counts from the first poll: time spent waiting for a
        // call slot or send room is part of it.
        let limit = self.timeout.or(shared.config.default_context_age);
        msg.timeout = match (limit, self.started) {
            (Some(limit), Some(started)) => Some(limit.saturating_sub(started.elapsed())),
            (limit, _) => limit,
        };
        let now = rt::now();
        let sent = if call {
            conn.call(self.uri, msg, now)
        } else {
            conn.push(self.uri, msg, now)
        };
        inner.scratch = body;
        match sent {
            Ok(seq) => {
                if call {
                    inner
                        .calls
                        .insert(call_key(inner.generation, seq), CallSlot::Waiting(None));
                }
                inner.wake_io();
                Poll::Ready(Ok((seq, inner.generation)))
            }
            Err(e) => match send_error_status(e) {
                Some(status) => Poll::Ready(Err(status)),
                None => {
                    crate::peer::push_waker(&mut inner.space_waiters, cx.waker());
                    inner.wake_io();
                    drop(guard);
                    self.poll_wait_deadline(cx, limit)
                }
            },
        }
    }

    /// While waiting to start: `Ready(408)` once the deadline passed.
    fn poll_wait_deadline(
        &mut self,
        cx: &mut Context<'_>,
        limit: Option<Duration>,
    ) -> Poll<Result<(Seq, u32), Status>> {
        let (Some(limit), Some(started)) = (limit, self.started) else {
            return Poll::Pending;
        };
        let timer = self.wait_timer.get_or_insert_with(|| {
            let far = started + Duration::from_secs(86_400 * 365);
            (self.session.0.timer)(started.checked_add(limit).unwrap_or(far))
        });
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(StatusRef::HANDLE_TIMEOUT
                .to_owned()
                .with_cause("no call slot or send room before the deadline"))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn log_done(&self, kind: &str, seq: Seq, code: i32, body: Option<&[u8]>) {
        let config = &self.session.0.config;
        log_message(
            config,
            kind,
            &self.session.0.remote,
            self.uri,
            seq,
            self.started,
            code,
            (!self.meta.is_empty()).then_some(&self.meta),
            body,
        );
    }
}

/// What a failed send means for the caller: a status, or `None` to wait.
pub(crate) fn send_error_status(e: SendError) -> Option<Status> {
    Some(match e {
        SendError::WouldBlock { .. } | SendError::TooManyCalls | SendError::NotReady => {
            return None;
        }
        SendError::Closed | SendError::Draining => StatusRef::CONN_CLOSED.to_owned(),
        SendError::TooLarge { needed } => StatusRef::WRITE_FAILED.to_owned().with_cause(format!(
            "frame of {needed} bytes exceeds the message size limit"
        )),
        SendError::Rejected(s) => s.to_owned(),
        SendError::Encode(e) => StatusRef::BAD_MESSAGE.to_owned().with_cause(e.to_string()),
        SendError::Xfer => StatusRef::BAD_MESSAGE
            .to_owned()
            .with_cause("unknown transfer filter"),
        other @ (SendError::AuthState | SendError::UnknownSeq(_)) => {
            StatusRef::INTERNAL_SERVER_ERROR
                .to_owned()
                .with_cause(other.to_string())
        }
    })
}

macro_rules! request_options {
    () => {
        /// Add a metadata pair.
        pub fn meta(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
            self.req.meta.add(key, value);
            self
        }

        /// Set a metadata key, replacing earlier values.
        pub fn set_meta(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
            self.req.meta.set(key, value);
            self
        }

        /// Body codec id (default: the peer's default codec, or the body's own).
        pub fn codec(mut self, codec: u8) -> Self {
            self.req.codec = Some(codec);
            self
        }

        /// Transfer-filter pipe, applied in order (e.g. `b"g"` for gzip).
        pub fn xfer(mut self, pipe: &'a [u8]) -> Self {
            self.req.xfer = pipe;
            self
        }
    };
}

enum CallState {
    Start,
    Waiting { key: u64, seq: Seq },
    Done,
}

/// A call in progress; see [`Session::call`]. Dropping it abandons the
/// call (a late reply is ignored).
#[must_use = "a call does nothing until awaited"]
pub struct Call<'a, A: ?Sized> {
    req: Request<'a, A>,
    state: CallState,
}

impl<'a, A: Body + ?Sized> Call<'a, A> {
    request_options!();

    /// Ask the peer to reply with this codec (the `X-Accept-Body-Codec`
    /// meta, the codec id in decimal).
    pub fn accept_codec(mut self, codec: u8) -> Self {
        self.req.meta.set(
            teleport_core::meta::META_ACCEPT_BODY_CODEC,
            codec.to_string(),
        );
        self
    }

    /// Time limit of this call (default: the peer's context age), counted
    /// from the first poll: waiting for a free call slot or send room is
    /// part of it. Past it the call ends with 408.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.req.timeout = Some(timeout);
        self
    }
}

impl<A: Body + ?Sized> Future for Call<'_, A> {
    type Output = Result<Reply, Status>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            match this.state {
                CallState::Start => {
                    if this.req.started.is_none() {
                        this.req.started = Some(std::time::Instant::now());
                    }
                    match this.req.start(cx, true) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Err(status)) => {
                            this.state = CallState::Done;
                            this.req.log_done("CALL ->", Seq(0), status.code, None);
                            return Poll::Ready(Err(status));
                        }
                        Poll::Ready(Ok((seq, generation))) => {
                            this.state = CallState::Waiting {
                                key: call_key(generation, seq),
                                seq,
                            };
                        }
                    }
                }
                CallState::Waiting { key, seq } => {
                    let mut inner = this.req.session.0.lock();
                    let done = match inner.calls.get_mut(&key) {
                        Some(CallSlot::Waiting(waker)) => {
                            if !waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                                *waker = Some(cx.waker().clone());
                            }
                            return Poll::Pending;
                        }
                        Some(CallSlot::Done(_)) => match inner.calls.remove(&key) {
                            Some(CallSlot::Done(result)) => result,
                            _ => Err(StatusRef::CONN_CLOSED.to_owned()),
                        },
                        None => Err(StatusRef::CONN_CLOSED.to_owned()),
                    };
                    drop(inner);
                    this.state = CallState::Done;
                    match &done {
                        Ok(reply) => this.req.log_done("CALL ->", seq, 0, Some(&reply.body)),
                        Err(s) => this.req.log_done("CALL ->", seq, s.code, None),
                    }
                    return Poll::Ready(done);
                }
                CallState::Done => {
                    return Poll::Ready(Err(StatusRef::CONN_CLOSED
                        .to_owned()
                        .with_cause("call polled after completion")));
                }
            }
        }
    }
}

impl<A: ?Sized> Drop for Call<'_, A> {
    fn drop(&mut self) {
        if let CallState::Waiting { key, .. } = self.state {
            self.req.session.0.lock().calls.remove(&key);
        }
    }
}

/// A push in progress; see [`Session::push`]. Completes once the frame is
/// queued.
#[must_use = "a push does nothing until awaited"]
pub struct Push<'a, A: ?Sized> {
    req: Request<'a, A>,
}

impl<'a, A: Body + ?Sized> Push<'a, A> {
    request_options!();
}

impl<A: Body + ?Sized> Future for Push<'_, A> {
    type Output = Result<(), Status>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if this.req.started.is_none() {
            this.req.started = Some(std::time::Instant::now());
        }
        match this.req.start(cx, false) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok((seq, _))) => {
                this.req.log_done("PUSH ->", seq, 0, None);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(status)) => {
                this.req.log_done("PUSH ->", Seq(0), status.code, None);
                Poll::Ready(Err(status))
            }
        }
    }
}

/// One log line per message, as the Go framework prints them.
#[allow(clippy::too_many_arguments)]
pub(crate) fn log_message(
    config: &PeerConfig,
    kind: &str,
    remote: &Addr,
    method: &str,
    seq: Seq,
    started: Option<std::time::Instant>,
    code: i32,
    meta: Option<&dyn std::fmt::Debug>,
    body: Option<&[u8]>,
) {
    let cost = started.map(|s| s.elapsed());
    let slow = matches!((cost, config.slow_comet_duration), (Some(c), Some(limit)) if c > limit);
    if slow {
        tracing::warn!(
            target: "teleport",
            "{kind} {remote} {method} seq={seq} cost={:?} status={code} (slow)",
            cost.unwrap_or_default()
        );
        return;
    }
    if !tracing::enabled!(target: "teleport", tracing::Level::INFO) {
        return;
    }
    let cost = if config.count_time {
        format!(" cost={:?}", cost.unwrap_or_default())
    } else {
        String::new()
    };
    if config.print_detail {
        let body = body.map(|b| String::from_utf8_lossy(&b[..b.len().min(1024)]).into_owned());
        tracing::info!(
            target: "teleport",
            "{kind} {remote} {method} seq={seq}{cost} status={code} meta={meta:?} body={body:?}"
        );
    } else {
        tracing::info!(target: "teleport", "{kind} {remote} {method} seq={seq}{cost} status={code}");
    }
}

/// Meta of a request as an owned map (for handlers that keep it).
pub(crate) fn meta_owned(view: MetaView<'_>) -> Meta {
    Meta::from_view(view).unwrap_or_default()
}
