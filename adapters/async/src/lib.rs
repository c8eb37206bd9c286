//! The runtime-independent half of Teleport's std adapters: `Peer`,
//! `Session`, handlers, redial, graceful shutdown, TLS and logging.
//!
//! A runtime adapter (`teleport-tokio`, `teleport-smol`) implements
//! [`Runtime`] (spawn, timers, sockets) and re-exports the rest. All protocol
//! logic lives in `teleport-core`; this crate only moves bytes and events
//! between the core's state machine and your code.
//!
//! Most users want `teleport-tokio` or `teleport-smol` rather than this
//! crate directly.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod body;
mod config;
mod driver;
mod handler;
mod peer;
mod rt;
mod session;
#[cfg(feature = "tls")]
pub mod tls;

pub use body::{Body, FromBody, Proto, Raw, WithMeta};
pub use config::{AuthBearer, AuthChecker, AuthRequest, PeerConfig};
pub use handler::{Ctx, Handler, Router};
pub use peer::{DialOptions, Listening, Peer};
pub use rt::{
    Addr, BoxIo, Listener, Network, Runtime, SocketOptions, Timer, Transport,
    connecting_tcp_socket, now, remove_stale_socket, sleep, to_core, to_std,
};
pub use session::{Call, DEFAULT_DRAIN, Push, Reply, Session};

pub use teleport_core::conn::{CloseReason, Ping, Stats};
pub use teleport_core::router::names::Mapper;
pub use teleport_core::router::{GroupId, Plugin, Reject, RouteError, RouteId, RouteKind};
pub use teleport_core::{Meta, MetaView, Seq, Status, StatusRef, codec, xfer};
