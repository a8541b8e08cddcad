//! The cutter of long documents: each chunk holds exactly its pages, in
//! order, with what they need and little else, the same bytes every time.
#![allow(clippy::unwrap_used)] // A test that unwraps fails loudly, which is what it is for.

mod support {
    pub(crate) mod book;
}

use std::io::Read;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

use lopdf::{Dictionary, Document, Object, ObjectId, Stream, dictionary};
use sarvam_doc_driver::split::{Chunk, SplitError, cut_pdf, cut_zip};
use sha2::{Digest, Sha256};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn named(range: &RangeInclusive<u32>) -> String {
    format!("chunk_{:03}-{:03}", range.start(), range.end())
}

fn by_limit(pages: u32, limit: u32) -> Vec<RangeInclusive<u32>> {
    (1..=pages)
        .step_by(limit as usize)
        .map(|start| start..=(start + limit - 1).min(pages))
        .collect()
}

fn text_of(doc: &Document, page: ObjectId) -> String {
    String::from_utf8_lossy(&doc.get_page_content(page)).into_owned()
}

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every chunk is on disk as it was reported, and nothing else is left in
/// `dir` (no temporary file).
fn assert_reported_as_written(dir: &Path, chunks: &[Chunk]) {
    for chunk in chunks {
        let bytes = std::fs::read(&chunk.path).unwrap();
        assert_eq!(bytes.len() as u64, chunk.len, "{:?}", chunk.path);
        assert_eq!(hex(&bytes), chunk.sha256, "{:?}", chunk.path);
        assert_eq!(chunk.path.parent(), Some(dir));
    }
    let mut left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    left.sort();
    let mut expected: Vec<_> = chunks.iter().map(|c| c.path.clone()).collect();
    expected.sort();
    left.retain(|p| p.extension().is_none_or(|e| e != "src"));
    assert_eq!(left, expected);
}

#[test]
fn a_25_page_pdf_cut_at_10_and_at_7_gives_chunks_of_exactly_their_pages_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let input = write(
        tmp.path(),
        "book.src",
        &sarvam_doc_sim::sample::pdf(25, "Book"),
    );
    for limit in [10, 7] {
        let out = tmp.path().join(format!("at{limit}"));
        std::fs::create_dir(&out).unwrap();
        let ranges = by_limit(25, limit);
        let chunks = cut_pdf(&input, &ranges, &out, named).unwrap();
        assert_eq!(
            chunks.iter().map(|c| c.range.clone()).collect::<Vec<_>>(),
            ranges
        );
        for chunk in &chunks {
            let doc = Document::load(&chunk.path).unwrap();
            let pages = doc.get_pages();
            assert_eq!(pages.len(), chunk.range.clone().count(), "{chunk:?}");
            for (k, page) in &pages {
                let original = chunk.range.start() + k - 1;
                let text = text_of(&doc, *page);
                assert!(
                    text.contains(&format!("(Page {original} of 25)")),
                    "page {k} of {chunk:?} holds {text:?}"
                );
            }
        }
        assert_reported_as_written(&out, &chunks);
    }
}

#[test]
fn a_font_shared_by_every_page_is_kept_in_every_chunk() {
    let tmp = tempfile::tempdir().unwrap();
    // The sample's pages all use one font object.
    let input = write(
        tmp.path(),
        "book.src",
        &sarvam_doc_sim::sample::pdf(12, "F"),
    );
    let chunks = cut_pdf(&input, &[1..=4, 5..=8, 9..=12], tmp.path(), named).unwrap();
    for chunk in &chunks {
        let doc = Document::load(&chunk.path).unwrap();
        for page in doc.get_pages().values() {
            let fonts = doc.get_page_fonts(*page).unwrap();
            let font = fonts.get(b"F1".as_slice()).unwrap();
            assert_eq!(
                font.get(b"BaseFont").unwrap().as_name().unwrap(),
                b"Helvetica"
            );
        }
    }
}

/// A PDF of 6 pages in a two-level tree whose nodes carry what the pages
/// inherit: the root gives Resources, MediaBox and Rotate; its first kid
/// adds a CropBox; its second overrides the MediaBox; page 5 sets its own
/// Rotate.
fn inheriting_pdf() -> Vec<u8> {
    let mut doc = Document::with_version("1.4");
    let root = doc.new_object_id();
    let left = doc.new_object_id();
    let right = doc.new_object_id();
    let font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Courier",
    });
    let resources = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font } });
    let mut kids = [Vec::new(), Vec::new()];
    for n in 1..=6u32 {
        let parent = if n <= 3 { left } else { right };
        let text = format!("BT /F1 12 Tf 72 300 Td (Page {n} of 6) Tj ET");
        let contents = doc.add_object(Stream::new(Dictionary::new(), text.into_bytes()));
        let mut page = dictionary! { "Type" => "Page", "Parent" => parent, "Contents" => contents };
        if n == 5 {
            page.set("Rotate", 0);
        }
        kids[usize::from(n > 3)].push(Object::Reference(doc.add_object(page)));
    }
    let box_of = |w: i64, h: i64| Object::Array(vec![0.into(), 0.into(), w.into(), h.into()]);
    doc.objects.insert(
        root,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => vec![left.into(), right.into()], "Count" => 6,
            "Resources" => resources, "MediaBox" => box_of(300, 400), "Rotate" => 90,
        }),
    );
    doc.objects.insert(
        left,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Parent" => root, "Kids" => kids[0].clone(), "Count" => 3,
            "CropBox" => vec![10.into(), 10.into(), 290.into(), 390.into()],
        }),
    );
    doc.objects.insert(
        right,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Parent" => root, "Kids" => kids[1].clone(), "Count" => 3,
            "MediaBox" => box_of(500, 500),
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => root });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

#[test]
fn pages_keep_the_resources_media_box_crop_box_and_rotation_they_inherit_from_the_page_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let input = write(tmp.path(), "tree.src", &inheriting_pdf());
    let chunks = cut_pdf(&input, &[2..=5], tmp.path(), named).unwrap();
    let doc = Document::load(&chunks[0].path).unwrap();
    let pages = doc.get_pages();
    assert_eq!(pages.len(), 4);
    let ints = |o: &Object| -> Vec<i64> {
        o.as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect()
    };
    for (k, id) in &pages {
        let original = k + 1;
        let page = doc.get_dictionary(*id).unwrap();
        assert!(text_of(&doc, *id).contains(&format!("(Page {original} of 6)")));
        let media = ints(page.get(b"MediaBox").unwrap());
        let expected_media = if original <= 3 {
            [0, 0, 300, 400]
        } else {
            [0, 0, 500, 500]
        };
        assert_eq!(media, expected_media, "page {original}");
        let rotate = page.get(b"Rotate").unwrap().as_i64().unwrap();
        assert_eq!(
            rotate,
            if original == 5 { 0 } else { 90 },
            "page {original}"
        );
        match page.get(b"CropBox") {
            Ok(crop) => {
                assert!(original <= 3, "page {original} has a crop box");
                assert_eq!(ints(crop), [10, 10, 290, 390]);
            }
            Err(_) => assert!(original > 3, "page {original} lost its crop box"),
        }
        let fonts = doc.get_page_fonts(*id).unwrap();
        assert_eq!(
            fonts[b"F1".as_slice()]
                .get(b"BaseFont")
                .unwrap()
                .as_name()
                .unwrap(),
            b"Courier"
        );
    }
    // One page-tree node: the chunk's own, not the source's.
    let nodes = doc
        .objects
        .values()
        .filter(|o| o.as_dict().is_ok_and(|d| d.has_type(b"Pages")))
        .count();
    assert_eq!(nodes, 1);
}

#[test]
fn cutting_the_same_pages_twice_gives_the_same_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let pdf = write(tmp.path(), "book.src", &support::book::book(30, 2_000));
    let zip = write(
        tmp.path(),
        "pages.src",
        &sarvam_doc_sim::sample::image_zip(23),
    );
    let ranges = by_limit(30, 10);
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    std::fs::create_dir(&a).unwrap();
    std::fs::create_dir(&b).unwrap();
    let first = cut_pdf(&pdf, &ranges, &a, named).unwrap();
    // Another folder, other names, one range alone: the same bytes.
    let again = cut_pdf(&pdf, &ranges[1..2], &b, |_| "other.pdf".into()).unwrap();
    assert_eq!(again[0].sha256, first[1].sha256);
    assert_eq!(
        std::fs::read(&again[0].path).unwrap(),
        std::fs::read(&first[1].path).unwrap()
    );
    let second = cut_pdf(&pdf, &ranges, &b, named).unwrap();
    for (x, y) in first.iter().zip(&second) {
        assert_eq!(x.sha256, y.sha256);
        assert_eq!(
            std::fs::read(&x.path).unwrap(),
            std::fs::read(&y.path).unwrap()
        );
    }
    let zips = |dir: &Path| cut_zip(&zip, &by_limit(23, 10), dir, named).unwrap();
    let (x, y) = (zips(&a), zips(&b));
    assert_eq!(
        x.iter().map(|c| &c.sha256).collect::<Vec<_>>(),
        y.iter().map(|c| &c.sha256).collect::<Vec<_>>()
    );
}

#[test]
fn a_chunk_of_10_pages_of_a_300_page_book_holds_only_its_own_pages_objects() {
    let tmp = tempfile::tempdir().unwrap();
    let bytes = support::book::book(300, 3_000);
    let input = write(tmp.path(), "book.src", &bytes);
    let chunks = cut_pdf(&input, &by_limit(300, 10), tmp.path(), named).unwrap();
    assert_eq!(chunks.len(), 30);
    let whole = bytes.len() as u64;
    for chunk in &chunks {
        // A thirtieth is 3.3 %; what a chunk adds of its own is small.
        assert!(
            chunk.len * 25 < whole,
            "{chunk:?} is {} of {whole} bytes",
            chunk.len
        );
        assert!(chunk.len * 40 > whole, "{chunk:?} lost pages' objects");
    }
    // Page 1 links to page 300: the link stays, its target does not.
    let doc = Document::load(&chunks[0].path).unwrap();
    let first = doc.get_pages()[&1];
    let annots = doc
        .get_dictionary(first)
        .unwrap()
        .get(b"Annots")
        .unwrap()
        .as_array()
        .unwrap();
    let link = doc
        .get_dictionary(annots[0].as_reference().unwrap())
        .unwrap();
    let dest = link.get(b"Dest").unwrap().as_array().unwrap();
    assert_eq!(dest[0], Object::Null);
    assert_eq!(doc.get_page_images(first).unwrap().len(), 1);
}

/// The raw (stored, still compressed) bytes and the times of each entry.
fn raw_entries(path: &Path) -> Vec<(String, Vec<u8>, u32, Option<zip::DateTime>)> {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut entry = archive.by_index_raw(i).unwrap();
            let mut raw = Vec::new();
            entry.read_to_end(&mut raw).unwrap();
            (
                String::from_utf8_lossy(entry.name_raw()).into_owned(),
                raw,
                entry.crc32(),
                entry.last_modified(),
            )
        })
        .collect()
}

#[test]
fn a_zip_of_23_images_cut_at_10_gives_10_10_and_3_entries_copied_as_stored_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let input = write(
        tmp.path(),
        "pages.src",
        &sarvam_doc_sim::sample::image_zip(23),
    );
    let source = raw_entries(&input);
    let chunks = cut_zip(&input, &by_limit(23, 10), tmp.path(), named).unwrap();
    let held: Vec<_> = chunks.iter().map(|c| raw_entries(&c.path)).collect();
    assert_eq!(held.iter().map(Vec::len).collect::<Vec<_>>(), [10, 10, 3]);
    let all: Vec<_> = held.into_iter().flatten().collect();
    assert_eq!(all, source);
    assert_reported_as_written(tmp.path(), &chunks);
}

#[test]
fn a_zips_pages_are_numbered_by_the_names_of_its_images_not_their_place_in_the_archive() {
    use std::io::Write;
    let tmp = tempfile::tempdir().unwrap();
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, shade) in [
        ("p03.png", 3),
        ("scans/", 0),
        ("p01.png", 1),
        ("p02.png", 2),
    ] {
        if name.ends_with('/') {
            z.add_directory(name, zip::write::SimpleFileOptions::default())
                .unwrap();
        } else {
            z.start_file(name, zip::write::SimpleFileOptions::default())
                .unwrap();
            z.write_all(&sarvam_doc_sim::sample::png(4, 4, shade))
                .unwrap();
        }
    }
    let input = write(tmp.path(), "pages.src", &z.finish().unwrap().into_inner());
    let chunks = cut_zip(&input, &[1..=2, 3..=3], tmp.path(), named).unwrap();
    let names =
        |c: &Chunk| -> Vec<String> { raw_entries(&c.path).into_iter().map(|e| e.0).collect() };
    assert_eq!(names(&chunks[0]), ["p01.png", "p02.png"]);
    assert_eq!(names(&chunks[1]), ["p03.png"]);
}

#[test]
fn bad_ranges_and_names_are_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let input = write(
        tmp.path(),
        "book.src",
        &sarvam_doc_sim::sample::pdf(25, "B"),
    );
    let zip = write(
        tmp.path(),
        "pages.src",
        &sarvam_doc_sim::sample::image_zip(23),
    );
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let refused =
        |ranges: &[RangeInclusive<u32>]| cut_pdf(&input, ranges, &out, named).unwrap_err();
    assert!(matches!(refused(&[]), SplitError::NoRanges { .. }));
    // A range whose first page is past its last is empty: refused too.
    #[allow(clippy::reversed_empty_ranges)]
    let empty = 5..=4;
    for bad in [0..=3, empty, 20..=26, 26..=26] {
        assert_eq!(
            refused(std::slice::from_ref(&bad)),
            SplitError::OutOfRange {
                file: input.clone(),
                range: bad,
                pages: 25
            }
        );
    }
    assert_eq!(
        refused(&[11..=20, 1..=10, 10..=12]),
        SplitError::Overlap {
            file: input.clone(),
            first: 1..=10,
            second: 10..=12
        }
    );
    assert!(matches!(
        cut_zip(&zip, &[20..=24], &out, named).unwrap_err(),
        SplitError::OutOfRange { pages: 23, .. }
    ));
    for name in ["../escape.pdf", "a/b.pdf", "", ".", "..", "/abs.pdf"] {
        let err = cut_pdf(&input, &[1..=2], &out, |_| name.to_owned()).unwrap_err();
        assert_eq!(
            err,
            SplitError::BadName {
                file: input.clone(),
                name: name.to_owned()
            }
        );
    }
    let same = cut_pdf(&input, &[1..=2, 3..=4], &out, |_| "same.pdf".into()).unwrap_err();
    assert!(matches!(same, SplitError::BadName { .. }));
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0);
    assert!(!tmp.path().join("escape.pdf").exists());
}

#[test]
fn unreadable_inputs_are_refused_naming_the_file_and_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let junk = write(tmp.path(), "junk.pdf", b"%PDF-1.4\nnot really a pdf");
    let err = cut_pdf(&junk, &[1..=1], tmp.path(), named).unwrap_err();
    assert!(matches!(err, SplitError::Unreadable { .. }), "{err:?}");
    let said = err.to_string();
    assert!(
        said.contains("junk.pdf") && said.contains("not a PDF"),
        "{said}"
    );
    let missing = tmp.path().join("missing.pdf");
    let err = cut_pdf(&missing, &[1..=1], tmp.path(), named).unwrap_err();
    assert!(matches!(err, SplitError::Read { .. }), "{err:?}");
    assert!(err.to_string().contains("missing.pdf"));
    let text = write(tmp.path(), "notes.zip", &{
        use std::io::Write;
        let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        z.start_file("notes.txt", zip::write::SimpleFileOptions::default())
            .unwrap();
        z.write_all(b"hello").unwrap();
        z.finish().unwrap().into_inner()
    });
    let err = cut_zip(&text, &[1..=1], tmp.path(), named).unwrap_err();
    assert!(err.to_string().contains("not a JPEG or PNG"), "{err}");
}

#[test]
fn a_chunk_cut_again_replaces_an_earlier_file_of_its_name() {
    let tmp = tempfile::tempdir().unwrap();
    let input = write(tmp.path(), "book.src", &sarvam_doc_sim::sample::pdf(5, "B"));
    let stale = write(
        tmp.path(),
        "chunk_001-005",
        b"half a chunk from a killed run",
    );
    let chunks = cut_pdf(&input, &[1..=5], tmp.path(), named).unwrap();
    assert_eq!(chunks[0].path, stale);
    assert!(std::fs::read(&stale).unwrap().starts_with(b"%PDF-"));
    assert_reported_as_written(tmp.path(), &chunks);
}

#[test]
fn a_chunk_is_never_written_over_the_input_it_is_cut_from() {
    let tmp = tempfile::tempdir().unwrap();
    let bytes = sarvam_doc_sim::sample::pdf(4, "B");
    let input = write(tmp.path(), "book.pdf", &bytes);
    // The same file, reached through another spelling of its folder.
    let dir = tmp.path().join(".");
    let err = cut_pdf(&input, &[1..=2], &dir, |_| "book.pdf".into()).unwrap_err();
    assert_eq!(
        err,
        SplitError::BadName {
            file: input.clone(),
            name: "book.pdf".into()
        }
    );
    let zip = write(
        tmp.path(),
        "pages.zip",
        &sarvam_doc_sim::sample::image_zip(3),
    );
    let err = cut_zip(&zip, &[1..=2], tmp.path(), |_| "pages.zip".into()).unwrap_err();
    assert!(matches!(err, SplitError::BadName { .. }), "{err:?}");
    assert_eq!(std::fs::read(&input).unwrap(), bytes);
}

#[test]
fn cycles_and_missing_objects_in_a_hostile_pdf_are_cut_without_hanging() {
    let mut doc = Document::with_version("1.4");
    let root = doc.new_object_id();
    let page = doc.new_object_id();
    let missing: ObjectId = (9_999, 0);
    let text = b"BT /F1 12 Tf (Page 1 of 1) Tj ET".to_vec();
    let contents = doc.add_object(Stream::new(Dictionary::new(), text));
    doc.objects.insert(
        page,
        Object::Dictionary(dictionary! {
            "Type" => "Page", "Parent" => root, "Contents" => contents,
            // The page reaches itself, its tree and an object that is not there.
            "Self" => page, "Tree" => root, "Gone" => missing,
        }),
    );
    // A root that is its own parent.
    doc.objects.insert(
        root,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Parent" => root, "Kids" => vec![page.into()], "Count" => 1,
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => root });
    doc.trailer.set("Root", catalog);
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let input = write(tmp.path(), "hostile.src", &bytes);
    let chunks = cut_pdf(&input, &[1..=1], tmp.path(), named).unwrap();
    let cut = Document::load(&chunks[0].path).unwrap();
    let pages = cut.get_pages();
    assert_eq!(pages.len(), 1);
    let id = pages[&1];
    let page = cut.get_dictionary(id).unwrap();
    assert_eq!(page.get(b"Self").unwrap().as_reference().unwrap(), id);
    assert_eq!(page.get(b"Tree").unwrap(), &Object::Null);
    assert_eq!(page.get(b"Gone").unwrap(), &Object::Null);
    assert!(text_of(&cut, id).contains("(Page 1 of 1)"));
}
