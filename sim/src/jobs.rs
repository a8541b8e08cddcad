//! Jobs: what was uploaded, how far processing is, and the outputs.
//!
//! A job's progress is a function of the clock: once started it sits in
//! `Pending` for the queue time, then runs page by page at the configured
//! pace, then ends as its scenario says. Nothing runs in the background.

use std::io::{Cursor, Write};
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
    /// The fingerprint of each input page, in page order (see
    /// [`crate::pages`]); a page without one has none in its output.
    pub(crate) fingerprints: Vec<String>,
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
        // A page that says so fails; one that says its job fails fails them all.
        let said = |word: &str| -> Vec<u32> {
            let prints = self
                .started
                .as_ref()
                .map(|s| s.fingerprints.as_slice())
                .unwrap_or_default();
            (1..=pages)
                .zip(prints)
                .filter(|(_, f)| f.contains(word))
                .map(|(n, _)| n)
                .collect()
        };
        if !said(FAIL_JOB).is_empty() {
            return (1..=pages).collect();
        }
        let marked = said(FAIL_PAGE);
        if !marked.is_empty() && self.scenario == Scenario::Completed {
            return marked;
        }
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

    /// The fingerprint of input page `n` (from 1), if it has one.
    pub(crate) fn fingerprint(&self, n: u32) -> Option<&str> {
        let at = usize::try_from(n.checked_sub(1)?).ok()?;
        self.started
            .as_ref()?
            .fingerprints
            .get(at)
            .map(String::as_str)
    }

    /// The output ZIP: one entry per page that succeeded, in the job's
    /// format (or the hostile output a fault gave the job). Each page
    /// carries the fingerprint of the input page it came from: a
    /// `source: …` line in Markdown and HTML, a `source` field in JSON.
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
            let source = self.fingerprint(page).unwrap_or_default();
            let body = match ext {
                "html" => format!("<html><body><h1>Page {page}</h1><p>{text}</p><p class=\"source\">source: {source}</p></body></html>\n"),
                "json" => json!({"page_number": page, "language": self.language, "source": source, "blocks": [{"type": "paragraph", "text": text}]}).to_string(),
                _ => format!("# Page {page}\n\n{text}\n\nsource: {source}\n"),
            };
            // Writing to memory cannot fail.
            let _ = zip.start_file(format!("page_{page:03}.{ext}"), options);
            let _ = zip.write_all(body.as_bytes());
        }
        zip.finish().map(Cursor::into_inner).unwrap_or_default()
    }
}

/// A page whose text holds this fails.
pub(crate) const FAIL_PAGE: &str = "sim:fail-page";

/// A job with a page whose text holds this fails whole.
pub(crate) const FAIL_JOB: &str = "sim:fail-job";

/// What the simulator says of a document it cannot read.
pub(crate) const INVALID_PDF: &str =
    "Invalid PDF: the document could not be read (it is damaged or encrypted)";

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
    fn timestamps_are_rfc3339_utc() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_705_311_000);
        assert_eq!(rfc3339(t), "2024-01-15T09:30:00Z");
        assert_eq!(rfc3339(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let leap = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00Z");
    }
}
