//! The state folder's rules, tried with hostile folders and files.

use super::*;
use sarvam_doc_core::journal::{Identity, OnDisk, Plan, Rerun};

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"))
}

fn journal_path(out: &Path) -> PathBuf {
    out.join(STATE_DIR).join(JOURNAL)
}

fn creating(path: &str) -> Record {
    Record::Creating { path: path.into() }
}

/// Writes a journal of `records` in `out` through [`JournalFile`].
fn write_records(out: &Path, records: &[Record]) {
    let (journal, _) = JournalFile::open(out).unwrap_or_else(|e| panic!("{e}"));
    for record in records {
        journal.append(record).unwrap_or_else(|e| panic!("{e}"));
    }
}

fn append_raw(out: &Path, bytes: &[u8]) {
    let mut f = OpenOptions::new()
        .append(true)
        .open(journal_path(out))
        .unwrap_or_else(|e| panic!("{e}"));
    f.write_all(bytes).unwrap_or_else(|e| panic!("{e}"));
}

fn error_of<T: std::fmt::Debug>(result: io::Result<T>) -> String {
    match result {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn records_survive_a_reopen_and_a_cut_last_line() {
    let out = tempdir();
    let input = Identity::new("a.pdf", 1, "00", "legacy:hi-IN:md");
    write_records(
        out.path(),
        &[
            Record::Input {
                input: input.clone(),
                folder: "a".into(),
            },
            creating("a.pdf"),
        ],
    );
    // A crash in the middle of a line.
    append_raw(out.path(), br#"{"at":"x","event":"created","path":"a.p"#);
    let (_journal, recovered) = JournalFile::open(out.path()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        recovered.plan(&input, "a", &OnDisk::default(), Rerun::default()),
        Ok(Plan::New { replaces: None })
    );
}

#[test]
fn a_cut_last_line_is_trimmed_so_the_next_record_starts_its_own_line() {
    let out = tempdir();
    write_records(out.path(), &[creating("a.pdf")]);
    append_raw(out.path(), br#"{"at":"x","event":"creating","pa"#);
    write_records(out.path(), &[creating("b.pdf")]);
    let text = fs::read_to_string(journal_path(out.path())).unwrap_or_else(|e| panic!("{e}"));
    assert!(!text.contains(r#""pa{"#), "glued onto the cut line: {text}");
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.ends_with('\n'));
    // And both records read back, with no error.
    let file = File::open(journal_path(out.path())).unwrap_or_else(|e| panic!("{e}"));
    let (records, tail) = read(&file, &journal_path(out.path())).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(records, vec![creating("a.pdf"), creating("b.pdf")]);
    assert_eq!(tail, Tail::Ended);
}

#[test]
fn a_whole_last_record_without_its_newline_is_kept_and_ended() {
    let out = tempdir();
    write_records(out.path(), &[creating("a.pdf")]);
    append_raw(
        out.path(),
        br#"{"at":"x","event":"creating","path":"b.pdf"}"#,
    );
    write_records(out.path(), &[creating("c.pdf")]);
    let file = File::open(journal_path(out.path())).unwrap_or_else(|e| panic!("{e}"));
    let (records, _) = read(&file, &journal_path(out.path())).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        records,
        vec![creating("a.pdf"), creating("b.pdf"), creating("c.pdf")]
    );
}

#[test]
fn a_line_before_the_last_that_is_not_a_record_is_an_error_naming_the_file_and_line() {
    let out = tempdir();
    write_records(out.path(), &[creating("a.pdf")]);
    append_raw(
        out.path(),
        b"{\"at\":\"x\",\"event\":\"crea{\"at\":\"y\"}\n",
    );
    append_good_record(out.path());
    let peeked = error_of(JournalFile::peek(out.path()));
    let opened = error_of(JournalFile::open(out.path()).map(|(_, j)| j));
    for message in [peeked, opened] {
        assert!(message.contains("line 2 of the journal"), "{message}");
        assert!(message.contains(JOURNAL), "{message}");
        assert!(message.contains("remove or fix it"), "{message}");
    }
}

/// Appends a whole record after whatever `out`'s journal ends with.
fn append_good_record(out: &Path) {
    append_raw(
        out,
        b"{\"at\":\"z\",\"event\":\"creating\",\"path\":\"b.pdf\"}\n",
    );
}

#[test]
fn a_line_over_its_bound_is_refused_with_its_number_and_nothing_is_appended() {
    let out = tempdir();
    write_records(out.path(), &[creating("a.pdf")]);
    append_raw(out.path(), &vec![b'x'; MAX_LINE + 10]);
    let before = fs::read(journal_path(out.path())).unwrap_or_else(|e| panic!("{e}"));
    let message = error_of(JournalFile::open(out.path()).map(|(_, j)| j));
    assert!(
        message.contains(&format!(
            "line 2 of the journal {}",
            journal_path(out.path()).display()
        )),
        "{message}"
    );
    assert!(
        message.contains(&format!("over {MAX_LINE} bytes")),
        "{message}"
    );
    let after = fs::read(journal_path(out.path())).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(before, after, "the journal is left as it was");
}

#[test]
fn a_journal_over_its_size_bound_is_refused_before_it_is_read() {
    let out = tempdir();
    fs::create_dir(out.path().join(STATE_DIR)).unwrap_or_else(|e| panic!("{e}"));
    // A sparse file of 3 GiB, not one newline in it.
    let file = File::create(journal_path(out.path())).unwrap_or_else(|e| panic!("{e}"));
    file.set_len(3 << 30).unwrap_or_else(|e| panic!("{e}"));
    for message in [
        error_of(JournalFile::peek(out.path())),
        error_of(JournalFile::open(out.path()).map(|(_, j)| j)),
    ] {
        assert!(
            message.contains(&format!("is over {MAX_JOURNAL} bytes")),
            "{message}"
        );
    }
}

#[test]
fn a_record_too_long_for_a_line_has_its_reason_shortened() {
    let out = tempdir();
    let reason = "é".repeat(MAX_LINE);
    write_records(
        out.path(),
        &[Record::Stopped {
            path: "a.pdf".into(),
            job_id: None,
            reason,
        }],
    );
    let text = fs::read_to_string(journal_path(out.path())).unwrap_or_else(|e| panic!("{e}"));
    assert!(text.len() <= MAX_LINE + 1, "{}", text.len());
    let (_, journal) = JournalFile::open(out.path()).unwrap_or_else(|e| panic!("{e}"));
    drop(journal);
    let file = File::open(journal_path(out.path())).unwrap_or_else(|e| panic!("{e}"));
    let (records, _) = read(&file, &journal_path(out.path())).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        matches!(&records[..], [Record::Stopped { reason, .. }] if reason.ends_with('…') && reason.starts_with("éé")),
        "{records:?}"
    );
}

#[test]
fn a_second_run_on_the_same_folder_is_refused() {
    let out = tempdir();
    let _first = JournalFile::open(out.path()).unwrap_or_else(|e| panic!("{e}"));
    let second = JournalFile::open(out.path());
    assert!(matches!(second, Err(ref e) if e.to_string().contains("another sarvam-doc run")));
    let download = FolderLock::take(out.path());
    assert!(matches!(download, Err(ref e) if e.to_string().contains("another sarvam-doc run")));
}

#[test]
fn a_run_is_refused_while_a_download_holds_the_folder() {
    let out = tempdir();
    let _download = FolderLock::take(out.path()).unwrap_or_else(|e| panic!("{e}"));
    let run = JournalFile::open(out.path());
    assert!(matches!(run, Err(ref e) if e.to_string().contains("another sarvam-doc run")));
}

#[cfg(unix)]
mod hostile {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn a_journal_linked_out_of_the_folder_is_refused_and_its_target_is_unchanged() {
        let out = tempdir();
        let outside = tempdir();
        let target = outside.path().join("profile");
        fs::write(&target, b"# the user's\n").unwrap_or_else(|e| panic!("{e}"));
        fs::create_dir(out.path().join(STATE_DIR)).unwrap_or_else(|e| panic!("{e}"));
        symlink(&target, journal_path(out.path())).unwrap_or_else(|e| panic!("{e}"));
        for message in [
            error_of(JournalFile::open(out.path()).map(|(_, j)| j)),
            error_of(JournalFile::peek(out.path())),
        ] {
            assert!(message.contains("is a symbolic link"), "{message}");
            assert!(message.contains(JOURNAL), "{message}");
        }
        assert_eq!(
            fs::read(&target).unwrap_or_else(|e| panic!("{e}")),
            b"# the user's\n"
        );
    }

    #[test]
    fn a_lock_linked_to_a_missing_path_is_refused_and_the_path_is_not_made() {
        let out = tempdir();
        let outside = tempdir();
        let target = outside.path().join("made-by-sarvam");
        fs::create_dir(out.path().join(STATE_DIR)).unwrap_or_else(|e| panic!("{e}"));
        symlink(&target, out.path().join(STATE_DIR).join(LOCK)).unwrap_or_else(|e| panic!("{e}"));
        let message = error_of(FolderLock::take(out.path()));
        assert!(message.contains("is a symbolic link"), "{message}");
        assert!(error_of(JournalFile::open(out.path()).map(|(_, j)| j)).contains(LOCK));
        assert!(fs::symlink_metadata(&target).is_err(), "nothing made there");
    }

    #[test]
    fn a_state_folder_linked_out_of_the_folder_is_refused_and_nothing_is_written_there() {
        let out = tempdir();
        let outside = tempdir();
        symlink(outside.path(), out.path().join(STATE_DIR)).unwrap_or_else(|e| panic!("{e}"));
        for message in [
            error_of(JournalFile::open(out.path()).map(|(_, j)| j)),
            error_of(JournalFile::peek(out.path())),
            error_of(FolderLock::take(out.path())),
        ] {
            assert!(message.contains("is a symbolic link"), "{message}");
            assert!(message.contains(STATE_DIR), "{message}");
        }
        let written = fs::read_dir(outside.path())
            .unwrap_or_else(|e| panic!("{e}"))
            .count();
        assert_eq!(written, 0);
        // A dangling one too: it is not made through.
        let gone = outside.path().join("gone");
        fs::remove_file(out.path().join(STATE_DIR)).unwrap_or_else(|e| panic!("{e}"));
        symlink(&gone, out.path().join(STATE_DIR)).unwrap_or_else(|e| panic!("{e}"));
        assert!(FolderLock::take(out.path()).is_err());
        assert!(!gone.exists());
    }

    // A FIFO is tried against the binary (cli/tests/state_folder.rs): made
    // here, with a child process, the child would hold (for an instant) the
    // locks of the tests running beside it, and one of them would be refused.

    #[test]
    fn a_journal_linked_to_dev_zero_is_refused_without_reading_it() {
        let out = tempdir();
        fs::create_dir(out.path().join(STATE_DIR)).unwrap_or_else(|e| panic!("{e}"));
        symlink("/dev/zero", journal_path(out.path())).unwrap_or_else(|e| panic!("{e}"));
        let message = error_of(JournalFile::peek(out.path()));
        assert!(message.contains("is a symbolic link"), "{message}");
    }
}
