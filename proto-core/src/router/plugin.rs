//! Plugin hooks: code that sees, changes or rejects messages at fixed points.
//!
//! Plugins are pure and shared between connections (`&self`); per-connection
//! protocol state (auth, heartbeat) lives in the connection itself. A hook
//! that returns `Err(status)` rejects the message:
//! - after reading a CALL header: the peer gets a REPLY with that status;
//! - after reading a PUSH or REPLY header: the message is dropped (a REPLY
//!   then completes the call with the status);
//! - before writing: the message is not sent and the caller gets the status;
//! - on accept or dial: the connection closes.
//!
//! Hooks run in registration order: the router's global plugins first, then
//! (for hooks that follow routing) the group plugins outer to inner, then the
//! route's own.

use crate::escape::{Sink, escaped_len, write_escaped};
use crate::meta::MetaText;
use crate::{MetaView, Mtype, Seq, StatusRef, StatusView};

/// A status that rejects a message.
pub type Reject = StatusRef<'static>;

/// Which side of the connection we are: the dialer or the acceptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Role {
    /// We dialed the connection.
    Client,
    /// We accepted the connection.
    Server,
}

/// A plugin. Every hook has a default that accepts the message unchanged.
///
/// ```
/// use teleport_core::router::{Plugin, ReadHeader, Reject};
/// use teleport_core::StatusRef;
///
/// /// Refuses calls whose service method starts with `/admin`.
/// struct NoAdmin;
///
/// impl Plugin for NoAdmin {
///     fn name(&self) -> &'static str {
///         "no-admin"
///     }
///     fn post_read_call_header(&self, h: &mut ReadHeader<'_, '_>) -> Result<(), Reject> {
///         if h.service_method().starts_with("/admin") {
///             return Err(StatusRef::UNAUTHORIZED);
///         }
///         Ok(())
///     }
/// }
/// ```
pub trait Plugin: Send + Sync {
    /// A short name for logs.
    fn name(&self) -> &'static str;
    /// A connection was accepted (server role).
    fn on_accept(&self) -> Result<(), Reject> {
        Ok(())
    }
    /// A connection was dialed (client role), before any auth exchange.
    fn on_dial(&self) -> Result<(), Reject> {
        Ok(())
    }
    /// A CALL header was read (before routing for global plugins). A call
    /// the connection must refuse while its send queue is full is read again
    /// once there is room, so this can run twice for one frame.
    fn post_read_call_header(&self, _header: &mut ReadHeader<'_, '_>) -> Result<(), Reject> {
        Ok(())
    }
    /// A PUSH header was read (before routing for global plugins).
    fn post_read_push_header(&self, _header: &mut ReadHeader<'_, '_>) -> Result<(), Reject> {
        Ok(())
    }
    /// A REPLY header was read.
    fn post_read_reply_header(&self, _header: &mut ReadHeader<'_, '_>) -> Result<(), Reject> {
        Ok(())
    }
    /// A CALL is about to be written.
    fn pre_write_call(&self, _header: &mut WriteHeader<'_, '_>) -> Result<(), Reject> {
        Ok(())
    }
    /// A PUSH is about to be written.
    fn pre_write_push(&self, _header: &mut WriteHeader<'_, '_>) -> Result<(), Reject> {
        Ok(())
    }
    /// A REPLY is about to be written.
    fn pre_write_reply(&self, _header: &mut WriteHeader<'_, '_>) -> Result<(), Reject> {
        Ok(())
    }
    /// The connection closed.
    fn on_close(&self, _reason: &crate::conn::CloseReason) {}
}

/// The hook points, for [`run_hook`]-style dispatch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReadHook {
    Call,
    Push,
    Reply,
}

impl ReadHook {
    pub(crate) fn run(self, p: &dyn Plugin, h: &mut ReadHeader<'_, '_>) -> Result<(), Reject> {
        match self {
            Self::Call => p.post_read_call_header(h),
            Self::Push => p.post_read_push_header(h),
            Self::Reply => p.post_read_reply_header(h),
        }
    }
}

pub(crate) fn run_write_hook(p: &dyn Plugin, h: &mut WriteHeader<'_, '_>) -> Result<(), Reject> {
    match h.mtype {
        Mtype::Call => p.pre_write_call(h),
        Mtype::Push => p.pre_write_push(h),
        Mtype::Reply => p.pre_write_reply(h),
        Mtype::AuthCall | Mtype::AuthReply => Ok(()),
    }
}

/// Longest service method the wire can carry.
pub const MAX_SERVICE_METHOD: usize = u8::MAX as usize;

/// Room for a service method rewritten by a plugin.
#[derive(Clone, Debug)]
pub struct MethodBuf {
    bytes: [u8; MAX_SERVICE_METHOD],
    len: u8,
}

impl Default for MethodBuf {
    fn default() -> Self {
        Self {
            bytes: [0; MAX_SERVICE_METHOD],
            len: 0,
        }
    }
}

impl MethodBuf {
    /// The text held.
    pub fn as_str(&self) -> &str {
        let bytes = self.bytes.get(..usize::from(self.len)).unwrap_or_default();
        // Only ever filled from a `&str` (and ASCII-lowercased), so valid.
        core::str::from_utf8(bytes).unwrap_or_default()
    }

    /// Replace the text; refuses text longer than 255 bytes.
    pub fn set(&mut self, text: &str) -> Result<(), Reject> {
        let dst = self
            .bytes
            .get_mut(..text.len())
            .ok_or(StatusRef::BAD_MESSAGE.with_cause("service method longer than 255 bytes"))?;
        dst.copy_from_slice(text.as_bytes());
        self.len = text.len() as u8;
        Ok(())
    }

    /// Lower-case the ASCII letters in place.
    pub fn make_ascii_lowercase(&mut self) {
        if let Some(b) = self.bytes.get_mut(..usize::from(self.len)) {
            b.make_ascii_lowercase();
        }
    }
}

/// A header just read, as post-read hooks see it. The service method may be
/// rewritten; everything else is read-only.
#[derive(Debug)]
pub struct ReadHeader<'m, 'b> {
    /// Sequence number.
    pub seq: Seq,
    /// Message type.
    pub mtype: Mtype,
    /// Status.
    pub status: StatusView<'m>,
    /// Metadata.
    pub meta: MetaView<'m>,
    /// Body codec id.
    pub body_codec: u8,
    /// Body length in bytes.
    pub body_len: usize,
    original: &'m str,
    rewrite: &'b mut MethodBuf,
    rewritten: bool,
}

impl<'m, 'b> ReadHeader<'m, 'b> {
    pub(crate) fn new(msg: &crate::MessageView<'m>, rewrite: &'b mut MethodBuf) -> Self {
        Self {
            seq: msg.seq,
            mtype: msg.mtype,
            status: msg.status,
            meta: msg.meta,
            body_codec: msg.body_codec,
            body_len: msg.body.len(),
            original: msg.service_method,
            rewrite,
            rewritten: false,
        }
    }

    /// The service method (as rewritten so far), `?query` included.
    pub fn service_method(&self) -> &str {
        if self.rewritten {
            self.rewrite.as_str()
        } else {
            self.original
        }
    }

    /// Replace the service method.
    pub fn set_service_method(&mut self, method: &str) -> Result<(), Reject> {
        self.rewrite.set(method)?;
        self.rewritten = true;
        Ok(())
    }

    /// Lower-case the service method (ASCII), as the ignore-case plugin does.
    pub fn lowercase_service_method(&mut self) {
        if !self.rewritten {
            if !self.original.bytes().any(|b| b.is_ascii_uppercase()) {
                return;
            }
            // Cannot fail: the original came off the wire, so it is <= 255 bytes.
            let _ = self.rewrite.set(self.original);
            self.rewritten = true;
        }
        self.rewrite.make_ascii_lowercase();
    }

    pub(crate) fn is_rewritten(&self) -> bool {
        self.rewritten
    }
}

/// Room for metadata that pre-write hooks add (escaped text).
pub const EXTRA_META_CAPACITY: usize = 256;

/// Metadata added by plugins before a write, appended after the message's own.
#[derive(Clone, Debug)]
pub struct ExtraMeta {
    text: [u8; EXTRA_META_CAPACITY],
    len: usize,
}

impl Default for ExtraMeta {
    fn default() -> Self {
        Self {
            text: [0; EXTRA_META_CAPACITY],
            len: 0,
        }
    }
}

impl ExtraMeta {
    pub(crate) fn clear(&mut self) {
        self.len = 0;
    }

    /// Append one pair; refuses pairs that do not fit the remaining room.
    pub fn add(&mut self, key: &str, value: &str) -> Result<(), Reject> {
        let sep = usize::from(self.len > 0);
        let need = sep + escaped_len(key.as_bytes()) + 1 + escaped_len(value.as_bytes());
        let dst = self
            .text
            .get_mut(self.len..self.len + need)
            .ok_or(StatusRef::BAD_MESSAGE.with_cause("plugin metadata does not fit"))?;
        let mut sink = crate::escape::SliceSink::new(dst);
        if sep == 1 {
            sink.put_u8(b'&');
        }
        write_escaped(key.as_bytes(), &mut sink);
        sink.put_u8(b'=');
        write_escaped(value.as_bytes(), &mut sink);
        self.len += need;
        Ok(())
    }

    /// The escaped text added so far.
    pub fn as_bytes(&self) -> &[u8] {
        self.text.get(..self.len).unwrap_or_default()
    }
}

/// A header about to be written, as pre-write hooks see it: read-only, but
/// metadata may be added.
#[derive(Debug)]
pub struct WriteHeader<'m, 'b> {
    /// Sequence number.
    pub seq: Seq,
    /// Message type.
    pub mtype: Mtype,
    /// Service method (empty for replies).
    pub service_method: &'m str,
    /// Body codec id.
    pub body_codec: u8,
    /// Body length in bytes.
    pub body_len: usize,
    /// Status code (replies).
    pub status_code: i32,
    /// Metadata to append.
    pub extra_meta: &'b mut ExtraMeta,
}

/// Message metadata followed by plugin-added metadata.
pub(crate) struct ChainMeta<'a, M: ?Sized> {
    pub(crate) first: &'a M,
    pub(crate) extra: &'a [u8],
}

impl<M: MetaText + ?Sized> MetaText for ChainMeta<'_, M> {
    fn encoded_len(&self) -> usize {
        let first = self.first.encoded_len();
        let sep = usize::from(first > 0 && !self.extra.is_empty());
        first + sep + self.extra.len()
    }

    fn encode<S: Sink + ?Sized>(&self, out: &mut S) {
        let first = self.first.encoded_len();
        self.first.encode(out);
        if first > 0 && !self.extra.is_empty() {
            out.put_u8(b'&');
        }
        out.put(self.extra);
    }
}

/// The built-in ignore-case plugin: lower-cases the service method of every
/// CALL and PUSH before routing, as the Go framework's `plugin/ignorecase`.
#[derive(Clone, Copy, Debug, Default)]
pub struct IgnoreCase;

impl Plugin for IgnoreCase {
    fn name(&self) -> &'static str {
        "ignore-case"
    }
    fn post_read_call_header(&self, h: &mut ReadHeader<'_, '_>) -> Result<(), Reject> {
        h.lowercase_service_method();
        Ok(())
    }
    fn post_read_push_header(&self, h: &mut ReadHeader<'_, '_>) -> Result<(), Reject> {
        h.lowercase_service_method();
        Ok(())
    }
}
