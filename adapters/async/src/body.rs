//! Typed bodies: any serde type, prost messages through [`Proto`], raw bytes
//! through [`Raw`], and reply metadata through [`WithMeta`].

use bytes::Bytes;
use teleport_core::codec::{self, CodecError};
use teleport_core::{Meta, Status, StatusRef};

/// A value that can be sent as a body with a given codec.
///
/// Implemented for every `serde::Serialize` type, for [`Proto`], [`Raw`] and
/// [`WithMeta`].
pub trait Body {
    /// Append the encoded value to `out`.
    fn encode_body(&self, codec: u8, out: &mut Vec<u8>) -> Result<(), CodecError>;
    /// The codec this body insists on (raw bytes keep their own).
    fn fixed_codec(&self) -> Option<u8> {
        None
    }
    /// Metadata to send along (replies only).
    fn reply_meta(&self) -> Option<&Meta> {
        None
    }
}

impl<T: serde::Serialize + ?Sized> Body for T {
    fn encode_body(&self, codec: u8, out: &mut Vec<u8>) -> Result<(), CodecError> {
        codec::encode(codec, self, out)
    }
}

/// A value that can be read from a body of a given codec.
///
/// Implemented for every `serde::de::DeserializeOwned` type, for [`Proto`]
/// and [`Raw`].
pub trait FromBody: Sized {
    /// Decode `body` written with `codec`.
    fn decode_body(codec: u8, body: &Bytes) -> Result<Self, CodecError>;
}

impl<T: serde::de::DeserializeOwned> FromBody for T {
    fn decode_body(codec: u8, body: &Bytes) -> Result<Self, CodecError> {
        codec::decode(codec, body)
    }
}

/// A prost message, carried with the protobuf codec.
///
/// ```
/// use teleport_async::{Body, FromBody, Proto};
/// #[derive(Clone, PartialEq, prost::Message)]
/// struct Ping { #[prost(int32, tag = "1")] n: i32 }
/// let mut out = Vec::new();
/// Proto(Ping { n: 7 }).encode_body(b'p', &mut out).unwrap();
/// let back = Proto::<Ping>::decode_body(b'p', &out.into()).unwrap();
/// assert_eq!(back.0.n, 7);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Proto<M>(pub M);

impl<M: prost::Message> Body for Proto<M> {
    fn encode_body(&self, codec: u8, out: &mut Vec<u8>) -> Result<(), CodecError> {
        match codec {
            codec::id::PROTOBUF => codec::protobuf::encode(&self.0, out),
            other => Err(CodecError::unsupported(other)),
        }
    }
    fn fixed_codec(&self) -> Option<u8> {
        Some(codec::id::PROTOBUF)
    }
}

impl<M: prost::Message + Default> FromBody for Proto<M> {
    fn decode_body(codec: u8, body: &Bytes) -> Result<Self, CodecError> {
        match codec {
            codec::id::PROTOBUF => codec::protobuf::decode(body).map(Proto),
            other => Err(CodecError::unsupported(other)),
        }
    }
}

/// Bytes sent as they are, with their codec id (an echo handler, a proxy).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Raw {
    /// Codec id written in the frame.
    pub codec: u8,
    /// The body.
    pub body: Bytes,
}

impl Raw {
    /// Raw bytes labelled with `codec`.
    pub fn new(codec: u8, body: impl Into<Bytes>) -> Self {
        Self {
            codec,
            body: body.into(),
        }
    }
}

impl Body for Raw {
    fn encode_body(&self, _codec: u8, out: &mut Vec<u8>) -> Result<(), CodecError> {
        out.extend_from_slice(&self.body);
        Ok(())
    }
    fn fixed_codec(&self) -> Option<u8> {
        Some(self.codec)
    }
}

impl FromBody for Raw {
    fn decode_body(codec: u8, body: &Bytes) -> Result<Self, CodecError> {
        Ok(Self {
            codec,
            body: body.clone(),
        })
    }
}

/// A reply body with metadata for the caller.
///
/// ```
/// use teleport_async::WithMeta;
/// let reply = WithMeta::new(15).meta("served-by", "node-1");
/// assert_eq!(reply.meta.get("served-by"), Some("node-1"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct WithMeta<T> {
    /// The body.
    pub body: T,
    /// Reply metadata.
    pub meta: Meta,
}

impl<T> WithMeta<T> {
    /// `body` with no metadata yet.
    pub fn new(body: T) -> Self {
        Self {
            body,
            meta: Meta::new(),
        }
    }

    /// Add a metadata pair.
    #[must_use]
    pub fn meta(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.meta.add(key, value);
        self
    }
}

impl<T: Body> Body for WithMeta<T> {
    fn encode_body(&self, codec: u8, out: &mut Vec<u8>) -> Result<(), CodecError> {
        self.body.encode_body(codec, out)
    }
    fn fixed_codec(&self) -> Option<u8> {
        self.body.fixed_codec()
    }
    fn reply_meta(&self) -> Option<&Meta> {
        Some(&self.meta)
    }
}

/// The status a peer gets when its body cannot be bound: Go's 400
/// "Bad Message" with the codec error as cause.
pub(crate) fn bad_body(e: &CodecError) -> Status {
    StatusRef::BAD_MESSAGE.to_owned().with_cause(e.to_string())
}
