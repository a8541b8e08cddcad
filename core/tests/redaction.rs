//! The key is redacted in every spelling a JSON or URL decoder reads as the
//! key, however the spellings are mixed (issue 21, break 15): a property
//! test against an independent decoder.
#![allow(clippy::unwrap_used)] // A test that unwraps fails loudly, which is what it is for.

use proptest::prelude::*;
use sarvam_doc_core::ApiKey;

/// How one character of the key is spelled.
#[derive(Clone, Copy, Debug)]
enum Spelling {
    Raw,
    Json,
    JsonUpper,
    Url,
}

fn spell(key: &str, spellings: &[Spelling]) -> String {
    key.chars()
        .zip(spellings.iter().cycle())
        .map(|(c, s)| match s {
            Spelling::Raw => c.to_string(),
            Spelling::Json => format!("\\u{:04x}", u32::from(c)),
            Spelling::JsonUpper => format!("\\u{:04X}", u32::from(c)),
            Spelling::Url => format!("%{:02X}", u32::from(c)),
        })
        .collect()
}

/// JSON's `\uXXXX` escapes decoded, then URL's `%XX`: written here, apart
/// from the code under test.
fn decode(text: &str) -> String {
    fn pass(text: &str, lead: &str, digits: usize) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(at) = rest.find(lead) {
            out.push_str(&rest[..at]);
            let after = &rest[at + lead.len()..];
            match after
                .get(..digits)
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .and_then(char::from_u32)
            {
                Some(c) if after[..digits].bytes().all(|b| b.is_ascii_hexdigit()) => {
                    out.push(c);
                    rest = &after[digits..];
                }
                _ => {
                    out.push_str(lead);
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }
    pass(&pass(text, "\\u", 4), "%", 2)
}

proptest! {
    #[test]
    fn a_key_in_any_mix_of_spellings_is_redacted(
        key in "sk_[a-zA-Z0-9_-]{8,40}",
        spellings in prop::collection::vec(
            prop_oneof![Just(Spelling::Raw), Just(Spelling::Json), Just(Spelling::JsonUpper), Just(Spelling::Url)],
            1..8,
        ),
        before in "[ -~]{0,40}",
        after in "[ -~]{0,40}",
    ) {
        let api_key = ApiKey::new(&key).unwrap();
        let text = format!("{before}{}{after}", spell(&key, &spellings));
        prop_assume!(decode(&text).contains(&key));
        let redacted = api_key.redact(&text);
        prop_assert!(!decode(&redacted).contains(&key), "{text} -> {redacted}");
        prop_assert!(redacted.contains("<redacted>"));
    }

    #[test]
    fn text_without_the_key_is_left_as_it_is(
        key in "sk_[a-zA-Z0-9]{12,40}",
        text in "[ -~]{0,200}",
    ) {
        let api_key = ApiKey::new(&key).unwrap();
        prop_assume!(!decode(&text).contains(&key));
        prop_assert_eq!(api_key.redact(&text), text);
    }
}
