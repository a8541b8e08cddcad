//! The commands about one job: `status`, `wait`, `download`.

use std::path::PathBuf;

use sarvam_doc_core::{GiveUpReason, Outcome, model::StateClass};
use sarvam_doc_driver::{Report, RunError, RunOptions};

use crate::args::{LimitArgs, OutputArgs};
use crate::report::{self, Progress};
use crate::setup::{client, job_id};
use crate::{Exit, Failure, Global};

pub(crate) async fn status(global: &Global, id: &str, json: bool) -> Result<Exit, Failure> {
    let job = job_id(id, global.api_version())?;
    let client = client(global)?;
    let status = client
        .status(&job)
        .await
        .map_err(|e| Failure::error(e.to_string()))?;
    let exit = match status.state().class() {
        StateClass::Ended(ending) => report::exit_of_ending(ending),
        StateClass::Working | StateClass::Waiting => Exit::Completed,
    };
    if json {
        report::print_json(&report::status_json(
            &status,
            report::state_outcome(&status.state()),
        ));
    } else {
        report::print_status(&status);
    }
    Ok(exit)
}

/// The job `id` names, and a client within `limits` to follow it.
fn job_and_client(
    global: &Global,
    id: &str,
    limits: &LimitArgs,
) -> Result<(sarvam_doc_core::JobId, sarvam_doc_hyper::Client), Failure> {
    let job = job_id(id, global.api_version())?;
    Ok((job, limits.client(&client(global)?)))
}

pub(crate) async fn wait(
    global: &Global,
    id: &str,
    output: Option<&OutputArgs>,
    limits: &LimitArgs,
    json: bool,
) -> Result<Exit, Failure> {
    let (job, client) = job_and_client(global, id, limits)?;
    let progress = Progress::new(&[id.to_owned()]);
    let Some(output) = output else {
        let outcome = client.watch(job, |e| progress.event(0, e)).await;
        progress.finish(0, &report::outcome_label(Some(&outcome)));
        return Ok(show(Ok((&outcome, &[])), json));
    };
    let options = options(output, limits)?;
    let result = client
        .wait_and_download(job, &options, |e| progress.event(0, e))
        .await;
    progress.finish(
        0,
        &report::outcome_label(result.as_ref().ok().map(|r| &r.outcome)),
    );
    Ok(show(
        result.as_ref().map(|r| (&r.outcome, r.output.as_slice())),
        json,
    ))
}

pub(crate) async fn download(
    global: &Global,
    id: &str,
    output: &OutputArgs,
    limits: &LimitArgs,
    json: bool,
) -> Result<Exit, Failure> {
    let (job, client) = job_and_client(global, id, limits)?;
    let options = options(output, limits)?;
    let progress = Progress::new(&[id.to_owned()]);
    let result = client
        .download(job, &options, |e| progress.event(0, e))
        .await;
    progress.clear();
    if let Ok(Report {
        outcome:
            Outcome::GaveUp {
                reason: GiveUpReason::NotEnded { state },
                ..
            },
        ..
    }) = &result
    {
        return Err(Failure::error(format!(
            "job {id} has not ended (it is {state}), so it has no outputs yet: wait for it and fetch them with: sarvam-doc wait{} {id} --out {}",
            report::api_flag(),
            output.out.display()
        )));
    }
    Ok(show(
        result.as_ref().map(|r| (&r.outcome, r.output.as_slice())),
        json,
    ))
}

fn options(output: &OutputArgs, limits: &LimitArgs) -> Result<RunOptions, Failure> {
    std::fs::create_dir_all(&output.out).map_err(|e| {
        Failure::usage(format!(
            "cannot write to the output folder {}: {e}",
            output.out.display()
        ))
    })?;
    Ok(RunOptions::new(&output.out)
        .with_overwrite(output.overwrite)
        .with_unpack_limits(limits.unpack()))
}

/// Prints how a job ended (its status, where its outputs are, or what went
/// wrong) and returns the exit code.
fn show(result: Result<(&Outcome, &[PathBuf]), &RunError>, json: bool) -> Exit {
    match result {
        Ok((outcome, output)) => {
            if json {
                report::print_json(&report::outcome_json(outcome, output));
            } else {
                if let Some(status) = outcome.status() {
                    report::print_status(status);
                }
                for path in output {
                    out!("  output:  {}", path.display());
                }
                match outcome {
                    Outcome::GaveUp { reason, job_id, .. } => {
                        err!("gave up: {reason}{}", report::give_up_hint(reason));
                        if let Some(job) = job_id
                            && matches!(
                                reason,
                                GiveUpReason::Deadline(_)
                                    | GiveUpReason::NoProgress { .. }
                                    | GiveUpReason::Stalled { .. }
                            )
                        {
                            err!(
                                "to keep waiting: sarvam-doc wait{} {job} --timeout 7200",
                                report::api_flag()
                            );
                        }
                    }
                    Outcome::Failed { .. } => err!("the job failed: it has no outputs"),
                    _ => {}
                }
            }
            report::exit_of(outcome)
        }
        Err(e) => {
            err!("error: {}", report::error_line(e));
            Exit::Error
        }
    }
}
