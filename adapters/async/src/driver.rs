//! The IO task of one connection: socket bytes in, frames out, timers, and
//! events handed to handlers and waiting calls. No protocol logic here.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_io::{AsyncRead, AsyncWrite};
use teleport_core::codec;
use teleport_core::conn::{CloseReason, Event, Outcome, Outgoing, State};
use teleport_core::{Meta, Status, StatusRef};

use crate::config::AuthRequest;
use crate::handler::{Ctx, Handler};
use crate::rt::{self, BoxIo, Runtime, Timer};
use crate::session::{CallSlot, Inner, Reply, Session, Shared, call_key};

/// Reads per wake before other work gets a turn.
const READ_BURST: usize = 16;
/// Rounds per wake before yielding to the executor.
const ROUNDS: usize = 64;
/// How long a closed connection may try to flush its last frames to a peer
/// that does not read, before the transport is dropped.
const LINGER: std::time::Duration = std::time::Duration::from_secs(2);

/// A handler invocation collected under the lock, run after it is released.
struct Job {
    handler: Handler,
    ctx: Ctx,
}

/// Drive one connection until it is finished; returns why it closed.
pub(crate) async fn drive<R: Runtime>(rt: &R, shared: &Arc<Shared>, mut io: BoxIo) -> CloseReason {
    let session = Session(shared.clone());
    let mut timer = rt.timer(std::time::Instant::now() + std::time::Duration::from_secs(3600));
    let mut timer_at = None;
    let mut jobs: Vec<Job> = Vec::new();
    let mut need_flush = false;
    let mut write_failed = false;
    let mut closed_at: Option<teleport_core::Instant> = None;
    let reason = std::future::poll_fn(|cx| {
        for _ in 0..ROUNDS {
            let mut progressed = false;
            let now = rt::now();
            let mut guard = shared.lock();
            let inner = &mut *guard;
            let generation = inner.generation;
            if inner.conn.is_none() {
                return Poll::Ready(CloseReason::Local);
            }

            // Read while there is room and bytes are there.
            for _ in 0..READ_BURST {
                let conn = conn_of(inner);
                let buf = conn.recv_buffer();
                if buf.is_empty() {
                    break;
                }
                match Pin::new(&mut io).poll_read(cx, buf) {
                    Poll::Ready(Ok(0)) => {
                        conn.handle_eof(now);
                        progressed = true;
                        break;
                    }
                    Poll::Ready(Ok(n)) => {
                        conn.recv_commit(n, now);
                        progressed = true;
                        collect_events(inner, &session, generation, &mut jobs);
                    }
                    Poll::Ready(Err(e)) => {
                        tracing::debug!(target: "teleport", "read from {} failed: {e}", shared.remote);
                        conn_of(inner).handle_transport_error(now);
                        progressed = true;
                        break;
                    }
                    Poll::Pending => break,
                }
            }
            let conn = conn_of(inner);
            if conn.poll_timeout().is_some_and(|at| at <= now) {
                conn.handle_timeout(now);
            }
            if collect_events(inner, &session, generation, &mut jobs) {
                progressed = true;
            }

            // Write everything queued, in as few syscalls as the socket allows.
            let conn = conn_of(inner);
            let mut wrote = false;
            while !write_failed {
                let out = conn.poll_transmit();
                if out.is_empty() {
                    break;
                }
                match Pin::new(&mut io).poll_write(cx, out) {
                    Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => {
                        write_failed = true;
                        conn.handle_transport_error(now);
                    }
                    Poll::Ready(Ok(n)) => {
                        conn.advance_transmit(n);
                        wrote = true;
                    }
                    Poll::Pending => break,
                }
            }
            if wrote {
                need_flush = true;
                progressed = true;
                inner.wake_senders();
            }
            if need_flush
                && !write_failed
                && let Poll::Ready(r) = Pin::new(&mut io).poll_flush(cx)
            {
                need_flush = false;
                if r.is_err() {
                    write_failed = true;
                    conn_of(inner).handle_transport_error(now);
                }
            }
            if write_failed {
                collect_events(inner, &session, generation, &mut jobs);
            }

            let conn = conn_of(inner);
            if conn.state() == State::Closed && closed_at.is_none() {
                closed_at = Some(now);
            }
            let linger_over = closed_at.is_some_and(|t| now >= t + LINGER);
            let done = conn.is_finished()
                || (conn.state() == State::Closed && (write_failed || linger_over));
            if done {
                let reason = conn.close_reason().unwrap_or(CloseReason::Local);
                drop(guard);
                run_jobs(rt, cx, &mut jobs);
                return Poll::Ready(reason);
            }

            match conn.poll_timeout().or_else(|| closed_at.map(|t| t + LINGER)) {
                Some(at) => {
                    if timer_at != Some(at) {
                        timer.reset(rt::to_std(at));
                        timer_at = Some(at);
                    }
                    if Pin::new(&mut timer).poll(cx).is_ready() {
                        timer_at = None;
                        progressed = true;
                    }
                }
                None => timer_at = None,
            }
            if !inner
                .io_waker
                .as_ref()
                .is_some_and(|w| w.will_wake(cx.waker()))
            {
                inner.io_waker = Some(cx.waker().clone());
            }
            drop(guard);

            if !jobs.is_empty() {
                run_jobs(rt, cx, &mut jobs);
                progressed = true;
            }
            if !progressed {
                return Poll::Pending;
            }
        }
        // Busy connection: let other tasks run, then continue.
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await;
    // Best effort: say goodbye to the transport (TLS close_notify), briefly.
    let goodbye = std::future::poll_fn(|cx| Pin::new(&mut io).poll_close(cx));
    let _ = rt::race(goodbye, async {
        rt::sleep(rt, LINGER).await;
        Ok(())
    })
    .await;
    reason
}

fn conn_of(inner: &mut Inner) -> &mut crate::session::Conn {
    inner
        .conn
        .as_mut()
        .expect("the driver checked the connection exists and holds the lock")
}

/// Drain the machine's events: complete calls, queue handler jobs, log.
/// Returns whether there were any.
fn collect_events(
    inner: &mut Inner,
    session: &Session,
    generation: u32,
    jobs: &mut Vec<Job>,
) -> bool {
    let Some(conn) = inner.conn.as_mut() else {
        return false;
    };
    let remote = &session.0.remote;
    let mut any = false;
    let mut outcomes = false;
    let mut auth_verdict = None;
    loop {
        let job = match conn.poll_event() {
            None => break,
            Some(Event::Call(incoming) | Event::Push(incoming)) => {
                let handler = incoming.handler.clone();
                let ctx = Ctx::new(session.clone(), &incoming, generation);
                Some(Job { handler, ctx })
            }
            Some(Event::Outcome { seq, outcome }) => {
                outcomes = true;
                if let Some(slot) = inner.calls.get_mut(&call_key(generation, seq))
                    && let CallSlot::Waiting(waker) = slot
                {
                    let waker = waker.take();
                    *slot = CallSlot::Done(outcome_result(seq, &outcome));
                    if let Some(w) = waker {
                        w.wake();
                    }
                }
                None
            }
            Some(Event::AuthCall(msg)) => {
                let codec = msg.body_codec;
                let verdict = match &session.0.config.auth_checker {
                    Some(checker) => checker.check(&AuthRequest {
                        peer_addr: remote,
                        codec,
                        body: msg.body,
                        meta: Meta::from_view(msg.meta).unwrap_or_default(),
                    }),
                    None => Err(StatusRef::UNAUTHORIZED.to_owned()),
                };
                auth_verdict = Some((codec, verdict));
                None
            }
            Some(Event::AuthResult { code, .. }) => {
                if code != 0 {
                    tracing::warn!(target: "teleport", "auth with {remote} failed: status {code}");
                }
                // Calls waiting for the session to open can go (or fail).
                outcomes = true;
                None
            }
            Some(Event::Warning(w)) => {
                tracing::warn!(target: "teleport", "{remote}: {w}");
                None
            }
            Some(Event::Closed(reason)) => {
                match reason {
                    CloseReason::Local | CloseReason::Drained | CloseReason::PeerClosed => {
                        tracing::info!(target: "teleport", "session {remote} closed: {reason}");
                    }
                    _ => tracing::warn!(target: "teleport", "session {remote} closed: {reason}"),
                }
                None
            }
        };
        any = true;
        if let Some((codec, verdict)) = auth_verdict.take() {
            let now = rt::now();
            let sent = match &verdict {
                Ok(body) => conn.auth_reply(StatusRef::OK, Outgoing::new(codec, body), now),
                Err(status) => {
                    tracing::warn!(target: "teleport", "auth from {remote} refused: {status}");
                    conn.auth_reply(status.as_ref(), Outgoing::new(codec, &[]), now)
                }
            };
            if let Err(e) = sent {
                tracing::warn!(target: "teleport", "auth reply to {remote} not sent: {e}");
                conn.close(None, now);
            }
        }
        if let Some(mut job) = job {
            if job.ctx.mtype() == teleport_core::Mtype::Call
                && let Some(codec) = conn.reply_codec(job.ctx.seq(), codec::is_supported)
            {
                job.ctx.set_reply_codec(codec);
            }
            jobs.push(job);
        }
    }
    if outcomes {
        // A finished call frees a slot for callers waiting on `TooManyCalls`.
        inner.wake_senders();
    }
    any
}

fn outcome_result(seq: teleport_core::Seq, outcome: &Outcome<'_>) -> Result<Reply, Status> {
    match outcome {
        Outcome::Replied(view) if view.status.is_ok() => Ok(Reply {
            seq,
            meta: Meta::from_view(view.meta).unwrap_or_default(),
            codec: view.body_codec,
            body: Bytes::copy_from_slice(view.body),
        }),
        Outcome::Replied(view) => Err(view
            .status
            .to_owned()
            .unwrap_or_else(|_| Status::new(view.status.code, ""))),
        other => Err(other
            .local_status()
            .map(|s| s.to_owned())
            .unwrap_or_else(|| Status::new(other.code(), ""))),
    }
}

/// Start each handler; one that finishes at once never costs a task.
fn run_jobs<R: Runtime>(rt: &R, cx: &mut Context<'_>, jobs: &mut Vec<Job>) {
    for job in jobs.drain(..) {
        // A panicking handler must not take the connection's IO down with
        // it; dropping its future answers the caller with 500.
        let first_poll = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut fut = (job.handler.0)(job.ctx);
            fut.as_mut().poll(cx).is_pending().then_some(fut)
        }));
        match first_poll {
            Ok(None) => {}
            Ok(Some(fut)) => rt.spawn(fut),
            Err(_) => tracing::error!(target: "teleport", "a handler panicked"),
        }
    }
}
