//! What the CLI shows: progress on stderr, results on stdout, as text or JSON.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use sarvam_doc_core::journal::Plan;
use sarvam_doc_core::output::UnpackError;
use sarvam_doc_core::{
    Direction, Event, GiveUpReason, JobId, Outcome,
    model::{Ending, JobState, StateClass, Status},
};
use sarvam_doc_driver::{BatchPlan, Done, RunError};
use serde_json::{Value, json};

use crate::Exit;

/// ` --api doc-ai` when the command speaks `/doc-ai/v1`, for the commands
/// the CLI tells the user to type next; set once, at startup.
static API_FLAG: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();

/// Records which API this process speaks.
pub(crate) fn set_api(version: sarvam_doc_core::config::ApiVersion) {
    let _ = API_FLAG.set(match version {
        sarvam_doc_core::config::ApiVersion::DocAi => " --api doc-ai",
        _ => "",
    });
}

/// What a command for the same API needs: ` --api doc-ai`, or nothing.
pub(crate) fn api_flag() -> &'static str {
    API_FLAG.get().copied().unwrap_or("")
}

/// The exit code of a job that ended.
pub(crate) fn exit_of_ending(ending: Ending) -> Exit {
    match ending {
        Ending::Completed => Exit::Completed,
        Ending::PartiallyCompleted => Exit::PartiallyCompleted,
        Ending::Failed | Ending::Rejected => Exit::Failed,
    }
}

/// The exit code of how a job ended.
pub(crate) fn exit_of(outcome: &Outcome) -> Exit {
    match outcome {
        Outcome::Completed { .. } => Exit::Completed,
        Outcome::PartiallyCompleted { .. } => Exit::PartiallyCompleted,
        Outcome::Failed { .. } => Exit::Failed,
        Outcome::GaveUp {
            reason:
                GiveUpReason::Deadline(_)
                | GiveUpReason::Stalled { .. }
                | GiveUpReason::NoProgress { .. }
                | GiveUpReason::RetryAfterTooLong { .. },
            ..
        } => Exit::GaveUp,
        _ => Exit::Error,
    }
}

/// A word or two for how a job ended (none: an error); the reason is
/// [`Outcome::reason`], in its own column.
pub(crate) fn outcome_label(outcome: Option<&Outcome>) -> String {
    match outcome {
        Some(Outcome::GaveUp {
            reason: GiveUpReason::NotEnded { .. },
            ..
        }) => "not ended".into(),
        Some(Outcome::GaveUp {
            reason: GiveUpReason::SubmitUnconfirmed(_),
            ..
        }) => "unconfirmed".into(),
        Some(o) => o.kind().replace('_', " "),
        None => "error".into(),
    }
}

/// A run error in one short line for the summary table: what went wrong,
/// not yet what to do (that follows the table, on stderr).
pub(crate) fn error_brief(e: &RunError) -> String {
    let line = e.to_string();
    let first = line.split("; ").next().unwrap_or(&line);
    let mut brief: String = first.chars().take(160).collect();
    if brief.len() < first.len() {
        brief.push('…');
    }
    brief
}

/// A run error in one line, with what to do about it.
pub(crate) fn error_line(e: &RunError) -> String {
    let mut line = e.to_string();
    if let RunError::Unpack {
        error, job_id, raw, ..
    } = e
    {
        let flag = match error {
            UnpackError::TooManyEntries { limit } => {
                Some(format!("--max-entries {}", u64::from(*limit) * 10))
            }
            UnpackError::TooLarge { limit } => {
                Some(format!("--max-unpacked {}", limit.saturating_mul(10)))
            }
            UnpackError::Ratio { limit, .. } => {
                Some(format!("--max-ratio {}", u64::from(*limit) * 10))
            }
            _ => None,
        };
        // The download sits in OUT/<folder>/; fetching again replaces that folder.
        let out = raw.parent().and_then(std::path::Path::parent);
        match (flag, job_id, out) {
            (Some(flag), Some(job), Some(out)) => line.push_str(&format!(
                "; if you trust it, fetch it again with a higher limit: sarvam-doc download{} {job} --out {} --overwrite {flag}",
                api_flag(),
                out.display()
            )),
            _ => line.push_str(
                "; open it with a tool you trust, or report it to Sarvam with the job id",
            ),
        }
    }
    line
}

/// Whether the log is JSON (then the progress lines stay off stderr, so a
/// pipeline reads only JSON there).
static JSON_LOG: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The log on stderr: with `--verbose`, a span per job (its input and job
/// id) around a span per request (endpoint, attempt, retry, status, time,
/// the server's request id); with `--log-format json`, the same as one JSON
/// object a line, and each job's steps even without `--verbose`. No log
/// line ever holds the key.
pub(crate) fn init_log(verbose: bool, json: bool) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    if !verbose && !json {
        return;
    }
    JSON_LOG.store(json, std::sync::atomic::Ordering::Relaxed);
    let level = if verbose {
        tracing::Level::DEBUG
    } else {
        tracing::Level::INFO
    };
    let filter = tracing_subscriber::filter::Targets::new()
        .with_target("sarvam_doc_driver", level)
        .with_target("sarvam_doc", level);
    let registry = tracing_subscriber::registry().with(filter);
    let _ = if json {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(false)
                    .with_span_list(true)
                    .with_writer(std::io::stderr),
            )
            .try_init()
    } else {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_ansi(std::io::stderr().is_terminal())
                    .with_target(false)
                    .compact(),
            )
            .try_init()
    };
}

/// Whether progress lines are off stderr (the log is JSON).
pub(crate) fn quiet_progress() -> bool {
    JSON_LOG.load(std::sync::atomic::Ordering::Relaxed)
}

/// The smallest download whose bytes are shown as they arrive.
const BYTE_PROGRESS_FROM: u64 = 4 * 1024 * 1024;

/// What a retry means to the user: which request failed and why, and what
/// the client does next (the user need do nothing).
pub(crate) fn retry_line(
    endpoint: sarvam_doc_core::api::Endpoint,
    retry: u32,
    after: std::time::Duration,
    error: &sarvam_doc_core::Error,
) -> String {
    let mut line = format!(
        "{} failed ({}); trying again in {:.1} s (retry {retry})",
        endpoint.describe(),
        error.brief(),
        after.as_secs_f64()
    );
    if let Some(id) = error.request_id() {
        line.push_str(&format!(", request id {id}"));
    }
    line
}

/// One file's result, for the summary.
#[derive(Debug)]
pub(crate) struct FileResult {
    pub(crate) file: String,
    pub(crate) job_id: Option<JobId>,
    pub(crate) done: Done,
    pub(crate) pages: u32,
    pub(crate) exit: Exit,
    pub(crate) label: String,
    pub(crate) outcome: Option<Outcome>,
    /// Why it did not complete, in one line (the table's REASON).
    pub(crate) reason: Option<String>,
    pub(crate) error: Option<String>,
    pub(crate) seconds: f64,
    pub(crate) output: Option<String>,
    /// For an input cut into chunks: each chunk, for `--json`.
    pub(crate) chunks: Vec<Value>,
    /// For an input cut into chunks: its missing pages, by original number.
    pub(crate) missing: Vec<u32>,
    /// Lines to print after the table (a cut input's failed chunks).
    pub(crate) notes: Vec<String>,
}

impl FileResult {
    /// The start of `item`'s result: its file, job, pages and what was done,
    /// completed until said otherwise.
    pub(crate) fn of(item: &sarvam_doc_driver::BatchItem, seconds: f64) -> Self {
        FileResult {
            file: item.path.display().to_string(),
            job_id: item.job_id.clone(),
            done: item.done,
            pages: item.pages,
            exit: Exit::Completed,
            label: String::new(),
            outcome: None,
            reason: None,
            error: None,
            seconds,
            output: None,
            chunks: Vec::new(),
            missing: Vec::new(),
            notes: Vec::new(),
        }
    }
}

/// What to say when the API refused a job of `pages` pages for its pages:
/// the limit it named, where the document was cut (`cut_at`, for a chunk),
/// and what to run. Never "run the same command again": it would be
/// refused again.
pub(crate) fn page_limit_advice(
    refusal: &sarvam_doc_core::error::ApiError,
    pages: u32,
    cut_at: Option<u32>,
) -> String {
    // A number no smaller than the pages sent is not the limit (the page
    // count, quoted back), whatever the wording.
    let limit = refusal.page_limit().filter(|n| *n < pages);
    let named = limit.map_or_else(String::new, |n| {
        format!(": it takes at most {}", count(n, "page"))
    });
    let cut = cut_at.map_or_else(
        || " (it was sent whole: it is within --page-limit)".to_owned(),
        |limit| format!(" (the document was cut at --page-limit {limit})"),
    );
    let next = limit.map_or_else(
        || "a smaller --page-limit".to_owned(),
        |n| format!("--page-limit {n}"),
    );
    format!(
        "the API refused a job of {}{named}{cut}: run again with {next}; the refused job is \
         ended in the journal, so only the new, smaller jobs are sent (API said: {} {})",
        count(pages, "page"),
        refusal.status.as_u16(),
        crate::report::bounded_message(&refusal.message),
    )
}

/// A server's message (scrubbed and made printable where it entered), short.
pub(crate) fn bounded_message(message: &str) -> String {
    let mut short: String = message.chars().take(160).collect();
    if short.len() < message.len() {
        short.push('…');
    }
    short
}

/// Progress of several files: bars when stderr is a terminal, else lines;
/// nothing when the log is JSON (its steps are in the log).
pub(crate) struct Progress {
    names: Vec<String>,
    quiet: bool,
    bars: Option<(MultiProgress, Vec<ProgressBar>)>,
    /// The style of a bar once its page total is known (before: a spinner).
    pages_style: ProgressStyle,
    job_ids: Mutex<Vec<Option<JobId>>>,
    pages: Mutex<Vec<Option<(u32, u32)>>>,
}

impl Progress {
    pub(crate) fn new(names: &[String]) -> Self {
        let quiet = quiet_progress();
        let pages_style =
            ProgressStyle::with_template("{prefix:.bold} [{bar:24}] {pos}/{len} pages  {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
        let bars = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            // Until the server says how many pages there are: a spinner, not
            // a bar drawn full at 0/0.
            let waiting = ProgressStyle::with_template("{prefix:.bold} {spinner} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            let bars = names
                .iter()
                .map(|name| {
                    let bar = multi.add(ProgressBar::new(0));
                    bar.set_style(waiting.clone());
                    bar.set_prefix(name.clone());
                    bar.set_message("waiting");
                    bar.enable_steady_tick(std::time::Duration::from_millis(120));
                    bar
                })
                .collect();
            (multi, bars)
        });
        Progress {
            names: names.to_vec(),
            quiet,
            bars,
            pages_style,
            job_ids: Mutex::new(vec![None; names.len()]),
            pages: Mutex::new(vec![None; names.len()]),
        }
    }

    /// The job of each file, once created.
    pub(crate) fn job_ids(&self) -> Vec<Option<JobId>> {
        self.job_ids.lock().map(|v| v.clone()).unwrap_or_default()
    }

    pub(crate) fn event(&self, i: usize, event: &Event) {
        if let Event::JobCreated(id) = event
            && let Ok(mut ids) = self.job_ids.lock()
            && let Some(slot) = ids.get_mut(i)
        {
            *slot = Some(id.clone());
        }
        let line = match event {
            Event::JobCreated(id) => format!("created job {id}"),
            Event::Uploaded { len, .. } => format!("uploaded {len} bytes"),
            Event::Started => "started".into(),
            Event::StateChanged { to, .. } => to.to_string(),
            Event::Pages(p) => {
                let changed = self.pages.lock().ok().is_some_and(|mut seen| {
                    let now = Some((p.total, p.processed));
                    let changed = seen.get(i).copied().flatten() != now;
                    if let Some(slot) = seen.get_mut(i) {
                        *slot = now;
                    }
                    changed
                });
                if let Some((_, bars)) = &self.bars
                    && let Some(bar) = bars.get(i)
                {
                    if p.total > 0 {
                        if bar.length() == Some(0) {
                            bar.set_style(self.pages_style.clone());
                        }
                        bar.set_length(u64::from(p.total));
                        bar.set_position(u64::from(p.processed));
                    }
                    return;
                }
                if !changed {
                    return;
                }
                format!(
                    "{}/{} pages processed ({} failed)",
                    p.processed, p.total, p.failed
                )
            }
            Event::Retrying {
                endpoint,
                retry,
                after,
                error,
            } => retry_line(*endpoint, *retry, *after, error),
            Event::StartUnconfirmed { .. } => {
                "the start may not have gone through; watching the job instead of starting it twice"
                    .into()
            }
            Event::SubmitUnconfirmed { error } => format!(
                "the submit got no answer ({error}); submitting again as --retry-unconfirmed asked"
            ),
            Event::Downloaded(o) => format!("downloaded {}", o.name),
            // Byte progress: on a terminal, for a file of a few MB or more.
            Event::Transfer {
                direction,
                name,
                done,
                total,
            } if self.bars.is_some() && total.unwrap_or(*done) >= BYTE_PROGRESS_FROM => {
                let verb = match direction {
                    Direction::Upload => "uploading",
                    _ => "downloading",
                };
                match total {
                    Some(total) => format!(
                        "{verb} {name}: {} of {}",
                        indicatif::HumanBytes(*done),
                        indicatif::HumanBytes(*total)
                    ),
                    None => format!("{verb} {name}: {}", indicatif::HumanBytes(*done)),
                }
            }
            _ => return,
        };
        match &self.bars {
            Some((_, bars)) => {
                if let Some(bar) = bars.get(i) {
                    bar.set_message(line);
                }
            }
            None if self.quiet => {}
            None => err!("{}: {line}", self.names.get(i).map_or("", String::as_str)),
        }
    }

    /// A line about file `i` (a bar's message on a terminal).
    pub(crate) fn note(&self, i: usize, line: &str) {
        match &self.bars {
            Some((_, bars)) => {
                if let Some(bar) = bars.get(i) {
                    bar.set_message(line.to_owned());
                }
            }
            None if self.quiet => {}
            None => err!("{}: {line}", self.names.get(i).map_or("", String::as_str)),
        }
    }

    pub(crate) fn finish(&self, i: usize, label: &str) {
        if let Some((_, bars)) = &self.bars
            && let Some(bar) = bars.get(i)
        {
            bar.finish_with_message(label.to_owned());
        }
    }

    pub(crate) fn clear(&self) {
        if let Some((multi, _)) = &self.bars {
            let _ = multi.clear();
        }
    }
}

pub(crate) fn print_json(value: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = serde_json::to_writer_pretty(&mut out, value);
    let _ = writeln!(out);
}

/// The outcome of a bare status, by state.
pub(crate) fn state_outcome(state: &JobState) -> Value {
    let kind = match state.class() {
        StateClass::Ended(Ending::Completed) => "completed",
        StateClass::Ended(Ending::PartiallyCompleted) => "partially_completed",
        StateClass::Ended(Ending::Failed) => "failed",
        StateClass::Ended(Ending::Rejected) => "rejected",
        StateClass::Working | StateClass::Waiting => "in_progress",
    };
    json!({"kind": kind})
}

/// The status with the API's own field names, plus `outcome`.
pub(crate) fn status_json(status: &Status, outcome: Value) -> Value {
    let mut value = serde_json::to_value(status).unwrap_or_else(|_| json!({}));
    if let Some(obj) = value.as_object_mut() {
        obj.insert("outcome".into(), outcome);
    }
    value
}

fn outcome_value(outcome: &Outcome) -> Value {
    match outcome {
        Outcome::GaveUp { reason, .. } => {
            json!({"kind": "gave_up", "reason": reason.code(), "message": reason.to_string()})
        }
        other => match other.status() {
            Some(status) => state_outcome(&status.state()),
            None => json!({"kind": "unknown"}),
        },
    }
}

/// How a wait ended: the last status seen (if any) plus `outcome`, and
/// where the outputs are.
pub(crate) fn outcome_json(outcome: &Outcome, output: &[std::path::PathBuf]) -> Value {
    let mut value = match outcome.status() {
        Some(status) => status_json(status, outcome_value(outcome)),
        None => {
            json!({"job_id": outcome.job_id().map(ToString::to_string), "outcome": outcome_value(outcome)})
        }
    };
    if let Some(obj) = value.as_object_mut() {
        obj.insert("reason".into(), json!(outcome.reason()));
    }
    if let Some(obj) = value.as_object_mut()
        && !output.is_empty()
    {
        obj.insert(
            "output".into(),
            json!(
                output
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
            ),
        );
    }
    value
}

pub(crate) fn done_name(done: Done) -> &'static str {
    match done {
        Done::Ran => "ran",
        Done::Resumed => "resumed",
        Done::Skipped => "skipped",
        Done::FailedBefore => "failed_before",
        Done::Unconfirmed => "unconfirmed",
        _ => "other",
    }
}

/// The counts of a batch: done, skipped, resumed, failed, and pages.
fn summary(results: &[FileResult]) -> Value {
    let count = |f: &dyn Fn(&FileResult) -> bool| results.iter().filter(|r| f(r)).count();
    json!({
        "files": results.len(),
        "completed": count(&|r| r.exit == Exit::Completed && r.done != Done::Skipped),
        "partially_completed": count(&|r| r.exit == Exit::PartiallyCompleted),
        "skipped": count(&|r| r.done == Done::Skipped),
        "resumed": count(&|r| r.done == Done::Resumed),
        "failed": count(&|r| matches!(r.exit, Exit::Failed | Exit::GaveUp | Exit::Error)),
        "pages": results.iter().map(|r| u64::from(r.pages)).sum::<u64>(),
    })
}

/// What a plan does with an input or a chunk, in words.
fn plan_words(plan: &Plan) -> String {
    match plan {
        Plan::New { replaces: None } => "new job".to_owned(),
        Plan::New { replaces: Some(_) } => "new job (changed, or forced)".to_owned(),
        Plan::Resume { job, .. } => format!("resume job {job}"),
        Plan::Skip { job, .. } => format!("skip: done by job {job}"),
        Plan::Failed { job, .. } => format!("skip: job {job} failed (use --force)"),
        Plan::Unconfirmed => {
            "skip: an earlier submit got no answer (use --retry-unconfirmed)".to_owned()
        }
    }
}

/// What a dry run would do, as a table or JSON: each input's pages, the
/// jobs it becomes (a cut input's chunks, a row each, with their pages),
/// and the batch's total pages and jobs to send.
pub(crate) fn print_plan(plan: &BatchPlan, as_json: bool) {
    let new: usize = plan
        .inputs
        .iter()
        .map(|i| {
            if i.chunks.is_empty() {
                usize::from(matches!(i.plan, Plan::New { .. }))
            } else {
                i.chunks
                    .iter()
                    .filter(|c| matches!(c.plan, Plan::New { .. }))
                    .count()
            }
        })
        .sum();
    let skipped = plan
        .inputs
        .iter()
        .filter(|i| {
            if i.chunks.is_empty() {
                !i.plan.sends()
            } else {
                !i.chunks.iter().any(|c| c.plan.sends())
            }
        })
        .count();
    if as_json {
        let files: Vec<Value> = plan
            .inputs
            .iter()
            .map(|i| {
                let mut value = json!({
                    "file": i.path.display().to_string(),
                    "pages": i.pages,
                    "jobs": i.jobs(),
                    "plan": if i.stitched { "skip: done before".to_owned() } else { plan_words(&i.plan) },
                    "folder": i.folder,
                    "pages_to_send": i.pages_to_send(),
                });
                if let Some(cut) = &i.chunk_plan {
                    value["page_limit"] = json!(cut.limit());
                    value["chunks"] = json!(i.chunks.iter().map(|c| json!({
                        "pages": format!("{}-{}", c.chunk.first, c.chunk.last),
                        "first": c.chunk.first,
                        "last": c.chunk.last,
                        "plan": plan_words(&c.plan),
                    })).collect::<Vec<_>>());
                }
                value
            })
            .collect();
        print_json(&json!({
            "dry_run": true,
            "files": files,
            "jobs_to_create": new,
            "jobs_to_send": plan.jobs_to_send(),
            "skipped": skipped,
            "pages": plan.pages(),
            "pages_to_send": plan.pages_to_send(),
            "journal": plan.journal().display().to_string(),
            "possible_orphans": plan.possible_orphans,
        }));
        return;
    }
    let header = ["FILE", "PAGES", "PLAN", "FOLDER"].map(str::to_owned);
    let mut cells: Vec<[String; 4]> = Vec::new();
    for i in &plan.inputs {
        let what = match &i.chunk_plan {
            Some(_) if i.stitched => format!("skip: done before ({})", count(i.jobs(), "job")),
            Some(cut) => format!(
                "cut into {} of at most {} pages",
                count(i.jobs(), "job"),
                cut.limit()
            ),
            None => plan_words(&i.plan),
        };
        cells.push([
            i.path.display().to_string(),
            i.pages.to_string(),
            what,
            i.folder.clone(),
        ]);
        if !i.stitched {
            for c in &i.chunks {
                cells.push([
                    format!("  pages {}-{}", c.chunk.first, c.chunk.last),
                    c.chunk.pages().to_string(),
                    plan_words(&c.plan),
                    String::new(),
                ]);
            }
        }
    }
    print_table(&header, &cells);
    out!(
        "{}, {} in all; {} to send in {}; {}, {skipped} skipped. Dry run: nothing was sent.",
        count(plan.inputs.len(), "file"),
        count(plan.pages(), "page"),
        count(plan.pages_to_send(), "page"),
        count(plan.jobs_to_send(), "job"),
        count(new, "new job"),
    );
    if plan.possible_orphans > 0 {
        out!(
            "{} earlier runs sent got no answer: jobs that may exist, never started, cost nothing.",
            count(plan.possible_orphans, "create"),
        );
    }
}

/// `n` and the noun, plural unless `n` is 1: "1 job", "3 jobs".
pub(crate) fn count(n: impl TryInto<u64> + Copy + std::fmt::Display, noun: &str) -> String {
    let one = n.try_into().ok() == Some(1);
    format!("{n} {noun}{}", if one { "" } else { "s" })
}

/// A table with aligned columns on stdout.
fn print_table<const N: usize>(header: &[String; N], rows: &[[String; N]]) {
    let mut widths = header.each_ref().map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String; N]| {
        cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    out!("{}", line(header));
    for row in rows {
        out!("{}", line(row));
    }
}

pub(crate) fn run_json(results: &[FileResult]) -> Value {
    let files: Vec<Value> = results
        .iter()
        .map(|r| {
            let outcome = match (&r.outcome, &r.error) {
                (_, Some(e)) => json!({"kind": "error", "message": e}),
                (Some(o), None) => outcome_value(o),
                // A cut input: how its pages came back, all of its jobs together.
                (None, None) if !r.chunks.is_empty() => json!({
                    "kind": match r.exit {
                        Exit::Completed => "completed",
                        Exit::PartiallyCompleted => "partially_completed",
                        Exit::Failed => "failed",
                        Exit::GaveUp => "gave_up",
                        _ => "error",
                    },
                    "missing_pages": r.missing,
                }),
                (None, None) => json!({"kind": "unknown"}),
            };
            let mut value = json!({
                "file": r.file,
                "done": done_name(r.done),
                "pages": r.pages,
                "job_id": r.job_id.as_ref().map(ToString::to_string),
                "outcome": outcome,
                "reason": r.reason,
                "status": r.outcome.as_ref().and_then(Outcome::status),
                "seconds": (r.seconds * 1000.0).round() / 1000.0,
                "output": r.output,
                "exit_code": r.exit as u8,
            });
            if !r.chunks.is_empty() {
                value["jobs"] = json!(
                    r.chunks
                        .iter()
                        .map(|c| c["job_id"].clone())
                        .collect::<Vec<_>>()
                );
                value["chunks"] = json!(r.chunks);
                value["missing_pages"] = json!(r.missing);
                value["pages_ok"] = json!(
                    r.pages
                        .saturating_sub(u32::try_from(r.missing.len()).unwrap_or(u32::MAX))
                );
            }
            value
        })
        .collect();
    json!({"files": files, "summary": summary(results)})
}

/// What the user can do about a give-up, when a flag can help.
pub(crate) fn give_up_hint(reason: &GiveUpReason) -> &'static str {
    match reason {
        GiveUpReason::TooLarge { .. } => {
            "; if you expect an output that large, raise --max-download"
        }
        GiveUpReason::RetryAfterTooLong { .. } => {
            "; try later, or raise --max-retry-after and --timeout"
        }
        GiveUpReason::Deadline(_) => "; raise --timeout to wait longer",
        GiveUpReason::SubmitUnconfirmed(_) => {
            "; run the same command with --retry-unconfirmed to submit again (that may pay twice)"
        }
        _ => "",
    }
}

pub(crate) fn print_status(status: &Status) {
    let p = status.pages();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "job {}: {}", status.job_id(), status.state());
    let _ = writeln!(
        out,
        "  pages:   {} total, {} processed, {} succeeded, {} failed",
        p.total, p.processed, p.succeeded, p.failed
    );
    let (created, updated) = match status {
        Status::Legacy(s) => (rfc3339(s.created_at), rfc3339(s.updated_at)),
        Status::DocAi(s) => {
            let _ = writeln!(out, "  task:    {}", s.pipeline);
            (s.created_at.clone(), s.updated_at.clone())
        }
        _ => (String::new(), String::new()),
    };
    let _ = writeln!(out, "  created: {created}");
    let _ = writeln!(out, "  updated: {updated}");
    if !status.error_message().is_empty() {
        let _ = writeln!(out, "  error:   {}", status.error_message());
    }
    let errors: Vec<_> = status.page_errors().collect();
    if !errors.is_empty() {
        let _ = writeln!(out, "  page errors:");
        for e in errors {
            let _ = writeln!(
                out,
                "    page {}: {} ({})",
                e.page_number, e.error_message, e.error_code
            );
        }
    }
}

fn rfc3339(t: sarvam_doc_core::time::OffsetDateTime) -> String {
    t.format(&sarvam_doc_core::time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

/// What the request budget did, for `--json`.
pub(crate) fn budget_json(
    stats: &sarvam_doc_core::budget::BudgetStats,
    wall: std::time::Duration,
) -> Value {
    json!({
        "rate_per_minute": stats.rate_per_minute.map(|r| (r * 10.0).round() / 10.0),
        "requests": stats.granted,
        "throttled": stats.throttled,
        "held_seconds": (stats.held.as_secs_f64() * 10.0).round() / 10.0,
        "held_share": share(stats.held, wall),
    })
}

fn share(part: std::time::Duration, whole: std::time::Duration) -> f64 {
    if whole.is_zero() {
        0.0
    } else {
        (part.as_secs_f64() / whole.as_secs_f64() * 1000.0).round() / 1000.0
    }
}

/// One line on the request budget, when it held anything back or the
/// server throttled.
pub(crate) fn print_budget(
    stats: &sarvam_doc_core::budget::BudgetStats,
    wall: std::time::Duration,
) {
    if stats.held.is_zero() && stats.throttled == 0 {
        return;
    }
    let rate = stats
        .rate_per_minute
        .map_or_else(|| "no rate yet".to_owned(), |r| format!("{r:.0}/min"));
    err!(
        "rate limit: {} API requests at {rate}; {} answered 429; requests waited for the budget {:.0} s of the {:.0} s run ({:.0} %)",
        stats.granted,
        stats.throttled,
        stats.held.as_secs_f64(),
        wall.as_secs_f64(),
        share(stats.held, wall.max(stats.held)) * 100.0
    );
}

pub(crate) fn print_summary(results: &[FileResult]) {
    let rows: Vec<[String; 7]> = results
        .iter()
        .map(|r| {
            let pages = r
                .outcome
                .as_ref()
                .and_then(Outcome::status)
                .map(Status::pages);
            let missing = u32::try_from(r.missing.len()).unwrap_or(u32::MAX);
            let jobs = match (&r.job_id, r.chunks.len()) {
                (Some(job), n) if n > 1 => format!("{job} +{}", n - 1),
                (Some(job), _) => job.to_string(),
                (None, _) => "-".into(),
            };
            [
                r.file.clone(),
                jobs,
                r.label.clone(),
                if r.chunks.is_empty() {
                    pages.map_or_else(|| "-".into(), |p| format!("{}/{}", p.succeeded, p.failed))
                } else {
                    format!("{}/{missing}", r.pages.saturating_sub(missing))
                },
                format!("{:.1}", r.seconds),
                r.output.clone().unwrap_or_else(|| "-".into()),
                r.reason.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let header = [
        "FILE",
        "JOB ID",
        "OUTCOME",
        "PAGES OK/FAILED",
        "SECONDS",
        "OUTPUT",
        "REASON",
    ]
    .map(str::to_owned);
    print_table(&header, &rows);
    let s = summary(results);
    out!(
        "{}, {}: {} completed, {} partially completed, {} skipped (done before), {} resumed, {} failed",
        count(results.len(), "file"),
        count(
            results.iter().map(|r| u64::from(r.pages)).sum::<u64>(),
            "page"
        ),
        s["completed"],
        s["partially_completed"],
        s["skipped"],
        s["resumed"],
        s["failed"]
    );
    for r in results {
        for note in &r.notes {
            err!("{}: {note}", r.file);
        }
        if let Some(e) = &r.error {
            // An error that names its file first needs no second name.
            if e.starts_with(&r.file) {
                err!("error: {e}");
            } else {
                err!("error: {}: {e}", r.file);
            }
        } else if let Some(Outcome::GaveUp { reason, .. }) = &r.outcome
            && let Some(refusal) = reason.page_limit_refusal()
        {
            err!("{}: {}", r.file, page_limit_advice(refusal, r.pages, None));
        } else if let Some(Outcome::GaveUp { reason, job_id, .. }) = &r.outcome {
            err!("{}: gave up: {reason}{}", r.file, give_up_hint(reason));
            if reason.ends_job(job_id.is_some()) {
                err!("  its job is ended in the journal: --retry-failed pays for a new one");
            } else if let Some(job) = job_id {
                err!(
                    "  its job {job} is in the journal: run the same command again to go on with it"
                );
            }
        } else if let Some(Outcome::Failed { status }) = &r.outcome
            && !status.error_message().is_empty()
        {
            err!("{}: the job failed: {}", r.file, status.error_message());
        }
    }
}
