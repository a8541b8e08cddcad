//! Output file names from the server: none escapes the output folder.
#![no_main]

use std::path::{Component, Path};

use libfuzzer_sys::fuzz_target;

fuzz_target!(|name: &str| {
    let Some(safe) = sarvam_doc_core::output::safe_output_name(name) else {
        return;
    };
    assert!(!safe.is_empty() && safe.len() <= 200);
    let path = Path::new(&safe);
    let mut components = path.components();
    assert!(
        matches!(components.next(), Some(Component::Normal(_))),
        "{safe:?}"
    );
    assert!(
        components.next().is_none(),
        "{safe:?} has more than one component"
    );
    assert_eq!(Path::new("out").join(path).parent(), Some(Path::new("out")));
    assert!(!safe.starts_with('.'));
    assert!(!safe.chars().any(char::is_control));
});
