//! Status: the outcome carried by every frame (`code=…&msg=…&cause=…`).

use core::fmt;

use crate::escape::{Escaped, Sink, escaped_len, write_escaped};

/// Status codes the Go framework itself uses.
pub mod code {
    /// Unknown error.
    pub const UNKNOWN: i32 = -1;
    /// Success.
    pub const OK: i32 = 0;
    /// Invalid operation.
    pub const INVALID_OP: i32 = 1;
    /// Wrong connection.
    pub const WRONG_CONN: i32 = 100;
    /// Connection closed.
    pub const CONN_CLOSED: i32 = 102;
    /// Write failed.
    pub const WRITE_FAILED: i32 = 104;
    /// Dial failed.
    pub const DIAL_FAILED: i32 = 105;
    /// Bad message.
    pub const BAD_MESSAGE: i32 = 400;
    /// Unauthorized.
    pub const UNAUTHORIZED: i32 = 401;
    /// Not found.
    pub const NOT_FOUND: i32 = 404;
    /// Message type not allowed.
    pub const MTYPE_NOT_ALLOWED: i32 = 405;
    /// Handle timeout.
    pub const HANDLE_TIMEOUT: i32 = 408;
    /// Internal server error.
    pub const INTERNAL_SERVER_ERROR: i32 = 500;
    /// Bad gateway.
    pub const BAD_GATEWAY: i32 = 502;
}

/// Something that can be written as a frame's status text.
pub trait StatusText {
    /// Encoded length in bytes.
    fn encoded_len(&self) -> usize;
    /// Append the encoded text.
    fn encode<S: Sink + ?Sized>(&self, out: &mut S);
    /// The status code (0 is OK).
    fn code(&self) -> i32;
}

/// A borrowed, unescaped status for encoding; usable without `alloc`.
///
/// `cause: None` writes no `cause` key, `Some("")` writes an empty one (the
/// Go framework's built-in statuses do that).
///
/// ```
/// use teleport_core::{StatusRef, StatusText};
/// let mut out = Vec::new();
/// StatusRef::NOT_FOUND.encode(&mut out);
/// assert_eq!(out, b"code=404&msg=Not%20Found&cause=");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct StatusRef<'a> {
    /// Status code; 0 is OK.
    pub code: i32,
    /// Message, omitted on the wire when empty.
    pub msg: &'a str,
    /// Cause, omitted on the wire when `None`.
    pub cause: Option<&'a str>,
}

macro_rules! builtin {
    ($($name:ident = $code:path, $msg:literal;)*) => {
        impl StatusRef<'static> {
            $(
                #[doc = concat!("The framework's built-in `", $msg, "` status (empty cause).")]
                pub const $name: Self = Self { code: $code, msg: $msg, cause: Some("") };
            )*
        }
    };
}

builtin! {
    WRONG_CONN = code::WRONG_CONN, "Wrong Connection";
    CONN_CLOSED = code::CONN_CLOSED, "Connection Closed";
    WRITE_FAILED = code::WRITE_FAILED, "Write Failed";
    DIAL_FAILED = code::DIAL_FAILED, "Dial Failed";
    BAD_MESSAGE = code::BAD_MESSAGE, "Bad Message";
    UNAUTHORIZED = code::UNAUTHORIZED, "Unauthorized";
    NOT_FOUND = code::NOT_FOUND, "Not Found";
    MTYPE_NOT_ALLOWED = code::MTYPE_NOT_ALLOWED, "Message Type Not Allowed";
    HANDLE_TIMEOUT = code::HANDLE_TIMEOUT, "Handle Timeout";
    INTERNAL_SERVER_ERROR = code::INTERNAL_SERVER_ERROR, "Internal Server Error";
    BAD_GATEWAY = code::BAD_GATEWAY, "Bad Gateway";
}

impl<'a> StatusRef<'a> {
    /// The OK status (`code=0`).
    pub const OK: StatusRef<'static> = StatusRef {
        code: 0,
        msg: "",
        cause: None,
    };

    /// A status with a code and message and no cause.
    pub const fn new(code: i32, msg: &'a str) -> Self {
        Self {
            code,
            msg,
            cause: None,
        }
    }

    /// The same status with a cause.
    #[must_use]
    pub const fn with_cause(self, cause: &'a str) -> Self {
        Self {
            cause: Some(cause),
            ..self
        }
    }

    /// Whether the code is 0.
    pub const fn is_ok(&self) -> bool {
        self.code == 0
    }

    /// An owned copy.
    #[cfg(feature = "alloc")]
    pub fn to_owned(&self) -> Status {
        Status {
            code: self.code,
            msg: self.msg.into(),
            cause: self.cause.map(Into::into),
        }
    }
}

/// Decimal digits of an i32, without allocation.
fn write_i32<S: Sink + ?Sized>(v: i32, out: &mut S) {
    let mut buf = [0u8; 11];
    let mut pos = buf.len();
    let mut n = v.unsigned_abs();
    loop {
        pos -= 1;
        buf[pos] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        pos -= 1;
        buf[pos] = b'-';
    }
    out.put(buf.get(pos..).unwrap_or_default());
}

fn i32_len(v: i32) -> usize {
    let mut n = v.unsigned_abs();
    let mut len = usize::from(v < 0) + 1;
    while n >= 10 {
        n /= 10;
        len += 1;
    }
    len
}

fn status_len(code: i32, msg: &[u8], cause: Option<&[u8]>) -> usize {
    let mut len = "code=".len() + i32_len(code);
    if !msg.is_empty() {
        len += "&msg=".len() + escaped_len(msg);
    }
    if let Some(c) = cause {
        len += "&cause=".len() + escaped_len(c);
    }
    len
}

fn write_status<S: Sink + ?Sized>(code: i32, msg: &[u8], cause: Option<&[u8]>, out: &mut S) {
    out.put(b"code=");
    write_i32(code, out);
    if !msg.is_empty() {
        out.put(b"&msg=");
        write_escaped(msg, out);
    }
    if let Some(c) = cause {
        out.put(b"&cause=");
        write_escaped(c, out);
    }
}

impl StatusText for StatusRef<'_> {
    fn encoded_len(&self) -> usize {
        status_len(
            self.code,
            self.msg.as_bytes(),
            self.cause.map(str::as_bytes),
        )
    }
    fn encode<S: Sink + ?Sized>(&self, out: &mut S) {
        write_status(
            self.code,
            self.msg.as_bytes(),
            self.cause.map(str::as_bytes),
            out,
        );
    }
    fn code(&self) -> i32 {
        self.code
    }
}

/// `None` writes an empty status field (the receiver reads it as OK).
impl<T: StatusText> StatusText for Option<T> {
    fn encoded_len(&self) -> usize {
        self.as_ref().map_or(0, StatusText::encoded_len)
    }
    fn encode<S: Sink + ?Sized>(&self, out: &mut S) {
        if let Some(s) = self {
            s.encode(out);
        }
    }
    fn code(&self) -> i32 {
        self.as_ref().map_or(0, StatusText::code)
    }
}

impl<T: StatusText + ?Sized> StatusText for &T {
    fn encoded_len(&self) -> usize {
        (**self).encoded_len()
    }
    fn encode<S: Sink + ?Sized>(&self, out: &mut S) {
        (**self).encode(out);
    }
    fn code(&self) -> i32 {
        (**self).code()
    }
}

/// A decoded status, borrowing the frame's escaped text.
///
/// ```
/// use teleport_core::StatusView;
/// let s = StatusView::parse(b"code=1234&msg=bad%20thing&cause=");
/// assert_eq!(s.code, 1234);
/// assert!(s.msg.unwrap().eq_str("bad thing"));
/// assert!(s.cause.unwrap().eq_str(""));
/// assert!(StatusView::parse(b"").is_ok());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct StatusView<'a> {
    /// The raw status text.
    pub raw: &'a [u8],
    /// The code (0 when absent or not a number, clamped to the i32 range).
    pub code: i32,
    /// The `msg` value, if the key is present.
    pub msg: Option<Escaped<'a>>,
    /// The `cause` value, if the key is present.
    pub cause: Option<Escaped<'a>>,
}

/// Parse a decimal code as Go does: an invalid number gives 0, an overflowing
/// one the nearest i32 limit.
fn parse_code(text: Escaped<'_>) -> i32 {
    let mut it = text.bytes().peekable();
    let negative = match it.peek() {
        Some(b'-') => {
            it.next();
            true
        }
        Some(b'+') => {
            it.next();
            false
        }
        _ => false,
    };
    let mut magnitude: i64 = 0;
    let mut any = false;
    for b in it {
        if !b.is_ascii_digit() {
            return 0;
        }
        any = true;
        magnitude = (magnitude * 10 + i64::from(b - b'0')).min(1 << 32);
    }
    if !any {
        return 0;
    }
    let v = if negative { -magnitude } else { magnitude };
    v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

impl<'a> StatusView<'a> {
    /// Parse status text. Never fails: unknown keys are ignored and the first
    /// occurrence of each known key wins, as in Go.
    pub fn parse(raw: &'a [u8]) -> Self {
        let mut view = Self {
            raw,
            ..Self::default()
        };
        let mut code_seen = false;
        for piece in raw.split(|&b| b == b'&') {
            let (k, v) = split_pair(piece);
            let key = Escaped::new(k);
            if !code_seen && key.eq_str("code") {
                code_seen = true;
                view.code = parse_code(Escaped::new(v));
            } else if view.msg.is_none() && key.eq_str("msg") {
                view.msg = Some(Escaped::new(v));
            } else if view.cause.is_none() && key.eq_str("cause") {
                view.cause = Some(Escaped::new(v));
            }
        }
        view
    }

    /// True when the status field was empty on the wire.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Whether the code is 0.
    pub fn is_ok(&self) -> bool {
        self.code == 0
    }

    /// An owned copy; fails if msg or cause is not UTF-8 once unescaped.
    #[cfg(feature = "alloc")]
    pub fn to_owned(&self) -> Result<Status, crate::escape::TextError> {
        use alloc::string::{String, ToString};
        Ok(Status {
            code: self.code,
            msg: match self.msg {
                Some(m) => m.to_str()?.to_string(),
                None => String::new(),
            },
            cause: match self.cause {
                Some(c) => Some(c.to_str()?.to_string()),
                None => None,
            },
        })
    }
}

/// Re-encodes the status as the Go writer would (normalised), not the raw text.
impl StatusText for StatusView<'_> {
    fn encoded_len(&self) -> usize {
        if self.raw.is_empty() {
            return 0;
        }
        let mut len = "code=".len() + i32_len(self.code);
        if let Some(m) = self.msg.filter(|m| !m.raw().is_empty()) {
            len += "&msg=".len() + m.bytes().map(|b| escaped_len(&[b])).sum::<usize>();
        }
        if let Some(c) = self.cause {
            len += "&cause=".len() + c.bytes().map(|b| escaped_len(&[b])).sum::<usize>();
        }
        len
    }
    fn code(&self) -> i32 {
        self.code
    }
    fn encode<S: Sink + ?Sized>(&self, out: &mut S) {
        if self.raw.is_empty() {
            return;
        }
        out.put(b"code=");
        write_i32(self.code, out);
        if let Some(m) = self.msg.filter(|m| !m.raw().is_empty()) {
            out.put(b"&msg=");
            m.bytes().for_each(|b| write_escaped(&[b], out));
        }
        if let Some(c) = self.cause {
            out.put(b"&cause=");
            c.bytes().for_each(|b| write_escaped(&[b], out));
        }
    }
}

/// Split `k=v` on the first `=`; no `=` means an empty value.
pub(crate) fn split_pair(piece: &[u8]) -> (&[u8], &[u8]) {
    match piece.iter().position(|&b| b == b'=') {
        Some(i) => (&piece[..i], piece.get(i + 1..).unwrap_or_default()),
        None => (piece, &[]),
    }
}

/// An owned status: a code (0 is OK), a message and an optional cause.
///
/// ```
/// use teleport_core::Status;
/// let s = Status::new(1234, "bad thing").with_cause("cause text");
/// assert!(!s.is_ok());
/// assert_eq!(s.to_string(), "code=1234, msg=\"bad thing\", cause=\"cause text\"");
/// assert!(Status::ok().is_ok());
/// ```
#[cfg(feature = "alloc")]
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Status {
    /// Status code; 0 is OK.
    pub code: i32,
    /// Message, omitted on the wire when empty.
    pub msg: alloc::string::String,
    /// Cause, omitted on the wire when `None`.
    pub cause: Option<alloc::string::String>,
}

#[cfg(feature = "alloc")]
impl Status {
    /// The OK status.
    pub const fn ok() -> Self {
        Self {
            code: 0,
            msg: alloc::string::String::new(),
            cause: None,
        }
    }

    /// A status with a code and message and no cause.
    pub fn new(code: i32, msg: impl Into<alloc::string::String>) -> Self {
        Self {
            code,
            msg: msg.into(),
            cause: None,
        }
    }

    /// The same status with a cause.
    #[must_use]
    pub fn with_cause(mut self, cause: impl Into<alloc::string::String>) -> Self {
        self.cause = Some(cause.into());
        self
    }

    /// Whether the code is 0.
    pub const fn is_ok(&self) -> bool {
        self.code == 0
    }

    /// A borrowed view for encoding.
    pub fn as_ref(&self) -> StatusRef<'_> {
        StatusRef {
            code: self.code,
            msg: &self.msg,
            cause: self.cause.as_deref(),
        }
    }
}

#[cfg(feature = "alloc")]
impl From<StatusRef<'_>> for Status {
    fn from(s: StatusRef<'_>) -> Self {
        s.to_owned()
    }
}

#[cfg(feature = "alloc")]
impl StatusText for Status {
    fn encoded_len(&self) -> usize {
        self.as_ref().encoded_len()
    }
    fn encode<S: Sink + ?Sized>(&self, out: &mut S) {
        self.as_ref().encode(out);
    }
    fn code(&self) -> i32 {
        self.code
    }
}

impl fmt::Display for StatusRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "code={}", self.code)?;
        if !self.msg.is_empty() {
            write!(f, ", msg={:?}", self.msg)?;
        }
        if let Some(c) = self.cause {
            write!(f, ", cause={c:?}")?;
        }
        Ok(())
    }
}

#[cfg(feature = "alloc")]
impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.as_ref(), f)
    }
}

#[cfg(feature = "alloc")]
impl core::error::Error for Status {}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::vec::Vec;

    fn enc<T: StatusText>(s: T) -> Vec<u8> {
        let mut v = Vec::new();
        s.encode(&mut v);
        assert_eq!(v.len(), s.encoded_len());
        v
    }

    #[test]
    fn encodes_like_go() {
        assert_eq!(enc(StatusRef::OK), b"code=0");
        assert_eq!(
            enc(StatusRef::new(1234, "bad thing").with_cause("cause text")),
            b"code=1234&msg=bad%20thing&cause=cause%20text"
        );
        assert_eq!(
            enc(StatusRef::new(404, "Not Found")),
            b"code=404&msg=Not%20Found"
        );
        assert_eq!(enc(StatusRef::new(i32::MIN, "")), b"code=-2147483648");
        assert_eq!(enc(None::<StatusRef<'_>>), b"");
    }

    #[test]
    fn parses_like_go() {
        let s = StatusView::parse(b"cause=x&code=7&code=8&msg=a&msg=b&other=1");
        assert_eq!(s.code, 7);
        assert!(s.msg.unwrap().eq_str("a"));
        assert!(s.cause.unwrap().eq_str("x"));
        assert_eq!(StatusView::parse(b"code=abc").code, 0);
        assert_eq!(StatusView::parse(b"code=99999999999").code, i32::MAX);
        assert_eq!(
            StatusView::parse(b"code=-99999999999999999999").code,
            i32::MIN
        );
        assert_eq!(StatusView::parse(b"code=%2D5").code, -5);
        assert_eq!(StatusView::parse(b"code=").code, 0);
        assert_eq!(StatusView::parse(b"msg=x").code, 0);
        assert!(StatusView::parse(b"code=0&cause=x").is_ok());
    }

    #[test]
    fn view_reencodes_normalised() {
        let raw = b"msg=a+b&code=3&cause=";
        let v = StatusView::parse(raw);
        assert_eq!(enc(v), b"code=3&msg=a%20b&cause=");
    }
}
