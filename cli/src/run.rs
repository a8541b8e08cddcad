//! `run`: files, folders and lists through the whole job, resumable from the
//! output folder's journal.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use sarvam_doc_core::doc_ai::{
    ContentType, Digitise, Extract, ExtractFormat, ExtractSource, MAX_SCHEMA_BYTES, Schema, Task,
};
use sarvam_doc_core::journal::Plan;
use sarvam_doc_core::{
    config::ApiVersion,
    model::{CreateJobRequest, Job, OutputFormat},
};
use sarvam_doc_driver::{BatchItem, BatchOptions, Done, RunOptions};
use sarvam_doc_hyper::Client;

use crate::args::{BatchArgs, ContentTypeArg, ExtractArgs, ExtractFormatArg, RunArgs};
use crate::report::{self, FileResult, Progress};
use crate::setup::language;
use crate::{Exit, Failure};

/// The job `run` asks for, in the terms of `version`.
pub(crate) fn job(args: &RunArgs, version: ApiVersion) -> Result<Job, Failure> {
    let language = language(&args.language)?;
    let format = args
        .format
        .parse::<OutputFormat>()
        .map_err(|e| Failure::usage(e.to_string()))?;
    if version != ApiVersion::DocAi {
        if args.content_type.is_some() {
            return Err(Failure::usage(
                "--content-type is a /doc-ai/v1 field: add --api doc-ai, or drop it",
            ));
        }
        return Ok(Job::Legacy(CreateJobRequest::new(language, format)));
    }
    Ok(Job::DocAi(Task::Digitise(Digitise {
        language: Some(language),
        output_format: Some(format),
        content_type: args.content_type.map(|c| match c {
            ContentTypeArg::Printed => ContentType::Printed,
            ContentTypeArg::Handwritten => ContentType::Handwritten,
            ContentTypeArg::Mixed => ContentType::Mixed,
        }),
        ..Digitise::default()
    })))
}

/// The largest `--from` list read, in bytes: 16 MiB, some 100,000 paths.
pub(crate) const MAX_LIST_BYTES: u64 = 16 * 1024 * 1024;

/// The job `extract` asks for; the schema is read (at most 256 KiB) and
/// checked against the API's rules here, before anything is sent.
pub(crate) fn extract_job(args: &ExtractArgs) -> Result<Job, Failure> {
    let source = match (&args.schema, &args.config_id) {
        (Some(path), _) => {
            use std::io::Read as _;
            let cannot = |e: std::io::Error| {
                Failure::usage(format!("cannot read the schema {}: {e}", path.display()))
            };
            let mut text = String::new();
            std::fs::File::open(path)
                .map_err(cannot)?
                .take(MAX_SCHEMA_BYTES as u64 + 1)
                .read_to_string(&mut text)
                .map_err(cannot)?;
            let schema = Schema::parse(&text)
                .map_err(|e| Failure::usage(format!("{}: {e}", path.display())))?;
            ExtractSource::Schema(schema)
        }
        (None, Some(id)) => ExtractSource::ConfigId(id.clone()),
        (None, None) => {
            return Err(Failure::usage(
                "give the fields to extract: --schema FILE or --config-id ID",
            ));
        }
    };
    let mut extract = Extract::new(source);
    extract.language = args.language.as_deref().map(language).transpose()?;
    extract.output_format = Some(match args.format {
        ExtractFormatArg::Json => ExtractFormat::Json,
        ExtractFormatArg::Csv => ExtractFormat::Csv,
        ExtractFormatArg::Xlsx => ExtractFormat::Xlsx,
    });
    extract.classification = args.classification.then_some(true);
    // The form is built once here so a bad config id is refused before anything is sent.
    let task = Task::Extract(extract);
    task.form(&["check"])
        .map_err(|e| Failure::usage(e.to_string()))?;
    Ok(Job::DocAi(task))
}

/// Runs `args`'s files as `job` asks, through the output folder's journal.
pub(crate) async fn run(client: &Client, args: &BatchArgs, job: Job) -> Result<Exit, Failure> {
    let inputs = inputs(&args.files, args.from.as_deref())?;
    let out = &args.output.out;
    // A dry run writes nothing, not even the output folder.
    if !args.dry_run {
        std::fs::create_dir_all(out)
            .and_then(|()| tempfile::tempfile_in(out).map(drop))
            .map_err(|e| {
                Failure::usage(format!(
                    "cannot write to the output folder {}: {e}",
                    out.display()
                ))
            })?;
    }
    let client = args.limits.client(client);
    let client = client.clone().with_policy(
        client
            .policy()
            .clone()
            .with_retry_unconfirmed(args.retry_unconfirmed),
    );
    let run_options = RunOptions::new(out)
        .with_job(job)
        .with_overwrite(args.output.overwrite)
        .with_unpack_limits(args.limits.unpack());
    let options = BatchOptions::new(run_options)
        .with_force(args.force)
        .with_retry_failed(args.retry_failed)
        .with_page_limit(Some(args.page_limit), args.strict_pages);
    let plan = client
        .plan_batch(inputs, &options)
        .await
        .map_err(|e| Failure::usage(e.to_string()))?;
    if !plan.refused.is_empty() {
        for (path, why) in &plan.refused {
            err!("error: {}: {why}", path.display());
        }
        return Err(Failure::usage(format!(
            "{} of the inputs cannot be sent (above); nothing was sent",
            plan.refused.len()
        )));
    }
    for input in &plan.inputs {
        if let Some(warning) = &input.warning {
            err!("warning: {}: {warning}", input.path.display());
        }
    }
    if let Some(max) = args.max_pages
        && plan.pages_to_send() > max
    {
        return Err(Failure::usage(format!(
            "the batch would send {} in {}, over --max-pages {max}: nothing was sent; run \
             fewer files, or raise --max-pages (--dry-run shows each file's pages and jobs)",
            report::count(plan.pages_to_send(), "page"),
            report::count(plan.jobs_to_send(), "job"),
        )));
    }
    if args.dry_run {
        report::print_plan(&plan, args.json);
        return Ok(Exit::Completed);
    }
    let names: Vec<String> = plan
        .inputs
        .iter()
        .map(|i| i.path.display().to_string())
        .collect();
    let progress = Arc::new(Progress::new(&names));
    for (i, input) in plan.inputs.iter().enumerate() {
        if input.stitched {
            progress.finish(
                i,
                &format!("done before ({})", report::count(input.jobs(), "job")),
            );
            continue;
        }
        if !input.chunks.is_empty() {
            progress.note(
                i,
                &format!(
                    "{} pages in {} of at most {}",
                    input.pages,
                    report::count(input.jobs(), "job"),
                    input.chunk_plan.as_ref().map_or(0, |p| p.limit())
                ),
            );
            continue;
        }
        match &input.plan {
            Plan::Skip { job, .. } => progress.finish(i, &format!("done before (job {job})")),
            Plan::Resume { job, .. } => progress.note(i, &format!("resuming job {job}")),
            _ => {}
        }
    }
    let journal = plan.journal().to_owned();
    let started = Instant::now();
    let events = progress.clone();
    let batch = client.run_batch(
        plan,
        &options,
        usize::from(args.concurrency),
        move |i, e| {
            events.event(i, e);
        },
    );
    let items = tokio::select! {
        items = batch => items.map_err(|e| Failure::usage(e.to_string()))?,
        _ = tokio::signal::ctrl_c() => {
            // Dropping the runs drops their temporary files and stops any unpack.
            progress.clear();
            err!("interrupted: nothing was left half-written, and every job is in the journal ({}).", journal.display());
            for (name, job) in names.iter().zip(progress.job_ids()) {
                if let Some(job) = job {
                    err!("  {name}: job {job}");
                }
            }
            err!("To pick up where this stopped, without paying twice, run the same command again:");
            err!("  {}", command_line());
            return Ok(Exit::Interrupted);
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    let results: Vec<FileResult> = items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let file = file_result(item, seconds, out);
            progress.finish(i, &file.label);
            file
        })
        .collect();
    progress.clear();
    let budget = client.budget_stats();
    if args.json {
        let mut value = report::run_json(&results);
        value["budget"] = report::budget_json(&budget, started.elapsed());
        report::print_json(&value);
    } else {
        report::print_summary(&results);
        report::print_budget(&budget, started.elapsed());
    }
    Ok(results
        .iter()
        .map(|r| r.exit)
        .max_by_key(|e| e.severity())
        .unwrap_or(Exit::Completed))
}

/// The inputs: each file given, each folder's `.pdf` and `.zip` files
/// (sorted, not its subfolders), and each path listed in `from`.
fn inputs(given: &[PathBuf], from: Option<&Path>) -> Result<Vec<PathBuf>, Failure> {
    let mut paths = Vec::new();
    for path in given {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| {
                    Failure::usage(format!("cannot read the folder {}: {e}", path.display()))
                })?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.is_file()
                        && p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                            e.eq_ignore_ascii_case("pdf") || e.eq_ignore_ascii_case("zip")
                        })
                })
                .collect();
            found.sort();
            if found.is_empty() {
                return Err(Failure::usage(format!(
                    "the folder {} holds no .pdf or .zip files",
                    path.display()
                )));
            }
            paths.extend(found);
        } else {
            paths.push(path.clone());
        }
    }
    if let Some(list) = from {
        use std::io::Read as _;
        let cannot = |e: std::io::Error| {
            Failure::usage(format!("cannot read the list {}: {e}", list.display()))
        };
        // Bounded: `--from /dev/zero` must not read forever. A FIFO (`<(ls)`)
        // is read as it comes.
        let mut bytes = Vec::new();
        std::fs::File::open(list)
            .map_err(cannot)?
            .take(MAX_LIST_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(cannot)?;
        if bytes.len() as u64 > MAX_LIST_BYTES {
            return Err(Failure::usage(format!(
                "the list {} is over {} MiB: split it into smaller lists",
                list.display(),
                MAX_LIST_BYTES / (1024 * 1024)
            )));
        }
        let text = String::from_utf8(bytes).map_err(|_| {
            cannot(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "stream did not contain valid UTF-8",
            ))
        })?;
        paths.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(PathBuf::from),
        );
    }
    if paths.is_empty() {
        return Err(Failure::usage(
            "no inputs: give PDF or ZIP files, folders of them, or --from LIST",
        ));
    }
    Ok(paths)
}

/// One input's result, for the summary.
pub(crate) fn file_result(item: BatchItem, seconds: f64, out: &Path) -> FileResult {
    if !item.chunks.is_empty() {
        return long_result(item, seconds, out);
    }
    let mut file = FileResult::of(&item, seconds);
    match (item.done, item.result) {
        (Done::Skipped, _) => {
            // Reported as it ended, so a rerun of a finished batch says what the first did.
            if let Some(state) = &item.earlier_state
                && let sarvam_doc_core::model::StateClass::Ended(ending) = state.class()
            {
                file.exit = report::exit_of_ending(ending);
                file.label = format!("done before ({state})");
            } else {
                file.label = "done before".into();
            }
        }
        (Done::FailedBefore, _) => {
            file.exit = Exit::Failed;
            file.label = format!(
                "failed before ({})",
                item.earlier_state
                    .map(|s| s.to_string())
                    .unwrap_or_default()
            );
            file.reason = Some("failed in an earlier run; nothing sent".to_owned());
            file.error = Some(match &item.earlier_reason {
                Some(why) => format!("its job ended in an earlier run ({why}), so nothing was sent; run again with --retry-failed to pay for a new job"),
                None => "its job failed in an earlier run, so nothing was sent; run again with --retry-failed to pay for a new job".to_owned(),
            });
        }
        (Done::Unconfirmed, _) => {
            file.exit = Exit::Error;
            file.label = "unconfirmed".into();
            file.reason = Some("an earlier submit got no answer; nothing sent".to_owned());
            file.error = Some("its submit got no answer in an earlier run, so a job may be running that no request can find, and nothing was sent; run again with --retry-unconfirmed to submit it again (that may pay twice)".to_owned());
        }
        (_, Ok(Some(report))) => {
            file.exit = report::exit_of(&report.outcome);
            file.label = report::outcome_label(Some(&report.outcome));
            file.reason = report.outcome.reason();
            file.output = report.output.first().map(|p| p.display().to_string());
            file.job_id = report.outcome.job_id().cloned().or(file.job_id);
            file.outcome = Some(report.outcome);
        }
        (_, Ok(None)) => file.label = "done".into(),
        (_, Err(e)) => {
            file.exit = Exit::Error;
            file.label = "error".into();
            if let sarvam_doc_driver::RunError::Unpack { raw, .. } = &e {
                file.output = Some(raw.display().to_string());
            }
            file.reason = Some(report::error_brief(&e));
            file.error = Some(report::error_line(&e));
        }
    }
    if item.done == Done::Resumed && !file.label.starts_with("error") {
        file.label = format!("{} (resumed)", file.label);
    }
    file
}

/// The command line as typed, to say how to run it again.
fn command_line() -> String {
    std::env::args()
        .map(|a| {
            if a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@".contains(c))
                && !a.is_empty()
            {
                a
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The result of an input cut into chunks: completed when every page came
/// back, partially completed when some did (exit 3), else as its worst
/// chunk; the missing pages by their original numbers.
fn long_result(item: BatchItem, seconds: f64, out: &Path) -> FileResult {
    use sarvam_doc_core::split::ranges_text;
    let jobs = item.chunks.len();
    let mut file = FileResult::of(&item, seconds);
    file.missing.clone_from(&item.missing_pages);
    let limit = item
        .chunks
        .first()
        .map(|c| c.chunk.pages())
        .unwrap_or_default();
    let mut resumable = false;
    let mut worst = Exit::Completed;
    let mut first_reason = None;
    for chunk in &item.chunks {
        let (exit, outcome, reason) = match (&chunk.result, chunk.done) {
            (Err(e), _) => (
                Exit::Error,
                "error".to_owned(),
                Some(report::error_brief(e)),
            ),
            (Ok(Some(r)), _) => (
                report::exit_of(&r.outcome),
                r.outcome.kind().to_owned(),
                r.outcome.reason(),
            ),
            (Ok(None), Done::FailedBefore) => (
                Exit::Failed,
                "failed_before".to_owned(),
                Some(chunk.earlier_reason.as_ref().map_or_else(
                    || "its job failed in an earlier run; nothing sent (--retry-failed pays for a new job for these pages alone)".to_owned(),
                    |why| format!("its job ended in an earlier run ({why}); nothing sent (--retry-failed pays for a new job for these pages alone)"),
                )),
            ),
            (Ok(None), Done::Unconfirmed) => (
                Exit::Error,
                "unconfirmed".to_owned(),
                Some("an earlier submit got no answer; nothing sent".to_owned()),
            ),
            (Ok(None), _) => (Exit::Completed, "done_before".to_owned(), None),
        };
        if exit.severity() > worst.severity() {
            worst = exit;
        }
        if first_reason.is_none()
            && let Some(reason) = &reason
        {
            first_reason = Some(format!("{}: {reason}", chunk.chunk));
        }
        match &chunk.result {
            Ok(Some(r)) => match &r.outcome {
                sarvam_doc_core::Outcome::GaveUp { reason, job_id, .. } => {
                    if let Some(refusal) = reason.page_limit_refusal() {
                        file.notes.push(format!(
                            "{}: {}",
                            chunk.chunk,
                            report::page_limit_advice(refusal, chunk.chunk.pages(), Some(limit))
                        ));
                    } else {
                        file.notes.push(format!(
                            "{}: gave up: {reason}{}",
                            chunk.chunk,
                            report::give_up_hint(reason)
                        ));
                        resumable |= job_id.is_some() && !reason.ends_job(true);
                    }
                }
                sarvam_doc_core::Outcome::Failed { status } => file.notes.push(format!(
                    "{}: the job failed{}",
                    chunk.chunk,
                    Some(status.error_message())
                        .filter(|m| !m.is_empty())
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                )),
                _ => {}
            },
            Err(sarvam_doc_driver::RunError::Unpack { error, .. }) => file.notes.push(format!(
                "{}: its output was refused ({error}); the download is kept whole in {}",
                chunk.chunk,
                out.join(&item.folder)
                    .join("chunks")
                    .join(chunk.chunk.name(limit))
                    .display()
            )),
            Err(e) => file
                .notes
                .push(format!("{}: {}", chunk.chunk, report::error_line(e))),
            Ok(None) => {
                if let Some(reason) = &reason {
                    file.notes.push(format!("{}: {reason}", chunk.chunk));
                }
            }
        }
        file.chunks.push(serde_json::json!({
            "pages": format!("{}-{}", chunk.chunk.first, chunk.chunk.last),
            "job_id": chunk.job_id.as_ref().map(ToString::to_string),
            "done": report::done_name(chunk.done),
            "outcome": outcome,
            "reason": reason,
        }));
    }
    let missing = u32::try_from(item.missing_pages.len()).unwrap_or(u32::MAX);
    let (exit, word) = if let Err(e) = &item.result {
        file.reason = Some(report::error_brief(e));
        file.error = Some(report::error_line(e));
        (Exit::Error, "error")
    } else if missing == 0 && worst == Exit::Completed {
        (Exit::Completed, "completed")
    } else if missing < item.pages {
        (Exit::PartiallyCompleted, "partially completed")
    } else {
        (
            if worst == Exit::Completed {
                Exit::Failed
            } else {
                worst
            },
            "failed",
        )
    };
    file.exit = exit;
    file.label = match item.done {
        Done::Skipped => format!("done before ({})", report::count(jobs.max(1), "job")),
        Done::Resumed => format!("{word} ({}, resumed)", report::count(jobs, "job")),
        _ => format!("{word} ({})", report::count(jobs, "job")),
    };
    if missing > 0 && file.reason.is_none() {
        file.reason = Some(format!(
            "{} of {} pages missing ({}){}",
            missing,
            item.pages,
            ranges_text(&item.missing_pages),
            first_reason.map(|r| format!("; {r}")).unwrap_or_default()
        ));
    }
    if item.result.is_ok() {
        file.output = Some(out.join(&item.folder).display().to_string());
    }
    if resumable {
        file.notes.push(
            "the jobs it gave up on are in the journal: run the same command again to go on \
             with them (the finished chunks are not sent again)"
                .to_owned(),
        );
    }
    file
}
