//! One request: its body streamed in from the input file, its answer read
//! into memory or streamed into an output file, all within the timeout the
//! core gave, in a tracing span.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use sarvam_doc_core::http::header::CONTENT_LENGTH;
use sarvam_doc_core::http::{Request, Response};
use sarvam_doc_core::{
    Api, Body, Direction, Event, Sink, Transmit, TransportError, TransportErrorKind, api::Endpoint,
};
use tracing::Instrument;

use crate::transport::{
    AsyncTransport, Changed, Outgoing, ResponseBody, Timeouts, UploadBody, within, within_ticking,
};

/// The local files of a drive.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Files<'a> {
    /// The input file, for an upload.
    pub(crate) input: Option<&'a Path>,
    /// The SHA-256 (hex) the input was planned with, when it was: what is
    /// uploaded must hash to it, or the upload is stopped before its end.
    pub(crate) sha256: Option<&'a str>,
    /// Where downloads are saved.
    pub(crate) out_dir: &'a Path,
    /// Whether a download may replace a file of its name.
    pub(crate) overwrite: bool,
}

impl Files<'_> {
    pub(crate) fn none() -> Files<'static> {
        Files {
            input: None,
            sha256: None,
            out_dir: Path::new("."),
            overwrite: false,
        }
    }
}

/// How an exchange ended.
pub(crate) enum Exchanged {
    /// An answer, its body in memory.
    Answer(Response<Vec<u8>>),
    /// A 2xx answer whose body was saved to its file: the head (with an
    /// empty body) and the bytes written.
    Saved(Response<Vec<u8>>, u64),
    /// No answer: tell the core how it failed.
    Transport(TransportError),
    /// A download passed its bound at this many bytes; nothing was kept.
    TooLarge(u64),
    /// The input could not be read, or changed (then the upload was cut
    /// before its end): stop.
    Input(PathBuf, io::Error),
    /// An output could not be written: stop.
    Output(PathBuf, io::Error),
}

/// Sends one request as the core described it, in a tracing span (endpoint,
/// method, path, attempt: never the key, never the query, which may hold a
/// signature). The answer's request id is logged as `api` cleans it (the key
/// redacted, printable, bounded): no header goes to the log as it came.
pub(crate) async fn exchange<T: AsyncTransport>(
    transport: &T,
    api: &Api,
    transmit: Transmit,
    files: Files<'_>,
    progress: &mut (dyn FnMut(&Event) + Send),
) -> Exchanged {
    let endpoint = transmit.endpoint();
    let span = tracing::debug_span!(
        "sarvam_doc.request",
        endpoint = endpoint.map_or("other", Endpoint::name),
        method = %transmit.request.method(),
        path = transmit.request.uri().path(),
        attempt = transmit.attempt.get(),
        retry = transmit.retry,
    );
    let started = Instant::now();
    let result = exchange_inner(transport, transmit, files, progress)
        .instrument(span.clone())
        .await;
    let _entered = span.enter();
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    match &result {
        Exchanged::Answer(r) | Exchanged::Saved(r, _) => {
            // Cleaned only when the event is recorded: with no subscriber
            // listening, the id costs nothing.
            tracing::debug!(
                status = r.status().as_u16(),
                elapsed_ms,
                request_id = api.request_id(r.headers()),
                "answered"
            );
        }
        Exchanged::Transport(e) => tracing::debug!(error = %e, elapsed_ms, "failed"),
        Exchanged::TooLarge(n) => {
            tracing::debug!(received = n, elapsed_ms, "stopped: over its bound")
        }
        Exchanged::Input(..) | Exchanged::Output(..) => {}
    }
    result
}

async fn exchange_inner<T: AsyncTransport>(
    transport: &T,
    transmit: Transmit,
    files: Files<'_>,
    progress: &mut (dyn FnMut(&Event) + Send),
) -> Exchanged {
    let limits = Limits {
        deadline: Instant::now() + transmit.timeout,
        timeouts: Timeouts::new(transmit.timeout, transmit.idle),
    };
    let (parts, body) = transmit.request.into_parts();
    let mut upload = None;
    let outgoing = match body {
        Body::Empty => Outgoing::Empty,
        Body::Bytes(bytes) => Outgoing::Bytes(Bytes::from(bytes)),
        Body::File { len, file_name } => match transport
            .blocking({
                let input = files.input.map(Path::to_owned);
                let planned = files.sha256.map(str::to_owned);
                move || open_input(input.as_deref(), len, planned.as_deref())
            })
            .await
        {
            Ok(body) => {
                upload = Some((file_name, len, body.sent(), body.verdict()));
                Outgoing::File(body)
            }
            Err((path, e)) => return Exchanged::Input(path, e),
        },
    };
    let target = match &transmit.sink {
        Sink::File { name, .. } => {
            let target = files.out_dir.join(name);
            let exists = {
                let target = target.clone();
                transport.blocking(move || target.exists()).await
            };
            if !files.overwrite && exists {
                return Exchanged::Output(target, io::ErrorKind::AlreadyExists.into());
            }
            Some(target)
        }
        Sink::Memory { .. } => None,
    };
    let request = Request::from_parts(parts, outgoing);
    let send = transport.send(request, limits.timeouts);
    let sending = match &upload {
        // An upload says how far it has got, four times a second at most.
        Some((name, len, sent, _)) => {
            let mut reported = 0;
            let mut tick = || {
                let done = sent.get();
                if done != reported {
                    reported = done;
                    progress(&Event::Transfer {
                        direction: Direction::Upload,
                        name: name.clone(),
                        done,
                        total: Some(*len),
                    });
                }
            };
            let sent = within_ticking(
                transport,
                limits.next_wait(),
                send,
                Duration::from_millis(250),
                &mut tick,
            )
            .await;
            // And once at the end: a blocking transport, which sends on
            // this thread, reports only then.
            tick();
            sent
        }
        None => within(transport, limits.next_wait(), send).await,
    };
    // A changed input cut its upload short: whatever the transport made of
    // that (or of an answer that came anyway), the input is what failed.
    if let Some((_, _, _, verdict)) = &upload
        && let Some(changed) = verdict.get()
        && let Some(path) = files.input
    {
        return Exchanged::Input(path.to_owned(), io::Error::other(*changed));
    }
    let response = match sending {
        Some(Ok(response)) => response,
        Some(Err(e)) => return Exchanged::Transport(e),
        None => return Exchanged::Transport(limits.timed_out()),
    };
    let (parts, mut body) = response.into_parts();
    match (&transmit.sink, target) {
        (Sink::File { max_len, name, .. }, Some(target)) if parts.status.is_success() => {
            let total = parts
                .headers
                .get(CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok());
            let mut report = |done| {
                progress(&Event::Transfer {
                    direction: Direction::Download,
                    name: name.clone(),
                    done,
                    total,
                });
            };
            match save(
                transport,
                &mut body,
                limits,
                &target,
                *max_len,
                files.overwrite,
                &mut report,
            )
            .await
            {
                Saved::Done(written) => {
                    Exchanged::Saved(Response::from_parts(parts, Vec::new()), written)
                }
                Saved::TooLarge(n) => Exchanged::TooLarge(n),
                Saved::Transport(e) => Exchanged::Transport(e),
                Saved::Local(e) => Exchanged::Output(target, e),
            }
        }
        (
            Sink::File {
                error_limit: limit, ..
            },
            _,
        )
        | (Sink::Memory { limit }, _) => {
            match read_capped(transport, &mut body, limits, *limit).await {
                Ok(bytes) => Exchanged::Answer(Response::from_parts(parts, bytes)),
                Err(e) => Exchanged::Transport(e),
            }
        }
    }
}

/// Opens the input as an upload's body, after checking it is still the
/// length the job was made for; what is read of it must hash to `planned`.
///
/// Without a planned hash (a library `run`, which takes none: it has no
/// journal and its manifest records no hash) nothing is compared: hashing
/// at open would read every input twice to guard a claim nobody made. The
/// length is checked all the same, at open and as the file is read.
fn open_input(
    input: Option<&Path>,
    len: u64,
    planned: Option<&str>,
) -> Result<UploadBody, (PathBuf, io::Error)> {
    let Some(path) = input else {
        return Err((
            PathBuf::new(),
            io::Error::other("the run has no input file"),
        ));
    };
    let fail = |e| (path.to_owned(), e);
    let file = std::fs::File::open(path).map_err(fail)?;
    let actual = file.metadata().map_err(fail)?.len();
    if actual != len {
        return Err(fail(io::Error::other(Changed::Length { actual, len })));
    }
    Ok(UploadBody::new(file, len, planned))
}

/// The bounds of one exchange.
#[derive(Clone, Copy)]
struct Limits {
    deadline: Instant,
    timeouts: Timeouts,
}

impl Limits {
    /// The end of the next wait: the idle bound from now, or the deadline.
    fn next_wait(&self) -> Instant {
        (Instant::now() + self.timeouts.idle).min(self.deadline)
    }

    fn timed_out(&self) -> TransportError {
        let message = if Instant::now() >= self.deadline {
            format!(
                "no complete answer within {:.1} s",
                self.timeouts.total.as_secs_f64()
            )
        } else {
            format!("nothing came for {:.1} s", self.timeouts.idle.as_secs_f64())
        };
        TransportError::new(TransportErrorKind::TimedOut, message)
    }
}

/// The next chunk of `body`, within the idle bound and the deadline.
async fn next_chunk<T: AsyncTransport, B: ResponseBody>(
    transport: &T,
    body: &mut B,
    limits: Limits,
) -> Result<Option<Bytes>, TransportError> {
    match within(transport, limits.next_wait(), body.chunk()).await {
        Some(chunk) => chunk,
        None => Err(limits.timed_out()),
    }
}

/// Reads at most `limit + 1` bytes: one more than allowed is enough for the
/// core to see the body is over its cap.
async fn read_capped<T: AsyncTransport, B: ResponseBody>(
    transport: &T,
    body: &mut B,
    limits: Limits,
    limit: usize,
) -> Result<Vec<u8>, TransportError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = next_chunk(transport, body, limits).await? {
        let room = (limit + 1).saturating_sub(bytes.len());
        bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if bytes.len() > limit {
            break;
        }
    }
    Ok(bytes)
}

enum Saved {
    Done(u64),
    TooLarge(u64),
    Transport(TransportError),
    Local(io::Error),
}

/// Streams a download into a temporary file beside its target, renamed into
/// place only when whole: a cut or refused download leaves nothing behind.
/// Stops the moment the body passes `max_len`.
async fn save<T: AsyncTransport, B: ResponseBody>(
    transport: &T,
    body: &mut B,
    limits: Limits,
    target: &Path,
    max_len: u64,
    overwrite: bool,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Saved {
    let dir = target.parent().unwrap_or_else(|| Path::new(".")).to_owned();
    let tmp = match transport.blocking(move || part_file(&dir)).await {
        Ok(tmp) => tmp,
        Err(e) => return Saved::Local(e),
    };
    // Writes go to the page cache in 256 KiB batches; the sync that waits on
    // the disk runs as blocking work.
    let mut out = io::BufWriter::with_capacity(256 * 1024, tmp);
    let mut written: u64 = 0;
    loop {
        let chunk = match next_chunk(transport, body, limits).await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(e) => return Saved::Transport(e),
        };
        let len = chunk.len() as u64;
        if written.saturating_add(len) > max_len {
            return Saved::TooLarge(written.saturating_add(len).min(max_len.saturating_add(1)));
        }
        if let Err(e) = out.write_all(&chunk) {
            return Saved::Local(e);
        }
        if (written + len) / PROGRESS_STEP > written / PROGRESS_STEP {
            progress(written + len);
        }
        written += len;
    }
    let tmp = match out.into_inner() {
        Ok(tmp) => tmp,
        Err(e) => return Saved::Local(e.into_error()),
    };
    let target = target.to_owned();
    let persisted = transport
        .blocking(move || {
            tmp.as_file().sync_all()?;
            persist(tmp, &target, overwrite)
        })
        .await;
    match persisted {
        Ok(()) => Saved::Done(written),
        Err(e) => Saved::Local(e),
    }
}

/// How often a download reports its progress: once a MiB.
const PROGRESS_STEP: u64 = 1024 * 1024;

/// A temporary file in `dir` for a download in progress. Once renamed into
/// place it is an ordinary file (rw-r--r--), not a private temporary one.
pub(crate) fn part_file(dir: &Path) -> io::Result<tempfile::NamedTempFile> {
    let mut builder = crate::staging::part_builder();
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
    builder.tempfile_in(dir)
}

/// Renames a finished temporary file into place, never over an existing
/// file unless `overwrite`.
pub(crate) fn persist(
    tmp: tempfile::NamedTempFile,
    target: &Path,
    overwrite: bool,
) -> io::Result<()> {
    let result = if overwrite {
        tmp.persist(target).map(drop)
    } else {
        tmp.persist_noclobber(target).map(drop)
    };
    result.map_err(|e| e.error)
}
