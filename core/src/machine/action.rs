//! The vocabulary between a machine and its driver: what to do next, and
//! what happened.

use std::fmt;
use std::time::{Duration, Instant};

use http::Request;

use crate::{Body, Endpoint, Error, JobId, JobState, PageCounts};

/// The id of one attempt at a request. Hand it back with the answer, so a
/// late answer to an abandoned attempt can be told apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Attempt(pub(crate) u64);

impl Attempt {
    /// The attempt's number, from 1, unique within one machine.
    #[must_use]
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Attempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Where the body of an answer goes.
///
/// Not `#[non_exhaustive]`, like [`Action`]: a driver must handle every kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sink {
    /// Read it into memory, reading at most `limit + 1` bytes (one more than
    /// allowed tells the machine the body was over its cap), and hand it to
    /// `handle_response`.
    Memory {
        /// The cap, in bytes.
        limit: usize,
    },
    /// On a 2xx answer, stream the body into the output file `name` (already
    /// safe: see [`crate::output::safe_output_name`]) through a temporary
    /// file, renamed into place only when complete; then call
    /// `handle_saved` with the bytes written. The moment the body passes
    /// `max_len` bytes, stop, write nothing, and call `handle_too_large`.
    /// Any other answer: read it into memory as for [`Sink::Memory`] with
    /// `error_limit`, write no file, and hand it to `handle_response`.
    File {
        /// The output's file name.
        name: String,
        /// The most bytes that may be written: the size storage announced,
        /// or the policy's download cap when it announced none.
        max_len: u64,
        /// The cap for a non-2xx body.
        error_limit: usize,
    },
}

/// A request to send.
///
/// Named after quinn's and str0m's `Transmit`: what goes out on the wire.
#[derive(Debug)]
#[non_exhaustive]
pub struct Transmit {
    /// Hand this back with the answer.
    pub attempt: Attempt,
    /// Which retry of its step this is: 0 for the first try, then 1, 2, …
    /// (as [`Event::Retrying`] counted it). Not the attempt, which counts
    /// every request a machine sends.
    pub retry: u32,
    /// The request. A [`Body::File`] is the input file, to be streamed.
    pub request: Request<Body>,
    /// How long the whole exchange may take, body included; past it, report
    /// [`crate::TransportErrorKind::TimedOut`]. Never more than the time
    /// left before the deadline. The machine counts it too.
    pub timeout: Duration,
    /// How long the exchange may go without progress: waiting for the
    /// answer's head, or between two chunks of a body. At most `timeout`.
    pub idle: Duration,
    /// Where the answer's body goes.
    pub sink: Sink,
}

impl Transmit {
    /// A request outside any machine (a one-request call), with attempt 0.
    #[must_use]
    pub fn one_shot(request: Request<Body>, timeout: Duration, sink: Sink) -> Self {
        Transmit {
            attempt: Attempt(0),
            retry: 0,
            request,
            timeout,
            idle: timeout,
            sink,
        }
    }

    /// The endpoint the request is for.
    #[must_use]
    pub fn endpoint(&self) -> Option<Endpoint> {
        self.request.extensions().get::<Endpoint>().copied()
    }
}

/// Why the machine waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitReason {
    /// Until the next status request.
    Poll,
    /// Backing off before a retry (at least as long as `Retry-After`).
    Backoff,
    /// For the answer to the request in flight; past `until` it counts as
    /// timed out.
    Response,
    /// For the client's request budget (its rate limit) to allow the next
    /// request.
    Budget,
}

/// What the driver should do next.
///
/// Deliberately not `#[non_exhaustive]`: a driver must handle every action,
/// and a new one must break its build rather than be ignored.
#[derive(Debug)]
#[must_use]
pub enum Action {
    /// Something happened: report it, then poll again at once. Events come
    /// before any other action, so draining them is part of the loop.
    Event(Event),
    /// Send this request, then call `handle_response` (or `handle_saved`,
    /// `handle_transport_error`, `handle_too_large`) with its attempt.
    Transmit(Transmit),
    /// Nothing to do before `until` (always later than the `now` given to
    /// `poll`); call `poll` again then, or when an answer arrives.
    Wait {
        /// When to poll again.
        until: Instant,
        /// Why.
        reason: WaitReason,
    },
    /// The machine has ended; every later `poll` returns the same.
    Done(crate::Outcome),
}

/// Something that happened, for a progress bar, a log or a journal.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A request that makes or starts a job is about to be sent (the next
    /// action sends it). A journal writes it down first, so that after a
    /// crash it knows the request may have gone out.
    Sending {
        /// [`Endpoint::CreateJob`], [`Endpoint::Start`] or [`Endpoint::Submit`].
        endpoint: Endpoint,
    },
    /// The job was created.
    JobCreated(JobId),
    /// A create may or may not have made a job, and is sent again: at worst
    /// the first made a job that is never started, which costs nothing and
    /// which nobody can start without its id.
    CreateUnconfirmed {
        /// What went wrong.
        error: Error,
    },
    /// A `/doc-ai/v1` submit got no answer and is sent again, as
    /// [`crate::Policy::retry_unconfirmed`] asked: the first may have made a
    /// job that runs and is paid for.
    SubmitUnconfirmed {
        /// What went wrong.
        error: Error,
    },
    /// The input file was uploaded.
    Uploaded {
        /// The file's name.
        file_name: String,
        /// Its length in bytes.
        len: u64,
    },
    /// The job was started (the server said so).
    Started,
    /// A start may or may not have taken effect; the machine watches the
    /// job, and sends the start again only if the job still reads `Pending`
    /// after [`crate::Policy::restart_after`].
    StartUnconfirmed {
        /// What went wrong.
        error: Error,
    },
    /// A start whose answer was lost is sent again to the same job.
    StartResent,
    /// The job's state changed (`from` is `None` at the first status seen).
    StateChanged {
        /// The state before.
        from: Option<JobState>,
        /// The state now.
        to: JobState,
    },
    /// The page counts changed.
    Pages(PageCounts),
    /// A request failed and will be tried again after `after`.
    Retrying {
        /// Which request.
        endpoint: Endpoint,
        /// Which retry this will be, from 1.
        retry: u32,
        /// The wait before it.
        after: Duration,
        /// What went wrong.
        error: Error,
    },
    /// An output was downloaded.
    Downloaded(DownloadedFile),
    /// A file is moving: `done` bytes of `total` (for a download, when
    /// storage announced it). Sent by the driver, not the machine: for a
    /// download once a MiB, for an upload at most four times a second, so
    /// that a progress display can show a large file move.
    Transfer {
        /// Upload or download.
        direction: Direction,
        /// The file's name (the input's, or the output's).
        name: String,
        /// Bytes moved so far.
        done: u64,
        /// The whole size, when known.
        total: Option<u64>,
    },
}

/// Which way a file moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Direction {
    /// The input, to storage.
    Upload,
    /// An output, from storage.
    Download,
}

/// An output file a run downloaded.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DownloadedFile {
    /// The file's name where the driver saved it (safe: see
    /// [`crate::output::safe_output_name`]).
    pub name: String,
    /// The name the server gave it.
    pub server_name: String,
    /// Its length in bytes.
    pub len: u64,
    pub(crate) document: Option<std::sync::Arc<[u8]>>,
}

impl DownloadedFile {
    /// The bytes the driver writes to [`DownloadedFile::name`] itself, for
    /// an output the machine read and checked rather than one streamed to
    /// disk: an extraction's results (`results.json`), checked to be about
    /// its job and with the key scrubbed. `None` for a file the driver
    /// saved from a [`Sink::File`] download.
    #[must_use]
    pub fn document(&self) -> Option<&[u8]> {
        self.document.as_deref()
    }
}

impl std::fmt::Debug for DownloadedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DownloadedFile")
            .field("name", &self.name)
            .field("server_name", &self.server_name)
            .field("len", &self.len)
            .field("document", &self.document.as_ref().map(|d| d.len()))
            .finish()
    }
}
