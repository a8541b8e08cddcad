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
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use sarvam_doc_core::TransportError;
use sarvam_doc_core::http::{Request, Response};

/// A request's body as the driver hands it to a transport.
#[derive(Debug)]
#[non_exhaustive]
pub enum Outgoing {
    /// No body.
    Empty,
    /// Bytes to send as they are.
    Bytes(Bytes),
    /// The input file, opened and checked by the driver: stream exactly
    /// `len` bytes from it (the request carries `Content-Length: len`;
    /// never send it chunked).
    File {
        /// The open file, at its start.
        file: std::fs::File,
        /// Its length.
        len: u64,
        /// Add to it the bytes sent, as they go: the driver reports them as
        /// progress. ([`Counted`] does it for a reader.)
        sent: Sent,
    },
}

/// The bytes of a body sent so far, shared between a transport, which adds
/// to it, and the driver, which reports it.
#[derive(Clone, Debug, Default)]
pub struct Sent(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl Sent {
    /// Counts `n` more bytes sent.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }

    /// The bytes sent so far.
    #[must_use]
    pub fn get(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// A reader that counts what is read from it into a [`Sent`]: for a
/// transport that sends a body from a reader.
///
/// ```
/// use std::io::Read;
/// use sarvam_doc_driver::{Counted, Sent};
/// let sent = Sent::default();
/// let mut body = Counted::new(&b"hello"[..], sent.clone());
/// let mut out = Vec::new();
/// body.read_to_end(&mut out).unwrap();
/// assert_eq!(sent.get(), 5);
/// ```
#[derive(Debug)]
pub struct Counted<R> {
    inner: R,
    sent: Sent,
}

impl<R> Counted<R> {
    /// `inner`, counted into `sent`.
    pub fn new(inner: R, sent: Sent) -> Self {
        Counted { inner, sent }
    }
}

impl<R: std::io::Read> std::io::Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sent.add(n as u64);
        Ok(n)
    }
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
