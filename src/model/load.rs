//! Bytes → YAML tree with positions → JSON value plus [`SourceMap`].
//!
//! The YAML is read by serde-saphyr with tight budgets, so an alias bomb or a
//! 10,000-deep nesting fails in milliseconds with a located error instead of
//! exhausting memory. Every node is read as `Spanned`, and the tree becomes a
//! plain `serde_json::Value` (what the schema validates) and a source map from
//! JSON pointer to line and column (what diagnostics are shown with). Only
//! YAML 1.2 booleans are booleans: `yes` stays the string `yes`.

use std::collections::HashMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use serde_saphyr::{DuplicateKeyPolicy, Spanned};

use crate::diag::{Code, Diagnostic, Target, pointer_token};

/// Largest topology file read, in bytes. A real estate is a few kilobytes;
/// a hosting provider's estate of 2,500 clusters is about 3.3 MB, and 16 MiB
/// leaves room for ten thousand. Memory stays bounded by the node and event
/// budgets below, and alias bombs are stopped by the anchor budgets, which do
/// not grow with the file.
pub const MAX_FILE_BYTES: usize = 16 << 20;
/// Most YAML nodes accepted: a cluster with its hosts takes about 90, so an
/// estate of [`MAX_FILE_BYTES`] fits.
const MAX_NODES: usize = 2_000_000;
/// Deepest nesting accepted; the format itself needs nine levels.
const MAX_DEPTH: usize = 32;

/// A place in the source: 1-based line and column (in characters), and the
/// byte range of the value where the parser knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub line: usize,
    pub column: usize,
    /// Length of the value in bytes; 0 when unknown (collections).
    pub len: usize,
}

impl Position {
    /// The start of the file, where whole-file findings point.
    pub const START: Position = Position {
        line: 1,
        column: 1,
        len: 0,
    };

    fn from_location(location: serde_saphyr::Location) -> Position {
        if location == serde_saphyr::Location::UNKNOWN {
            return Position::START;
        }
        Position {
            line: usize::try_from(location.line()).unwrap_or(1).max(1),
            column: usize::try_from(location.column()).unwrap_or(1).max(1),
            len: location
                .span()
                .byte_len()
                .and_then(|len| usize::try_from(len).ok())
                .unwrap_or(0),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    value: Position,
    key: Option<Position>,
}

/// JSON pointer → position of the value (and of its key, inside a mapping).
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    entries: HashMap<String, Entry>,
}

impl SourceMap {
    /// Where a finding about `pointer` should point. A pointer that is not in
    /// the map (a field that is missing) falls back to its nearest ancestor:
    /// the object that lacks it.
    pub fn locate(&self, pointer: &str, target: Target) -> Position {
        let mut current = pointer;
        loop {
            if let Some(entry) = self.entries.get(current) {
                return match (target, entry.key) {
                    (Target::Key, Some(key)) if current == pointer => key,
                    // A missing field: point at the key that names the object
                    // that lacks it (`witness:`), not at its first field.
                    (_, Some(key)) if current != pointer => key,
                    _ => entry.value,
                };
            }
            match current.rfind('/') {
                Some(cut) => current = &current[..cut],
                None => return Position::START,
            }
        }
    }

    /// Byte offset of a position in `source`.
    pub fn offset(&self, source: &str, position: Position) -> usize {
        let mut offset = 0;
        for (index, line) in source.split_inclusive('\n').enumerate() {
            if index + 1 == position.line {
                let column = position.column.saturating_sub(1);
                return offset
                    + line
                        .char_indices()
                        .nth(column)
                        .map_or(line.trim_end().len(), |(i, _)| i);
            }
            offset += line.len();
        }
        source.len()
    }

    fn insert(&mut self, pointer: String, value: Position, key: Option<Position>) {
        self.entries.insert(pointer, Entry { value, key });
    }
}

/// A parsed topology file, before the schema has judged it.
#[derive(Debug, Clone)]
pub struct Document {
    pub value: Value,
    pub map: SourceMap,
}

/// Parses YAML text into a JSON value and its source map. A failure is one
/// located diagnostic: YAML errors stop parsing at the first one.
pub fn parse(source: &str) -> Result<Document, Box<Diagnostic>> {
    if source.len() > MAX_FILE_BYTES {
        return Err(Box::new(Diagnostic::error(
            Code::YamlBudget,
            "",
            format!(
                "the file is {} bytes; topologies larger than {MAX_FILE_BYTES} bytes are refused",
                source.len()
            ),
        )));
    }
    if source.lines().all(|line| {
        let line = line.trim();
        line.is_empty() || line.starts_with('#') || line == "---" || line == "..."
    }) {
        return Err(Box::new(
            Diagnostic::error(Code::EmptyFile, "", "the file holds no topology")
                .with_help("start from the example that `runsheet init` prints"),
        ));
    }
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: MAX_DEPTH,
            flow_nesting_limit: MAX_DEPTH,
            max_aliases: 100,
            max_anchors: 100,
            max_nodes: MAX_NODES,
            max_events: 2 * MAX_NODES,
            max_documents: 1,
            max_total_scalar_bytes: MAX_FILE_BYTES,
            max_recorded_anchor_events: 10_000,
        },
        strict_booleans: true,
        duplicate_keys: DuplicateKeyPolicy::Error,
        with_snippet: false,
    };
    let tree: Spanned<Node> = serde_saphyr::from_str_with_options(source, options)
        .map_err(|error| yaml_diagnostic(error, source))?;
    let mut map = SourceMap::default();
    let value = into_json(tree, String::new(), None, &mut map);
    Ok(Document { value, map })
}

fn yaml_diagnostic(error: serde_saphyr::Error, source: &str) -> Box<Diagnostic> {
    let mut position = error
        .location()
        .map(Position::from_location)
        .unwrap_or(Position::START);
    let text = error.to_string();
    if text.contains("tab") {
        position = tab_at_or_after(source, position).unwrap_or(position);
    }
    let budget = text.contains("budget") || text.contains("limit") || text.contains("exceed");
    let message = friendly(&strip_location(&text));
    let (code, help) = if budget {
        (
            Code::YamlBudget,
            "a topology needs no deep nesting and few aliases; write the values out",
        )
    } else if message.contains("duplicate") {
        (Code::YamlSyntax, "remove or rename one of the two keys")
    } else if message.contains('\t') || message.contains("tab") {
        (
            Code::YamlSyntax,
            "indent with spaces; YAML does not allow tabs for indentation",
        )
    } else {
        (Code::YamlSyntax, "fix the YAML syntax at this position")
    };
    Box::new(
        Diagnostic::error(code, "", format!("invalid YAML: {message}"))
            .with_help(help)
            .at_position(position),
    )
}

/// The scanner reports a tab that starts a line at the end of the line
/// before; the operator needs the tab itself. The first tab at or after
/// `position`, on its line or the next.
fn tab_at_or_after(source: &str, position: Position) -> Option<Position> {
    let lines: Vec<&str> = source.split('\n').collect();
    let first = position.line.checked_sub(1)?;
    for (index, line) in lines.iter().enumerate().skip(first).take(2) {
        let skip = if index == first {
            position.column.saturating_sub(1)
        } else {
            0
        };
        if let Some(column) = line.chars().skip(skip).position(|c| c == '\t') {
            return Some(Position {
                line: index + 1,
                column: skip + column + 1,
                len: 1,
            });
        }
    }
    None
}

/// serde-saphyr's wording, made to read like ours.
fn friendly(message: &str) -> String {
    if let Some(key) = message.strip_prefix("duplicate mapping key: ") {
        let key = key.split(", set DuplicateKeyPolicy").next().unwrap_or(key);
        return format!("duplicate key `{key}`");
    }
    if let Some(kind) = message.strip_prefix("budget breached: ") {
        let kind = kind.split([' ', '{', '(']).next().unwrap_or(kind);
        return format!(
            "the document exceeds a safety limit ({kind}); aliases expand too far or nesting is too deep"
        );
    }
    message.to_owned()
}

/// serde-saphyr appends " at line L column C"; the renderer shows that already.
fn strip_location(text: &str) -> String {
    let first = text.lines().next().unwrap_or_default().trim();
    match first.find(" at line ") {
        Some(cut) => first[..cut].to_owned(),
        None => first.to_owned(),
    }
}

/// A YAML node as read, before it becomes JSON.
enum Node {
    Null,
    Bool(bool),
    Signed(i64),
    Unsigned(u64),
    Float(f64),
    Text(String),
    Sequence(Vec<Spanned<Node>>),
    Mapping(Vec<(Spanned<Node>, Spanned<Node>)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
        Node::deserialize(deserializer)
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Node, E> {
        Ok(Node::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Node, E> {
        Ok(Node::Signed(value))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Node, E> {
        Ok(Node::Unsigned(value))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Node, E> {
        Ok(Node::Float(value))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Node, E> {
        Ok(Node::Text(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Node, E> {
        Ok(Node::Text(value))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Node>>()? {
            items.push(item);
        }
        Ok(Node::Sequence(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<Node>>()? {
            let value = map.next_value::<Spanned<Node>>()?;
            entries.push((key, value));
        }
        Ok(Node::Mapping(entries))
    }
}

fn into_json(
    node: Spanned<Node>,
    pointer: String,
    key: Option<Position>,
    map: &mut SourceMap,
) -> Value {
    map.insert(
        pointer.clone(),
        Position::from_location(node.referenced),
        key,
    );
    match node.value {
        Node::Null => Value::Null,
        Node::Bool(value) => Value::Bool(value),
        Node::Signed(value) => Value::from(value),
        Node::Unsigned(value) => Value::from(value),
        // NaN and infinities have no JSON form; as text the schema reports them.
        Node::Float(value) => serde_json::Number::from_f64(value)
            .map_or_else(|| Value::String(value.to_string()), Value::Number),
        Node::Text(value) => Value::String(value),
        Node::Sequence(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(index, item)| into_json(item, format!("{pointer}/{index}"), None, map))
                .collect(),
        ),
        Node::Mapping(entries) => {
            let mut object = Map::new();
            for (key, value) in entries {
                let name = key_text(&key.value);
                let key_position = Position::from_location(key.referenced);
                let child = format!("{pointer}/{}", pointer_token(&name));
                let value = into_json(value, child, Some(key_position), map);
                object.insert(name, value);
            }
            Value::Object(object)
        }
    }
}

/// Keys are field names; a non-text key is kept as its YAML spelling so the
/// schema reports it as an unknown field.
fn key_text(key: &Node) -> String {
    match key {
        Node::Null => "null".into(),
        Node::Bool(value) => value.to_string(),
        Node::Signed(value) => value.to_string(),
        Node::Unsigned(value) => value.to_string(),
        Node::Float(value) => value.to_string(),
        Node::Text(value) => value.clone(),
        Node::Sequence(_) => "[sequence]".into(),
        Node::Mapping(_) => "{mapping}".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn located(source: &str, pointer: &str) -> (usize, usize) {
        let document = parse(source).unwrap();
        let position = document.map.locate(pointer, Target::Value);
        (position.line, position.column)
    }

    #[test]
    fn values_are_located_by_pointer() {
        let source = "a:\n  - name: x\n    subnet: 10.0.0.0/8\n";
        assert_eq!(located(source, "/a/0/subnet"), (3, 13));
        assert_eq!(located(source, "/a/0/name"), (2, 11));
    }

    #[test]
    fn a_missing_field_points_at_the_object_that_lacks_it() {
        let source = "a:\n  - name: x\n";
        assert_eq!(located(source, "/a/0/subnet"), (2, 5));
        // An object that a key names: the key, not the object's first field.
        let source = "a:\n  witness:\n    host: x\n";
        assert_eq!(located(source, "/a/witness/share"), (2, 3));
    }

    #[test]
    fn a_tab_that_starts_a_line_is_reported_on_that_line() {
        let source = "a:\n  - name: x\n\tb: y\n";
        let Err(diagnostic) = parse(source) else {
            panic!("a tab must be refused")
        };
        let position = diagnostic.position.expect("located");
        assert_eq!((position.line, position.column), (3, 1));
    }

    #[test]
    fn yes_is_a_string_not_a_boolean() {
        let document = parse("clients: yes\nother: true\n").unwrap();
        assert_eq!(document.value["clients"], Value::String("yes".into()));
        assert_eq!(document.value["other"], Value::Bool(true));
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let diagnostic = parse("a: 1\na: 2\n").unwrap_err();
        assert_eq!(diagnostic.code, Code::YamlSyntax);
    }
}
