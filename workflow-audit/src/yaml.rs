//! YAML with source positions: a small node tree built from `yaml-rust2`'s marked events.
//!
//! Every node keeps where it starts (line and column, both 1-based, and the byte offset), so a
//! finding can point at `path:line:col`. Scalars keep their text exactly as written (no YAML
//! 1.1 booleans: `on` stays `on`) and their style, because `if: |` (a block scalar) means
//! something different to GitHub than `if:`. Aliases are expanded against a node budget, and
//! nesting is bounded, so hostile input yields an error, never a panic or a blow-up.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// The most nodes one document may expand to (aliases included).
pub const MAX_NODES: usize = 200_000;
/// The deepest nesting accepted.
pub const MAX_DEPTH: usize = 128;

/// A position in the source: 1-based line and column, and the byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize)]
pub struct Pos {
    /// Line, from 1.
    pub line: usize,
    /// Column (in characters), from 1.
    pub col: usize,
    /// Byte offset, from 0.
    #[serde(skip)]
    pub offset: usize,
}

impl Pos {
    fn from_marker(mark: Marker, source: &str) -> Self {
        // yaml-rust2 counts characters; turn its character index into a byte offset.
        let offset = source
            .char_indices()
            .nth(mark.index())
            .map_or(source.len(), |(byte, _)| byte);
        Self {
            line: mark.line(),
            col: mark.col() + 1,
            offset,
        }
    }
}

/// How a scalar was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `key: value`.
    Plain,
    /// `'value'` or `"value"`.
    Quoted,
    /// `|` or `>` block.
    Block,
}

/// A YAML value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar, as written (after unquoting).
    Scalar(String, Style),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in source order.
    Map(Vec<(Node, Node)>),
}

/// A value and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Where it starts.
    pub pos: Pos,
    weight: usize,
}

impl Node {
    /// The scalar text, if this is a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(text, _) => Some(text),
            _ => None,
        }
    }

    /// The scalar style, if this is a scalar.
    pub fn style(&self) -> Option<Style> {
        match &self.value {
            Value::Scalar(_, style) => Some(*style),
            _ => None,
        }
    }

    /// Whether this is a null (`~`, `null`, or nothing).
    pub fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar(text, Style::Plain) if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// The mapping entries (empty for anything else).
    pub fn entries(&self) -> &[(Node, Node)] {
        match &self.value {
            Value::Map(entries) => entries,
            _ => &[],
        }
    }

    /// The sequence items (empty for anything else).
    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(items) => items,
            _ => &[],
        }
    }

    /// The entry whose key is the scalar `key`.
    pub fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        self.entries()
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(k, v)| (k, v))
    }

    /// The value at the scalar key `key`.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// Whether this is a mapping.
    pub fn is_map(&self) -> bool {
        matches!(self.value, Value::Map(_))
    }
}

/// Why a file is not YAML we can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {col}: {reason}")]
pub struct YamlError {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub col: usize,
    /// What is wrong.
    pub reason: String,
}

enum Frame {
    Seq {
        items: Vec<Node>,
        pos: Pos,
        anchor: usize,
        weight: usize,
    },
    Map {
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
        pos: Pos,
        anchor: usize,
        weight: usize,
    },
}

/// Parses the first document of `source`. `Ok(None)` for an empty file.
pub fn parse(source: &str) -> Result<Option<Node>, YamlError> {
    let mut parser = Parser::new_from_str(source);
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut total = 0usize;
    loop {
        let (event, mark) = parser.next_token().map_err(|err| YamlError {
            line: err.marker().line(),
            col: err.marker().col() + 1,
            reason: err.info().to_owned(),
        })?;
        let pos = Pos::from_marker(mark, source);
        let too_big = |pos: Pos, reason: &str| YamlError {
            line: pos.line,
            col: pos.col,
            reason: reason.to_owned(),
        };
        let finished: Option<(Node, usize)> = match event {
            Event::StreamEnd => return Ok(None),
            Event::Scalar(text, style, anchor, _) => {
                let style = match style {
                    TScalarStyle::Plain => Style::Plain,
                    TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted => Style::Quoted,
                    TScalarStyle::Literal | TScalarStyle::Folded => Style::Block,
                };
                Some((
                    Node {
                        value: Value::Scalar(text, style),
                        pos,
                        weight: 1,
                    },
                    anchor,
                ))
            }
            Event::Alias(id) => {
                let node = anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| too_big(pos, "an alias names an unknown anchor"))?;
                Some((Node { pos, ..node }, 0))
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(too_big(
                        pos,
                        &format!("nesting deeper than {MAX_DEPTH} levels"),
                    ));
                }
                stack.push(if matches!(event, Event::SequenceStart(..)) {
                    Frame::Seq {
                        items: Vec::new(),
                        pos,
                        anchor,
                        weight: 1,
                    }
                } else {
                    Frame::Map {
                        entries: Vec::new(),
                        key: None,
                        pos,
                        anchor,
                        weight: 1,
                    }
                });
                None
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Seq {
                    items,
                    pos,
                    anchor,
                    weight,
                }) => Some((
                    Node {
                        value: Value::Seq(items),
                        pos,
                        weight,
                    },
                    anchor,
                )),
                Some(Frame::Map {
                    entries,
                    key,
                    pos,
                    anchor,
                    weight,
                }) => {
                    let mut entries = entries;
                    if let Some(key) = key {
                        // A key without a value cannot come from the parser; keep it as null.
                        let null = Node {
                            value: Value::Scalar(String::new(), Style::Plain),
                            pos: key.pos,
                            weight: 1,
                        };
                        entries.push((key, null));
                    }
                    Some((
                        Node {
                            value: Value::Map(entries),
                            pos,
                            weight,
                        },
                        anchor,
                    ))
                }
                None => None,
            },
            Event::Nothing | Event::StreamStart | Event::DocumentStart | Event::DocumentEnd => None,
        };
        let Some((node, anchor)) = finished else {
            continue;
        };
        total = total.saturating_add(node.weight);
        if total > MAX_NODES {
            return Err(too_big(
                node.pos,
                &format!("the document expands to more than {MAX_NODES} nodes (aliases?)"),
            ));
        }
        if anchor != 0 {
            anchors.insert(anchor, node.clone());
        }
        match stack.last_mut() {
            None => return Ok(Some(node)),
            Some(Frame::Seq { items, weight, .. }) => {
                *weight = weight.saturating_add(node.weight);
                items.push(node);
            }
            Some(Frame::Map {
                entries,
                key,
                weight,
                ..
            }) => {
                *weight = weight.saturating_add(node.weight);
                match key.take() {
                    None => *key = Some(node),
                    Some(k) => entries.push((k, node)),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based() {
        let doc = parse("on:\n  push:\n    tags: ['v*']\njobs: {}\n")
            .unwrap()
            .unwrap();
        let (key, value) = doc.entry("on").unwrap();
        assert_eq!((key.pos.line, key.pos.col), (1, 1));
        let tags = value.get("push").unwrap().get("tags").unwrap();
        assert_eq!(tags.items()[0].as_str(), Some("v*"));
        assert_eq!((tags.items()[0].pos.line, tags.items()[0].pos.col), (3, 12));
        let (jobs, _) = doc.entry("jobs").unwrap();
        assert_eq!(jobs.pos.line, 4);
    }

    #[test]
    fn block_scalars_are_marked() {
        let doc = parse("if: |\n  ${{ true }}\n").unwrap().unwrap();
        assert_eq!(doc.get("if").unwrap().style(), Some(Style::Block));
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let err = parse(&text).unwrap_err();
        assert!(err.reason.contains("more than"), "{err}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = "[".repeat(1000);
        assert!(parse(&text).is_err());
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = parse("jobs:\n  a: [\n").unwrap_err();
        assert!(err.line >= 2, "{err:?}");
    }
}
