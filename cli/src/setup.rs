//! What every command that talks to the API needs: the key, the client, and
//! checked arguments.

use std::path::Path;

use sarvam_doc_core::{
    ApiKey, Config, JobId, config::ApiVersion, error::InputError, model::Language,
};
use sarvam_doc_hyper::{Client, Hyper, Roots};

use crate::{Failure, Global, TlsRoots};

/// The most a key file may hold: a key is a few dozen characters.
const MAX_KEY_FILE: u64 = 4096;

/// The key, from the file or the environment; never the command line.
pub(crate) fn api_key(global: &Global) -> Result<ApiKey, Failure> {
    let key = match &global.api_key_file {
        Some(path) => read_key_file(path)?,
        None => std::env::var("SARVAM_API_KEY").map_err(|_| {
            Failure::usage("no API key: set SARVAM_API_KEY to your key from the Sarvam dashboard, or pass --api-key-file PATH")
        })?,
    };
    ApiKey::new(key).map_err(|e| Failure::usage(e.to_string()))
}

/// Reads at most [`MAX_KEY_FILE`] bytes: `/dev/zero` or a log file given
/// by mistake is refused, not read to the end.
fn read_key_file(path: &Path) -> Result<String, Failure> {
    use std::io::Read as _;
    let cannot = |e: std::io::Error| {
        Failure::usage(format!(
            "cannot read the API key file {}: {e}",
            path.display()
        ))
    };
    let file = std::fs::File::open(path).map_err(cannot)?;
    let mut bytes = Vec::new();
    file.take(MAX_KEY_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_KEY_FILE {
        return Err(Failure::usage(format!(
            "the API key file {} is over {MAX_KEY_FILE} bytes (the key-file limit): give the file that holds only the key",
            path.display()
        )));
    }
    String::from_utf8(bytes).map_err(|_| {
        Failure::usage(format!(
            "the API key file {} is not text: give the file that holds only the key",
            path.display()
        ))
    })
}

/// The client for the global options.
pub(crate) fn client(global: &Global) -> Result<Client, Failure> {
    client_for(global, global.api_version())
}

/// The client for the global options, speaking `version`.
pub(crate) fn client_for(global: &Global, version: ApiVersion) -> Result<Client, Failure> {
    // The URL first: it says nothing secret, and a bad one is the likelier typo.
    sarvam_doc_core::config::BaseUrl::parse(&global.base_url, false)
        .map_err(|e| Failure::usage(e.to_string()))?;
    let config = Config::builder(api_key(global)?)
        .base_url(&global.base_url)
        .api_version(version)
        .build()
        .map_err(|e| Failure::usage(e.to_string()))?;
    let roots = match global.tls_roots {
        TlsRoots::Webpki => Roots::WebPki,
        TlsRoots::Os => Roots::Platform,
    };
    Ok(Client::with_transport(config, Hyper::with_roots(roots)))
}

/// A job id, checked for the API (the core's rule: a UUID on the legacy
/// API, an opaque id on `/doc-ai/v1`) before it goes into a path.
pub(crate) fn job_id(text: &str, version: ApiVersion) -> Result<JobId, Failure> {
    let id: JobId = text
        .parse()
        .map_err(|e: InputError| Failure::usage(e.to_string()))?;
    if !id.is_valid_for(version) {
        return Err(Failure::usage(format!(
            "{text:?} is not a legacy job id: those are UUIDs such as 3fa85f64-5717-4562-b3fc-2c963f66afa6 (for a /doc-ai/v1 job, add --api doc-ai)"
        )));
    }
    Ok(id)
}

/// A language the API takes (the core's list), or a usage error that names
/// the codes to use.
pub(crate) fn language(code: &str) -> Result<Language, Failure> {
    let lang = Language::new(code).map_err(|e| Failure::usage(e.to_string()))?;
    if lang.is_accepted() {
        Ok(lang)
    } else {
        let known: Vec<_> = Language::DOCUMENTED.iter().map(Language::as_str).collect();
        Err(Failure::usage(format!(
            "{code:?} is not a language the API takes: use one of {}",
            known.join(", ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Exit;

    #[test]
    fn a_language_the_api_takes_passes_and_another_is_refused_naming_the_codes() {
        for code in ["hi-IN", "od-IN", "or-IN", "bodo-IN"] {
            assert_eq!(
                language(code).map(|l| l.to_string()).ok(),
                Some(code.into())
            );
        }
        let refused = language("fr-FR").err().map(|f| (f.exit, f.message));
        let Some((Exit::Usage, message)) = refused else {
            panic!("{refused:?}")
        };
        assert!(
            message
                .starts_with("\"fr-FR\" is not a language the API takes: use one of hi-IN, en-IN"),
            "{message}"
        );
    }

    #[test]
    fn a_legacy_job_id_must_be_a_uuid_and_the_error_says_how_to_ask_for_doc_ai() {
        let doc_ai = "20261130_6eb74174-e2c3-490d-afe5-d2e7e9e2b6c7";
        assert!(job_id(doc_ai, ApiVersion::DocAi).is_ok());
        let refused = job_id(doc_ai, ApiVersion::Legacy)
            .err()
            .map(|f| (f.exit, f.message));
        let Some((Exit::Usage, message)) = refused else {
            panic!("{refused:?}")
        };
        assert!(
            message.contains("is not a legacy job id") && message.contains("--api doc-ai"),
            "{message}"
        );
        assert!(job_id("3fa85f64-5717-4562-b3fc-2c963f66afa6", ApiVersion::Legacy).is_ok());
    }
}
