//! SHA-256 on the way: of what a writer passes on, and of what a reader
//! yields, streamed so that documents are never held whole in memory.
//!
//! Uses only [`crate::files`] for the hex form.

use crate::files::hex;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};

/// A writer that hashes and counts what passes through it.
pub(crate) struct HashingWriter<'a, W: Write> {
    inner: &'a mut W,
    hasher: Sha256,
    bytes: u64,
}

impl<'a, W: Write> HashingWriter<'a, W> {
    /// Starts hashing what is written to `inner`.
    pub(crate) fn new(inner: &'a mut W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// SHA-256 (hex) and size of everything written.
    pub(crate) fn finish(self) -> (String, u64) {
        (hex(&self.hasher.finalize()), self.bytes)
    }
}

impl<W: Write> Write for HashingWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// SHA-256 and size of everything a reader yields, streamed.
pub(crate) fn sha256_reader(r: &mut impl Read) -> std::io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((hex(&hasher.finalize()), total))
}
