//! A run cut after every one of its actions, then rebuilt from what its
//! journal holds at that point and finished: for both APIs, with the cut
//! request taking effect on the server or not. Whatever the cut, the run
//! ends as the uncut one did, and never pays for a second job.
#![allow(clippy::unwrap_used)] // A test that unwraps fails loudly, which is what it is for.

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use sarvam_doc_core::journal::{Identity, Journal, OnDisk, Plan, Record, Rerun};
use sarvam_doc_core::{
    Api, Document, Outcome, Policy, Run, api::Endpoint, model::CreateJobRequest,
};
use support::*;

const PATH: &str = "doc.pdf";

fn identity() -> Identity {
    Identity::new(PATH, 4096, "ab12", "the same request")
}

fn policy() -> Policy {
    Policy::default().with_seed(7)
}

/// What became of a run rebuilt after a cut.
#[allow(clippy::large_enum_variant)] // One per cut: its size does not matter.
enum Rebuilt {
    /// The journal's plan was carried out, to the end: the same job
    /// resumed, or a new run.
    Finished { trace: Trace, resumed: bool },
    /// The journal's plan was to do nothing more: this one.
    Refused(Plan),
}

/// Runs `document` against `server` and cuts it at `cut`; then rebuilds
/// it as a driver would from the journal written so far (a new run, or
/// the same job resumed) and finishes it against the same server. `None`
/// if the run ended before the cut; else what the journal held, and how
/// the rebuilt run ended.
fn cut_and_resume(
    server: &mut impl Scripted,
    api: &Api,
    document: &dyn Fn() -> Document,
    start: Instant,
    cut: CutAt,
) -> Option<(Vec<Record>, Rebuilt)> {
    let mut first = Run::new(api.clone(), document(), policy(), start);
    let stopped = match drive_until(&mut first, server, start, 10_000, Some(cut)) {
        Drove::Done(_) => return None,
        Drove::Cut(stopped) => stopped,
    };
    drop(first);
    let records = journal_records(&stopped.events, PATH);
    let mut journal = Journal::default();
    journal.apply(&Record::Input {
        input: identity(),
        folder: "doc".into(),
    });
    for record in &records {
        journal.apply(record);
    }
    let later = stopped.at + Duration::from_secs(1);
    let rerun = Rerun {
        retry_unconfirmed: policy().retry_unconfirmed,
        ..Rerun::default()
    };
    let plan = journal
        .plan(&identity(), "doc", &OnDisk::default(), rerun)
        .unwrap();
    let (mut run, resumed) = match plan {
        Plan::New { .. } => (Run::new(api.clone(), document(), policy(), later), false),
        Plan::Resume { job, .. } => (
            Run::resume(api.clone(), document(), job, policy(), later),
            true,
        ),
        other => return Some((records, Rebuilt::Refused(other))),
    };
    let trace = drive(&mut run, server, later, 10_000);
    Some((records, Rebuilt::Finished { trace, resumed }))
}

/// The names of a completed run's outputs.
fn output_names(outcome: &Outcome) -> Vec<String> {
    assert!(matches!(outcome, Outcome::Completed { .. }), "{outcome}");
    outcome.outputs().iter().map(|o| o.name.clone()).collect()
}

/// How many actions (events included, Done not) a whole run took.
fn actions_of(trace: &Trace) -> usize {
    trace.actions.len() + trace.events.len()
}

#[test]
fn a_legacy_run_cut_anywhere_and_resumed_from_its_journal_starts_one_job_and_ends_the_same() {
    let start = origin();
    let script = Script::simple(Duration::from_secs(10), Ending::Completed);
    let document = || Document::new(PATH, 4096, CreateJobRequest::default()).unwrap();
    let mut server = Server::new(start, script.clone());
    let mut whole = Run::new(api(), document(), policy(), start);
    let whole = drive(&mut whole, &mut server, start, 10_000);
    let expected = output_names(&whole.outcome);
    let n = actions_of(&whole);
    assert!(n > 10, "{whole:?}");

    let (mut cuts, mut resumed_runs, mut orphans) = (0, 0, 0);
    for at in 0..n {
        for sent in [false, true] {
            let mut server = Server::new(start, script.clone());
            let cut = CutAt { at, sent };
            let Some((records, rebuilt)) =
                cut_and_resume(&mut server, &api(), &document, start, cut)
            else {
                continue;
            };
            cuts += 1;
            let Rebuilt::Finished { trace, resumed } = rebuilt else {
                panic!("{cut:?}: a legacy journal never refuses to go on")
            };
            resumed_runs += usize::from(resumed);
            // A second job only where a create took effect unheard: the
            // journal never had the first.
            if server.jobs_created == 2 {
                orphans += 1;
                assert!(
                    !records.iter().any(|r| matches!(r, Record::Created { .. })),
                    "{cut:?}"
                );
            }
            assert_eq!(output_names(&trace.outcome), expected, "{cut:?}");
            // One job started, the run's own: an orphan of a lost create never is.
            assert!(server.starts <= 1, "{cut:?}: {} starts", server.starts);
            assert_eq!(
                server.started_jobs,
                [trace.outcome.status().unwrap().job_id().clone()],
                "{cut:?}"
            );
            let started: BTreeSet<&str> = server
                .log
                .iter()
                .filter(|s| s.endpoint == Endpoint::Start)
                .map(|s| s.path.as_str())
                .collect();
            assert_eq!(started.len(), 1, "{cut:?}: starts sent to {started:?}");
            assert!(server.jobs_created <= 2, "{cut:?}");
        }
    }
    assert_eq!(cuts, 2 * n, "every cut falls before the end");
    // Most cuts come after the job was created: those go on with it.
    assert!(resumed_runs > n, "{resumed_runs} of {cuts} resumed");
    // The create cut as it went out, after it took effect, and the cuts
    // between its answer and the journal's record of the job, leave one.
    assert!(orphans >= 1, "{orphans}");
}

#[test]
fn a_doc_ai_run_cut_anywhere_resumes_from_its_journal_and_never_submits_twice() {
    let start = origin();
    let script = Script::simple(Duration::from_secs(10), Ending::Completed);
    let document = || Document::new(PATH, 4096, extract_task()).unwrap();
    let api = doc_ai_api();
    let mut server = DocAiServer::new(script.clone());
    let mut whole = Run::new(api.clone(), document(), policy(), start);
    let whole = drive(&mut whole, &mut server, start, 10_000);
    let expected = output_names(&whole.outcome);
    let n = actions_of(&whole);
    assert!(n > 10, "{whole:?}");

    let (mut cuts, mut refused) = (0, 0);
    for at in 0..n {
        for sent in [false, true] {
            let mut server = DocAiServer::new(script.clone());
            let cut = CutAt { at, sent };
            let Some((records, rebuilt)) = cut_and_resume(&mut server, &api, &document, start, cut)
            else {
                continue;
            };
            cuts += 1;
            // A submit announced whose job the journal never heard of.
            let submit_unheard = records
                .iter()
                .any(|r| matches!(r, Record::Starting { job_id: None, .. }))
                && !records.iter().any(|r| matches!(r, Record::Created { .. }));
            match rebuilt {
                Rebuilt::Refused(plan) => {
                    assert!(submit_unheard, "{cut:?}: refused with {plan:?}");
                    assert_eq!(plan, Plan::Unconfirmed, "{cut:?}");
                    // What the cut submit did stands: at most the one job.
                    assert!(server.count(Endpoint::Submit) <= 1, "{cut:?}");
                    refused += 1;
                }
                Rebuilt::Finished { trace, resumed } => {
                    assert_eq!(
                        resumed,
                        server.submits == 1
                            && records.iter().any(|r| matches!(r, Record::Created { .. })),
                        "{cut:?}"
                    );
                    assert!(!submit_unheard, "{cut:?}: an unheard submit was sent again");
                    assert_eq!(output_names(&trace.outcome), expected, "{cut:?}");
                    assert_eq!(
                        trace.outcome.status().unwrap().job_id(),
                        &server.job(),
                        "{cut:?}"
                    );
                }
            }
            assert!(server.submits <= 1, "{cut:?}: {} jobs made", server.submits);
        }
    }
    assert_eq!(cuts, 2 * n, "every cut falls before the end");
    // Announced, then cut before it went out, while out, and answered but
    // not yet journaled: each refused.
    assert!(refused >= 3, "{refused}");
}

#[test]
fn a_doc_ai_submit_cut_unanswered_is_sent_again_only_when_asked() {
    // The cut above that the journal refuses, with retry_unconfirmed: a new
    // run submits again and completes; the server has made two jobs, as the
    // user accepted.
    let start = origin();
    let script = Script::simple(Duration::from_secs(10), Ending::Completed);
    let document = Document::new(PATH, 4096, extract_task()).unwrap();
    let policy = policy().with_retry_unconfirmed(true);
    let cut_at = |at, server: &mut DocAiServer| {
        let mut run = Run::new(doc_ai_api(), document.clone(), policy.clone(), start);
        drive_until(
            &mut run,
            server,
            start,
            10_000,
            Some(CutAt { at, sent: true }),
        )
    };
    // The action that sends the submit: cut there, after it took effect.
    let at = (0..200)
        .find(|&at| {
            let stopped = cut_at(at, &mut DocAiServer::new(script.clone()));
            matches!(stopped, Drove::Cut(s) if s.actions.last() == Some(&Step::Send(Endpoint::Submit)))
        })
        .unwrap();
    let mut server = DocAiServer::new(script);
    let Drove::Cut(stopped) = cut_at(at, &mut server) else {
        panic!("the run ended before its submit")
    };
    assert_eq!(server.submits, 1, "the cut submit made a job");
    let records = journal_records(&stopped.events, PATH);
    let input = Record::Input {
        input: identity(),
        folder: "doc".into(),
    };
    let journal = Journal::from_records(std::iter::once(&input).chain(&records));
    let plan = |retry_unconfirmed| {
        let rerun = Rerun {
            retry_unconfirmed,
            ..Rerun::default()
        };
        journal.plan(&identity(), "doc", &OnDisk::default(), rerun)
    };
    assert_eq!(plan(false), Ok(Plan::Unconfirmed));
    assert_eq!(
        plan(policy.retry_unconfirmed),
        Ok(Plan::New { replaces: None })
    );
    let mut again = Run::new(doc_ai_api(), document, policy, stopped.at);
    let trace = drive(&mut again, &mut server, stopped.at, 10_000);
    assert!(
        matches!(trace.outcome, Outcome::Completed { .. }),
        "{}",
        trace.outcome
    );
    assert_eq!(server.submits, 2, "the second submit made a second job");
}
