//! A batch's journal: one record per line of what happened to each input,
//! and what a rerun does about each input. The driver writes the lines
//! (each flushed and synced before the step it announces is sent) and reads
//! them back after a crash, and tells [`Journal::plan`] what it finds on
//! disk ([`OnDisk`]); every decision is made here.
//!
//! ```
//! use sarvam_doc_core::journal::{Identity, Journal, OnDisk, Plan, Record, Rerun};
//! let input = Identity::new("scans/a.pdf", 1024, "ab12…", "legacy:hi-IN:md");
//! let job: sarvam_doc_core::JobId = "3fa85f64-5717-4562-b3fc-2c963f66afa6".parse()?;
//! let (nothing, asked) = (OnDisk::default(), Rerun::default());
//! let mut journal = Journal::default();
//! journal.apply(&Record::Input { input: input.clone(), folder: "a".into() });
//! journal.apply(&Record::Creating { path: "scans/a.pdf".into() });
//! // Killed here: the create may or may not have made a job. Make one (again).
//! assert_eq!(journal.plan(&input, "a", &nothing, asked), Ok(Plan::New { replaces: None }));
//! journal.apply(&Record::Created { path: "scans/a.pdf".into(), job_id: job.clone() });
//! // Killed here: the job exists; go on with it, never make a second.
//! assert_eq!(journal.plan(&input, "a", &nothing, asked), Ok(Plan::Resume { job: job.clone(), folder: "a".into() }));
//! # Ok::<(), sarvam_doc_core::error::InputError>(())
//! ```
//!
//! - `identity`: what makes an input the same input on a rerun.
//! - `record`: one line of a journal.
//! - `state`: what the journal says, input by input ([`Journal`]).
//! - `plan`: what a rerun does with each input ([`Journal::plan`]).

mod identity;
mod plan;
mod record;
mod state;
#[cfg(test)]
mod tests;

pub use identity::{Identity, path_bytes, path_key};
pub use plan::{OnDisk, Plan, Refusal, Rerun, SplitPlan};
pub use record::Record;
pub use state::{InputState, Journal};
