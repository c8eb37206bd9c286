//! Micro-benchmarks of the wire layer on the benchmark's 581-byte message.
//!
//! Run: `cargo bench -p teleport-benches --bench wire`

use bytes::{Bytes, BytesMut};
use criterion::{Criterion, Throughput, black_box, criterion_group, criterion_main};
use teleport_benches::bench_call_frame;
use teleport_core::frame::{DEFAULT_FRAME_LIMIT, Decoded, decode_frame};
use teleport_core::xfer::XferFilters;
use teleport_core::{FrameReader, Message};

fn wire(c: &mut Criterion) {
    let frame = bench_call_frame();
    let mut g = c.benchmark_group("wire");
    g.throughput(Throughput::Bytes(frame.len() as u64));

    g.bench_function("decode_view", |b| {
        b.iter(|| {
            let Ok(Decoded::Frame(raw)) = decode_frame(black_box(&frame), DEFAULT_FRAME_LIMIT)
            else {
                unreachable!()
            };
            let view = raw.message().unwrap();
            black_box((view.seq, view.body.len()))
        })
    });

    let filters = XferFilters::new();
    let shared = Bytes::from(frame.clone());
    g.bench_function("decode_owned", |b| {
        b.iter(|| {
            black_box(Message::decode(shared.clone(), &filters, DEFAULT_FRAME_LIMIT).unwrap())
        })
    });

    g.bench_function("reader_split_and_decode", |b| {
        let mut reader = FrameReader::new(DEFAULT_FRAME_LIMIT);
        b.iter(|| {
            reader.extend(black_box(&frame));
            let f = reader.next_frame().unwrap().unwrap();
            black_box(Message::decode(f, &filters, DEFAULT_FRAME_LIMIT).unwrap())
        })
    });

    let Ok(Decoded::Frame(raw)) = decode_frame(&frame, DEFAULT_FRAME_LIMIT) else {
        unreachable!()
    };
    let view = raw.message().unwrap();
    g.bench_function("encode_slice", |b| {
        let mut buf = [0u8; 1024];
        b.iter(|| {
            black_box(
                view.to_repr()
                    .encode(&mut buf, DEFAULT_FRAME_LIMIT)
                    .unwrap(),
            )
        })
    });

    let msg = Message::decode(shared.clone(), &filters, DEFAULT_FRAME_LIMIT).unwrap();
    g.bench_function("encode_owned_reused_buffer", |b| {
        let mut out = BytesMut::with_capacity(4096);
        b.iter(|| {
            out.clear();
            black_box(
                msg.encode_to(&filters, &mut out, DEFAULT_FRAME_LIMIT)
                    .unwrap(),
            )
        })
    });

    let gz = XferFilters::with_defaults();
    let mut gz_msg = msg.clone();
    gz_msg.xfer = vec![b'g'];
    let mut gz_frame = BytesMut::new();
    gz_msg
        .encode_to(&gz, &mut gz_frame, DEFAULT_FRAME_LIMIT)
        .unwrap();
    let gz_frame = gz_frame.freeze();
    g.bench_function("decode_gzip", |b| {
        b.iter(|| black_box(Message::decode(gz_frame.clone(), &gz, DEFAULT_FRAME_LIMIT).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, wire);
criterion_main!(benches);
