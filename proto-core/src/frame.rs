//! Frame decode and encode: the raw protocol of the Go framework.
//!
//! ```text
//! u32 SIZE (whole frame) | u8 XN | XN xfer ids | PAYLOAD
//! PAYLOAD (after undoing the xfer pipe):
//!   u8 SL | seq (base 36) | u8 MTYPE | u8 ML | service method
//!   | u16 STL | status | u16 MTL | meta | u8 BODY CODEC | body (rest)
//! ```

use crate::error::{DecodeError, DecodeErrorKind, EncodeError, Field, XferError, XferErrorKind};
use crate::escape::{Sink, SliceSink};
use crate::meta::{MetaText, MetaView};
use crate::status::{StatusText, StatusView};
use crate::{Mtype, Seq};

/// Default frame-size limit: 4 MiB.
///
/// The Go framework allows 1 GiB and allocates that much on a peer's word;
/// 4 MiB (gRPC's default message limit) fits any ordinary RPC while keeping a
/// hostile peer's reach small. Raise it per peer when bodies are larger.
pub const DEFAULT_FRAME_LIMIT: u32 = 4 << 20;

/// Bytes before the xfer ids: SIZE and XN.
pub const PREFIX_LEN: usize = 5;

/// Smallest possible payload: seq length, one seq digit, mtype, method length,
/// status length, meta length and codec.
pub const MIN_PAYLOAD_LEN: usize = 9;

/// Outcome of looking at the front of a byte stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// Not a whole frame yet: at least this many more bytes are needed.
    NeedMore(usize),
    /// One whole frame at the front of the input.
    Frame(RawFrame<'a>),
}

/// One whole frame, borrowed from the input; its payload may still be
/// transformed by transfer filters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawFrame<'a> {
    bytes: &'a [u8],
    xfer_len: usize,
}

/// Find the first frame in `buf`.
///
/// The size limit is checked on the 4-byte prefix, before any more of the
/// frame is needed. Returns [`Decoded::NeedMore`] for any proper prefix of a
/// valid frame.
///
/// ```
/// use teleport_core::frame::{Decoded, decode_frame, DEFAULT_FRAME_LIMIT};
/// let bytes = [0, 0, 0, 0x16, 0, 1, b'1', 2, 0, 0, 6, b'c', b'o', b'd', b'e', b'=', b'0', 0, 0, b'j', b'1', b'5'];
/// assert_eq!(decode_frame(&bytes[..3], DEFAULT_FRAME_LIMIT), Ok(Decoded::NeedMore(1)));
/// let Ok(Decoded::Frame(frame)) = decode_frame(&bytes, DEFAULT_FRAME_LIMIT) else { panic!() };
/// assert_eq!(frame.len(), 22);
/// let msg = frame.message().unwrap();
/// assert_eq!(msg.body, b"15");
/// ```
pub fn decode_frame(buf: &[u8], limit: u32) -> Result<Decoded<'_>, DecodeError> {
    let Some(prefix) = buf.first_chunk::<4>() else {
        return Ok(Decoded::NeedMore(4 - buf.len()));
    };
    let size = u32::from_be_bytes(*prefix);
    check_size(size, limit)?;
    let size = size as usize;
    let Some(bytes) = buf.get(..size) else {
        return Ok(Decoded::NeedMore(size - buf.len()));
    };
    // size >= PREFIX_LEN was checked.
    let xfer_len = usize::from(bytes.get(4).copied().unwrap_or_default());
    if PREFIX_LEN + xfer_len > size {
        return Err(DecodeError::new(
            Field::XferIds,
            PREFIX_LEN,
            DecodeErrorKind::Truncated {
                needed: xfer_len,
                available: size - PREFIX_LEN,
            },
        ));
    }
    Ok(Decoded::Frame(RawFrame { bytes, xfer_len }))
}

/// Check a declared frame size against the limit.
pub fn check_size(size: u32, limit: u32) -> Result<(), DecodeError> {
    if size > limit {
        return Err(DecodeError::new(
            Field::Size,
            0,
            DecodeErrorKind::TooLarge { size, limit },
        ));
    }
    if (size as usize) < PREFIX_LEN {
        return Err(DecodeError::new(
            Field::Size,
            0,
            DecodeErrorKind::TooSmall { size },
        ));
    }
    Ok(())
}

impl<'a> RawFrame<'a> {
    /// Bytes the frame takes in the stream (its SIZE).
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// The whole frame, SIZE prefix included.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The transfer-filter ids, outer-most first.
    pub fn xfer(&self) -> &'a [u8] {
        self.bytes
            .get(PREFIX_LEN..PREFIX_LEN + self.xfer_len)
            .unwrap_or_default()
    }

    /// Offset of the payload in the frame.
    pub fn payload_offset(&self) -> usize {
        PREFIX_LEN + self.xfer_len
    }

    /// The payload as on the wire (still filtered when [`Self::xfer`] is not empty).
    pub fn payload(&self) -> &'a [u8] {
        self.bytes.get(self.payload_offset()..).unwrap_or_default()
    }

    /// Parse the message of a frame that has no transfer filters.
    ///
    /// A frame with filters is an error here ([`XferErrorKind::UnknownFilter`]);
    /// undo them with a [`crate::xfer::XferFilters`] first.
    pub fn message(&self) -> Result<MessageView<'a>, DecodeError> {
        if let Some(&id) = self.xfer().first() {
            return Err(DecodeError::new(
                Field::XferIds,
                PREFIX_LEN,
                DecodeErrorKind::Xfer(XferError {
                    id,
                    kind: XferErrorKind::UnknownFilter,
                }),
            ));
        }
        MessageView::parse(self.payload(), self.payload_offset())
    }
}

/// A decoded message, borrowing the payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageView<'a> {
    /// Sequence number.
    pub seq: Seq,
    /// Message type.
    pub mtype: Mtype,
    /// Service method, `?query` included (empty in replies).
    pub service_method: &'a str,
    /// Status.
    pub status: StatusView<'a>,
    /// Metadata.
    pub meta: MetaView<'a>,
    /// Body codec id (0 = none).
    pub body_codec: u8,
    /// Body bytes.
    pub body: &'a [u8],
}

/// Sequential, bounds-checked reader over a payload.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
    seq: Option<Seq>,
    mtype: Option<Mtype>,
}

impl<'a> Reader<'a> {
    fn err(&self, field: Field, kind: DecodeErrorKind) -> DecodeError {
        DecodeError {
            field,
            offset: self.base + self.pos,
            kind,
            seq: self.seq,
            mtype: self.mtype,
        }
    }

    fn take(&mut self, n: usize, field: Field) -> Result<&'a [u8], DecodeError> {
        let available = self.buf.len() - self.pos;
        match self.buf.get(self.pos..self.pos + n) {
            Some(s) if n <= available => {
                self.pos += n;
                Ok(s)
            }
            _ => Err(self.err(
                field,
                DecodeErrorKind::Truncated {
                    needed: n,
                    available,
                },
            )),
        }
    }

    fn u8(&mut self, field: Field) -> Result<u8, DecodeError> {
        Ok(self.take(1, field)?.first().copied().unwrap_or_default())
    }

    fn u16(&mut self, field: Field) -> Result<u16, DecodeError> {
        let b = self.take(2, field)?;
        Ok(b.first_chunk::<2>().map_or(0, |c| u16::from_be_bytes(*c)))
    }
}

impl<'a> MessageView<'a> {
    /// Parse a payload (after the transfer pipe). `base` is the payload's
    /// offset in the frame, used in error reports.
    pub fn parse(payload: &'a [u8], base: usize) -> Result<Self, DecodeError> {
        let mut r = Reader {
            buf: payload,
            pos: 0,
            base,
            seq: None,
            mtype: None,
        };
        let seq_len = r.u8(Field::SeqLen)?;
        let seq_at = r.pos;
        let seq_text = r.take(usize::from(seq_len), Field::Seq)?;
        let seq = Seq::parse(seq_text).map_err(|e| {
            r.pos = seq_at;
            r.err(Field::Seq, DecodeErrorKind::InvalidSeq(e))
        })?;
        r.seq = Some(seq);
        let mtype_at = r.pos;
        let mtype = Mtype::try_from(r.u8(Field::Mtype)?).map_err(|e| {
            r.pos = mtype_at;
            r.err(Field::Mtype, DecodeErrorKind::UnknownMtype(e.0))
        })?;
        r.mtype = Some(mtype);
        let method_len = r.u8(Field::ServiceMethodLen)?;
        let method_at = r.pos;
        let method = r.take(usize::from(method_len), Field::ServiceMethod)?;
        let service_method = core::str::from_utf8(method).map_err(|_| {
            r.pos = method_at;
            r.err(Field::ServiceMethod, DecodeErrorKind::NotUtf8)
        })?;
        let status_len = r.u16(Field::StatusLen)?;
        let status = StatusView::parse(r.take(usize::from(status_len), Field::Status)?);
        let meta_len = r.u16(Field::MetaLen)?;
        let meta = MetaView::new(r.take(usize::from(meta_len), Field::Meta)?);
        let body_codec = r.u8(Field::BodyCodec)?;
        let body = payload.get(r.pos..).unwrap_or_default();
        Ok(Self {
            seq,
            mtype,
            service_method,
            status,
            meta,
            body_codec,
            body,
        })
    }

    /// The service method without its `?query`.
    pub fn path(&self) -> &'a str {
        crate::uri::split_query(self.service_method).0
    }

    /// The `?query` of the service method (empty when there is none).
    pub fn query(&self) -> MetaView<'a> {
        crate::uri::split_query(self.service_method).1
    }

    /// The same message as a [`MessageRepr`], for re-encoding.
    pub fn to_repr(&self) -> MessageRepr<'a, StatusView<'a>, MetaView<'a>> {
        MessageRepr {
            seq: self.seq,
            mtype: self.mtype,
            service_method: self.service_method,
            status: self.status,
            meta: self.meta,
            body_codec: self.body_codec,
            body: self.body,
        }
    }
}

/// A message to encode. Status and meta are anything that can write itself
/// as wire text: [`crate::StatusRef`], [`crate::Status`], `Option` of either
/// (`None` writes an empty field), [`crate::Meta`], a slice of pairs,
/// [`crate::meta::NoMeta`], or the views of a decoded frame.
///
/// ```
/// use teleport_core::{MessageRepr, Mtype, Seq, StatusRef, meta::NoMeta};
/// let repr = MessageRepr {
///     seq: Seq(1),
///     mtype: Mtype::Reply,
///     service_method: "",
///     status: StatusRef::OK,
///     meta: NoMeta,
///     body_codec: b'j',
///     body: b"15",
/// };
/// let mut buf = [0u8; 64];
/// let n = repr.encode(&mut buf, u32::MAX).unwrap();
/// assert_eq!(&buf[..n], b"\0\0\0\x16\0\x011\x02\0\0\x06code=0\0\0j15");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageRepr<'a, St, Me> {
    /// Sequence number.
    pub seq: Seq,
    /// Message type.
    pub mtype: Mtype,
    /// Service method (at most 255 bytes).
    pub service_method: &'a str,
    /// Status (at most 65535 bytes encoded).
    pub status: St,
    /// Metadata (at most 65535 bytes encoded).
    pub meta: Me,
    /// Body codec id.
    pub body_codec: u8,
    /// Body bytes, already encoded.
    pub body: &'a [u8],
}

impl<St: StatusText, Me: MetaText> MessageRepr<'_, St, Me> {
    /// Length of the payload, checking every length-prefixed field fits.
    pub fn payload_len(&self) -> Result<usize, EncodeError> {
        let seq_len = self.seq.to_text().as_bytes().len();
        let method_len = self.service_method.len();
        if method_len > usize::from(u8::MAX) {
            return Err(EncodeError::FieldTooLong {
                field: Field::ServiceMethod,
                len: method_len,
            });
        }
        let status_len = self.status.encoded_len();
        if status_len > usize::from(u16::MAX) {
            return Err(EncodeError::FieldTooLong {
                field: Field::Status,
                len: status_len,
            });
        }
        let meta_len = self.meta.encoded_len();
        if meta_len > usize::from(u16::MAX) {
            return Err(EncodeError::FieldTooLong {
                field: Field::Meta,
                len: meta_len,
            });
        }
        Ok(1 + seq_len + 1 + 1 + method_len + 2 + status_len + 2 + meta_len + 1 + self.body.len())
    }

    /// Write the payload; `payload_len` must have succeeded.
    fn write_payload_unchecked<S: Sink + ?Sized>(&self, out: &mut S) {
        let seq = self.seq.to_text();
        let seq = seq.as_bytes();
        out.put_u8(seq.len() as u8);
        out.put(seq);
        out.put_u8(self.mtype.into());
        out.put_u8(self.service_method.len() as u8);
        out.put(self.service_method.as_bytes());
        out.put(&(self.status.encoded_len() as u16).to_be_bytes());
        self.status.encode(out);
        out.put(&(self.meta.encoded_len() as u16).to_be_bytes());
        self.meta.encode(out);
        out.put_u8(self.body_codec);
        out.put(self.body);
    }

    /// Write the payload (no SIZE, no xfer ids) to `out`; returns its length.
    /// This is the input of the transfer pipe.
    pub fn write_payload<S: Sink + ?Sized>(&self, out: &mut S) -> Result<usize, EncodeError> {
        let len = self.payload_len()?;
        self.write_payload_unchecked(out);
        Ok(len)
    }

    /// Size of the whole frame without transfer filters.
    pub fn frame_len(&self) -> Result<usize, EncodeError> {
        Ok(PREFIX_LEN + self.payload_len()?)
    }

    fn checked_frame_len(&self, limit: u32) -> Result<usize, EncodeError> {
        let size = self.frame_len()?;
        if size > limit as usize {
            return Err(EncodeError::FrameTooLarge { size, limit });
        }
        Ok(size)
    }

    fn write_frame<S: Sink + ?Sized>(&self, size: usize, out: &mut S) {
        out.put(&(size as u32).to_be_bytes());
        out.put_u8(0);
        self.write_payload_unchecked(out);
    }

    /// Encode a frame without transfer filters into `out`; returns its length.
    /// A short buffer gives [`EncodeError::BufferTooSmall`].
    pub fn encode(&self, out: &mut [u8], limit: u32) -> Result<usize, EncodeError> {
        let size = self.checked_frame_len(limit)?;
        if out.len() < size {
            return Err(EncodeError::BufferTooSmall { required: size });
        }
        let mut sink = SliceSink::new(out);
        self.write_frame(size, &mut sink);
        match sink.written() {
            Some(n) if n == size => Ok(size),
            _ => Err(EncodeError::BufferTooSmall { required: size }),
        }
    }

    /// Append a frame without transfer filters to a growable buffer,
    /// reserving its exact size once; returns its length.
    #[cfg(feature = "alloc")]
    pub fn encode_to<B: Sink + Reserve>(
        &self,
        out: &mut B,
        limit: u32,
    ) -> Result<usize, EncodeError> {
        let size = self.checked_frame_len(limit)?;
        out.reserve_bytes(size);
        self.write_frame(size, out);
        Ok(size)
    }
}

/// A growable buffer that can reserve room ahead of a write.
#[cfg(feature = "alloc")]
pub trait Reserve {
    /// Make room for `additional` more bytes.
    fn reserve_bytes(&mut self, additional: usize);
}

#[cfg(feature = "alloc")]
impl Reserve for alloc::vec::Vec<u8> {
    fn reserve_bytes(&mut self, additional: usize) {
        self.reserve(additional);
    }
}

#[cfg(feature = "alloc")]
impl Reserve for bytes::BytesMut {
    fn reserve_bytes(&mut self, additional: usize) {
        self.reserve(additional);
    }
}
