//! Percent-escaping of status and metadata text, as the Go framework does it.
//!
//! Writing keeps `A-Z a-z 0-9 * - . _` and turns every other byte into `%XX`
//! (upper-case hex). Reading turns `+` into a space, decodes `%XX` (either
//! case), keeps a `%` that is not followed by two hex digits, and copies a
//! trailing `%` with fewer than two bytes after it verbatim.

use core::fmt;

/// Where encoded bytes go: a caller's slice or (with `alloc`) a growable buffer.
pub trait Sink {
    /// Append bytes.
    fn put(&mut self, bytes: &[u8]);
    /// Append one byte.
    fn put_u8(&mut self, b: u8) {
        self.put(&[b]);
    }
}

/// A [`Sink`] over a caller-provided slice. Writes past the end are dropped and
/// remembered, so a wrong size estimate is an error, never a panic.
#[derive(Debug)]
pub struct SliceSink<'a> {
    buf: &'a mut [u8],
    pos: usize,
    overflow: bool,
}

impl<'a> SliceSink<'a> {
    /// Write into `buf` from its start.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Self {
            buf,
            pos: 0,
            overflow: false,
        }
    }

    /// Bytes written so far, or `None` if anything did not fit.
    pub fn written(&self) -> Option<usize> {
        (!self.overflow).then_some(self.pos)
    }
}

impl Sink for SliceSink<'_> {
    fn put(&mut self, bytes: &[u8]) {
        let end = self.pos.saturating_add(bytes.len());
        match self.buf.get_mut(self.pos..end) {
            Some(dst) => {
                dst.copy_from_slice(bytes);
                self.pos = end;
            }
            None => self.overflow = true,
        }
    }
}

#[cfg(any(feature = "alloc", test))]
impl Sink for alloc::vec::Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

#[cfg(feature = "alloc")]
impl Sink for bytes::BytesMut {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// Bytes that Go's writer leaves as they are.
const fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'*' | b'-' | b'.' | b'_')
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Length of `raw` once escaped.
pub fn escaped_len(raw: &[u8]) -> usize {
    raw.iter()
        .map(|&b| if is_unreserved(b) { 1 } else { 3 })
        .sum()
}

/// Append `raw`, escaped, to `out`.
pub fn write_escaped<S: Sink + ?Sized>(raw: &[u8], out: &mut S) {
    let mut rest = raw;
    while !rest.is_empty() {
        // Copy runs of unreserved bytes in one go.
        let run = rest
            .iter()
            .position(|&b| !is_unreserved(b))
            .unwrap_or(rest.len());
        let (plain, tail) = rest.split_at(run);
        if !plain.is_empty() {
            out.put(plain);
        }
        if let Some((&b, tail)) = tail.split_first() {
            out.put(&[
                b'%',
                HEX_UPPER[usize::from(b >> 4)],
                HEX_UPPER[usize::from(b & 0xF)],
            ]);
            rest = tail;
        } else {
            rest = tail;
        }
    }
}

const fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Iterator over the unescaped bytes of escaped text.
#[derive(Clone, Debug)]
pub struct Unescape<'a> {
    rest: &'a [u8],
    /// Set once a `%` with fewer than two bytes after it is seen: the rest is verbatim.
    verbatim: bool,
}

impl Iterator for Unescape<'_> {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        let (&b, tail) = self.rest.split_first()?;
        if self.verbatim {
            self.rest = tail;
            return Some(b);
        }
        match b {
            b'+' => {
                self.rest = tail;
                Some(b' ')
            }
            b'%' => {
                match tail {
                    [h, l, after @ ..] => {
                        if let (Some(h), Some(l)) = (hex_value(*h), hex_value(*l)) {
                            self.rest = after;
                            return Some(h << 4 | l);
                        }
                        // Not a hex pair: keep the '%' and go on scanning after it.
                        self.rest = tail;
                    }
                    _ => {
                        self.verbatim = true;
                        self.rest = tail;
                    }
                }
                Some(b'%')
            }
            _ => {
                self.rest = tail;
                Some(b)
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.rest.len().div_ceil(3), Some(self.rest.len()))
    }
}

/// Why escaped text could not be turned into a string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum TextError {
    /// The unescaped bytes are not UTF-8.
    NotUtf8,
    /// The caller's buffer is too small; `required` bytes would fit.
    BufferTooSmall {
        /// Bytes needed.
        required: usize,
    },
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotUtf8 => f.write_str("unescaped text is not UTF-8"),
            Self::BufferTooSmall { required } => {
                write!(f, "buffer too small: {required} bytes required")
            }
        }
    }
}

impl core::error::Error for TextError {}

/// A borrowed piece of escaped text (a status message, a meta key or value),
/// unescaped lazily and without allocation.
///
/// ```
/// use teleport_core::escape::Escaped;
/// let e = Escaped::new(b"a%20b+c%zz");
/// assert!(e.eq_str("a b c%zz"));
/// let mut buf = [0u8; 16];
/// assert_eq!(e.decode_into(&mut buf), Ok("a b c%zz"));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Escaped<'a>(&'a [u8]);

impl<'a> Escaped<'a> {
    /// Wrap escaped bytes.
    pub const fn new(raw: &'a [u8]) -> Self {
        Self(raw)
    }

    /// The escaped bytes as they were on the wire.
    pub const fn raw(&self) -> &'a [u8] {
        self.0
    }

    /// True when there is nothing to unescape.
    pub fn is_plain(&self) -> bool {
        !self.0.iter().any(|&b| b == b'%' || b == b'+')
    }

    /// The text without copying, when it has no escapes and is UTF-8.
    pub fn as_plain_str(&self) -> Option<&'a str> {
        if self.is_plain() {
            core::str::from_utf8(self.0).ok()
        } else {
            None
        }
    }

    /// The unescaped bytes.
    pub fn bytes(&self) -> Unescape<'a> {
        Unescape {
            rest: self.0,
            verbatim: false,
        }
    }

    /// Number of unescaped bytes.
    pub fn unescaped_len(&self) -> usize {
        if self.is_plain() {
            self.0.len()
        } else {
            self.bytes().count()
        }
    }

    /// Whether the unescaped bytes equal `other`.
    pub fn eq_bytes(&self, other: &[u8]) -> bool {
        if self.is_plain() {
            return self.0 == other;
        }
        let mut it = self.bytes();
        for &b in other {
            if it.next() != Some(b) {
                return false;
            }
        }
        it.next().is_none()
    }

    /// Whether the unescaped text equals `other`.
    pub fn eq_str(&self, other: &str) -> bool {
        self.eq_bytes(other.as_bytes())
    }

    /// Unescape into `buf` and return the text.
    pub fn decode_into<'b>(&self, buf: &'b mut [u8]) -> Result<&'b str, TextError> {
        let required = self.unescaped_len();
        let dst = buf
            .get_mut(..required)
            .ok_or(TextError::BufferTooSmall { required })?;
        for (d, s) in dst.iter_mut().zip(self.bytes()) {
            *d = s;
        }
        core::str::from_utf8(dst).map_err(|_| TextError::NotUtf8)
    }

    /// The unescaped bytes, borrowed when nothing needed unescaping.
    #[cfg(feature = "alloc")]
    pub fn to_bytes(&self) -> alloc::borrow::Cow<'a, [u8]> {
        if self.is_plain() {
            alloc::borrow::Cow::Borrowed(self.0)
        } else {
            alloc::borrow::Cow::Owned(self.bytes().collect())
        }
    }

    /// The unescaped text, borrowed when nothing needed unescaping.
    #[cfg(feature = "alloc")]
    pub fn to_str(&self) -> Result<alloc::borrow::Cow<'a, str>, TextError> {
        use alloc::borrow::Cow;
        match self.to_bytes() {
            Cow::Borrowed(b) => core::str::from_utf8(b)
                .map(Cow::Borrowed)
                .map_err(|_| TextError::NotUtf8),
            Cow::Owned(v) => alloc::string::String::from_utf8(v)
                .map(Cow::Owned)
                .map_err(|_| TextError::NotUtf8),
        }
    }
}

impl fmt::Debug for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        for b in self.bytes() {
            for c in core::ascii::escape_default(b) {
                fmt::Write::write_char(f, char::from(c))?;
            }
        }
        f.write_str("\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::vec::Vec;

    fn unescape(s: &str) -> Vec<u8> {
        Escaped::new(s.as_bytes()).bytes().collect()
    }

    fn escape(s: &[u8]) -> std::string::String {
        let mut v = Vec::new();
        write_escaped(s, &mut v);
        assert_eq!(v.len(), escaped_len(s));
        std::string::String::from_utf8(v).unwrap()
    }

    #[test]
    fn escapes_like_go() {
        assert_eq!(escape("a b&c=d/é".as_bytes()), "a%20b%26c%3Dd%2F%C3%A9");
        assert_eq!(escape(b"AZaz09*-._~+%"), "AZaz09*-._%7E%2B%25");
        assert_eq!(escape(b""), "");
    }

    #[test]
    fn unescapes_like_go() {
        assert_eq!(unescape("a%20b%26c%3Dd%2F%C3%A9"), "a b&c=d/é".as_bytes());
        assert_eq!(unescape("a+b"), b"a b");
        assert_eq!(unescape("%2f%2F"), b"//");
        assert_eq!(unescape("%zz1"), b"%zz1");
        assert_eq!(unescape("%%41"), b"%A");
        assert_eq!(unescape("ab%4"), b"ab%4");
        assert_eq!(unescape("ab%"), b"ab%");
        assert_eq!(unescape("%+"), b"%+");
        assert_eq!(unescape("%g+x"), b"%g x");
    }

    #[test]
    fn decode_into_reports_size() {
        let e = Escaped::new(b"%41%42");
        let mut small = [0u8; 1];
        assert_eq!(
            e.decode_into(&mut small),
            Err(TextError::BufferTooSmall { required: 2 })
        );
        let mut bad = [0u8; 4];
        assert_eq!(
            Escaped::new(b"%FF").decode_into(&mut bad),
            Err(TextError::NotUtf8)
        );
    }
}
