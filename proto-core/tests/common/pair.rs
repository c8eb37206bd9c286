//! Two connections wired back to back through an in-memory pipe, with a
//! simulated clock: the harness of the scenario and simulation tests.
#![allow(dead_code)]

use core::time::Duration;

use teleport_core::conn::{
    CloseReason, Config, Connection, Event, Growable, Outcome, SendError, Warning,
};
use teleport_core::router::{Role, Router, Routes};
use teleport_core::{Instant, Mtype, Seq, StatusRef};

pub type Conn = Connection<Growable, Router<&'static str>>;

/// An event with everything copied out, so tests can keep it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ev {
    Call {
        seq: Seq,
        handler: &'static str,
        method: String,
        path: String,
        query: Vec<(String, String)>,
        meta: Vec<(String, String)>,
        codec: u8,
        body: Vec<u8>,
    },
    Push {
        seq: Seq,
        handler: &'static str,
        method: String,
        body: Vec<u8>,
    },
    Replied {
        seq: Seq,
        code: i32,
        body: Vec<u8>,
    },
    /// A local outcome: 408, 102 or a plugin's status.
    Ended {
        seq: Seq,
        code: i32,
    },
    AuthCall {
        seq: Seq,
        body: Vec<u8>,
    },
    AuthResult {
        code: i32,
        body: Option<Vec<u8>>,
    },
    Warning(Warning),
    Closed(CloseReason),
}

fn pairs(view: teleport_core::MetaView<'_>) -> Vec<(String, String)> {
    view.iter()
        .map(|(k, v)| {
            (
                k.to_str().unwrap().into_owned(),
                v.to_str().unwrap().into_owned(),
            )
        })
        .collect()
}

pub fn own(ev: Event<'_, &'static str>) -> Ev {
    match ev {
        Event::Call(c) => Ev::Call {
            seq: c.message.seq,
            handler: c.handler,
            method: c.message.service_method.into(),
            path: c.path.into(),
            query: pairs(c.query),
            meta: pairs(c.message.meta),
            codec: c.message.body_codec,
            body: c.message.body.to_vec(),
        },
        Event::Push(p) => Ev::Push {
            seq: p.message.seq,
            handler: p.handler,
            method: p.message.service_method.into(),
            body: p.message.body.to_vec(),
        },
        Event::Outcome { seq, outcome } => match outcome {
            Outcome::Replied(m) => {
                assert_eq!(m.mtype, Mtype::Reply);
                Ev::Replied {
                    seq,
                    code: m.status.code,
                    body: m.body.to_vec(),
                }
            }
            other => Ev::Ended {
                seq,
                code: other.code(),
            },
        },
        Event::AuthCall(m) => Ev::AuthCall {
            seq: m.seq,
            body: m.body.to_vec(),
        },
        Event::AuthResult { reply, code } => Ev::AuthResult {
            code,
            body: reply.map(|m| m.body.to_vec()),
        },
        Event::Warning(w) => Ev::Warning(w),
        Event::Closed(r) => Ev::Closed(r),
    }
}

/// Every pending event of `conn`.
pub fn drain_events<R: Routes<Handler = &'static str>>(
    conn: &mut Connection<Growable, R>,
) -> Vec<Ev> {
    let mut out = Vec::new();
    while let Some(ev) = conn.poll_event() {
        out.push(own(ev));
        assert!(out.len() < 100_000, "event storm");
    }
    out
}

/// Move up to `max` queued bytes from `from` to `to`; returns how many moved.
pub fn transfer<A: Routes, B: Routes>(
    from: &mut Connection<Growable, A>,
    to: &mut Connection<Growable, B>,
    max: usize,
    now: Instant,
) -> usize {
    let data = from.poll_transmit();
    let n = data.len().min(max);
    let taken = to.handle_input(&data[..n], now);
    from.advance_transmit(taken);
    taken
}

pub fn router(
    routes: &[(teleport_core::router::RouteKind, &str, &'static str)],
) -> Router<&'static str> {
    let mut r = Router::default();
    for &(kind, path, name) in routes {
        r.route(kind, path, name).unwrap();
    }
    r
}

/// Two connected peers: `client` dialed `server`.
pub struct Pair {
    pub client: Conn,
    pub server: Conn,
    pub now: Instant,
    pub client_events: Vec<Ev>,
    pub server_events: Vec<Ev>,
}

impl Pair {
    pub fn new(
        client_config: Config,
        client_router: Router<&'static str>,
        server_config: Config,
        server_router: Router<&'static str>,
    ) -> Self {
        let now = Instant::from_millis(1_000);
        Self {
            client: Connection::new(client_config, Role::Client, client_router, now),
            server: Connection::new(server_config, Role::Server, server_router, now),
            now,
            client_events: Vec::new(),
            server_events: Vec::new(),
        }
    }

    /// Both sides with default config and the given routes.
    pub fn with_routes(
        client: &[(teleport_core::router::RouteKind, &str, &'static str)],
        server: &[(teleport_core::router::RouteKind, &str, &'static str)],
    ) -> Self {
        Self::new(Config::new(), router(client), Config::new(), router(server))
    }

    /// Move all bytes both ways and collect events until nothing moves.
    pub fn pump(&mut self) {
        for _ in 0..1000 {
            let a = transfer(&mut self.client, &mut self.server, usize::MAX, self.now);
            let b = transfer(&mut self.server, &mut self.client, usize::MAX, self.now);
            let ca = drain_events(&mut self.client);
            let sa = drain_events(&mut self.server);
            let quiet = a == 0 && b == 0 && ca.is_empty() && sa.is_empty();
            self.client_events.extend(ca);
            self.server_events.extend(sa);
            if quiet {
                return;
            }
        }
        panic!("pump did not settle");
    }

    /// Advance the clock by `d` in steps of at most `step`, firing timers and
    /// pumping after each step.
    pub fn advance(&mut self, d: Duration, step: Duration) {
        let end = self.now + d;
        while self.now < end {
            self.now = (self.now + step).min(end);
            self.client.handle_timeout(self.now);
            self.server.handle_timeout(self.now);
            self.pump();
        }
    }

    pub fn take_client(&mut self) -> Vec<Ev> {
        std::mem::take(&mut self.client_events)
    }

    pub fn take_server(&mut self) -> Vec<Ev> {
        std::mem::take(&mut self.server_events)
    }
}

/// Reply OK to a call event with `body` (json).
pub fn reply_ok(conn: &mut Conn, seq: Seq, body: &[u8], now: Instant) -> Result<(), SendError> {
    conn.reply(
        seq,
        StatusRef::OK,
        teleport_core::conn::Outgoing::new(b'j', body),
        now,
    )
}
