//! What is uploaded is what was planned: an input edited in place (the same
//! size) after preflight hashed it is stopped before its upload is whole,
//! so no job is started (legacy) or submitted (`/doc-ai/v1`), nothing
//! claims success, and a rerun once the file is restored runs one job.
//! Through both transports, against the simulator.
#![allow(clippy::unwrap_used)] // A test that unwraps fails loudly, which is what it is for.

use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use sarvam_doc_core::journal::Plan;
use sarvam_doc_core::model::DocumentKind;
use sarvam_doc_core::{Event, Outcome, api::Endpoint};
use sarvam_doc_driver::{
    AsyncTransport, BatchItem, BatchOptions, Client, MANIFEST, RunError, RunOptions,
};
use sarvam_doc_sim::{Fault, LoggedRequest, Route, Simulator, sample};
use sarvam_doc_tests::*;

/// Two PDFs of the same size whose bytes differ: the planned one, and the
/// one it is edited into.
fn planned_and_edited() -> (Vec<u8>, Vec<u8>) {
    let planned = sample::pdf(2, "planned text");
    let edited = sample::pdf(2, "other!! text");
    assert_eq!(planned.len(), edited.len(), "the edit keeps the size");
    assert_ne!(planned, edited);
    (planned, edited)
}

/// A ZIP of one page, stored (not compressed) and padded after the image's
/// end to `len` bytes or so: a body of several chunks for every transport.
/// `mark` is written in its middle, so two of them differ only there.
fn large_zip(len: usize, mark: u8) -> Vec<u8> {
    let mut page = sample::png(64, 80, 90);
    let mut padding = vec![b'.'; len];
    padding[len / 2] = mark;
    page.extend_from_slice(&padding);
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("page_001.png", stored).unwrap();
    zip.write_all(&page).unwrap();
    zip.finish().unwrap().into_inner()
}

/// Rewrites `path` in place with `bytes`: the same file, its bytes changed.
fn edit_in_place(path: &Path, bytes: &[u8]) {
    let mut file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    file.seek(SeekFrom::Start(0)).unwrap();
    file.write_all(bytes).unwrap();
    file.sync_all().unwrap();
}

/// Plans `input` into `out` and runs it, calling `edit` on each event.
async fn run_once<T: AsyncTransport>(
    client: &Client<T>,
    input: &Path,
    out: &Path,
    edit: impl Fn(&Event) + Send + Sync,
) -> (Plan, BatchItem) {
    let options = BatchOptions::new(RunOptions::new(out));
    let plan = client
        .plan_batch(vec![input.to_owned()], &options)
        .await
        .unwrap();
    assert!(plan.refused.is_empty(), "{:?}", plan.refused);
    let planned = plan.inputs[0].plan.clone();
    let mut items = client
        .run_batch(plan, &options, 1, |_, event| edit(event))
        .await
        .unwrap();
    assert_eq!(items.len(), 1);
    (planned, items.remove(0))
}

/// The requests the simulator saw on `route` since `from`.
fn since(sim: &Simulator, from: usize, route: Route) -> Vec<LoggedRequest> {
    sim.requests()
        .into_iter()
        .skip(from)
        .filter(|r| r.route == Some(route))
        .collect()
}

/// The run stopped at the upload with the message that names the file, and
/// nothing on disk says it succeeded.
fn assert_stopped_as_changed(name: &str, item: &BatchItem, input: &Path, out: &Path) {
    let error = match &item.result {
        Err(e @ RunError::Input { .. }) => e.to_string(),
        other => panic!("{name}: the edited input was not stopped: {other:?}"),
    };
    assert!(
        error.contains(&format!(
            "{} changed while it was being uploaded",
            input.display()
        )) && error.contains("SHA-256 is not the one planned")
            && error.contains("nothing was started"),
        "{name}: {error}"
    );
    assert!(
        error.starts_with(&input.display().to_string()),
        "{name}: {error}"
    );
    assert!(
        !out.join(&item.folder).join(MANIFEST).exists(),
        "{name}: a manifest claims the edited input"
    );
    let journal = std::fs::read_to_string(journal_of(out)).unwrap();
    for claim in ["\"started\"", "\"published\"", "\"ended\""] {
        assert!(
            !journal.contains(claim),
            "{name}: the journal says {claim}:\n{journal}"
        );
    }
    assert!(
        journal.contains("changed while it was being uploaded"),
        "{name}: the journal does not say why it stopped:\n{journal}"
    );
}

/// The SHA-256 of `bytes` in hex, as preflight takes it.
fn sha256_of(bytes: &[u8], kind: DocumentKind) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x");
    std::fs::write(&path, bytes).unwrap();
    sarvam_doc_driver::preflight::inspect(&path, kind)
        .unwrap()
        .sha256
}

fn journal_of(out: &Path) -> PathBuf {
    out.join(".sarvam-doc").join("journal.jsonl")
}

/// The rerun after the file is restored: it plans on (never skips), ends
/// completed, and its manifest records the planned hash.
fn assert_rerun_completed(name: &str, plan: &Plan, item: &BatchItem, out: &Path, sha256: &str) {
    assert!(
        !matches!(plan, Plan::Skip { .. }),
        "{name}: the rerun skipped an input that never ran"
    );
    let report = match &item.result {
        Ok(Some(report)) => report,
        other => panic!("{name}: the rerun did not run: {other:?}"),
    };
    assert!(
        matches!(report.outcome, Outcome::Completed { .. }),
        "{name}: {}",
        report.outcome
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join(&item.folder).join(MANIFEST)).unwrap())
            .unwrap();
    assert_eq!(
        manifest["input"]["sha256"].as_str(),
        Some(sha256),
        "{name}: {manifest}"
    );
}

#[test]
fn a_legacy_input_edited_in_place_while_its_upload_waits_is_never_started_and_its_rerun_starts_one_job()
 {
    let sim = Simulator::start(fast_sim()).unwrap();
    let (planned, edited) = planned_and_edited();
    for_each_transport!(config_for(&sim), fast_policy(), |name, client| {
        let (_dir, input) = input_file("scan.pdf", &planned);
        let out = tempfile::tempdir().unwrap();
        let (from, started) = (sim.requests().len(), sim.started_jobs());

        // Edited once the job exists, before its upload URL is asked for.
        let done = AtomicBool::new(false);
        let (_, item) = run_once(&client, &input, out.path(), |event| {
            if matches!(event, Event::JobCreated(_)) && !done.swap(true, Ordering::SeqCst) {
                edit_in_place(&input, &edited);
            }
        })
        .await;
        assert!(done.load(Ordering::SeqCst), "{name}: no job was created");
        assert_stopped_as_changed(name, &item, &input, out.path());
        assert!(
            since(&sim, from, Route::Start).is_empty(),
            "{name}: a start went out"
        );
        assert_eq!(sim.started_jobs(), started, "{name}: a job was started");
        // Cut before its end, the upload may not even reach the log (a small
        // file is one chunk, withheld whole); none may have been taken.
        let puts = since(&sim, from, Route::StoragePut);
        assert!(
            puts.iter().all(|p| p.status != Some(201)),
            "{name}: storage took the edited upload whole: {:?}",
            puts.iter().map(|p| p.status).collect::<Vec<_>>()
        );

        // Restored: the planned hash matches again, and one job runs.
        edit_in_place(&input, &planned);
        let (plan, item) = run_once(&client, &input, out.path(), |_| {}).await;
        assert_rerun_completed(
            name,
            &plan,
            &item,
            out.path(),
            &sha256_of(&planned, DocumentKind::Pdf),
        );
        assert_eq!(sim.started_jobs(), started + 1, "{name}: jobs started");
    });
}

#[test]
fn a_doc_ai_input_edited_in_place_before_its_upload_is_never_submitted_and_its_rerun_submits_once()
{
    let sim = Simulator::start(fast_sim()).unwrap();
    let (planned, edited) = planned_and_edited();
    for_each_transport!(doc_ai_config(&sim), fast_policy(), |name, client| {
        let (_dir, input) = input_file("scan.pdf", &planned);
        let out = tempfile::tempdir().unwrap();
        let (from, jobs) = (sim.requests().len(), sim.doc_ai_jobs());

        // The first presign is refused; the file is edited while the client
        // waits to ask again, so the upload that follows reads the edit.
        sim.inject(Route::AiPresign, [Fault::HighLoad]);
        let done = AtomicBool::new(false);
        let (_, item) = run_once(&client, &input, out.path(), |event| {
            if matches!(
                event,
                Event::Retrying {
                    endpoint: Endpoint::Presign,
                    ..
                }
            ) && !done.swap(true, Ordering::SeqCst)
            {
                edit_in_place(&input, &edited);
            }
        })
        .await;
        assert!(
            done.load(Ordering::SeqCst),
            "{name}: the presign was not retried"
        );
        assert_stopped_as_changed(name, &item, &input, out.path());
        assert!(
            since(&sim, from, Route::AiSubmit).is_empty(),
            "{name}: a submit went out"
        );
        assert_eq!(sim.doc_ai_jobs(), jobs, "{name}: a job was made");
        // As for legacy: cut, perhaps before it showed; never taken.
        let puts = since(&sim, from, Route::AiStoragePut);
        assert!(
            puts.iter()
                .all(|p| !p.status.is_some_and(|s| (200..300).contains(&s))),
            "{name}: storage took the edited upload whole: {:?}",
            puts.iter().map(|p| p.status).collect::<Vec<_>>()
        );

        edit_in_place(&input, &planned);
        let from = sim.requests().len();
        let (plan, item) = run_once(&client, &input, out.path(), |_| {}).await;
        assert_rerun_completed(
            name,
            &plan,
            &item,
            out.path(),
            &sha256_of(&planned, DocumentKind::Pdf),
        );
        assert_eq!(
            since(&sim, from, Route::AiSubmit).len(),
            1,
            "{name}: submits"
        );
        assert_eq!(sim.doc_ai_jobs(), jobs + 1, "{name}: jobs made");
    });
}

#[test]
fn a_large_input_edited_in_place_is_cut_before_its_last_bytes_and_storage_never_takes_it() {
    let sim = Simulator::start(fast_sim()).unwrap();
    let planned = large_zip(700 * 1024, b'.');
    let edited = large_zip(700 * 1024, b'!');
    assert_eq!(planned.len(), edited.len());
    for_each_transport!(config_for(&sim), fast_policy(), |name, client| {
        let (_dir, input) = input_file("pages.zip", &planned);
        let out = tempfile::tempdir().unwrap();
        let (from, started) = (sim.requests().len(), sim.started_jobs());

        let done = AtomicBool::new(false);
        let (_, item) = run_once(&client, &input, out.path(), |event| {
            if matches!(event, Event::JobCreated(_)) && !done.swap(true, Ordering::SeqCst) {
                edit_in_place(&input, &edited);
            }
        })
        .await;
        assert_stopped_as_changed(name, &item, &input, out.path());
        // Most of it went out (the storage saw the upload begin), never
        // the end of it.
        let puts = since(&sim, from, Route::StoragePut);
        assert!(!puts.is_empty(), "{name}: the upload never began");
        assert!(
            puts.iter().all(|p| p.status != Some(201)),
            "{name}: storage took the edited upload whole"
        );
        assert!(
            since(&sim, from, Route::Start).is_empty(),
            "{name}: started"
        );
        assert_eq!(sim.started_jobs(), started, "{name}: a job was started");

        edit_in_place(&input, &planned);
        let (plan, item) = run_once(&client, &input, out.path(), |_| {}).await;
        assert_rerun_completed(
            name,
            &plan,
            &item,
            out.path(),
            &sha256_of(&planned, DocumentKind::Zip),
        );
        assert_eq!(sim.started_jobs(), started + 1, "{name}: jobs started");
    });
}
