//! The gzip filter: one RFC 1952 member per payload, as Go's `compress/gzip`
//! writes it; reading accepts any valid gzip stream (several members, optional
//! header fields) and stops at the size limit.

use alloc::vec::Vec;

use miniz_oxide::inflate::stream::{InflateState, inflate};
use miniz_oxide::{DataFormat, MZError, MZFlush, MZStatus};

use super::XferFilter;
use crate::error::XferErrorKind;

/// The gzip filter (conventionally registered as `'g'`).
#[derive(Clone, Copy, Debug)]
pub struct Gzip {
    level: u8,
}

impl Default for Gzip {
    fn default() -> Self {
        Self::new(5)
    }
}

impl Gzip {
    /// Compression level 0 (store) to 9 (best); higher values are clamped.
    pub const fn new(level: u8) -> Self {
        Self {
            level: if level > 9 { 9 } else { level },
        }
    }
}

/// Header Go writes: magic, deflate, no flags, no mtime, no extra flags, OS unknown.
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
const FHCRC: u8 = 2;
const FEXTRA: u8 = 4;
const FNAME: u8 = 8;
const FCOMMENT: u8 = 16;

const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

fn crc32(data: &[u8]) -> u32 {
    !data.iter().fold(!0u32, |c, &b| {
        CRC_TABLE[usize::from((c as u8) ^ b)] ^ (c >> 8)
    })
}

impl XferFilter for Gzip {
    fn name(&self) -> &str {
        "gzip"
    }

    fn pack(&self, input: &[u8], out: &mut Vec<u8>) -> Result<(), XferErrorKind> {
        let deflated = miniz_oxide::deflate::compress_to_vec(input, self.level);
        out.reserve(HEADER.len() + deflated.len() + 8);
        out.extend_from_slice(&HEADER);
        out.extend_from_slice(&deflated);
        out.extend_from_slice(&crc32(input).to_le_bytes());
        out.extend_from_slice(&(input.len() as u32).to_le_bytes());
        Ok(())
    }

    fn unpack(&self, input: &[u8], out: &mut Vec<u8>, limit: usize) -> Result<(), XferErrorKind> {
        // Go's filter passes an empty payload through.
        if input.is_empty() {
            return Ok(());
        }
        let mut rest = input;
        let mut state: Option<alloc::boxed::Box<InflateState>> = None;
        while !rest.is_empty() {
            let body = skip_header(rest)?;
            let st = state.get_or_insert_with(|| InflateState::new_boxed(DataFormat::Raw));
            st.reset(DataFormat::Raw);
            let member_start = out.len();
            let consumed = inflate_bounded(st, body, out, limit)?;
            let trailer = body
                .get(consumed..consumed + 8)
                .ok_or(XferErrorKind::Corrupt)?;
            let (crc, isize) = trailer.split_at(4);
            let member = out.get(member_start..).unwrap_or_default();
            if crc != crc32(member).to_le_bytes() {
                return Err(XferErrorKind::ChecksumMismatch);
            }
            if isize != (member.len() as u32).to_le_bytes() {
                return Err(XferErrorKind::Corrupt);
            }
            rest = body.get(consumed + 8..).unwrap_or_default();
        }
        Ok(())
    }
}

/// Return the deflate data after a gzip member header.
fn skip_header(input: &[u8]) -> Result<&[u8], XferErrorKind> {
    let header = input.first_chunk::<10>().ok_or(XferErrorKind::Corrupt)?;
    if header[0] != 0x1f || header[1] != 0x8b || header[2] != 8 {
        return Err(XferErrorKind::Corrupt);
    }
    let flags = header[3];
    let mut rest = input.get(10..).unwrap_or_default();
    if flags & FEXTRA != 0 {
        let len = rest.first_chunk::<2>().ok_or(XferErrorKind::Corrupt)?;
        let len = usize::from(u16::from_le_bytes(*len));
        rest = rest.get(2 + len..).ok_or(XferErrorKind::Corrupt)?;
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            let end = rest
                .iter()
                .position(|&b| b == 0)
                .ok_or(XferErrorKind::Corrupt)?;
            rest = rest.get(end + 1..).unwrap_or_default();
        }
    }
    if flags & FHCRC != 0 {
        rest = rest.get(2..).ok_or(XferErrorKind::Corrupt)?;
    }
    Ok(rest)
}

/// Inflate one raw deflate stream from `input`, appending to `out` without
/// letting it pass `limit`; returns the input bytes consumed.
fn inflate_bounded(
    state: &mut InflateState,
    input: &[u8],
    out: &mut Vec<u8>,
    limit: usize,
) -> Result<usize, XferErrorKind> {
    const CHUNK: usize = 16 * 1024;
    let mut consumed = 0;
    loop {
        let room = limit.saturating_sub(out.len());
        // One spare byte past the limit tells "exactly at the limit" from "over it".
        let grow = CHUNK.min(room.saturating_add(1));
        let start = out.len();
        out.resize(start + grow, 0);
        let res = inflate(
            state,
            input.get(consumed..).unwrap_or_default(),
            out.get_mut(start..).unwrap_or_default(),
            MZFlush::None,
        );
        consumed += res.bytes_consumed;
        out.truncate(start + res.bytes_written);
        if out.len() > limit {
            return Err(XferErrorKind::TooLarge { limit });
        }
        match res.status {
            Ok(MZStatus::StreamEnd) => return Ok(consumed),
            Ok(_) => {
                if res.bytes_consumed == 0 && res.bytes_written == 0 {
                    return Err(XferErrorKind::Corrupt);
                }
            }
            // Buf: no progress possible, i.e. the input ended early.
            Err(MZError::Buf) | Err(_) => return Err(XferErrorKind::Corrupt),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;

    #[test]
    fn crc_matches_reference() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn round_trip_and_limit() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 7) as u8).collect();
        let mut packed = Vec::new();
        Gzip::new(6).pack(&data, &mut packed).unwrap();
        assert_eq!(&packed[..10], &HEADER);
        let mut out = Vec::new();
        Gzip::default()
            .unpack(&packed, &mut out, data.len())
            .unwrap();
        assert_eq!(out, data);
        let mut out = Vec::new();
        assert_eq!(
            Gzip::default().unpack(&packed, &mut out, data.len() - 1),
            Err(XferErrorKind::TooLarge {
                limit: data.len() - 1
            })
        );
        assert!(out.len() <= data.len());
    }

    #[test]
    fn unbounded_limit_does_not_overflow() {
        let mut packed = Vec::new();
        Gzip::default().pack(b"abc", &mut packed).unwrap();
        let mut out = Vec::new();
        Gzip::default()
            .unpack(&packed, &mut out, usize::MAX)
            .unwrap();
        assert_eq!(out, b"abc");
    }

    #[test]
    fn reads_two_members_and_header_fields() {
        let mut a = Vec::new();
        Gzip::new(1).pack(b"hello ", &mut a).unwrap();
        let mut b = Vec::new();
        Gzip::new(9).pack(b"world", &mut b).unwrap();
        // Add FNAME to the second member.
        b[3] = FNAME;
        b.splice(10..10, *b"name\0");
        a.extend_from_slice(&b);
        let mut out = Vec::new();
        Gzip::default().unpack(&a, &mut out, 100).unwrap();
        assert_eq!(out, b"hello world");
    }

    #[test]
    fn rejects_corruption() {
        let mut packed = Vec::new();
        Gzip::default()
            .pack(b"some data some data", &mut packed)
            .unwrap();
        for cut in 1..packed.len() {
            let mut out = Vec::new();
            assert!(
                Gzip::default()
                    .unpack(&packed[..cut], &mut out, 1000)
                    .is_err(),
                "cut {cut}"
            );
        }
        let n = packed.len();
        packed[n - 5] ^= 1;
        let mut out = Vec::new();
        assert_eq!(
            Gzip::default().unpack(&packed, &mut out, 1000),
            Err(XferErrorKind::ChecksumMismatch)
        );
    }
}
