//! The extraction schema, checked against the documented rules before
//! anything is sent (and so before anything is paid for).

use serde_json::{Map, Value};

use crate::InputError;

/// The deepest nesting the API takes: a field inside at most four levels of
/// objects and arrays.
pub const MAX_SCHEMA_DEPTH: usize = 4;

/// The largest schema taken, in bytes of its JSON text.
pub const MAX_SCHEMA_BYTES: usize = 256 * 1024;

/// The types a field may have.
const TYPES: [&str; 6] = ["string", "number", "integer", "boolean", "object", "array"];

/// An extraction schema the API will take: checked, and kept as the JSON
/// text given (the API takes it as a string field, not as an object).
///
/// The rules (from the SDKs' documentation): the root is `"type": "object"`
/// with non-empty `properties`; every field has a `type` and a non-empty
/// `description`; the types are `string`, `number`, `integer`, `boolean`,
/// `object` (which needs non-empty `properties`) and `array` (which needs
/// `items`, itself typed); `enum` is optional; fields nest at most four
/// deep.
///
/// ```
/// use sarvam_doc_core::doc_ai::Schema;
/// let schema = Schema::parse(r#"{"type":"object","properties":{
///     "invoice_no":{"type":"string","description":"Invoice number as printed"},
///     "total":{"type":"number","description":"Grand total in INR"}}}"#)?;
/// assert!(schema.as_str().starts_with(r#"{"type":"object""#));
///
/// let missing = Schema::parse(r#"{"type":"object","properties":{"total":{"type":"number"}}}"#);
/// assert_eq!(
///     missing.unwrap_err().to_string(),
///     "the extraction schema is not one the API takes, at properties.total: a field needs a non-empty \"description\""
/// );
/// # Ok::<(), sarvam_doc_core::error::InputError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schema(String);

impl Schema {
    /// Parses and checks a schema's JSON text.
    ///
    /// # Errors
    /// [`InputError::Schema`] naming where the first broken rule is and what
    /// it asks.
    pub fn parse(text: &str) -> Result<Self, InputError> {
        if text.len() > MAX_SCHEMA_BYTES {
            return Err(wrong(
                "(root)",
                format!(
                    "it is {} bytes, over the {MAX_SCHEMA_BYTES}-byte limit",
                    text.len()
                ),
            ));
        }
        let value: Value = serde_json::from_str(text)
            .map_err(|e| wrong("(root)", format!("it is not JSON ({e})")))?;
        Schema::from_value(&value)?;
        // Sent as written: the order of its fields is the user's.
        Ok(Schema(text.trim().to_owned()))
    }

    /// Checks a schema already parsed.
    ///
    /// # Errors
    /// As [`Schema::parse`].
    pub fn from_value(value: &Value) -> Result<Self, InputError> {
        let Some(root) = value.as_object() else {
            return Err(wrong("(root)", "the schema must be a JSON object".into()));
        };
        if root.get("type").and_then(Value::as_str) != Some("object") {
            return Err(wrong(
                "(root)",
                "the root needs \"type\": \"object\"".into(),
            ));
        }
        check_properties(root, "", 1)?;
        Ok(Schema(value.to_string()))
    }

    /// The schema as the JSON text that is sent.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn wrong(location: &str, reason: String) -> InputError {
    InputError::Schema {
        location: crate::error::bounded(crate::error::printable(location), 200),
        reason,
    }
}

/// Checks the non-empty `properties` of an object at `path`, whose fields
/// sit at `depth`.
fn check_properties(
    object: &Map<String, Value>,
    path: &str,
    depth: usize,
) -> Result<(), InputError> {
    let here = if path.is_empty() { "(root)" } else { path };
    let Some(properties) = object.get("properties").and_then(Value::as_object) else {
        return Err(wrong(
            here,
            "an object needs \"properties\", an object of fields".into(),
        ));
    };
    if properties.is_empty() {
        return Err(wrong(
            here,
            "an object needs at least one field in \"properties\"".into(),
        ));
    }
    let prefix = if path.is_empty() {
        "properties".to_owned()
    } else {
        format!("{path}.properties")
    };
    for (name, field) in properties {
        check_field(field, &format!("{prefix}.{name}"), depth, true)?;
    }
    Ok(())
}

/// Checks one field (or an array's `items`, which needs no description).
fn check_field(field: &Value, path: &str, depth: usize, named: bool) -> Result<(), InputError> {
    if depth > MAX_SCHEMA_DEPTH {
        return Err(wrong(
            path,
            format!("fields nest at most {MAX_SCHEMA_DEPTH} deep"),
        ));
    }
    let Some(field) = field.as_object() else {
        return Err(wrong(path, "a field must be a JSON object".into()));
    };
    let Some(kind) = field.get("type").and_then(Value::as_str) else {
        return Err(wrong(path, "a field needs a \"type\"".into()));
    };
    if !TYPES.contains(&kind) {
        return Err(wrong(
            path,
            format!(
                "{kind:?} is not a type the API takes: use one of {}",
                TYPES.join(", ")
            ),
        ));
    }
    if named
        && field
            .get("description")
            .and_then(Value::as_str)
            .is_none_or(|d| d.trim().is_empty())
    {
        return Err(wrong(
            path,
            "a field needs a non-empty \"description\"".into(),
        ));
    }
    if let Some(values) = field.get("enum")
        && !values.is_array()
    {
        return Err(wrong(path, "\"enum\" must be a list of values".into()));
    }
    match kind {
        "object" => check_properties(field, path, depth + 1),
        "array" => match field.get("items") {
            Some(items) => check_field(items, &format!("{path}.items"), depth + 1, false),
            None => Err(wrong(path, "an array needs \"items\"".into())),
        },
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn location(text: &str) -> String {
        match Schema::parse(text) {
            Err(InputError::Schema { location, .. }) => location,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_documented_example_is_taken() {
        let example = r#"{"type":"object","properties":{"invoice_no":{"type":"string","description":"Invoice number as printed"},"total":{"type":"number","description":"Grand total in INR"},"items":{"type":"array","description":"Line items","items":{"type":"object","description":"One line","properties":{"name":{"type":"string","description":"Item name"}}}}}}"#;
        assert_eq!(Schema::parse(example).unwrap().as_str(), example);
    }

    #[test]
    fn each_rule_is_named_where_it_is_broken() {
        assert_eq!(location("[]"), "(root)");
        assert_eq!(location("{not json"), "(root)");
        assert_eq!(location(r#"{"type":"array"}"#), "(root)");
        assert_eq!(location(r#"{"type":"object","properties":{}}"#), "(root)");
        assert_eq!(
            location(r#"{"type":"object","properties":{"a":{"description":"x"}}}"#),
            "properties.a"
        );
        assert_eq!(
            location(r#"{"type":"object","properties":{"a":{"type":"date","description":"x"}}}"#),
            "properties.a"
        );
        assert_eq!(
            location(r#"{"type":"object","properties":{"a":{"type":"array","description":"x"}}}"#),
            "properties.a"
        );
        assert_eq!(
            location(
                r#"{"type":"object","properties":{"a":{"type":"object","description":"x","properties":{"b":{"type":"string","description":" "}}}}}"#
            ),
            "properties.a.properties.b"
        );
        assert_eq!(
            location(
                r#"{"type":"object","properties":{"a":{"type":"string","description":"x","enum":"A"}}}"#
            ),
            "properties.a"
        );
    }

    #[test]
    fn four_levels_are_taken_and_five_are_not() {
        let nest = |levels: usize| {
            let mut field = r#"{"type":"string","description":"leaf"}"#.to_owned();
            for _ in 1..levels {
                field = format!(
                    r#"{{"type":"object","description":"level","properties":{{"f":{field}}}}}"#
                );
            }
            format!(r#"{{"type":"object","properties":{{"f":{field}}}}}"#)
        };
        assert!(Schema::parse(&nest(4)).is_ok());
        assert!(Schema::parse(&nest(5)).is_err());
    }
}
