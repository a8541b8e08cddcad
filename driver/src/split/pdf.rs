//! A PDF cut by its page tree: the document loaded once, each chunk a new
//! document of copies of only the objects its pages reach.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet, VecDeque};
use std::ops::RangeInclusive;
use std::path::Path;

use lopdf::{Dictionary, Document, Object, ObjectId, Stream};

use super::SplitError;

/// The attributes a page inherits from its page-tree ancestors (ISO
/// 32000-1, 7.7.3.4), written onto each chunk's pages, whose new tree has
/// none of them.
const INHERITED: [&[u8]; 4] = [b"Resources", b"MediaBox", b"CropBox", b"Rotate"];

/// How deep a direct object may nest before the document is refused: far
/// deeper than any real PDF, far shallower than the stack.
const MAX_DEPTH: usize = 256;

/// A loaded PDF and its pages, ready to cut.
pub(super) struct Book {
    document: Document,
    /// The page objects, in page-tree order.
    pub(super) pages: Vec<ObjectId>,
    /// The same, as a set.
    all: HashSet<ObjectId>,
    /// The page-tree nodes and the catalog: a chunk never reaches them.
    tree: HashSet<ObjectId>,
}

impl Book {
    pub(super) fn load(input: &Path) -> Result<Book, SplitError> {
        let unreadable = |why: String| SplitError::Unreadable {
            file: input.to_owned(),
            why: format!("it is not a PDF that can be read ({why})"),
        };
        // A hostile file must not take the run down with it: nothing of the
        // parser's state crosses the boundary, only the document or the
        // error. `load` reads the file into a buffer of its size, parses it,
        // and lets the buffer go.
        let loaded = std::panic::catch_unwind(|| {
            Document::load(input).map(|document| {
                let pages: Vec<ObjectId> = document.page_iter().collect();
                (document, pages)
            })
        });
        let (document, pages) = match loaded {
            Ok(Ok(loaded)) => loaded,
            Ok(Err(lopdf::Error::IO(e))) => {
                return Err(SplitError::Read {
                    file: input.to_owned(),
                    why: e.to_string(),
                });
            }
            Ok(Err(e)) => return Err(unreadable(e.to_string())),
            Err(_) => return Err(unreadable("the parser gave up on it".into())),
        };
        if document.is_encrypted() {
            return Err(unreadable("it is encrypted with a password".into()));
        }
        if pages.is_empty() {
            return Err(unreadable("it has no page tree with pages".into()));
        }
        let mut tree = HashSet::new();
        if let Ok(root) = document.trailer.get(b"Root").and_then(Object::as_reference) {
            tree.insert(root);
        }
        for page in &pages {
            let mut node = parent(&document, *page);
            while let Some(id) = node {
                if !tree.insert(id) {
                    break;
                }
                node = parent(&document, id);
            }
        }
        Ok(Book {
            all: pages.iter().copied().collect(),
            document,
            pages,
            tree,
        })
    }

    /// The pages of `range` (checked to be within the document) as a
    /// standalone document: a new catalog (1) and page tree (2), then the
    /// objects the pages reach, numbered in the order a breadth-first walk
    /// from the pages meets them, so the same range always gives the same
    /// document.
    pub(super) fn chunk(&self, range: &RangeInclusive<u32>) -> Result<Document, String> {
        let start = *range.start() as usize - 1;
        let pages = &self.pages[start..*range.end() as usize];
        let wanted: HashSet<ObjectId> = pages.iter().copied().collect();
        let objects = &self.document.objects;
        let reachable = |id: &ObjectId| {
            objects.contains_key(id)
                && !self.tree.contains(id)
                && (wanted.contains(id) || !self.all.contains(id))
                && !matches!(objects.get(id), Some(Object::Dictionary(d))
                    if d.has_type(b"Pages") || (d.has_type(b"Page") && !wanted.contains(id)))
        };

        // Each page, as the chunk will hold it: what it inherits written on.
        let mut own: HashMap<ObjectId, Dictionary> = HashMap::new();
        for page in pages {
            own.entry(*page)
                .or_insert_with(|| self.page_with_inherited(*page));
        }

        // The walk: ids numbered from 3 in the order first met.
        let mut numbers: HashMap<ObjectId, ObjectId> = HashMap::new();
        let mut order: Vec<ObjectId> = Vec::new();
        let mut queue: VecDeque<ObjectId> = VecDeque::new();
        let mut meet = |id: ObjectId, queue: &mut VecDeque<ObjectId>| {
            if let Entry::Vacant(slot) = numbers.entry(id) {
                let number = u32::try_from(order.len() + 3).unwrap_or(u32::MAX);
                slot.insert((number, 0));
                order.push(id);
                queue.push_back(id);
            }
        };
        for page in pages {
            meet(*page, &mut queue);
        }
        while let Some(id) = queue.pop_front() {
            let mut found = Vec::new();
            match own.get(&id) {
                Some(page) => references_in_dict(page, 0, &mut found)?,
                None => match objects.get(&id) {
                    Some(Object::Stream(stream)) => {
                        references_in_stream_dict(&stream.dict, &mut found)?;
                    }
                    Some(object) => references(object, 0, &mut found)?,
                    None => {}
                },
            }
            for next in found {
                if reachable(&next) {
                    meet(next, &mut queue);
                }
            }
        }

        let mut chunk = Document::new();
        chunk.version.clone_from(&self.document.version);
        chunk.reference_table.cross_reference_type = lopdf::xref::XrefType::CrossReferenceTable;
        let tree_id = (2, 0);
        let mut catalog = Dictionary::new();
        catalog.set("Type", Object::Name(b"Catalog".to_vec()));
        catalog.set("Pages", Object::Reference(tree_id));
        chunk.objects.insert((1, 0), Object::Dictionary(catalog));
        let mut tree = Dictionary::new();
        tree.set("Type", Object::Name(b"Pages".to_vec()));
        let kids = pages
            .iter()
            .filter_map(|page| numbers.get(page).copied().map(Object::Reference))
            .collect();
        tree.set("Kids", Object::Array(kids));
        tree.set("Count", Object::Integer(pages.len() as i64));
        chunk.objects.insert(tree_id, Object::Dictionary(tree));
        for id in &order {
            let Some(number) = numbers.get(id).copied() else {
                continue;
            };
            let object = match own.get(id) {
                Some(page) => {
                    let mut page = renumber_dict(page, &numbers, 0)?;
                    page.set("Parent", Object::Reference(tree_id));
                    Object::Dictionary(page)
                }
                None => match objects.get(id) {
                    Some(Object::Stream(stream)) => {
                        let mut dict = renumber_dict(&stream.dict, &numbers, 0)?;
                        // The length of what is copied, whatever the source said.
                        dict.set("Length", Object::Integer(stream.content.len() as i64));
                        Object::Stream(Stream {
                            dict,
                            content: stream.content.clone(),
                            allows_compression: stream.allows_compression,
                            start_position: None,
                        })
                    }
                    Some(object) => renumber(object, &numbers, 0)?,
                    None => Object::Null,
                },
            };
            chunk.objects.insert(number, object);
        }
        chunk.max_id = u32::try_from(order.len() + 2).unwrap_or(u32::MAX);
        chunk.trailer.set("Root", Object::Reference((1, 0)));
        Ok(chunk)
    }

    /// A page's dictionary with what it inherits from its ancestors written
    /// on, and no `Parent` (the chunk's tree replaces it). A page whose
    /// object is missing or not a dictionary (readers show it blank) becomes
    /// a blank page of the size the root of the tree gives, else Letter.
    fn page_with_inherited(&self, page: ObjectId) -> Dictionary {
        let document = &self.document;
        let mut own = match document.objects.get(&page) {
            Some(Object::Dictionary(dict)) => dict.clone(),
            _ => {
                let mut blank = Dictionary::new();
                blank.set("Type", Object::Name(b"Page".to_vec()));
                blank
            }
        };
        let mut seen = HashSet::new();
        let mut node = parent(document, page);
        while let Some(id) = node {
            if !seen.insert(id) {
                break;
            }
            let Ok(ancestor) = document.get_dictionary(id) else {
                break;
            };
            for key in INHERITED {
                if !own.has(key)
                    && let Ok(value) = ancestor.get(key)
                {
                    own.set(key.to_vec(), value.clone());
                }
            }
            node = parent(document, id);
        }
        if !own.has(b"MediaBox") {
            let letter = [0, 0, 612, 792].map(Object::Integer).to_vec();
            own.set("MediaBox", Object::Array(letter));
        }
        own.remove(b"Parent");
        own
    }
}

/// The `Parent` a page or page-tree node names, if any.
fn parent(document: &Document, id: ObjectId) -> Option<ObjectId> {
    document
        .get_dictionary(id)
        .ok()?
        .get(b"Parent")
        .and_then(Object::as_reference)
        .ok()
}

fn too_deep() -> String {
    format!("an object nests more than {MAX_DEPTH} levels deep")
}

/// The references `object` holds, in the order they are written.
fn references(object: &Object, depth: usize, found: &mut Vec<ObjectId>) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(too_deep());
    }
    match object {
        Object::Reference(id) => found.push(*id),
        Object::Array(items) => {
            for item in items {
                references(item, depth + 1, found)?;
            }
        }
        Object::Dictionary(dict) => references_in_dict(dict, depth, found)?,
        Object::Stream(stream) => references_in_stream_dict(&stream.dict, found)?,
        _ => {}
    }
    Ok(())
}

fn references_in_dict(
    dict: &Dictionary,
    depth: usize,
    found: &mut Vec<ObjectId>,
) -> Result<(), String> {
    for (_, value) in dict.iter() {
        references(value, depth + 1, found)?;
    }
    Ok(())
}

/// A stream's dictionary's references, but its `Length`: the chunk writes
/// the length itself.
fn references_in_stream_dict(dict: &Dictionary, found: &mut Vec<ObjectId>) -> Result<(), String> {
    for (key, value) in dict.iter() {
        if key != b"Length" {
            references(value, 1, found)?;
        }
    }
    Ok(())
}

/// A copy of `object` with its references renumbered; a reference to an
/// object the chunk does not hold becomes `null`.
fn renumber(
    object: &Object,
    numbers: &HashMap<ObjectId, ObjectId>,
    depth: usize,
) -> Result<Object, String> {
    if depth > MAX_DEPTH {
        return Err(too_deep());
    }
    Ok(match object {
        Object::Reference(id) => numbers
            .get(id)
            .copied()
            .map_or(Object::Null, Object::Reference),
        Object::Array(items) => Object::Array(
            items
                .iter()
                .map(|item| renumber(item, numbers, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Object::Dictionary(dict) => Object::Dictionary(renumber_dict(dict, numbers, depth)?),
        // A stream is always an indirect object: copied as such, not here.
        Object::Stream(_) => Object::Null,
        other => other.clone(),
    })
}

fn renumber_dict(
    dict: &Dictionary,
    numbers: &HashMap<ObjectId, ObjectId>,
    depth: usize,
) -> Result<Dictionary, String> {
    let mut copy = Dictionary::new();
    for (key, value) in dict.iter() {
        copy.set(key.clone(), renumber(value, numbers, depth + 1)?);
    }
    Ok(copy)
}
