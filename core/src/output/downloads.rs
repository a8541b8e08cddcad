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

/// `name` made safe, and then rid of `key`: making a name safe turns
/// characters into `_`, which can spell a key the server sent with control
/// characters in its place (`sk\u0001live…`). Made safe again after, so
/// `<redacted>` becomes `_redacted_`.
fn safe_name_without(name: &str, key: Option<&str>) -> Option<String> {
    let safe = safe_output_name(name)?;
    match key {
        Some(key) if !key.is_empty() && safe.contains(key) => {
            safe_output_name(&safe.replace(key, "<redacted>"))
        }
        _ => Some(safe),
    }
}

/// A server's name as the record keeps it: printable, bounded, without `key`.
fn shown_name(name: &str, key: Option<&str>) -> String {
    let mut shown = printable(name);
    if let Some(key) = key {
        crate::error::redact(&mut shown, key);
    }
    bounded(shown, 255)
}

/// The legacy API's outputs to fetch, with safe and distinct local names
/// that do not spell `key`.
pub(crate) fn plan_downloads(
    answer: crate::DownloadFilesResponse,
    key: Option<&str>,
) -> std::collections::VecDeque<PendingDownload> {
    let mut taken: Vec<String> = Vec::new();
    let mut queue = std::collections::VecDeque::new();
    for (i, (server_name, url)) in answer.download_urls.into_iter().enumerate() {
        let base =
            safe_name_without(&server_name, key).unwrap_or_else(|| format!("output-{}.zip", i + 1));
        // `distinct_name` asks with the candidate in lower case.
        let name = distinct_name(&base, EntryKind::File, |c| taken.iter().any(|t| t == c));
        taken.push(name.to_lowercase());
        queue.push_back(PendingDownload {
            announced: url.announced_size(),
            name,
            server_name: shown_name(&server_name, key),
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
    key: Option<&str>,
) -> std::collections::VecDeque<PendingDownload> {
    let last = target
        .url
        .path()
        .rsplit('/')
        .next()
        .map(crate::wire::percent_decoded)
        .unwrap_or_default();
    let name = safe_name_without(&last, key)
        .filter(|n| !n.eq_ignore_ascii_case(crate::doc_ai::RESULTS_FILE))
        .unwrap_or_else(|| "output.zip".to_owned());
    std::collections::VecDeque::from([PendingDownload {
        server_name: shown_name(&last, key),
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
        let names: Vec<_> = plan_downloads(answer, None)
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

#[cfg(test)]
mod key_tests {
    use super::*;

    #[test]
    fn a_name_that_spells_the_key_once_made_safe_does_not_keep_it() {
        let key = "sk_live_abc";
        let answer: crate::DownloadFilesResponse = serde_json::from_str(
            r#"{"job_id":"3fa85f64-5717-4562-b3fc-2c963f66afa6","job_state":"Completed",
            "storage_container_type":"Azure","download_urls":{
              "sk\u0001live\u0001abc.zip":{"file_url":"https://s/1"}}}"#,
        )
        .unwrap();
        let planned: Vec<_> = plan_downloads(answer, Some(key)).into_iter().collect();
        assert!(!planned[0].name.contains(key), "{}", planned[0].name);
        assert!(planned[0].name.contains("redacted"), "{}", planned[0].name);
        assert!(!planned[0].server_name.contains(key));
        let url: crate::doc_ai::DownloadUrl = serde_json::from_str(
            r#"{"method":"GET","url":"https://s/out/sk%01live%1babc.json?sig=1","headers":{},"expires_at":""}"#,
        )
        .unwrap();
        let planned: Vec<_> = plan_download(url, Some(key)).into_iter().collect();
        assert!(!planned[0].name.contains(key), "{}", planned[0].name);
        assert!(!planned[0].server_name.contains(key));
    }
}
