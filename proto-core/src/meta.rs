//! Metadata: an ordered multi-map of text pairs, URL-encoded on the wire.

use crate::escape::{Escaped, Sink, escaped_len, write_escaped};
use crate::status::split_pair;

/// Meta key naming the body codec the caller wants the reply in (decimal id).
pub const META_ACCEPT_BODY_CODEC: &str = "X-Accept-Body-Codec";
/// Meta key carrying the caller's real address, when a proxy sets it.
pub const META_REAL_IP: &str = "X-Real-IP";
/// Meta key of the heartbeat plugin: the pinger's rate in whole seconds.
pub const META_HEARTBEAT: &str = "hb_";

/// Something that can be written as a frame's metadata text.
pub trait MetaText {
    /// Encoded length in bytes.
    fn encoded_len(&self) -> usize;
    /// Append the encoded text.
    fn encode<S: Sink + ?Sized>(&self, out: &mut S);
}

fn pair_len(k: &[u8], v: &[u8]) -> usize {
    escaped_len(k) + if v.is_empty() { 0 } else { 1 + escaped_len(v) }
}

fn write_pair<S: Sink + ?Sized>(first: bool, k: &[u8], v: &[u8], out: &mut S) {
    if !first {
        out.put_u8(b'&');
    }
    write_escaped(k, out);
    // Go's writer leaves out `=` when the value is empty.
    if !v.is_empty() {
        out.put_u8(b'=');
        write_escaped(v, out);
    }
}

/// No metadata.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoMeta;

impl MetaText for NoMeta {
    fn encoded_len(&self) -> usize {
        0
    }
    fn encode<S: Sink + ?Sized>(&self, _: &mut S) {}
}

/// Borrowed pairs, for encoding without `alloc`.
///
/// ```
/// use teleport_core::MetaText;
/// let mut out = Vec::new();
/// [("peer_id", "110"), ("k", "a b")].as_slice().encode(&mut out);
/// assert_eq!(out, b"peer_id=110&k=a%20b");
/// ```
impl<K: AsRef<str>, V: AsRef<str>> MetaText for [(K, V)] {
    fn encoded_len(&self) -> usize {
        let pairs: usize = self
            .iter()
            .map(|(k, v)| pair_len(k.as_ref().as_bytes(), v.as_ref().as_bytes()))
            .sum();
        pairs + self.len().saturating_sub(1)
    }
    fn encode<S: Sink + ?Sized>(&self, out: &mut S) {
        for (i, (k, v)) in self.iter().enumerate() {
            write_pair(i == 0, k.as_ref().as_bytes(), v.as_ref().as_bytes(), out);
        }
    }
}

impl<T: MetaText + ?Sized> MetaText for &T {
    fn encoded_len(&self) -> usize {
        (**self).encoded_len()
    }
    fn encode<S: Sink + ?Sized>(&self, out: &mut S) {
        (**self).encode(out);
    }
}

/// Decoded metadata, borrowing the frame's escaped text; no allocation.
///
/// ```
/// use teleport_core::MetaView;
/// let m = MetaView::new(b"peer_id=110&k=a%20b&k=c&&flag");
/// assert!(m.get("k").unwrap().eq_str("a b"));
/// assert_eq!(m.get_all("k").count(), 2);
/// assert!(m.get("flag").unwrap().eq_str(""));
/// assert_eq!(m.iter().count(), 4);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MetaView<'a> {
    raw: &'a [u8],
}

impl<'a> MetaView<'a> {
    /// Wrap raw metadata text.
    pub const fn new(raw: &'a [u8]) -> Self {
        Self { raw }
    }

    /// The raw text as on the wire.
    pub const fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// True when there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    /// Pairs in wire order; pieces with an empty key and value are skipped.
    pub fn iter(&self) -> MetaIter<'a> {
        MetaIter {
            pieces: self.raw.split(|&b| b == b'&'),
        }
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<Escaped<'a>> {
        self.get_all(key).next()
    }

    /// Every value of `key`, in order.
    pub fn get_all<'k>(&self, key: &'k str) -> impl Iterator<Item = Escaped<'a>> + use<'a, 'k> {
        self.iter()
            .filter(move |(k, _)| k.eq_str(key))
            .map(|(_, v)| v)
    }
}

/// Iterator over the pairs of a [`MetaView`].
#[derive(Clone, Debug)]
pub struct MetaIter<'a> {
    pieces: core::slice::Split<'a, u8, fn(&u8) -> bool>,
}

impl<'a> Iterator for MetaIter<'a> {
    type Item = (Escaped<'a>, Escaped<'a>);
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let piece = self.pieces.next()?;
            let (k, v) = split_pair(piece);
            if !(k.is_empty() && v.is_empty()) {
                return Some((Escaped::new(k), Escaped::new(v)));
            }
        }
    }
}

/// Re-encodes the pairs as the Go writer would (normalised escaping).
impl MetaText for MetaView<'_> {
    fn encoded_len(&self) -> usize {
        let mut n: usize = 0;
        let mut len = 0;
        for (k, v) in self.iter() {
            let kl: usize = k.bytes().map(|b| escaped_len(&[b])).sum();
            let vl: usize = v.bytes().map(|b| escaped_len(&[b])).sum();
            len += kl + if vl == 0 { 0 } else { 1 + vl };
            n += 1;
        }
        len + n.saturating_sub(1)
    }
    fn encode<S: Sink + ?Sized>(&self, out: &mut S) {
        for (i, (k, v)) in self.iter().enumerate() {
            if i > 0 {
                out.put_u8(b'&');
            }
            k.bytes().for_each(|b| write_escaped(&[b], out));
            if v.bytes().next().is_some() {
                out.put_u8(b'=');
                v.bytes().for_each(|b| write_escaped(&[b], out));
            }
        }
    }
}

#[cfg(feature = "alloc")]
pub use owned::Meta;

#[cfg(feature = "alloc")]
mod owned {
    use alloc::string::String;
    use alloc::vec::Vec;

    use super::{MetaText, MetaView, pair_len, write_pair};
    use crate::escape::{Sink, TextError};

    /// Owned metadata: an ordered multi-map of UTF-8 keys and values. Keys are
    /// case-sensitive and may repeat.
    ///
    /// ```
    /// use teleport_core::Meta;
    /// let mut m = Meta::new();
    /// m.add("k", "1");
    /// m.add("k", "2");
    /// assert_eq!(m.get_all("k").collect::<Vec<_>>(), ["1", "2"]);
    /// m.set("k", "3");
    /// assert_eq!(m.get_all("k").collect::<Vec<_>>(), ["3"]);
    /// assert_eq!(m.delete("k"), 1);
    /// assert!(m.is_empty());
    /// ```
    #[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
    pub struct Meta {
        pairs: Vec<(String, String)>,
    }

    impl Meta {
        /// Empty metadata (no allocation).
        pub const fn new() -> Self {
            Self { pairs: Vec::new() }
        }

        /// Number of pairs.
        pub fn len(&self) -> usize {
            self.pairs.len()
        }

        /// True when there are no pairs.
        pub fn is_empty(&self) -> bool {
            self.pairs.is_empty()
        }

        /// The first value of `key`.
        pub fn get(&self, key: &str) -> Option<&str> {
            self.get_all(key).next()
        }

        /// Every value of `key`, in order.
        pub fn get_all<'a, 'k>(
            &'a self,
            key: &'k str,
        ) -> impl Iterator<Item = &'a str> + use<'a, 'k> {
            self.pairs
                .iter()
                .filter(move |(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        }

        /// Append a pair, keeping any existing values of the key.
        pub fn add(&mut self, key: impl Into<String>, value: impl Into<String>) {
            self.pairs.push((key.into(), value.into()));
        }

        /// Make `value` the only value of `key`: the first existing pair keeps
        /// its position and takes the value, later ones are removed; a new key
        /// is appended.
        pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) {
            let key = key.into();
            let value = value.into();
            match self.pairs.iter().position(|(k, _)| *k == key) {
                Some(first) => {
                    let mut index = 0;
                    self.pairs.retain(|(k, _)| {
                        let keep = index <= first || *k != key;
                        index += 1;
                        keep
                    });
                    if let Some(slot) = self.pairs.get_mut(first) {
                        slot.1 = value;
                    }
                }
                None => self.pairs.push((key, value)),
            }
        }

        /// Remove every pair of `key`; returns how many were removed.
        pub fn delete(&mut self, key: &str) -> usize {
            let before = self.pairs.len();
            self.pairs.retain(|(k, _)| k != key);
            before - self.pairs.len()
        }

        /// Remove every pair.
        pub fn clear(&mut self) {
            self.pairs.clear();
        }

        /// Pairs in order.
        pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> {
            self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
        }

        /// Copy a decoded view; fails if a key or value is not UTF-8 once unescaped.
        pub fn from_view(view: MetaView<'_>) -> Result<Self, TextError> {
            let mut pairs = Vec::new();
            for (k, v) in view.iter() {
                pairs.push((k.to_str()?.into_owned(), v.to_str()?.into_owned()));
            }
            Ok(Self { pairs })
        }
    }

    impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Meta {
        fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
            Self {
                pairs: iter
                    .into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
            }
        }
    }

    impl<'a> IntoIterator for &'a Meta {
        type Item = (&'a str, &'a str);
        type IntoIter = core::iter::Map<
            core::slice::Iter<'a, (String, String)>,
            fn(&'a (String, String)) -> (&'a str, &'a str),
        >;
        fn into_iter(self) -> Self::IntoIter {
            self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
        }
    }

    impl MetaText for Meta {
        fn encoded_len(&self) -> usize {
            let pairs: usize = self
                .pairs
                .iter()
                .map(|(k, v)| pair_len(k.as_bytes(), v.as_bytes()))
                .sum();
            pairs + self.pairs.len().saturating_sub(1)
        }
        fn encode<S: Sink + ?Sized>(&self, out: &mut S) {
            for (i, (k, v)) in self.pairs.iter().enumerate() {
                write_pair(i == 0, k.as_bytes(), v.as_bytes(), out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::vec::Vec;

    #[test]
    fn view_matches_go_reading_rules() {
        let m = MetaView::new(b"&&=&a&=x&b=1=2&%41=%zz");
        let pairs: Vec<(Vec<u8>, Vec<u8>)> = m
            .iter()
            .map(|(k, v)| (k.bytes().collect(), v.bytes().collect()))
            .collect();
        assert_eq!(
            pairs,
            [
                (b"a".to_vec(), b"".to_vec()),
                (b"".to_vec(), b"x".to_vec()),
                (b"b".to_vec(), b"1=2".to_vec()),
                (b"A".to_vec(), b"%zz".to_vec()),
            ]
        );
    }

    #[test]
    fn encodes_empty_value_as_bare_key() {
        let mut out = Vec::new();
        [("a", ""), ("b", "x y")].as_slice().encode(&mut out);
        assert_eq!(out, b"a&b=x%20y");
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn owned_round_trip() {
        let mut m = Meta::new();
        m.add("peer_id", "110");
        m.add("k", "a b&c=d/é");
        let mut out = Vec::new();
        m.encode(&mut out);
        assert_eq!(out.len(), m.encoded_len());
        assert_eq!(out, b"peer_id=110&k=a%20b%26c%3Dd%2F%C3%A9");
        assert_eq!(Meta::from_view(MetaView::new(&out)).unwrap(), m);
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn set_keeps_first_position() {
        let mut m: Meta = [("a", "1"), ("b", "2"), ("a", "3")].into_iter().collect();
        m.set("a", "9");
        assert_eq!(m.iter().collect::<Vec<_>>(), [("a", "9"), ("b", "2")]);
        m.set("c", "4");
        assert_eq!(m.iter().last(), Some(("c", "4")));
    }
}
