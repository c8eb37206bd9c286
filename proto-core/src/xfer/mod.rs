//! Transfer filters: transformations of the whole payload (seq through body),
//! selected per frame by one-byte ids.
//!
//! Ids are not fixed by the protocol; both ends register filters under ids
//! they agree on. By convention gzip is `'g'` and md5 is `'m'`. Packing runs
//! the pipe from its last id to its first, unpacking from first to last, so
//! the pipe `[g, m]` checksums, then compresses.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;

use crate::error::{DecodeError, DecodeErrorKind, EncodeError, Field, XferError, XferErrorKind};
use crate::frame::{MessageRepr, MessageView, PREFIX_LEN, RawFrame, Reserve};
use crate::meta::MetaText;
use crate::status::StatusText;

#[cfg(feature = "gzip")]
mod gzip;
#[cfg(feature = "md5")]
mod md5sum;

#[cfg(feature = "gzip")]
pub use gzip::Gzip;
#[cfg(feature = "md5")]
pub use md5sum::Md5;

/// Conventional id of the gzip filter.
pub const GZIP_ID: u8 = b'g';
/// Conventional id of the md5 filter.
pub const MD5_ID: u8 = b'm';

/// A transfer filter. Implement it for custom transformations.
///
/// ```
/// use teleport_core::xfer::{XferFilter, XferFilters};
/// use teleport_core::XferErrorKind;
///
/// /// Flips every bit; its own inverse.
/// struct Invert;
/// impl XferFilter for Invert {
///     fn name(&self) -> &str { "invert" }
///     fn pack(&self, input: &[u8], out: &mut Vec<u8>) -> Result<(), XferErrorKind> {
///         out.extend(input.iter().map(|b| !b));
///         Ok(())
///     }
///     fn unpack(&self, input: &[u8], out: &mut Vec<u8>, limit: usize) -> Result<(), XferErrorKind> {
///         if input.len() > limit { return Err(XferErrorKind::TooLarge { limit }); }
///         out.extend(input.iter().map(|b| !b));
///         Ok(())
///     }
/// }
/// let mut filters = XferFilters::new();
/// filters.register(b'i', Invert).unwrap();
/// ```
pub trait XferFilter: Send + Sync {
    /// A name for logs.
    fn name(&self) -> &str;
    /// Transform `input`, appending the result to `out` (which starts empty).
    fn pack(&self, input: &[u8], out: &mut Vec<u8>) -> Result<(), XferErrorKind>;
    /// Undo [`Self::pack`], appending to `out` (which starts empty); the
    /// output must not exceed `limit` bytes: stop and fail before it would.
    fn unpack(&self, input: &[u8], out: &mut Vec<u8>, limit: usize) -> Result<(), XferErrorKind>;
}

/// A filter id was registered twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AlreadyRegistered(pub u8);

impl fmt::Display for AlreadyRegistered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "transfer filter id {} is already registered", self.0)
    }
}

impl core::error::Error for AlreadyRegistered {}

/// The filters a peer knows, by id.
#[derive(Default)]
pub struct XferFilters {
    filters: Vec<(u8, Box<dyn XferFilter>)>,
}

impl fmt::Debug for XferFilters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.filters.iter().map(|(id, flt)| (id, flt.name())))
            .finish()
    }
}

impl XferFilters {
    /// No filters.
    pub const fn new() -> Self {
        Self {
            filters: Vec::new(),
        }
    }

    /// gzip as `'g'` (level 5, as the Go examples use) and md5 as `'m'`,
    /// where those features are enabled.
    pub fn with_defaults() -> Self {
        #[allow(unused_mut)]
        let mut f = Self::new();
        #[cfg(feature = "gzip")]
        f.filters.push((GZIP_ID, Box::new(Gzip::new(5))));
        #[cfg(feature = "md5")]
        f.filters.push((MD5_ID, Box::new(Md5)));
        f
    }

    /// Register `filter` under `id`.
    pub fn register(
        &mut self,
        id: u8,
        filter: impl XferFilter + 'static,
    ) -> Result<(), AlreadyRegistered> {
        if self.get(id).is_some() {
            return Err(AlreadyRegistered(id));
        }
        self.filters.push((id, Box::new(filter)));
        Ok(())
    }

    /// The filter registered under `id`.
    pub fn get(&self, id: u8) -> Option<&dyn XferFilter> {
        self.filters
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, f)| f.as_ref())
    }

    /// Whether every id of `pipe` is registered.
    pub fn knows_all(&self, pipe: &[u8]) -> bool {
        pipe.iter().all(|&id| self.get(id).is_some())
    }

    fn filter(&self, id: u8) -> Result<&dyn XferFilter, XferError> {
        self.get(id).ok_or(XferError {
            id,
            kind: XferErrorKind::UnknownFilter,
        })
    }

    /// Apply `pipe` to `payload` (last id first).
    pub fn pack(&self, pipe: &[u8], payload: Vec<u8>) -> Result<Vec<u8>, XferError> {
        if pipe.len() > usize::from(u8::MAX) {
            return Err(XferError {
                id: 0,
                kind: XferErrorKind::TooManyFilters,
            });
        }
        let mut cur = payload;
        let mut next = Vec::new();
        for &id in pipe.iter().rev() {
            next.clear();
            self.filter(id)?
                .pack(&cur, &mut next)
                .map_err(|kind| XferError { id, kind })?;
            core::mem::swap(&mut cur, &mut next);
        }
        Ok(cur)
    }

    /// Undo `pipe` on `payload` (first id first). Every intermediate and the
    /// final output are bounded by `limit` bytes.
    pub fn unpack(&self, pipe: &[u8], payload: &[u8], limit: usize) -> Result<Vec<u8>, XferError> {
        let mut cur: Vec<u8> = Vec::new();
        let mut next = Vec::new();
        for (i, &id) in pipe.iter().enumerate() {
            let filter = self.filter(id)?;
            let input: &[u8] = if i == 0 { payload } else { &cur };
            next.clear();
            filter
                .unpack(input, &mut next, limit)
                .map_err(|kind| XferError { id, kind })?;
            if next.len() > limit {
                return Err(XferError {
                    id,
                    kind: XferErrorKind::TooLarge { limit },
                });
            }
            core::mem::swap(&mut cur, &mut next);
        }
        if pipe.is_empty() {
            // Found by fuzzing: the limit held for filtered output only.
            if payload.len() > limit {
                return Err(XferError {
                    id: 0,
                    kind: XferErrorKind::TooLarge { limit },
                });
            }
            cur.extend_from_slice(payload);
        }
        Ok(cur)
    }

    /// Undo the frame's pipe into `scratch` and parse the message. Without
    /// filters the payload is parsed in place and `scratch` is untouched.
    pub fn decode<'a>(
        &self,
        frame: &RawFrame<'a>,
        scratch: &'a mut Vec<u8>,
        limit: usize,
    ) -> Result<MessageView<'a>, DecodeError> {
        if frame.xfer().is_empty() {
            return frame.message();
        }
        *scratch = self
            .unpack(frame.xfer(), frame.payload(), limit)
            .map_err(|e| {
                DecodeError::new(
                    Field::XferPayload,
                    frame.payload_offset(),
                    DecodeErrorKind::Xfer(e),
                )
            })?;
        MessageView::parse(scratch, frame.payload_offset())
    }

    /// Append a frame with transfer pipe `pipe` to `out`; returns its length.
    pub fn encode_to<St, Me, B>(
        &self,
        repr: &MessageRepr<'_, St, Me>,
        pipe: &[u8],
        out: &mut B,
        limit: u32,
    ) -> Result<usize, EncodeError>
    where
        St: StatusText,
        Me: MetaText,
        B: crate::escape::Sink + Reserve,
    {
        if pipe.is_empty() {
            return repr.encode_to(out, limit);
        }
        if pipe.len() > usize::from(u8::MAX) {
            return Err(EncodeError::Xfer(XferError {
                id: 0,
                kind: XferErrorKind::TooManyFilters,
            }));
        }
        let mut payload = Vec::with_capacity(repr.payload_len()?);
        repr.write_payload(&mut payload)?;
        let packed = self.pack(pipe, payload).map_err(EncodeError::Xfer)?;
        let size = PREFIX_LEN + pipe.len() + packed.len();
        if size > limit as usize {
            return Err(EncodeError::FrameTooLarge { size, limit });
        }
        out.reserve_bytes(size);
        out.put(&(size as u32).to_be_bytes());
        out.put_u8(pipe.len() as u8);
        out.put(pipe);
        out.put(&packed);
        Ok(size)
    }
}
