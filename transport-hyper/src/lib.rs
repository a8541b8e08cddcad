//! Async transport for `sarvam-doc`, on hyper-util's pooled client (rustls
//! with ring, HTTP/1.1 and HTTP/2) and tokio.
//!
//! It only moves bytes: what to send, when to retry and when to give up are
//! the core's ([`sarvam_doc_core`]), and files, timeouts and unpacking are the
//! driver's ([`sarvam_doc_driver`]). Each watch or run is one small future,
//! so many thousands fit in one process.
//!
//! 1. Make a [`Client`] from a [`Config`] within a tokio runtime:
//!    [`Client::new`] (webpki roots; `HTTPS_PROXY`, `HTTP_PROXY`,
//!    `ALL_PROXY` and `NO_PROXY` honoured), or [`Client::with_transport`]
//!    for the operating system's certificate store ([`Hyper::with_roots`]) or
//!    your own connector ([`Hyper::with_connector`]). Clones share the pool.
//! 2. `await` [`Client::run`] or [`Client::watch`] for one job, or
//!    [`Client::run_all`] / [`Client::watch_all`] for many, with a bound on
//!    how many run at once.
//! 3. Or call one endpoint at a time: [`Client::status`], … (one request
//!    each, no retries).
//!
//! ```no_run
//! use sarvam_doc_core::{ApiKey, Config, Outcome};
//! use sarvam_doc_hyper::Client;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let client: Client = Client::new(Config::new(ApiKey::new(std::env::var("SARVAM_API_KEY")?)?));
//! let job = "3fa85f64-5717-4562-b3fc-2c963f66afa6".parse()?;
//! match client.watch(job, |event| eprintln!("{event:?}")).await {
//!     Outcome::Completed { status, .. } => println!("{} pages", status.pages().succeeded),
//!     other => eprintln!("{other}"),
//! }
//! # Ok(()) }
//! ```
//!
//! # Your own connector
//!
//! Any hyper-util connector works; wrap it in rustls yourself for https. Do
//! not add a redirect-following layer: a redirect must never carry the key
//! to another origin.
//!
//! ```no_run
//! use hyper_util::client::legacy::connect::HttpConnector;
//! # let config = sarvam_doc_core::Config::new(sarvam_doc_core::ApiKey::new("k").unwrap());
//! # let _rt = tokio::runtime::Runtime::new().unwrap(); let _g = _rt.enter();
//! let mut http = HttpConnector::new();
//! http.enforce_http(false);
//! let tls = rustls::ClientConfig::builder_with_provider(rustls::crypto::ring::default_provider().into())
//!     .with_safe_default_protocol_versions()
//!     .unwrap()
//!     .with_root_certificates(rustls::RootCertStore::empty()) // your roots here
//!     .with_no_client_auth();
//! let https = hyper_rustls::HttpsConnectorBuilder::new()
//!     .with_tls_config(tls)
//!     .https_or_http()
//!     .enable_all_versions()
//!     .wrap_connector(http);
//! let client = sarvam_doc_hyper::Client::with_transport(config, sarvam_doc_hyper::Hyper::with_connector(https));
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connect, Connected, Connection, HttpConnector};
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioIo};
use sarvam_doc_core::http::{Request, Response, Uri};
use sarvam_doc_core::{TransportError, TransportErrorKind};
use sarvam_doc_driver::{AsyncTransport, Outgoing, ResponseBody, Timeouts, UploadBody};

pub use sarvam_doc_core::{self, Config};
pub use sarvam_doc_driver::{self, Layout, Report, Roots, RunError, RunOptions};
pub use {hyper, hyper_rustls, hyper_util, rustls};

/// The async client: the driver's [`sarvam_doc_driver::Client`] over
/// [`Hyper`].
pub type Client<C = DefaultConnector> = sarvam_doc_driver::Client<Hyper<C>>;

/// The connector [`Hyper`] uses by default: rustls over a connector that
/// goes through the environment's proxy when there is one.
pub type DefaultConnector = hyper_rustls::HttpsConnector<ProxyConnector>;

/// The request body type of the hyper client.
pub type RequestBody = BoxBody<Bytes, io::Error>;

/// The async transport: a pooled hyper-util client over connector `C`.
#[derive(Clone, Debug)]
pub struct Hyper<C = DefaultConnector> {
    http: hyper_util::client::legacy::Client<C, RequestBody>,
}

impl Default for Hyper {
    /// [`Hyper::with_roots`] with webpki roots. Must be called within a
    /// tokio runtime.
    fn default() -> Self {
        Hyper::with_roots(Roots::WebPki)
    }
}

impl Hyper {
    /// The default client, trusting `roots`: pooled, HTTP/1.1 and HTTP/2 by
    /// ALPN (plain HTTP/1.1 for loopback), proxies from the environment
    /// (never for loopback), a 10 s connect timeout, TCP_NODELAY, no
    /// redirects.
    #[must_use]
    pub fn with_roots(roots: Roots) -> Self {
        let mut direct = HttpConnector::new();
        direct.enforce_http(false);
        direct.set_nodelay(true);
        direct.set_connect_timeout(Some(Duration::from_secs(10)));
        let proxied = ProxyConnector::from_env(direct);
        let builder = hyper_rustls::HttpsConnectorBuilder::new();
        let builder = match roots {
            Roots::Platform => builder
                .try_with_platform_verifier()
                .unwrap_or_else(|_| hyper_rustls::HttpsConnectorBuilder::new().with_webpki_roots()),
            // The explicit provider: never depend on a process-wide default.
            Roots::WebPki => builder
                .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
                .unwrap_or_else(|_| hyper_rustls::HttpsConnectorBuilder::new().with_webpki_roots()),
        };
        Hyper::with_connector(
            builder
                .https_or_http()
                .enable_all_versions()
                .wrap_connector(proxied),
        )
    }
}

impl<C: Connect + Clone + Send + Sync + 'static> Hyper<C> {
    /// A pooled client over your own `connector`.
    #[must_use]
    pub fn with_connector(connector: C) -> Self {
        let http = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .build(connector);
        Hyper { http }
    }
}

impl<C: Connect + Clone + Send + Sync + 'static> AsyncTransport for Hyper<C> {
    type Body = HyperBody;

    async fn send(
        &self,
        request: Request<Outgoing>,
        timeouts: Timeouts,
    ) -> Result<Response<HyperBody>, TransportError> {
        let (parts, body) = request.into_parts();
        let body: RequestBody = match body {
            Outgoing::Empty => Full::new(Bytes::new())
                .map_err(|never| match never {})
                .boxed(),
            Outgoing::Bytes(bytes) => Full::new(bytes).map_err(|never| match never {}).boxed(),
            // Streamed with the request's Content-Length, never chunked.
            Outgoing::File(upload) => StreamBody::new(upload_stream(upload)).boxed(),
            _ => {
                return Err(TransportError::new(
                    TransportErrorKind::Other,
                    "a body of an unknown kind",
                ));
            }
        };
        // The driver bounds every wait (timeouts.idle, .total): no timer here.
        let _ = timeouts;
        match self.http.request(Request::from_parts(parts, body)).await {
            Ok(response) => Ok(response.map(HyperBody)),
            Err(e) => Err(classify(&e)),
        }
    }

    async fn sleep_until(&self, until: Instant) {
        tokio::time::sleep_until(until.into()).await;
    }

    async fn blocking<R, W>(&self, work: W) -> R
    where
        R: Send + 'static,
        W: FnOnce() -> R + Send + 'static,
    {
        match tokio::task::spawn_blocking(work).await {
            Ok(r) => r,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
}

/// How much of an upload is read at once, off the async threads.
const UPLOAD_CHUNK: usize = 256 * 1024;

/// An upload as a stream of frames, each chunk read as blocking work (as
/// `tokio::fs::File` does). A read that fails (the file changed) ends the
/// stream with the error, and hyper cuts the request.
fn upload_stream(
    upload: UploadBody,
) -> impl futures_util::Stream<Item = io::Result<Frame<Bytes>>> + Send + Sync + 'static {
    futures_util::stream::try_unfold(upload, |mut upload| async move {
        let (upload, read) = tokio::task::spawn_blocking(move || {
            let mut chunk = vec![0u8; UPLOAD_CHUNK];
            let read = std::io::Read::read(&mut upload, &mut chunk).map(|n| {
                chunk.truncate(n);
                chunk
            });
            (upload, read)
        })
        .await
        .map_err(io::Error::other)?;
        let chunk = read?;
        Ok((!chunk.is_empty()).then(|| (Frame::data(Bytes::from(chunk)), upload)))
    })
}

/// The body of an answer.
#[derive(Debug)]
pub struct HyperBody(Incoming);

impl ResponseBody for HyperBody {
    async fn chunk(&mut self) -> Result<Option<Bytes>, TransportError> {
        loop {
            match self.0.frame().await {
                None => return Ok(None),
                Some(Err(e)) => {
                    return Err(TransportError::new(
                        TransportErrorKind::Other,
                        format!("the body broke off: {e}"),
                    ));
                }
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        return Ok(Some(data));
                    }
                }
            }
        }
    }
}

/// How a hyper client error failed, for the core.
fn classify(e: &hyper_util::client::legacy::Error) -> TransportError {
    let kind = if e.is_connect() {
        TransportErrorKind::Connect
    } else {
        TransportErrorKind::Other
    };
    // The source chain says what happened; the URL is not in it.
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    TransportError::new(kind, message)
}

/// A connector that goes through the environment's proxy when there is one
/// (an https destination through a CONNECT tunnel, an http one in
/// absolute form), and straight to loopback destinations always.
#[derive(Clone, Debug)]
pub struct ProxyConnector {
    direct: HttpConnector,
    proxies: Arc<Matcher>,
}

impl ProxyConnector {
    /// Proxies from `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY`
    /// (any case), read now.
    #[must_use]
    pub fn from_env(direct: HttpConnector) -> Self {
        ProxyConnector::with_matcher(direct, Matcher::from_env())
    }

    /// Proxies as `proxies` says.
    #[must_use]
    pub fn with_matcher(direct: HttpConnector, proxies: Matcher) -> Self {
        ProxyConnector {
            direct,
            proxies: Arc::new(proxies),
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl tower_service::Service<Uri> for ProxyConnector {
    type Response = ProxyStream;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<ProxyStream, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.direct.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let loopback = dst
            .host()
            .is_some_and(sarvam_doc_core::wire::is_loopback_host);
        let intercept = (!loopback).then(|| self.proxies.intercept(&dst)).flatten();
        let mut direct = self.direct.clone();
        Box::pin(async move {
            let Some(proxy) = intercept else {
                let io = direct.call(dst).await?;
                return Ok(ProxyStream { io, proxied: false });
            };
            if dst.scheme_str() == Some("https") {
                let mut tunnel = Tunnel::new(proxy.uri().clone(), direct);
                if let Some(auth) = proxy.basic_auth() {
                    tunnel = tunnel.with_auth(auth.clone());
                }
                let io = tunnel.call(dst).await?;
                Ok(ProxyStream { io, proxied: false })
            } else {
                let io = direct.call(proxy.uri().clone()).await?;
                Ok(ProxyStream { io, proxied: true })
            }
        })
    }
}

/// A connection, straight or through a proxy.
#[derive(Debug)]
pub struct ProxyStream {
    io: TokioIo<tokio::net::TcpStream>,
    proxied: bool,
}

impl Connection for ProxyStream {
    fn connected(&self) -> Connected {
        self.io.connected().proxy(self.proxied)
    }
}

impl Read for ProxyStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl Write for ProxyStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }
}
