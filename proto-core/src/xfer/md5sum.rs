//! The md5 filter: appends the 16-byte MD5 of its input; unpacking checks and strips it.

use alloc::vec::Vec;

use md5::{Digest, Md5 as Hasher};

use super::XferFilter;
use crate::error::XferErrorKind;

const DIGEST_LEN: usize = 16;

/// The md5 checksum filter (conventionally registered as `'m'`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Md5;

impl XferFilter for Md5 {
    fn name(&self) -> &str {
        "md5"
    }

    fn pack(&self, input: &[u8], out: &mut Vec<u8>) -> Result<(), XferErrorKind> {
        out.reserve(input.len() + DIGEST_LEN);
        out.extend_from_slice(input);
        out.extend_from_slice(&Hasher::digest(input));
        Ok(())
    }

    fn unpack(&self, input: &[u8], out: &mut Vec<u8>, limit: usize) -> Result<(), XferErrorKind> {
        let split = input
            .len()
            .checked_sub(DIGEST_LEN)
            .ok_or(XferErrorKind::Corrupt)?;
        let (data, sum) = input.split_at(split);
        if data.len() > limit {
            return Err(XferErrorKind::TooLarge { limit });
        }
        if Hasher::digest(data).as_slice() != sum {
            return Err(XferErrorKind::ChecksumMismatch);
        }
        out.extend_from_slice(data);
        Ok(())
    }
}
