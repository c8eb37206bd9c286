//! Sequence numbers: a signed 32-bit counter written as base-36 text.

use core::fmt;

/// Longest base-36 text of an `i32` (`-zik0zk`).
pub const MAX_SEQ_TEXT: usize = 7;

/// A message sequence number.
///
/// On the wire it is the decimal value rendered in base 36 (lowercase, leading
/// `-` for negatives). Each side of a connection numbers the frames it
/// originates from 1 upwards and wraps from `i32::MAX` to `i32::MIN`, as the
/// Go framework's atomic counter does.
///
/// ```
/// use teleport_core::Seq;
/// assert_eq!(Seq(36).to_text().as_str(), "10");
/// assert_eq!(Seq::parse(b"-zik0zk"), Ok(Seq(i32::MIN)));
/// assert_eq!(Seq(i32::MAX).next(), Seq(i32::MIN));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Seq(pub i32);

/// Why a sequence text was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum SeqError {
    /// No digits at all.
    Empty,
    /// A byte that is not a base-36 digit (or a misplaced sign).
    InvalidDigit,
    /// The value does not fit in an `i32`.
    OutOfRange,
}

impl fmt::Display for SeqError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "empty sequence text",
            Self::InvalidDigit => "invalid base-36 digit in sequence",
            Self::OutOfRange => "sequence out of i32 range",
        })
    }
}

impl core::error::Error for SeqError {}

/// The base-36 text of a [`Seq`], held inline (no allocation).
#[derive(Clone, Copy)]
pub struct SeqText {
    buf: [u8; MAX_SEQ_TEXT],
    start: u8,
}

impl SeqText {
    /// The text bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(usize::from(self.start)..).unwrap_or_default()
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits, letters and '-' are ever written.
        core::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

impl fmt::Debug for SeqText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

impl Seq {
    /// The first sequence number a fresh connection uses.
    pub const FIRST: Self = Self(1);

    /// The next sequence number, wrapping as Go's `atomic.AddInt32` does.
    #[must_use]
    pub const fn next(self) -> Self {
        Self(self.0.wrapping_add(1))
    }

    /// Render as base-36 text.
    pub fn to_text(self) -> SeqText {
        let mut buf = [0u8; MAX_SEQ_TEXT];
        let mut pos = MAX_SEQ_TEXT;
        // Work on the magnitude as u32 so i32::MIN does not overflow.
        let mut n = self.0.unsigned_abs();
        loop {
            pos -= 1;
            buf[pos] = DIGITS[(n % 36) as usize];
            n /= 36;
            if n == 0 {
                break;
            }
        }
        if self.0 < 0 {
            pos -= 1;
            buf[pos] = b'-';
        }
        SeqText {
            buf,
            start: pos as u8,
        }
    }

    /// Parse base-36 text as Go's `strconv.ParseInt(s, 36, 32)` does:
    /// optional sign, digits in either case, value within `i32`.
    pub fn parse(text: &[u8]) -> Result<Self, SeqError> {
        let (negative, digits) = match text.split_first() {
            None => return Err(SeqError::Empty),
            Some((b'-', rest)) => (true, rest),
            Some((b'+', rest)) => (false, rest),
            Some(_) => (false, text),
        };
        if digits.is_empty() {
            return Err(SeqError::Empty);
        }
        // Accumulate in i64: 7 base-36 digits cannot overflow it, longer text is
        // rejected as out of range once the magnitude passes 2^31.
        let mut magnitude: i64 = 0;
        for &b in digits {
            let d = match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'z' => b - b'a' + 10,
                b'A'..=b'Z' => b - b'A' + 10,
                _ => return Err(SeqError::InvalidDigit),
            };
            magnitude = magnitude * 36 + i64::from(d);
            if magnitude > 1 << 31 {
                // Go reports a range error only after checking every digit is valid;
                // either way the frame is rejected, so stop early.
                return Err(SeqError::OutOfRange);
            }
        }
        let value = if negative { -magnitude } else { magnitude };
        i32::try_from(value)
            .map(Self)
            .map_err(|_| SeqError::OutOfRange)
    }
}

impl fmt::Display for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl From<i32> for Seq {
    fn from(v: i32) -> Self {
        Self(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_texts() {
        for (v, t) in [
            (0, "0"),
            (1, "1"),
            (35, "z"),
            (36, "10"),
            (i32::MAX, "zik0zj"),
            (i32::MIN, "-zik0zk"),
            (-1, "-1"),
        ] {
            assert_eq!(Seq(v).to_text().as_str(), t);
            assert_eq!(Seq::parse(t.as_bytes()), Ok(Seq(v)));
        }
    }

    #[test]
    fn parse_like_go() {
        assert_eq!(Seq::parse(b"ZIK0ZJ"), Ok(Seq(i32::MAX)));
        assert_eq!(Seq::parse(b"+10"), Ok(Seq(36)));
        assert_eq!(Seq::parse(b""), Err(SeqError::Empty));
        assert_eq!(Seq::parse(b"-"), Err(SeqError::Empty));
        assert_eq!(Seq::parse(b"1_0"), Err(SeqError::InvalidDigit));
        assert_eq!(Seq::parse(b"--1"), Err(SeqError::InvalidDigit));
        assert_eq!(Seq::parse(b"zik0zk"), Err(SeqError::OutOfRange));
        assert_eq!(Seq::parse(b"-zik0zl"), Err(SeqError::OutOfRange));
        assert_eq!(
            Seq::parse(b"zzzzzzzzzzzzzzzzzzzzzzzz"),
            Err(SeqError::OutOfRange)
        );
    }

    #[test]
    fn wraps() {
        assert_eq!(Seq(i32::MAX).next(), Seq(i32::MIN));
        assert_eq!(Seq(-1).next(), Seq(0));
    }
}
