//! # teleport-core
//!
//! The protocol of Teleport (eRPC) for Rust as pure code: no sockets, no
//! clocks, no executor. It reads and writes the Go framework's default wire
//! format (the "raw" protocol) byte for byte.
//!
//! Layers, bottom up:
//! - [`frame`]: incremental, zero-copy frame decoding ([`frame::decode_frame`])
//!   and encoding into a caller's slice or a growable buffer ([`MessageRepr`]).
//! - message parts: [`Seq`], [`Mtype`], [`StatusView`]/[`StatusRef`]/`Status`,
//!   [`MetaView`]/`Meta`, [`uri`] (service method and `?query`).
//! - [`codec`]: body codecs by Go id (json, protobuf, plain, form) plus postcard.
//! - `xfer` (with `alloc`): transfer filters (gzip, md5, custom), bounded.
//! - [`conn`]: the connection state machine (calls, pushes, replies,
//!   timeouts, auth, heartbeat, graceful close) over a [`router`] with plugins.
//!
//! Without the `alloc` feature everything works on borrowed views and
//! caller-provided buffers, down to `thumbv6m-none-eabi`.
//!
//! ```
//! use teleport_core::frame::{decode_frame, Decoded, DEFAULT_FRAME_LIMIT};
//! use teleport_core::{Mtype, Seq};
//!
//! let stream = b"\0\0\0\x28\0\x011\x01\x09/math/add\0\x06code=0\0\0j[1,2,3,4,5]";
//! let Decoded::Frame(frame) = decode_frame(stream, DEFAULT_FRAME_LIMIT)? else { unreachable!() };
//! let msg = frame.message()?;
//! assert_eq!((msg.seq, msg.mtype, msg.service_method), (Seq(1), Mtype::Call, "/math/add"));
//! assert!(msg.status.is_ok());
//! assert_eq!(msg.body, b"[1,2,3,4,5]");
//! # Ok::<(), teleport_core::DecodeError>(())
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![warn(
    missing_docs,
    clippy::std_instead_of_core,
    clippy::alloc_instead_of_core
)]

// Tests use `Vec` as a sink even in builds without the `alloc` feature.
#[cfg(any(feature = "alloc", test))]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

pub mod codec;
pub mod conn;
pub mod error;
pub mod escape;
pub mod frame;
pub mod meta;
pub mod mtype;
pub mod router;
pub mod seq;
pub mod status;
pub mod time;
pub mod uri;

#[cfg(feature = "alloc")]
pub mod message;
#[cfg(feature = "alloc")]
pub mod xfer;

pub use error::{DecodeError, DecodeErrorKind, EncodeError, Field, XferError, XferErrorKind};
pub use frame::{MessageRepr, MessageView, RawFrame};
#[cfg(feature = "alloc")]
pub use message::{BytesStr, FrameReader, Message};
#[cfg(feature = "alloc")]
pub use meta::Meta;
pub use meta::{MetaText, MetaView};
pub use mtype::Mtype;
pub use seq::{Seq, SeqError};
#[cfg(feature = "alloc")]
pub use status::Status;
pub use status::{StatusRef, StatusText, StatusView};
pub use time::Instant;

// The README's Rust examples are compiled and run as doc tests of
// teleport-adapter-tests, which can see every crate they use.
