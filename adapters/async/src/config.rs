//! `PeerConfig`: the Go framework's peer settings, plus limits and socket options.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use teleport_core::codec;
use teleport_core::conn::{Auth, Config, Ping};
use teleport_core::{Meta, Status};

use crate::rt::{Network, SocketOptions};

/// How a peer listens, dials and runs its sessions.
///
/// Field names follow the Go framework's `PeerConfig`:
///
/// ```
/// use std::time::Duration;
/// use teleport_async::PeerConfig;
/// let cfg = PeerConfig {
///     listen_address: "127.0.0.1:0".into(),
///     default_context_age: Some(Duration::from_secs(5)),
///     redial_times: 3,
///     ..PeerConfig::default()
/// };
/// assert!(cfg.socket.nodelay);
/// ```
#[derive(Clone, Debug)]
pub struct PeerConfig {
    /// `tcp`, `tcp4`, `tcp6` or `unix`.
    pub network: Network,
    /// Where `listen` binds ("host:port", or a path for unix).
    pub listen_address: String,
    /// Local address to dial from (TCP only).
    pub local_address: Option<SocketAddr>,
    /// How long a dial may take.
    pub default_dial_timeout: Duration,
    /// After an unexpected disconnect, redial up to this many times
    /// (0: never, -1: without limit), as Go's `RedialTimes`.
    pub redial_times: i32,
    /// Pause between redial attempts.
    pub redial_interval: Duration,
    /// Body codec of calls and pushes that do not choose one.
    pub default_body_codec: u8,
    /// Close every session after this long (`None`: never).
    pub default_session_age: Option<Duration>,
    /// Time limit of every call that does not set its own (`None`: none).
    pub default_context_age: Option<Duration>,
    /// Log a warning for a handler or call slower than this.
    pub slow_comet_duration: Option<Duration>,
    /// Log metadata and bodies with every message line.
    pub print_detail: bool,
    /// Log how long each message took.
    pub count_time: bool,
    /// Largest frame accepted or sent.
    pub message_size_limit: u32,
    /// Per-session cap of our own calls in flight; more calls wait for a slot.
    pub max_outbound_calls: usize,
    /// Per-session cap of the peer's calls in flight; more get 503.
    pub max_inbound_calls: usize,
    /// Per-session send queue cap in bytes; senders wait while it is full.
    pub send_queue_limit: usize,
    /// Heartbeat ping to send (`None`: none). Pongs are always answered.
    pub ping: Option<Ping>,
    /// Stop accepting past this many live sessions (`None`: no cap).
    pub max_sessions: Option<usize>,
    /// Close a session when no complete message arrived for this long
    /// (`None`: never). Bounds peers that connect and say nothing or trickle
    /// bytes; clients that idle on purpose should send a heartbeat
    /// [`ping`](Self::ping) more often.
    pub read_timeout: Option<Duration>,
    /// Close a session whose peer accepted none of our queued bytes for this
    /// long (default 30 s; `None`: never), so a peer that stops reading
    /// cannot hold memory and waiting callers forever.
    pub write_timeout: Option<Duration>,
    /// Server side: every accepted session must first pass this check.
    pub auth_checker: Option<AuthChecker>,
    /// Client side: sent as the first message of every dialed session.
    pub auth_bearer: Option<AuthBearer>,
    /// TCP socket options.
    pub socket: SocketOptions,
}

/// The AUTH_CALL a client sent, as the [`AuthChecker`] sees it.
#[derive(Debug)]
pub struct AuthRequest<'a> {
    /// Where the session comes from.
    pub peer_addr: &'a crate::rt::Addr,
    /// Body codec id.
    pub codec: u8,
    /// The body as sent.
    pub body: &'a [u8],
    /// Metadata.
    pub meta: Meta,
}

type CheckFn = dyn Fn(&AuthRequest<'_>) -> Result<Vec<u8>, Status> + Send + Sync;

/// Checks a session's AUTH_CALL: `Ok(body)` opens the session and answers
/// with `body` (in the request's codec); `Err(status)` answers with the
/// status and closes. Until it passes, anything else the client sends is
/// answered 401 and closes the session. It runs on the session's IO task:
/// keep it quick.
///
/// ```
/// use teleport_async::{AuthChecker, PeerConfig, Status};
/// let cfg = PeerConfig {
///     auth_checker: Some(AuthChecker::new(|req| match req.body {
///         b"\"secret\"" => Ok(b"\"ok\"".to_vec()),
///         _ => Err(Status::new(403, "Forbidden")),
///     })),
///     ..PeerConfig::default()
/// };
/// # let _ = cfg;
/// ```
#[derive(Clone)]
pub struct AuthChecker(Arc<CheckFn>);

impl AuthChecker {
    /// Wrap a check function.
    pub fn new(
        check: impl Fn(&AuthRequest<'_>) -> Result<Vec<u8>, Status> + Send + Sync + 'static,
    ) -> Self {
        Self(Arc::new(check))
    }

    pub(crate) fn check(&self, req: &AuthRequest<'_>) -> Result<Vec<u8>, Status> {
        (self.0)(req)
    }
}

impl fmt::Debug for AuthChecker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthChecker")
    }
}

/// What a client sends as its AUTH_CALL. Calls made before the server
/// accepted it wait for the answer; a refusal closes the session (calls
/// end with 102, the log line names the server's status code) and it is not
/// redialed.
#[derive(Clone, Debug)]
pub struct AuthBearer {
    /// Body codec id.
    pub codec: u8,
    /// The encoded body.
    pub body: Vec<u8>,
}

impl Default for PeerConfig {
    fn default() -> Self {
        Self {
            network: Network::Tcp,
            listen_address: "0.0.0.0:9090".into(),
            local_address: None,
            default_dial_timeout: Duration::from_secs(10),
            redial_times: 0,
            redial_interval: Duration::from_millis(100),
            default_body_codec: codec::id::JSON,
            default_session_age: None,
            default_context_age: None,
            slow_comet_duration: None,
            print_detail: false,
            count_time: false,
            message_size_limit: teleport_core::frame::DEFAULT_FRAME_LIMIT,
            max_outbound_calls: 1 << 16,
            max_inbound_calls: 1 << 16,
            send_queue_limit: 16 << 20,
            ping: None,
            max_sessions: None,
            read_timeout: None,
            write_timeout: Some(Duration::from_secs(30)),
            auth_checker: None,
            auth_bearer: None,
            socket: SocketOptions::default(),
        }
    }
}

impl PeerConfig {
    /// The core connection settings this config implies.
    pub(crate) fn conn_config(&self) -> Config {
        let mut c = Config::new();
        c.frame_limit = self.message_size_limit;
        c.send_queue_limit = self
            .send_queue_limit
            .max(self.message_size_limit as usize + 64);
        c.max_outbound_calls = self.max_outbound_calls;
        c.max_inbound_calls = self.max_inbound_calls;
        c.context_age = self.default_context_age;
        c.session_age = self.default_session_age;
        c.default_body_codec = self.default_body_codec;
        c.ping = self.ping;
        c.read_timeout = self.read_timeout;
        c.write_timeout = self.write_timeout;
        c
    }

    /// The core settings of one session in `role`.
    pub(crate) fn conn_config_for(&self, role: teleport_core::router::Role) -> Config {
        let mut c = self.conn_config();
        let auth = match role {
            teleport_core::router::Role::Server => self.auth_checker.is_some(),
            teleport_core::router::Role::Client => self.auth_bearer.is_some(),
        };
        if auth {
            c.auth = match role {
                teleport_core::router::Role::Server => Auth::Checker,
                teleport_core::router::Role::Client => Auth::Bearer,
            };
            c.handshake_timeout = Some(self.default_dial_timeout);
        }
        c
    }
}
