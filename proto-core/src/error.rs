//! Errors of the wire layer, named by field and byte offset.

use core::fmt;

use crate::{Mtype, Seq, SeqError};

/// A frame field, for error reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Field {
    /// The 4-byte SIZE prefix.
    Size,
    /// The transfer-filter count byte.
    XferCount,
    /// The transfer-filter ids.
    XferIds,
    /// The payload as transformed by the transfer filters.
    XferPayload,
    /// The sequence length byte.
    SeqLen,
    /// The sequence text.
    Seq,
    /// The message type byte.
    Mtype,
    /// The service method length byte.
    ServiceMethodLen,
    /// The service method text.
    ServiceMethod,
    /// The u16 status length.
    StatusLen,
    /// The status text.
    Status,
    /// The u16 metadata length.
    MetaLen,
    /// The metadata text.
    Meta,
    /// The body codec byte.
    BodyCodec,
    /// The body.
    Body,
}

impl Field {
    /// A short lower-case name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Size => "size",
            Self::XferCount => "xfer count",
            Self::XferIds => "xfer ids",
            Self::XferPayload => "xfer payload",
            Self::SeqLen => "seq length",
            Self::Seq => "seq",
            Self::Mtype => "mtype",
            Self::ServiceMethodLen => "service method length",
            Self::ServiceMethod => "service method",
            Self::StatusLen => "status length",
            Self::Status => "status",
            Self::MetaLen => "meta length",
            Self::Meta => "meta",
            Self::BodyCodec => "body codec",
            Self::Body => "body",
        }
    }
}

/// What went wrong with a transfer filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum XferErrorKind {
    /// No filter is registered under this id.
    UnknownFilter,
    /// The filter's input is malformed (bad gzip, short input, ...).
    Corrupt,
    /// A checksum did not match.
    ChecksumMismatch,
    /// The output would exceed the frame-size limit.
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// More than 255 filters in one pipe.
    TooManyFilters,
}

/// A transfer-filter failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct XferError {
    /// The filter id.
    pub id: u8,
    /// What happened.
    pub kind: XferErrorKind,
}

impl fmt::Display for XferError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "transfer filter {}: ", self.id)?;
        match self.kind {
            XferErrorKind::UnknownFilter => f.write_str("not registered"),
            XferErrorKind::Corrupt => f.write_str("corrupt input"),
            XferErrorKind::ChecksumMismatch => f.write_str("checksum mismatch"),
            XferErrorKind::TooLarge { limit } => write!(f, "output exceeds the {limit}-byte limit"),
            XferErrorKind::TooManyFilters => f.write_str("more than 255 filters"),
        }
    }
}

impl core::error::Error for XferError {}

/// What was wrong with a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The declared frame size is above the limit.
    TooLarge {
        /// Declared size.
        size: u32,
        /// The limit.
        limit: u32,
    },
    /// The declared frame size cannot hold the fixed fields.
    TooSmall {
        /// Declared size.
        size: u32,
    },
    /// A length points past the end of the frame.
    Truncated {
        /// Bytes the field needs.
        needed: usize,
        /// Bytes left in the frame.
        available: usize,
    },
    /// The sequence text is not a base-36 i32.
    InvalidSeq(SeqError),
    /// The message type byte is not 1..=5.
    UnknownMtype(u8),
    /// Text that must be UTF-8 is not.
    NotUtf8,
    /// A transfer filter failed.
    Xfer(XferError),
}

/// A malformed frame: which field, at which byte offset, and why.
///
/// Offsets count from the first byte of the frame (the SIZE prefix). For
/// fields inside a payload produced by the transfer pipe they count from the
/// same origin as if that payload had been on the wire unfiltered.
///
/// `seq` and `mtype` are filled in when they were readable, so a connection
/// can still answer a CALL with status 400.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DecodeError {
    /// The field.
    pub field: Field,
    /// Byte offset of the field.
    pub offset: usize,
    /// What was wrong.
    pub kind: DecodeErrorKind,
    /// The frame's seq, if it was readable.
    pub seq: Option<Seq>,
    /// The frame's message type, if it was readable.
    pub mtype: Option<Mtype>,
}

impl DecodeError {
    pub(crate) const fn new(field: Field, offset: usize, kind: DecodeErrorKind) -> Self {
        Self {
            field,
            offset,
            kind,
            seq: None,
            mtype: None,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad {} at offset {}: ", self.field.name(), self.offset)?;
        match self.kind {
            DecodeErrorKind::TooLarge { size, limit } => {
                write!(f, "frame size {size} exceeds the limit {limit}")
            }
            DecodeErrorKind::TooSmall { size } => write!(f, "frame size {size} is too small"),
            DecodeErrorKind::Truncated { needed, available } => {
                write!(f, "needs {needed} bytes, {available} left in the frame")
            }
            DecodeErrorKind::InvalidSeq(e) => fmt::Display::fmt(&e, f),
            DecodeErrorKind::UnknownMtype(m) => write!(f, "unknown message type {m}"),
            DecodeErrorKind::NotUtf8 => f.write_str("not UTF-8"),
            DecodeErrorKind::Xfer(e) => fmt::Display::fmt(&e, f),
        }
    }
}

impl core::error::Error for DecodeError {}

/// Why a message could not be encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum EncodeError {
    /// The field does not fit its length prefix (255 for the service method,
    /// 65535 for status and meta).
    FieldTooLong {
        /// Which field.
        field: Field,
        /// Its encoded length.
        len: usize,
    },
    /// The frame would exceed the frame-size limit.
    FrameTooLarge {
        /// The frame size.
        size: usize,
        /// The limit.
        limit: u32,
    },
    /// The caller's buffer is too small; nothing was written that matters.
    BufferTooSmall {
        /// Bytes needed.
        required: usize,
    },
    /// A transfer filter failed.
    Xfer(XferError),
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FieldTooLong { field, len } => {
                write!(f, "{} too long: {len} bytes", field.name())
            }
            Self::FrameTooLarge { size, limit } => {
                write!(f, "frame size {size} exceeds the limit {limit}")
            }
            Self::BufferTooSmall { required } => {
                write!(f, "buffer too small: {required} bytes required")
            }
            Self::Xfer(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl core::error::Error for EncodeError {}
