//! A PDF book for the cutter's tests and benchmark: `pages` pages, each
//! showing "Page N of M" in the shared font and its own incompressible
//! grey image of about `image_len` bytes; page 1 links to the last page.

use lopdf::{Dictionary, Document, Object, Stream, dictionary};

/// The book, as `lopdf` writes it (a cross-reference stream, PDF 1.5).
pub(crate) fn book(pages: u32, image_len: usize) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let tree_id = doc.new_object_id();
    let font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
    });
    let side = (image_len as f64).sqrt().ceil().max(1.0) as i64;
    let mut rng = fastrand::Rng::with_seed(22);
    let mut kids = Vec::new();
    for n in 1..=pages {
        let mut pixels = vec![0u8; (side * side) as usize];
        rng.fill(&mut pixels);
        let image = doc.add_object(Stream::new(
            dictionary! {
                "Type" => "XObject", "Subtype" => "Image", "Width" => side, "Height" => side,
                "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8,
            },
            pixels,
        ));
        let text = format!(
            "q 612 0 0 792 0 0 cm /Im1 Do Q BT /F1 14 Tf 72 720 Td (Page {n} of {pages}) Tj ET"
        );
        let contents = doc.add_object(Stream::new(Dictionary::new(), text.into_bytes()));
        let page = doc.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => tree_id,
            "MediaBox" => vec![0.into(), 0.into(), 612.into(), 792.into()],
            "Resources" => dictionary! {
                "Font" => dictionary! { "F1" => font },
                "XObject" => dictionary! { "Im1" => image },
            },
            "Contents" => contents,
        });
        kids.push(page);
    }
    // Page 1 links to the last page: a chunk of page 1 must not pull it in.
    if let (Some(first), Some(last)) = (kids.first().copied(), kids.last().copied()) {
        let link = doc.add_object(dictionary! {
            "Type" => "Annot", "Subtype" => "Link",
            "Rect" => vec![72.into(), 700.into(), 200.into(), 720.into()],
            "Dest" => vec![Object::Reference(last), "Fit".into()],
        });
        if let Ok(page) = doc.get_dictionary_mut(first) {
            page.set("Annots", vec![Object::Reference(link)]);
        }
    }
    doc.objects.insert(
        tree_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => kids.iter().map(|id| Object::Reference(*id)).collect::<Vec<_>>(),
            "Count" => i64::from(pages),
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => tree_id });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out)
        .unwrap_or_else(|e| panic!("the book cannot be written: {e}"));
    out
}
