//! The session driver: one TCP socket, one core connection, one task.

use core::future::{Future, pending};
use core::pin::pin;
use core::task::Poll;
use core::time::Duration;

use embassy_futures::select::select3;
use embassy_net::tcp::TcpSocket;
use embassy_time::Timer;
use teleport_core::conn::{CloseReason, Connection, Event, Outgoing, SendError, State, Storage};
use teleport_core::router::{Reject, Routes};
use teleport_core::{Instant, MessageView, MetaView, Mtype, Seq, StatusRef, StatusView};

use crate::ctx::{Ctx, Outbox};
use crate::{App, Dispatch, body};

/// How long a closed session may take to flush its last frames.
const LINGER: Duration = Duration::from_secs(2);

/// The per-session buffers the driver needs besides the connection's own
/// queues, each one frame long: a copy of the message a handler is running
/// on, the reply it builds, and bodies of calls and pushes it sends.
pub struct Buffers<const FRAME: usize> {
    msg: [u8; FRAME],
    reply: [u8; FRAME],
    out: [u8; FRAME],
}

impl<const FRAME: usize> Buffers<FRAME> {
    /// Zeroed buffers (usable in a `static`).
    pub const fn new() -> Self {
        Self {
            msg: [0; FRAME],
            reply: [0; FRAME],
            out: [0; FRAME],
        }
    }
}

impl<const FRAME: usize> Default for Buffers<FRAME> {
    fn default() -> Self {
        Self::new()
    }
}

/// The current time as the core counts it.
pub fn now() -> Instant {
    Instant::from_millis(embassy_time::Instant::now().as_millis())
}

fn to_embassy(t: Instant) -> embassy_time::Instant {
    embassy_time::Instant::from_millis(t.as_millis())
}

/// Resolves when the socket has data, or its receive half closed (which
/// `wait_read_ready` alone never reports).
async fn readable_or_closed(socket: &TcpSocket<'_>) {
    let mut ready = pin!(socket.wait_read_ready());
    core::future::poll_fn(|cx| {
        if ready.as_mut().poll(cx).is_ready() || !socket.may_recv() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
}

async fn when<F: Future<Output = ()>>(enabled: bool, fut: F) {
    if enabled {
        fut.await;
    } else {
        pending::<()>().await;
    }
}

/// Write as much of the send queue as the socket takes now.
async fn transmit<S: Storage, R: Routes>(socket: &mut TcpSocket<'_>, conn: &mut Connection<S, R>) {
    let queued = conn.poll_transmit();
    if queued.is_empty() || !socket.can_send() {
        return;
    }
    let written = socket
        .write_with(|space| {
            let n = space.len().min(queued.len());
            space[..n].copy_from_slice(&queued[..n]);
            (n, n)
        })
        .await;
    match written {
        Ok(n) => conn.advance_transmit(n),
        Err(_) => conn.handle_transport_error(now()),
    }
}

/// Where the parts of a copied message sit in [`Buffers::msg`].
#[derive(Clone, Copy)]
struct Copied {
    seq: Seq,
    mtype: Mtype,
    codec: u8,
    method: usize,
    meta: usize,
    body: usize,
}

/// Copy a message out of the connection's receive queue, so the handler can
/// send on the connection while it reads the message.
fn copy_message(msg: &MessageView<'_>, buf: &mut [u8]) -> Option<Copied> {
    let parts = [msg.service_method.as_bytes(), msg.meta.raw(), msg.body];
    let mut at = 0;
    for part in parts {
        buf.get_mut(at..at + part.len())?.copy_from_slice(part);
        at += part.len();
    }
    Some(Copied {
        seq: msg.seq,
        mtype: msg.mtype,
        codec: msg.body_codec,
        method: parts[0].len(),
        meta: parts[1].len(),
        body: parts[2].len(),
    })
}

fn view(c: Copied, buf: &[u8]) -> Option<MessageView<'_>> {
    let (method, rest) = buf.split_at_checked(c.method)?;
    let (meta, rest) = rest.split_at_checked(c.meta)?;
    Some(MessageView {
        seq: c.seq,
        mtype: c.mtype,
        service_method: core::str::from_utf8(method).ok()?,
        status: StatusView::default(),
        meta: MetaView::new(meta),
        body_codec: c.codec,
        body: rest.get(..c.body)?,
    })
}

enum Job<D> {
    /// Run the handler; `true` for a CALL (it gets a reply).
    Handle(D, Copied, bool),
    /// A CALL too large for the handler's message buffer: answer 500.
    TooLarge(Seq),
    RefuseAuth,
    Nothing,
}

/// The answer to a call whose message does not fit [`Buffers`].
const TOO_LARGE: Reject = StatusRef::new(500, "Internal Server Error")
    .with_cause("message larger than the handler buffer");

/// Run one session on a connected socket until it closes; returns why.
///
/// Handlers run on this task, one at a time, in arrival order: a handler
/// that awaits holds up the session (keep them short on a device).
pub async fn run<A, R, S, const FRAME: usize>(
    socket: &mut TcpSocket<'_>,
    conn: &mut Connection<S, R>,
    bufs: &mut Buffers<FRAME>,
    app: &A,
) -> CloseReason
where
    A: App + ?Sized,
    S: Storage,
    R: Routes,
    R::Handler: Dispatch<A> + Copy,
{
    let codec = conn.config().default_body_codec;
    let started = now();
    app.on_open(&mut Outbox {
        wire: conn,
        buf: &mut bufs.out,
        codec,
        now: started,
    });
    let mut next_tick = app.tick().map(|d| started.saturating_add(d));
    let mut closed_at: Option<Instant> = None;

    loop {
        let t = now();
        if socket.can_recv() {
            let taken = socket
                .read_with(|data| {
                    let n = conn.handle_input(data, t);
                    (n, n)
                })
                .await;
            if taken.is_err() {
                conn.handle_transport_error(t);
            }
        } else if !socket.may_recv() && conn.state() != State::Closed {
            conn.handle_eof(t);
        }
        conn.handle_timeout(t);

        // Events; handlers run inline.
        loop {
            let job = match conn.poll_event() {
                None => break,
                Some(Event::Call(incoming) | Event::Push(incoming)) => {
                    let is_call = incoming.message.mtype == Mtype::Call;
                    match copy_message(&incoming.message, &mut bufs.msg) {
                        Some(copied) => Job::Handle(*incoming.handler, copied, is_call),
                        None if is_call => Job::TooLarge(incoming.message.seq),
                        None => Job::Nothing,
                    }
                }
                Some(Event::Outcome { seq, outcome }) => {
                    app.on_outcome(seq, &outcome);
                    Job::Nothing
                }
                Some(Event::AuthCall(_)) => Job::RefuseAuth,
                Some(Event::AuthResult { .. }) => Job::Nothing,
                Some(Event::Warning(w)) => {
                    log_warn!("teleport: {}", w);
                    Job::Nothing
                }
                Some(Event::Closed(reason)) => {
                    log_info!("teleport: session closed: {}", reason);
                    app.on_close(reason);
                    Job::Nothing
                }
            };
            match job {
                Job::Handle(handler, copied, is_call) => {
                    let reply_codec = conn
                        .reply_codec(copied.seq, body::supported)
                        .filter(|c| body::supported(*c))
                        .unwrap_or(codec);
                    handle(
                        socket,
                        conn,
                        bufs,
                        app,
                        handler,
                        copied,
                        reply_codec,
                        is_call,
                    )
                    .await;
                }
                Job::TooLarge(seq) => {
                    let _ = conn.reply(seq, TOO_LARGE, Outgoing::new(0, &[]), now());
                }
                Job::RefuseAuth => {
                    let status = StatusRef::UNAUTHORIZED.with_cause("no auth on this device");
                    let _ = conn.auth_reply(status, Outgoing::new(0, &[]), now());
                }
                Job::Nothing => {}
            }
        }

        if let Some(due) = next_tick
            && t >= due
            && conn.state() == State::Open
        {
            app.on_tick(&mut Outbox {
                wire: conn,
                buf: &mut bufs.out,
                codec,
                now: t,
            });
            let every = app.tick().unwrap_or(Duration::from_secs(1));
            let next = due.saturating_add(every);
            next_tick = Some(if next <= t {
                t.saturating_add(every)
            } else {
                next
            });
        }

        transmit(socket, conn).await;

        if conn.state() == State::Closed {
            let since = *closed_at.get_or_insert(t);
            if conn.is_finished() || t >= since.saturating_add(LINGER) {
                break;
            }
        }

        // Sleep until the socket or a deadline needs us.
        let mut deadline = conn.poll_timeout().unwrap_or(Instant::NEVER);
        if let Some(tick) = next_tick {
            deadline = deadline.min(tick);
        }
        if let Some(since) = closed_at {
            deadline = deadline.min(since.saturating_add(LINGER));
        }
        let want_read = !conn.recv_buffer().is_empty();
        let want_write = !conn.poll_transmit().is_empty();
        select3(
            when(want_read, readable_or_closed(socket)),
            when(want_write, socket.wait_write_ready()),
            when(deadline != Instant::NEVER, Timer::at(to_embassy(deadline))),
        )
        .await;
    }

    socket.close();
    let _ = embassy_time::with_timeout(embassy_time::Duration::from_secs(2), socket.flush()).await;
    socket.abort();
    conn.close_reason().unwrap_or(CloseReason::Local)
}

/// Run one handler and send its reply (waiting for send room if needed).
#[allow(clippy::too_many_arguments)]
async fn handle<A, R, S, const FRAME: usize>(
    socket: &mut TcpSocket<'_>,
    conn: &mut Connection<S, R>,
    bufs: &mut Buffers<FRAME>,
    app: &A,
    handler: R::Handler,
    copied: Copied,
    reply_codec: u8,
    is_call: bool,
) where
    A: App + ?Sized,
    S: Storage,
    R: Routes,
    R::Handler: Dispatch<A> + Copy,
{
    let Some(msg) = view(copied, &bufs.msg) else {
        // Unreachable: the copy was made from a valid message a moment ago.
        if is_call {
            let _ = conn.reply(copied.seq, TOO_LARGE, Outgoing::new(0, &[]), now());
        }
        return;
    };
    let (path, query) = teleport_core::uri::split_query(msg.service_method);
    let default_codec = conn.config().default_body_codec;
    let mut ctx = Ctx {
        msg,
        path,
        query,
        reply: &mut bufs.reply,
        reply_len: None,
        reply_codec,
        out: Outbox {
            wire: conn,
            buf: &mut bufs.out,
            codec: default_codec,
            now: now(),
        },
    };
    let result: Result<(), Reject> = handler.dispatch(app, &mut ctx).await;
    let reply_len = ctx.reply_len;
    if !is_call {
        return;
    }
    // Send room may be short: write to the socket until the reply fits.
    for _ in 0..1000 {
        let sent = match result {
            Ok(()) => {
                let body = bufs.reply.get(..reply_len.unwrap_or(0)).unwrap_or_default();
                let codec = if reply_len.is_some() { reply_codec } else { 0 };
                conn.reply(copied.seq, StatusRef::OK, Outgoing::new(codec, body), now())
            }
            Err(status) => conn.reply(copied.seq, status, Outgoing::new(0, &[]), now()),
        };
        match sent {
            Err(SendError::WouldBlock { .. }) => {
                let ready = embassy_time::with_timeout(
                    embassy_time::Duration::from_secs(5),
                    socket.wait_write_ready(),
                );
                if ready.await.is_err() {
                    // The peer takes nothing: give up on the session.
                    conn.handle_transport_error(now());
                }
                transmit(socket, conn).await;
            }
            Err(e) => {
                log_warn!("teleport: reply to {} not sent: {}", copied.seq.0, e);
                return;
            }
            Ok(()) => return,
        }
    }
}
