//! The output rules, as pure planners the driver applies: which names may
//! touch the disk, the folder each input's pages go to, and what an output
//! ZIP may hold.
//!
//! Nothing here touches a file. A driver asks [`Unpack::entry`] before it
//! writes an entry, and [`Unpack::wrote`] as the bytes come out of the
//! decompressor, and stops the moment either says no.
//!
//! - `names`: the name rules: a server's name made safe, the clash-renaming
//!   scheme, each input's output folder.
//! - `downloads`: the local names of the outputs to download.
//! - `unpack`: the limits and the plan for unpacking one output ZIP.
//! - `zip_end`: a ZIP's end record, read before its entries are indexed.

mod downloads;
mod names;
mod unpack;
mod zip_end;

pub(crate) use downloads::{PendingDownload, plan_download, plan_downloads};
pub use names::{EntryKind, FolderPlan, distinct_name, folder_name, is_archive, safe_output_name};
pub use unpack::{Unpack, UnpackError, UnpackLimits};
pub use zip_end::{END_RECORD_TAIL, EndRecord, ZIP64_END_RECORD_LEN, end_record, zip64_entries};
