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

/// Whether `text` holds a control character.
pub(crate) fn has_control(text: &str) -> bool {
    text.chars().any(char::is_control)
}

/// The forms `key` can take in a body: as is, and as a JSON string holds it.
fn key_forms(key: &str) -> impl Iterator<Item = String> {
    let json = serde_json::to_string(key).unwrap_or_default();
    let escaped = json
        .get(1..json.len().saturating_sub(1))
        .unwrap_or_default()
        .to_owned();
    let slashes = escaped.replace('/', "\\/");
    [key.to_owned(), escaped, slashes].into_iter()
}

/// [`redact_body`], for tests.
#[cfg(test)]
pub(crate) fn redact_bytes<'a>(body: &'a [u8], key: &str) -> std::borrow::Cow<'a, [u8]> {
    redact_body(body, std::str::from_utf8(body).ok(), key)
}

/// `body` with every occurrence of `key` replaced by `<redacted>`: done
/// before anything is cut from a body, so no part of a key survives a cut.
/// Borrows (and costs one scan) when the key is not there. `text` is the
/// body when it is valid UTF-8: then the scan is the standard library's
/// vectorised substring search, not a walk from one candidate byte to the
/// next.
pub(crate) fn redact_body<'a>(
    body: &'a [u8],
    text: Option<&str>,
    key: &str,
) -> std::borrow::Cow<'a, [u8]> {
    // A key holding `"`, `\` or `/` can also stand escaped in a JSON string.
    let escapable = key.contains(['"', '\\', '/']);
    let present = match text {
        Some(text) => text.contains(key) || (escapable && text.contains('\\')),
        None => contains(body, key.as_bytes()) || (escapable && contains(body, b"\\")),
    };
    if key.is_empty() || !present {
        return std::borrow::Cow::Borrowed(body);
    }
    let mut out = body.to_vec();
    for form in key_forms(key) {
        if form.is_empty() {
            continue;
        }
        out = replace_bytes(&out, form.as_bytes(), b"<redacted>");
    }
    std::borrow::Cow::Owned(out)
}

/// `text` with `key` replaced by `<redacted>`.
pub(crate) fn redact(text: &mut String, key: &str) {
    if !key.is_empty() && text.contains(key) {
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
    fn printable_removes_terminal_escapes() {
        assert_eq!(printable("a\u{1b}[2Jb\r\n"), "a [2Jb  ");
    }

    #[test]
    fn bounded_cuts_on_a_char_boundary() {
        assert_eq!(bounded("हिन्दी".to_owned(), 4), "ह…");
        assert_eq!(bounded("abc".to_owned(), 4), "abc");
    }
}
