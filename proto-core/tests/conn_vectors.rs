//! A conversation scripted from the Go captures in spec/vectors.json: feed
//! the Go peer's frames to our connection, check the events, and check that
//! what we answer is byte for byte what the Go peer answered.

mod common;

use common::pair::{Ev, drain_events, router};
use teleport_core::conn::{Auth, Config, Connection, Growable, Outgoing, Ping};
use teleport_core::router::{Role, RouteKind, Router};
use teleport_core::{Instant, StatusRef};

fn vector(name: &str) -> Vec<u8> {
    common::vectors()
        .into_iter()
        .find(|v| v.name == name)
        .unwrap_or_else(|| panic!("vector {name} missing from the spec"))
        .bytes()
}

type Conn = Connection<Growable, Router<&'static str>>;

fn take_output(conn: &mut Conn) -> Vec<u8> {
    let out = conn.poll_transmit().to_vec();
    conn.advance_transmit(out.len());
    out
}

fn server() -> Conn {
    let routes = [
        (RouteKind::Call, "/math/add", "add"),
        (RouteKind::Call, "/home/test", "home"),
        (RouteKind::Call, "/err/fail", "fail"),
    ];
    Connection::new(Config::new(), Role::Server, router(&routes), Instant::ZERO)
}

#[test]
fn go_client_calls_rust_server() {
    let mut s = server();
    let now = Instant::ZERO;

    s.handle_input(&vector("call_math_add_json"), now);
    let events = drain_events(&mut s);
    let [
        Ev::Call {
            seq,
            handler: "add",
            body,
            codec: b'j',
            ..
        },
    ] = events.as_slice()
    else {
        panic!("{events:?}")
    };
    assert_eq!(body, b"[1,2,3,4,5]");
    s.reply(*seq, StatusRef::OK, Outgoing::new(b'j', b"15"), now)
        .unwrap();
    assert_eq!(take_output(&mut s), vector("reply_math_add_json"));

    s.handle_input(&vector("live_call_err_fail"), now);
    let events = drain_events(&mut s);
    let [
        Ev::Call {
            seq,
            handler: "fail",
            ..
        },
    ] = events.as_slice()
    else {
        panic!("{events:?}")
    };
    let status = StatusRef::new(1234, "bad thing").with_cause("cause text");
    // An error reply drops the body and uses codec 0, as Go does.
    s.reply(*seq, status, Outgoing::new(b'j', b"ignored"), now)
        .unwrap();
    assert_eq!(take_output(&mut s), vector("live_reply_err_fail"));

    s.handle_input(&vector("live_call_unknown_route_plain"), now);
    assert_eq!(drain_events(&mut s).len(), 1, "a warning for the log");
    assert_eq!(take_output(&mut s), vector("live_reply_not_found_404"));

    // Heartbeat CALL ping: answered by the connection itself.
    s.handle_input(&vector("live_heartbeat_call_ping"), now);
    assert!(drain_events(&mut s).is_empty());
    assert_eq!(take_output(&mut s), vector("live_heartbeat_pong_reply"));
    // Heartbeat PUSH ping: no answer, no event.
    s.handle_input(&vector("live_heartbeat_push_ping"), now);
    assert!(drain_events(&mut s).is_empty());
    assert!(take_output(&mut s).is_empty());
    assert_eq!(s.stats().heartbeats_in, 2);
}

#[test]
fn gzip_call_gets_a_gzip_reply() {
    let filters = std::sync::Arc::new(teleport_core::xfer::XferFilters::with_defaults());
    let mut s = server().with_xfer_filters(filters.clone());
    let now = Instant::ZERO;
    s.handle_input(&vector("live_call_home_test_gzip"), now);
    let events = drain_events(&mut s);
    let [
        Ev::Call {
            seq,
            handler: "home",
            meta,
            ..
        },
    ] = events.as_slice()
    else {
        panic!("{events:?}")
    };
    assert_eq!(meta[0], ("peer_id".to_string(), "110".to_string()));
    // The handler pushes to the caller before replying (Go's live capture).
    s.push(
        "/push/test",
        Outgoing::new(b'j', br#"{"your_id":"110"}"#),
        now,
    )
    .unwrap();
    assert_eq!(take_output(&mut s), vector("live_push_test_from_server"));
    s.reply(*seq, StatusRef::OK, Outgoing::new(b'j', b"{}"), now)
        .unwrap();
    let reply = take_output(&mut s);
    assert_eq!(
        &reply[4..6],
        b"\x01g",
        "the reply goes through the request's gzip filter"
    );
    let teleport_core::frame::Decoded::Frame(raw) =
        teleport_core::frame::decode_frame(&reply, u32::MAX).unwrap()
    else {
        panic!()
    };
    let mut scratch = Vec::new();
    let m = filters.decode(&raw, &mut scratch, 1 << 20).unwrap();
    assert_eq!((m.seq, m.body), (*seq, &b"{}"[..]));
}

#[test]
fn rust_client_calls_go_server() {
    let mut c: Conn = Connection::new(
        Config::new(),
        Role::Client,
        Router::default(),
        Instant::ZERO,
    );
    let now = Instant::ZERO;
    let seq = c
        .call("/math/add", Outgoing::new(b'j', b"[1,2,3,4,5]"), now)
        .unwrap();
    assert_eq!(take_output(&mut c), vector("call_math_add_json"));
    c.handle_input(&vector("reply_math_add_json"), now);
    assert_eq!(
        drain_events(&mut c),
        vec![Ev::Replied {
            seq,
            code: 0,
            body: b"15".to_vec()
        }]
    );
}

#[test]
fn auth_exchange_matches_go() {
    let now = Instant::ZERO;
    // We are the bearer (dialer), the Go peer checks.
    let bearer = Config {
        auth: Auth::Bearer,
        ..Config::new()
    };
    let mut c: Conn = Connection::new(bearer, Role::Client, Router::default(), now);
    c.auth_call(Outgoing::new(b's', b"s3cret"), now).unwrap();
    assert_eq!(take_output(&mut c), vector("live_auth_call"));
    c.handle_input(&vector("live_auth_reply_ok"), now);
    assert_eq!(
        drain_events(&mut c),
        vec![Ev::AuthResult {
            code: 0,
            body: Some(b"pass".to_vec())
        }]
    );
    c.call("/math/add", Outgoing::new(b'j', b"[1,2,3,4,5]"), now)
        .unwrap();
    assert_eq!(take_output(&mut c), vector("live_first_call_after_auth"));

    // We are the checker (acceptor), the Go peer dials.
    let checker = Config {
        auth: Auth::Checker,
        ..Config::new()
    };
    let mut s: Conn = Connection::new(checker, Role::Server, Router::default(), now);
    s.handle_input(&vector("auth_call_plain_token"), now);
    assert_eq!(
        drain_events(&mut s),
        vec![Ev::AuthCall {
            seq: teleport_core::Seq(1),
            body: b"s3cret".to_vec()
        }]
    );
    s.auth_reply(StatusRef::OK, Outgoing::new(b's', b"pass"), now)
        .unwrap();
    assert_eq!(take_output(&mut s), vector("auth_reply_ok"));

    let mut s: Conn = Connection::new(checker, Role::Server, Router::default(), now);
    s.handle_input(&vector("auth_call_plain_token"), now);
    drain_events(&mut s);
    let denied = StatusRef::UNAUTHORIZED.with_cause("auth fail");
    s.auth_reply(denied, Outgoing::new(b's', b""), now).unwrap();
    assert_eq!(take_output(&mut s), vector("auth_reply_denied"));
}

#[test]
fn our_heartbeat_ping_matches_go() {
    for (use_call, name) in [
        (false, "live_heartbeat_push_ping"),
        (true, "live_heartbeat_call_ping"),
    ] {
        let config = Config {
            ping: Some(Ping {
                rate_secs: 3,
                use_call,
            }),
            ..Config::new()
        };
        let mut c: Conn = Connection::new(config, Role::Client, Router::default(), Instant::ZERO);
        c.handle_timeout(Instant::from_millis(2_999));
        assert!(take_output(&mut c).is_empty(), "nothing before the rate");
        c.handle_timeout(Instant::from_millis(3_000));
        assert_eq!(take_output(&mut c), vector(name));
        if use_call {
            c.handle_input(
                &vector("live_heartbeat_pong_reply"),
                Instant::from_millis(3_001),
            );
            assert!(drain_events(&mut c).is_empty(), "the pong is internal");
            assert!(c.outbound_calls().is_empty());
        }
    }
}
