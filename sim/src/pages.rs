//! The pages of an uploaded document: how many there are, in which order,
//! and a fingerprint of each, so that every output page can say which input
//! page it came from.
//!
//! - A PDF's pages are its page tree's, in the tree's order, as `lopdf`
//!   reads them (pages inside compressed object streams count; the words
//!   `/Type /Page` inside a content stream do not). A PDF that does not
//!   parse, or has no pages, is unreadable.
//! - A ZIP's pages are its image entries in the byte order of their names
//!   (entries of the same name keep their order in the archive): the
//!   `/doc-ai/v1` sources document a ZIP's pages as "ordered by filename"
//!   (`sarvam-doc-ai-api.md` §8, input types); the legacy job API's sources
//!   document no order, and the same one is taken for it. It is the order
//!   the driver cuts a ZIP in. Directory entries are skipped; an entry more
//!   than one folder deep, or not a JPEG or PNG image, makes the ZIP
//!   unreadable, as does a ZIP with no image.
//!
//! A page's fingerprint (see [`crate::sample::fingerprint_of_page`]) is,
//! for a PDF, the text its content stream shows (the strings of its `Tj`,
//! `TJ`, `'` and `"` operators, in order, one space between two shows,
//! white space collapsed); for an image, its entry's name and the first 16
//! hex digits of its SHA-256. It is written in a safe alphabet — ASCII
//! letters, digits, space and `.,:;-_()/#+=?!'*[]@$^{}|~` kept, every other
//! byte as `%XX` — so it reads back out of Markdown, HTML and JSON alike,
//! and ends at the first character outside that alphabet.

use std::io::{Cursor, Read};

use sha2::{Digest, Sha256};

/// Why a document cannot be processed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Unreadable(pub(crate) String);

/// At most this much of a page's content is decoded to fingerprint it.
const CONTENT_LIMIT: usize = 16 * 1024 * 1024;

/// At most this much of an image is hashed to fingerprint it.
const IMAGE_LIMIT: u64 = 64 * 1024 * 1024;

/// A fingerprint's text longer than this is cut, and the hash of the whole
/// text added, so that a dense page does not make a long line.
const TEXT_LIMIT: usize = 96;

/// Reads an uploaded document, checking it as the API does (a ZIP by its
/// name's extension, anything else as a PDF): the fingerprint of each page,
/// in page order.
pub(crate) fn read(file_name: &str, bytes: &[u8]) -> Result<Vec<String>, Unreadable> {
    if file_name.to_ascii_lowercase().ends_with(".zip") {
        zip_pages(bytes)
    } else {
        pdf_pages(bytes)
    }
}

/// The fingerprints of a PDF's pages.
pub(crate) fn pdf_pages(bytes: &[u8]) -> Result<Vec<String>, Unreadable> {
    if !bytes.starts_with(b"%PDF-") {
        return Err(Unreadable(
            "the file is not a PDF (it does not start with %PDF-)".into(),
        ));
    }
    // A hostile file must not take a server thread down with it: nothing
    // of the parser's state crosses the boundary, only the pages or an error.
    let read = std::panic::catch_unwind(|| {
        let document = lopdf::Document::load_mem(bytes)
            .map_err(|e| Unreadable(format!("the PDF could not be parsed: {e}")))?;
        Ok(document
            .page_iter()
            .map(|page| pdf_fingerprint(&document, page))
            .collect::<Vec<_>>())
    });
    match read {
        Ok(Ok(pages)) if pages.is_empty() => Err(Unreadable(
            "the PDF could not be parsed: no pages found".into(),
        )),
        Ok(result) => result,
        Err(_) => Err(Unreadable(
            "the PDF could not be parsed: the parser gave up on it".into(),
        )),
    }
}

/// The text a page shows, or, for a page that shows none, the hash of its
/// content.
fn pdf_fingerprint(document: &lopdf::Document, page: lopdf::ObjectId) -> String {
    let content = match document.get_page_content_with_limit(page, CONTENT_LIMIT) {
        Ok(content) => content,
        Err(_) => return "content over the limit".to_owned(),
    };
    let mut shown: Vec<u8> = Vec::new();
    let mut show = |text: &[u8]| {
        if !shown.is_empty() {
            shown.push(b' ');
        }
        shown.extend_from_slice(text);
    };
    for operation in lopdf::content::Content::decode_iter(&content) {
        let Ok(operation) = operation else { break };
        let string = |at: usize| match operation.operands.get(at) {
            Some(lopdf::Object::String(s, _)) => Some(s.as_slice()),
            _ => None,
        };
        match operation.operator.as_str() {
            "Tj" | "'" => string(0).into_iter().for_each(&mut show),
            "\"" => string(2).into_iter().for_each(&mut show),
            "TJ" => {
                if let Some(lopdf::Object::Array(parts)) = operation.operands.first() {
                    let joined: Vec<u8> = parts
                        .iter()
                        .filter_map(|p| match p {
                            lopdf::Object::String(s, _) => Some(s.as_slice()),
                            _ => None,
                        })
                        .flatten()
                        .copied()
                        .collect();
                    show(&joined);
                }
            }
            _ => {}
        }
    }
    let text = encode(&shown);
    if text.is_empty() {
        return format!("no text, content sha256:{}", sha256_prefix(&content));
    }
    if text.len() > TEXT_LIMIT {
        // The encoding is ASCII: any byte is a character boundary.
        let cut = text[..TEXT_LIMIT - 32].trim_end();
        return format!("{cut} sha256:{}", sha256_prefix(&shown));
    }
    text
}

/// The fingerprints of a ZIP's image entries, in page order.
pub(crate) fn zip_pages(bytes: &[u8]) -> Result<Vec<String>, Unreadable> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| Unreadable(format!("the ZIP could not be read: {e}")))?;
    let mut images: Vec<(Vec<u8>, String)> = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| Unreadable(format!("the ZIP could not be read: {e}")))?;
        if entry.is_dir() {
            continue;
        }
        let raw_name = entry.name_raw().to_vec();
        let name = entry
            .name()
            .map_err(|e| Unreadable(format!("the ZIP has an unreadable entry name: {e}")))?
            .into_owned();
        if name.trim_end_matches('/').matches('/').count() > 1 {
            return Err(Unreadable(format!(
                "the ZIP is not flat: {name} is nested more than one folder deep"
            )));
        }
        let lower = name.to_ascii_lowercase();
        let named_image = [".png", ".jpg", ".jpeg"].iter().any(|e| lower.ends_with(e));
        let not_an_image = || {
            Unreadable(format!(
                "the ZIP holds {name}, which is not a JPEG or PNG image"
            ))
        };
        if !named_image {
            return Err(not_an_image());
        }
        let mut hasher = Sha256::new();
        let mut head = Vec::with_capacity(8);
        let mut buffer = vec![0u8; 64 * 1024];
        let mut limited = (&mut entry).take(IMAGE_LIMIT);
        loop {
            let n = match limited.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => return Err(Unreadable(format!("the ZIP could not be read: {e}"))),
            };
            if head.len() < 8 {
                head.extend_from_slice(&buffer[..n.min(8 - head.len())]);
            }
            hasher.update(&buffer[..n]);
        }
        let is_png = head.starts_with(b"\x89PNG\r\n\x1a\n");
        let is_jpeg = head.starts_with(&[0xFF, 0xD8, 0xFF]);
        if !(is_png || is_jpeg) {
            return Err(not_an_image());
        }
        let digest = hasher.finalize();
        let fingerprint = format!("{} sha256:{}", encode(&raw_name), hex(&digest[..8]));
        images.push((raw_name, fingerprint));
    }
    if images.is_empty() {
        return Err(Unreadable("the ZIP holds no images".into()));
    }
    // A stable sort: entries of the same name keep their archive order.
    images.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(images.into_iter().map(|(_, f)| f).collect())
}

/// The fingerprint of a single image sent as it is (`/doc-ai/v1` takes PNG
/// and JPEG files): its name and its hash, as an entry of a ZIP.
pub(crate) fn image_fingerprint(name: &str, bytes: &[u8]) -> String {
    format!(
        "{} sha256:{}",
        encode(name.as_bytes()),
        sha256_prefix(bytes)
    )
}

/// Whether a fingerprint keeps `byte` as it is.
pub(crate) fn is_safe(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b" .,:;-_()/#+=?!'*[]@$^{}|~".contains(&byte)
}

/// `bytes` in the fingerprint alphabet: white space collapsed to single
/// spaces and trimmed, safe bytes kept, every other byte as `%XX`.
pub(crate) fn encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut space = false;
    for &b in bytes {
        if b.is_ascii_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        if is_safe(b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The first 16 hex digits of the SHA-256 of `bytes`.
fn sha256_prefix(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes)[..8])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use lopdf::content::{Content, Operation};
    use lopdf::{Document, Object, SaveOptions, Stream, dictionary};

    use super::*;
    use crate::sample;

    fn count(file_name: &str, bytes: &[u8]) -> Result<usize, Unreadable> {
        read(file_name, bytes).map(|pages| pages.len())
    }

    /// A PDF of `pages` pages written by lopdf with its page objects inside
    /// compressed object streams and a cross-reference stream, each page
    /// showing "Packed page N" with `TJ`.
    fn packed_pdf(pages: u32) -> Vec<u8> {
        let mut doc = Document::with_version("1.5");
        let tree = doc.new_object_id();
        let font = doc.add_object(dictionary! {
            "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
        });
        let mut kids = Vec::new();
        for n in 1..=pages {
            let content = Content {
                operations: vec![
                    Operation::new("BT", vec![]),
                    Operation::new("Tf", vec!["F1".into(), 12.into()]),
                    Operation::new(
                        "TJ",
                        vec![Object::Array(vec![
                            Object::string_literal("Packed "),
                            (-120).into(),
                            Object::string_literal(format!("page {n}")),
                        ])],
                    ),
                    Operation::new("ET", vec![]),
                ],
            };
            // Enough of a stream that compressing it pays.
            let mut content = content;
            content
                .operations
                .extend((0..20).map(|_| Operation::new("q", vec![])));
            content
                .operations
                .extend((0..20).map(|_| Operation::new("Q", vec![])));
            let mut stream = Stream::new(dictionary! {}, content.encode().unwrap());
            stream.compress().unwrap();
            let contents = doc.add_object(stream);
            kids.push(Object::from(doc.add_object(dictionary! {
                "Type" => "Page",
                "Parent" => tree,
                "Contents" => contents,
                "Resources" => dictionary! { "Font" => dictionary! { "F1" => font } },
                "MediaBox" => vec![0.into(), 0.into(), 612.into(), 792.into()],
            })));
        }
        doc.objects.insert(
            tree,
            Object::Dictionary(dictionary! {
                "Type" => "Pages", "Kids" => kids, "Count" => pages,
            }),
        );
        let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => tree });
        doc.trailer.set("Root", catalog);
        let mut out = Vec::new();
        let options = SaveOptions::builder()
            .use_object_streams(true)
            .use_xref_streams(true)
            .compression_level(6)
            .build();
        doc.save_with_options(&mut out, options).unwrap();
        out
    }

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut z = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data) in entries {
            z.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            z.write_all(data).unwrap();
        }
        z.finish().unwrap().into_inner()
    }

    #[test]
    fn sample_pdfs_of_1_10_25_and_300_pages_count_as_many() {
        for pages in [1, 10, 25, 300] {
            let pdf = sample::pdf(pages, "Book");
            assert_eq!(count("book.pdf", &pdf), Ok(pages as usize), "{pages}");
        }
    }

    #[test]
    fn pages_inside_compressed_object_streams_are_counted_and_read() {
        let pdf = packed_pdf(12);
        // The page dictionaries are not in the file's bytes as text: only a
        // parser finds them.
        let raw = String::from_utf8_lossy(&pdf);
        assert!(raw.contains("/ObjStm"), "no object stream was written");
        assert!(
            !raw.contains("/Page"),
            "a page dictionary is in plain sight"
        );
        assert!(
            !raw.contains("Packed"),
            "a content stream is not compressed"
        );
        let pages = read("packed.pdf", &pdf).unwrap();
        assert_eq!(pages.len(), 12);
        assert_eq!(pages[0], "Packed page 1");
        assert_eq!(pages[11], "Packed page 12");
    }

    #[test]
    fn the_words_type_page_inside_a_content_stream_are_not_a_page() {
        let pdf = sample::pdf(2, "/Type /Page /Type/Page");
        let raw = String::from_utf8_lossy(&pdf);
        // The words are in each page's content stream, where a search of
        // the bytes would take them for pages.
        assert_eq!(raw.matches("(/Type /Page /Type/Page) Tj").count(), 2);
        assert_eq!(count("tricky.pdf", &pdf), Ok(2));
    }

    #[test]
    fn each_sample_page_has_its_own_fingerprint_the_text_it_shows() {
        let pdf = sample::pdf(25, "Gazette (1950)");
        let pages = read("g.pdf", &pdf).unwrap();
        assert_eq!(pages[16], "Gazette (1950) Page 17 of 25");
        let distinct: std::collections::HashSet<&String> = pages.iter().collect();
        assert_eq!(distinct.len(), 25);
    }

    #[test]
    fn a_long_text_is_cut_and_hashed_and_a_page_without_text_is_hashed() {
        let long = "word ".repeat(40);
        let pdf = sample::pdf(2, &long);
        let pages = read("long.pdf", &pdf).unwrap();
        assert!(pages[0].len() <= TEXT_LIMIT, "{}", pages[0]);
        assert!(pages[0].starts_with("word word"), "{}", pages[0]);
        assert!(pages[0].contains(" sha256:"), "{}", pages[0]);
        // The cut texts differ only after the cut: the hashes tell them apart.
        assert_ne!(pages[0], pages[1]);

        let blank = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n\
            2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n\
            3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >> endobj\n\
            trailer << /Root 1 0 R >>\n%%EOF";
        let pages = read("blank.pdf", blank).unwrap();
        assert_eq!(pages.len(), 1);
        assert!(
            pages[0].starts_with("no text, content sha256:"),
            "{}",
            pages[0]
        );
    }

    #[test]
    fn what_is_not_a_pdf_with_pages_is_refused() {
        assert!(count("a.pdf", b"hello").is_err());
        assert!(count("a.pdf", b"%PDF-1.4 nothing").is_err());
        assert!(count("a.pdf", b"%PDF-1.4 /Type /Page").is_err());
        let no_pages = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n\
            2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF";
        assert_eq!(
            count("a.pdf", no_pages),
            Err(Unreadable(
                "the PDF could not be parsed: no pages found".into()
            ))
        );
    }

    #[test]
    fn zips_must_hold_only_images_at_most_one_folder_deep() {
        let png: &[u8] = b"\x89PNG\r\n\x1a\nrest";
        let jpg: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 1, 2];
        assert_eq!(
            count("p.zip", &zip_of(&[("1.png", png), ("2.jpg", jpg)])),
            Ok(2)
        );
        assert_eq!(count("p.zip", &zip_of(&[("scans/1.png", png)])), Ok(1));
        assert!(count("p.zip", &zip_of(&[("a/b/1.png", png)])).is_err());
        assert!(count("p.zip", &zip_of(&[("notes.txt", b"hi")])).is_err());
        assert!(count("p.zip", &zip_of(&[("fake.png", b"not a png")])).is_err());
        assert!(count("p.zip", &zip_of(&[])).is_err());
        assert!(count("p.zip", b"PK not really").is_err());
    }

    #[test]
    fn a_zips_pages_are_in_the_order_of_their_names_not_of_the_archive() {
        let png = |shade| sample::png(2, 2, shade);
        let (a, b, c) = (png(1), png(2), png(3));
        let zip = zip_of(&[("p10.png", &c), ("p02.png", &b), ("p01.png", &a)]);
        let pages = read("scan.zip", &zip).unwrap();
        let names: Vec<&str> = pages.iter().map(|p| p.split(' ').next().unwrap()).collect();
        assert_eq!(names, ["p01.png", "p02.png", "p10.png"]);
        // The hash is of the image's bytes: two names, two images, two hashes.
        assert_eq!(pages[0], image_fingerprint("p01.png", &a));
        assert_ne!(pages[0].split(' ').nth(1), pages[1].split(' ').nth(1));
    }

    #[test]
    fn the_encoding_keeps_safe_text_collapses_space_and_escapes_the_rest() {
        assert_eq!(encode(b"  Page 1\n of\t3 "), "Page 1 of 3");
        assert_eq!(encode(b"a<b>&\"c%"), "a%3Cb%3E%26%22c%25");
        assert_eq!(encode("अ".as_bytes()), "%E0%A4%85");
        assert_eq!(encode(b""), "");
    }
}
