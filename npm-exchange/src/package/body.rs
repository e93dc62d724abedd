//! Streaming the publish document: the JSON text around the tarball's `data`, and the tarball
//! itself read from disk and base64-encoded chunk by chunk.

use std::io;
use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use futures_util::Stream;
use sha2::{Digest, Sha512};
use tokio::io::AsyncReadExt as _;

/// Bytes read per chunk: a multiple of 3, so that the base64 of consecutive chunks concatenates
/// into the base64 of the whole file (no padding except after the last chunk).
pub(crate) const CHUNK: usize = 3 * 32 * 1024;

/// The length of padded base64 for `len` bytes.
pub(crate) fn base64_len(len: u64) -> u64 {
    len.div_ceil(3) * 4
}

/// What the stream is made of.
pub(crate) struct BodySource {
    pub(crate) prefix: Bytes,
    pub(crate) suffix: Bytes,
    pub(crate) path: PathBuf,
    pub(crate) size: u64,
    pub(crate) sha512: [u8; 64],
}

enum Stage {
    Prefix,
    Open,
    Tarball(tokio::fs::File),
    Suffix,
    Done,
}

struct State {
    source: BodySource,
    stage: Stage,
    hasher: Sha512,
    read: u64,
    /// The one chunk of the tarball in memory, reused.
    buf: Vec<u8>,
}

impl State {
    fn changed(&mut self, detail: String) -> io::Error {
        self.stage = Stage::Done;
        let path = self.source.path.display();
        io::Error::other(format!(
            "{path} changed on disk after it was read ({detail}); read it again before publishing"
        ))
    }
}

/// Fills `buf` unless the file ends first; returns how many bytes were read.
async fn fill(file: &mut tokio::fs::File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]).await? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

pub(crate) fn body_stream(
    source: BodySource,
) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
    let state = State {
        source,
        stage: Stage::Prefix,
        hasher: Sha512::new(),
        read: 0,
        buf: vec![0; CHUNK],
    };
    futures_util::stream::unfold(state, |mut state| async move {
        loop {
            match std::mem::replace(&mut state.stage, Stage::Done) {
                Stage::Prefix => {
                    state.stage = Stage::Open;
                    let prefix = state.source.prefix.clone();
                    return Some((Ok(prefix), state));
                }
                Stage::Open => match tokio::fs::File::open(&state.source.path).await {
                    Ok(file) => state.stage = Stage::Tarball(file),
                    Err(e) => {
                        let error = io::Error::new(
                            e.kind(),
                            format!("cannot open {}: {e}", state.source.path.display()),
                        );
                        return Some((Err(error), state));
                    }
                },
                Stage::Tarball(mut file) => {
                    let n = match fill(&mut file, &mut state.buf).await {
                        Ok(n) => n,
                        Err(e) => {
                            let error = io::Error::new(
                                e.kind(),
                                format!("cannot read {}: {e}", state.source.path.display()),
                            );
                            return Some((Err(error), state));
                        }
                    };
                    if n == 0 {
                        let digest = std::mem::take(&mut state.hasher).finalize();
                        let detail = if state.read != state.source.size {
                            Some(format!(
                                "it was {} bytes and is now {}",
                                state.source.size, state.read
                            ))
                        } else if digest.as_slice() != state.source.sha512 {
                            Some("its sha512 digest no longer matches".to_owned())
                        } else {
                            None
                        };
                        if let Some(detail) = detail {
                            let error = state.changed(detail);
                            return Some((Err(error), state));
                        }
                        state.stage = Stage::Suffix;
                        continue;
                    }
                    let chunk = &state.buf[..n];
                    state.hasher.update(chunk);
                    state.read += n as u64;
                    if state.read > state.source.size {
                        let detail = format!("it is now larger than {} bytes", state.source.size);
                        let error = state.changed(detail);
                        return Some((Err(error), state));
                    }
                    state.stage = Stage::Tarball(file);
                    let encoded = Bytes::from(STANDARD.encode(chunk));
                    return Some((Ok(encoded), state));
                }
                Stage::Suffix => {
                    let suffix = state.source.suffix.clone();
                    return Some((Ok(suffix), state));
                }
                Stage::Done => return None,
            }
        }
    })
}
