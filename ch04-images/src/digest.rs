//! Content addresses: `sha256:` followed by 64 lowercase hex digits.
//!
//! Everything in the store is named by the digest of its bytes: a layer by
//! the digest of its *uncompressed* tar (the "diff-id"), an image by the
//! digest of its configuration JSON. Two images that contain the same layer
//! therefore find the same directory, and a tampered file no longer matches
//! its name.

use std::fmt;
use std::io::{self, Read, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use anyhow::{Result, bail};
use sha2::{Digest as _, Sha256};

/// A `sha256:<hex>` content address, checked on construction.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(String);

impl Digest {
    /// Parses `sha256:<64 lowercase hex>`. Anything else is refused, so a
    /// digest can be used as a file name without further checks.
    pub fn parse(s: &str) -> Result<Digest> {
        let Some(hex) = s.strip_prefix("sha256:") else {
            bail!("unsupported digest {s:?}: only sha256 is supported");
        };
        if hex.len() != 64
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            bail!("invalid digest {s:?}: expected sha256: and 64 lowercase hex digits");
        }
        Ok(Digest(s.to_string()))
    }

    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest::from_hasher(Sha256::new_with_prefix(bytes))
    }

    fn from_hasher(h: Sha256) -> Digest {
        let out = h.finalize();
        let mut s = String::with_capacity(71);
        s.push_str("sha256:");
        for b in out {
            s.push_str(&format!("{b:02x}"));
        }
        Digest(s)
    }

    /// The hex part, used as a directory or file name.
    pub fn hex(&self) -> &str {
        &self.0[7..]
    }

    /// The first 12 hex digits, as `docker images` shows an id.
    pub fn short(&self) -> &str {
        &self.hex()[..12]
    }

    /// The full `sha256:<hex>` string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How many bytes go to the hashing thread at once.
const CHUNK: usize = 1 << 20;

/// A sha256 computed on a second thread, so that hashing a large layer
/// overlaps with writing its files (the machines have two cores). Buffers go
/// back and forth between the threads instead of being allocated per chunk:
/// a fresh megabyte costs 256 page faults.
pub struct BackgroundHasher {
    tx: Option<SyncSender<Vec<u8>>>,
    free: Receiver<Vec<u8>>,
    /// Small reads (tar headers are 512 bytes) are gathered into one chunk,
    /// so the threads meet once per megabyte, not once per header.
    pending: Vec<u8>,
    thread: Option<JoinHandle<(Digest, u64)>>,
}

impl BackgroundHasher {
    /// Starts the hashing thread.
    pub fn new() -> BackgroundHasher {
        let (tx, rx): (SyncSender<Vec<u8>>, Receiver<Vec<u8>>) = sync_channel(8);
        let (free_tx, free) = sync_channel::<Vec<u8>>(16);
        let thread = std::thread::spawn(move || {
            let mut h = Sha256::new();
            let mut n = 0u64;
            for chunk in rx {
                n += chunk.len() as u64;
                h.update(&chunk);
                let _ = free_tx.try_send(chunk);
            }
            (Digest::from_hasher(h), n)
        });
        BackgroundHasher {
            tx: Some(tx),
            free,
            pending: Vec::with_capacity(CHUNK),
            thread: Some(thread),
        }
    }

    /// Hands bytes to the hashing thread.
    pub fn update(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
        if self.pending.len() >= CHUNK {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let mut next = self
            .free
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(CHUNK));
        next.clear();
        let full = std::mem::replace(&mut self.pending, next);
        if let Some(tx) = &self.tx {
            // A send fails only if the thread died; finish() reports that.
            let _ = tx.send(full);
        }
    }

    /// Waits for the thread and returns the digest and the number of bytes.
    pub fn finish(mut self) -> Result<(Digest, u64)> {
        self.flush();
        drop(self.tx.take());
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(v)) => Ok(v),
            _ => bail!("the hashing thread failed"),
        }
    }
}

impl Default for BackgroundHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for BackgroundHasher {
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A reader that hands every byte it reads to a [`BackgroundHasher`].
pub struct HashingReader<R> {
    inner: R,
    hasher: BackgroundHasher,
}

impl<R: Read> HashingReader<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> HashingReader<R> {
        HashingReader {
            inner,
            hasher: BackgroundHasher::new(),
        }
    }

    /// Reads whatever is left (a tar's end-of-archive padding, say), then
    /// returns the digest of everything read and its length.
    pub fn finish(mut self) -> Result<(Digest, u64)> {
        io::copy(&mut self, &mut io::sink())?;
        self.hasher.finish()
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// A writer that hashes what passes through it (in this thread: used for
/// outputs we write, where the disk is the slow side).
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    len: u64,
}

impl<W: Write> HashingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> HashingWriter<W> {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            len: 0,
        }
    }

    /// The digest and length of everything written, and the inner writer.
    pub fn finish(self) -> (Digest, u64, W) {
        (Digest::from_hasher(self.hasher), self.len, self.inner)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_hash() {
        let d = Digest::of(b"");
        assert_eq!(
            d.as_str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(Digest::parse(d.as_str()).unwrap(), d);
        assert_eq!(d.short(), "e3b0c44298fc");
        for bad in [
            "e3b0",
            "sha256:../../etc",
            "sha512:00",
            &format!("sha256:{}", "A".repeat(64)),
        ] {
            assert!(Digest::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn background_hash_matches() {
        let data = vec![7u8; 3 << 20];
        let mut r = HashingReader::new(&data[..]);
        let mut buf = [0u8; 1000];
        r.read_exact(&mut buf).unwrap();
        let (d, n) = r.finish().unwrap();
        assert_eq!(n, data.len() as u64);
        assert_eq!(d, Digest::of(&data));
    }
}
