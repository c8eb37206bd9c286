//! Deterministic simulation: two connections over an in-memory pipe with a
//! simulated clock, driven by a seeded random mix of calls, pushes, replies,
//! partial transfers, clock jumps, closes and end-of-stream. Invariants are
//! checked after every step; a failure prints the seed to replay it with
//! `SIM_SEED=<seed> cargo test -p teleport-core --test conn_sim`.
//! `SIM_SEEDS=<n>` runs more seeds (default 300).

mod common;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use common::pair::{Conn, Ev, own, router};
use teleport_core::conn::{
    CloseReason, Config, Connection, Keyed, Outgoing, SendError, State, Warning,
};
use teleport_core::router::{Role, RouteKind};
use teleport_core::{Instant, Seq, StatusRef};

/// xorshift64*: tiny, deterministic, good enough for test schedules.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// What the application on one side knows.
#[derive(Default)]
struct App {
    /// Our calls without an outcome yet: seq → body we expect echoed.
    pending: HashMap<Seq, Vec<u8>>,
    /// Every seq that got an outcome (a second outcome is a bug).
    settled: HashSet<Seq>,
    timed_out: HashSet<Seq>,
    /// The peer's calls we have not answered.
    unanswered: Vec<(Seq, Vec<u8>)>,
    closed_events: u32,
    closed: bool,
    eof_sent: bool,
}

struct Limits {
    max_in: usize,
    max_out: usize,
}

fn config(rng: &mut Rng) -> Config {
    Config {
        max_inbound_calls: 1 + rng.below(8) as usize,
        max_outbound_calls: 1 + rng.below(8) as usize,
        send_queue_limit: 512 + rng.below(4096) as usize,
        context_age: rng
            .chance(50)
            .then(|| Duration::from_millis(50 + rng.below(500))),
        session_age: rng
            .chance(10)
            .then(|| Duration::from_secs(5 + rng.below(20))),
        ..Config::new()
    }
}

fn handle(app: &mut App, conn: &mut Conn, side: &str) {
    while let Some(ev) = conn.poll_event() {
        match own(ev) {
            Ev::Call { seq, body, .. } => {
                assert!(
                    app.unanswered.iter().all(|(s, _)| *s != seq),
                    "{side}: call {seq} surfaced twice while unanswered"
                );
                app.unanswered.push((seq, body));
            }
            Ev::Push { .. } | Ev::AuthCall { .. } | Ev::AuthResult { .. } => {}
            Ev::Replied { seq, code, body } => {
                let expected = app
                    .pending
                    .remove(&seq)
                    .unwrap_or_else(|| panic!("{side}: reply for {seq} not pending"));
                assert!(app.settled.insert(seq), "{side}: second outcome for {seq}");
                match code {
                    0 => assert_eq!(
                        body, expected,
                        "{side}: reply {seq} carries another call's body"
                    ),
                    503 | 102 => assert!(body.is_empty()),
                    other => panic!("{side}: unexpected status {other} for {seq}"),
                }
            }
            Ev::Ended { seq, code } => {
                assert!(
                    app.pending.remove(&seq).is_some(),
                    "{side}: outcome for {seq} not pending"
                );
                assert!(app.settled.insert(seq), "{side}: second outcome for {seq}");
                match code {
                    408 => {
                        app.timed_out.insert(seq);
                    }
                    102 => {}
                    other => panic!("{side}: unexpected local status {other}"),
                }
            }
            Ev::Warning(Warning::LateReply(seq)) => {
                assert!(
                    app.timed_out.contains(&seq),
                    "{side}: late reply {seq} never timed out"
                );
            }
            Ev::Warning(Warning::UnknownReply(seq)) => {
                // Only the last few timed-out seqs are remembered as such;
                // older late replies count as unknown. Never a seq not called.
                assert!(
                    app.timed_out.contains(&seq),
                    "{side}: reply to a seq never called: {seq}"
                );
            }
            Ev::Warning(_) => {}
            Ev::Closed(reason) => {
                app.closed_events += 1;
                app.closed = true;
                app.unanswered.clear();
                assert!(
                    !matches!(reason, CloseReason::Protocol(_)),
                    "{side}: protocol error between two correct peers: {reason}"
                );
            }
        }
    }
}

fn check(app: &App, conn: &Conn, limits: &Limits, side: &str) {
    let out: Vec<Seq> = conn.outbound_calls().iter().map(|c| c.seq()).collect();
    let unique: HashSet<_> = out.iter().collect();
    assert_eq!(
        unique.len(),
        out.len(),
        "{side}: duplicate seqs among pending calls"
    );
    assert!(
        out.len() <= limits.max_out,
        "{side}: outbound table over its limit"
    );
    assert!(
        conn.inbound_calls().len() <= limits.max_in,
        "{side}: inbound table over its limit"
    );
    let pending: HashSet<_> = app.pending.keys().collect();
    assert_eq!(
        pending, unique,
        "{side}: the app's pending calls differ from the connection's"
    );
    let answered: HashSet<_> = conn.inbound_calls().iter().map(|c| c.seq()).collect();
    let waiting: HashSet<_> = app.unanswered.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        answered.iter().collect::<HashSet<_>>(),
        waiting.iter().collect(),
        "{side}: inbound mismatch"
    );
    assert!(app.closed_events <= 1, "{side}: closed reported twice");
    assert!(
        conn.poll_transmit().len() <= conn.send_capacity(),
        "{side}: send queue over its limit"
    );
}

fn run(seed: u64) {
    let mut rng = Rng::new(seed);
    let routes = [
        (RouteKind::Call, "/echo", "echo"),
        (RouteKind::Push, "/note", "note"),
    ];
    let (ca, cb) = (config(&mut rng), config(&mut rng));
    let limits = [
        Limits {
            max_in: ca.max_inbound_calls,
            max_out: ca.max_outbound_calls,
        },
        Limits {
            max_in: cb.max_inbound_calls,
            max_out: cb.max_outbound_calls,
        },
    ];
    let mut now = Instant::from_millis(rng.below(1 << 40));
    let mut conns: [Conn; 2] = [
        Connection::new(ca, Role::Client, router(&routes), now),
        Connection::new(cb, Role::Server, router(&routes), now),
    ];
    let mut apps = [App::default(), App::default()];
    let names = ["client", "server"];

    for _ in 0..400 {
        let i = rng.below(2) as usize;
        let j = 1 - i;
        match rng.below(20) {
            0..=4 => {
                let body: Vec<u8> = (0..rng.below(200)).map(|_| rng.below(256) as u8).collect();
                let mut msg = Outgoing::new(b's', &body);
                if rng.chance(30) {
                    msg = msg.with_timeout(Duration::from_millis(rng.below(400)));
                }
                match conns[i].call("/echo", msg, now) {
                    Ok(seq) => {
                        assert!(
                            apps[i].pending.insert(seq, body.clone()).is_none(),
                            "seq {seq} reused while pending"
                        );
                    }
                    Err(
                        SendError::WouldBlock { .. }
                        | SendError::TooManyCalls
                        | SendError::Closed
                        | SendError::Draining,
                    ) => {}
                    Err(e) => panic!("{}: call failed: {e}", names[i]),
                }
            }
            5 | 6 => {
                let path = if rng.chance(80) { "/note" } else { "/nowhere" };
                match conns[i].push(path, Outgoing::new(b'j', b"1"), now) {
                    Ok(_)
                    | Err(SendError::WouldBlock { .. } | SendError::Closed | SendError::Draining) =>
                        {}
                    Err(e) => panic!("{}: push failed: {e}", names[i]),
                }
            }
            7..=10 => {
                if !apps[i].unanswered.is_empty() {
                    let k = rng.below(apps[i].unanswered.len() as u64) as usize;
                    let (seq, body) = apps[i].unanswered[k].clone();
                    match conns[i].reply(seq, StatusRef::OK, Outgoing::new(b's', &body), now) {
                        Ok(()) => {
                            apps[i].unanswered.swap_remove(k);
                            assert_eq!(
                                conns[i].reply(seq, StatusRef::OK, Outgoing::new(b's', b""), now),
                                Err(SendError::UnknownSeq(seq)),
                                "a second reply must be refused"
                            );
                        }
                        Err(SendError::WouldBlock { .. }) => {}
                        Err(e) => panic!("{}: reply failed: {e}", names[i]),
                    }
                }
            }
            11..=15 => {
                let max = 1 + rng.below(600) as usize;
                let (a, b) = if i == 0 {
                    let (a, b) = conns.split_at_mut(1);
                    (&mut a[0], &mut b[0])
                } else {
                    let (a, b) = conns.split_at_mut(1);
                    (&mut b[0], &mut a[0])
                };
                let data = a.poll_transmit();
                let n = data.len().min(max);
                let taken = b.handle_input(&data[..n], now);
                a.advance_transmit(taken);
            }
            16 | 17 => {
                now = now + Duration::from_millis(rng.below(300));
                for c in &mut conns {
                    c.handle_timeout(now);
                }
            }
            18 => {
                if rng.chance(10) {
                    let drain = rng
                        .chance(70)
                        .then(|| Duration::from_millis(rng.below(1000)));
                    conns[i].close(drain, now);
                }
            }
            _ => {
                if let Some(t) = conns[i].poll_timeout() {
                    assert!(t >= now || conns[i].state() != State::Closed);
                    if rng.chance(50) && t != Instant::NEVER {
                        now = now.max(t);
                        conns[i].handle_timeout(now);
                    }
                }
            }
        }
        // A closed side whose bytes are all out closes its transport: the
        // other side sees end-of-stream.
        for k in 0..2 {
            if conns[k].is_finished() && !apps[k].eof_sent {
                apps[k].eof_sent = true;
                conns[1 - k].handle_eof(now);
            }
        }
        for k in 0..2 {
            handle(&mut apps[k], &mut conns[k], names[k]);
            check(&apps[k], &conns[k], &limits[k], names[k]);
        }
        let _ = j;
    }

    // Wind down: close both at once; every call must have its outcome.
    for k in 0..2 {
        conns[k].close(None, now);
        handle(&mut apps[k], &mut conns[k], names[k]);
        check(&apps[k], &conns[k], &limits[k], names[k]);
        assert!(
            apps[k].pending.is_empty(),
            "{}: calls without an outcome",
            names[k]
        );
        assert_eq!(
            apps[k].closed_events, 1,
            "{}: closed must be reported once",
            names[k]
        );
        assert!(conns[k].poll_event().is_none());
    }
}

#[test]
fn simulated_conversations_keep_every_invariant() {
    let seeds: Vec<u64> = match std::env::var("SIM_SEED") {
        Ok(s) => vec![s.parse().expect("SIM_SEED is a number")],
        Err(_) => {
            let n = std::env::var("SIM_SEEDS")
                .map_or(300, |s| s.parse().expect("SIM_SEEDS is a number"));
            (0..n).collect()
        }
    };
    for seed in seeds {
        if let Err(panic) = std::panic::catch_unwind(|| run(seed)) {
            eprintln!("simulation failed with seed {seed}: rerun with SIM_SEED={seed}");
            std::panic::resume_unwind(panic);
        }
    }
}
