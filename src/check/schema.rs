//! JSON value → typed [`Topology`], judged by the JSON Schema on the way.
//!
//! The schema is generated from the model types, so this is the one place
//! where field names, types, enums and formats are enforced. Every schema
//! error is collected (not just the first) and turned into a diagnostic at
//! the offending value: for a missing field the object that lacks it, for an
//! unknown field the key itself.

use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{ValidationError, Validator};
use serde_json::Value;

use crate::diag::{Code, Diagnostic, pointer_token};
use crate::model::{self, Topology};

fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(model::schema)
}

fn validator() -> Result<&'static Validator, String> {
    static VALIDATOR: OnceLock<Result<Validator, String>> = OnceLock::new();
    VALIDATOR
        .get_or_init(|| {
            jsonschema::draft202012::options()
                .should_validate_formats(true)
                .build(schema())
                .map_err(|error| error.to_string())
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Validates the tree and, when it conforms, returns the typed topology.
pub fn to_topology(value: &Value) -> Result<Topology, Vec<Diagnostic>> {
    let validator = validator().map_err(|error| {
        // The schema is generated from our own types; failing to compile it is a bug.
        vec![Diagnostic::error(
            Code::BadFormat,
            "",
            format!("internal error: schema: {error}"),
        )]
    })?;
    let mut diagnostics: Vec<Diagnostic> = validator
        .iter_errors(value)
        .flat_map(|error| to_diagnostics(&error))
        .collect();
    if !diagnostics.is_empty() {
        diagnostics.dedup();
        return Err(diagnostics);
    }
    serde_json::from_value(value.clone()).map_err(|error| {
        vec![Diagnostic::error(
            Code::BadFormat,
            "",
            format!("the topology conforms to the schema but cannot be read: {error}"),
        )]
    })
}

fn to_diagnostics(error: &ValidationError<'_>) -> Vec<Diagnostic> {
    let pointer = error.instance_path().as_str().to_owned();
    let schema_path = error.schema_path().as_str().to_owned();
    let found = describe(error.instance());
    let field = field_name(&pointer);
    match error.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let known = known_properties(&schema_path);
            unexpected
                .iter()
                .map(|name| {
                    let mut diagnostic = Diagnostic::error(
                        Code::UnknownField,
                        format!("{pointer}/{}", pointer_token(name)),
                        format!("unknown field `{name}`"),
                    )
                    .at_key();
                    diagnostic.help = Some(match closest(name, &known) {
                        Some(guess) => format!("did you mean `{guess}`?"),
                        None if known.is_empty() => "remove this field".to_owned(),
                        None => format!("known fields here: {}", known.join(", ")),
                    });
                    diagnostic
                })
                .collect()
        }
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            let description =
                description_at(&format!("{}/properties/{name}", parent(&schema_path)));
            let mut diagnostic = Diagnostic::error(
                Code::MissingField,
                format!("{pointer}/{}", pointer_token(name)),
                format!("missing field `{name}`{}", within(&pointer)),
            );
            diagnostic.help = Some(match description {
                Some(text) => format!("add `{name}`: {}", lower_first(&text)),
                None => format!("add `{name}`"),
            });
            vec![diagnostic]
        }
        ValidationErrorKind::Type { kind } => {
            let expected = match kind {
                TypeKind::Single(kind) => kind.to_string(),
                TypeKind::Multiple(kinds) => kinds
                    .iter()
                    .map(|kind| kind.to_string())
                    .collect::<Vec<_>>()
                    .join(" or "),
            };
            let mut diagnostic = Diagnostic::error(
                Code::WrongType,
                pointer.clone(),
                format!("`{field}` must be {}, found {found}", article(&expected)),
            );
            if expected == "boolean" && error.instance().is_string() {
                diagnostic.help = Some(
                    "booleans are `true` or `false` (YAML 1.2); `yes`, `no`, `on` and `off` are text"
                        .to_owned(),
                );
            }
            vec![diagnostic]
        }
        ValidationErrorKind::Enum { options } => {
            let allowed: Vec<String> = options
                .as_array()
                .map(|values| {
                    let mut seen: Vec<String> = Vec::new();
                    for value in values {
                        let text = match value {
                            Value::String(text) => format!("`{text}`"),
                            other => format!("`{other}`"),
                        };
                        if !seen.contains(&text) {
                            seen.push(text);
                        }
                    }
                    seen
                })
                .unwrap_or_default();
            let mut diagnostic = Diagnostic::error(
                Code::BadValue,
                pointer.clone(),
                format!("`{field}` cannot be {found}"),
            );
            diagnostic.help = Some(format!("use one of {}", allowed.join(", ")));
            vec![diagnostic]
        }
        ValidationErrorKind::Pattern { .. } | ValidationErrorKind::Format { .. } => {
            let description = description_at(&parent(&schema_path));
            let mut diagnostic = Diagnostic::error(
                Code::BadFormat,
                pointer.clone(),
                format!("{found} is not a valid `{field}`"),
            );
            diagnostic.help = description.map(|text| format!("expected {}", lower_first(&text)));
            if diagnostic.help.is_none()
                && let ValidationErrorKind::Format { format } = error.kind()
            {
                diagnostic.help = Some(match format.as_str() {
                    "ipv4" => "write an IPv4 address such as 192.168.10.21".to_owned(),
                    other => format!("expected the {other} format"),
                });
            }
            vec![diagnostic]
        }
        _ => {
            vec![Diagnostic::error(
                Code::BadValue,
                pointer.clone(),
                format!("`{field}`: {}", error.masked()),
            )]
        }
    }
}

/// The last segment of a pointer, as users name the field.
fn field_name(pointer: &str) -> String {
    let segments: Vec<&str> = pointer.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        [] => "topology".to_owned(),
        [.., parent, last] if last.bytes().all(|b| b.is_ascii_digit()) => {
            format!("{parent}[{last}]")
        }
        [.., last] => last.replace("~1", "/").replace("~0", "~"),
    }
}

fn within(pointer: &str) -> String {
    if pointer.is_empty() {
        " at the top level".to_owned()
    } else {
        format!(" in {pointer}")
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "an empty value".to_owned(),
        Value::Bool(value) => format!("the boolean `{value}`"),
        Value::Number(value) => format!("the number `{value}`"),
        Value::String(value) => format!("the text `{value}`"),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "a mapping".to_owned(),
    }
}

fn article(kind: &str) -> String {
    let noun = match kind {
        "object" => "a mapping",
        "array" => "a list",
        "string" => "text",
        "boolean" => "a boolean",
        "integer" => "an integer",
        "number" => "a number",
        other => return format!("of type {other}"),
    };
    noun.to_owned()
}

fn lower_first(text: &str) -> String {
    let text = text.trim().trim_end_matches('.');
    let mut chars = text.chars();
    match chars.next() {
        Some(first) if chars.clone().next().is_some_and(|c| c.is_lowercase()) => {
            first.to_lowercase().chain(chars).collect()
        }
        _ => text.to_owned(),
    }
}

fn parent(path: &str) -> String {
    path.rsplit_once('/')
        .map(|(head, _)| head.to_owned())
        .unwrap_or_default()
}

/// Follows a schema path through the generated schema, resolving `$ref`s.
fn schema_at(path: &str) -> Option<&'static Value> {
    let root = schema();
    let mut current = root;
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        current = resolve(root, current);
        current = match current {
            Value::Object(map) => map.get(&segment)?,
            Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(resolve(root, current))
}

fn resolve<'a>(root: &'a Value, value: &'a Value) -> &'a Value {
    let mut current = value;
    // `$ref` chains in a generated schema are short; the bound guards a cycle.
    for _ in 0..8 {
        match current
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
        {
            Some(target) => match root.pointer(target) {
                Some(next) => current = next,
                None => break,
            },
            None => break,
        }
    }
    current
}

fn description_at(path: &str) -> Option<String> {
    let node = schema_at(path)?;
    node.get("description").and_then(Value::as_str).map(|text| {
        // Only the first sentence: the rest explains, the help line should not.
        text.split(". ").next().unwrap_or(text).replace('\n', " ")
    })
}

fn known_properties(schema_path: &str) -> Vec<String> {
    schema_at(&parent(schema_path))
        .and_then(|node| node.get("properties"))
        .and_then(Value::as_object)
        .map(|properties| properties.keys().cloned().collect())
        .unwrap_or_default()
}

/// The known name nearest to a typo, if it is near enough to be a typo.
pub(crate) fn closest<'a>(name: &str, known: &'a [String]) -> Option<&'a str> {
    let name = name.to_ascii_lowercase();
    known
        .iter()
        .map(|candidate| {
            (
                edit_distance(&name, &candidate.to_ascii_lowercase()),
                candidate,
            )
        })
        .filter(|(distance, candidate)| *distance <= 2.max(candidate.len() / 4))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate.as_str())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_their_field() {
        let known = vec!["subnet".to_owned(), "name".to_owned(), "clients".to_owned()];
        assert_eq!(closest("subnt", &known), Some("subnet"));
        assert_eq!(closest("client", &known), Some("clients"));
        assert_eq!(closest("zzzzzz", &known), None);
    }

    #[test]
    fn field_names_read_like_the_file() {
        assert_eq!(field_name("/hosts/0/addresses/Public"), "Public");
        assert_eq!(field_name("/clusters/0/nodes/1"), "nodes[1]");
        assert_eq!(field_name(""), "topology");
    }
}
