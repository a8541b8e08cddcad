//! Outputs a hostile storage serves: ZIP bombs, hostile entry names, pages
//! that are not ZIPs.

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;

fn finish(zip: zip::ZipWriter<Cursor<Vec<u8>>>) -> Vec<u8> {
    // Writing to memory cannot fail.
    zip.finish().map(Cursor::into_inner).unwrap_or_default()
}

/// A ZIP whose one entry expands to `mib` MiB of one repeated byte.
pub(crate) fn bomb_by_size(mib: u64) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(mib >= 4096);
    let _ = zip.start_file("page_001.md", options);
    let block = vec![b'a'; 1024 * 1024];
    for _ in 0..mib {
        let _ = zip.write_all(&block);
    }
    finish(zip)
}

/// A valid ZIP of one page of `mib` MiB of text, stored as it is.
pub(crate) fn large(mib: u64) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(mib >= 4096);
    let _ = zip.start_file("page_001.md", options);
    let line = b"# Page 1\n\nSimulated text of a large page.\n";
    let mut block = Vec::with_capacity(1024 * 1024);
    while block.len() + line.len() <= 1024 * 1024 {
        block.extend_from_slice(line);
    }
    for _ in 0..mib {
        let _ = zip.write_all(&block);
    }
    finish(zip)
}

/// A ZIP of `count` one-byte entries.
pub(crate) fn bomb_by_count(count: u32) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for i in 0..count {
        let _ = zip.start_file(format!("p{i:06}.md"), options);
        let _ = zip.write_all(b"x");
    }
    finish(zip)
}

/// The entry names of the output [`crate::Fault::UnsafeEntries`] serves: names a careless client would write
/// outside its folder, hide, print raw, or lose in a clash (a file and a
/// folder of one name; two names one file system takes for the same).
pub const UNSAFE_NAMES: [&str; 10] = [
    "page_001.md",
    "../../escape.md",
    "/abs/root.md",
    ".hidden.md",
    "\u{1b}[2Jclear.md",
    "a",
    "a/b.md",
    "PAGE_001.md",
    "C:\\Windows\\evil.md",
    "",
];

/// A ZIP with [`UNSAFE_NAMES`] (the last replaced by a 300-byte name), each
/// holding its own index as text.
pub(crate) fn unsafe_entries() -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default();
    for (i, name) in UNSAFE_NAMES.iter().enumerate() {
        let name = if name.is_empty() {
            format!("{}.md", "long".repeat(75))
        } else {
            (*name).to_owned()
        };
        let _ = zip.start_file(name, options);
        let _ = zip.write_all(format!("entry {i}").as_bytes());
    }
    finish(zip)
}

/// What a storage error page looks like when it is served as a 200.
pub(crate) const NOT_A_ZIP: &str =
    "<html><head><title>Service Unavailable</title></head><body>Try again later.</body></html>";
