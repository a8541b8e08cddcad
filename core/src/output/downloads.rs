//! The outputs to download, each with a safe and distinct local name.

use std::collections::BTreeMap;

use super::names::{EntryKind, distinct_name, safe_output_name};
use crate::error::{bounded, printable};

/// One output to download: where it is, and the safe local name it gets.
#[derive(Clone, Debug)]
pub(crate) struct PendingDownload {
    /// The safe local name.
    pub(crate) name: String,
    /// The server's name, printable and bounded, for the record (never a path).
    pub(crate) server_name: String,
    pub(crate) url: http::Uri,
    /// The size storage announced, if any.
    pub(crate) announced: Option<u64>,
    /// Headers the server asked the download to carry (`/doc-ai/v1`).
    pub(crate) headers: BTreeMap<String, String>,
}

/// The legacy API's outputs to fetch, with safe and distinct local names.
pub(crate) fn plan_downloads(
    answer: crate::DownloadFilesResponse,
) -> std::collections::VecDeque<PendingDownload> {
    let mut taken: Vec<String> = Vec::new();
    let mut queue = std::collections::VecDeque::new();
    for (i, (server_name, url)) in answer.download_urls.into_iter().enumerate() {
        let base =
            safe_output_name(&server_name).unwrap_or_else(|| format!("output-{}.zip", i + 1));
        // `distinct_name` asks with the candidate in lower case.
        let name = distinct_name(&base, EntryKind::File, |c| taken.iter().any(|t| t == c));
        taken.push(name.to_lowercase());
        queue.push_back(PendingDownload {
            announced: url.announced_size(),
            name,
            server_name: bounded(printable(&server_name), 255),
            url: url.file_url,
            headers: BTreeMap::new(),
        });
    }
    queue
}

/// A `/doc-ai/v1` output to fetch: named by its URL's last segment when
/// that is a safe name, else `output.zip`; never `results.json`, which the
/// extraction's inline results take.
pub(crate) fn plan_download(
    target: crate::doc_ai::DownloadUrl,
) -> std::collections::VecDeque<PendingDownload> {
    let last = target
        .url
        .path()
        .rsplit('/')
        .next()
        .map(crate::wire::percent_decoded)
        .unwrap_or_default();
    let name = safe_output_name(&last)
        .filter(|n| !n.eq_ignore_ascii_case(crate::doc_ai::RESULTS_FILE))
        .unwrap_or_else(|| "output.zip".to_owned());
    std::collections::VecDeque::from([PendingDownload {
        server_name: bounded(printable(&last), 255),
        name,
        url: target.url,
        announced: None,
        headers: target.headers,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_names_are_safe_and_distinct() {
        let answer: crate::DownloadFilesResponse = serde_json::from_str(
            r#"{"job_id":"3fa85f64-5717-4562-b3fc-2c963f66afa6","job_state":"Completed",
            "storage_container_type":"Azure","download_urls":{
              "a/out.zip":{"file_url":"https://s/1"},"b/out.zip":{"file_url":"https://s/2"},
              "..":{"file_url":"https://s/3","file_metadata":{"fileSize":5}}}}"#,
        )
        .unwrap();
        let names: Vec<_> = plan_downloads(answer)
            .into_iter()
            .map(|p| (p.name, p.announced))
            .collect();
        assert_eq!(
            names,
            [
                ("output-1.zip".to_owned(), Some(5)),
                ("out.zip".to_owned(), None),
                ("out-2.zip".to_owned(), None)
            ]
        );
    }
}
