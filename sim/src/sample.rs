//! Sample documents: real PDFs and ZIPs of PNG pages, for tests and demos.

use std::io::{Cursor, Write};

/// A valid PDF of `pages` pages, each showing `title` and its page number.
///
/// ```
/// let pdf = sarvam_doc_sim::sample::pdf(3, "Demo");
/// assert!(pdf.starts_with(b"%PDF-1.4"));
/// assert!(pdf.ends_with(b"%%EOF\n"));
/// ```
#[must_use]
pub fn pdf(pages: u32, title: &str) -> Vec<u8> {
    let titles = vec![title; usize::try_from(pages).unwrap_or(0)];
    pdf_of_pages(&titles)
}

/// A valid PDF with one page a title of `titles`, each page showing its
/// title and its page number: a page's fingerprint (see [`fingerprints`]) is
/// `"{title} Page {n} of {pages}"`. A title holding `sim:fail-page` makes
/// the simulator fail that page; `sim:fail-job`, the whole job it is in.
///
/// ```
/// use sarvam_doc_sim::sample;
/// let pdf = sample::pdf_of_pages(&["Cover", "Body sim:fail-page"]);
/// assert_eq!(sample::fingerprints(&pdf)?, ["Cover Page 1 of 2", "Body sim:fail-page Page 2 of 2"]);
/// # Ok::<(), String>(())
/// ```
#[must_use]
pub fn pdf_of_pages(titles: &[&str]) -> Vec<u8> {
    let pages = u32::try_from(titles.len()).unwrap_or(u32::MAX);
    // Keep the text printable ASCII, escaped for a PDF string.
    let escape = |title: &str| -> String {
        title
            .chars()
            .filter(|c| c.is_ascii_graphic() || *c == ' ')
            .flat_map(|c| match c {
                '(' | ')' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect()
    };
    let mut objects: Vec<String> = Vec::new();
    // 1: catalog, 2: page tree, 3: font, then a page and its content per page.
    let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", 4 + 2 * i)).collect();
    objects.push("<< /Type /Catalog /Pages 2 0 R >>".to_owned());
    objects.push(format!(
        "<< /Type /Pages /Kids [{}] /Count {pages} >>",
        kids.join(" ")
    ));
    objects.push("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned());
    for (i, title) in (0..pages).zip(titles) {
        let content = format!(
            "BT /F1 24 Tf 72 720 Td ({}) Tj 0 -40 Td /F1 14 Tf (Page {} of {pages}) Tj ET",
            escape(title),
            i + 1
        );
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
            5 + 2 * i
        ));
        objects.push(format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        ));
    }
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// A valid PNG: `width` × `height` pixels of 8-bit grey at `shade`.
#[must_use]
pub fn png(width: u32, height: u32, shade: u8) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&u32::try_from(data.len()).unwrap_or(0).to_be_bytes());
        let mut crc = crc32fast::Hasher::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc.finalize().to_be_bytes());
    }
    let mut raw = Vec::new();
    for _ in 0..height {
        raw.push(0); // filter: none
        raw.extend(std::iter::repeat_n(shade, width as usize));
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = z.write_all(&raw);
    let idat = z.finish().unwrap_or_default();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]); // 8-bit greyscale
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &idat);
    chunk(&mut out, b"IEND", &[]);
    out
}

/// A ZIP of `pages` PNG page images (`page_001.png`, …), flat.
#[must_use]
pub fn image_zip(pages: u32) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 1..=pages {
        let _ = zip.start_file(
            format!("page_{i:03}.png"),
            zip::write::SimpleFileOptions::default(),
        );
        let _ = zip.write_all(&png(64, 80, (i * 40 % 256) as u8));
    }
    zip.finish().map(Cursor::into_inner).unwrap_or_default()
}

/// The fingerprint of each page of `document`, in page order: what the
/// simulator writes into the output of that page, so a test can prove that
/// an output page came from a given input page (page 17 of a stitched
/// output is page 17 of the input).
///
/// `document` is a PDF or a ZIP of page images, told apart by their first
/// bytes. A PDF's pages are those of its page tree, in its order; a page's
/// fingerprint is the text it shows (the strings of its `Tj`, `TJ`, `'` and
/// `"` operators, one space between two, white space collapsed), cut to 64
/// characters plus the SHA-256 prefix of the whole text when it is longer
/// than 96, or `no text, content sha256:…` for a page that shows none. A
/// ZIP's pages are its image entries in the byte order of their names (the
/// order `/doc-ai/v1` documents, "ordered by filename", taken for both
/// APIs); an image's fingerprint is its entry name and the first 16 hex
/// digits of its SHA-256. Fingerprints use a safe alphabet (ASCII letters,
/// digits, space and `.,:;-_()/#+=?!'*[]@$^{}|~`; any other byte as `%XX`).
///
/// ```
/// use sarvam_doc_sim::sample;
///
/// let pdf = sample::pdf(3, "Demo");
/// assert_eq!(
///     sample::fingerprints(&pdf)?,
///     ["Demo Page 1 of 3", "Demo Page 2 of 3", "Demo Page 3 of 3"]
/// );
/// # Ok::<(), String>(())
/// ```
///
/// # Errors
/// The document is neither, or the simulator would refuse it as unreadable
/// (the reason).
pub fn fingerprints(document: &[u8]) -> Result<Vec<String>, String> {
    let read = if document.starts_with(b"%PDF-") {
        crate::pages::pdf_pages(document)
    } else if document.starts_with(b"PK") {
        crate::pages::zip_pages(document)
    } else {
        return Err("the document is neither a PDF nor a ZIP".to_owned());
    };
    read.map_err(|e| e.0)
}

/// The fingerprint of page `page` (from 1) of `document` (see
/// [`fingerprints`]); `None` if there is no such page or the document is
/// unreadable.
///
/// ```
/// let zip = sarvam_doc_sim::sample::image_zip(2);
/// let second = sarvam_doc_sim::sample::fingerprint_of_page(&zip, 2).unwrap();
/// assert!(second.starts_with("page_002.png sha256:"));
/// ```
#[must_use]
pub fn fingerprint_of_page(document: &[u8], page: u32) -> Option<String> {
    let at = usize::try_from(page.checked_sub(1)?).ok()?;
    fingerprints(document).ok()?.into_iter().nth(at)
}

/// The fingerprint an output file of the simulator carries: its first (see
/// [`read_fingerprints`]).
///
/// ```
/// use sarvam_doc_sim::sample::read_fingerprint;
///
/// assert_eq!(read_fingerprint("# Page 2\n\ntext\n\nsource: Demo Page 2 of 3\n").as_deref(), Some("Demo Page 2 of 3"));
/// assert_eq!(read_fingerprint("<p class=\"source\">source: Demo Page 2 of 3</p>").as_deref(), Some("Demo Page 2 of 3"));
/// assert_eq!(read_fingerprint(r#"{"page_number":2,"source":"Demo Page 2 of 3"}"#).as_deref(), Some("Demo Page 2 of 3"));
/// assert_eq!(read_fingerprint("no fingerprint here"), None);
/// ```
#[must_use]
pub fn read_fingerprint(output: &str) -> Option<String> {
    read_fingerprints(output).into_iter().next()
}

/// Every fingerprint an output file of the simulator carries, in the order
/// it holds them: one for a page file (`page_017.md`, `metadata/page_017.json`),
/// one per page for a whole document (`document.md`). A file that is JSON
/// carries them as `source` fields (found at any depth, arrays in order);
/// any other as `source: ` followed by the fingerprint, which ends at the
/// first character outside the fingerprint alphabet (a line's end, `<`).
#[must_use]
pub fn read_fingerprints(output: &str) -> Vec<String> {
    fn walk(value: &serde_json::Value, found: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(source) = map.get("source").and_then(serde_json::Value::as_str) {
                    found.push(source.to_owned());
                }
                map.iter()
                    .filter(|(k, _)| k.as_str() != "source")
                    .for_each(|(_, v)| walk(v, found));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(output) {
        walk(&value, &mut found);
        return found;
    }
    const MARK: &str = "source: ";
    let mut rest = output;
    while let Some(at) = rest.find(MARK) {
        let after = &rest[at + MARK.len()..];
        let end = after
            .bytes()
            .position(|b| !crate::pages::is_safe(b))
            .unwrap_or(after.len());
        found.push(after[..end].trim_end().to_owned());
        rest = &after[end..];
    }
    found
}

/// Checks that the output folder `folder` holds `input` page for page, as
/// the simulator made it: each page file (`page_NNN.md`, `.html`, `.json`,
/// and `metadata/page_NNN.json`) carries the fingerprint of page NNN of
/// `input`; no page file is there for a page in `missing`; and the merged
/// document (`document.md`, `.html` or `.json`) carries every other page's
/// fingerprint, in order, once. What a test of stitching asserts.
///
/// # Errors
/// What is wrong, in words: the first page out of place, or a file that
/// cannot be read.
pub fn check_outputs(
    input: &[u8],
    folder: &std::path::Path,
    missing: &[u32],
) -> Result<(), String> {
    let expected = fingerprints(input)?;
    let read = |path: &std::path::Path| {
        std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
    };
    let mut seen = 0;
    for sub in ["", "metadata"] {
        let dir = folder.join(sub);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let name = entry
                .map_err(|e| e.to_string())?
                .file_name()
                .to_string_lossy()
                .into_owned();
            let Some(n) = name
                .strip_prefix("page_")
                .and_then(|rest| rest.split_once('.'))
                .and_then(|(digits, _)| digits.parse::<u32>().ok())
            else {
                continue;
            };
            let got = read_fingerprint(&read(&dir.join(&name))?);
            let want = usize::try_from(n)
                .ok()
                .and_then(|n| expected.get(n.checked_sub(1)?));
            if missing.contains(&n) && sub.is_empty() {
                return Err(format!("{name} is there, but page {n} is missing"));
            }
            if got.as_ref() != want {
                return Err(format!(
                    "{sub}/{name} carries {got:?}, not page {n}'s {want:?}"
                ));
            }
            seen += 1;
        }
    }
    if seen == 0 {
        return Err(format!("{} holds no page files", folder.display()));
    }
    // Every page but the missing ones has its file, at the top (or, with
    // none there, among the metadata).
    let wanted_pages: Vec<u32> = (1..=u32::try_from(expected.len()).unwrap_or(u32::MAX))
        .filter(|n| !missing.contains(n))
        .collect();
    let numbers = |sub: &str| -> Vec<u32> {
        let mut found: Vec<u32> = std::fs::read_dir(folder.join(sub))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let (digits, _) = name.strip_prefix("page_")?.split_once('.')?;
                digits.parse().ok()
            })
            .collect();
        found.sort_unstable();
        found
    };
    let top = numbers("");
    let pages = if top.is_empty() {
        numbers("metadata")
    } else {
        top
    };
    if !wanted_pages.iter().all(|n| pages.binary_search(n).is_ok()) {
        return Err(format!(
            "{} has page files {pages:?}, not every one of {wanted_pages:?}",
            folder.display()
        ));
    }
    let document = ["md", "html", "json"]
        .iter()
        .map(|ext| folder.join(format!("document.{ext}")))
        .find(|p| p.exists())
        .ok_or_else(|| format!("{} holds no merged document", folder.display()))?;
    let got = read_fingerprints(&read(&document)?);
    let want: Vec<String> = expected
        .into_iter()
        .enumerate()
        .filter(|(i, _)| {
            !missing.contains(&(u32::try_from(*i).unwrap_or(u32::MAX).saturating_add(1)))
        })
        .map(|(_, f)| f)
        .collect();
    if got != want {
        return Err(format!(
            "{} holds the pages {got:?}, not {want:?}",
            document.display()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_pdf_has_a_consistent_xref_table() {
        let doc = pdf(3, "A (test) \\ title");
        let text = String::from_utf8(doc.clone()).unwrap();
        assert_eq!(crate::pages::read("x.pdf", &doc).map(|p| p.len()), Ok(3));
        // Every xref offset points at the start of its object.
        let xref_at: usize = text
            .rsplit("startxref\n")
            .next()
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let table = &text[xref_at..];
        for (i, line) in table.lines().skip(3).take(9).enumerate() {
            let off: usize = line[..10].parse().unwrap();
            assert!(
                text[off..].starts_with(&format!("{} 0 obj", i + 1)),
                "object {}",
                i + 1
            );
        }
        assert!(text.contains("(A \\(test\\) \\\\ title) Tj"));
    }

    #[test]
    fn sample_zips_hold_valid_pngs() {
        let z = image_zip(4);
        assert_eq!(crate::pages::read("x.zip", &z).map(|p| p.len()), Ok(4));
        let p = png(2, 2, 7);
        assert!(p.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert!(p.ends_with(&[0xAE, 0x42, 0x60, 0x82])); // the CRC of an empty IEND
    }
}
