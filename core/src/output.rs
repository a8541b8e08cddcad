//! Names of output files, made safe before they touch a disk.

/// The longest output file name kept, in bytes.
const MAX_NAME: usize = 200;

/// Makes a server-given output file name safe to create inside an output
/// folder: only its last path component is kept (a name can never climb out
/// with `..` or start at `/`), control characters and characters that
/// Windows refuses become `_`, a leading dot (a hidden file) becomes `_`,
/// Windows device names get a `_` prefix, and the name is cut to 200 bytes.
/// `None` when nothing usable is left.
///
/// ```
/// use sarvam_doc_core::safe_output_name;
/// assert_eq!(safe_output_name("doc_output.zip").as_deref(), Some("doc_output.zip"));
/// assert_eq!(safe_output_name("../../etc/passwd").as_deref(), Some("passwd"));
/// assert_eq!(safe_output_name("C:\\Windows\\x.zip").as_deref(), Some("x.zip"));
/// assert_eq!(safe_output_name(".bashrc").as_deref(), Some("_bashrc"));
/// assert_eq!(safe_output_name(".."), None);
/// assert_eq!(safe_output_name("nul.zip").as_deref(), Some("_nul.zip"));
/// ```
#[must_use]
pub fn safe_output_name(name: &str) -> Option<String> {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut clean: String = last
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, ':' | '*' | '?' | '"' | '<' | '>' | '|') {
                '_'
            } else {
                c
            }
        })
        .collect();
    // Windows drops trailing dots and spaces, which can make two names one.
    let kept = clean.trim_end_matches(['.', ' ']).len();
    clean.truncate(kept);
    let clean = clean.trim_start_matches(' ');
    if clean.is_empty() || clean.chars().all(|c| c == '.') {
        return None;
    }
    let mut out = if let Some(rest) = clean.strip_prefix('.') {
        format!("_{rest}")
    } else {
        clean.to_owned()
    };
    let stem = out
        .split('.')
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase();
    let device = matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || (stem.len() == 4
            && (stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.as_bytes()[3].is_ascii_digit());
    if device {
        out.insert(0, '_');
    }
    if out.len() > MAX_NAME {
        let mut cut = MAX_NAME;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn no_name_escapes_the_output_folder(name in "\\PC{0,300}|[./\\\\a]{0,12}") {
            if let Some(safe) = safe_output_name(&name) {
                prop_assert!(!safe.is_empty() && safe.len() <= MAX_NAME);
                prop_assert!(!safe.contains(['/', '\\', '\0']));
                prop_assert!(safe != "." && safe != "..");
                prop_assert!(!safe.starts_with('.'));
                prop_assert!(!safe.chars().any(char::is_control));
                let joined = std::path::Path::new("out").join(&safe);
                prop_assert_eq!(joined.parent(), Some(std::path::Path::new("out")));
            }
        }
    }
}
