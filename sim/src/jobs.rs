//! Jobs: what was uploaded, how far processing is, and the outputs.
//!
//! A job's progress is a function of the clock: once started it sits in
//! `Pending` for the queue time, then runs page by page at the configured
//! pace, then ends as its scenario says. Nothing runs in the background.

use std::io::{Cursor, Read, Write};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};

use crate::Scenario;

/// One job on the simulated server.
#[derive(Debug)]
pub(crate) struct Job {
    pub(crate) id: uuid::Uuid,
    pub(crate) language: String,
    pub(crate) output_format: String,
    pub(crate) created: SystemTime,
    /// The file name asked for in upload-files.
    pub(crate) file_name: Option<String>,
    /// The bytes PUT to storage.
    pub(crate) upload: Option<Vec<u8>>,
    pub(crate) started: Option<Started>,
    pub(crate) scenario: Scenario,
    /// A hostile output, served instead of the real one.
    pub(crate) output_override: Option<Vec<u8>>,
}

#[derive(Debug)]
pub(crate) struct Started {
    pub(crate) at: Instant,
    pub(crate) at_wall: SystemTime,
    pub(crate) pages: u32,
    pub(crate) queue: Duration,
    pub(crate) page_time: Duration,
}

/// Where a job is at one instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Progress {
    pub(crate) state: &'static str,
    pub(crate) processed: u32,
    pub(crate) failed_pages: Vec<u32>,
    pub(crate) updated: SystemTime,
}

impl Job {
    pub(crate) fn new(
        id: uuid::Uuid,
        language: String,
        output_format: String,
        scenario: Scenario,
    ) -> Self {
        Job {
            id,
            language,
            output_format,
            created: SystemTime::now(),
            file_name: None,
            upload: None,
            started: None,
            scenario,
            output_override: None,
        }
    }

    /// The pages that fail under this job's scenario.
    fn failing_pages(&self, pages: u32) -> Vec<u32> {
        match self.scenario {
            Scenario::Completed => Vec::new(),
            // Every second page fails; a one-page document cannot partly fail,
            // so its only page does.
            Scenario::PartiallyCompleted if pages >= 2 => {
                (1..=pages).filter(|p| p % 2 == 0).collect()
            }
            Scenario::PartiallyCompleted
            | Scenario::Failed
            | Scenario::Rejected
            | Scenario::Unreadable => (1..=pages).collect(),
        }
    }

    pub(crate) fn progress(&self, now: Instant) -> Progress {
        let Some(s) = &self.started else {
            return Progress {
                state: if self.upload.is_some() {
                    "Pending"
                } else {
                    "Accepted"
                },
                processed: 0,
                failed_pages: Vec::new(),
                updated: self.created,
            };
        };
        let since = now.saturating_duration_since(s.at);
        if since < s.queue {
            return Progress {
                state: "Pending",
                processed: 0,
                failed_pages: Vec::new(),
                updated: s.at_wall,
            };
        }
        let running = since - s.queue;
        let page_nanos = s.page_time.as_nanos().max(1);
        let processed = u32::try_from(running.as_nanos() / page_nanos)
            .unwrap_or(u32::MAX)
            .min(s.pages);
        let failing = self.failing_pages(s.pages);
        let failed_pages: Vec<u32> = failing
            .iter()
            .copied()
            .filter(|p| *p <= processed)
            .collect();
        let updated = s.at_wall + s.queue + s.page_time * processed;
        if processed < s.pages {
            return Progress {
                state: "Running",
                processed,
                failed_pages,
                updated,
            };
        }
        let state = if failed_pages.is_empty() {
            "Completed"
        } else if failed_pages.len() as u32 == s.pages {
            "Failed"
        } else {
            "PartiallyCompleted"
        };
        Progress {
            state,
            processed,
            failed_pages,
            updated,
        }
    }

    /// The status body, field for field as `DocDigitizationJobStatusResponse`.
    pub(crate) fn status_json(&self, now: Instant) -> Value {
        let p = self.progress(now);
        let total = self.started.as_ref().map_or(0, |s| s.pages);
        let failed = p.failed_pages.len() as u32;
        let terminal = matches!(p.state, "Completed" | "PartiallyCompleted" | "Failed");
        let file_name = self.file_name.clone().unwrap_or_default();
        let stem = stem(&file_name);
        let detail_state = match p.state {
            "Accepted" | "Pending" => "Pending",
            "Running" => "Running",
            "Completed" => "Success",
            "PartiallyCompleted" => "PartialSuccess",
            _ => "Failed",
        };
        let error_message = if p.state == "Failed" && self.scenario == Scenario::Unreadable {
            INVALID_PDF.to_owned()
        } else if p.state == "Failed" {
            format!("All {total} pages failed to process")
        } else {
            String::new()
        };
        let details = if self.file_name.is_some() {
            json!([{
                "inputs": [{"file_name": file_name, "file_id": format!("file-{}", &self.id.simple().to_string()[..8])}],
                "outputs": if terminal && p.state != "Failed" {
                    json!([{"file_name": format!("{stem}_output.zip"), "file_id": format!("out-{}", &self.id.simple().to_string()[..8])}])
                } else { json!([]) },
                "state": detail_state,
                "total_pages": total,
                "pages_processed": p.processed,
                "pages_succeeded": p.processed - failed,
                "pages_failed": failed,
                "error_message": error_message,
                "error_code": if p.state == "Failed" { json!("processing_failed") } else { Value::Null },
                "page_errors": p.failed_pages.iter().map(|n| json!({
                    "page_number": n,
                    "error_code": "page_processing_failed",
                    "error_message": format!("Page {n} could not be read"),
                })).collect::<Vec<_>>(),
            }])
        } else {
            json!([])
        };
        json!({
            "job_id": self.id.hyphenated().to_string(),
            "job_state": p.state,
            "created_at": rfc3339(self.created),
            "updated_at": rfc3339(p.updated),
            "storage_container_type": "Azure",
            "total_files": 1,
            "successful_files_count": u32::from(matches!(p.state, "Completed" | "PartiallyCompleted")),
            "failed_files_count": u32::from(p.state == "Failed"),
            "error_message": error_message,
            "job_details": details,
        })
    }

    /// The output ZIP: one entry per page that succeeded, in the job's
    /// format (or the hostile output a fault gave the job).
    pub(crate) fn output_zip(&self, now: Instant) -> Vec<u8> {
        if let Some(bytes) = &self.output_override {
            return bytes.clone();
        }
        let p = self.progress(now);
        let total = self.started.as_ref().map_or(0, |s| s.pages);
        let file = self.file_name.clone().unwrap_or_default();
        let ext = match self.output_format.as_str() {
            "html" => "html",
            "json" => "json",
            _ => "md",
        };
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default();
        for page in (1..=total).filter(|n| !p.failed_pages.contains(n)) {
            let text = format!(
                "Simulated text of page {page} of {file} ({lang}).",
                lang = self.language
            );
            let body = match ext {
                "html" => format!("<html><body><h1>Page {page}</h1><p>{text}</p></body></html>\n"),
                "json" => json!({"page_number": page, "language": self.language, "blocks": [{"type": "paragraph", "text": text}]}).to_string(),
                _ => format!("# Page {page}\n\n{text}\n"),
            };
            // Writing to memory cannot fail.
            let _ = zip.start_file(format!("page_{page:03}.{ext}"), options);
            let _ = zip.write_all(body.as_bytes());
        }
        zip.finish().map(Cursor::into_inner).unwrap_or_default()
    }
}

/// Why a document cannot be processed.
/// What the simulator says of a document it cannot read.
pub(crate) const INVALID_PDF: &str =
    "Invalid PDF: the document could not be read (it is damaged or encrypted)";

#[derive(Debug, PartialEq, Eq)]

pub(crate) struct Unreadable(pub(crate) String);

/// Counts the pages of an uploaded document, checking it as the API does:
/// a PDF must parse; a ZIP may hold only JPEG/PNG images, at most one folder
/// deep, and at least one.
pub(crate) fn count_pages(file_name: &str, bytes: &[u8]) -> Result<u32, Unreadable> {
    if file_name.to_ascii_lowercase().ends_with(".zip") {
        count_zip_pages(bytes)
    } else {
        count_pdf_pages(bytes)
    }
}

fn count_pdf_pages(bytes: &[u8]) -> Result<u32, Unreadable> {
    if !bytes.starts_with(b"%PDF-") {
        return Err(Unreadable(
            "the file is not a PDF (it does not start with %PDF-)".into(),
        ));
    }
    // Count page objects: "/Type /Page" not followed by "s" (which is /Pages).
    let mut pages = 0u32;
    let mut i = 0;
    while let Some(at) = find(&bytes[i..], b"/Type") {
        let mut j = i + at + 5;
        while j < bytes.len() && bytes[j].is_ascii_whitespace() {
            j += 1;
        }
        if bytes[j..].starts_with(b"/Page")
            && bytes.get(j + 5).is_none_or(|b| !b.is_ascii_alphanumeric())
        {
            pages += 1;
        }
        i = j;
    }
    if pages == 0 {
        return Err(Unreadable(
            "the PDF could not be parsed: no pages found".into(),
        ));
    }
    Ok(pages)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn count_zip_pages(bytes: &[u8]) -> Result<u32, Unreadable> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| Unreadable(format!("the ZIP could not be read: {e}")))?;
    let mut images = 0u32;
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| Unreadable(format!("the ZIP could not be read: {e}")))?;
        if entry.is_dir() {
            continue;
        }
        let name = entry
            .name()
            .map_err(|e| Unreadable(format!("the ZIP has an unreadable entry name: {e}")))?
            .into_owned();
        if name.trim_end_matches('/').matches('/').count() > 1 {
            return Err(Unreadable(format!(
                "the ZIP is not flat: {name} is nested more than one folder deep"
            )));
        }
        let lower = name.to_ascii_lowercase();
        let mut head = [0u8; 8];
        let n = entry.read(&mut head).unwrap_or(0);
        let is_png = head[..n].starts_with(b"\x89PNG\r\n\x1a\n");
        let is_jpeg = head[..n].starts_with(&[0xFF, 0xD8, 0xFF]);
        let named_image = [".png", ".jpg", ".jpeg"].iter().any(|e| lower.ends_with(e));
        if !(named_image && (is_png || is_jpeg)) {
            return Err(Unreadable(format!(
                "the ZIP holds {name}, which is not a JPEG or PNG image"
            )));
        }
        images += 1;
    }
    if images == 0 {
        return Err(Unreadable("the ZIP holds no images".into()));
    }
    Ok(images)
}

pub(crate) fn stem(file_name: &str) -> &str {
    file_name.rsplit_once('.').map_or(file_name, |(s, _)| s)
}

/// RFC 3339 in UTC with a `Z`, whole seconds, as the API's examples show.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    let t = time::OffsetDateTime::from(t);
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The languages a job may ask for, on both APIs.
pub(crate) const LANGUAGES: [&str; 23] = [
    "hi-IN", "en-IN", "bn-IN", "gu-IN", "kn-IN", "ml-IN", "mr-IN", "od-IN", "pa-IN", "ta-IN",
    "te-IN", "ur-IN", "as-IN", "brx-IN", "doi-IN", "ks-IN", "kok-IN", "mai-IN", "mni-IN", "ne-IN",
    "sa-IN", "sat-IN", "sd-IN",
];
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdf_pages_are_counted_and_pages_trees_are_not() {
        let pdf = b"%PDF-1.4\n1 0 obj << /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >> endobj\n\
            2 0 obj << /Type /Page /Parent 1 0 R >> endobj\n3 0 obj <</Type/Page/Parent 1 0 R>> endobj\n%%EOF";
        assert_eq!(count_pages("a.pdf", pdf), Ok(2));
        assert!(count_pages("a.pdf", b"hello").is_err());
        assert!(count_pages("a.pdf", b"%PDF-1.4 nothing").is_err());
        assert!(count_pages("a.pdf", b"%PDF-1.4 /Type").is_err());
    }

    #[test]
    fn zips_must_hold_only_images_at_most_one_folder_deep() {
        let make = |entries: &[(&str, &[u8])]| {
            let mut z = zip::ZipWriter::new(Cursor::new(Vec::new()));
            for (name, data) in entries {
                z.start_file(*name, zip::write::SimpleFileOptions::default())
                    .unwrap();
                z.write_all(data).unwrap();
            }
            z.finish().unwrap().into_inner()
        };
        let png: &[u8] = b"\x89PNG\r\n\x1a\nrest";
        let jpg: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 1, 2];
        assert_eq!(
            count_pages("p.zip", &make(&[("1.png", png), ("2.jpg", jpg)])),
            Ok(2)
        );
        assert_eq!(count_pages("p.zip", &make(&[("scans/1.png", png)])), Ok(1));
        assert!(count_pages("p.zip", &make(&[("a/b/1.png", png)])).is_err());
        assert!(count_pages("p.zip", &make(&[("notes.txt", b"hi")])).is_err());
        assert!(count_pages("p.zip", &make(&[("fake.png", b"not a png")])).is_err());
        assert!(count_pages("p.zip", &make(&[])).is_err());
        assert!(count_pages("p.zip", b"PK not really").is_err());
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_705_311_000);
        assert_eq!(rfc3339(t), "2024-01-15T09:30:00Z");
        assert_eq!(rfc3339(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let leap = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00Z");
    }
}
