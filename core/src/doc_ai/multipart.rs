//! `multipart/form-data` bodies of text fields, as `/doc-ai/v1`'s submits
//! take them (RFC 7578).
//!
//! Only text fields: the file itself goes to presigned storage first and the
//! submit names it by `upload_ids`, so the driver streams it as it streams a
//! legacy upload, and the core never holds it.

use std::fmt::Write;

/// A form of text fields, built into one body.
///
/// The boundary is derived from the fields (the core draws no random
/// numbers) and is checked to occur in none of them; names and values are
/// sent as they are, in order, each part with only its
/// `Content-Disposition` (as the TypeScript SDK sends text fields).
///
/// ```
/// use sarvam_doc_core::doc_ai::Form;
/// let mut form = Form::new();
/// form.text("upload_ids", "upl_1,upl_2");
/// form.text("language", "hi-IN");
/// let (content_type, body) = form.finish();
/// let boundary = content_type.strip_prefix("multipart/form-data; boundary=").unwrap();
/// let text = String::from_utf8(body).unwrap();
/// assert!(text.starts_with(&format!("--{boundary}\r\n")));
/// assert!(text.contains("Content-Disposition: form-data; name=\"language\"\r\n\r\nhi-IN\r\n"));
/// assert!(text.ends_with(&format!("--{boundary}--\r\n")));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Form {
    fields: Vec<(String, String)>,
}

impl Form {
    /// An empty form.
    #[must_use]
    pub fn new() -> Self {
        Form::default()
    }

    /// Adds a text field. A name is sent between quotes, so its `"`, CR and
    /// LF are percent-encoded as RFC 7578 asks (our field names have none).
    pub fn text(&mut self, name: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.fields.push((name.into(), value.into()));
        self
    }

    /// The fields, in order.
    #[must_use]
    pub fn fields(&self) -> &[(String, String)] {
        &self.fields
    }

    /// The `Content-Type` header value and the body.
    #[must_use]
    pub fn finish(&self) -> (String, Vec<u8>) {
        let boundary = self.boundary();
        let mut body = String::new();
        for (name, value) in &self.fields {
            let name = name
                .replace('"', "%22")
                .replace('\r', "%0D")
                .replace('\n', "%0A");
            let _ = write!(
                body,
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            );
        }
        let _ = write!(body, "--{boundary}--\r\n");
        (
            format!("multipart/form-data; boundary={boundary}"),
            body.into_bytes(),
        )
    }

    /// A boundary that occurs in no name or value: a hash of the fields,
    /// hashed again until none holds it (a value would have to be built
    /// against this very function to need a second round).
    fn boundary(&self) -> String {
        let mut seed: u64 = 0xcbf2_9ce4_8422_2325;
        for (name, value) in &self.fields {
            for b in name.bytes().chain([0]).chain(value.bytes()).chain([0]) {
                seed = (seed ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
        }
        loop {
            let boundary = format!("sarvam-doc-{seed:016x}");
            if !self
                .fields
                .iter()
                .any(|(n, v)| n.contains(&boundary) || v.contains(&boundary))
            {
                return boundary;
            }
            seed = seed.wrapping_mul(0x0100_0000_01b3).wrapping_add(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_holding_the_boundary_gets_another() {
        let mut form = Form::new();
        form.text("a", "x");
        let (first, _) = form.finish();
        let taken = first.trim_start_matches("multipart/form-data; boundary=");
        // A value built to hold the boundary the fields would have had:
        // adding it changes the hash, and the check catches any collision.
        let mut hostile = Form::new();
        hostile.text("a", format!("--{taken}--"));
        let (ct, body) = hostile.finish();
        let boundary = ct.trim_start_matches("multipart/form-data; boundary=");
        let text = String::from_utf8(body).unwrap();
        assert_eq!(text.matches(&format!("--{boundary}")).count(), 2);
    }

    #[test]
    fn an_empty_form_is_only_the_closing_boundary() {
        let (ct, body) = Form::new().finish();
        let boundary = ct.trim_start_matches("multipart/form-data; boundary=");
        assert_eq!(body, format!("--{boundary}--\r\n").into_bytes());
    }
}
