//! Body codecs, keyed by the one-byte ids the Go framework uses.
//!
//! | id | char | codec | feature |
//! |----|------|-------|---------|
//! | 106 | `j` | JSON (serde_json) | `json` |
//! | 112 | `p` | protobuf (prost) | `protobuf` |
//! | 115 | `s` | plain: strings, bytes, numbers, bools as text | always |
//! | 102 | `f` | form: `application/x-www-form-urlencoded` | `form` |
//! | 99 | `c` | postcard (serde, `no_std`); not a Go codec | always |
//!
//! Serde types go through [`encode`] / [`decode`] with any of json, plain,
//! form and postcard; prost messages through [`protobuf`].

use core::fmt;

pub mod plain;
pub mod postcard;

#[cfg(feature = "form")]
pub mod form;
#[cfg(feature = "json")]
pub mod json;
#[cfg(feature = "protobuf")]
pub mod protobuf;

/// Codec ids.
pub mod id {
    /// No body (error replies).
    pub const NONE: u8 = 0;
    /// JSON, `'j'`: the Go framework's default.
    pub const JSON: u8 = b'j';
    /// Protobuf, `'p'`.
    pub const PROTOBUF: u8 = b'p';
    /// Plain text/bytes, `'s'`.
    pub const PLAIN: u8 = b's';
    /// URL-encoded form, `'f'`.
    pub const FORM: u8 = b'f';
    /// XML, `'x'` (Go only; not implemented here).
    pub const XML: u8 = b'x';
    /// Thrift, `'t'` (Go only; not implemented here).
    pub const THRIFT: u8 = b't';
    /// Postcard, `'c'`: compact serde for small devices; no Go peer knows it.
    pub const POSTCARD: u8 = b'c';
}

/// The name of a codec id, if it is one the Go framework or this crate knows.
pub const fn name(codec: u8) -> Option<&'static str> {
    Some(match codec {
        id::NONE => "none",
        id::JSON => "json",
        id::PROTOBUF => "protobuf",
        id::PLAIN => "plain",
        id::FORM => "form",
        id::XML => "xml",
        id::THRIFT => "thrift",
        id::POSTCARD => "postcard",
        _ => return None,
    })
}

/// Whether this build can encode and decode bodies of `codec`.
pub const fn is_supported(codec: u8) -> bool {
    matches!(codec, id::PLAIN | id::POSTCARD)
        || (codec == id::JSON && cfg!(feature = "json"))
        || (codec == id::PROTOBUF && cfg!(feature = "protobuf"))
        || (codec == id::FORM && cfg!(feature = "form"))
}

/// What went wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum CodecErrorKind {
    /// No codec has this id.
    Unknown,
    /// A known codec this build does not include, or that cannot carry this type.
    Unsupported,
    /// The value could not be encoded.
    Encode,
    /// The body could not be decoded.
    Decode,
}

/// A body codec failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodecError {
    /// The codec id.
    pub codec: u8,
    /// What went wrong.
    pub kind: CodecErrorKind,
    #[cfg(feature = "alloc")]
    detail: alloc::string::String,
    #[cfg(not(feature = "alloc"))]
    detail: &'static str,
}

impl CodecError {
    /// An unknown or unsupported codec id.
    pub fn unsupported(codec: u8) -> Self {
        let kind = if name(codec).is_some() {
            CodecErrorKind::Unsupported
        } else {
            CodecErrorKind::Unknown
        };
        Self {
            codec,
            kind,
            detail: Default::default(),
        }
    }

    #[cfg(feature = "alloc")]
    pub(crate) fn new(codec: u8, kind: CodecErrorKind, detail: impl fmt::Display) -> Self {
        use alloc::string::ToString;
        Self {
            codec,
            kind,
            detail: detail.to_string(),
        }
    }

    #[cfg(not(feature = "alloc"))]
    pub(crate) fn new(codec: u8, kind: CodecErrorKind, _detail: impl fmt::Display) -> Self {
        Self {
            codec,
            kind,
            detail: "",
        }
    }

    /// The underlying library's message (empty without `alloc`).
    #[cfg(feature = "alloc")]
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The underlying library's message (empty without `alloc`).
    #[cfg(not(feature = "alloc"))]
    pub fn detail(&self) -> &str {
        self.detail
    }
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = name(self.codec).unwrap_or("?");
        match self.kind {
            // Same wording as the Go framework's 400 cause.
            CodecErrorKind::Unknown => write!(f, "unsupported codec id: {}", self.codec),
            CodecErrorKind::Unsupported => {
                write!(f, "codec {name} ({}) not supported here", self.codec)
            }
            CodecErrorKind::Encode => write!(f, "{name} encode: {}", self.detail()),
            CodecErrorKind::Decode => write!(f, "{name} decode: {}", self.detail()),
        }
    }
}

impl core::error::Error for CodecError {}

/// Encode a serde value with codec `codec` (json, plain, form or postcard),
/// appending to `out`.
///
/// ```
/// use teleport_core::codec::{self, id};
/// let mut out = Vec::new();
/// codec::encode(id::JSON, &[1, 2, 3], &mut out).unwrap();
/// assert_eq!(out, b"[1,2,3]");
/// assert_eq!(codec::decode::<Vec<i32>>(id::JSON, &out).unwrap(), [1, 2, 3]);
/// assert!(codec::encode(200, &1, &mut out).is_err());
/// ```
#[cfg(feature = "alloc")]
pub fn encode<T: serde::Serialize + ?Sized>(
    codec: u8,
    value: &T,
    out: &mut alloc::vec::Vec<u8>,
) -> Result<(), CodecError> {
    match codec {
        #[cfg(feature = "json")]
        id::JSON => json::encode(value, out),
        id::PLAIN => plain::encode(value, out),
        #[cfg(feature = "form")]
        id::FORM => form::encode(value, out),
        id::POSTCARD => postcard::encode(value, out),
        _ => Err(CodecError::unsupported(codec)),
    }
}

/// Decode a body with codec `codec` (json, plain, form or postcard).
#[cfg(feature = "alloc")]
pub fn decode<T: serde::de::DeserializeOwned>(codec: u8, body: &[u8]) -> Result<T, CodecError> {
    match codec {
        #[cfg(feature = "json")]
        id::JSON => json::decode(body),
        id::PLAIN => plain::decode(body),
        #[cfg(feature = "form")]
        id::FORM => form::decode(body),
        id::POSTCARD => postcard::decode(body),
        _ => Err(CodecError::unsupported(codec)),
    }
}
