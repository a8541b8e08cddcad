//! The multipart builder, fed any fields: the boundary is in no field, the
//! body has one delimiter per field and a closing one, and reading it back
//! gives the fields as they went in.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sarvam_doc_core::doc_ai::Form;

fuzz_target!(|fields: Vec<(String, String)>| {
    // Names are ours (constants) and never hold quotes or line breaks.
    let fields: Vec<(String, String)> = fields
        .into_iter()
        .take(16)
        .map(|(n, v)| (n.replace(['"', '\r', '\n'], "_"), v))
        .collect();
    let mut form = Form::new();
    for (name, value) in &fields {
        form.text(name.clone(), value.clone());
    }
    let (content_type, body) = form.finish();
    let boundary = content_type
        .strip_prefix("multipart/form-data; boundary=")
        .unwrap_or_else(|| unreachable!());
    assert!(fields.iter().all(|(n, v)| !n.contains(boundary) && !v.contains(boundary)));
    let body = String::from_utf8(body).unwrap_or_else(|_| unreachable!());
    let delimiter = format!("--{boundary}");
    let closing = format!("{delimiter}--\r\n");
    assert!(body.ends_with(&closing));
    // Read it back: split on the delimiter, as any parser does.
    let inner = &body[..body.len() - closing.len()];
    let parts: Vec<&str> = inner.split(&delimiter).skip(1).collect();
    assert_eq!(parts.len(), fields.len());
    for (part, (name, value)) in parts.iter().zip(&fields) {
        let expected = format!(
            "\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        );
        assert_eq!(*part, expected);
    }
});
