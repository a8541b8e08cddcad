//! The commands: status, wait, run, sim, demo.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use sarvam_doc_core::output::{FolderPlan, UnpackLimits};
use sarvam_doc_core::{
    ApiKey, Config, CreateJobRequest, Ending, GiveUpReason, InputError, JobId, Language, Outcome,
    OutputFormat, Policy, StateClass,
};
use sarvam_doc_driver::{Report, RunError, RunOptions};
use sarvam_doc_hyper::{Client, Hyper, Roots};
use sarvam_doc_sim::{
    Fault, FaultPlan, RandomFaults, Route, Scenario, SimConfig, Simulator, sample,
};

use crate::report::{self, FileResult, Progress};
use crate::{Cli, Command, Exit, Failure, Global};

/// Options of `run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The files: PDFs, or ZIPs of JPEG/PNG page images (one job each).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// The documents' language, such as hi-IN, en-IN, ta-IN.
    #[arg(long, default_value = "hi-IN")]
    language: String,
    /// The output format: md, html or json.
    #[arg(long, default_value = "md")]
    format: String,
    /// Where outputs go: one folder per file, named after it.
    #[arg(long, default_value = "sarvam-output", value_name = "DIR")]
    out: PathBuf,
    /// How many files to run at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
    concurrency: u16,
    #[command(flatten)]
    limits: LimitArgs,
    /// Replace output folders that exist already.
    #[arg(long)]
    overwrite: bool,
    /// Print one JSON document with every file's status and outcome.
    #[arg(long)]
    json: bool,
}

/// The bounds of every wait, download and output. The defaults are far
/// beyond any real document and far below what fills a disk or hangs a
/// terminal.
#[derive(Clone, Debug, Args)]
pub(crate) struct LimitArgs {
    /// Give up on a job after this many seconds (exit 5).
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    pub(crate) timeout: u64,
    /// The most a download may be when storage announces no size, and the
    /// most an announced size may be (bytes, or with KB, MB, GB, KiB, MiB, GiB).
    #[arg(long, value_name = "SIZE", default_value = "1GiB", value_parser = parse_size)]
    max_download: u64,
    /// The most entries an output ZIP may hold.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    max_entries: u32,
    /// The most an output ZIP may expand to.
    #[arg(long, value_name = "SIZE", default_value = "1GiB", value_parser = parse_size)]
    max_unpacked: u64,
    /// The most an entry may expand per byte stored, once past 1 MiB.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    max_ratio: u32,
    /// The longest Retry-After honoured, in seconds; a server that asks for
    /// more ends the job at once, saying what it asked.
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    max_retry_after: u64,
}

impl Default for LimitArgs {
    /// The same defaults as the command line's.
    fn default() -> Self {
        LimitArgs {
            timeout: 3600,
            max_download: sarvam_doc_core::DEFAULT_MAX_DOWNLOAD,
            max_entries: UnpackLimits::default().max_entries,
            max_unpacked: UnpackLimits::default().max_total_bytes,
            max_ratio: UnpackLimits::default().max_ratio,
            max_retry_after: 600,
        }
    }
}

impl LimitArgs {
    /// The policy: the default one, within these limits.
    pub(crate) fn policy(&self, base: &Policy) -> Policy {
        base.clone()
            .with_deadline(Some(Duration::from_secs(self.timeout)))
            .with_max_download(self.max_download)
            .with_max_retry_after(Duration::from_secs(self.max_retry_after))
    }

    /// What an output ZIP may hold.
    pub(crate) fn unpack(&self) -> UnpackLimits {
        UnpackLimits::default()
            .with_max_entries(self.max_entries)
            .with_max_total_bytes(self.max_unpacked)
            .with_max_ratio(self.max_ratio)
    }
}

/// Parses a size: bytes, or with a unit (KB, MB, GB in powers of 1000;
/// KiB, MiB, GiB in powers of 1024).
fn parse_size(text: &str) -> Result<u64, String> {
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
enum ScenarioArg {
    Completed,
    Partial,
    Failed,
}

/// Options of `sim`.
#[derive(Debug, Args)]
pub(crate) struct SimArgs {
    /// Where the API listens (loopback only).
    #[arg(long, default_value = "127.0.0.1:4010")]
    listen: SocketAddr,
    /// Where presigned storage listens (loopback only).
    #[arg(long, default_value = "127.0.0.1:4011")]
    storage_listen: SocketAddr,
    /// The API key the simulator accepts.
    #[arg(long, default_value = "sim-key")]
    key: String,
    /// Milliseconds a started job stays Pending.
    #[arg(long, default_value_t = 200)]
    queue_ms: u64,
    /// Milliseconds per page while Running.
    #[arg(long, default_value_t = 300)]
    page_ms: u64,
    /// The page limit checked at start.
    #[arg(long, default_value_t = 10)]
    max_pages: u32,
    /// Pages of credit (default: unlimited).
    #[arg(long)]
    credits: Option<u64>,
    /// How every job ends (default: by file name: …partial…, …fail…, else completed).
    #[arg(long, value_enum)]
    scenario: Option<ScenarioArg>,
    /// Scripted faults, used in order: ROUTE=FAULT,FAULT,… Routes: create, upload-files,
    /// start, status, download-files, storage-put, storage-get. Faults: 429, 429:SECS,
    /// 429-date:SECS, quota, 503, 500, delay:MS, drop-before, drop-after, truncate,
    /// invalid-json, unknown-state, extra-fields; hostile: hang, stall-after-headers,
    /// endless-body, oversized:BYTES, huge-size, zip-bomb:MIB, zip-count:N, unsafe-names,
    /// not-zip, other-job, echo-key, key-in-request-id, key-at-cut. Repeatable.
    #[arg(long = "fault", value_name = "ROUTE=FAULTS")]
    faults: Vec<String>,
    /// Inject a random fault (429, 503, 500, drops, truncation, delays) into this percentage of requests.
    #[arg(long, value_name = "PERCENT", value_parser = clap::value_parser!(u32).range(0..=100))]
    random_faults: Option<u32>,
    /// The seed of the random faults.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

pub(crate) async fn dispatch(cli: Cli) -> Result<Exit, Failure> {
    match cli.command {
        Command::Status { job_id, json } => status(&cli.global, &job_id, json).await,
        Command::Wait {
            job_id,
            limits,
            json,
        } => wait(&cli.global, &job_id, &limits, json).await,
        Command::Run(args) => {
            let client = client(&cli.global)?;
            run(&client, &args).await
        }
        Command::Sim(args) => sim(&args).await,
        Command::Demo { out } => demo(&out).await,
    }
}

/// The key, from the file or the environment; never the command line.
/// The most a key file may hold: a key is a few dozen characters.
const MAX_KEY_FILE: u64 = 4096;

fn api_key(global: &Global) -> Result<ApiKey, Failure> {
    let key = match &global.api_key_file {
        Some(path) => read_key_file(path)?,
        None => std::env::var("SARVAM_API_KEY").map_err(|_| {
            Failure::usage("no API key: set SARVAM_API_KEY to your key from the Sarvam dashboard, or pass --api-key-file PATH")
        })?,
    };
    ApiKey::new(key).map_err(|e| Failure::usage(e.to_string()))
}

/// Reads at most [`MAX_KEY_FILE`] bytes: `/dev/zero` or a log file given
/// by mistake is refused, not read to the end.
fn read_key_file(path: &Path) -> Result<String, Failure> {
    use std::io::Read as _;
    let cannot = |e: std::io::Error| {
        Failure::usage(format!(
            "cannot read the API key file {}: {e}",
            path.display()
        ))
    };
    let file = std::fs::File::open(path).map_err(cannot)?;
    let mut bytes = Vec::new();
    file.take(MAX_KEY_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_KEY_FILE {
        return Err(Failure::usage(format!(
            "the API key file {} is over {MAX_KEY_FILE} bytes (the key-file limit): give the file that holds only the key",
            path.display()
        )));
    }
    String::from_utf8(bytes).map_err(|_| {
        Failure::usage(format!(
            "the API key file {} is not text: give the file that holds only the key",
            path.display()
        ))
    })
}

fn client(global: &Global) -> Result<Client, Failure> {
    // The URL first: it says nothing secret, and a bad one is the likelier typo.
    sarvam_doc_core::BaseUrl::parse(&global.base_url, false)
        .map_err(|e| Failure::usage(e.to_string()))?;
    let config = Config::builder(api_key(global)?)
        .base_url(&global.base_url)
        .build()
        .map_err(|e| Failure::usage(e.to_string()))?;
    let roots = match global.tls_roots {
        crate::TlsRoots::Webpki => Roots::WebPki,
        crate::TlsRoots::Os => Roots::Platform,
    };
    Ok(Client::with_transport(config, Hyper::with_roots(roots)))
}

/// A job id of the job API: a UUID, checked before it goes into a path.
fn job_id(text: &str) -> Result<JobId, Failure> {
    let id: JobId = text
        .parse()
        .map_err(|e: InputError| Failure::usage(e.to_string()))?;
    if id.as_uuid().is_none() {
        return Err(Failure::usage(format!(
            "{text:?} is not a job id: the job API's ids are UUIDs such as 3fa85f64-5717-4562-b3fc-2c963f66afa6"
        )));
    }
    Ok(id)
}

async fn status(global: &Global, id: &str, json: bool) -> Result<Exit, Failure> {
    let job = job_id(id)?;
    let client = client(global)?;
    let status = client
        .status(&job)
        .await
        .map_err(|e| Failure::error(e.to_string()))?;
    let exit = match status.job_state.class() {
        StateClass::Ended(ending) => exit_of_ending(ending),
        StateClass::Working | StateClass::Waiting => Exit::Completed,
    };
    if json {
        report::print_json(&report::status_json(
            &status,
            report::state_outcome(&status.job_state),
        ));
    } else {
        report::print_status(&status);
    }
    Ok(exit)
}

async fn wait(global: &Global, id: &str, limits: &LimitArgs, json: bool) -> Result<Exit, Failure> {
    let job = job_id(id)?;
    let client = client(global)?;
    let client = client.clone().with_policy(limits.policy(client.policy()));
    let progress = Progress::new(&[id.to_owned()]);
    let outcome = client.watch(job, |e| progress.event(0, e)).await;
    progress.finish(0, &outcome_label(&Ok(outcome.clone())));
    if json {
        report::print_json(&report::outcome_json(&outcome));
    } else {
        if let Some(status) = outcome.status() {
            report::print_status(status);
        }
        if let Outcome::GaveUp { reason, .. } = &outcome {
            err!("gave up: {reason}{}", report::give_up_hint(reason));
        }
    }
    Ok(exit_of(&Ok(outcome)))
}

/// The exit code of a job that ended.
fn exit_of_ending(ending: Ending) -> Exit {
    match ending {
        Ending::Completed => Exit::Completed,
        Ending::PartiallyCompleted => Exit::PartiallyCompleted,
        Ending::Failed | Ending::Rejected => Exit::Failed,
    }
}

/// The exit code of one file's result.
pub(crate) fn exit_of(result: &Result<Outcome, RunError>) -> Exit {
    match result {
        Ok(Outcome::Completed { .. }) => Exit::Completed,
        Ok(Outcome::PartiallyCompleted { .. }) => Exit::PartiallyCompleted,
        Ok(Outcome::Failed { .. }) => Exit::Failed,
        Ok(Outcome::GaveUp {
            reason:
                GiveUpReason::Deadline(_)
                | GiveUpReason::Stalled { .. }
                | GiveUpReason::NoProgress { .. }
                | GiveUpReason::RetryAfterTooLong { .. },
            ..
        }) => Exit::GaveUp,
        Ok(_) | Err(_) => Exit::Error,
    }
}

pub(crate) fn outcome_label(result: &Result<Outcome, RunError>) -> String {
    match result {
        Ok(Outcome::Completed { .. }) => "completed".into(),
        Ok(Outcome::PartiallyCompleted { .. }) => "partially completed".into(),
        Ok(Outcome::Failed { .. }) => "failed".into(),
        Ok(Outcome::GaveUp { reason, .. }) => match reason {
            GiveUpReason::Deadline(_) => "gave up: deadline".into(),
            GiveUpReason::Stalled { state, .. } => format!("gave up: stalled in {state}"),
            GiveUpReason::NoProgress { .. } => "gave up: no progress".into(),
            GiveUpReason::RetryAfterTooLong { .. } => "gave up: told to wait too long".into(),
            _ => "gave up: error".into(),
        },
        Ok(_) => "ended".into(),
        Err(_) => "error".into(),
    }
}

/// The languages `run` takes: the API reference's 23, and the older codes
/// some of Sarvam's own docs use for Odia and Bodo.
fn language(code: &str) -> Result<Language, Failure> {
    let lang = Language::new(code).map_err(|e| Failure::usage(e.to_string()))?;
    if lang.is_documented() || ["or-IN", "bodo-IN"].contains(&code) {
        Ok(lang)
    } else {
        let known: Vec<_> = Language::DOCUMENTED.iter().map(Language::as_str).collect();
        Err(Failure::usage(format!(
            "{code:?} is not a language the API takes: use one of {}",
            known.join(", ")
        )))
    }
}

/// Checks every input before anything is sent, with the driver's one input
/// rule, and gives each its own output folder.
fn check_inputs(
    files: &[PathBuf],
    job: &CreateJobRequest,
    out: &Path,
    overwrite: bool,
) -> Result<Vec<PathBuf>, Failure> {
    let mut plan = FolderPlan::default();
    let mut inputs = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for path in files {
        sarvam_doc_driver::document(path, job.clone()).map_err(|e| match e {
            RunError::Core(e) => Failure::usage(format!("{}: {e}", path.display())),
            other => Failure::usage(other.to_string()),
        })?;
        if !seen.insert(std::fs::canonicalize(path).unwrap_or_else(|_| path.clone())) {
            return Err(Failure::usage(format!(
                "{} is given twice: each file is one job, so give it once",
                path.display()
            )));
        }
        let target = out.join(plan.assign(&path.to_string_lossy()));
        if target.exists() && !overwrite {
            return Err(Failure::usage(format!(
                "{} exists already: remove it, choose another --out, or pass --overwrite",
                target.display()
            )));
        }
        inputs.push(path.clone());
    }
    Ok(inputs)
}

/// Makes sure the output folder exists and takes files.
fn check_out_dir(out: &Path) -> Result<(), Failure> {
    std::fs::create_dir_all(out)
        .and_then(|()| tempfile::tempfile_in(out).map(drop))
        .map_err(|e| {
            Failure::usage(format!(
                "cannot write to the output folder {}: {e}",
                out.display()
            ))
        })
}

pub(crate) async fn run(client: &Client, args: &RunArgs) -> Result<Exit, Failure> {
    let job = CreateJobRequest::new(
        language(&args.language)?,
        args.format
            .parse::<OutputFormat>()
            .map_err(|e| Failure::usage(e.to_string()))?,
    );
    let inputs = check_inputs(&args.files, &job, &args.out, args.overwrite)?;
    check_out_dir(&args.out)?;
    let policy = args.limits.policy(client.policy());
    let client = client.clone().with_policy(policy);
    let options = RunOptions::new(&args.out)
        .with_job(job)
        .with_overwrite(args.overwrite)
        .with_unpack_limits(args.limits.unpack());
    let names: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
    let progress = Arc::new(Progress::new(&names));
    let started = Instant::now();
    let events = progress.clone();
    let batch = client.run_all(
        inputs.clone(),
        &options,
        usize::from(args.concurrency),
        move |i, e| {
            events.event(i, e);
        },
    );
    let results = tokio::select! {
        results = batch => results,
        _ = tokio::signal::ctrl_c() => {
            // Dropping the runs drops their temporary files and stops any unpack.
            progress.clear();
            err!("interrupted: no output was left half-written.");
            for (name, job) in names.iter().zip(progress.job_ids()) {
                if let Some(job) = job {
                    err!("  {name}: job {job} — resume with: sarvam-doc wait {job}");
                }
            }
            return Ok(Exit::Interrupted);
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    let results: Vec<FileResult> = results
        .into_iter()
        .zip(&inputs)
        .enumerate()
        .map(|(i, (result, input))| {
            let file = file_result(input, result, seconds, &progress, i);
            progress.finish(i, &file.label);
            file
        })
        .collect();
    if args.json {
        report::print_json(&report::run_json(&results));
    } else {
        report::print_summary(&results);
    }
    let worst = results
        .iter()
        .map(|r| r.exit)
        .max_by_key(|e| e.severity())
        .unwrap_or(Exit::Completed);
    Ok(worst)
}

/// What to do about a refused output.
fn unpack_hint(error: &sarvam_doc_core::output::UnpackError) -> &'static str {
    use sarvam_doc_core::output::UnpackError;
    match error {
        UnpackError::TooManyEntries { .. } => {
            "if you trust it, run again with a higher --max-entries"
        }
        UnpackError::TooLarge { .. } => "if you trust it, run again with a higher --max-unpacked",
        UnpackError::Ratio { .. } => "if you trust it, run again with a higher --max-ratio",
        _ => "open it with a tool you trust, or report it to Sarvam with the job id",
    }
}

/// One file's result, for the summary.
fn file_result(
    input: &Path,
    result: Result<Report, RunError>,
    seconds: f64,
    progress: &Progress,
    index: usize,
) -> FileResult {
    let mut file = FileResult {
        file: input.display().to_string(),
        job_id: None,
        exit: Exit::Error,
        label: String::new(),
        outcome: None,
        error: None,
        seconds,
        output: None,
    };
    match result {
        Ok(report) => {
            let outcome = Ok(report.outcome.clone());
            file.exit = exit_of(&outcome);
            file.label = outcome_label(&outcome);
            file.job_id = report.outcome.job_id().cloned();
            file.output = report.output.first().map(|p| p.display().to_string());
            file.outcome = Some(report.outcome);
        }
        Err(e) => {
            file.label = "error".into();
            file.job_id = match &e {
                RunError::Output { job_id, .. } | RunError::Unpack { job_id, .. } => job_id.clone(),
                _ => progress.job_ids().get(index).cloned().flatten(),
            };
            let mut message = e.to_string();
            if let RunError::Unpack { raw, error, .. } = &e {
                file.output = Some(raw.display().to_string());
                message.push_str(&format!("; {}", unpack_hint(error)));
            }
            file.error = Some(message);
        }
    }
    file
}

async fn sim(args: &SimArgs) -> Result<Exit, Failure> {
    let mut config = SimConfig::default();
    config.api_addr = args.listen;
    config.storage_addr = args.storage_listen;
    config.api_key.clone_from(&args.key);
    config.queue_time = Duration::from_millis(args.queue_ms);
    config.page_time = Duration::from_millis(args.page_ms);
    config.max_pages = args.max_pages;
    config.credits = args.credits;
    config.scenario = args.scenario.map(|s| match s {
        ScenarioArg::Completed => Scenario::Completed,
        ScenarioArg::Partial => Scenario::PartiallyCompleted,
        ScenarioArg::Failed => Scenario::Failed,
    });
    let mut plan = FaultPlan::default();
    for spec in &args.faults {
        let (route, faults) = spec.split_once('=').ok_or_else(|| {
            Failure::usage(format!(
                "--fault {spec:?} should be ROUTE=FAULT[,FAULT…], such as status=503,429:2"
            ))
        })?;
        let route: Route = route.parse().map_err(Failure::usage)?;
        let faults: Vec<Fault> = faults
            .split(',')
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map_err(Failure::usage)?;
        plan = plan.script(route, faults);
    }
    if let Some(percent) = args.random_faults {
        let kinds = vec![
            Fault::RateLimited(sarvam_doc_sim::RetryAfter::Seconds(1)),
            Fault::HighLoad,
            Fault::Internal,
            Fault::DropBefore,
            Fault::DropAfter,
            Fault::Truncated,
            Fault::Delay(Duration::from_millis(500)),
        ];
        plan = plan.random(RandomFaults::new(percent, kinds, args.seed));
    }
    config.faults = plan;
    let sim = Simulator::start(config)
        .map_err(|e| Failure::usage(format!("cannot start the simulator: {e}")))?;
    out!("sarvam-doc simulator");
    out!("  API:     {}", sim.api_url());
    out!("  storage: {}", sim.storage_url());
    out!("  key:     {}", sim.api_key());
    out!("");
    out!(
        "Try: SARVAM_API_KEY={} sarvam-doc --base-url {} run FILE.pdf",
        sim.api_key(),
        sim.api_url()
    );
    out!("Ctrl-C stops it.");
    let _ = tokio::signal::ctrl_c().await;
    err!(
        "stopped after {} requests, {} jobs",
        sim.requests().len(),
        sim.jobs()
    );
    Ok(Exit::Completed)
}

async fn demo(out: &Path) -> Result<Exit, Failure> {
    let sim = Simulator::start(SimConfig::default())
        .map_err(|e| Failure::error(format!("cannot start the simulator: {e}")))?;
    // One passing hiccup, to show the client riding it out.
    sim.inject(Route::Status, [Fault::HighLoad]);
    let input = out.join("sarvam-demo.pdf");
    std::fs::create_dir_all(out)
        .and_then(|()| std::fs::write(&input, sample::pdf(3, "Sarvam Document Intelligence demo")))
        .map_err(|e| {
            Failure::usage(format!(
                "cannot write the sample document into {}: {e}",
                out.display()
            ))
        })?;
    err!(
        "Simulator at {} (no key, no network needed).",
        sim.api_url()
    );
    err!(
        "Sample document: {}, 3 pages. One 503 is injected to show a retry.\n",
        input.display()
    );
    let config =
        Config::builder(ApiKey::new(sim.api_key()).map_err(|e| Failure::error(e.to_string()))?)
            .base_url(sim.api_url())
            .build()
            .map_err(|e| Failure::error(e.to_string()))?;
    let client: Client = Client::new(config);
    let args = RunArgs {
        files: vec![input],
        language: "hi-IN".into(),
        format: "md".into(),
        out: out.to_owned(),
        concurrency: 1,
        limits: LimitArgs {
            timeout: 120,
            ..LimitArgs::default()
        },
        overwrite: true,
        json: false,
    };
    let exit = run(&client, &args).await?;
    let pages = out.join("sarvam-demo");
    if let Ok(first) = std::fs::read_to_string(pages.join("page_001.md")) {
        out!(
            "\nOutputs are in {}/ — page_001.md reads:\n",
            pages.display()
        );
        for line in first.lines() {
            out!("    {line}");
        }
    }
    Ok(exit)
}
