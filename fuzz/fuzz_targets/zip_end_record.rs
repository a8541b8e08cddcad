//! The ZIP end-record reader the driver runs on every output before the ZIP
//! reader sees it, fed any tail of any file: it never panics, declares at
//! most what 16 bits hold, and never sends the driver past the file's end.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sarvam_doc_core::output::{
    END_RECORD_TAIL, EndRecord, ZIP64_END_RECORD_LEN, end_record, zip64_entries,
};

#[derive(Arbitrary, Debug)]
struct Input {
    /// Bytes before the tail that the reader is not shown.
    before: u32,
    tail: Vec<u8>,
}

fuzz_target!(|input: Input| {
    let cut = input.tail.len().min(END_RECORD_TAIL as usize);
    let tail = &input.tail[input.tail.len() - cut..];
    let file_len = u64::from(input.before) + tail.len() as u64;
    match end_record(tail, file_len) {
        EndRecord::Entries(count) => assert!(count < 0xFFFF, "{count}"),
        EndRecord::Zip64 { at } => {
            assert!(at + ZIP64_END_RECORD_LEN <= file_len, "{at} past {file_len}")
        }
        _ => {}
    }
    if zip64_entries(tail).is_some() {
        assert!(tail.starts_with(&[0x50, 0x4b, 0x06, 0x06]));
    }
});
