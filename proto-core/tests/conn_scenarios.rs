//! Scenario tests of the connection state machine: two connections wired
//! by an in-memory pipe with a simulated clock.

mod common;

use core::time::Duration;

use common::pair::{Ev, Pair, drain_events, reply_ok, router, transfer};
use teleport_core::conn::{
    Auth, CloseReason, Config, Connection, Growable, Outgoing, Ping, ProtocolError, SendError,
    State, Warning,
};
use teleport_core::router::{
    Plugin, ReadHeader, Reject, Role, RouteKind, Router, WriteHeader, names::Mapper,
};
use teleport_core::{Instant, MessageRepr, Mtype, Seq, StatusRef};

const CALL: RouteKind = RouteKind::Call;
const PUSH: RouteKind = RouteKind::Push;

fn json(body: &[u8]) -> Outgoing<'_> {
    Outgoing::new(b'j', body)
}

/// A raw frame as a peer might send it.
fn frame(seq: i32, mtype: Mtype, method: &str, status: StatusRef<'_>, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    MessageRepr {
        seq: Seq(seq),
        mtype,
        service_method: method,
        status,
        meta: teleport_core::meta::NoMeta,
        body_codec: b'j',
        body,
    }
    .encode_to(&mut out, u32::MAX)
    .unwrap();
    out
}

fn first_call(events: &[Ev]) -> (Seq, Vec<u8>) {
    events
        .iter()
        .find_map(|e| match e {
            Ev::Call { seq, body, .. } => Some((*seq, body.clone())),
            _ => None,
        })
        .expect("a call event")
}

#[test]
fn call_and_reply_both_directions() {
    let mut p = Pair::with_routes(
        &[(CALL, "/client/ask", "ask")],
        &[(CALL, "/math/add", "add")],
    );
    let now = p.now;
    let seq = p
        .client
        .call("/math/add?author=x", json(b"[1,2]"), now)
        .unwrap();
    assert_eq!(seq, Seq(1), "first seq is 1, as in Go");
    p.pump();
    let events = p.take_server();
    let [
        Ev::Call {
            seq: s,
            handler,
            path,
            query,
            body,
            ..
        },
    ] = events.as_slice()
    else {
        panic!("{events:?}")
    };
    assert_eq!(
        (*handler, path.as_str(), body.as_slice()),
        ("add", "/math/add", &b"[1,2]"[..])
    );
    assert_eq!(query, &[("author".to_string(), "x".to_string())]);
    reply_ok(&mut p.server, *s, b"3", now).unwrap();

    // The server calls the client back on the same connection.
    let back = p.server.call("/client/ask", json(b"\"hi\""), now).unwrap();
    assert_eq!(back, Seq(1), "each side has its own counter");
    p.pump();
    let client = p.take_client();
    assert_eq!(
        client[0],
        Ev::Replied {
            seq,
            code: 0,
            body: b"3".to_vec()
        }
    );
    let (cs, _) = first_call(&client);
    reply_ok(&mut p.client, cs, b"\"hello\"", now).unwrap();
    p.pump();
    assert_eq!(
        p.take_server(),
        vec![Ev::Replied {
            seq: back,
            code: 0,
            body: b"\"hello\"".to_vec()
        }]
    );
    assert!(p.client.outbound_calls().is_empty() && p.server.outbound_calls().is_empty());
    assert!(p.client.inbound_calls().is_empty() && p.server.inbound_calls().is_empty());
}

trait TakeCalls {
    fn take_client_calls(&mut self) -> Vec<Ev>;
}

impl TakeCalls for Pair {
    /// Client events seen so far that are calls (the pump already drained them).
    fn take_client_calls(&mut self) -> Vec<Ev> {
        self.client_events.extend(drain_events(&mut self.client));
        let (calls, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.client_events)
            .into_iter()
            .partition(|e| matches!(e, Ev::Call { .. }));
        self.client_events = rest;
        calls
    }
}

#[test]
fn pushes_both_directions_and_unknown_push_dropped() {
    let mut p = Pair::with_routes(
        &[(PUSH, "/push/status", "status")],
        &[(PUSH, "/echo/push", "echo")],
    );
    let now = p.now;
    let s1 = p.client.push("/echo/push", json(b"1"), now).unwrap();
    let s2 = p.client.push("/nowhere", json(b"2"), now).unwrap();
    p.server.push("/push/status", json(b"\"up\""), now).unwrap();
    p.pump();
    assert_eq!((s1, s2), (Seq(1), Seq(2)));
    let server = p.take_server();
    assert_eq!(
        server,
        vec![
            Ev::Push {
                seq: s1,
                handler: "echo",
                method: "/echo/push".into(),
                body: b"1".to_vec()
            },
            Ev::Warning(Warning::PushNotFound(s2)),
        ]
    );
    assert!(matches!(
        &p.take_client()[..],
        [Ev::Push {
            handler: "status",
            ..
        }]
    ));
    assert_eq!(p.server.stats().pushes_dropped, 1);
    assert!(
        p.client.poll_transmit().is_empty(),
        "an unknown push gets no answer"
    );
}

#[test]
fn calls_crossing_in_flight() {
    let mut p = Pair::with_routes(&[(CALL, "/c", "c")], &[(CALL, "/s", "s")]);
    let now = p.now;
    let a = p.client.call("/s", json(b"1"), now).unwrap();
    let b = p.server.call("/c", json(b"2"), now).unwrap();
    // Both frames cross on the wire before either side reads.
    p.pump();
    let (sa, _) = first_call(&p.take_server());
    let (cb, _) = first_call(&p.take_client_calls());
    reply_ok(&mut p.server, sa, b"10", now).unwrap();
    reply_ok(&mut p.client, cb, b"20", now).unwrap();
    p.pump();
    assert_eq!(
        p.take_client(),
        vec![Ev::Replied {
            seq: a,
            code: 0,
            body: b"10".to_vec()
        }]
    );
    assert_eq!(
        p.take_server(),
        vec![Ev::Replied {
            seq: b,
            code: 0,
            body: b"20".to_vec()
        }]
    );
}

#[test]
fn unknown_route_gets_404_and_unknown_call_handler_catches_it() {
    let mut p = Pair::with_routes(&[], &[]);
    let now = p.now;
    let seq = p.client.call("/no/such", json(b"{}"), now).unwrap();
    p.pump();
    assert_eq!(
        p.take_client(),
        vec![Ev::Replied {
            seq,
            code: 404,
            body: vec![]
        }]
    );
    assert_eq!(
        p.take_server(),
        vec![Ev::Warning(Warning::CallNotFound(seq))]
    );

    let mut r = Router::default();
    r.set_unknown_call("fallback");
    let mut p = Pair::new(Config::new(), Router::default(), Config::new(), r);
    p.client.call("/no/such", json(b"{}"), now).unwrap();
    p.pump();
    assert!(matches!(
        &p.take_server()[..],
        [Ev::Call {
            handler: "fallback",
            ..
        }]
    ));
}

#[test]
fn replying_twice_or_to_unknown_seq_is_an_error() {
    let mut p = Pair::with_routes(&[], &[(CALL, "/a", "a")]);
    let now = p.now;
    p.client.call("/a", json(b""), now).unwrap();
    p.pump();
    let (seq, _) = first_call(&p.take_server());
    assert_eq!(
        reply_ok(&mut p.server, Seq(77), b"", now),
        Err(SendError::UnknownSeq(Seq(77)))
    );
    reply_ok(&mut p.server, seq, b"1", now).unwrap();
    assert_eq!(
        reply_ok(&mut p.server, seq, b"1", now),
        Err(SendError::UnknownSeq(seq))
    );
}

#[test]
fn reply_to_a_seq_never_called_is_dropped_and_counted() {
    let mut conn: Connection<Growable, Router<&'static str>> = Connection::new(
        Config::new(),
        Role::Client,
        Router::default(),
        Instant::ZERO,
    );
    conn.handle_input(
        &frame(42, Mtype::Reply, "", StatusRef::OK, b"1"),
        Instant::ZERO,
    );
    assert_eq!(
        drain_events(&mut conn),
        vec![Ev::Warning(Warning::UnknownReply(Seq(42)))]
    );
    assert_eq!(conn.stats().unknown_replies, 1);
    assert_eq!(conn.state(), State::Open, "the connection survives");
}

#[test]
fn duplicate_seq_from_the_peer_is_refused_with_400() {
    let mut server: Connection<Growable, Router<&'static str>> = Connection::new(
        Config::new(),
        Role::Server,
        router(&[(CALL, "/a", "a")]),
        Instant::ZERO,
    );
    let mut input = frame(5, Mtype::Call, "/a", StatusRef::OK, b"1");
    input.extend(frame(5, Mtype::Call, "/a", StatusRef::OK, b"2"));
    server.handle_input(&input, Instant::ZERO);
    let events = drain_events(&mut server);
    assert!(matches!(&events[0], Ev::Call { seq: Seq(5), body, .. } if body == b"1"));
    assert_eq!(events[1], Ev::Warning(Warning::DuplicateCall(Seq(5))));
    let answer = server.poll_transmit().to_vec();
    let msg = teleport_core::frame::decode_frame(&answer, u32::MAX).unwrap();
    let teleport_core::frame::Decoded::Frame(raw) = msg else {
        panic!()
    };
    let m = raw.message().unwrap();
    assert_eq!((m.seq, m.mtype, m.status.code), (Seq(5), Mtype::Reply, 400));
    // The first call is still answerable.
    server.advance_transmit(answer.len());
    reply_ok(&mut server, Seq(5), b"ok", Instant::ZERO).unwrap();
}

#[test]
fn timeout_then_late_reply() {
    let mut p = Pair::with_routes(&[], &[(CALL, "/slow", "slow")]);
    let now = p.now;
    let seq = p
        .client
        .call(
            "/slow",
            json(b"").with_timeout(Duration::from_millis(100)),
            now,
        )
        .unwrap();
    p.pump();
    let (server_seq, _) = first_call(&p.take_server());
    assert_eq!(
        p.client.poll_timeout(),
        Some(now + Duration::from_millis(100))
    );
    p.advance(Duration::from_millis(99), Duration::from_millis(99));
    assert!(p.take_client().is_empty(), "not before the deadline");
    p.advance(Duration::from_millis(1), Duration::from_millis(1));
    assert_eq!(p.take_client(), vec![Ev::Ended { seq, code: 408 }]);
    reply_ok(&mut p.server, server_seq, b"late", p.now).unwrap();
    p.pump();
    assert_eq!(p.take_client(), vec![Ev::Warning(Warning::LateReply(seq))]);
    let stats = p.client.stats();
    assert_eq!((stats.timeouts, stats.late_replies), (1, 1));
}

#[test]
fn context_age_is_the_default_call_timeout() {
    let config = Config {
        context_age: Some(Duration::from_secs(2)),
        ..Config::new()
    };
    let mut p = Pair::new(
        config,
        Router::default(),
        Config::new(),
        router(&[(CALL, "/a", "a")]),
    );
    let seq = p.client.call("/a", json(b""), p.now).unwrap();
    p.pump();
    p.advance(Duration::from_secs(3), Duration::from_millis(500));
    assert_eq!(p.take_client(), vec![Ev::Ended { seq, code: 408 }]);
}

#[test]
fn session_age_closes_and_settles_pending_calls() {
    let config = Config {
        session_age: Some(Duration::from_secs(1)),
        ..Config::new()
    };
    let mut p = Pair::new(
        config,
        Router::default(),
        Config::new(),
        router(&[(CALL, "/a", "a")]),
    );
    let seq = p.client.call("/a", json(b""), p.now).unwrap();
    p.pump();
    p.advance(Duration::from_secs(1), Duration::from_millis(250));
    assert_eq!(
        p.take_client(),
        vec![
            Ev::Ended { seq, code: 102 },
            Ev::Closed(CloseReason::SessionAge)
        ]
    );
    assert_eq!(
        p.client.call("/a", json(b""), p.now),
        Err(SendError::Closed)
    );
    assert!(p.client.is_finished());
}

#[test]
fn graceful_close_lets_calls_in_flight_finish() {
    let mut p = Pair::with_routes(&[(CALL, "/c", "c")], &[(CALL, "/s", "s")]);
    let now = p.now;
    let ours = p.server.call("/c", json(b""), now).unwrap();
    let theirs = p.client.call("/s", json(b""), now).unwrap();
    p.pump();
    let (in_seq, _) = first_call(&p.take_server());
    let (client_in_seq, _) = first_call(&p.take_client());
    p.server.close(Some(Duration::from_secs(5)), now);
    assert_eq!(p.server.state(), State::Draining);
    assert_eq!(
        p.server.call("/c", json(b""), now),
        Err(SendError::Draining)
    );
    // A new call from the peer is refused with 102 while draining.
    let late = p.client.call("/s", json(b""), now).unwrap();
    p.pump();
    assert_eq!(
        p.take_client(),
        vec![Ev::Replied {
            seq: late,
            code: 102,
            body: vec![]
        }]
    );
    assert_eq!(
        p.take_server(),
        vec![Ev::Warning(Warning::CallWhileClosing(late))]
    );
    // Both in-flight calls finish; only then does the server close.
    reply_ok(&mut p.server, in_seq, b"1", now).unwrap();
    p.pump();
    assert_eq!(
        p.server.state(),
        State::Draining,
        "our own call is still out"
    );
    reply_ok(&mut p.client, client_in_seq, b"2", now).unwrap();
    p.pump();
    assert_eq!(
        p.take_server(),
        vec![
            Ev::Replied {
                seq: ours,
                code: 0,
                body: b"2".to_vec()
            },
            Ev::Closed(CloseReason::Drained)
        ]
    );
    assert_eq!(
        p.take_client(),
        vec![Ev::Replied {
            seq: theirs,
            code: 0,
            body: b"1".to_vec()
        }]
    );
    assert!(p.server.is_finished());
}

#[test]
fn graceful_close_times_out() {
    let mut p = Pair::with_routes(&[], &[(CALL, "/s", "s")]);
    p.client.call("/s", json(b""), p.now).unwrap();
    p.pump();
    p.server.close(Some(Duration::from_secs(1)), p.now);
    p.advance(Duration::from_secs(2), Duration::from_millis(500));
    assert!(
        p.take_server()
            .contains(&Ev::Closed(CloseReason::DrainTimeout))
    );
    assert_eq!(
        reply_ok(&mut p.server, Seq(1), b"", p.now),
        Err(SendError::Closed)
    );
}

#[test]
fn peer_closing_settles_every_call() {
    let mut p = Pair::with_routes(&[], &[(CALL, "/s", "s")]);
    let seqs: Vec<_> = (0..3)
        .map(|_| p.client.call("/s", json(b""), p.now).unwrap())
        .collect();
    p.pump();
    p.client.handle_eof(p.now);
    let mut events = drain_events(&mut p.client);
    assert_eq!(
        events.pop(),
        Some(Ev::Closed(CloseReason::PeerClosed)),
        "closed comes last"
    );
    // Outcomes come in no particular order.
    events.sort_by_key(|e| match e {
        Ev::Ended { seq, .. } => seq.0,
        _ => i32::MAX,
    });
    let want: Vec<_> = seqs
        .iter()
        .map(|&seq| Ev::Ended { seq, code: 102 })
        .collect();
    assert_eq!(events, want);
}

#[test]
fn eof_inside_a_frame_is_a_protocol_error() {
    let mut conn: Connection<Growable, Router<&'static str>> = Connection::new(
        Config::new(),
        Role::Server,
        Router::default(),
        Instant::ZERO,
    );
    let f = frame(1, Mtype::Call, "/a", StatusRef::OK, b"1");
    conn.handle_input(&f[..f.len() - 1], Instant::ZERO);
    assert!(drain_events(&mut conn).is_empty());
    conn.handle_eof(Instant::ZERO);
    assert_eq!(
        drain_events(&mut conn),
        vec![Ev::Closed(CloseReason::Protocol(
            ProtocolError::Truncated {
                buffered: f.len() - 1
            }
        ))]
    );
}

#[test]
fn bad_frame_with_readable_seq_gets_400_then_close() {
    let mut conn: Connection<Growable, Router<&'static str>> = Connection::new(
        Config::new(),
        Role::Server,
        Router::default(),
        Instant::ZERO,
    );
    // CALL seq 7 whose status length runs past the end of the frame.
    let bad = b"\0\0\0\x0d\0\x017\x01\x02/a\xff\xff";
    conn.handle_input(bad, Instant::ZERO);
    let events = drain_events(&mut conn);
    assert!(
        matches!(
            events[..],
            [Ev::Closed(CloseReason::Protocol(ProtocolError::Decode(_)))]
        ),
        "{events:?}"
    );
    let out = conn.poll_transmit();
    let teleport_core::frame::Decoded::Frame(raw) =
        teleport_core::frame::decode_frame(out, u32::MAX).unwrap()
    else {
        panic!()
    };
    let m = raw.message().unwrap();
    assert_eq!((m.seq, m.mtype, m.status.code), (Seq(7), Mtype::Reply, 400));
}

#[test]
fn inbound_call_cap_answers_503() {
    let server_config = Config {
        max_inbound_calls: 2,
        ..Config::new()
    };
    let mut p = Pair::new(
        Config::new(),
        Router::default(),
        server_config,
        router(&[(CALL, "/a", "a")]),
    );
    let seqs: Vec<_> = (0..3)
        .map(|_| p.client.call("/a", json(b""), p.now).unwrap())
        .collect();
    p.pump();
    assert_eq!(
        p.take_client(),
        vec![Ev::Replied {
            seq: seqs[2],
            code: 503,
            body: vec![]
        }]
    );
    assert_eq!(p.server.inbound_calls().len(), 2);
}

#[test]
fn outbound_call_cap_is_an_api_error() {
    let config = Config {
        max_outbound_calls: 1,
        ..Config::new()
    };
    let mut p = Pair::new(config, Router::default(), Config::new(), Router::default());
    p.client.call("/a", json(b""), p.now).unwrap();
    assert_eq!(
        p.client.call("/a", json(b""), p.now),
        Err(SendError::TooManyCalls)
    );
}

fn auth_configs() -> (Config, Config) {
    (
        Config {
            auth: Auth::Bearer,
            ..Config::new()
        },
        Config {
            auth: Auth::Checker,
            ..Config::new()
        },
    )
}

#[test]
fn auth_success_then_calls_flow() {
    let (c, s) = auth_configs();
    let mut p = Pair::new(c, Router::default(), s, router(&[(CALL, "/a", "a")]));
    assert_eq!(p.client.state(), State::Handshake);
    assert_eq!(
        p.client.call("/a", json(b""), p.now),
        Err(SendError::NotReady)
    );
    let auth_seq = p
        .client
        .auth_call(Outgoing::new(b's', b"s3cret"), p.now)
        .unwrap();
    assert_eq!(auth_seq, Seq(1));
    p.pump();
    assert_eq!(
        p.take_server(),
        vec![Ev::AuthCall {
            seq: Seq(1),
            body: b"s3cret".to_vec()
        }]
    );
    p.server
        .auth_reply(StatusRef::OK, Outgoing::new(b's', b"pass"), p.now)
        .unwrap();
    p.pump();
    assert_eq!(
        p.take_client(),
        vec![Ev::AuthResult {
            code: 0,
            body: Some(b"pass".to_vec())
        }]
    );
    assert_eq!(
        (p.client.state(), p.server.state()),
        (State::Open, State::Open)
    );
    let seq = p.client.call("/a", json(b""), p.now).unwrap();
    assert_eq!(seq, Seq(2), "the AUTH_CALL used seq 1");
    let push = p.server.push("/x", json(b""), p.now).unwrap();
    assert_eq!(push, Seq(2), "the AUTH_REPLY used the acceptor's seq 1");
}

#[test]
fn auth_denied_closes_both_sides() {
    let (c, s) = auth_configs();
    let mut p = Pair::new(c, Router::default(), s, Router::default());
    p.client
        .auth_call(Outgoing::new(b's', b"wrong"), p.now)
        .unwrap();
    p.pump();
    p.take_server();
    let denied = StatusRef::UNAUTHORIZED.with_cause("auth fail");
    p.server
        .auth_reply(denied, Outgoing::new(b's', b""), p.now)
        .unwrap();
    p.pump();
    assert_eq!(
        p.take_client(),
        vec![
            Ev::AuthResult {
                code: 401,
                body: Some(vec![])
            },
            Ev::Closed(CloseReason::AuthFailed { code: 401 })
        ]
    );
    assert_eq!(
        p.take_server(),
        vec![Ev::Closed(CloseReason::AuthFailed { code: 401 })]
    );
}

#[test]
fn non_auth_traffic_before_auth_gets_401_and_close() {
    let (_, s) = auth_configs();
    let mut p = Pair::new(
        Config::new(),
        Router::default(),
        s,
        router(&[(CALL, "/a", "a")]),
    );
    p.client.call("/a", json(b""), p.now).unwrap();
    p.pump();
    assert_eq!(
        p.take_server(),
        vec![Ev::Closed(CloseReason::AuthFailed { code: 401 })]
    );
    // A client without auth sees an AUTH_REPLY it did not expect and closes.
    let client = p.take_client();
    assert_eq!(
        client.last(),
        Some(&Ev::Closed(CloseReason::Protocol(
            ProtocolError::UnexpectedMessage(Mtype::AuthReply)
        )))
    );
    assert!(client.contains(&Ev::Ended {
        seq: Seq(1),
        code: 102
    }));
}

#[test]
fn handshake_timeout_closes() {
    let s = Config {
        auth: Auth::Checker,
        handshake_timeout: Some(Duration::from_secs(3)),
        ..Config::new()
    };
    let mut p = Pair::new(Config::new(), Router::default(), s, Router::default());
    p.advance(Duration::from_secs(4), Duration::from_secs(1));
    assert_eq!(
        p.take_server(),
        vec![Ev::Closed(CloseReason::HandshakeTimeout)]
    );
}

fn ping_config(use_call: bool) -> Config {
    Config {
        ping: Some(Ping {
            rate_secs: 3,
            use_call,
        }),
        ..Config::new()
    }
}

#[test]
fn heartbeat_keeps_an_idle_connection_alive() {
    for use_call in [false, true] {
        let mut p = Pair::new(
            ping_config(use_call),
            Router::default(),
            Config::new(),
            Router::default(),
        );
        p.advance(Duration::from_secs(60), Duration::from_millis(500));
        assert_eq!(
            (p.client.state(), p.server.state()),
            (State::Open, State::Open)
        );
        let (sent, got) = (
            p.client.stats().heartbeats_out,
            p.server.stats().heartbeats_in,
        );
        assert_eq!(sent, got);
        assert!(
            (19..=20).contains(&sent),
            "one ping per 3 s idle, got {sent}"
        );
        assert!(
            p.take_client().is_empty() && p.take_server().is_empty(),
            "heartbeats are internal"
        );
    }
}

#[test]
fn no_ping_while_traffic_flows() {
    let mut p = Pair::new(
        ping_config(false),
        Router::default(),
        Config::new(),
        router(&[(PUSH, "/p", "p")]),
    );
    for _ in 0..20 {
        p.client.push("/p", json(b""), p.now).unwrap();
        p.advance(Duration::from_secs(1), Duration::from_secs(1));
    }
    assert_eq!(p.client.stats().heartbeats_out, 0);
}

#[test]
fn pong_watchdog_closes_a_silent_peer() {
    let mut p = Pair::new(
        ping_config(false),
        Router::default(),
        Config::new(),
        Router::default(),
    );
    p.advance(Duration::from_secs(4), Duration::from_secs(1));
    assert_eq!(p.server.stats().heartbeats_in, 1);
    // The client goes silent: its bytes stop reaching the server.
    let mut now = p.now;
    let mut closed_at = None;
    for _ in 0..20 {
        now = now + Duration::from_millis(500);
        p.server.handle_timeout(now);
        if drain_events(&mut p.server).contains(&Ev::Closed(CloseReason::HeartbeatTimeout)) {
            closed_at = Some(now);
            break;
        }
    }
    let closed_at = closed_at.expect("the watchdog fires");
    let silent_for = closed_at.saturating_since(p.now + Duration::from_secs(0));
    assert!(
        silent_for <= Duration::from_secs(7),
        "closed {silent_for:?} after the last frame"
    );
}

#[test]
fn call_ping_to_a_silent_peer_fails() {
    let mut client: Connection<Growable, Router<&'static str>> = Connection::new(
        ping_config(true),
        Role::Client,
        Router::default(),
        Instant::ZERO,
    );
    let mut now = Instant::ZERO;
    let mut events = Vec::new();
    for _ in 0..20 {
        now = now + Duration::from_secs(1);
        client.handle_timeout(now);
        let n = client.poll_transmit().len();
        client.advance_transmit(n);
        events.extend(drain_events(&mut client));
    }
    assert_eq!(events, vec![Ev::Closed(CloseReason::HeartbeatFailed)]);
    assert_eq!(client.stats().heartbeats_out, 1);
}

#[test]
fn invalid_first_heartbeat_rate_gets_400() {
    let mut server: Connection<Growable, Router<&'static str>> = Connection::new(
        Config::new(),
        Role::Server,
        Router::default(),
        Instant::ZERO,
    );
    let meta = [("hb_", "-5")];
    let mut input = Vec::new();
    MessageRepr {
        seq: Seq(1),
        mtype: Mtype::Call,
        service_method: "/heartbeat",
        status: StatusRef::OK,
        meta: &meta[..],
        body_codec: b'j',
        body: b"",
    }
    .encode_to(&mut input, u32::MAX)
    .unwrap();
    server.handle_input(&input, Instant::ZERO);
    assert_eq!(
        drain_events(&mut server),
        vec![Ev::Warning(Warning::BadHeartbeatRate(Seq(1)))]
    );
    let out = server.poll_transmit();
    let teleport_core::frame::Decoded::Frame(raw) =
        teleport_core::frame::decode_frame(out, u32::MAX).unwrap()
    else {
        panic!()
    };
    let m = raw.message().unwrap();
    assert_eq!(m.status.code, 400);
    assert!(m.status.cause.unwrap().eq_str("-5"));
}

#[test]
fn frames_split_at_every_byte_boundary() {
    // A stream of several frames of every kind, as the server sees it.
    let mut stream = frame(1, Mtype::Call, "/a?x=1", StatusRef::OK, b"[1]");
    stream.extend(frame(2, Mtype::Push, "/p", StatusRef::OK, b"\"p\""));
    stream.extend(frame(3, Mtype::Call, "/missing", StatusRef::OK, b""));
    stream.extend(frame(9, Mtype::Reply, "", StatusRef::OK, b"0"));
    let routes = [(CALL, "/a", "a"), (PUSH, "/p", "p")];
    let whole = {
        let mut c: Connection<Growable, _> =
            Connection::new(Config::new(), Role::Server, router(&routes), Instant::ZERO);
        c.handle_input(&stream, Instant::ZERO);
        (drain_events(&mut c), c.poll_transmit().to_vec())
    };
    assert_eq!(whole.0.len(), 4, "{:?}", whole.0);
    for cut in 0..=stream.len() {
        for second_cut in [cut, (cut + 7).min(stream.len())] {
            let mut c: Connection<Growable, _> =
                Connection::new(Config::new(), Role::Server, router(&routes), Instant::ZERO);
            let mut events = Vec::new();
            for part in [
                &stream[..cut],
                &stream[cut..second_cut],
                &stream[second_cut..],
            ] {
                assert_eq!(c.handle_input(part, Instant::ZERO), part.len());
                events.extend(drain_events(&mut c));
            }
            assert_eq!(events, whole.0, "split at {cut}/{second_cut}");
            assert_eq!(c.poll_transmit(), whole.1, "split at {cut}/{second_cut}");
        }
    }
}

#[test]
fn one_byte_at_a_time_between_peers() {
    let mut p = Pair::with_routes(&[], &[(CALL, "/a", "a")]);
    let seq = p.client.call("/a", json(b"[1,2,3]"), p.now).unwrap();
    while transfer(&mut p.client, &mut p.server, 1, p.now) == 1 {
        let events = drain_events(&mut p.server);
        if let Some((s, _)) = events.iter().find_map(|e| match e {
            Ev::Call { seq, body, .. } => Some((*seq, body.clone())),
            _ => None,
        }) {
            reply_ok(&mut p.server, s, b"6", p.now).unwrap();
        }
    }
    while transfer(&mut p.server, &mut p.client, 1, p.now) == 1 {}
    assert_eq!(
        drain_events(&mut p.client),
        vec![Ev::Replied {
            seq,
            code: 0,
            body: b"6".to_vec()
        }]
    );
}

struct Lowercase;
impl Plugin for Lowercase {
    fn name(&self) -> &'static str {
        "lower"
    }
    fn post_read_call_header(&self, h: &mut ReadHeader<'_, '_>) -> Result<(), Reject> {
        h.lowercase_service_method();
        Ok(())
    }
}

struct DenyAdmin;
impl Plugin for DenyAdmin {
    fn name(&self) -> &'static str {
        "deny-admin"
    }
    fn post_read_call_header(&self, _: &mut ReadHeader<'_, '_>) -> Result<(), Reject> {
        Err(StatusRef::UNAUTHORIZED.with_cause("admin only"))
    }
}

struct Stamp;
impl Plugin for Stamp {
    fn name(&self) -> &'static str {
        "stamp"
    }
    fn pre_write_reply(&self, h: &mut WriteHeader<'_, '_>) -> Result<(), Reject> {
        h.extra_meta.add("served-by", "rust core")
    }
    fn pre_write_push(&self, _: &mut WriteHeader<'_, '_>) -> Result<(), Reject> {
        Err(StatusRef::new(1, "no pushes"))
    }
}

#[test]
fn plugins_rewrite_reject_and_add_meta() {
    let mut r = Router::new(Mapper::Http);
    r.plugin(Lowercase).plugin(Stamp);
    r.controller(CALL, None, "Math", [("Add", "add")]).unwrap();
    let admin = r.group(None, "Admin");
    r.group_plugin(admin, DenyAdmin);
    r.route_in(CALL, admin, "Reset", "reset").unwrap();
    let mut p = Pair::new(Config::new(), Router::default(), Config::new(), r);
    let add = p.client.call("/MATH/Add", json(b""), p.now).unwrap();
    let reset = p.client.call("/admin/reset", json(b""), p.now).unwrap();
    p.pump();
    let server = p.take_server();
    let Ev::Call {
        seq,
        handler,
        method,
        ..
    } = &server[0]
    else {
        panic!("{server:?}")
    };
    assert_eq!((*handler, method.as_str()), ("add", "/math/add"));
    assert_eq!(server[1], Ev::Warning(Warning::CallRefused(reset, 401)));
    reply_ok(&mut p.server, *seq, b"1", p.now).unwrap();
    assert_eq!(
        p.server.push("/x", json(b""), p.now),
        Err(SendError::Rejected(StatusRef::new(1, "no pushes")))
    );
    // Capture the reply bytes to see the plugin's meta.
    let bytes = p.server.poll_transmit().to_vec();
    assert!(
        bytes.windows(21).any(|w| w == b"served-by=rust%20core"),
        "{bytes:?}"
    );
    p.pump();
    let client = p.take_client();
    assert!(client.contains(&Ev::Replied {
        seq: reset,
        code: 401,
        body: vec![]
    }));
    assert!(client.contains(&Ev::Replied {
        seq: add,
        code: 0,
        body: b"1".to_vec()
    }));
}

struct RefuseAll;
impl Plugin for RefuseAll {
    fn name(&self) -> &'static str {
        "refuse"
    }
    fn on_accept(&self) -> Result<(), Reject> {
        Err(StatusRef::new(1, "full"))
    }
}

#[test]
fn on_accept_rejection_closes() {
    let mut r: Router<&'static str> = Router::default();
    r.plugin(RefuseAll);
    let mut conn: Connection<Growable, _> =
        Connection::new(Config::new(), Role::Server, r, Instant::ZERO);
    assert_eq!(
        drain_events(&mut conn),
        vec![Ev::Closed(CloseReason::Rejected(StatusRef::new(1, "full")))]
    );
}

#[test]
fn accept_codec_meta_chooses_the_reply_codec() {
    let mut p = Pair::with_routes(&[], &[(CALL, "/a", "a")]);
    let meta = [("X-Accept-Body-Codec", "115")];
    p.client
        .call("/a", json(b"").with_meta(&meta[..]), p.now)
        .unwrap();
    p.client.call("/a", json(b""), p.now).unwrap();
    p.pump();
    let supported = |c: u8| c == b's' || c == b'j';
    assert_eq!(p.server.reply_codec(Seq(1), supported), Some(b's'));
    assert_eq!(p.server.reply_codec(Seq(2), supported), Some(b'j'));
    assert_eq!(p.server.reply_codec(Seq(1), |c| c == b'j'), Some(b'j'));
}

#[test]
fn send_queue_limit_pushes_back() {
    let config = Config {
        send_queue_limit: 1024,
        ..Config::new()
    };
    let mut conn: Connection<Growable, Router<&'static str>> =
        Connection::new(config, Role::Client, Router::default(), Instant::ZERO);
    let body = [b'x'; 300];
    let mut queued = 0;
    let err = loop {
        match conn.push("/p", json(&body), Instant::ZERO) {
            Ok(_) => queued += 1,
            Err(e) => break e,
        }
        assert!(queued < 10);
    };
    assert!(matches!(err, SendError::WouldBlock { .. }), "{err:?}");
    assert_eq!(queued, 3);
    assert!(conn.poll_transmit().len() <= 1024);
    assert!(matches!(
        conn.push("/p", json(&[0; 2000]), Instant::ZERO),
        Err(SendError::TooLarge { .. })
    ));
    let n = conn.poll_transmit().len();
    conn.advance_transmit(n);
    conn.push("/p", json(&body), Instant::ZERO).unwrap();
}

#[test]
fn read_timeout_closes_a_silent_or_trickling_peer() {
    let config = Config {
        read_timeout: Some(Duration::from_secs(5)),
        ..Config::new()
    };
    let mut pair = Pair::new(
        Config::new(),
        router(&[]),
        config,
        router(&[(CALL, "/a", "a")]),
    );
    // Complete frames keep it open.
    pair.advance(Duration::from_secs(4), Duration::from_secs(1));
    pair.client.push("/a", json(b"1"), pair.now).unwrap();
    pair.pump();
    pair.advance(Duration::from_secs(4), Duration::from_secs(1));
    assert_eq!(pair.server.state(), State::Open);
    // A frame trickled one byte per second never completes in time.
    let bytes = frame(9, Mtype::Call, "/a", StatusRef::OK, b"[1,2,3,4,5,6,7,8,9]");
    let mut fed = 0;
    for b in &bytes {
        pair.now = pair.now + Duration::from_secs(1);
        if pair.server.handle_input(&[*b], pair.now) == 0 {
            break;
        }
        fed += 1;
        pair.server.handle_timeout(pair.now);
        let events = drain_events(&mut pair.server);
        assert!(
            !events.iter().any(|e| matches!(e, Ev::Call { .. })),
            "{events:?}"
        );
    }
    assert!(fed < bytes.len(), "the whole frame got through");
    assert_eq!(pair.server.state(), State::Closed);
    assert_eq!(pair.server.close_reason(), Some(CloseReason::ReadTimeout));
}

#[test]
fn write_timeout_closes_a_peer_that_stops_reading() {
    let config = Config {
        write_timeout: Some(Duration::from_secs(3)),
        ..Config::new()
    };
    let mut conn: Connection<Growable, Router<&'static str>> =
        Connection::new(config, Role::Server, Router::default(), Instant::ZERO);
    // Idle with an empty queue: no deadline from the write timeout.
    assert_eq!(conn.poll_timeout(), None);
    let t = |s: u64| Instant::from_millis(s * 1000);
    conn.push("/p", json(b"1"), t(10)).unwrap();
    assert_eq!(conn.poll_timeout(), Some(t(13)));
    // Partial progress restarts the clock.
    conn.advance_transmit(3);
    conn.handle_timeout(t(13));
    assert_eq!(conn.state(), State::Open);
    conn.handle_timeout(t(15));
    assert_eq!(conn.state(), State::Open);
    conn.handle_timeout(t(16));
    assert_eq!(conn.state(), State::Closed);
    assert_eq!(conn.close_reason(), Some(CloseReason::WriteStalled));
}

/// Both peers push and call as fast as their send queues allow while the
/// pipe between them holds little: neither may stop reading because its own
/// queue is full, or the two wedge each other.
#[test]
fn two_way_pressure_with_small_queues_keeps_flowing() {
    // The frame limit also bounds the receive buffer: unread input backs up.
    let config = Config {
        send_queue_limit: 2048,
        frame_limit: 1024,
        ..Config::new()
    };
    let routes = [(PUSH, "/p", "p"), (CALL, "/c", "c")];
    let mut pair = Pair::new(config, router(&routes), config, router(&routes));
    let body = [b'7'; 200];
    let mut pending: [Vec<Seq>; 2] = [Vec::new(), Vec::new()];
    let mut delivered = [0usize; 2];
    let mut replies = [0usize; 2];
    for _ in 0..4000 {
        let now = pair.now;
        // The transport moves at most 512 bytes each way per round, and the
        // applications refill the room before the connections read again.
        transfer(&mut pair.client, &mut pair.server, 512, now);
        transfer(&mut pair.server, &mut pair.client, 512, now);
        for (conn, owed) in [&mut pair.client, &mut pair.server]
            .into_iter()
            .zip(&mut pending)
        {
            // Replies owed first, then as much new traffic as fits.
            owed.retain(|&seq| reply_ok(conn, seq, b"1", now).is_err());
            while conn.push("/p", json(&body), now).is_ok() {}
            let _ = conn.call("/c", json(b"2"), now);
        }
        for side in 0..2 {
            let conn = if side == 0 {
                &mut pair.client
            } else {
                &mut pair.server
            };
            for ev in drain_events(conn) {
                match ev {
                    Ev::Push { .. } => delivered[side] += 1,
                    Ev::Call { seq, .. } => pending[side].push(seq),
                    Ev::Replied { code: 0, .. } => replies[side] += 1,
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
        if delivered.iter().chain(&replies).all(|&n| n >= 200) {
            return;
        }
    }
    panic!("traffic wedged: pushes delivered {delivered:?}, replies {replies:?}");
}
