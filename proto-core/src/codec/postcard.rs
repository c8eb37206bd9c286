//! Postcard bodies (`'c'`): compact serde that works without `alloc`.

use super::{CodecError, CodecErrorKind, id};

/// Encode into `buf`; returns the encoded bytes.
pub fn encode_to_slice<'b, T: serde::Serialize + ?Sized>(
    value: &T,
    buf: &'b mut [u8],
) -> Result<&'b mut [u8], CodecError> {
    ::postcard::to_slice(value, buf)
        .map_err(|e| CodecError::new(id::POSTCARD, CodecErrorKind::Encode, e))
}

/// Append the encoding of `value` to `out`.
#[cfg(feature = "alloc")]
pub fn encode<T: serde::Serialize + ?Sized>(
    value: &T,
    out: &mut alloc::vec::Vec<u8>,
) -> Result<(), CodecError> {
    let bytes = ::postcard::to_allocvec(value)
        .map_err(|e| CodecError::new(id::POSTCARD, CodecErrorKind::Encode, e))?;
    if out.is_empty() {
        *out = bytes;
    } else {
        out.extend_from_slice(&bytes);
    }
    Ok(())
}

/// Decode a value, borrowing from `body` where the type allows.
pub fn decode<'de, T: serde::Deserialize<'de>>(body: &'de [u8]) -> Result<T, CodecError> {
    ::postcard::from_bytes(body)
        .map_err(|e| CodecError::new(id::POSTCARD, CodecErrorKind::Decode, e))
}
