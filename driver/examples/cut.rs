//! Cuts a PDF (or a ZIP of page images) into chunks of at most LIMIT pages,
//! in a folder of its own removed at the end, and reports the cut's wall
//! time and this process's peak RSS (`VmHWM`), reset just before the cut
//! so it is the cut's alone (Linux).
//!
//! `cargo run --release -p sarvam-doc-driver --example cut -- FILE LIMIT`
//!
//! The last line is for machines: `chunks=N bytes=B cut_ms=T peak_rss_kib=K`.
#![allow(clippy::print_stdout)] // A measuring tool: what it prints is the point.

use std::ops::RangeInclusive;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use sarvam_doc_driver::split::{cut_pdf, cut_zip};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(file), Some(Ok(limit))) = (args.first(), args.get(1).map(|l| l.parse::<u32>()))
    else {
        eprintln!("usage: cut FILE LIMIT");
        return ExitCode::from(2);
    };
    match cut(Path::new(file), limit.max(1)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cut: {e}");
            ExitCode::FAILURE
        }
    }
}

fn cut(file: &Path, limit: u32) -> Result<(), Box<dyn std::error::Error>> {
    let zip = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"));
    let pages = if zip {
        let mut archive = zip::ZipArchive::new(std::fs::File::open(file)?)?;
        let mut pages = 0;
        for i in 0..archive.len() {
            pages += u32::from(!archive.by_index_raw(i)?.is_dir());
        }
        pages
    } else {
        // Reads the trailer and the page tree only, not the whole document.
        lopdf::Document::load_metadata(file)?.page_count
    };
    let ranges: Vec<RangeInclusive<u32>> = (1..=pages)
        .step_by(limit as usize)
        .map(|start| start..=start.saturating_add(limit - 1).min(pages))
        .collect();
    let out = tempfile::tempdir()?;
    let size = std::fs::metadata(file)?.len();
    let reset = reset_peak();
    let before = status_kib("VmHWM:");
    let started = Instant::now();
    let name = |r: &RangeInclusive<u32>| format!("pages_{:05}-{:05}", r.start(), r.end());
    let chunks = if zip {
        cut_zip(file, &ranges, out.path(), name)?
    } else {
        cut_pdf(file, &ranges, out.path(), name)?
    };
    let elapsed = started.elapsed();
    let peak = status_kib("VmHWM:");
    let bytes: u64 = chunks.iter().map(|c| c.len).sum();
    let largest = chunks.iter().map(|c| c.len).max().unwrap_or(0);
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    println!(
        "{}: {pages} pages, {:.1} MiB, cut into {} chunks of at most {limit} pages ({:.1} MiB in all, the largest {:.2} MiB)",
        file.display(),
        mib(size),
        chunks.len(),
        mib(bytes),
        mib(largest),
    );
    println!("cut: {:.0} ms", elapsed.as_secs_f64() * 1000.0);
    match peak {
        Some(peak) => println!(
            "peak RSS: {:.1} MiB ({:.2}× the file; target 2× + 50 MiB = {:.1} MiB){}",
            mib(peak * 1024),
            (peak * 1024) as f64 / size.max(1) as f64,
            mib(2 * size) + 50.0,
            match (reset, before) {
                (true, Some(before)) =>
                    format!(", {:.1} MiB when the cut began", mib(before * 1024)),
                _ => ", not reset before the cut: it includes counting the pages".to_owned(),
            }
        ),
        None => println!("peak RSS: not known (no /proc/self/status)"),
    }
    println!(
        "chunks={} bytes={bytes} cut_ms={} peak_rss_kib={}",
        chunks.len(),
        elapsed.as_millis(),
        peak.unwrap_or(0)
    );
    Ok(())
}

/// Resets this process's peak RSS to its current RSS (Linux ≥ 4.0).
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// A `kB` line of `/proc/self/status`, in KiB.
fn status_kib(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}
