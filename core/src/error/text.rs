//! Text helpers every error and every cleaned server string goes through:
//! excerpts of bodies, printable and bounded text, the key redacted.

use super::EXCERPT_LIMIT;

/// A bounded, single-line, printable excerpt of a body: at most
/// [`EXCERPT_LIMIT`] bytes of text (plus `…` when cut), whatever the bytes.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let cut = body.len().min(EXCERPT_LIMIT);
    let text = String::from_utf8_lossy(&body[..cut]);
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    // Invalid bytes become U+FFFD, three bytes each: bound the text, not the input.
    let truncated = body.len() > cut || clean.len() > EXCERPT_LIMIT;
    let mut out = bounded(clean, EXCERPT_LIMIT);
    if out.ends_with('…') {
        out.pop();
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    if truncated {
        out.push('…');
    }
    out
}

/// `text` with every control character (escape sequences included) made a
/// space, so that what a server sends cannot move a terminal's cursor.
pub(crate) fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Whether `text` holds a JSON or URL escape (`\\` or `%`), through which
/// a decoder could spell the key. Two single-byte searches (each the
/// standard library's vectorised `memchr`), not one search for either.
pub(crate) fn has_escape(text: &str) -> bool {
    text.contains('\\') || text.contains('%')
}

/// Whether `text` holds a control character.
pub(crate) fn has_control(text: &str) -> bool {
    text.chars().any(char::is_control)
}

/// [`redact_body`], for tests.
#[cfg(test)]
pub(crate) fn redact_bytes<'a>(body: &'a [u8], key: &str) -> std::borrow::Cow<'a, [u8]> {
    redact_body(body, std::str::from_utf8(body).ok(), key)
}

/// `body` with every spelling of `key` replaced by `<redacted>`: as it is,
/// and as a JSON decoder (`\u0073`, `\/`, `\"`) or a URL decoder (`%73`)
/// would read it, escapes mixed in any way. Done before anything is cut
/// from a body, so no part of a key survives a cut. Borrows (and costs one
/// scan) when the key is not there: a body with neither `\` nor `%` is
/// searched as it is, with the standard library's vectorised substring
/// search when it is valid UTF-8 (`text`).
pub(crate) fn redact_body<'a>(
    body: &'a [u8],
    text: Option<&str>,
    key: &str,
) -> std::borrow::Cow<'a, [u8]> {
    redact_body_escaped(body, text, key, body_has_escape(body, text))
}

/// Whether `body` (`text`, when it is valid UTF-8) holds a JSON or URL
/// escape: see [`has_escape`].
pub(crate) fn body_has_escape(body: &[u8], text: Option<&str>) -> bool {
    match text {
        Some(text) => has_escape(text),
        None => body.iter().any(|&b| b == b'\\' || b == b'%'),
    }
}

/// [`redact_body`], told whether the body holds an escape
/// ([`body_has_escape`]), by a caller that needs to know too.
pub(crate) fn redact_body_escaped<'a>(
    body: &'a [u8],
    text: Option<&str>,
    key: &str,
    escaped: bool,
) -> std::borrow::Cow<'a, [u8]> {
    if key.is_empty() {
        return std::borrow::Cow::Borrowed(body);
    }
    let present = match text {
        Some(text) => text.contains(key),
        None => contains(body, key.as_bytes()),
    };
    if !escaped {
        return if present {
            std::borrow::Cow::Owned(replace_bytes(body, key.as_bytes(), b"<redacted>"))
        } else {
            std::borrow::Cow::Borrowed(body)
        };
    }
    // The key as it stands (a key holding `\\` or `"` is a spelling no
    // decoder reads back), and as decoded, both ways: `\\\\u0073` is an
    // escaped backslash to a JSON decoder, and the key to one that decodes
    // twice.
    let mut spans = decoded_matches(body, key.as_bytes(), true);
    spans.extend(decoded_matches(body, key.as_bytes(), false));
    if present {
        spans.extend(raw_matches(body, key.as_bytes()));
    }
    spans.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
    for (start, end) in spans {
        match merged.last_mut() {
            Some(last) if start < last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    let spans = merged;
    if spans.is_empty() {
        return std::borrow::Cow::Borrowed(body);
    }
    let mut out = Vec::with_capacity(body.len());
    let mut at = 0;
    for (start, end) in spans {
        out.extend_from_slice(&body[at..start]);
        out.extend_from_slice(b"<redacted>");
        at = end;
    }
    out.extend_from_slice(&body[at..]);
    std::borrow::Cow::Owned(out)
}

/// The byte ranges of `body` that are `key`, as it stands.
fn raw_matches(body: &[u8], key: &[u8]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut i = 0;
    while i + key.len() <= body.len() {
        if body[i..].starts_with(key) {
            spans.push((i, i + key.len()));
            i += key.len();
        } else {
            i += 1;
        }
    }
    spans
}

/// The byte ranges of `body` that decode to `key`, reading each `\uXXXX`
/// (a surrogate pair too), `\X` and `%XX` escape as the byte(s) it stands
/// for; disjoint and in order. With `pairs`, `\\` is one escaped
/// backslash, as JSON reads it; without, any backslash may begin an escape.
fn decoded_matches(body: &[u8], key: &[u8], pairs: bool) -> Vec<(usize, usize)> {
    let hex = |b: &[u8]| -> Option<u32> {
        if b.iter().all(u8::is_ascii_hexdigit) {
            u32::from_str_radix(std::str::from_utf8(b).ok()?, 16).ok()
        } else {
            None
        }
    };
    // The last `key.len()` decoded bytes, each with the raw range it came
    // from: memory bounded by the key, whatever the body's size.
    let mut window: std::collections::VecDeque<(u8, usize, usize)> =
        std::collections::VecDeque::with_capacity(key.len());
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let mut utf8 = [0u8; 4];
    let mut i = 0;
    while i < body.len() {
        let one = |b: u8, len: usize| (Some(b), None, len);
        let (byte, ch, len): (Option<u8>, Option<char>, usize) = match body[i] {
            b'\\' if body.get(i + 1) == Some(&b'u') => match body.get(i + 2..i + 6).and_then(hex) {
                Some(high @ 0xD800..=0xDBFF) => {
                    let low = (body.get(i + 6..i + 8) == Some(b"\\u".as_slice()))
                        .then(|| body.get(i + 8..i + 12).and_then(hex))
                        .flatten()
                        .filter(|l| (0xDC00..=0xDFFF).contains(l));
                    match low.and_then(|l| {
                        char::from_u32(0x10000 + ((high - 0xD800) << 10) + (l - 0xDC00))
                    }) {
                        Some(c) => (None, Some(c), 12),
                        None => one(b'\\', 1),
                    }
                }
                Some(code) => match char::from_u32(code) {
                    Some(c) => (None, Some(c), 6),
                    None => one(b'\\', 1),
                },
                None => one(b'\\', 1),
            },
            b'\\' => match body.get(i + 1) {
                Some(&c @ (b'"' | b'/')) => one(c, 2),
                Some(b'\\') if pairs => one(b'\\', 2),
                _ => one(b'\\', 1),
            },
            b'%' => match body.get(i + 1..i + 3).and_then(hex) {
                Some(byte) => one(u8::try_from(byte).unwrap_or(b'%'), 3),
                None => one(b'%', 1),
            },
            b => one(b, 1),
        };
        let bytes: &[u8] = match (byte, ch) {
            (Some(b), _) => {
                utf8[0] = b;
                &utf8[..1]
            }
            (None, Some(c)) => c.encode_utf8(&mut utf8).as_bytes(),
            (None, None) => &[],
        };
        for &b in bytes {
            if window.len() == key.len() {
                window.pop_front();
            }
            window.push_back((b, i, i + len));
            // Compared only when the last byte fits: one scan, not one per byte.
            if key.last() == Some(&b)
                && window.len() == key.len()
                && window.iter().map(|(b, ..)| *b).eq(key.iter().copied())
            {
                let (start, end) = (window[0].1, window[key.len() - 1].2);
                match spans.last_mut() {
                    Some(last) if start < last.1 => last.1 = last.1.max(end),
                    _ => spans.push((start, end)),
                }
                window.clear();
            }
        }
        i += len;
    }
    spans
}

/// `text` with `key` replaced by `<redacted>`. A text with an escape (`\\`, `%`) is read through it, as
/// [`redact_body`] reads a body.
pub(crate) fn redact(text: &mut String, key: &str) {
    if key.is_empty() {
        return;
    }
    if has_escape(text) {
        if let std::borrow::Cow::Owned(bytes) = redact_body(text.as_bytes(), Some(text), key) {
            *text = String::from_utf8_lossy(&bytes).into_owned();
        }
    } else if text.contains(key) {
        *text = text.replace(key, "<redacted>");
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    let Some((&first, rest)) = needle.split_first() else {
        return false;
    };
    let last = hay.len().saturating_sub(needle.len());
    let mut i = 0;
    while i <= last && i < hay.len() {
        match hay[i..=last].iter().position(|&b| b == first) {
            None => return false,
            Some(at) => {
                let start = i + at;
                if hay[start + 1..].starts_with(rest) {
                    return true;
                }
                i = start + 1;
            }
        }
    }
    false
}

fn replace_bytes(hay: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

/// The longest [`Error::brief`], in bytes.
pub(crate) const BRIEF_MAX: usize = 160;

/// Shortens an explanation to at most `max` bytes, on a character boundary.
pub(crate) fn bounded(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_bounded_printable_and_single_line() {
        let body = "line one\nline two\r\n\u{7}".repeat(100);
        let e = excerpt(body.as_bytes());
        assert!(e.len() <= EXCERPT_LIMIT + '…'.len_utf8());
        assert!(!e.chars().any(char::is_control));
        assert!(e.ends_with('…'));
        assert_eq!(excerpt(b"short\n"), "short");
        // Invalid UTF-8 is replaced, not refused.
        assert_eq!(excerpt(&[0xff, b'a']), "\u{fffd}a");
        // A multi-byte character cut at the limit does not panic.
        let wide = "ह".repeat(400);
        assert!(excerpt(wide.as_bytes()).len() <= EXCERPT_LIMIT + '…'.len_utf8());
    }

    /// Found by the `parse_error` fuzz target: 512 invalid bytes became 512
    /// replacement characters of three bytes each.
    #[test]
    fn excerpts_of_invalid_utf8_stay_within_the_limit() {
        let e = excerpt(&[0xff; 600]);
        assert!(
            e.len() <= EXCERPT_LIMIT + '…'.len_utf8(),
            "{} bytes",
            e.len()
        );
        assert!(e.ends_with('…'));
    }

    #[test]
    fn a_key_is_redacted_in_every_form_a_body_can_hold_it() {
        let key = "sk_a/b\\\"c";
        let raw = format!("x {key} y");
        assert_eq!(
            redact_bytes(raw.as_bytes(), key).as_ref(),
            b"x <redacted> y".as_slice()
        );
        let json = serde_json::to_string(&serde_json::json!({ "m": key })).unwrap();
        assert!(!String::from_utf8_lossy(&redact_bytes(json.as_bytes(), key)).contains("sk_a"));
        let slashed = json.replace('/', "\\/");
        assert!(!String::from_utf8_lossy(&redact_bytes(slashed.as_bytes(), key)).contains("sk_a"));
        assert!(matches!(
            redact_bytes(b"nothing here", "sk"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn a_key_spelled_in_json_or_url_escapes_is_redacted_in_a_raw_body() {
        let key = "sk_live_x";
        for body in [
            r#"{"a":"\u0073k_live_x"}"#,
            r#"{"a":"\u0073\u006b_live_x!"}"#,
            "https://s/%73k_live_x.zip?%3D",
            "https://s/%73%6B%5flive%5Fx",
            r#"{"a":"sk_live_x","b":"\u0073k_live_x"}"#,
        ] {
            let out = redact_bytes(body.as_bytes(), key);
            let out = String::from_utf8_lossy(&out);
            assert!(!out.contains("k_live_x"), "{body} -> {out}");
            assert!(out.contains("<redacted>"), "{body} -> {out}");
        }
        // What is not the key is left alone, escapes and all.
        let body = r#"{"a":"\u0073k_other","u":"%3D"}"#;
        assert!(matches!(
            redact_bytes(body.as_bytes(), key),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn printable_removes_terminal_escapes() {
        assert_eq!(printable("a\u{1b}[2Jb\r\n"), "a [2Jb  ");
    }

    #[test]
    fn bounded_cuts_on_a_char_boundary() {
        assert_eq!(bounded("हिन्दी".to_owned(), 4), "ह…");
        assert_eq!(bounded("abc".to_owned(), 4), "abc");
    }
}
