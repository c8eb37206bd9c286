//! Peer and Session over loopback TCP, a unix socket, a socket pair and TLS:
//! one source, run on tokio and on smol (`on_tokio::*`, `on_smol::*`), plus
//! cross-runtime sessions (`cross::*`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_channel as mpsc;
use serde_json::json;
use teleport_adapter_tests::{OnSmol, OnTokio, TestRt, nap, runtime_tests, spawn_join, within};
use teleport_async::{
    Addr, AuthBearer, AuthChecker, CloseReason, Ctx, Network, PeerConfig, Raw, Router, Status,
    StatusRef, WithMeta, call_controller, codec,
};

const LIMIT: Duration = Duration::from_secs(20);

/// The peer type of a test runtime.
type Peer<T> = teleport_async::Peer<<T as TestRt>::Rt>;

runtime_tests!(
    [on_tokio: OnTokio, on_smol: OnSmol],
    [
        calls_and_pushes_both_ways_over_tcp,
        calls_and_pushes_both_ways_over_unix_socket,
        thousands_of_concurrent_calls_on_one_session,
        per_call_timeout_and_context_age,
        graceful_shutdown_finishes_calls_in_flight,
        client_redials_after_server_restart,
        unknown_routes_and_accept_codec,
        a_panicking_handler_answers_500_and_the_session_lives_on,
        sessions_over_a_transport_you_bring,
        tls_round_trip,
        auth_bearer_and_checker,
        call_timeout_covers_waiting_for_a_slot,
    ]
);

/// Sessions whose two ends run on different runtimes.
mod cross {
    use super::*;

    #[test]
    fn smol_server_tokio_client() {
        // tokio's block_on gives the tokio client its context; the smol
        // server's tasks run on smol's own executor threads.
        OnTokio::block_on(exercise::<OnSmol, OnTokio>("127.0.0.1:0", Network::Tcp));
    }

    #[test]
    fn tokio_server_smol_client() {
        OnTokio::block_on(exercise::<OnTokio, OnSmol>("127.0.0.1:0", Network::Tcp));
    }
}

fn server_config() -> PeerConfig {
    PeerConfig {
        listen_address: "127.0.0.1:0".into(),
        ..PeerConfig::default()
    }
}

struct Math;

impl Math {
    async fn add(&self, ctx: Ctx, nums: Vec<i64>) -> Result<i64, Status> {
        if let Some(author) = ctx.query_value("author") {
            assert_eq!(author, "ann");
        }
        Ok(nums.iter().sum())
    }
}

/// Routes used by most tests. Pushes the server receives go to `pushes`.
fn server_router(pushes: mpsc::Sender<String>) -> Router {
    let mut r = Router::new();
    call_controller!(r, Math = Arc::new(Math), [add]).unwrap();
    r.call(
        "/home/test",
        |ctx: Ctx, arg: serde_json::Value| async move {
            // Push back to the caller before replying, as Teleport's example does.
            ctx.session()
                .push("/push/test", &json!({"your_id": ctx.meta_value("peer_id")}))
                .await?;
            Ok(WithMeta::new(json!({"arg": arg})).meta("served", "yes"))
        },
    )
    .unwrap();
    r.call("/err/fail", |_ctx: Ctx, _: Raw| async move {
        Err::<(), _>(Status::new(1234, "bad thing").with_cause("cause text"))
    })
    .unwrap();
    r.call("/slow/sleep", |_ctx: Ctx, ms: u64| async move {
        nap(Duration::from_millis(ms)).await;
        Ok(ms)
    })
    .unwrap();
    r.call("/call/back", |ctx: Ctx, n: i64| async move {
        // Call the caller during a call.
        let doubled: i64 = ctx.session().call("/client/double", &n).await?.decode()?;
        Ok(doubled + 1)
    })
    .unwrap();
    r.push("/echo/push", move |_ctx: Ctx, text: String| {
        let pushes = pushes.clone();
        async move {
            let _ = pushes.try_send(text);
        }
    })
    .unwrap();
    r
}

fn client_router(pushes: mpsc::Sender<serde_json::Value>) -> Router {
    let mut r = Router::new();
    r.push("/push/test", move |_ctx: Ctx, v: serde_json::Value| {
        let pushes = pushes.clone();
        async move {
            let _ = pushes.try_send(v);
        }
    })
    .unwrap();
    r.call(
        "/client/double",
        |_ctx: Ctx, n: i64| async move { Ok(n * 2) },
    )
    .unwrap();
    r
}

async fn exercise<S: TestRt, C: TestRt>(server_addr: &str, network: Network) {
    let (stx, srx) = mpsc::unbounded();
    let server = Peer::<S>::new(
        PeerConfig {
            network,
            listen_address: server_addr.into(),
            ..PeerConfig::default()
        },
        server_router(stx),
    );
    let bound = server.listen().await.unwrap();
    let dial_to = match &bound.addr {
        Addr::Tcp(a) => a.to_string(),
        Addr::Unix(p) => p.display().to_string(),
    };
    let (ctx, crx) = mpsc::unbounded();
    let client = Peer::<C>::new(
        PeerConfig {
            network,
            ..PeerConfig::default()
        },
        client_router(ctx),
    );
    let session = client.dial(&dial_to).await.unwrap();

    let sum: i64 = session
        .call("/math/add?author=ann", &[1, 2, 3, 4, 5])
        .await
        .unwrap()
        .decode()
        .unwrap();
    assert_eq!(sum, 15);

    let reply = session
        .call("/home/test", &json!({"author": "andeya"}))
        .meta("peer_id", "110")
        .xfer(b"g")
        .await
        .unwrap();
    assert_eq!(reply.meta.get("served"), Some("yes"));
    assert_eq!(
        reply.decode::<serde_json::Value>().unwrap(),
        json!({"arg": {"author": "andeya"}})
    );
    let pushed = within(LIMIT, "push", crx.recv()).await.unwrap();
    assert_eq!(pushed, json!({"your_id": "110"}));

    let err = session.call("/err/fail", &()).await.unwrap_err();
    assert_eq!(err, Status::new(1234, "bad thing").with_cause("cause text"));

    let err = session.call("/no/such", &1).await.unwrap_err();
    assert_eq!(err.code, StatusRef::NOT_FOUND.code);

    // The server calls back into the client during a call.
    let v: i64 = session
        .call("/call/back", &20)
        .await
        .unwrap()
        .decode()
        .unwrap();
    assert_eq!(v, 41);

    // Client → server push.
    session.push("/echo/push", "hello").await.unwrap();
    let got = within(LIMIT, "push", srx.recv()).await.unwrap();
    assert_eq!(got, "hello");

    // Server → client push through the registry (broadcast).
    assert_eq!(server.count_sessions(), 1);
    assert_eq!(server.broadcast("/push/test", &json!({"b": 1})).await, 1);
    let got = within(LIMIT, "push", crx.recv()).await.unwrap();
    assert_eq!(got, json!({"b": 1}));

    session.close();
    assert_eq!(
        within(LIMIT, "close", session.closed()).await,
        CloseReason::Drained
    );
    server.shutdown(Duration::from_secs(1)).await;
    assert_eq!(server.count_sessions(), 0);
}

async fn calls_and_pushes_both_ways_over_tcp<T: TestRt>() {
    exercise::<T, T>("127.0.0.1:0", Network::Tcp).await;
}

async fn calls_and_pushes_both_ways_over_unix_socket<T: TestRt>() {
    // Tests run in parallel in one process: one directory each.
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("teleport-test-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("peer.sock");
    exercise::<T, T>(path.to_str().unwrap(), Network::Unix).await;
    let _ = std::fs::remove_dir_all(dir);
}

async fn thousands_of_concurrent_calls_on_one_session<T: TestRt>() {
    let (stx, _srx) = mpsc::unbounded();
    let server = Peer::<T>::new(server_config(), server_router(stx));
    let bound = server.listen().await.unwrap();
    let client = Peer::<T>::new(PeerConfig::default(), Router::new());
    let session = client.dial(&bound.addr.to_string()).await.unwrap();
    const N: i64 = 5000;
    let mut tasks = Vec::new();
    for i in 0..N {
        let s = session.clone();
        // Half of them sleep so that thousands are in flight at once.
        tasks.push(spawn_join::<T::Rt, _>(async move {
            if i % 2 == 0 {
                s.call("/slow/sleep", &50u64).await.map(|_| 0)
            } else {
                s.call("/math/add", &[i, 1]).await?.decode::<i64>()
            }
        }));
    }
    let mut total = 0i64;
    let collect = async {
        for task in tasks {
            total += task.await.unwrap();
        }
    };
    within(LIMIT, "calls", collect).await;
    let expected: i64 = (0..N).filter(|i| i % 2 == 1).map(|i| i + 1).sum();
    assert_eq!(total, expected);
    let stats = session.stats().unwrap();
    assert!(stats.frames_out >= N as u64, "{stats:?}");
    server.shutdown(Duration::from_secs(1)).await;
}

async fn per_call_timeout_and_context_age<T: TestRt>() {
    let (stx, _srx) = mpsc::unbounded();
    let server = Peer::<T>::new(server_config(), server_router(stx));
    let bound = server.listen().await.unwrap();
    let client = Peer::<T>::new(
        PeerConfig {
            default_context_age: Some(Duration::from_millis(300)),
            ..PeerConfig::default()
        },
        Router::new(),
    );
    let session = client.dial(&bound.addr.to_string()).await.unwrap();
    let started = std::time::Instant::now();
    let err = session
        .call("/slow/sleep", &5_000u64)
        .timeout(Duration::from_millis(100))
        .await
        .unwrap_err();
    assert_eq!(err.code, StatusRef::HANDLE_TIMEOUT.code);
    assert!(started.elapsed() < Duration::from_secs(4));
    // The default context age applies when the call sets no timeout.
    let err = session.call("/slow/sleep", &5_000u64).await.unwrap_err();
    assert_eq!(err.code, StatusRef::HANDLE_TIMEOUT.code);
    // The session is still fine afterwards.
    let ms: u64 = session
        .call("/slow/sleep", &1u64)
        .await
        .unwrap()
        .decode()
        .unwrap();
    assert_eq!(ms, 1);
    server.shutdown(Duration::ZERO).await;
}

async fn graceful_shutdown_finishes_calls_in_flight<T: TestRt>() {
    let (stx, _srx) = mpsc::unbounded();
    let server = Peer::<T>::new(server_config(), server_router(stx));
    let bound = server.listen().await.unwrap();
    let client = Peer::<T>::new(PeerConfig::default(), Router::new());
    let session = client.dial(&bound.addr.to_string()).await.unwrap();
    let done = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let s = session.clone();
        let done = done.clone();
        tasks.push(spawn_join::<T::Rt, _>(async move {
            let ms: u64 = s.call("/slow/sleep", &300u64).await?.decode()?;
            done.fetch_add(1, Ordering::SeqCst);
            Ok::<_, Status>(ms)
        }));
    }
    // Let the calls reach the server, then shut it down.
    nap(Duration::from_millis(100)).await;
    within(LIMIT, "shutdown", server.shutdown(Duration::from_secs(5))).await;
    for task in tasks {
        assert_eq!(task.await.unwrap(), 300);
    }
    assert_eq!(done.load(Ordering::SeqCst), 50);
    assert_eq!(server.count_sessions(), 0);
    // New connections are refused after shutdown.
    let again = client
        .dial_with(
            &bound.addr.to_string(),
            teleport_async::DialOptions {
                timeout: Some(Duration::from_secs(2)),
                ..Default::default()
            },
        )
        .await;
    match again {
        Err(s) => assert_eq!(s.code, StatusRef::DIAL_FAILED.code),
        Ok(s) => {
            // The socket may still accept in the kernel backlog; it must not serve.
            assert!(s.call("/math/add", &[1]).await.is_err());
        }
    }
}

async fn client_redials_after_server_restart<T: TestRt>() {
    let (stx, _srx) = mpsc::unbounded();
    let server = Peer::<T>::new(server_config(), server_router(stx.clone()));
    let bound = server.listen().await.unwrap();
    let addr = bound.addr.to_string();
    let client = Peer::<T>::new(
        PeerConfig {
            redial_times: 100,
            redial_interval: Duration::from_millis(50),
            ..PeerConfig::default()
        },
        Router::new(),
    );
    let session = client.dial(&addr).await.unwrap();
    let v: i64 = session
        .call("/math/add", &[1, 2])
        .await
        .unwrap()
        .decode()
        .unwrap();
    assert_eq!(v, 3);

    server.shutdown(Duration::from_millis(200)).await;
    // While the server is gone, calls fail promptly with a connection status.
    let started = std::time::Instant::now();
    let err = within(LIMIT, "call while down", session.call("/math/add", &[1]))
        .await
        .unwrap_err();
    assert!(
        [StatusRef::CONN_CLOSED.code].contains(&err.code),
        "unexpected status {err}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));

    // Same port, new server.
    let server2 = Peer::<T>::new(
        PeerConfig {
            listen_address: addr.clone(),
            ..PeerConfig::default()
        },
        server_router(stx),
    );
    server2.listen().await.unwrap();
    let wait_up = async {
        while !session.health() {
            nap(Duration::from_millis(20)).await;
        }
    };
    within(LIMIT, "redial", wait_up).await;
    let v: i64 = session
        .call("/math/add", &[2, 3])
        .await
        .unwrap()
        .decode()
        .unwrap();
    assert_eq!(v, 5);
    assert_eq!(server2.count_sessions(), 1);
    session.close();
    server2.shutdown(Duration::from_secs(1)).await;
}

async fn unknown_routes_and_accept_codec<T: TestRt>() {
    let mut r = Router::new();
    r.call("/plain", |_ctx: Ctx, s: String| async move {
        Ok(format!("{s}!"))
    })
    .unwrap();
    let server = Peer::<T>::new(server_config(), r);
    let bound = server.listen().await.unwrap();
    let client = Peer::<T>::new(PeerConfig::default(), Router::new());
    let session = client.dial(&bound.addr.to_string()).await.unwrap();
    let err = session.call("/missing", &1).await.unwrap_err();
    assert_eq!(err, StatusRef::NOT_FOUND.to_owned());
    // JSON in, plain text out, because the caller asked for it.
    let reply = session
        .call("/plain", "hi")
        .accept_codec(codec::id::PLAIN)
        .await
        .unwrap();
    assert_eq!(reply.codec, codec::id::PLAIN);
    assert_eq!(&reply.body[..], b"hi!");
    // A body the handler cannot bind gets 400.
    let err = session
        .call("/plain", &Raw::new(codec::id::JSON, &b"{not json"[..]))
        .await
        .unwrap_err();
    assert_eq!(err.code, StatusRef::BAD_MESSAGE.code);
    server.shutdown(Duration::ZERO).await;
}

async fn a_panicking_handler_answers_500_and_the_session_lives_on<T: TestRt>() {
    let mut r = Router::new();
    r.call("/boom", |_ctx: Ctx, at_once: bool| async move {
        if !at_once {
            nap(Duration::from_millis(10)).await;
        }
        panic!("handler bug");
        #[allow(unreachable_code)]
        Ok(0)
    })
    .unwrap();
    r.call("/ok", |_ctx: Ctx, n: i64| async move { Ok(n) })
        .unwrap();
    let server = Peer::<T>::new(server_config(), r);
    let bound = server.listen().await.unwrap();
    let client = Peer::<T>::new(PeerConfig::default(), Router::new());
    let session = client.dial(&bound.addr.to_string()).await.unwrap();
    for at_once in [true, false] {
        let err = session.call("/boom", &at_once).await.unwrap_err();
        assert_eq!(err.code, StatusRef::INTERNAL_SERVER_ERROR.code);
    }
    let n: i64 = session.call("/ok", &7).await.unwrap().decode().unwrap();
    assert_eq!(n, 7);
    server.shutdown(Duration::ZERO).await;
}

async fn sessions_over_a_transport_you_bring<T: TestRt>() {
    // A socket pair instead of a listener: serve_conn on one end, a client
    // session on the other.
    let (a, b) = T::socket_pair();
    let (stx, srx) = mpsc::unbounded();
    let server = Peer::<T>::new(PeerConfig::default(), server_router(stx));
    let (ctx, crx) = mpsc::unbounded();
    let client = Peer::<T>::new(PeerConfig::default(), client_router(ctx));
    let here = Addr::Unix("duplex".into());
    server.serve_conn(a, here.clone());
    let session = client.client_conn(b, here);
    let sum: i64 = session
        .call("/math/add", &[2, 2])
        .await
        .unwrap()
        .decode()
        .unwrap();
    assert_eq!(sum, 4);
    session.push("/echo/push", "over a pipe").await.unwrap();
    assert_eq!(srx.recv().await.unwrap(), "over a pipe");
    let v: i64 = session
        .call("/call/back", &1)
        .await
        .unwrap()
        .decode()
        .unwrap();
    assert_eq!(v, 3);
    assert_eq!(server.broadcast("/push/test", &json!(1)).await, 1);
    assert_eq!(crx.recv().await.unwrap(), json!(1));
    session.close();
    within(LIMIT, "close", session.closed()).await;
    within(LIMIT, "shutdown", server.shutdown(Duration::from_secs(1))).await;
}

async fn tls_round_trip<T: TestRt>() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let cert_pem = cert.cert.pem();
    let key_pem = cert.key_pair.serialize_pem();
    let tls = teleport_async::tls::server_config_from_pem(cert_pem.as_bytes(), key_pem.as_bytes())
        .unwrap();
    let (stx, _srx) = mpsc::unbounded();
    let server = Peer::<T>::new(server_config(), server_router(stx));
    server.set_tls_server(tls);
    let bound = server.listen().await.unwrap();

    let client = Peer::<T>::new(PeerConfig::default(), Router::new());
    let opts = teleport_async::DialOptions {
        tls: Some(
            teleport_async::tls::ClientTls::from_ca_pem(cert_pem.as_bytes(), "localhost").unwrap(),
        ),
        ..Default::default()
    };
    let session = client
        .dial_with(&bound.addr.to_string(), opts)
        .await
        .unwrap();
    let v: i64 = session
        .call("/math/add", &[40, 2])
        .await
        .unwrap()
        .decode()
        .unwrap();
    assert_eq!(v, 42);

    // A plain-text client does not get an answer from the TLS server.
    let plain = Peer::<T>::new(
        PeerConfig {
            default_context_age: Some(Duration::from_millis(500)),
            ..PeerConfig::default()
        },
        Router::new(),
    );
    if let Ok(s) = plain.dial(&bound.addr.to_string()).await {
        assert!(s.call("/math/add", &[1]).await.is_err());
    }
    server.shutdown(Duration::ZERO).await;
}

async fn auth_bearer_and_checker<T: TestRt>() {
    let mut r = Router::new();
    r.call("/who", |_ctx: Ctx, _: ()| async move { Ok("in") })
        .unwrap();
    let config = PeerConfig {
        auth_checker: Some(AuthChecker::new(|req| {
            if req.body == b"\"open sesame\"" && req.meta.get("user").is_none() {
                Ok(b"\"welcome\"".to_vec())
            } else {
                Err(Status::new(403, "Forbidden").with_cause("bad token"))
            }
        })),
        ..server_config()
    };
    let server = Peer::<T>::new(config, r);
    let addr = server.listen().await.unwrap().addr.to_string();
    let client = |token: &str| {
        Peer::<T>::new(
            PeerConfig {
                auth_bearer: Some(AuthBearer {
                    codec: codec::id::JSON,
                    body: serde_json::to_vec(token).unwrap(),
                }),
                ..PeerConfig::default()
            },
            Router::new(),
        )
    };
    // The call is made before the auth answer arrives: it waits for it.
    let good = client("open sesame");
    let session = good.dial(&addr).await.unwrap();
    let reply = within(LIMIT, "authorized call", session.call("/who", &())).await;
    assert_eq!(reply.unwrap().decode::<String>().unwrap(), "in");
    // A wrong token: the session closes and its calls fail.
    let bad = client("guess");
    let session = bad.dial(&addr).await.unwrap();
    let err = within(LIMIT, "refused call", session.call("/who", &())).await;
    assert_eq!(err.unwrap_err().code, StatusRef::CONN_CLOSED.code);
    let reason = within(LIMIT, "refused session closes", session.closed()).await;
    assert_eq!(reason, CloseReason::AuthFailed { code: 403 });
    // A client without a bearer gets nowhere either.
    let none = Peer::<T>::new(PeerConfig::default(), Router::new());
    let session = none.dial(&addr).await.unwrap();
    let err = within(LIMIT, "unauthenticated call", session.call("/who", &())).await;
    assert_eq!(err.unwrap_err().code, StatusRef::CONN_CLOSED.code);
    server.shutdown(Duration::ZERO).await;
}

async fn call_timeout_covers_waiting_for_a_slot<T: TestRt>() {
    let mut r = Router::new();
    r.call("/slow", |_ctx: Ctx, ms: u64| async move {
        nap(Duration::from_millis(ms)).await;
        Ok(ms)
    })
    .unwrap();
    let server = Peer::<T>::new(server_config(), r);
    let addr = server.listen().await.unwrap().addr.to_string();
    // One call slot: the second call waits for the first to finish.
    let client = Peer::<T>::new(
        PeerConfig {
            max_outbound_calls: 1,
            ..PeerConfig::default()
        },
        Router::new(),
    );
    let session = client.dial(&addr).await.unwrap();
    let s = session.clone();
    let first_done = Arc::new(AtomicUsize::new(0));
    let flag = first_done.clone();
    let first = spawn_join::<T::Rt, _>(async move {
        let reply = s.call("/slow", &1500u64).await;
        flag.store(1, Ordering::SeqCst);
        reply
    });
    nap(Duration::from_millis(100)).await;
    let err = within(
        LIMIT,
        "waiting call",
        session
            .call("/slow", &1u64)
            .timeout(Duration::from_millis(300)),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code, StatusRef::HANDLE_TIMEOUT.code, "{err:?}");
    // It gave up while the slot was still taken, not when it freed.
    assert_eq!(
        first_done.load(Ordering::SeqCst),
        0,
        "the 408 waited for the slot"
    );
    // The first call is unaffected, and the slot works afterwards.
    let ms: u64 = within(LIMIT, "first call", first)
        .await
        .unwrap()
        .decode()
        .unwrap();
    assert_eq!(ms, 1500);
    let ms: u64 = session
        .call("/slow", &2u64)
        .await
        .unwrap()
        .decode()
        .unwrap();
    assert_eq!(ms, 2);
    server.shutdown(Duration::ZERO).await;
}
