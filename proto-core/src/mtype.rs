//! Message types.

use core::fmt;

/// The message type byte.
///
/// ```
/// use teleport_core::Mtype;
/// assert_eq!(Mtype::try_from(3), Ok(Mtype::Push));
/// assert!(Mtype::try_from(0).is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum Mtype {
    /// A request expecting a [`Mtype::Reply`] with the same seq.
    Call = 1,
    /// The answer to a call.
    Reply = 2,
    /// A one-way message, never answered.
    Push = 3,
    /// The dialer's auth handshake message.
    AuthCall = 4,
    /// The acceptor's auth handshake answer.
    AuthReply = 5,
}

/// A message type byte outside 1..=5.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct UnknownMtype(pub u8);

impl fmt::Display for UnknownMtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown message type {}", self.0)
    }
}

impl core::error::Error for UnknownMtype {}

impl TryFrom<u8> for Mtype {
    type Error = UnknownMtype;
    fn try_from(v: u8) -> Result<Self, UnknownMtype> {
        Ok(match v {
            1 => Self::Call,
            2 => Self::Reply,
            3 => Self::Push,
            4 => Self::AuthCall,
            5 => Self::AuthReply,
            _ => return Err(UnknownMtype(v)),
        })
    }
}

impl From<Mtype> for u8 {
    fn from(m: Mtype) -> Self {
        m as Self
    }
}

impl Mtype {
    /// The upper-case name the Go framework prints.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Call => "CALL",
            Self::Reply => "REPLY",
            Self::Push => "PUSH",
            Self::AuthCall => "AUTH_CALL",
            Self::AuthReply => "AUTH_REPLY",
        }
    }
}

impl fmt::Display for Mtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
