//! Body codecs without alloc: postcard and plain always, JSON with the
//! `json` feature.

use serde::{Deserialize, Serialize};
use teleport_core::StatusRef;
use teleport_core::codec::{self, id};
use teleport_core::router::Reject;

/// The status of a body that does not decode.
pub const BAD_BODY: Reject = StatusRef::BAD_MESSAGE.with_cause("body does not decode");

/// The status of a body that does not fit its buffer or codec.
pub const BODY_TOO_LARGE: Reject =
    StatusRef::new(500, "Internal Server Error").with_cause("body does not fit the buffer");

/// The status of a codec this build cannot handle.
pub const UNSUPPORTED_CODEC: Reject = StatusRef::BAD_MESSAGE.with_cause("unsupported body codec");

/// Whether this build encodes and decodes `codec`.
pub fn supported(codec: u8) -> bool {
    matches!(codec, id::POSTCARD | id::PLAIN) || (cfg!(feature = "json") && codec == id::JSON)
}

/// Encode `value` with `codec` into `buf`; returns the length.
pub fn encode<T: Serialize + ?Sized>(
    codec: u8,
    value: &T,
    buf: &mut [u8],
) -> Result<usize, Reject> {
    match codec {
        id::POSTCARD => codec::postcard::encode_to_slice(value, buf)
            .map(|b| b.len())
            .map_err(|_| BODY_TOO_LARGE),
        id::PLAIN => codec::plain::encode_to_slice(value, buf).map_err(|_| BODY_TOO_LARGE),
        #[cfg(feature = "json")]
        id::JSON => serde_json_core::to_slice(value, buf).map_err(|_| BODY_TOO_LARGE),
        _ => Err(UNSUPPORTED_CODEC),
    }
}

/// Decode a body of `codec`, borrowing strings from it where the codec allows.
pub fn decode<'de, T: Deserialize<'de>>(codec: u8, body: &'de [u8]) -> Result<T, Reject> {
    match codec {
        id::POSTCARD => codec::postcard::decode(body).map_err(|_| BAD_BODY),
        id::PLAIN => codec::plain::decode(body).map_err(|_| BAD_BODY),
        #[cfg(feature = "json")]
        id::JSON => serde_json_core::from_slice(body)
            .map(|(v, _)| v)
            .map_err(|_| BAD_BODY),
        _ => Err(UNSUPPORTED_CODEC),
    }
}
