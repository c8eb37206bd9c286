//! The example server and client of the Teleport README, shared by the
//! `server`, `client` and `demo` programs and the tests.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use teleport_async::{Ctx, Peer, Raw, Router, Runtime, Session, Status, call_controller};

/// Which adapter a program runs on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum RuntimeChoice {
    /// teleport-tokio.
    #[default]
    Tokio,
    /// teleport-smol.
    Smol,
}

/// Log to stderr; `RUST_LOG` overrides the default level.
pub fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// The README's `Math` controller.
pub struct Math;

impl Math {
    /// `/math/add`: the sum of a JSON array of ints.
    pub async fn add(&self, ctx: Ctx, nums: Vec<i64>) -> Result<i64, Status> {
        tracing::info!(author = ?ctx.query_value("author"), "math/add {nums:?}");
        Ok(nums.iter().sum())
    }
}

/// The README's `Home` controller.
pub struct Home;

impl Home {
    /// `/home/test`: echo the argument and every request meta pair; push
    /// `/push/test` to the caller first.
    pub async fn test(&self, ctx: Ctx, arg: BTreeMap<String, String>) -> Result<Value, Status> {
        let your_id = ctx.meta_value("peer_id").unwrap_or_default();
        ctx.session()
            .push("/push/test", &json!({ "your_id": your_id }))
            .await?;
        let meta: BTreeMap<String, String> = ctx
            .meta_map()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Ok(json!({ "arg": arg, "meta": meta }))
    }
}

/// The server's options beyond the address.
#[derive(Clone, Copy, Debug)]
pub struct ServerOptions {
    /// Answer unknown calls by echoing their body (else 404, as a Go server
    /// without an unknown-call handler does).
    pub echo_unknown: bool,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self { echo_unknown: true }
    }
}

/// The example server's routes.
pub fn server_router(opts: ServerOptions) -> Router {
    let mut r = Router::new();
    call_controller!(r, Math = std::sync::Arc::new(Math), [add]).expect("static routes");
    call_controller!(r, Home = std::sync::Arc::new(Home), [test]).expect("static routes");
    r.call("/err/fail", |_ctx: Ctx, _: Raw| async {
        Err::<(), _>(Status::new(1234, "bad thing").with_cause("cause text"))
    })
    .expect("static routes");
    r.push("/echo/push", |ctx: Ctx, v: Value| async move {
        tracing::info!("push from {}: {v}", ctx.peer_addr());
    })
    .expect("static routes");
    if opts.echo_unknown {
        r.unknown_call(|ctx: Ctx| async move { Ok(Raw::new(ctx.body_codec(), ctx.body())) });
    }
    r
}

/// Push `/push/status` with the server time to every session, forever.
pub async fn broadcast_status<R: Runtime>(peer: Peer<R>, every: Duration) {
    loop {
        teleport_async::sleep(peer.runtime(), every).await;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let n = peer
            .broadcast(
                "/push/status",
                &json!({ "server_time_ms": now.as_millis() as u64 }),
            )
            .await;
        tracing::debug!("status pushed to {n} sessions");
    }
}

/// The client's routes: every push is printed and forwarded to `pushes`.
pub fn client_router(pushes: async_channel::Sender<(String, Value)>) -> Router {
    let mut r = Router::new();
    r.unknown_push(move |ctx: Ctx| {
        let pushes = pushes.clone();
        async move {
            let body = ctx.bind::<Value>().unwrap_or(Value::Null);
            println!("push    {} {}", ctx.service_method(), body);
            let _ = pushes.try_send((ctx.path().to_string(), body));
        }
    });
    r
}

/// What the client checks.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Leave the query out of `/math/add` (Go v7 servers match it literally).
    pub no_query: bool,
    /// How long to keep listening for pushes after the calls.
    pub wait: Duration,
}

/// Run the README client's calls on `session`; print each result; return
/// whether every call and the expected push behaved as the server's routes say.
pub async fn run_client(
    session: &Session,
    pushes: &async_channel::Receiver<(String, Value)>,
    opts: &ClientOptions,
) -> bool {
    let mut ok = true;
    let mut check = |what: &str, good: bool, shown: String| {
        println!("{} {what} -> {shown}", if good { "ok  " } else { "FAIL" });
        ok &= good;
    };

    let uri = if opts.no_query {
        "/math/add"
    } else {
        "/math/add?author=henrylee2cn"
    };
    match session.call(uri, &[1, 2, 3, 4, 5]).await {
        Ok(reply) => {
            let sum = reply.decode::<i64>();
            check(
                &format!("call {uri} [1,2,3,4,5]"),
                sum == Ok(15),
                format!("{sum:?}"),
            );
        }
        Err(s) => check(&format!("call {uri}"), false, s.to_string()),
    }

    let arg = json!({ "author": "henrylee2cn" });
    match session
        .call("/home/test", &arg)
        .meta("peer_id", "110")
        .xfer(b"g")
        .await
    {
        Ok(reply) => {
            let v = reply.decode::<Value>().unwrap_or(Value::Null);
            let good =
                v["arg"] == arg && (v.get("meta").is_none() || v["meta"]["peer_id"] == "110");
            check("call /home/test (gzip, peer_id=110)", good, v.to_string());
        }
        Err(s) => check("call /home/test", false, s.to_string()),
    }

    match session.call("/err/fail", &()).await {
        Ok(reply) => check(
            "call /err/fail",
            false,
            format!("unexpected OK {:?}", reply.body),
        ),
        Err(s) => check(
            "call /err/fail",
            s == Status::new(1234, "bad thing").with_cause("cause text"),
            s.to_string(),
        ),
    }

    // The push `/home/test` sent before replying, then whatever else comes.
    let deadline = std::time::Instant::now() + opts.wait;
    let mut saw_push_test = false;
    loop {
        let next = async { pushes.recv().await.ok() };
        let timeout = async {
            smol::Timer::at(deadline).await;
            None
        };
        let Some((path, body)) = smol::future::or(next, timeout).await else {
            break;
        };
        if path == "/push/test" {
            saw_push_test |= body == json!({ "your_id": "110" });
        }
    }
    check(
        "push /push/test {\"your_id\":\"110\"}",
        saw_push_test,
        String::new(),
    );
    ok
}
