//! The command line's options, shared by the commands that take them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::LazyLock;
use std::time::Duration;

use clap::{Args, FromArgMatches, ValueEnum};
use sarvam_doc_core::output::UnpackLimits;
use sarvam_doc_core::{
    Policy,
    model::{Language, OutputFormat},
};

/// Options of `run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The documents' language, such as hi-IN, en-IN, ta-IN.
    #[arg(long, default_value_t = Language::default().to_string())]
    pub(crate) language: String,
    /// The output format: md, html or json.
    #[arg(long, default_value_t = OutputFormat::default().to_string())]
    pub(crate) format: String,
    /// With --api doc-ai: what the documents are (printed, handwritten or
    /// mixed); the server's default is printed.
    #[arg(long, value_enum)]
    pub(crate) content_type: Option<ContentTypeArg>,
    #[command(flatten)]
    pub(crate) batch: BatchArgs,
}

/// Options of `extract`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("fields").required(true).args(["schema", "config_id"])))]
pub(crate) struct ExtractArgs {
    /// The fields to extract: a JSON schema file (root "type": "object";
    /// every field a "type" and a "description"; at most 4 levels deep).
    /// Checked before anything is sent.
    #[arg(long, value_name = "FILE")]
    pub(crate) schema: Option<PathBuf>,
    /// The fields to extract: a configuration saved in the Doc Agents
    /// dashboard, by its id.
    #[arg(long, value_name = "ID")]
    pub(crate) config_id: Option<String>,
    /// The documents' language, such as hi-IN, en-IN (the server's default
    /// if not given).
    #[arg(long)]
    pub(crate) language: Option<String>,
    /// The output file's format: json, csv or xlsx.
    #[arg(long, value_enum, default_value = "json")]
    pub(crate) format: ExtractFormatArg,
    /// Also classify each document.
    #[arg(long)]
    pub(crate) classification: bool,
    #[command(flatten)]
    pub(crate) batch: BatchArgs,
}

/// What a document is, for `/doc-ai/v1`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum ContentTypeArg {
    /// Printed text.
    Printed,
    /// Handwriting.
    Handwritten,
    /// Both.
    Mixed,
}

/// An extraction's output format.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum ExtractFormatArg {
    /// JSON.
    Json,
    /// CSV.
    Csv,
    /// An Excel workbook.
    Xlsx,
}

/// The options of every command that runs files: `run` and `extract`.
#[derive(Debug, Args)]
pub(crate) struct BatchArgs {
    /// The inputs: PDFs, ZIPs of JPEG/PNG page images, or folders of them
    /// (their .pdf and .zip files, not their subfolders). One job each.
    #[arg(value_name = "FILE|DIR")]
    pub(crate) files: Vec<PathBuf>,
    /// Also run the files listed in LIST, one path a line (relative to the
    /// current folder; blank lines and lines starting with # are skipped).
    #[arg(long = "from", value_name = "LIST")]
    pub(crate) from: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
    #[command(flatten)]
    pub(crate) global: crate::Global,
    /// How many files to run at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub(crate) concurrency: u16,
    #[command(flatten)]
    pub(crate) limits: LimitArgs,
    /// Show what would be done (files, pages, jobs, what is skipped as done
    /// already) and send nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Make a new job for every file, even one the journal says is done
    /// (each new job is paid for).
    #[arg(long)]
    pub(crate) force: bool,
    /// The most pages one job is sent. A longer document is cut into
    /// chunks of at most N pages, each its own job (run side by side), and
    /// their outputs stitched back into one folder: a page file per
    /// original page and one merged document. 10 is the limit every source
    /// of both APIs allows; raise it only if your account's jobs take more.
    #[arg(long, value_name = "N", default_value_t = sarvam_doc_core::split::DEFAULT_PAGE_LIMIT,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) page_limit: u32,
    /// Refuse (exit 2, nothing sent) a document over --page-limit instead
    /// of cutting it.
    #[arg(long)]
    pub(crate) strict_pages: bool,
    /// Refuse (exit 2, nothing sent) a batch that would send more than N
    /// pages in all: a guard on what a run can spend. --dry-run shows the
    /// total.
    #[arg(long, value_name = "N")]
    pub(crate) max_pages: Option<u64>,
    /// With --api doc-ai: submit again a file whose submit got no answer
    /// (now or in an earlier run). A submit makes and starts a job, and the
    /// API cannot list jobs, so this may pay twice for one file.
    #[arg(long)]
    pub(crate) retry_unconfirmed: bool,
    /// Make a new job for each file, or each chunk of a long one, whose job
    /// failed in an earlier run (each is paid for); what is done is kept.
    #[arg(long)]
    pub(crate) retry_failed: bool,
    /// Print one JSON document with every file's status and outcome.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Where outputs go.
#[derive(Clone, Debug, Args)]
pub(crate) struct OutputArgs {
    /// Where outputs go: one folder of pages per input, named after it, and
    /// the journal (.sarvam-doc/journal.jsonl) that lets a rerun resume.
    #[arg(long, default_value = "sarvam-output", value_name = "DIR")]
    pub(crate) out: PathBuf,
    /// Replace output folders that exist already and are not this run's.
    #[arg(long)]
    pub(crate) overwrite: bool,
}

/// The core's download cap, as `--help` shows it (`1GiB`).
static MAX_DOWNLOAD: LazyLock<String> = LazyLock::new(|| size_text(Policy::default().max_download));

/// The core's cap on an unpacked output, as `--help` shows it.
static MAX_UNPACKED: LazyLock<String> =
    LazyLock::new(|| size_text(UnpackLimits::default().max_total_bytes));

/// Whole seconds of a limit of the core's, 0 for none (as `--stall-limit`
/// reads it).
fn seconds(limit: Option<Duration>) -> u64 {
    limit.map_or(0, |d| d.as_secs())
}

/// The bounds of every wait, download and output. Each default is the
/// core's ([`Policy::default`], [`UnpackLimits::default`]): far beyond any
/// real document and far below what fills a disk or hangs a terminal.
#[derive(Clone, Debug, Args)]
pub(crate) struct LimitArgs {
    /// Give up on a job after this many seconds (exit 5).
    #[arg(long, value_name = "SECS", default_value_t = seconds(Policy::default().deadline))]
    pub(crate) timeout: u64,
    /// The most a download may be when storage announces no size, and the
    /// most an announced size may be (bytes, or with KB, MB, GB, KiB, MiB, GiB).
    #[arg(long, value_name = "SIZE", default_value = MAX_DOWNLOAD.as_str(), value_parser = parse_size)]
    pub(crate) max_download: u64,
    /// The most entries an output ZIP may hold.
    #[arg(long, value_name = "N", default_value_t = UnpackLimits::default().max_entries)]
    pub(crate) max_entries: u32,
    /// The most an output ZIP may expand to.
    #[arg(long, value_name = "SIZE", default_value = MAX_UNPACKED.as_str(), value_parser = parse_size)]
    pub(crate) max_unpacked: u64,
    /// The most an entry may expand per byte stored, once past 1 MiB.
    #[arg(long, value_name = "N", default_value_t = UnpackLimits::default().max_ratio)]
    pub(crate) max_ratio: u32,
    /// The longest Retry-After honoured, in seconds; a server that asks for
    /// more ends the job at once, saying what it asked.
    #[arg(long, value_name = "SECS", default_value_t = Policy::default().max_retry_after.as_secs())]
    pub(crate) max_retry_after: u64,
    /// Give up on a job that sits this many seconds in the queue (Accepted,
    /// Pending) without change (exit 5); 0 for no limit but --timeout.
    #[arg(long, value_name = "SECS", default_value_t = seconds(Policy::default().stall_limit))]
    pub(crate) stall_limit: u64,
    /// Send at most N API requests a minute, across all files (`60` or
    /// `60/min`). Without it the rate is learned from the server's 429s.
    #[arg(long, value_name = "N/min", value_parser = parse_rate)]
    pub(crate) rate: Option<u32>,
}

impl LimitArgs {
    /// The command line's defaults, read from its definition: one of each,
    /// the core's.
    pub(crate) fn defaults() -> Result<LimitArgs, clap::Error> {
        let matches = LimitArgs::augment_args(clap::Command::new("limits"))
            .try_get_matches_from(["limits"])?;
        LimitArgs::from_arg_matches(&matches)
    }

    /// `base`, with these limits and this rate.
    pub(crate) fn client(&self, base: &sarvam_doc_hyper::Client) -> sarvam_doc_hyper::Client {
        let client = base.clone().with_policy(self.policy(base.policy()));
        match self.rate {
            Some(rate) => client.with_rate(Some(sarvam_doc_core::budget::Rate::per_minute(rate))),
            None => client,
        }
    }

    /// `base`, within these limits.
    pub(crate) fn policy(&self, base: &Policy) -> Policy {
        base.clone()
            .with_deadline(Some(Duration::from_secs(self.timeout)))
            .with_max_download(self.max_download)
            .with_max_retry_after(Duration::from_secs(self.max_retry_after))
            .with_stall_limit((self.stall_limit > 0).then(|| Duration::from_secs(self.stall_limit)))
    }

    /// What an output ZIP may hold.
    pub(crate) fn unpack(&self) -> UnpackLimits {
        UnpackLimits::default()
            .with_max_entries(self.max_entries)
            .with_max_total_bytes(self.max_unpacked)
            .with_max_ratio(self.max_ratio)
    }
}

/// Parses a rate: requests a minute, as `60` or `60/min`.
pub(crate) fn parse_rate(text: &str) -> Result<u32, String> {
    let number = text.trim().trim_end_matches("/min").trim_end_matches("/m");
    match number.trim().parse::<u32>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!(
            "{text:?} is not a rate: give requests a minute, such as 60 or 60/min"
        )),
    }
}

/// A size as `--help` shows it: in the largest binary unit that holds it
/// whole (`1GiB`), else in bytes; [`parse_size`] reads it back.
pub(crate) fn size_text(bytes: u64) -> String {
    for (unit, name) in [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")] {
        if bytes >= unit && bytes.is_multiple_of(unit) {
            return format!("{}{name}", bytes / unit);
        }
    }
    bytes.to_string()
}

/// Parses a size: bytes, or with a unit (KB, MB, GB in powers of 1000;
/// KiB, MiB, GiB in powers of 1024).
pub(crate) fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits.parse().map_err(|_| {
        format!("{text:?} is not a size: give bytes, or a number with KB, MB, GB, KiB, MiB or GiB")
    })?;
    let unit: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" | "k" => 1000,
        "mb" | "m" => 1000 * 1000,
        "gb" | "g" => 1000 * 1000 * 1000,
        "kib" => 1024,
        "mib" => 1024 * 1024,
        "gib" => 1024 * 1024 * 1024,
        other => {
            return Err(format!(
                "{other:?} is not a unit: use KB, MB, GB, KiB, MiB or GiB"
            ));
        }
    };
    n.checked_mul(unit)
        .ok_or_else(|| format!("{text:?} is too large"))
}

/// How every simulated job ends.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum ScenarioArg {
    /// Every page succeeds.
    Completed,
    /// Every second page fails.
    Partial,
    /// Every page fails.
    Failed,
    /// On /doc-ai/v1, the job is rejected (on the legacy API, it fails).
    Rejected,
    /// The server cannot read the document: a legacy job fails ("Invalid
    /// PDF: …"), a /doc-ai/v1 submit is refused with 422.
    Invalid,
}

/// Options of `sim`.
#[derive(Debug, Args)]
pub(crate) struct SimArgs {
    /// Where the API listens (loopback only).
    #[arg(long, default_value = "127.0.0.1:4010")]
    pub(crate) listen: SocketAddr,
    /// Where presigned storage listens (loopback only).
    #[arg(long, default_value = "127.0.0.1:4011")]
    pub(crate) storage_listen: SocketAddr,
    /// The API key the simulator accepts.
    #[arg(long, default_value = "sim-key")]
    pub(crate) key: String,
    /// Milliseconds a started job stays Pending.
    #[arg(long, default_value_t = 200)]
    pub(crate) queue_ms: u64,
    /// Milliseconds per page while Running.
    #[arg(long, default_value_t = 300)]
    pub(crate) page_ms: u64,
    /// The page limit checked at start.
    #[arg(long, default_value_t = 10)]
    pub(crate) max_pages: u32,
    /// Pages of credit (default: unlimited).
    #[arg(long)]
    pub(crate) credits: Option<u64>,
    /// How every job ends (default: by file name: …invalid…, …reject…,
    /// …partial…, …fail…, else completed).
    #[arg(long, value_enum)]
    pub(crate) scenario: Option<ScenarioArg>,
    /// The page limit of a /doc-ai/v1 job (the sources say 10, 20 or 30).
    #[arg(long, default_value_t = 10)]
    pub(crate) doc_ai_max_pages: u32,
    /// A per-key rate limit over every API request, in requests a minute
    /// (default: none).
    #[arg(long, value_name = "PER_MINUTE")]
    pub(crate) rate_limit: Option<u32>,
    /// Run the simulator's clock this many times faster than real time
    /// (job progress and the rate limit together).
    #[arg(long, value_name = "FACTOR", default_value_t = 1.0)]
    pub(crate) time_scale: f64,
    /// Scripted faults, used in order: ROUTE=FAULT,FAULT,… Routes: create, upload-files,
    /// start, status, download-files, storage-put, storage-get; ai-presign, ai-storage-put,
    /// ai-submit, ai-status, ai-results, ai-download-url, ai-storage-get. Faults: 429,
    /// 429:SECS, 429-date:SECS, 429-ms:MS, 429-reset:SECS, quota, 503, 500, 409, expired,
    /// delay:MS, drop-before, drop-after, truncate,
    /// invalid-json, unknown-state, extra-fields; hostile: hang, stall-after-headers,
    /// endless-body, oversized:BYTES, huge-size, zip-bomb:MIB, zip-count:N, large-output:MIB, unsafe-names,
    /// not-zip, other-job, echo-key, key-in-request-id, echo-key-id, key-at-cut, echo-key-escaped. Repeatable.
    #[arg(long = "fault", value_name = "ROUTE=FAULTS")]
    pub(crate) faults: Vec<String>,
    /// Inject a random fault (429, 503, 500, drops, truncation, delays) into this percentage of requests.
    #[arg(long, value_name = "PERCENT", value_parser = clap::value_parser!(u32).range(0..=100))]
    pub(crate) random_faults: Option<u32>,
    /// The seed of the random faults.
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_and_without_units() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("10MiB"), Ok(10 * 1024 * 1024));
        assert_eq!(parse_size("2 GB"), Ok(2_000_000_000));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("1TB").is_err());
        assert!(parse_size("99999999999999GiB").is_err());
    }

    #[test]
    fn sizes_are_shown_in_the_largest_whole_unit_and_read_back() {
        assert_eq!(size_text(1024 * 1024 * 1024), "1GiB");
        assert_eq!(size_text(3 * 1024 * 1024), "3MiB");
        assert_eq!(size_text(1536), "1536");
        assert_eq!(size_text(2048), "2KiB");
        assert_eq!(size_text(0), "0");
        for bytes in [0, 1, 1000, 1024, 1536, 5 << 20, 1 << 30, 3 << 40, u64::MAX] {
            assert_eq!(parse_size(&size_text(bytes)), Ok(bytes), "{bytes}");
        }
    }

    #[test]
    fn rates_parse_with_and_without_the_unit() {
        assert_eq!(parse_rate("60"), Ok(60));
        assert_eq!(parse_rate("10/min"), Ok(10));
        assert!(parse_rate("0").is_err());
        assert!(parse_rate("fast").is_err());
    }
}

/// `sarvam-doc mcp`: the tools' limits, where inputs may come from, where
/// outputs go.
#[derive(Debug, Args)]
pub(crate) struct McpArgs {
    /// A folder the tools may read inputs from (give it again for more). A
    /// path an agent names is resolved, links followed, and must lie inside
    /// one; a relative path is taken from the first. Default: the working
    /// directory.
    #[arg(long = "root", value_name = "DIR")]
    pub(crate) roots: Vec<PathBuf>,
    /// Where outputs go, one folder an input, with the journal
    /// (.sarvam-doc/journal.jsonl) that makes a retried call free.
    #[arg(long, default_value = "sarvam-output", value_name = "DIR")]
    pub(crate) out: PathBuf,
    /// The most pages one job is sent: a longer document is cut into jobs
    /// and stitched back, as `run` does.
    #[arg(long, value_name = "N", default_value_t = sarvam_doc_core::split::DEFAULT_PAGE_LIMIT,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) page_limit: u32,
    /// How many jobs of one document run at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub(crate) concurrency: u16,
    /// The most bytes of a document a tool result carries; past it, the
    /// first part and the path of the whole file.
    #[arg(long, value_name = "BYTES", default_value_t = 100_000)]
    pub(crate) max_text: usize,
    #[command(flatten)]
    pub(crate) limits: LimitArgs,
    #[command(flatten)]
    pub(crate) global: crate::Global,
}
