//! The cut of a long document: a 300-page PDF of about 100 MB (each page an
//! incompressible image of about 340 KB, the text "Page N of 300" and one
//! shared font) cut into 30 chunks of 10 pages. Wall time in this process,
//! three runs; peak RSS in a process of its own, the `cut` example, so it is
//! the cut's alone. Target (issue 22): peak RSS ≤ 2 × the file + 50 MiB.
//!
//! `cargo build --release -p sarvam-doc-driver --example cut && cargo bench -p sarvam-doc-driver --bench split`
#![allow(clippy::print_stdout, clippy::unwrap_used)] // A benchmark: it prints, and fails loudly.

#[path = "../tests/support/book.rs"]
mod book;

use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use sarvam_doc_driver::split::{cut_pdf, cut_zip};

const PAGES: u32 = 300;
const LIMIT: u32 = 10;
/// Bytes of image per page: 300 of them make about 100 MiB.
const IMAGE: usize = 100 * 1024 * 1024 / PAGES as usize;

fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("book.pdf");
    let started = Instant::now();
    std::fs::write(&file, book::book(PAGES, IMAGE)).unwrap();
    let size = std::fs::metadata(&file).unwrap().len();
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    println!(
        "built {PAGES} pages, {:.1} MiB, in {:.1} s",
        mib(size),
        started.elapsed().as_secs_f64()
    );

    let ranges: Vec<RangeInclusive<u32>> = (1..=PAGES)
        .step_by(LIMIT as usize)
        .map(|start| start..=(start + LIMIT - 1).min(PAGES))
        .collect();
    let mut times: Vec<Duration> = Vec::new();
    for run in 1..=3 {
        let out = tempfile::tempdir().unwrap();
        let started = Instant::now();
        let chunks = cut_pdf(&file, &ranges, out.path(), |r| {
            format!("pages_{:03}-{:03}.pdf", r.start(), r.end())
        })
        .unwrap();
        let elapsed = started.elapsed();
        assert_eq!(chunks.len(), 30);
        let bytes: u64 = chunks.iter().map(|c| c.len).sum();
        let largest = chunks.iter().map(|c| c.len).max().unwrap_or(0);
        println!(
            "run {run}: cut into {} chunks in {:.0} ms ({:.1} MiB in all, the largest {:.2} MiB)",
            chunks.len(),
            elapsed.as_secs_f64() * 1000.0,
            mib(bytes),
            mib(largest)
        );
        times.push(elapsed);
    }
    times.sort();
    println!(
        "cut wall time: median {:.0} ms, best {:.0} ms",
        times[1].as_secs_f64() * 1000.0,
        times[0].as_secs_f64() * 1000.0
    );

    zip_cut(&tmp.path().join("pages.zip"), &ranges);

    let Some(example) = example() else {
        println!(
            "peak RSS: not measured: build the example first \
             (cargo build --release -p sarvam-doc-driver --example cut)"
        );
        return;
    };
    let output = Command::new(&example)
        .arg(&file)
        .arg(LIMIT.to_string())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let said = String::from_utf8_lossy(&output.stdout);
    print!("{example:?}:\n{said}");
    let peak_kib: u64 = said
        .lines()
        .last()
        .and_then(|line| line.split("peak_rss_kib=").nth(1))
        .and_then(|kib| kib.trim().parse().ok())
        .unwrap_or(0);
    let target = 2 * size + 50 * 1024 * 1024;
    println!(
        "peak RSS {:.1} MiB against the target {:.1} MiB: {}",
        mib(peak_kib * 1024),
        mib(target),
        if peak_kib > 0 && peak_kib * 1024 <= target {
            "met"
        } else {
            "MISSED"
        }
    );
}

/// The same for a ZIP of 300 page images of the same size (stored, as
/// scans' JPEGs usually are): timed here, and through the example.
fn zip_cut(file: &std::path::Path, ranges: &[RangeInclusive<u32>]) {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::fs::File::create(file).unwrap());
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut rng = fastrand::Rng::with_seed(22);
    let mut image = vec![0u8; IMAGE];
    for n in 1..=PAGES {
        rng.fill(&mut image);
        image[..8].copy_from_slice(b"\x89PNG\r\n\x1a\n");
        zip.start_file(format!("page_{n:03}.png"), stored).unwrap();
        zip.write_all(&image).unwrap();
    }
    zip.finish().unwrap();
    let size = std::fs::metadata(file).unwrap().len();
    let out = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let chunks = cut_zip(file, ranges, out.path(), |r| {
        format!("pages_{:03}-{:03}.zip", r.start(), r.end())
    })
    .unwrap();
    println!(
        "a ZIP of {PAGES} images, {:.1} MiB: cut into {} chunks in {:.0} ms",
        size as f64 / (1024.0 * 1024.0),
        chunks.len(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    if let Some(example) = example() {
        let output = Command::new(&example)
            .arg(file)
            .arg(LIMIT.to_string())
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        print!("{}", String::from_utf8_lossy(&output.stdout));
    }
}

/// The `cut` example, beside this bench's deps folder:
/// `target/<profile>/examples/cut`, if it was built.
fn example() -> Option<PathBuf> {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("examples").join("cut")))
        .filter(|path| path.is_file())
}
