//! JSON bodies (`'j'`), via serde_json.

use alloc::vec::Vec;

use super::{CodecError, CodecErrorKind, id};

/// Append the JSON of `value` to `out`.
pub fn encode<T: serde::Serialize + ?Sized>(
    value: &T,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    let bytes = serde_json::to_vec(value)
        .map_err(|e| CodecError::new(id::JSON, CodecErrorKind::Encode, e))?;
    if out.is_empty() {
        *out = bytes;
    } else {
        out.extend_from_slice(&bytes);
    }
    Ok(())
}

/// Decode JSON.
pub fn decode<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, CodecError> {
    serde_json::from_slice(body).map_err(|e| CodecError::new(id::JSON, CodecErrorKind::Decode, e))
}
