//! What handlers and session hooks see: the message, and a way to send.

use serde::{Deserialize, Serialize};
use teleport_core::conn::{Connection, Outgoing, SendError, Storage};
use teleport_core::router::{Reject, Routes};
use teleport_core::{Instant, MessageView, MetaView, Seq};

use crate::body;

/// Metadata pairs for an outgoing message.
pub type MetaPairs<'m> = &'m [(&'m str, &'m str)];

/// The part of a connection an [`Outbox`] needs, without its type
/// parameters (so handler signatures stay short).
pub(crate) trait Wire {
    fn send(
        &mut self,
        call: bool,
        uri: &str,
        msg: Outgoing<'_, MetaPairs<'_>>,
        now: Instant,
    ) -> Result<Seq, SendError>;
}

impl<S: Storage, R: Routes> Wire for Connection<S, R> {
    fn send(
        &mut self,
        call: bool,
        uri: &str,
        msg: Outgoing<'_, MetaPairs<'_>>,
        now: Instant,
    ) -> Result<Seq, SendError> {
        if call {
            self.call(uri, msg, now)
        } else {
            self.push(uri, msg, now)
        }
    }
}

/// Sends calls and pushes on one session. Bodies are encoded into the
/// session's scratch buffer, then queued; nothing allocates.
pub struct Outbox<'o> {
    pub(crate) wire: &'o mut dyn Wire,
    pub(crate) buf: &'o mut [u8],
    pub(crate) codec: u8,
    pub(crate) now: Instant,
}

impl Outbox<'_> {
    /// Push `value` to `uri` in the session's default codec.
    ///
    /// A full send queue is [`SendError::WouldBlock`]: telemetry can skip a
    /// beat rather than wait.
    pub fn push<T: Serialize + ?Sized>(&mut self, uri: &str, value: &T) -> Result<Seq, SendError> {
        self.send(false, uri, value, &[])
    }

    /// Call `uri` with `value`; the outcome arrives at
    /// [`App::on_outcome`](crate::App::on_outcome) with the returned seq.
    pub fn call<T: Serialize + ?Sized>(&mut self, uri: &str, value: &T) -> Result<Seq, SendError> {
        self.send(true, uri, value, &[])
    }

    /// A call or push with metadata.
    pub fn send<T: Serialize + ?Sized>(
        &mut self,
        call: bool,
        uri: &str,
        value: &T,
        meta: MetaPairs<'_>,
    ) -> Result<Seq, SendError> {
        let n = body::encode(self.codec, value, self.buf).map_err(SendError::Rejected)?;
        let msg = Outgoing::new(self.codec, self.buf.get(..n).unwrap_or_default()).with_meta(meta);
        self.wire.send(call, uri, msg, self.now)
    }

    /// The time of this event.
    pub fn now(&self) -> Instant {
        self.now
    }
}

/// A handler's view of one CALL or PUSH: the message, the reply it builds,
/// and the session to push to.
///
/// ```ignore
/// async fn led_set(board: &Board, ctx: &mut Ctx<'_>) -> Result<(), Reject> {
///     let on: bool = ctx.bind()?;
///     board.set_led(on);
///     ctx.reply(&on)
/// }
/// ```
pub struct Ctx<'c> {
    pub(crate) msg: MessageView<'c>,
    pub(crate) path: &'c str,
    pub(crate) query: MetaView<'c>,
    pub(crate) reply: &'c mut [u8],
    pub(crate) reply_len: Option<usize>,
    pub(crate) reply_codec: u8,
    pub(crate) out: Outbox<'c>,
}

impl<'c> Ctx<'c> {
    /// The message's seq.
    pub fn seq(&self) -> Seq {
        self.msg.seq
    }

    /// The service method, `?query` included.
    pub fn service_method(&self) -> &'c str {
        self.msg.service_method
    }

    /// The path (the service method without its query).
    pub fn path(&self) -> &'c str {
        self.path
    }

    /// The `?query` pairs.
    pub fn query(&self) -> MetaView<'c> {
        self.query
    }

    /// The metadata pairs.
    pub fn meta(&self) -> MetaView<'c> {
        self.msg.meta
    }

    /// The body's codec id.
    pub fn body_codec(&self) -> u8 {
        self.msg.body_codec
    }

    /// The raw body.
    pub fn body(&self) -> &'c [u8] {
        self.msg.body
    }

    /// The body decoded with its codec; strings may borrow from it.
    pub fn bind<T: Deserialize<'c>>(&self) -> Result<T, Reject> {
        body::decode(self.msg.body_codec, self.msg.body)
    }

    /// Set the reply body (encoded with the caller's accepted codec or the
    /// request's). Without it, a CALL is answered with an empty body.
    pub fn reply<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Reject> {
        let n = body::encode(self.reply_codec, value, self.reply)?;
        self.reply_len = Some(n);
        Ok(())
    }

    /// Push to the caller now, before the reply. The push's body is encoded
    /// in the session's scratch buffer.
    pub fn push<T: Serialize + ?Sized>(&mut self, uri: &str, value: &T) -> Result<Seq, SendError> {
        self.out.push(uri, value)
    }

    /// The session, for calls and pushes with more options.
    pub fn outbox(&mut self) -> &mut Outbox<'c> {
        &mut self.out
    }
}
