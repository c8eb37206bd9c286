//! Owned messages on `bytes`, and an incremental frame reader (`alloc`).

use alloc::string::String;
use alloc::vec::Vec;
use core::{fmt, ops::Deref};

use bytes::{Bytes, BytesMut};

use crate::error::{DecodeError, DecodeErrorKind, EncodeError, Field};
use crate::frame::{Decoded, MessageRepr, MessageView, decode_frame};
use crate::xfer::XferFilters;
use crate::{Meta, Mtype, Seq, Status};

/// UTF-8 text held in [`Bytes`]: a slice of a received frame, a static
/// string or a moved `String`, never copied.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BytesStr(Bytes);

impl BytesStr {
    /// A static string, without allocation.
    pub const fn from_static(s: &'static str) -> Self {
        Self(Bytes::from_static(s.as_bytes()))
    }

    /// Wrap bytes that are UTF-8.
    pub fn from_utf8(bytes: Bytes) -> Result<Self, core::str::Utf8Error> {
        core::str::from_utf8(&bytes)?;
        Ok(Self(bytes))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // Checked at construction; an empty string can't be reached otherwise.
        core::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The underlying bytes.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }
}

impl Deref for BytesStr {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl From<&'static str> for BytesStr {
    fn from(s: &'static str) -> Self {
        Self::from_static(s)
    }
}

impl From<String> for BytesStr {
    fn from(s: String) -> Self {
        Self(Bytes::from(s))
    }
}

impl fmt::Debug for BytesStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for BytesStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An owned message.
///
/// ```
/// use teleport_core::{Message, Mtype, Seq, xfer::XferFilters, frame::DEFAULT_FRAME_LIMIT};
/// let mut msg = Message::new(Seq(1), Mtype::Call, "/math/add");
/// msg.body_codec = b'j';
/// msg.body = "[1,2,3,4,5]".into();
/// let filters = XferFilters::with_defaults();
/// let mut out = bytes::BytesMut::new();
/// msg.encode_to(&filters, &mut out, DEFAULT_FRAME_LIMIT).unwrap();
/// assert_eq!(out.len(), 40);
/// let back = Message::decode(out.freeze(), &filters, DEFAULT_FRAME_LIMIT).unwrap();
/// assert_eq!(back, msg);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Sequence number.
    pub seq: Seq,
    /// Message type.
    pub mtype: Mtype,
    /// Service method, `?query` included (empty in replies).
    pub service_method: BytesStr,
    /// Status; `None` writes an empty status field, `Some(Status::ok())`
    /// writes `code=0` as the Go framework does.
    pub status: Option<Status>,
    /// Metadata.
    pub meta: Meta,
    /// Body codec id.
    pub body_codec: u8,
    /// Body bytes (after the transfer pipe is undone).
    pub body: Bytes,
    /// Transfer-filter ids, outer-most first.
    pub xfer: Vec<u8>,
}

impl Message {
    /// A message with status `code=0`, no meta, no body, codec 0, no filters.
    pub fn new(seq: Seq, mtype: Mtype, service_method: impl Into<BytesStr>) -> Self {
        Self {
            seq,
            mtype,
            service_method: service_method.into(),
            status: Some(Status::ok()),
            meta: Meta::new(),
            body_codec: 0,
            body: Bytes::new(),
            xfer: Vec::new(),
        }
    }

    /// The service method without its `?query`.
    pub fn path(&self) -> &str {
        crate::uri::split_query(&self.service_method).0
    }

    /// The `?query` of the service method (empty when there is none).
    pub fn query(&self) -> crate::MetaView<'_> {
        crate::uri::split_query(&self.service_method).1
    }

    /// Decode one whole frame (as returned by [`FrameReader::next_frame`]).
    /// Body and service method are slices of `frame`, not copies.
    pub fn decode(frame: Bytes, filters: &XferFilters, limit: u32) -> Result<Self, DecodeError> {
        let raw = match decode_frame(&frame, limit)? {
            Decoded::Frame(raw) if raw.len() == frame.len() => raw,
            Decoded::Frame(raw) => {
                return Err(DecodeError::new(
                    Field::Size,
                    0,
                    DecodeErrorKind::Truncated {
                        needed: raw.len(),
                        available: frame.len(),
                    },
                ));
            }
            Decoded::NeedMore(n) => {
                return Err(DecodeError::new(
                    Field::Size,
                    0,
                    DecodeErrorKind::Truncated {
                        needed: frame.len() + n,
                        available: frame.len(),
                    },
                ));
            }
        };
        let xfer = raw.xfer().to_vec();
        let payload_offset = raw.payload_offset();
        // Without filters the message is sliced straight out of `frame`; with
        // them, out of the unpacked payload.
        let (source, start) = if xfer.is_empty() {
            (frame, payload_offset)
        } else {
            let mut scratch = Vec::new();
            filters.decode(&raw, &mut scratch, limit as usize)?;
            (Bytes::from(scratch), 0)
        };
        let view = MessageView::parse(source.get(start..).unwrap_or_default(), payload_offset)?;
        let text_err = |field| DecodeError {
            field,
            offset: payload_offset,
            kind: DecodeErrorKind::NotUtf8,
            seq: Some(view.seq),
            mtype: Some(view.mtype),
        };
        let status = if view.status.is_empty() {
            None
        } else {
            Some(
                view.status
                    .to_owned()
                    .map_err(|_| text_err(Field::Status))?,
            )
        };
        let meta = if view.meta.raw().is_empty() {
            Meta::new()
        } else {
            Meta::from_view(view.meta).map_err(|_| text_err(Field::Meta))?
        };
        Ok(Self {
            seq: view.seq,
            mtype: view.mtype,
            service_method: BytesStr(source.slice_ref(view.service_method.as_bytes())),
            status,
            meta,
            body_codec: view.body_codec,
            body: source.slice_ref(view.body),
            xfer,
        })
    }

    /// The message as a [`MessageRepr`].
    pub fn repr(&self) -> MessageRepr<'_, Option<&Status>, &Meta> {
        MessageRepr {
            seq: self.seq,
            mtype: self.mtype,
            service_method: &self.service_method,
            status: self.status.as_ref(),
            meta: &self.meta,
            body_codec: self.body_codec,
            body: &self.body,
        }
    }

    /// Append the frame to `out`, applying the transfer pipe; returns its length.
    pub fn encode_to(
        &self,
        filters: &XferFilters,
        out: &mut BytesMut,
        limit: u32,
    ) -> Result<usize, EncodeError> {
        filters.encode_to(&self.repr(), &self.xfer, out, limit)
    }
}

/// Splits a byte stream into whole frames without copying them twice.
///
/// Bytes are appended as they arrive; the buffer grows only with bytes that
/// arrived, and a frame whose SIZE is over the limit is rejected from its
/// 4-byte prefix. After an error the reader keeps returning it: the stream
/// cannot be resynchronised.
///
/// ```
/// use teleport_core::message::FrameReader;
/// let frame = b"\0\0\0\x16\0\x011\x02\0\0\x06code=0\0\0j15";
/// let mut r = FrameReader::new(1024);
/// r.extend(&frame[..10]);
/// assert_eq!(r.next_frame(), Ok(None));
/// r.extend(&frame[10..]);
/// assert_eq!(r.next_frame().unwrap().unwrap().len(), 22);
/// assert_eq!(r.next_frame(), Ok(None));
/// ```
#[derive(Debug)]
pub struct FrameReader {
    buf: BytesMut,
    limit: u32,
    failed: Option<DecodeError>,
}

impl FrameReader {
    /// A reader that rejects frames above `limit` bytes.
    pub fn new(limit: u32) -> Self {
        Self {
            buf: BytesMut::new(),
            limit,
            failed: None,
        }
    }

    /// The frame-size limit.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Append received bytes.
    pub fn extend(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The buffer, for reading from a socket straight into it.
    pub fn buffer_mut(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// Bytes buffered and not yet returned as frames.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Take the next whole frame (SIZE prefix included), if one has arrived.
    pub fn next_frame(&mut self) -> Result<Option<Bytes>, DecodeError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        match decode_frame(&self.buf, self.limit) {
            Ok(Decoded::NeedMore(_)) => Ok(None),
            Ok(Decoded::Frame(raw)) => {
                let n = raw.len();
                Ok(Some(self.buf.split_to(n).freeze()))
            }
            Err(e) => {
                self.failed = Some(e);
                Err(e)
            }
        }
    }
}
