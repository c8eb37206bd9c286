//! Protobuf bodies (`'p'`), via prost.

use alloc::vec::Vec;

use super::{CodecError, CodecErrorKind, id};

/// Append the protobuf encoding of `msg` to `out`.
pub fn encode<M: prost::Message>(msg: &M, out: &mut Vec<u8>) -> Result<(), CodecError> {
    msg.encode(out)
        .map_err(|e| CodecError::new(id::PROTOBUF, CodecErrorKind::Encode, e))
}

/// Decode a protobuf message.
pub fn decode<M: prost::Message + Default>(body: &[u8]) -> Result<M, CodecError> {
    M::decode(body).map_err(|e| CodecError::new(id::PROTOBUF, CodecErrorKind::Decode, e))
}
