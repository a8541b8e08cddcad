//! The ZIP-entry planner, fed any sequence of entries and writes: every
//! planned path stays inside the folder, no two files share a path or sit
//! under one another, and no limit is ever passed unnoticed.
#![no_main]

use std::collections::BTreeSet;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sarvam_doc_core::output::{EntryKind, Unpack, UnpackLimits};

#[derive(Arbitrary, Debug)]
struct Entry {
    name: String,
    kind: u8,
    size: u32,
    stored: u16,
    writes: Vec<u16>,
}

fuzz_target!(|entries: Vec<Entry>| {
    let limits = UnpackLimits::default()
        .with_max_entries(64)
        .with_max_total_bytes(4 * 1024 * 1024)
        .with_max_ratio(50);
    let mut plan = Unpack::new(limits);
    let mut files: BTreeSet<String> = BTreeSet::new();
    let mut written: u64 = 0;
    for entry in entries {
        let kind = [EntryKind::File, EntryKind::Dir, EntryKind::Link][entry.kind as usize % 3];
        let Ok(planned) = plan.entry(
            &entry.name,
            kind,
            u64::from(entry.size),
            u64::from(entry.stored),
        ) else {
            return;
        };
        assert!(plan.entries() <= 64, "more entries than the limit");
        let Some(path) = planned else { continue };
        assert!(!path.is_empty() && path.len() <= 16);
        for part in &path {
            assert!(!part.is_empty() && part != "." && part != "..", "{path:?}");
            assert!(
                !part.contains(['/', '\\', '\0']) && !part.starts_with('.'),
                "{path:?}"
            );
            assert!(
                part.len() <= 200 && !part.chars().any(char::is_control),
                "{path:?}"
            );
        }
        let key = path.join("/").to_lowercase();
        assert!(files.insert(key.clone()), "{key} twice");
        for other in &files {
            assert!(
                !other.starts_with(&format!("{key}/")) && !key.starts_with(&format!("{other}/"))
            );
        }
        let mut this = 0u64;
        for n in entry.writes {
            if plan.wrote(u64::from(n)).is_err() {
                return;
            }
            written += u64::from(n);
            this += u64::from(n);
            assert!(written <= 4 * 1024 * 1024, "past the total");
            assert!(
                this <= (u64::from(entry.stored) * 50).max(1024 * 1024),
                "past the ratio"
            );
        }
    }
});
