//! Giving back the exact tar a layer came from, without keeping the tar.
//!
//! A layer is addressed by the sha256 of its uncompressed tar, and `save`
//! must write that very tar again, byte for byte, or the digest in the image
//! configuration would no longer match. Keeping every layer tar beside its
//! unpacked directory would double the disk space; packing the directory
//! again gives a different tar (other header formats, order, padding).
//!
//! So while unpacking we record the tar's *skeleton*: every byte that is not
//! file content (headers, long-name records, padding, the end marker), plus,
//! for each regular file, "N bytes of content from PATH". The content itself
//! is already in the unpacked directory. Replaying the skeleton and reading
//! the files back gives the original stream; its digest is checked on the way
//! out. (Docker keeps the same kind of record, called tar-split.)
//!
//! The skeleton file is a sequence of records:
//! `b'R' len:u64 bytes` (raw bytes) and `b'F' len:u64 path_len:u32 path`
//! (file content), integers little-endian.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::rc::Rc;

use anyhow::{Context, Result, bail};

use crate::confine::{Confined, components};

struct State {
    out: BufWriter<File>,
    pos: u64,
    raw: Vec<u8>,
    /// The end of the file content being skipped, if any.
    skip_until: Option<u64>,
}

impl State {
    fn flush_raw(&mut self) -> io::Result<()> {
        if !self.raw.is_empty() {
            self.out.write_all(b"R")?;
            self.out.write_all(&(self.raw.len() as u64).to_le_bytes())?;
            self.out.write_all(&self.raw)?;
            self.raw.clear();
        }
        Ok(())
    }
}

/// A reader that records the skeleton of the tar stream passing through it.
pub struct Recorder<R> {
    inner: R,
    state: Rc<RefCell<State>>,
}

/// The unpacker's handle on a [`Recorder`]: it says where file content is.
#[derive(Clone)]
pub struct Marker {
    state: Rc<RefCell<State>>,
}

impl<R: Read> Recorder<R> {
    /// Records what is read from `inner` into the file `out`.
    pub fn new(inner: R, out: File) -> (Recorder<R>, Marker) {
        let state = Rc::new(RefCell::new(State {
            out: BufWriter::with_capacity(1 << 16, out),
            pos: 0,
            raw: Vec::new(),
            skip_until: None,
        }));
        let marker = Marker {
            state: state.clone(),
        };
        (Recorder { inner, state }, marker)
    }

    /// Reads the rest of the stream (the end-of-archive padding), writes the
    /// skeleton out and returns the inner reader.
    pub fn finish(mut self) -> Result<R> {
        io::copy(&mut self, &mut io::sink()).context("read to the end of the tar stream")?;
        {
            let mut st = self.state.borrow_mut();
            st.flush_raw().context("write the layer's tar-split")?;
            st.out.flush().context("write the layer's tar-split")?;
        }
        Ok(self.inner)
    }
}

impl Marker {
    /// Says that the next `len` bytes of the stream are the content of the
    /// regular file `path`, and returns true if they will be referenced
    /// instead of recorded. Must be called before the content is read.
    pub fn file_content(&self, start: u64, len: u64, path: &[u8]) -> io::Result<bool> {
        let mut st = self.state.borrow_mut();
        if len == 0 || start != st.pos || st.skip_until.is_some() {
            return Ok(false);
        }
        st.flush_raw()?;
        st.out.write_all(b"F")?;
        st.out.write_all(&len.to_le_bytes())?;
        st.out.write_all(&(path.len() as u32).to_le_bytes())?;
        st.out.write_all(path)?;
        st.skip_until = Some(start + len);
        Ok(true)
    }
}

impl<R: Read> Read for Recorder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut st = self.state.borrow_mut();
        let mut rest = &buf[..n];
        while !rest.is_empty() {
            if let Some(end) = st.skip_until {
                let take = (end - st.pos).min(rest.len() as u64) as usize;
                st.pos += take as u64;
                rest = &rest[take..];
                if st.pos == end {
                    st.skip_until = None;
                }
            } else {
                st.raw.extend_from_slice(rest);
                st.pos += rest.len() as u64;
                rest = &[];
                if st.raw.len() >= 1 << 20 {
                    st.flush_raw()?;
                }
            }
        }
        Ok(n)
    }
}

// ANCHOR: replay
/// Writes the original tar stream of a layer to `out`: the skeleton from
/// `split`, the file contents from the unpacked directory `diff`.
pub fn replay(split: File, diff: &Confined, out: &mut impl Write) -> Result<()> {
    let mut r = BufReader::with_capacity(1 << 16, split);
    let mut tag = [0u8; 1];
    loop {
        match r.read(&mut tag) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context("read the layer's tar-split"),
        }
        let len = read_u64(&mut r)?;
        match tag[0] {
            b'R' => {
                let copied = io::copy(&mut (&mut r).take(len), out).context("copy tar headers")?;
                if copied != len {
                    bail!("the layer's tar-split is truncated");
                }
            }
            b'F' => {
                let mut plen = [0u8; 4];
                r.read_exact(&mut plen)
                    .context("read the layer's tar-split")?;
                let mut path = vec![0u8; u32::from_le_bytes(plen) as usize];
                r.read_exact(&mut path)
                    .context("read the layer's tar-split")?;
                let comps = components(&path)?;
                let mut file = diff.open_file(&comps)?;
                let copied = io::copy(&mut (&mut file).take(len), out)
                    .with_context(|| format!("copy {}", String::from_utf8_lossy(&path)))?;
                if copied != len {
                    bail!(
                        "{} changed size in the layer directory",
                        String::from_utf8_lossy(&path)
                    );
                }
            }
            other => bail!("the layer's tar-split is corrupt (record type {other})"),
        }
    }
}
// ANCHOR_END: replay

fn read_u64(r: &mut impl Read) -> Result<u64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b).context("read the layer's tar-split")?;
    Ok(u64::from_le_bytes(b))
}
