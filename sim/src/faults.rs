//! Fault injection: scripted per route, or at a seeded random rate.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

/// A request the simulator tells apart, for faults and the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Route {
    /// `POST /doc-digitization/job/v1`.
    CreateJob,
    /// `POST /doc-digitization/job/v1/upload-files`.
    UploadFiles,
    /// `POST /doc-digitization/job/v1/{job_id}/start`.
    Start,
    /// `GET /doc-digitization/job/v1/{job_id}/status`.
    Status,
    /// `POST /doc-digitization/job/v1/{job_id}/download-files`.
    DownloadFiles,
    /// `PUT` of an input file to presigned storage.
    StoragePut,
    /// `GET` of an output from presigned storage.
    StorageGet,
    /// `POST /doc-ai/v1/job/upload`: presign an upload.
    AiPresign,
    /// `POST /doc-ai/v1/job/{digitise,parse,extract}`: make and start a job.
    AiSubmit,
    /// `GET /doc-ai/v1/job/{job_id}/status`.
    AiStatus,
    /// `GET /doc-ai/v1/job/{job_id}/results`.
    AiResults,
    /// `GET /doc-ai/v1/job/{job_id}/download-url`.
    AiDownloadUrl,
    /// The upload to a `/doc-ai/v1` presigned storage URL.
    AiStoragePut,
    /// The `GET` of a `/doc-ai/v1` output from presigned storage.
    AiStorageGet,
}

impl Route {
    /// The legacy API's routes, in the order a run uses them.
    pub const LEGACY: [Route; 7] = [
        Route::CreateJob,
        Route::UploadFiles,
        Route::Start,
        Route::Status,
        Route::DownloadFiles,
        Route::StoragePut,
        Route::StorageGet,
    ];

    /// `/doc-ai/v1`'s routes, in the order a run uses them.
    pub const DOC_AI: [Route; 7] = [
        Route::AiPresign,
        Route::AiStoragePut,
        Route::AiSubmit,
        Route::AiStatus,
        Route::AiResults,
        Route::AiDownloadUrl,
        Route::AiStorageGet,
    ];

    /// Every route.
    pub const ALL: [Route; 14] = [
        Route::CreateJob,
        Route::UploadFiles,
        Route::Start,
        Route::Status,
        Route::DownloadFiles,
        Route::StoragePut,
        Route::StorageGet,
        Route::AiPresign,
        Route::AiStoragePut,
        Route::AiSubmit,
        Route::AiStatus,
        Route::AiResults,
        Route::AiDownloadUrl,
        Route::AiStorageGet,
    ];

    /// Whether the route is on the storage origin.
    #[must_use]
    pub fn is_storage(self) -> bool {
        matches!(
            self,
            Route::StoragePut | Route::StorageGet | Route::AiStoragePut | Route::AiStorageGet
        )
    }

    /// Whether the route is `/doc-ai/v1`'s.
    #[must_use]
    pub fn is_doc_ai(self) -> bool {
        Route::DOC_AI.contains(&self)
    }

    /// The route's name on the command line: `create`, `upload-files`,
    /// `start`, `status`, `download-files`, `storage-put`, `storage-get`;
    /// `ai-presign`, `ai-submit`, `ai-status`, `ai-results`,
    /// `ai-download-url`, `ai-storage-put`, `ai-storage-get`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Route::CreateJob => "create",
            Route::UploadFiles => "upload-files",
            Route::Start => "start",
            Route::Status => "status",
            Route::DownloadFiles => "download-files",
            Route::StoragePut => "storage-put",
            Route::StorageGet => "storage-get",
            Route::AiPresign => "ai-presign",
            Route::AiSubmit => "ai-submit",
            Route::AiStatus => "ai-status",
            Route::AiResults => "ai-results",
            Route::AiDownloadUrl => "ai-download-url",
            Route::AiStoragePut => "ai-storage-put",
            Route::AiStorageGet => "ai-storage-get",
        }
    }
}

impl std::str::FromStr for Route {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Route::ALL
            .into_iter()
            .find(|r| r.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Route::ALL.iter().map(|r| r.name()).collect();
                format!("unknown route {s:?}: use one of {}", names.join(", "))
            })
    }
}

/// How a 429 says when to come back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RetryAfter {
    /// No `Retry-After` header.
    Absent,
    /// `Retry-After: <seconds>`.
    Seconds(u64),
    /// `Retry-After: <HTTP date>`, this many seconds after the response's `Date`.
    Date(u64),
    /// `retry-after-ms: <milliseconds>` (which the Python SDK ignores).
    Millis(u64),
    /// `X-RateLimit-Reset: <epoch seconds>`, this many seconds from now.
    ResetIn(u64),
}

/// Something to do to a request instead of, or after, answering it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Fault {
    /// 429 `rate_limit_exceeded_error`, before any effect.
    RateLimited(RetryAfter),
    /// 429 `insufficient_quota_error`, before any effect.
    QuotaExhausted,
    /// 503 `high_load_error`, before any effect.
    HighLoad,
    /// 500 `internal_server_error`, before any effect.
    Internal,
    /// 409: "the job has not ended", before any effect (on results and
    /// download URLs, where the API declares it). No effect on storage.
    Conflict,
    /// Storage: 403, the presigned URL has expired, before any effect. No
    /// effect on the API.
    Expired,
    /// Let the request take effect, then answer only after this delay (a
    /// client that times out first has still had its effect).
    Delay(Duration),
    /// Close the connection before the request takes effect.
    DropBefore,
    /// Let the request take effect, then close the connection unanswered.
    DropAfter,
    /// Let the request take effect, then send half the body and close.
    Truncated,
    /// Let the request take effect, then answer 2xx with a body that is not JSON.
    InvalidJson,
    /// Report a job state the API does not document (status and start).
    UnknownState,
    /// Add fields the API does not document to the JSON answer.
    ExtraFields,
    /// Hostile: let the request take effect, then never answer (the
    /// connection stays open).
    Hang,
    /// Hostile: let the request take effect, send the answer's head, then
    /// never the body.
    StallAfterHeaders,
    /// Hostile: let the request take effect, then answer 2xx with a body
    /// that never ends.
    EndlessBody,
    /// Hostile, storage GET: the output followed by this many more bytes
    /// than the size announced for it.
    Oversized(u64),
    /// Hostile, download-files: announce an output of a petabyte.
    HugeAnnounced,
    /// Hostile, on download-files: from then on the job's output (its size
    /// announced as it is) is a ZIP whose one entry expands to this many MiB
    /// (of one repeated byte, which compresses about 1,000 to 1).
    ZipBombSize(u64),
    /// Hostile, on download-files: the job's output is a ZIP of this many
    /// one-byte entries.
    ZipBombCount(u32),
    /// On download-files: the job's output is a valid ZIP of about this
    /// many MiB (its page stored, not compressed): a large download, to
    /// show byte progress and to measure throughput.
    LargeOutput(u64),
    /// Hostile, on download-files: the job's output is a ZIP whose entry
    /// names climb out, start with a dot, hold escape sequences, clash (a
    /// file and a folder of one name, one name twice) or run past 255 bytes.
    UnsafeEntries,
    /// Hostile, on download-files: the job's output is an HTML page, not a ZIP.
    NotAZip,
    /// Hostile: answer 2xx about another job.
    OtherJob,
    /// Hostile: echo the API key in a 2xx that breaks the contract
    /// (upload-files without the asked file; a status whose error message
    /// holds the key and terminal escape sequences).
    EchoKey,
    /// Hostile: the API key as the `x-request-id` header.
    KeyInRequestId,
    /// Hostile: let the request take effect and, when the API answers it
    /// 2xx, echo the key inside the `x-request-id` header (`<id>-<key>`):
    /// what a client logs of a successful answer must be redacted too. No
    /// effect on an error answer or on storage.
    EchoKeyInId,
    /// Hostile: a 500 whose body holds the key across the 512th byte.
    KeyAtCut,
    /// Hostile: let the request take effect and, when the API answers it
    /// 2xx with JSON, spell the key in escapes that only a decoder reveals:
    /// JSON `\u` escapes in a `/doc-ai/v1` status's `created_at` and
    /// `updated_at` (with terminal escape sequences), in an unknown field's name and value,
    /// in output file names and in an extraction's fields; a URL `%XX`
    /// escape in a download URL's file name.
    EchoKeyEscaped,
}

impl Fault {
    /// Whether the request takes effect on the server despite the fault.
    #[must_use]
    pub fn takes_effect(&self) -> bool {
        !matches!(
            self,
            Fault::RateLimited(_)
                | Fault::QuotaExhausted
                | Fault::HighLoad
                | Fault::Internal
                | Fault::Conflict
                | Fault::Expired
                | Fault::DropBefore
                | Fault::KeyAtCut
        )
    }
}

impl std::str::FromStr for Fault {
    type Err = String;
    /// Parses `429`, `429:5` (Retry-After seconds), `429-date:5`, `quota`,
    /// `503`, `500`, `delay:MS`, `drop-before`, `drop-after`, `truncate`,
    /// `invalid-json`, `unknown-state`, `extra-fields`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, arg) = s.split_once(':').unwrap_or((s, ""));
        let num = || {
            arg.parse::<u64>()
                .map_err(|_| format!("{s:?} needs a whole number after the colon"))
        };
        Ok(match kind {
            "429" if arg.is_empty() => Fault::RateLimited(RetryAfter::Absent),
            "429" => Fault::RateLimited(RetryAfter::Seconds(num()?)),
            "429-date" => Fault::RateLimited(RetryAfter::Date(num()?)),
            "429-ms" => Fault::RateLimited(RetryAfter::Millis(num()?)),
            "429-reset" => Fault::RateLimited(RetryAfter::ResetIn(num()?)),
            "409" => Fault::Conflict,
            "expired" => Fault::Expired,
            "quota" => Fault::QuotaExhausted,
            "503" => Fault::HighLoad,
            "500" => Fault::Internal,
            "delay" => Fault::Delay(Duration::from_millis(num()?)),
            "drop-before" => Fault::DropBefore,
            "drop-after" => Fault::DropAfter,
            "truncate" => Fault::Truncated,
            "invalid-json" => Fault::InvalidJson,
            "unknown-state" => Fault::UnknownState,
            "extra-fields" => Fault::ExtraFields,
            "hang" => Fault::Hang,
            "stall-after-headers" => Fault::StallAfterHeaders,
            "endless-body" => Fault::EndlessBody,
            "oversized" => Fault::Oversized(num()?),
            "huge-size" => Fault::HugeAnnounced,
            "zip-bomb" => Fault::ZipBombSize(num()?),
            "large-output" => Fault::LargeOutput(num()?),
            "zip-count" => {
                Fault::ZipBombCount(u32::try_from(num()?).map_err(|_| format!("{s:?}: too many"))?)
            }
            "unsafe-names" => Fault::UnsafeEntries,
            "not-zip" => Fault::NotAZip,
            "other-job" => Fault::OtherJob,
            "echo-key" => Fault::EchoKey,
            "key-in-request-id" => Fault::KeyInRequestId,
            "echo-key-id" => Fault::EchoKeyInId,
            "key-at-cut" => Fault::KeyAtCut,
            "echo-key-escaped" => Fault::EchoKeyEscaped,
            _ => {
                return Err(format!(
                    "unknown fault {s:?}: use 429[:SECS], 429-date:SECS, 429-ms:MS, 429-reset:SECS, \
                     quota, 503, 500, 409, expired, delay:MS, \
                     drop-before, drop-after, truncate, invalid-json, unknown-state, extra-fields; \
                     hostile: hang, stall-after-headers, endless-body, oversized:BYTES, huge-size, \
                     zip-bomb:MIB, zip-count:N, large-output:MIB, unsafe-names, not-zip, other-job, echo-key, \
                     key-in-request-id, echo-key-id, key-at-cut, echo-key-escaped"
                ));
            }
        })
    }
}

/// Faults at a seeded random rate.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RandomFaults {
    /// The share of requests that get a fault, in percent (0 to 100).
    pub percent: u32,
    /// The faults to choose from, uniformly.
    pub kinds: Vec<Fault>,
    /// The routes affected; empty for all.
    pub routes: Vec<Route>,
    /// The seed: the same seed and the same requests give the same faults.
    pub seed: u64,
}

impl RandomFaults {
    /// `percent` % of requests on every route get one of `kinds`.
    #[must_use]
    pub fn new(percent: u32, kinds: Vec<Fault>, seed: u64) -> Self {
        RandomFaults {
            percent: percent.min(100),
            kinds,
            routes: Vec::new(),
            seed,
        }
    }
}

/// Which faults to inject.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FaultPlan {
    /// Faults per route, used in order, one per request.
    pub scripted: HashMap<Route, VecDeque<Fault>>,
    /// Faults at random, for requests with no scripted fault left: the
    /// first plan whose routes include the request's decides.
    pub random: Vec<RandomFaults>,
}

impl FaultPlan {
    /// Adds `faults` to the script of `route`.
    #[must_use]
    pub fn script(mut self, route: Route, faults: impl IntoIterator<Item = Fault>) -> Self {
        self.scripted.entry(route).or_default().extend(faults);
        self
    }

    /// Adds a plan of random faults (after those added before).
    #[must_use]
    pub fn random(mut self, random: RandomFaults) -> Self {
        self.random.push(random);
        self
    }
}

/// The live state of a plan.
#[derive(Debug)]
pub(crate) struct Faults {
    scripted: HashMap<Route, VecDeque<Fault>>,
    random: Vec<(RandomFaults, fastrand::Rng)>,
}

impl Faults {
    pub(crate) fn new(plan: FaultPlan) -> Self {
        Faults {
            scripted: plan.scripted,
            random: plan
                .random
                .into_iter()
                .map(|r| {
                    let rng = fastrand::Rng::with_seed(r.seed);
                    (r, rng)
                })
                .collect(),
        }
    }

    pub(crate) fn add(&mut self, route: Route, faults: impl IntoIterator<Item = Fault>) {
        self.scripted.entry(route).or_default().extend(faults);
    }

    pub(crate) fn clear(&mut self) {
        self.scripted.clear();
    }

    /// The fault for the next request on `route`, if any.
    pub(crate) fn take(&mut self, route: Route) -> Option<Fault> {
        if let Some(f) = self.scripted.get_mut(&route).and_then(VecDeque::pop_front) {
            return Some(f);
        }
        let (plan, rng) = self
            .random
            .iter_mut()
            .find(|(plan, _)| plan.routes.is_empty() || plan.routes.contains(&route))?;
        if plan.kinds.is_empty() {
            return None;
        }
        if rng.u32(0..100) < plan.percent {
            Some(plan.kinds[rng.usize(0..plan.kinds.len())].clone())
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_parse_from_their_command_line_names() {
        assert_eq!(
            "429:5".parse(),
            Ok(Fault::RateLimited(RetryAfter::Seconds(5)))
        );
        assert_eq!(
            "429-date:3".parse(),
            Ok(Fault::RateLimited(RetryAfter::Date(3)))
        );
        assert_eq!(
            "delay:250".parse(),
            Ok(Fault::Delay(Duration::from_millis(250)))
        );
        assert_eq!("truncate".parse(), Ok(Fault::Truncated));
        assert_eq!("zip-bomb:64".parse(), Ok(Fault::ZipBombSize(64)));
        assert_eq!("zip-count:12000".parse(), Ok(Fault::ZipBombCount(12_000)));
        assert_eq!("oversized:5".parse(), Ok(Fault::Oversized(5)));
        for (name, fault) in [
            ("hang", Fault::Hang),
            ("stall-after-headers", Fault::StallAfterHeaders),
            ("endless-body", Fault::EndlessBody),
            ("huge-size", Fault::HugeAnnounced),
            ("unsafe-names", Fault::UnsafeEntries),
            ("not-zip", Fault::NotAZip),
            ("other-job", Fault::OtherJob),
            ("echo-key", Fault::EchoKey),
            ("key-in-request-id", Fault::KeyInRequestId),
            ("echo-key-id", Fault::EchoKeyInId),
            ("key-at-cut", Fault::KeyAtCut),
            ("echo-key-escaped", Fault::EchoKeyEscaped),
        ] {
            assert_eq!(name.parse(), Ok(fault), "{name}");
        }
        assert!("429:x".parse::<Fault>().is_err());
        assert!("teapot".parse::<Fault>().is_err());
        assert_eq!("status".parse(), Ok(Route::Status));
        assert!("statuz".parse::<Route>().is_err());
    }

    #[test]
    fn scripted_faults_come_first_and_in_order_then_random_at_the_rate() {
        let plan = FaultPlan::default()
            .script(Route::Status, [Fault::HighLoad, Fault::Internal])
            .random(RandomFaults::new(50, vec![Fault::DropBefore], 9));
        let mut f = Faults::new(plan);
        assert_eq!(f.take(Route::Status), Some(Fault::HighLoad));
        assert_eq!(f.take(Route::Status), Some(Fault::Internal));
        let hits = (0..1000)
            .filter(|_| f.take(Route::Status).is_some())
            .count();
        assert!((400..600).contains(&hits), "{hits}");
        // Plans by route: the first whose routes match decides.
        let mut only_create = RandomFaults::new(100, vec![Fault::HighLoad], 1);
        only_create.routes = vec![Route::CreateJob];
        let mut f = Faults::new(
            FaultPlan::default()
                .random(only_create)
                .random(RandomFaults::new(100, vec![Fault::Internal], 2)),
        );
        assert_eq!(f.take(Route::CreateJob), Some(Fault::HighLoad));
        assert_eq!(f.take(Route::Status), Some(Fault::Internal));
        // The same seed gives the same faults.
        let draw = || {
            let mut f = Faults::new(FaultPlan::default().random(RandomFaults::new(
                30,
                vec![Fault::Internal],
                4,
            )));
            (0..64)
                .map(|_| f.take(Route::CreateJob).is_some())
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(), draw());
    }
}
