//! Every reference frame from the Go framework decodes to exactly its listed
//! fields and re-encodes from them to exactly its bytes.

mod common;

use bytes::{Bytes, BytesMut};
use teleport_core::frame::{DEFAULT_FRAME_LIMIT, Decoded, decode_frame};
use teleport_core::xfer::XferFilters;
use teleport_core::{Message, MetaText, StatusText};

#[test]
fn vectors_decode_to_their_fields() {
    let filters = XferFilters::with_defaults();
    for v in common::vectors() {
        let bytes = v.bytes();
        let Ok(Decoded::Frame(raw)) = decode_frame(&bytes, DEFAULT_FRAME_LIMIT) else {
            panic!("{}: not one frame", v.name);
        };
        assert_eq!(raw.len(), bytes.len(), "{}", v.name);
        assert_eq!(raw.xfer(), v.fields.xfer.as_slice(), "{}", v.name);
        let mut scratch = Vec::new();
        let view = filters
            .decode(&raw, &mut scratch, DEFAULT_FRAME_LIMIT as usize)
            .unwrap();
        let f = &v.fields;
        assert_eq!(view.seq.0, f.seq, "{}", v.name);
        assert_eq!(u8::from(view.mtype), f.mtype, "{}", v.name);
        assert_eq!(view.service_method, f.service_method, "{}", v.name);
        assert_eq!(view.status.raw, v.status_query.as_bytes(), "{}", v.name);
        assert_eq!(view.status.code, f.status_code, "{}", v.name);
        assert!(
            view.status
                .msg
                .map_or(f.status_msg.is_empty(), |m| m.eq_str(&f.status_msg)),
            "{}",
            v.name
        );
        match (&view.status.cause, &f.status_cause) {
            (None, None) => {}
            (Some(c), Some(e)) => assert!(c.eq_str(e), "{}", v.name),
            (c, e) => panic!("{}: cause {c:?} != {e:?}", v.name),
        }
        assert_eq!(view.meta.raw(), v.meta_query.as_bytes(), "{}", v.name);
        let meta: Vec<(String, String)> = view
            .meta
            .iter()
            .map(|(k, v)| (k.to_str().unwrap().into(), v.to_str().unwrap().into()))
            .collect();
        assert_eq!(meta, f.meta, "{}", v.name);
        assert_eq!(view.body_codec, f.body_codec, "{}", v.name);
        assert_eq!(hex::encode(view.body), f.body_hex, "{}", v.name);
        if let Some(payload) = &v.payload_after_xfer_hex {
            assert_eq!(hex::encode(&scratch), *payload, "{}", v.name);
        }

        let owned =
            Message::decode(Bytes::from(bytes.clone()), &filters, DEFAULT_FRAME_LIMIT).unwrap();
        assert_eq!(owned, v.message(), "{}", v.name);
    }
}

#[test]
fn fields_reencode_to_the_same_bytes() {
    let filters = XferFilters::with_defaults();
    for v in common::vectors() {
        let msg = v.message();
        let mut out = BytesMut::new();
        let n = msg
            .encode_to(&filters, &mut out, DEFAULT_FRAME_LIMIT)
            .unwrap();
        assert_eq!(n, out.len(), "{}", v.name);
        if msg.xfer.is_empty() {
            assert_eq!(hex::encode(&out), v.hex, "{}", v.name);
            // The same through a caller's slice, without alloc-backed types.
            let mut buf = [0u8; 1024];
            let n = msg.repr().encode(&mut buf, DEFAULT_FRAME_LIMIT).unwrap();
            assert_eq!(hex::encode(&buf[..n]), v.hex, "{}", v.name);
            // And from the borrowed views of the decoded frame.
            let bytes = v.bytes();
            let Ok(Decoded::Frame(raw)) = decode_frame(&bytes, DEFAULT_FRAME_LIMIT) else {
                panic!()
            };
            let view = raw.message().unwrap();
            let n = view
                .to_repr()
                .encode(&mut buf, DEFAULT_FRAME_LIMIT)
                .unwrap();
            assert_eq!(hex::encode(&buf[..n]), v.hex, "{}", v.name);
        } else {
            // Compressed bytes may differ from Go's; the payload must not.
            let mut payload = Vec::new();
            msg.repr().write_payload(&mut payload).unwrap();
            assert_eq!(
                Some(hex::encode(&payload)),
                v.payload_after_xfer_hex,
                "{}",
                v.name
            );
            let back = Message::decode(out.freeze(), &filters, DEFAULT_FRAME_LIMIT).unwrap();
            assert_eq!(back, msg, "{}", v.name);
        }
    }
}

#[test]
fn status_and_meta_text_match_go() {
    for v in common::vectors() {
        let msg = v.message();
        let mut s = Vec::new();
        msg.status.as_ref().encode(&mut s);
        assert_eq!(String::from_utf8(s).unwrap(), v.status_query, "{}", v.name);
        let mut m = Vec::new();
        msg.meta.encode(&mut m);
        assert_eq!(String::from_utf8(m).unwrap(), v.meta_query, "{}", v.name);
    }
}

#[test]
fn truncations_need_more() {
    for v in common::vectors() {
        let bytes = v.bytes();
        for cut in 0..bytes.len() {
            match decode_frame(&bytes[..cut], DEFAULT_FRAME_LIMIT) {
                Ok(Decoded::NeedMore(n)) => assert!(
                    n >= 1 && cut + n <= bytes.len(),
                    "{} cut {cut}: {n}",
                    v.name
                ),
                other => panic!("{} cut {cut}: {other:?}", v.name),
            }
        }
    }
}

#[test]
fn size_limit_checked_from_prefix() {
    let v = &common::vectors()[0];
    let bytes = v.bytes();
    let err = decode_frame(&bytes[..4], 39).unwrap_err();
    assert_eq!(err.field, teleport_core::Field::Size);
    assert!(matches!(
        err.kind,
        teleport_core::DecodeErrorKind::TooLarge {
            size: 40,
            limit: 39
        }
    ));
    assert!(decode_frame(&[0xff, 0xff, 0xff, 0xff], DEFAULT_FRAME_LIMIT).is_err());
    for size in 0..5u32 {
        assert!(
            decode_frame(&size.to_be_bytes(), DEFAULT_FRAME_LIMIT).is_err(),
            "size {size}"
        );
    }
}
