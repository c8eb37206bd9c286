//! One call/reply cycle through two connections, no IO: the cost of the
//! protocol state machine itself (encode, decode, routing, tables).

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use teleport_benches::{BenchmarkMessage, cycle};
use teleport_core::codec;
use teleport_core::conn::{Fixed, Growable};
use teleport_core::router::{RouteKind, Router};

fn conn(c: &mut Criterion) {
    let mut body = Vec::new();
    codec::protobuf::encode(&BenchmarkMessage::prepared(), &mut body).expect("encodes");
    let mut g = c.benchmark_group("conn_cycle");

    let mut fixed: cycle::Pair<Fixed<2048, 2048, 4, 4>, _> = cycle::Pair::new(&cycle::ROUTER);
    g.bench_function("fixed_static_router_581B", |b| {
        b.iter(|| fixed.cycle(black_box(&body)))
    });

    let mut router = Router::default();
    router
        .route(RouteKind::Call, "Hello.Say", 1u8)
        .expect("route");
    let mut growable: cycle::Pair<Growable, _> = cycle::Pair::new(router);
    g.bench_function("growable_runtime_router_581B", |b| {
        b.iter(|| growable.cycle(black_box(&body)))
    });

    let mut tiny: cycle::Pair<Fixed<512, 512, 4, 4>, _> = cycle::Pair::new(&cycle::ROUTER);
    g.bench_function("fixed_static_router_empty_body", |b| {
        b.iter(|| tiny.cycle(black_box(b"")))
    });
    g.finish();
}

criterion_group!(benches, conn);
criterion_main!(benches);
