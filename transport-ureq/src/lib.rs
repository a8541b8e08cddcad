//! Blocking transport for `sarvam-doc`, on a [`ureq::Agent`].
//!
//! It only moves bytes: what to send, when to retry and when to give up are
//! the core's ([`sarvam_doc_core`]), and files, timeouts and unpacking are the
//! driver's ([`sarvam_doc_driver`]). This crate sends one request at a time
//! and reports how a failure happened.
//!
//! 1. Make a [`Client`] from a [`Config`]: [`Client::new`] (the default
//!    agent: webpki roots, `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY` and
//!    `NO_PROXY` honoured), or [`Client::with_transport`] for your own
//!    agent or the operating system's certificate store ([`Ureq::with_roots`]).
//! 2. Call [`Client::run`] to take a file through the whole job into an
//!    output folder, or [`Client::watch`] to follow a job to its end. Both
//!    report the core's events to a callback.
//! 3. Or call one endpoint at a time: [`Client::status`], … (one request
//!    each, no retries).
//!
//! ```no_run
//! use sarvam_doc_core::{ApiKey, Config, model::{CreateJobRequest, Language, OutputFormat}};
//! use sarvam_doc_ureq::{Client, RunOptions};
//!
//! let key = ApiKey::new(std::env::var("SARVAM_API_KEY")?)?;
//! let client = Client::new(Config::new(key));
//! let options = RunOptions::new("./out").with_job(CreateJobRequest::new(Language::TAMIL, OutputFormat::Md));
//! let report = client.run("scan.pdf".as_ref(), &options, |event| eprintln!("{event:?}"))?;
//! println!("{}: pages in {:?}", report.outcome, report.output);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Your own agent
//!
//! Bring an agent for your own proxy or TLS settings. Keep three settings
//! as [`Ureq::default_agent`] has them: `http_status_as_error(false)` (the
//! core reads error answers), `max_redirects(0)` (a redirect must never
//! carry the key elsewhere) and a connect timeout.
//!
//! ```no_run
//! use std::time::Duration;
//! # let config = sarvam_doc_core::Config::new(sarvam_doc_core::ApiKey::new("k").unwrap());
//! let agent: ureq::Agent = ureq::Agent::config_builder()
//!     .http_status_as_error(false)
//!     .max_redirects(0)
//!     .timeout_connect(Some(Duration::from_secs(10)))
//!     .proxy(ureq::Proxy::new("http://proxy.internal:3128").ok())
//!     .build()
//!     .into();
//! let client = sarvam_doc_ureq::Client::with_transport(config, sarvam_doc_ureq::Ureq::with_agent(agent));
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::io::{self, Read};
use std::net::IpAddr;
use std::time::Duration;

use sarvam_doc_core::http::{Request, Response};
use sarvam_doc_core::{TransportError, TransportErrorKind};
use sarvam_doc_driver::{BlockingBody, Outgoing, Timeouts, Transport};
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

pub use sarvam_doc_core::{self, Config};
pub use sarvam_doc_driver::{self, Layout, Report, Roots, RunError, RunOptions};
pub use ureq;

/// The blocking client: the driver's [`sarvam_doc_driver::BlockingClient`]
/// over [`Ureq`].
pub type Client = sarvam_doc_driver::BlockingClient<Ureq>;

/// The blocking transport: one [`ureq::Agent`].
#[derive(Clone, Debug)]
pub struct Ureq {
    agent: ureq::Agent,
}

impl Ureq {
    /// The default agent, trusting `roots`.
    #[must_use]
    pub fn with_roots(roots: Roots) -> Self {
        Ureq::with_agent(Ureq::default_agent(roots))
    }

    /// Your own agent (see the crate docs for the settings to keep).
    #[must_use]
    pub fn with_agent(agent: ureq::Agent) -> Self {
        Ureq { agent }
    }

    /// The agent this crate uses by default: rustls with ring and `roots`,
    /// proxies from the environment (`HTTPS_PROXY`, `HTTP_PROXY`,
    /// `ALL_PROXY`, `NO_PROXY`; ureq takes one proxy for both schemes),
    /// no redirects, error statuses returned as answers, a 10 s connect
    /// timeout, TCP_NODELAY, and a resolver that starts no thread for an IP
    /// address.
    #[must_use]
    pub fn default_agent(roots: Roots) -> ureq::Agent {
        let roots = match roots {
            Roots::WebPki => ureq::tls::RootCerts::WebPki,
            Roots::Platform => ureq::tls::RootCerts::PlatformVerifier,
        };
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(Duration::from_secs(10)))
            .no_delay(true)
            .user_agent(ureq::config::AutoHeaderValue::None)
            .tls_config(ureq::tls::TlsConfig::builder().root_certs(roots).build())
            .build();
        ureq::Agent::with_parts(
            config,
            DefaultConnector::default(),
            IpFirst(DefaultResolver::default()),
        )
    }
}

impl Default for Ureq {
    /// [`Ureq::default_agent`] with webpki roots.
    fn default() -> Self {
        Ureq::with_roots(Roots::WebPki)
    }
}

/// Resolves IP addresses in place and names with ureq's resolver. With a
/// timeout set, ureq's resolver starts a thread per lookup to bound it;
/// an IP address needs no lookup, so no thread.
#[derive(Debug)]
struct IpFirst(DefaultResolver);

impl Resolver for IpFirst {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let host = uri.host().unwrap_or_default();
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let (Ok(ip), Some(port)) = (
            bare.parse::<IpAddr>(),
            uri.port_u16().or_else(|| match uri.scheme_str() {
                Some("https") => Some(443),
                Some("http") => Some(80),
                _ => None,
            }),
        ) {
            let mut addrs = self.empty();
            addrs.push(std::net::SocketAddr::new(ip, port));
            return Ok(addrs);
        }
        self.0.resolve(uri, config, timeout)
    }
}

impl Transport for Ureq {
    type Body = UreqBody;

    fn send(
        &self,
        request: Request<Outgoing>,
        timeouts: Timeouts,
    ) -> Result<Response<UreqBody>, TransportError> {
        let (parts, body) = request.into_parts();
        let result = match body {
            Outgoing::Empty => self.run(Request::from_parts(parts, ()), timeouts),
            Outgoing::Bytes(bytes) => self.run(Request::from_parts(parts, &bytes[..]), timeouts),
            // The request carries Content-Length, so ureq streams the file as
            // is, never chunked; a read that fails (the file changed) cuts it.
            Outgoing::File(upload) => self.run(
                Request::from_parts(parts, ureq::SendBody::from_owned_reader(upload)),
                timeouts,
            ),
            _ => {
                return Err(TransportError::new(
                    TransportErrorKind::Other,
                    "a body of an unknown kind",
                ));
            }
        };
        result
            .map(|r| r.map(|body| UreqBody(body.into_reader())))
            .map_err(|e| classify(&e))
    }
}

impl Ureq {
    fn run<S: ureq::AsSendBody>(
        &self,
        request: Request<S>,
        timeouts: Timeouts,
    ) -> Result<Response<ureq::Body>, ureq::Error> {
        // The global timeout bounds the whole exchange, body included; the
        // per-read and per-write ones, each wait without progress. ureq sets
        // the socket's timeout to the smaller of the two before each read or
        // write, and skips the system call when it has not changed: an idle
        // bound a second under the total keeps it the same from one request
        // to the next (the time left of the total never is), which saves two
        // `setsockopt` calls a request.
        let idle = Some(if timeouts.total > Duration::from_secs(2) {
            timeouts.idle.min(timeouts.total - Duration::from_secs(1))
        } else {
            timeouts.idle
        });
        let request = self
            .agent
            .configure_request(request)
            .timeout_global(Some(timeouts.total))
            .timeout_per_read(idle)
            .timeout_per_write(idle)
            .build();
        self.agent.run(request)
    }
}

/// The body of an answer.
pub struct UreqBody(ureq::BodyReader<'static>);

impl std::fmt::Debug for UreqBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UreqBody")
    }
}

impl BlockingBody for UreqBody {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, TransportError> {
        loop {
            match self.0.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // ureq wraps its own errors (a timeout among them) in io::Error.
                    if let Some(inner) = e.get_ref().and_then(|r| r.downcast_ref::<ureq::Error>()) {
                        let mut error = classify(inner);
                        error.message = format!("the body broke off: {}", error.message);
                        return Err(error);
                    }
                    let kind = match e.kind() {
                        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
                            TransportErrorKind::TimedOut
                        }
                        _ => TransportErrorKind::Other,
                    };
                    return Err(TransportError::new(
                        kind,
                        format!("the body broke off: {e}"),
                    ));
                }
                Ok(n) => return Ok(n),
            }
        }
    }
}

/// How a ureq error failed, for the core.
fn classify(e: &ureq::Error) -> TransportError {
    use TransportErrorKind::{Connect, Other, TimedOut};
    let kind = match e {
        ureq::Error::Timeout(_) => TimedOut,
        // A tunnel the proxy refused never reached the API either.
        ureq::Error::HostNotFound
        | ureq::Error::ConnectionFailed
        | ureq::Error::ConnectProxyFailed(_)
        | ureq::Error::InvalidProxyUrl
        | ureq::Error::Tls(_)
        | ureq::Error::Rustls(_) => Connect,
        ureq::Error::Io(io) => match io.kind() {
            io::ErrorKind::ConnectionRefused
            | io::ErrorKind::AddrNotAvailable
            | io::ErrorKind::NetworkUnreachable
            | io::ErrorKind::HostUnreachable => Connect,
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => TimedOut,
            _ => Other,
        },
        _ => Other,
    };
    TransportError::new(kind, e.to_string())
}
