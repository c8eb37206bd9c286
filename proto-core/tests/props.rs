//! Property tests of the wire layer: round trips, any chunking, truncation
//! and corruption never panic.

mod common;

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use teleport_core::codec::{self, id};
use teleport_core::frame::{DEFAULT_FRAME_LIMIT, Decoded, decode_frame};
use teleport_core::xfer::XferFilters;
use teleport_core::{FrameReader, Message, Meta, Mtype, Seq, Status};

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Payload {
    name: String,
    n: i64,
    flag: bool,
    tags: Vec<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ProtoPayload {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(int64, tag = "2")]
    n: i64,
}

fn payload() -> impl Strategy<Value = Payload> {
    (
        any::<String>(),
        any::<i64>(),
        any::<bool>(),
        prop::collection::vec(any::<String>(), 0..4),
    )
        .prop_map(|(name, n, flag, tags)| Payload {
            name,
            n,
            flag,
            tags,
        })
}

/// A body and the codec it was encoded with, plus a check that it decodes back.
#[derive(Debug, Clone)]
enum Body {
    Json(Payload),
    Postcard(Payload),
    Plain(String),
    Form(Payload),
    Proto(String, i64),
    Raw(u8, Vec<u8>),
}

impl Body {
    fn encode(&self) -> (u8, Vec<u8>) {
        let mut out = Vec::new();
        let codec = match self {
            Self::Json(p) => {
                codec::encode(id::JSON, p, &mut out).unwrap();
                id::JSON
            }
            Self::Postcard(p) => {
                codec::encode(id::POSTCARD, p, &mut out).unwrap();
                id::POSTCARD
            }
            Self::Plain(s) => {
                codec::encode(id::PLAIN, s, &mut out).unwrap();
                id::PLAIN
            }
            Self::Form(p) => {
                codec::encode(id::FORM, p, &mut out).unwrap();
                id::FORM
            }
            Self::Proto(name, n) => {
                codec::protobuf::encode(
                    &ProtoPayload {
                        name: name.clone(),
                        n: *n,
                    },
                    &mut out,
                )
                .unwrap();
                id::PROTOBUF
            }
            Self::Raw(c, b) => {
                out = b.clone();
                *c
            }
        };
        (codec, out)
    }

    fn check(&self, codec_id: u8, body: &[u8]) {
        match self {
            Self::Json(p) | Self::Postcard(p) => {
                assert_eq!(&codec::decode::<Payload>(codec_id, body).unwrap(), p)
            }
            Self::Form(p) => assert_eq!(&codec::decode::<Payload>(codec_id, body).unwrap(), p),
            Self::Plain(s) => assert_eq!(&codec::decode::<String>(codec_id, body).unwrap(), s),
            Self::Proto(name, n) => {
                let m: ProtoPayload = codec::protobuf::decode(body).unwrap();
                assert_eq!((&m.name, m.n), (name, *n));
            }
            Self::Raw(_, b) => assert_eq!(body, b.as_slice()),
        }
    }
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        payload().prop_map(Body::Json),
        payload().prop_map(Body::Postcard),
        any::<String>().prop_map(Body::Plain),
        payload().prop_map(Body::Form),
        (any::<String>(), any::<i64>()).prop_map(|(s, n)| Body::Proto(s, n)),
        (any::<u8>(), prop::collection::vec(any::<u8>(), 0..64)).prop_map(|(c, b)| Body::Raw(c, b)),
    ]
}

fn mtype() -> impl Strategy<Value = Mtype> {
    (1u8..=5).prop_map(|v| Mtype::try_from(v).unwrap())
}

/// Text with the characters escaping must handle.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ %&=+/?#~*._a-zA-Z0-9é中\u{0}-\u{1f}]{0,12}"
    ]
}

fn meta() -> impl Strategy<Value = Meta> {
    // A pair with an empty key and value is not representable on the wire.
    prop::collection::vec((text(), text()), 0..5).prop_map(|pairs| {
        pairs
            .into_iter()
            .filter(|(k, v)| !(k.is_empty() && v.is_empty()))
            .collect()
    })
}

fn status() -> impl Strategy<Value = Option<Status>> {
    prop::option::of(
        (any::<i32>(), text(), prop::option::of(text())).prop_map(|(code, msg, cause)| Status {
            code,
            msg,
            cause,
        }),
    )
}

fn service_method() -> impl Strategy<Value = String> {
    prop_oneof![
        "/[a-z_/]{0,40}(\\?[a-z=&%]{0,20})?",
        any::<String>().prop_filter("fits", |s| s.len() <= 255)
    ]
}

fn xfer() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(vec![]),
        Just(vec![b'g']),
        Just(vec![b'm']),
        Just(vec![b'g', b'm']),
        Just(vec![b'm', b'g'])
    ]
}

fn message() -> impl Strategy<Value = (Message, Body)> {
    (
        any::<i32>(),
        mtype(),
        service_method(),
        status(),
        meta(),
        body(),
        xfer(),
    )
        .prop_map(|(seq, mtype, sm, status, meta, body, xfer)| {
            let mut m = Message::new(Seq(seq), mtype, sm);
            m.status = status;
            m.meta = meta;
            let (codec, bytes) = body.encode();
            m.body_codec = codec;
            m.body = bytes.into();
            m.xfer = xfer;
            (m, body)
        })
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(512)
}

fn chunks(len: usize) -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..=len.max(1), 0..len.max(1))
}

/// Feed `stream` to a reader in pieces of the given sizes; return the frames.
fn read_all(stream: &[u8], sizes: &[usize]) -> Vec<Bytes> {
    let mut r = FrameReader::new(DEFAULT_FRAME_LIMIT);
    let mut frames = Vec::new();
    let mut pos = 0;
    let mut sizes = sizes.iter().copied().cycle();
    while pos < stream.len() {
        let n = sizes.next().unwrap_or(1).min(stream.len() - pos);
        r.extend(&stream[pos..pos + n]);
        pos += n;
        while let Some(f) = r.next_frame().unwrap() {
            frames.push(f);
        }
    }
    assert_eq!(r.buffered(), 0);
    frames
}

proptest! {
    // 512 cases by default; PROPTEST_CASES raises it for longer runs.
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn messages_round_trip((msg, body) in message()) {
        let filters = XferFilters::with_defaults();
        let mut out = BytesMut::new();
        let n = msg.encode_to(&filters, &mut out, DEFAULT_FRAME_LIMIT).unwrap();
        prop_assert_eq!(n, out.len());
        let back = Message::decode(out.freeze(), &filters, DEFAULT_FRAME_LIMIT).unwrap();
        prop_assert_eq!(&back, &msg);
        body.check(back.body_codec, &back.body);
    }

    #[test]
    fn many_messages_any_chunking(msgs in prop::collection::vec(message(), 1..6), sizes in chunks(64)) {
        let filters = XferFilters::with_defaults();
        let mut stream = BytesMut::new();
        for (m, _) in &msgs {
            m.encode_to(&filters, &mut stream, DEFAULT_FRAME_LIMIT).unwrap();
        }
        let frames = read_all(&stream, &sizes);
        prop_assert_eq!(frames.len(), msgs.len());
        for (f, (m, _)) in frames.into_iter().zip(&msgs) {
            prop_assert_eq!(&Message::decode(f, &filters, DEFAULT_FRAME_LIMIT).unwrap(), m);
        }
    }

    #[test]
    fn vectors_in_random_chunks(sizes in chunks(97)) {
        let vectors = common::vectors();
        let stream: Vec<u8> = vectors.iter().flat_map(|v| v.bytes()).collect();
        let frames = read_all(&stream, &sizes);
        prop_assert_eq!(frames.len(), vectors.len());
        for (f, v) in frames.iter().zip(&vectors) {
            prop_assert_eq!(hex::encode(f), v.hex.clone());
        }
    }

    #[test]
    fn corruption_never_panics(index in any::<prop::sample::Index>(), pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let vectors = common::vectors();
        let v = index.get(&vectors);
        let mut bytes = v.bytes();
        let p = pos.index(bytes.len());
        bytes[p] = byte;
        check_no_panic(&bytes);
    }

    #[test]
    fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        check_no_panic(&bytes);
    }
}

/// Decode through every API; any outcome but a panic is fine.
fn check_no_panic(bytes: &[u8]) {
    let filters = XferFilters::with_defaults();
    let limit = 1 << 16;
    if let Ok(Decoded::Frame(raw)) = decode_frame(bytes, limit) {
        let mut scratch = Vec::new();
        if let Ok(view) = filters.decode(&raw, &mut scratch, limit as usize) {
            let _ = view.status.to_owned();
            let _ = Meta::from_view(view.meta);
            let _ = view.query().iter().count();
            let mut buf = vec![0u8; 1 << 12];
            let _ = view.to_repr().encode(&mut buf, limit);
            for c in [id::JSON, id::PLAIN, id::FORM, id::POSTCARD] {
                let _ = codec::decode::<Payload>(c, view.body);
                let _ = codec::decode::<String>(c, view.body);
            }
        }
    }
    let _ = Message::decode(Bytes::copy_from_slice(bytes), &filters, limit);
    let mut r = FrameReader::new(limit);
    r.extend(bytes);
    while let Ok(Some(_)) = r.next_frame() {}
}

#[test]
fn every_single_byte_corruption_of_every_vector() {
    // Exhaustive over positions, with the byte values most likely to matter.
    for v in common::vectors() {
        let bytes = v.bytes();
        for p in 0..bytes.len() {
            for val in [
                0u8,
                1,
                0x7f,
                0x80,
                0xff,
                bytes[p] ^ 1,
                bytes[p].wrapping_add(1),
                b'%',
            ] {
                let mut b = bytes.clone();
                b[p] = val;
                check_no_panic(&b);
            }
        }
    }
}

#[test]
fn gzip_bomb_is_an_error_not_an_allocation() {
    let filters = XferFilters::with_defaults();
    let mut m = Message::new(Seq(1), Mtype::Call, "/bomb");
    m.body = vec![0u8; 8 << 20].into();
    m.xfer = vec![b'g'];
    let mut out = BytesMut::new();
    m.encode_to(&filters, &mut out, u32::MAX).unwrap();
    assert!(out.len() < 64 * 1024, "compressed to {}", out.len());
    let err = Message::decode(out.freeze(), &filters, DEFAULT_FRAME_LIMIT).unwrap_err();
    assert!(
        matches!(
            err.kind,
            teleport_core::DecodeErrorKind::Xfer(teleport_core::XferError {
                kind: teleport_core::XferErrorKind::TooLarge { .. },
                ..
            })
        ),
        "{err}"
    );
}

#[test]
fn oversized_fields_are_refused_by_the_writer() {
    let filters = XferFilters::new();
    let mut m = Message::new(Seq(1), Mtype::Call, "x".repeat(256));
    assert!(
        m.encode_to(&filters, &mut BytesMut::new(), DEFAULT_FRAME_LIMIT)
            .is_err()
    );
    m.service_method = "/ok".into();
    m.meta.add("k", "%".repeat(30_000));
    assert!(
        m.encode_to(&filters, &mut BytesMut::new(), DEFAULT_FRAME_LIMIT)
            .is_err()
    );
    m.meta.clear();
    m.status = Some(Status::new(1, "é".repeat(20_000)));
    assert!(
        m.encode_to(&filters, &mut BytesMut::new(), DEFAULT_FRAME_LIMIT)
            .is_err()
    );
}

#[test]
fn filters_compose_in_documented_order() {
    // [g, m]: md5 appended first, then gzip; so the wire payload is gzip.
    let filters = XferFilters::with_defaults();
    let mut m = Message::new(Seq(7), Mtype::Push, "/p");
    m.body = Bytes::from_static(b"hello hello hello");
    m.xfer = vec![b'g', b'm'];
    let mut out = BytesMut::new();
    m.encode_to(&filters, &mut out, DEFAULT_FRAME_LIMIT)
        .unwrap();
    assert_eq!(&out[4..7], &[2, b'g', b'm']);
    assert_eq!(&out[7..9], &[0x1f, 0x8b]);
    // 255 unknown ids: a typed error naming the first unknown id.
    let mut frame = vec![0u8; 4];
    frame.push(255);
    frame.extend(std::iter::repeat_n(b'z', 255));
    frame.extend_from_slice(b"\x011\x01\0\0\0\0\0j");
    let size = frame.len() as u32;
    frame[..4].copy_from_slice(&size.to_be_bytes());
    let err = Message::decode(frame.into(), &filters, DEFAULT_FRAME_LIMIT).unwrap_err();
    assert!(matches!(
        err.kind,
        teleport_core::DecodeErrorKind::Xfer(teleport_core::XferError { id: b'z', .. })
    ));
}
