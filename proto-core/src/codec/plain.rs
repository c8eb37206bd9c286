//! Plain bodies (`'s'`): a string or bytes as they are, numbers and bools as
//! decimal text, as the Go framework's plain codec writes them.
//!
//! ```
//! use teleport_core::codec::plain;
//! let mut out = Vec::new();
//! plain::encode(&-12.5f64, &mut out).unwrap();
//! assert_eq!(out, b"-12.5");
//! assert_eq!(plain::decode::<f64>(b"-12.5").unwrap(), -12.5);
//! assert_eq!(plain::decode::<bool>(b"T").unwrap(), true);
//! assert_eq!(plain::decode::<String>(b"hello").unwrap(), "hello");
//! assert_eq!(plain::decode::<Vec<u8>>(b"\xff\x00").unwrap(), [0xff, 0]);
//! ```

use core::fmt::{self, Write as _};

use serde::de::{self, Visitor};
use serde::ser::{self, Impossible, Serialize};

use super::{CodecError, CodecErrorKind, id};
use crate::escape::{Sink, SliceSink};

/// Encode `value` into a caller's buffer; returns the bytes written.
pub fn encode_to_slice<T: Serialize + ?Sized>(
    value: &T,
    buf: &mut [u8],
) -> Result<usize, CodecError> {
    let mut sink = SliceSink::new(buf);
    value.serialize(&mut PlainSerializer {
        out: &mut sink,
        in_bytes: false,
    })?;
    sink.written()
        .ok_or_else(|| CodecError::new(id::PLAIN, CodecErrorKind::Encode, "buffer too small"))
}

/// Append the plain encoding of `value` to `out`.
#[cfg(feature = "alloc")]
pub fn encode<T: Serialize + ?Sized>(
    value: &T,
    out: &mut alloc::vec::Vec<u8>,
) -> Result<(), CodecError> {
    value.serialize(&mut PlainSerializer {
        out,
        in_bytes: false,
    })
}

/// Decode a plain body into a string, bytes, number, bool or `()`.
pub fn decode<'de, T: de::Deserialize<'de>>(body: &'de [u8]) -> Result<T, CodecError> {
    T::deserialize(PlainDeserializer::new(body))
}

/// Serializes scalars as text; a sequence is taken as raw bytes (`Vec<u8>`).
pub(crate) struct PlainSerializer<'o, S: Sink + ?Sized> {
    pub(crate) out: &'o mut S,
    /// Inside a sequence: only `u8` elements, written raw.
    in_bytes: bool,
}

impl<'o, S: Sink + ?Sized> PlainSerializer<'o, S> {
    #[cfg(feature = "form")]
    pub(crate) fn new(out: &'o mut S) -> Self {
        Self {
            out,
            in_bytes: false,
        }
    }
}

struct SinkWriter<'a, S: Sink + ?Sized>(&'a mut S);

impl<S: Sink + ?Sized> fmt::Write for SinkWriter<'_, S> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.put(s.as_bytes());
        Ok(())
    }
}

impl ser::Error for CodecError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self::new(id::PLAIN, CodecErrorKind::Encode, msg)
    }
}

impl de::Error for CodecError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self::new(id::PLAIN, CodecErrorKind::Decode, msg)
    }
}

fn unsupported(what: &str) -> CodecError {
    CodecError::new(
        id::PLAIN,
        CodecErrorKind::Unsupported,
        format_args!("{what} cannot be a plain body"),
    )
}

impl<S: Sink + ?Sized> PlainSerializer<'_, S> {
    fn text(&mut self, v: impl fmt::Display) -> Result<(), CodecError> {
        if self.in_bytes {
            return Err(unsupported("a non-byte sequence element"));
        }
        write!(SinkWriter(&mut *self.out), "{v}").map_err(|_| unsupported("value"))
    }

    fn float(&mut self, v: f64) -> Result<(), CodecError> {
        // Rust's float Display never uses an exponent, like Go's 'f' format;
        // only the infinities are spelled differently.
        if v == f64::INFINITY {
            self.text("+Inf")
        } else if v == f64::NEG_INFINITY {
            self.text("-Inf")
        } else {
            self.text(v)
        }
    }
}

macro_rules! text_ints {
    ($($f:ident: $t:ty),*) => {$(
        fn $f(self, v: $t) -> Result<(), CodecError> { self.text(v) }
    )*};
}

impl<S: Sink + ?Sized> ser::Serializer for &mut PlainSerializer<'_, S> {
    type Ok = ();
    type Error = CodecError;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Impossible<(), CodecError>;
    type SerializeTupleVariant = Impossible<(), CodecError>;
    type SerializeMap = Impossible<(), CodecError>;
    type SerializeStruct = Impossible<(), CodecError>;
    type SerializeStructVariant = Impossible<(), CodecError>;

    text_ints!(serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
        serialize_i128: i128, serialize_u16: u16, serialize_u32: u32, serialize_u64: u64, serialize_u128: u128,
        serialize_bool: bool, serialize_char: char);

    fn serialize_u8(self, v: u8) -> Result<(), CodecError> {
        if self.in_bytes {
            self.out.put_u8(v);
            Ok(())
        } else {
            self.text(v)
        }
    }
    fn serialize_f32(self, v: f32) -> Result<(), CodecError> {
        // Through Display of f32 so 0.1f32 prints "0.1", as Go's 32-bit format does.
        if v.is_infinite() {
            self.float(f64::from(v))
        } else {
            self.text(v)
        }
    }
    fn serialize_f64(self, v: f64) -> Result<(), CodecError> {
        self.float(v)
    }
    fn serialize_str(self, v: &str) -> Result<(), CodecError> {
        self.serialize_bytes(v.as_bytes())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), CodecError> {
        if self.in_bytes {
            return Err(unsupported("a nested sequence"));
        }
        self.out.put(v);
        Ok(())
    }
    fn serialize_none(self) -> Result<(), CodecError> {
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), CodecError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), CodecError> {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), CodecError> {
        Ok(())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), CodecError> {
        self.serialize_str(variant)
    }
    fn collect_str<T: fmt::Display + ?Sized>(self, v: &T) -> Result<(), CodecError> {
        self.text(v)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<(), CodecError> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), CodecError> {
        Err(unsupported("an enum with data"))
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self, CodecError> {
        if self.in_bytes {
            return Err(unsupported("a nested sequence"));
        }
        self.in_bytes = true;
        Ok(self)
    }
    fn serialize_tuple(self, len: usize) -> Result<Self, CodecError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, CodecError> {
        Err(unsupported("a tuple struct"))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, CodecError> {
        Err(unsupported("an enum with data"))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, CodecError> {
        Err(unsupported("a map"))
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, CodecError> {
        Err(unsupported("a struct"))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, CodecError> {
        Err(unsupported("an enum with data"))
    }
}

impl<S: Sink + ?Sized> ser::SerializeSeq for &mut PlainSerializer<'_, S> {
    type Ok = ();
    type Error = CodecError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CodecError> {
        v.serialize(&mut **self)
    }
    fn end(self) -> Result<(), CodecError> {
        self.in_bytes = false;
        Ok(())
    }
}

impl<S: Sink + ?Sized> ser::SerializeTuple for &mut PlainSerializer<'_, S> {
    type Ok = ();
    type Error = CodecError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CodecError> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> Result<(), CodecError> {
        ser::SerializeSeq::end(self)
    }
}

/// Reads a plain body as whatever scalar the target type asks for.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PlainDeserializer<'de> {
    input: &'de [u8],
}

impl<'de> PlainDeserializer<'de> {
    pub(crate) const fn new(input: &'de [u8]) -> Self {
        Self { input }
    }

    fn str(&self) -> Result<&'de str, CodecError> {
        core::str::from_utf8(self.input).map_err(|_| de::Error::custom("body is not UTF-8"))
    }

    fn parse<T: core::str::FromStr>(&self, what: &str) -> Result<T, CodecError> {
        let s = self.str()?;
        s.parse().map_err(|_| {
            CodecError::new(
                id::PLAIN,
                CodecErrorKind::Decode,
                format_args!("{s:?} is not {what}"),
            )
        })
    }

    /// Go's `strconv.ParseFloat` spellings of the infinities and NaN.
    fn parse_float(&self) -> Result<f64, CodecError> {
        match self.str()? {
            "+Inf" | "Inf" | "+inf" | "inf" => Ok(f64::INFINITY),
            "-Inf" | "-inf" => Ok(f64::NEG_INFINITY),
            "NaN" | "nan" => Ok(f64::NAN),
            _ => self.parse("a number"),
        }
    }
}

macro_rules! parse_ints {
    ($($f:ident => $visit:ident: $t:ty),*) => {$(
        fn $f<V: Visitor<'de>>(self, v: V) -> Result<V::Value, CodecError> {
            v.$visit(self.parse::<$t>("an integer")?)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for PlainDeserializer<'de> {
    type Error = CodecError;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, CodecError> {
        match core::str::from_utf8(self.input) {
            Ok(s) => v.visit_borrowed_str(s),
            Err(_) => v.visit_borrowed_bytes(self.input),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value, CodecError> {
        // Go's strconv.ParseBool spellings.
        match self.input {
            b"1" | b"t" | b"T" | b"true" | b"TRUE" | b"True" => v.visit_bool(true),
            b"0" | b"f" | b"F" | b"false" | b"FALSE" | b"False" => v.visit_bool(false),
            _ => Err(de::Error::custom("not a bool")),
        }
    }

    parse_ints!(deserialize_i8 => visit_i8: i8, deserialize_i16 => visit_i16: i16,
        deserialize_i32 => visit_i32: i32, deserialize_i64 => visit_i64: i64, deserialize_i128 => visit_i128: i128,
        deserialize_u8 => visit_u8: u8, deserialize_u16 => visit_u16: u16, deserialize_u32 => visit_u32: u32,
        deserialize_u64 => visit_u64: u64, deserialize_u128 => visit_u128: u128);

    fn deserialize_f32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, CodecError> {
        v.visit_f32(self.parse_float()? as f32)
    }
    fn deserialize_f64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, CodecError> {
        v.visit_f64(self.parse_float()?)
    }
    fn deserialize_char<V: Visitor<'de>>(self, v: V) -> Result<V::Value, CodecError> {
        v.visit_char(self.parse("a character")?)
    }
    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, CodecError> {
        v.visit_borrowed_str(self.str()?)
    }
    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, CodecError> {
        self.deserialize_str(v)
    }
    fn deserialize_bytes<V: Visitor<'de>>(self, v: V) -> Result<V::Value, CodecError> {
        v.visit_borrowed_bytes(self.input)
    }
    fn deserialize_byte_buf<V: Visitor<'de>>(self, v: V) -> Result<V::Value, CodecError> {
        self.deserialize_bytes(v)
    }
    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, CodecError> {
        if self.input.is_empty() {
            v.visit_none()
        } else {
            v.visit_some(self)
        }
    }
    fn deserialize_unit<V: Visitor<'de>>(self, v: V) -> Result<V::Value, CodecError> {
        v.visit_unit()
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        v: V,
    ) -> Result<V::Value, CodecError> {
        v.visit_unit()
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        v: V,
    ) -> Result<V::Value, CodecError> {
        v.visit_newtype_struct(self)
    }
    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, CodecError> {
        // A sequence target (`Vec<u8>`) gets the raw bytes.
        v.visit_seq(de::value::SeqDeserializer::new(self.input.iter().copied()))
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, CodecError> {
        v.visit_enum(de::value::BorrowedStrDeserializer::new(self.str()?))
    }

    serde::forward_to_deserialize_any! { tuple tuple_struct map struct identifier ignored_any }
}
