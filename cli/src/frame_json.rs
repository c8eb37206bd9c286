//! The JSON form of a frame used by `teleport decode` and `teleport encode`.

use bytes::{Bytes, BytesMut};
use serde::{Deserialize, Serialize};
use teleport_core::xfer::XferFilters;
use teleport_core::{FrameReader, Message, Meta, Mtype, Seq, Status};

/// One frame, with exactly the keys `decode` prints, in this order.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub(crate) struct FrameJson {
    #[serde(default)]
    pub size: usize,
    #[serde(default)]
    pub xfer: Vec<u8>,
    pub seq: i32,
    pub mtype: u8,
    #[serde(default)]
    pub service_method: String,
    #[serde(default)]
    pub status: Option<StatusJson>,
    #[serde(default)]
    pub meta: Vec<(String, String)>,
    #[serde(default)]
    pub body_codec: u8,
    #[serde(default)]
    pub body_hex: String,
}

/// `msg` is `""` when absent; `cause` is `null` when absent (Go tells the two apart).
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub(crate) struct StatusJson {
    pub code: i32,
    #[serde(default)]
    pub msg: String,
    #[serde(default)]
    pub cause: Option<String>,
}

fn filters() -> XferFilters {
    // gzip as 'g' and md5 as 'm', as the Go examples register them.
    XferFilters::with_defaults()
}

/// Decode every frame of `input`; one entry per frame or error. Decoding
/// stops at a framing error (the stream cannot be resynchronised after it).
pub(crate) fn decode_stream(input: &[u8], limit: u32) -> Vec<Result<FrameJson, String>> {
    let filters = filters();
    let mut reader = FrameReader::new(limit);
    reader.extend(input);
    let mut lines = Vec::new();
    loop {
        match reader.next_frame() {
            Ok(Some(frame)) => lines.push(frame_to_json(frame, &filters, limit)),
            Ok(None) => {
                if reader.buffered() > 0 {
                    lines.push(Err(format!(
                        "truncated frame: {} bytes left at the end of the input",
                        reader.buffered()
                    )));
                }
                break;
            }
            Err(e) => {
                lines.push(Err(e.to_string()));
                break;
            }
        }
    }
    lines
}

fn frame_to_json(frame: Bytes, filters: &XferFilters, limit: u32) -> Result<FrameJson, String> {
    let size = frame.len();
    let m = Message::decode(frame, filters, limit).map_err(|e| e.to_string())?;
    Ok(FrameJson {
        size,
        xfer: m.xfer,
        seq: m.seq.0,
        mtype: m.mtype.into(),
        service_method: m.service_method.to_string(),
        status: m.status.map(|s| StatusJson {
            code: s.code,
            msg: s.msg,
            cause: s.cause,
        }),
        meta: m
            .meta
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        body_codec: m.body_codec,
        body_hex: hex::encode(&m.body),
    })
}

/// Encode one JSON line into a frame (`size` is ignored).
pub(crate) fn encode_line(line: &str, limit: u32) -> Result<Vec<u8>, String> {
    let f: FrameJson = serde_json::from_str(line).map_err(|e| format!("bad JSON: {e}"))?;
    let mtype = Mtype::try_from(f.mtype).map_err(|e| e.to_string())?;
    let mut m = Message::new(Seq(f.seq), mtype, f.service_method);
    m.status = f.status.map(|s| Status {
        code: s.code,
        msg: s.msg,
        cause: s.cause,
    });
    m.meta = f.meta.into_iter().collect::<Meta>();
    m.body_codec = f.body_codec;
    m.body = hex::decode(&f.body_hex)
        .map_err(|e| format!("bad body_hex: {e}"))?
        .into();
    m.xfer = f.xfer;
    let mut out = BytesMut::new();
    m.encode_to(&filters(), &mut out, limit)
        .map_err(|e| e.to_string())?;
    Ok(out.to_vec())
}
