//! Shared pieces of the benchmarks: the benchmark message of the Teleport
//! benchmark (`shared/bench/benchmark.proto`, proto2) and its frames.

pub mod e2e;

use bytes::BytesMut;
use teleport_core::frame::DEFAULT_FRAME_LIMIT;
use teleport_core::{Message, Mtype, Seq, codec, xfer::XferFilters};

/// `BenchmarkMessage` of benchmark.proto, written out for prost (no protoc needed).
#[allow(missing_docs)]
#[derive(Clone, PartialEq, prost::Message)]
pub struct BenchmarkMessage {
    #[prost(string, required, tag = "1")]
    pub field1: String,
    #[prost(string, optional, tag = "9")]
    pub field9: Option<String>,
    #[prost(string, optional, tag = "18")]
    pub field18: Option<String>,
    #[prost(bool, optional, tag = "80", default = "false")]
    pub field80: Option<bool>,
    #[prost(bool, optional, tag = "81", default = "true")]
    pub field81: Option<bool>,
    #[prost(int32, required, tag = "2")]
    pub field2: i32,
    #[prost(int32, required, tag = "3")]
    pub field3: i32,
    #[prost(int32, optional, tag = "280")]
    pub field280: Option<i32>,
    #[prost(int32, optional, tag = "6", default = "0")]
    pub field6: Option<i32>,
    #[prost(int64, optional, tag = "22")]
    pub field22: Option<i64>,
    #[prost(string, optional, tag = "4")]
    pub field4: Option<String>,
    #[prost(fixed64, repeated, packed = "false", tag = "5")]
    pub field5: Vec<u64>,
    #[prost(bool, optional, tag = "59", default = "false")]
    pub field59: Option<bool>,
    #[prost(string, optional, tag = "7")]
    pub field7: Option<String>,
    #[prost(int32, optional, tag = "16")]
    pub field16: Option<i32>,
    #[prost(int32, optional, tag = "130", default = "0")]
    pub field130: Option<i32>,
    #[prost(bool, optional, tag = "12", default = "true")]
    pub field12: Option<bool>,
    #[prost(bool, optional, tag = "17", default = "true")]
    pub field17: Option<bool>,
    #[prost(bool, optional, tag = "13", default = "true")]
    pub field13: Option<bool>,
    #[prost(bool, optional, tag = "14", default = "true")]
    pub field14: Option<bool>,
    #[prost(int32, optional, tag = "104", default = "0")]
    pub field104: Option<i32>,
    #[prost(int32, optional, tag = "100", default = "0")]
    pub field100: Option<i32>,
    #[prost(int32, optional, tag = "101", default = "0")]
    pub field101: Option<i32>,
    #[prost(string, optional, tag = "102")]
    pub field102: Option<String>,
    #[prost(string, optional, tag = "103")]
    pub field103: Option<String>,
    #[prost(int32, optional, tag = "29", default = "0")]
    pub field29: Option<i32>,
    #[prost(bool, optional, tag = "30", default = "false")]
    pub field30: Option<bool>,
    #[prost(int32, optional, tag = "60", default = "-1")]
    pub field60: Option<i32>,
    #[prost(int32, optional, tag = "271", default = "-1")]
    pub field271: Option<i32>,
    #[prost(int32, optional, tag = "272", default = "-1")]
    pub field272: Option<i32>,
    #[prost(int32, optional, tag = "150")]
    pub field150: Option<i32>,
    #[prost(int32, optional, tag = "23", default = "0")]
    pub field23: Option<i32>,
    #[prost(bool, optional, tag = "24", default = "false")]
    pub field24: Option<bool>,
    #[prost(int32, optional, tag = "25", default = "0")]
    pub field25: Option<i32>,
    #[prost(bool, optional, tag = "78")]
    pub field78: Option<bool>,
    #[prost(int32, optional, tag = "67", default = "0")]
    pub field67: Option<i32>,
    #[prost(int32, optional, tag = "68")]
    pub field68: Option<i32>,
    #[prost(int32, optional, tag = "128", default = "0")]
    pub field128: Option<i32>,
    #[prost(string, optional, tag = "129", default = "xxxxxxxxxxxxxxxxxxxxx")]
    pub field129: Option<String>,
    #[prost(int32, optional, tag = "131", default = "0")]
    pub field131: Option<i32>,
}

/// The phrase every string field carries.
pub const PHRASE: &str = "许多往事在眼前一幕一幕，变的那麼模糊";

impl BenchmarkMessage {
    /// The message the benchmark client sends: every int field 100000, every
    /// bool true, every string the phrase, repeated fields empty (581 bytes).
    pub fn prepared() -> Self {
        let s = || Some(PHRASE.to_owned());
        let i = Some(100_000);
        let t = Some(true);
        Self {
            field1: PHRASE.to_owned(),
            field9: s(),
            field18: s(),
            field80: t,
            field81: t,
            field2: 100_000,
            field3: 100_000,
            field280: i,
            field6: i,
            field22: Some(100_000),
            field4: s(),
            field5: Vec::new(),
            field59: t,
            field7: s(),
            field16: i,
            field130: i,
            field12: t,
            field17: t,
            field13: t,
            field14: t,
            field104: i,
            field100: i,
            field101: i,
            field102: s(),
            field103: s(),
            field29: i,
            field30: t,
            field60: i,
            field271: i,
            field272: i,
            field150: i,
            field23: i,
            field24: t,
            field25: i,
            field78: t,
            field67: i,
            field68: i,
            field128: i,
            field129: s(),
            field131: i,
        }
    }
}

/// The benchmark CALL frame: seq 1, `Hello.Say`, protobuf body.
pub fn bench_call_frame() -> Vec<u8> {
    let mut body = Vec::new();
    codec::protobuf::encode(&BenchmarkMessage::prepared(), &mut body).expect("encodes");
    let mut msg = Message::new(Seq(1), Mtype::Call, "Hello.Say");
    msg.body_codec = codec::id::PROTOBUF;
    msg.body = body.into();
    let mut out = BytesMut::new();
    msg.encode_to(&XferFilters::new(), &mut out, DEFAULT_FRAME_LIMIT)
        .expect("encodes");
    out.to_vec()
}

/// One call/reply cycle between two connected [`Connection`]s, no IO:
/// the client calls `Hello.Say` with `body`, the server gets the event and
/// echoes the body back, the client gets the outcome.
///
/// [`Connection`]: teleport_core::conn::Connection
pub mod cycle {
    use teleport_core::conn::{Config, Connection, Event, Outgoing, Storage};
    use teleport_core::router::{NoRoutes, Role, RouteKind, Routes, StaticRoute, StaticRouter};
    use teleport_core::{Instant, StatusRef};

    /// Routes of the benchmark server.
    pub static ROUTES: [StaticRoute<'static, u8>; 1] = [StaticRoute {
        kind: RouteKind::Call,
        ..StaticRoute::call("Hello.Say", 1)
    }];

    /// The benchmark server's router.
    pub static ROUTER: StaticRouter<'static, u8> = StaticRouter {
        routes: &ROUTES,
        plugins: &[],
        unknown_call: None,
        unknown_push: None,
        ignore_case: false,
    };

    /// A connected client/server pair.
    pub struct Pair<S: Storage, R: Routes> {
        /// The caller.
        pub client: Connection<S, NoRoutes>,
        /// The callee.
        pub server: Connection<S, R>,
    }

    impl<S: Storage, R: Routes<Handler = u8>> Pair<S, R> {
        /// Two fresh connections.
        pub fn new(router: R) -> Self {
            let now = Instant::ZERO;
            Self {
                client: Connection::new(Config::new(), Role::Client, NoRoutes, now),
                server: Connection::new(Config::new(), Role::Server, router, now),
            }
        }

        /// One full cycle; returns the reply body length.
        pub fn cycle(&mut self, body: &[u8]) -> usize {
            let now = Instant::ZERO;
            let seq = self
                .client
                .call("Hello.Say", Outgoing::new(b'p', body), now)
                .expect("call queued");
            let n = self.server.handle_input(self.client.poll_transmit(), now);
            self.client.advance_transmit(n);
            let call_seq = match self.server.poll_event() {
                Some(Event::Call(call)) => call.message.seq,
                _ => panic!("expected the call"),
            };
            self.server
                .reply(call_seq, StatusRef::OK, Outgoing::new(b'p', body), now)
                .expect("reply queued");
            let n = self.client.handle_input(self.server.poll_transmit(), now);
            self.server.advance_transmit(n);
            match self.client.poll_event() {
                Some(Event::Outcome { seq: done, outcome }) if done == seq => match outcome {
                    teleport_core::conn::Outcome::Replied(m) => m.body.len(),
                    _ => panic!("call failed"),
                },
                _ => panic!("expected the outcome"),
            }
        }
    }
}
