//! What a transport implements: send one request, stream a body in or out,
//! and (async only) sleep and run blocking work.
//!
//! Two small traits, in the shape of oauth2-rs's pluggable clients: a
//! blocking [`Transport`] and an [`AsyncTransport`]. The driver's logic is
//! written once, against [`AsyncTransport`]; a blocking transport is run
//! through the same code by [`Blocking`], whose futures finish the first
//! time they are polled, and [`block_on`].

use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use sarvam_doc_core::TransportError;
use sarvam_doc_core::http::{Request, Response};
use sha2::{Digest, Sha256};

/// A request's body as the driver hands it to a transport.
#[derive(Debug)]
#[non_exhaustive]
pub enum Outgoing {
    /// No body.
    Empty,
    /// Bytes to send as they are.
    Bytes(Bytes),
    /// The input file, opened and checked by the driver: read it to its end
    /// and send what it gives (the request carries `Content-Length` of
    /// [`UploadBody::len`]; never send it chunked). A read that fails must
    /// fail the request: the body is then cut short, and the driver knows
    /// why.
    File(UploadBody),
}

/// The bytes of a body sent so far, shared between the reader of an upload,
/// which adds to it, and the driver, which reports it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Sent(Arc<std::sync::atomic::AtomicU64>);

impl Sent {
    /// Counts `n` more bytes sent.
    fn add(&self, n: u64) {
        self.0.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }

    /// The bytes sent so far.
    pub(crate) fn get(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// The input file as an upload's body: exactly its planned length, counted
/// as it goes, and hashed as it is read.
///
/// The bytes a transport reads are the bytes it sends, so their SHA-256 is
/// the hash of what storage gets. With a planned hash (the one preflight
/// took, which the journal and the manifest record), the read that would
/// hand out the *last* bytes first compares the two, and on a mismatch
/// fails instead: the body is never complete, so storage never holds the
/// whole upload and no job is started (legacy) or submitted (`/doc-ai/v1`)
/// with it. A file that ends before its length fails the same way.
pub struct UploadBody {
    file: std::fs::File,
    len: u64,
    left: u64,
    /// The running hash, when there is a planned one to compare with.
    check: Option<(Sha256, String)>,
    sent: Sent,
    /// Why the upload was stopped, for the driver.
    changed: Arc<OnceLock<Changed>>,
}

impl std::fmt::Debug for UploadBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadBody")
            .field("len", &self.len)
            .field("left", &self.left)
            .field("checked", &self.check.is_some())
            .finish_non_exhaustive()
    }
}

impl UploadBody {
    /// `file`, at its start, as a body of `len` bytes whose SHA-256 must be
    /// `planned` (hex), when given.
    pub(crate) fn new(file: std::fs::File, len: u64, planned: Option<&str>) -> Self {
        UploadBody {
            file,
            len,
            left: len,
            check: planned.map(|p| (Sha256::new(), p.to_ascii_lowercase())),
            sent: Sent::default(),
            changed: Arc::default(),
        }
    }

    /// The length of the body: the request's `Content-Length`.
    #[must_use]
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the body is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes read so far, shared.
    pub(crate) fn sent(&self) -> Sent {
        self.sent.clone()
    }

    /// Why the upload was stopped, once it was.
    pub(crate) fn verdict(&self) -> Arc<OnceLock<Changed>> {
        Arc::clone(&self.changed)
    }

    fn stop(&self, why: Changed) -> std::io::Error {
        let why = *self.changed.get_or_init(|| why);
        std::io::Error::other(why)
    }
}

impl std::io::Read for UploadBody {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if let Some(why) = self.changed.get() {
            return Err(std::io::Error::other(*why));
        }
        if self.left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = loop {
            match self.file.read(&mut buf[..want]) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                other => break other?,
            }
        };
        if n == 0 {
            return Err(self.stop(Changed::Ended {
                at: self.len - self.left,
                len: self.len,
            }));
        }
        let left = self.left - n as u64;
        if let Some((hash, planned)) = &mut self.check {
            hash.update(&buf[..n]);
            // The last bytes go out only once the whole is known to be the
            // file that was planned.
            if left == 0 && hex(&std::mem::take(hash).finalize()) != *planned {
                return Err(self.stop(Changed::Hash));
            }
        }
        self.left = left;
        self.sent.add(n as u64);
        Ok(n)
    }
}

/// How the input file changed while it was uploaded (or since it was
/// planned): the upload was stopped before it was whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Changed {
    /// Its length is not the planned one.
    Length {
        /// Its length now.
        actual: u64,
        /// The planned one.
        len: u64,
    },
    /// It ended early.
    Ended {
        /// After this many bytes.
        at: u64,
        /// Of this many.
        len: u64,
    },
    /// What was read is not what was planned.
    Hash,
}

impl std::fmt::Display for Changed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Changed::Length { actual, len } => {
                write!(f, "changed while the job ran ({actual} bytes, not {len})")?
            }
            Changed::Ended { at, len } => write!(
                f,
                "changed while it was being uploaded (it ended after {at} of its {len} bytes)"
            )?,
            Changed::Hash => f.write_str(
                "changed while it was being uploaded (its SHA-256 is not the one planned)",
            )?,
        }
        f.write_str(": nothing was started; run it again once the file no longer changes")
    }
}

impl std::error::Error for Changed {}

impl Changed {
    /// Whether `e` says an input changed: its message then reads after the
    /// file's name.
    pub(crate) fn is(e: &std::io::Error) -> bool {
        e.get_ref().is_some_and(|inner| inner.is::<Changed>())
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// How long an exchange may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// The whole exchange, the body included.
    pub total: Duration,
    /// Any wait without progress: for the answer's head, for the next bytes
    /// of a body, for room to send. At most `total`.
    pub idle: Duration,
}

impl Timeouts {
    /// `total` for the whole exchange, `idle` for any wait without progress.
    #[must_use]
    pub fn new(total: Duration, idle: Duration) -> Self {
        Timeouts {
            total,
            idle: idle.min(total),
        }
    }
}

/// A blocking transport: sends one request and hands back the answer with
/// its body unread.
///
/// A transport holds no protocol rule: it must not follow redirects (a
/// redirect must never carry the key elsewhere), must send every header and
/// body byte as given, and must say how a failure happened
/// ([`sarvam_doc_core::TransportErrorKind`]).
pub trait Transport: Send + Sync + 'static {
    /// The body of an answer.
    type Body: BlockingBody;

    /// Sends `request` and returns the answer's head. The whole exchange,
    /// reading the body included, must end within `timeouts.total`, and no
    /// wait (for the head, for the next bytes) may pass `timeouts.idle`.
    ///
    /// # Errors
    /// How the exchange failed.
    fn send(
        &self,
        request: Request<Outgoing>,
        timeouts: Timeouts,
    ) -> Result<Response<Self::Body>, TransportError>;
}

/// The body of an answer, read by a blocking transport.
pub trait BlockingBody: Send {
    /// Reads the next bytes into `buf`; 0 at the end.
    ///
    /// # Errors
    /// How the body broke off.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, TransportError>;
}

/// An async transport: sends one request, sleeps, and runs blocking work
/// (writing and unpacking outputs) off the async threads.
pub trait AsyncTransport: Send + Sync + 'static {
    /// The body of an answer.
    type Body: ResponseBody;

    /// Sends `request` and returns the answer's head. The driver bounds the
    /// exchange by `timeouts` too; a transport should pass them on.
    fn send(
        &self,
        request: Request<Outgoing>,
        timeouts: Timeouts,
    ) -> impl Future<Output = Result<Response<Self::Body>, TransportError>> + Send;

    /// Sleeps until `until`.
    fn sleep_until(&self, until: Instant) -> impl Future<Output = ()> + Send;

    /// Runs `work`, which blocks (file I/O), where it does not hold up
    /// other tasks.
    fn blocking<R, W>(&self, work: W) -> impl Future<Output = R> + Send
    where
        R: Send + 'static,
        W: FnOnce() -> R + Send + 'static;
}

/// The body of an answer, read by an async transport.
pub trait ResponseBody: Send {
    /// The next chunk of bytes, or `None` at the end.
    fn chunk(&mut self) -> impl Future<Output = Result<Option<Bytes>, TransportError>> + Send;
}

/// A blocking [`Transport`] seen as an [`AsyncTransport`]. Eager: each
/// method does its I/O when it is *called*, on the caller's thread, and
/// returns a future that is already ready; the driver's one loop runs it
/// with [`block_on`]. Its futures must not be raced against timers (as in a
/// `select!`): the work is done before there is anything to race, which is
/// why the blocking transport bounds each exchange itself (`Timeouts`).
#[derive(Clone, Debug, Default)]
pub struct Blocking<T>(pub T);

impl<T: Transport> AsyncTransport for Blocking<T> {
    type Body = ReadBody<T::Body>;

    fn send(
        &self,
        request: Request<Outgoing>,
        timeouts: Timeouts,
    ) -> impl Future<Output = Result<Response<Self::Body>, TransportError>> + Send {
        let result = self.0.send(request, timeouts).map(|r| {
            r.map(|body| ReadBody {
                body,
                buf: Vec::new(),
            })
        });
        std::future::ready(result)
    }

    /// Sleeps the thread when polled (never merely when made: a race
    /// against a ready future must not sleep).
    async fn sleep_until(&self, until: Instant) {
        let now = Instant::now();
        if until > now {
            std::thread::sleep(until - now);
        }
    }

    async fn blocking<R, W>(&self, work: W) -> R
    where
        R: Send + 'static,
        W: FnOnce() -> R + Send + 'static,
    {
        work()
    }
}

/// The body of a blocking transport's answer, read in chunks.
#[derive(Debug)]
pub struct ReadBody<B> {
    body: B,
    /// One buffer for the whole body: small answers cost one small buffer,
    /// large downloads grow it to 64 KiB once.
    buf: Vec<u8>,
}

/// The first and the largest chunk a blocking body is read in.
const FIRST_CHUNK: usize = 8 * 1024;
const CHUNK: usize = 64 * 1024;

impl<B: BlockingBody> ResponseBody for ReadBody<B> {
    fn chunk(&mut self) -> impl Future<Output = Result<Option<Bytes>, TransportError>> + Send {
        if self.buf.is_empty() {
            self.buf = vec![0u8; FIRST_CHUNK];
        }
        let result = self
            .body
            .read(&mut self.buf)
            .map(|n| (n > 0).then(|| Bytes::copy_from_slice(&self.buf[..n])));
        // A full buffer means a large body: read the rest in larger chunks.
        if matches!(&result, Ok(Some(b)) if b.len() == self.buf.len()) && self.buf.len() < CHUNK {
            self.buf = vec![0u8; CHUNK];
        }
        std::future::ready(result)
    }
}

/// Wakes the thread that waits in [`block_on`].
struct ThreadWaker(std::thread::Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `future` to its end on this thread. The driver's futures over a
/// [`Blocking`] transport end on the first poll; any other future works too,
/// parking the thread until it is woken.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::park();
    }
}

/// Races `work` against `transport` sleeping until `deadline`: `None` if the
/// deadline came first. With a [`Blocking`] transport `work` is polled
/// first and is always ready, so the sleep never happens.
/// [`within`], calling `tick` about every `every` while `work` runs.
pub(crate) async fn within_ticking<T: AsyncTransport, F: Future>(
    transport: &T,
    deadline: Instant,
    work: F,
    every: Duration,
    mut tick: impl FnMut(),
) -> Option<F::Output> {
    let mut work = pin!(work);
    loop {
        let next = (Instant::now() + every).min(deadline);
        let sleep = pin!(transport.sleep_until(next));
        match futures_util::future::select(work.as_mut(), sleep).await {
            futures_util::future::Either::Left((output, _)) => return Some(output),
            futures_util::future::Either::Right(((), _)) if Instant::now() >= deadline => {
                return None;
            }
            futures_util::future::Either::Right(((), _)) => tick(),
        }
    }
}

pub(crate) async fn within<T: AsyncTransport, F: Future>(
    transport: &T,
    deadline: Instant,
    work: F,
) -> Option<F::Output> {
    let work = pin!(work);
    let sleep = pin!(transport.sleep_until(deadline));
    match futures_util::future::select(work, sleep).await {
        futures_util::future::Either::Left((output, _)) => Some(output),
        futures_util::future::Either::Right(((), _)) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// A file holding `bytes`, and its SHA-256 in hex.
    fn file_of(bytes: &[u8]) -> (tempfile::NamedTempFile, String) {
        let mut file = tempfile::NamedTempFile::new().unwrap_or_else(|e| panic!("{e}"));
        file.write_all(bytes).unwrap_or_else(|e| panic!("{e}"));
        (file, hex(&Sha256::digest(bytes)))
    }

    fn open(file: &tempfile::NamedTempFile) -> std::fs::File {
        std::fs::File::open(file.path()).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Reads `body` in 7-byte reads until it ends or fails: what it handed
    /// out, and the error.
    fn drain(body: &mut UploadBody) -> (Vec<u8>, Option<std::io::Error>) {
        let mut out = Vec::new();
        let mut buf = [0u8; 7];
        loop {
            match body.read(&mut buf) {
                Ok(0) => return (out, None),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) => return (out, Some(e)),
            }
        }
    }

    #[test]
    fn an_upload_of_the_planned_bytes_hands_them_all_out_and_counts_them() {
        let bytes = b"%PDF-1.4 the planned bytes, thirty-odd of them".to_vec();
        let (file, sha) = file_of(&bytes);
        let mut body = UploadBody::new(open(&file), bytes.len() as u64, Some(&sha.to_uppercase()));
        let sent = body.sent();
        let (out, error) = drain(&mut body);
        assert!(error.is_none(), "{error:?}");
        assert_eq!(out, bytes);
        assert_eq!(sent.get(), bytes.len() as u64);
        assert!(body.verdict().get().is_none());
    }

    #[test]
    fn an_upload_whose_bytes_are_not_the_planned_ones_withholds_its_last_bytes() {
        let planned = b"%PDF-1.4 the planned bytes, thirty-odd of them";
        let (_, sha) = file_of(planned);
        // The same size, one byte edited near the start.
        let (file, _) = file_of(b"%PDF-1.5 the planned bytes, thirty-odd of them");
        let mut body = UploadBody::new(open(&file), planned.len() as u64, Some(&sha));
        let sent = body.sent();
        let (out, error) = drain(&mut body);
        let error = error.unwrap_or_else(|| panic!("the edited file went out whole"));
        assert!(out.len() < planned.len(), "{} bytes went out", out.len());
        assert_eq!(sent.get(), out.len() as u64);
        assert_eq!(body.verdict().get(), Some(&Changed::Hash));
        assert!(Changed::is(&error));
        assert!(
            error.to_string().contains("SHA-256 is not the one planned"),
            "{error}"
        );
        // And it stays stopped.
        assert!(body.read(&mut [0u8; 64]).is_err());
    }

    #[test]
    fn an_upload_of_a_file_that_ends_early_fails_after_what_it_had() {
        let (file, _) = file_of(b"short");
        let mut body = UploadBody::new(open(&file), 12, None);
        let (out, error) = drain(&mut body);
        assert_eq!(out, b"short");
        assert!(error.is_some_and(|e| Changed::is(&e)));
        assert_eq!(
            body.verdict().get(),
            Some(&Changed::Ended { at: 5, len: 12 })
        );
    }

    #[test]
    fn an_upload_reads_no_more_than_its_length() {
        let (file, _) = file_of(b"0123456789");
        let mut body = UploadBody::new(open(&file), 4, Some(&hex(&Sha256::digest(b"0123"))));
        let (out, error) = drain(&mut body);
        assert!(error.is_none(), "{error:?}");
        assert_eq!(out, b"0123");
    }

    #[test]
    fn block_on_runs_ready_and_woken_futures() {
        assert_eq!(block_on(async { 7 }), 7);
        // A future that is pending once and wakes itself.
        let mut polled = false;
        let out = block_on(std::future::poll_fn(|cx| {
            if polled {
                Poll::Ready(3)
            } else {
                polled = true;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }));
        assert_eq!(out, 3);
    }
}
