//! Form bodies (`'f'`): `application/x-www-form-urlencoded`, as the Go
//! framework's form codec writes them (Go's `url.Values.Encode`): keys sorted
//! byte-wise, values of one key in order, `QueryEscape` escaping (space as
//! `+`). A struct's fields become keys (serde renames apply), nested structs
//! are flattened, sequences repeat their key, `None` is written as `key=`.
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use teleport_core::codec::form;
//! #[derive(Serialize, Deserialize, PartialEq, Debug)]
//! struct Q { name: String, ids: Vec<u32>, ok: bool }
//! let q = Q { name: "a b&c".into(), ids: vec![3, 1], ok: true };
//! let mut out = Vec::new();
//! form::encode(&q, &mut out).unwrap();
//! assert_eq!(out, b"ids=3&ids=1&name=a+b%26c&ok=true");
//! assert_eq!(form::decode::<Q>(&out).unwrap(), q);
//! ```
//!
//! Go's encoder writes slice elements in reverse order; this one keeps them
//! in order (Go decodes either).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use serde::de::{self, IntoDeserializer, Visitor};
use serde::ser::{self, Impossible, Serialize};

use super::plain::{PlainDeserializer, PlainSerializer};
use super::{CodecError, CodecErrorKind, id};

fn err(kind: CodecErrorKind, msg: impl fmt::Display) -> CodecError {
    CodecError::new(id::FORM, kind, msg)
}

/// Append the form encoding of a struct or map to `out`.
pub fn encode<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<(), CodecError> {
    let mut pairs = Vec::new();
    value
        .serialize(FormSer {
            key: None,
            pairs: &mut pairs,
        })
        .map_err(retag)?;
    // Stable: the values of one key keep their order.
    pairs.sort_by(|a: &(String, String), b| a.0.cmp(&b.0));
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        query_escape(k.as_bytes(), out);
        out.push(b'=');
        query_escape(v.as_bytes(), out);
    }
    Ok(())
}

/// Decode a form body into a struct or map.
pub fn decode<T: de::DeserializeOwned>(body: &[u8]) -> Result<T, CodecError> {
    let groups = parse(body)?;
    T::deserialize(FormDe { groups: &groups }).map_err(retag)
}

/// Errors raised by the shared plain (de)serializer carry the plain id.
fn retag(mut e: CodecError) -> CodecError {
    e.codec = id::FORM;
    e
}

fn query_escape(raw: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in raw {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b),
            b' ' => out.push(b'+'),
            _ => out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]),
        }
    }
}

/// Go's `url.ParseQuery`: a bad escape or a `;` is an error.
fn parse(body: &[u8]) -> Result<Vec<(String, Vec<String>)>, CodecError> {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for piece in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        if piece.contains(&b';') {
            return Err(err(
                CodecErrorKind::Decode,
                "invalid semicolon separator in query",
            ));
        }
        let (k, v) = crate::status::split_pair(piece);
        let (k, v) = (query_unescape(k)?, query_unescape(v)?);
        match groups.iter_mut().find(|(gk, _)| *gk == k) {
            Some((_, vs)) => vs.push(v),
            None => groups.push((k, alloc::vec![v])),
        }
    }
    Ok(groups)
}

fn query_unescape(raw: &[u8]) -> Result<String, CodecError> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = |j: usize| raw.get(j).and_then(|&c| char::from(c).to_digit(16));
                match (hex(i + 1), hex(i + 2)) {
                    (Some(h), Some(l)) => out.push((h * 16 + l) as u8),
                    _ => return Err(err(CodecErrorKind::Decode, "invalid URL escape")),
                }
                i += 2;
            }
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| err(CodecErrorKind::Decode, "not UTF-8"))
}

/// Collects `(key, value)` pairs. With no key (top level) only structs and
/// maps are accepted; with a key, scalars become values.
struct FormSer<'p> {
    key: Option<&'p str>,
    pairs: &'p mut Vec<(String, String)>,
}

impl FormSer<'_> {
    fn scalar<T: Serialize + ?Sized>(self, v: &T) -> Result<(), CodecError> {
        let Some(key) = self.key else {
            return Err(err(
                CodecErrorKind::Unsupported,
                "a form body must be a struct or a map",
            ));
        };
        let mut text = Vec::new();
        v.serialize(&mut PlainSerializer::new(&mut text))?;
        let text = String::from_utf8(text)
            .map_err(|_| err(CodecErrorKind::Encode, "value is not UTF-8"))?;
        self.pairs.push((key.into(), text));
        Ok(())
    }
}

macro_rules! scalars {
    ($($f:ident: $t:ty),*) => {$(
        fn $f(self, v: $t) -> Result<(), CodecError> { self.scalar(&v) }
    )*};
}

impl<'p> ser::Serializer for FormSer<'p> {
    type Ok = ();
    type Error = CodecError;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Impossible<(), CodecError>;
    type SerializeTupleVariant = Impossible<(), CodecError>;
    type SerializeMap = FormMap<'p>;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), CodecError>;

    scalars!(serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
        serialize_u8: u8, serialize_u16: u16, serialize_u32: u32, serialize_u64: u64, serialize_f32: f32,
        serialize_f64: f64, serialize_char: char, serialize_str: &str);

    fn serialize_bytes(self, v: &[u8]) -> Result<(), CodecError> {
        let mut seq = self;
        for b in v {
            ser::SerializeSeq::serialize_element(&mut seq, b)?;
        }
        Ok(())
    }
    fn serialize_none(self) -> Result<(), CodecError> {
        self.scalar("")
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
        self.scalar(variant)
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
        Err(err(CodecErrorKind::Unsupported, "enums with data"))
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self, CodecError> {
        if self.key.is_none() {
            return Err(err(
                CodecErrorKind::Unsupported,
                "a form body must be a struct or a map",
            ));
        }
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
        Err(err(CodecErrorKind::Unsupported, "tuple structs"))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, CodecError> {
        Err(err(CodecErrorKind::Unsupported, "enums with data"))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<FormMap<'p>, CodecError> {
        Ok(FormMap {
            pairs: self.pairs,
            key: None,
        })
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, CodecError> {
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, CodecError> {
        Err(err(CodecErrorKind::Unsupported, "enums with data"))
    }
}

impl ser::SerializeSeq for FormSer<'_> {
    type Ok = ();
    type Error = CodecError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CodecError> {
        v.serialize(FormSer {
            key: self.key,
            pairs: self.pairs,
        })
    }
    fn end(self) -> Result<(), CodecError> {
        Ok(())
    }
}

impl ser::SerializeTuple for FormSer<'_> {
    type Ok = ();
    type Error = CodecError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CodecError> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> Result<(), CodecError> {
        Ok(())
    }
}

impl ser::SerializeStruct for FormSer<'_> {
    type Ok = ();
    type Error = CodecError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        v: &T,
    ) -> Result<(), CodecError> {
        // Nested structs flatten into the same key space, as in Go.
        v.serialize(FormSer {
            key: Some(name),
            pairs: self.pairs,
        })
    }
    fn end(self) -> Result<(), CodecError> {
        Ok(())
    }
}

/// Collects the entries of a map; keys are written as plain text.
struct FormMap<'p> {
    pairs: &'p mut Vec<(String, String)>,
    key: Option<String>,
}

impl ser::SerializeMap for FormMap<'_> {
    type Ok = ();
    type Error = CodecError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<(), CodecError> {
        let mut text = Vec::new();
        k.serialize(&mut PlainSerializer::new(&mut text))?;
        self.key = Some(
            String::from_utf8(text).map_err(|_| err(CodecErrorKind::Encode, "key is not UTF-8"))?,
        );
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CodecError> {
        let key = self.key.take().unwrap_or_default();
        v.serialize(FormSer {
            key: Some(&key),
            pairs: self.pairs,
        })
    }
    fn end(self) -> Result<(), CodecError> {
        Ok(())
    }
}

/// The whole form, read as a map of key to values.
#[derive(Clone, Copy)]
struct FormDe<'a> {
    groups: &'a [(String, Vec<String>)],
}

impl<'de> FormDe<'de> {
    fn visit<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, CodecError> {
        v.visit_map(FormMapAccess {
            all: self.groups,
            rest: self.groups.iter(),
            missing: fields.iter(),
            value: None,
        })
    }
}

impl<'de> de::Deserializer<'de> for FormDe<'de> {
    type Error = CodecError;
    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, CodecError> {
        self.visit(&[], v)
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, CodecError> {
        self.visit(fields, v)
    }
    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

/// Yields the keys present, then the struct's fields that are absent (a
/// flattened nested struct has no key of its own).
struct FormMapAccess<'a> {
    all: &'a [(String, Vec<String>)],
    rest: core::slice::Iter<'a, (String, Vec<String>)>,
    missing: core::slice::Iter<'static, &'static str>,
    value: Option<Option<&'a [String]>>,
}

impl<'de> de::MapAccess<'de> for FormMapAccess<'de> {
    type Error = CodecError;
    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, CodecError> {
        if let Some((k, vs)) = self.rest.next() {
            self.value = Some(Some(vs));
            return seed
                .deserialize(de::value::BorrowedStrDeserializer::new(k))
                .map(Some);
        }
        for &field in self.missing.by_ref() {
            if !self.all.iter().any(|(k, _)| k == field) {
                self.value = Some(None);
                return seed
                    .deserialize(de::value::BorrowedStrDeserializer::new(field))
                    .map(Some);
            }
        }
        Ok(None)
    }
    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, CodecError> {
        let values = self.value.take().flatten();
        seed.deserialize(ValueDe {
            all: self.all,
            values: values.unwrap_or_default(),
            absent: values.is_none(),
        })
    }
}

/// The values of one key: a sequence target takes all, a scalar the first.
/// An absent key can only be a flattened struct or map, an empty option or
/// an empty sequence; anything else is a missing field.
struct ValueDe<'a> {
    all: &'a [(String, Vec<String>)],
    values: &'a [String],
    absent: bool,
}

impl<'a> ValueDe<'a> {
    fn first(&self) -> Result<PlainDeserializer<'a>, CodecError> {
        if self.absent {
            return Err(err(CodecErrorKind::Decode, "missing field"));
        }
        Ok(PlainDeserializer::new(
            self.values.first().map_or(&b""[..], |s| s.as_bytes()),
        ))
    }
}

impl<'de> IntoDeserializer<'de, CodecError> for PlainDeserializer<'de> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

macro_rules! to_first {
    ($($f:ident),*) => {$(
        fn $f<V: Visitor<'de>>(self, v: V) -> Result<V::Value, CodecError> { de::Deserializer::$f(self.first()?, v) }
    )*};
}

impl<'de> de::Deserializer<'de> for ValueDe<'de> {
    type Error = CodecError;
    to_first!(
        deserialize_any,
        deserialize_bool,
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64,
        deserialize_f32,
        deserialize_f64,
        deserialize_char,
        deserialize_str,
        deserialize_string,
        deserialize_bytes,
        deserialize_byte_buf,
        deserialize_unit,
        deserialize_identifier,
        deserialize_ignored_any
    );

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, CodecError> {
        if self.values.iter().all(String::is_empty) {
            v.visit_none()
        } else {
            v.visit_some(self)
        }
    }
    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, CodecError> {
        v.visit_seq(de::value::SeqDeserializer::new(
            self.values
                .iter()
                .map(|s| PlainDeserializer::new(s.as_bytes())),
        ))
    }
    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, v: V) -> Result<V::Value, CodecError> {
        self.deserialize_seq(v)
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        v: V,
    ) -> Result<V::Value, CodecError> {
        self.deserialize_seq(v)
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        v: V,
    ) -> Result<V::Value, CodecError> {
        v.visit_newtype_struct(self)
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        v: V,
    ) -> Result<V::Value, CodecError> {
        v.visit_unit()
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        n: &'static str,
        vs: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, CodecError> {
        de::Deserializer::deserialize_enum(self.first()?, n, vs, v)
    }
    // A nested struct or map reads its fields from the same flat key space.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, CodecError> {
        FormDe { groups: self.all }.visit(fields, v)
    }
    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, CodecError> {
        FormDe { groups: self.all }.deserialize_any(v)
    }
    fn deserialize_i128<V: Visitor<'de>>(self, v: V) -> Result<V::Value, CodecError> {
        de::Deserializer::deserialize_i128(self.first()?, v)
    }
    fn deserialize_u128<V: Visitor<'de>>(self, v: V) -> Result<V::Value, CodecError> {
        de::Deserializer::deserialize_u128(self.first()?, v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};
    extern crate std;
    use std::collections::BTreeMap;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Inner {
        city: String,
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Outer {
        #[serde(rename = "Name")]
        name: String,
        age: Option<u8>,
        score: f64,
        inner: Inner,
    }

    #[test]
    fn flattens_and_sorts() {
        let v = Outer {
            name: "é ~*".into(),
            age: None,
            score: 1.5,
            inner: Inner { city: "x".into() },
        };
        let mut out = Vec::new();
        encode(&v, &mut out).unwrap();
        assert_eq!(out, b"Name=%C3%A9+~%2A&age=&city=x&score=1.5");
        assert_eq!(decode::<Outer>(&out).unwrap(), v);
    }

    #[test]
    fn maps_and_errors() {
        let m: BTreeMap<String, String> =
            [("b".into(), "2".into()), ("a".into(), "1".into())].into();
        let mut out = Vec::new();
        encode(&m, &mut out).unwrap();
        assert_eq!(out, b"a=1&b=2");
        assert_eq!(decode::<BTreeMap<String, String>>(b"a=1&&b=2").unwrap(), m);
        assert!(encode(&5, &mut Vec::new()).is_err());
        assert!(decode::<BTreeMap<String, String>>(b"a=%zz").is_err());
        assert!(decode::<BTreeMap<String, String>>(b"a=1;b=2").is_err());
        assert_eq!(decode::<Outer>(b"age=1").unwrap_err().codec, id::FORM);
    }
}
