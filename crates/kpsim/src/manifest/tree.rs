//! One YAML document as a tree of positioned nodes: scalars keep their text, style and tag,
//! sequences and mappings their children in order, aliases point at their anchored node.
//!
//! The tree is built once per document from the events of a YAML parser (saphyr-parser)
//! and then read by [`super::deserializer`], which is small and non-generic where serde
//! allows it; this file knows YAML syntax, not Kubernetes types nor scalar resolution
//! (see [`super::scalar`]). Merge keys (`<<`) are not expanded, as serde_norway does not
//! expand them either.

use saphyr_parser::{Event, Parser, ScalarStyle};

/// Index of a node in its [`Tree`].
pub(crate) type NodeId = usize;

/// 1-based line and column inside the document text; `None` for a tree built from a value
/// that had no text (JSON read by serde_json).
pub(crate) type Position = Option<(usize, usize)>;

/// How a scalar was written. Only plain scalars are resolved to null, bool, int or float.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    Plain,
    Quoted,
    Block,
}

/// A scalar's explicit tag, as far as reading Kubernetes objects cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tag {
    /// No tag, or the non-specific `!`.
    None,
    /// A tag of the YAML core schema (`!!str`, `!!int`, …): its suffix.
    Core(String),
    /// A local tag (`!Foo`): its name without the `!`.
    Local(String),
}

#[derive(Debug, Clone)]
pub(crate) enum NodeKind {
    Scalar { text: String, style: Style, tag: Tag },
    Seq(Vec<NodeId>),
    Map(Vec<(NodeId, NodeId)>),
    Alias(NodeId),
}

#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub kind: NodeKind,
    pub position: Position,
}

/// A parsed document. The root is the last node pushed (see [`Tree::root`]).
#[derive(Debug, Clone, Default)]
pub(crate) struct Tree {
    nodes: Vec<Node>,
    root: NodeId,
}

/// A YAML syntax error: the parser's message and where it was raised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub message: String,
    /// 1-based line and column inside the document.
    pub line: usize,
    pub column: usize,
}

impl Tree {
    pub fn root(&self) -> NodeId {
        self.root
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id]
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// `id`, or the node its alias chain points at.
    pub fn resolve(&self, mut id: NodeId) -> NodeId {
        // Aliases only point backwards at nodes already complete: the chain ends.
        while let NodeKind::Alias(target) = self.nodes[id].kind {
            id = target;
        }
        id
    }

    /// The value of key `key` in mapping `map` (aliases followed), if any.
    pub fn get(&self, map: NodeId, key: &str) -> Option<NodeId> {
        let NodeKind::Map(entries) = &self.nodes[self.resolve(map)].kind else { return None };
        entries.iter().find_map(|&(k, v)| match &self.nodes[self.resolve(k)].kind {
            NodeKind::Scalar { text, .. } if text == key => Some(v),
            _ => None,
        })
    }

    /// The string a scalar node reads as when its type is not known in advance: quoted and
    /// block scalars, and plain ones that are not null, a boolean or a number (`kind: Pod`
    /// but not `kind: 5`).
    pub fn str_value(&self, id: NodeId) -> Option<&str> {
        match &self.nodes[self.resolve(id)].kind {
            NodeKind::Scalar { text, style: Style::Plain, tag: Tag::None } => {
                match super::scalar::resolve_plain(text) {
                    super::scalar::Resolved::Str(s) => Some(s),
                    _ => None,
                }
            }
            NodeKind::Scalar { text, tag: Tag::None, .. } => Some(text),
            NodeKind::Scalar { text, tag: Tag::Core(t), .. } if t == "str" => Some(text),
            _ => None,
        }
    }

    /// Items of sequence `seq` (aliases followed), if it is one.
    pub fn items(&self, seq: NodeId) -> Option<&[NodeId]> {
        match &self.nodes[self.resolve(seq)].kind {
            NodeKind::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// Adds a node; children must have been added before their parent.
    pub fn push(&mut self, kind: NodeKind, position: Position) -> NodeId {
        self.nodes.push(Node { kind, position });
        self.root = self.nodes.len() - 1;
        self.root
    }
}

/// A container under construction.
struct Open {
    position: Position,
    kind: OpenKind,
    anchor: usize,
}

enum OpenKind {
    Seq(Vec<NodeId>),
    Map(Vec<(NodeId, NodeId)>, Option<NodeId>),
}

/// Parses one document. An empty document is a single empty plain scalar (null).
pub(crate) fn parse(text: &str) -> Result<Tree, SyntaxError> {
    let mut tree = Tree::default();
    let mut anchors: Vec<(usize, NodeId)> = Vec::new();
    let mut stack: Vec<Open> = Vec::new();
    let mut root: Option<NodeId> = None;
    let mut parser = Parser::new_from_str(text);
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| SyntaxError {
            // "while parsing a block mapping, did not find expected key": the problem is
            // the part libyaml (and so serde_norway) reported; the context is the position.
            message: match e.info().split_once(", ") {
                Some((context, problem)) if context.starts_with("while ") => problem.to_owned(),
                _ => e.info().to_owned(),
            },
            line: e.marker().line(),
            column: e.marker().col() + 1,
        })?;
        let position = Some((span.start.line(), span.start.col() + 1));
        let (id, anchor) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                let style = match style {
                    ScalarStyle::Plain => Style::Plain,
                    ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => Style::Quoted,
                    ScalarStyle::Literal | ScalarStyle::Folded => Style::Block,
                };
                let tag = match tag.as_deref() {
                    None => Tag::None,
                    Some(t) if t.is_yaml_core_schema() => Tag::Core(t.suffix.clone()),
                    Some(t) if t.handle == "!" && t.suffix.is_empty() => Tag::None,
                    Some(t) if t.handle == "!" => Tag::Local(t.suffix.clone()),
                    Some(t) => Tag::Local(format!("{}{}", t.handle, t.suffix)),
                };
                let kind = NodeKind::Scalar { text: text.into_owned(), style, tag };
                (tree.push(kind, position), anchor)
            }
            Event::Alias(anchor) => {
                let Some(&(_, target)) = anchors.iter().rev().find(|(a, _)| *a == anchor) else {
                    return Err(SyntaxError {
                        message: "unknown anchor".to_owned(),
                        line: span.start.line(),
                        column: span.start.col() + 1,
                    });
                };
                (tree.push(NodeKind::Alias(target), position), 0)
            }
            Event::SequenceStart(anchor, _) => {
                stack.push(Open { position, kind: OpenKind::Seq(Vec::new()), anchor });
                continue;
            }
            Event::MappingStart(anchor, _) => {
                stack.push(Open { position, kind: OpenKind::Map(Vec::new(), None), anchor });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(open) = stack.pop() else { continue };
                let kind = match open.kind {
                    OpenKind::Seq(items) => NodeKind::Seq(items),
                    OpenKind::Map(entries, _) => NodeKind::Map(entries),
                };
                (tree.push(kind, open.position), open.anchor)
            }
            Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart(_)
            | Event::DocumentEnd
            | Event::Nothing => continue,
        };
        if anchor != 0 {
            anchors.push((anchor, id));
        }
        match stack.last_mut() {
            Some(Open { kind: OpenKind::Seq(items), .. }) => items.push(id),
            Some(Open { kind: OpenKind::Map(entries, key), .. }) => match key.take() {
                Some(k) => entries.push((k, id)),
                None => *key = Some(id),
            },
            None => root = root.or(Some(id)),
        }
    }
    match root {
        Some(id) => tree.root = id,
        None => {
            let empty =
                NodeKind::Scalar { text: String::new(), style: Style::Plain, tag: Tag::None };
            tree.push(empty, Some((1, 1)));
        }
    }
    Ok(tree)
}

/// A tree of a JSON value (read by serde_json when the YAML parser refused the text), with
/// no positions: its fields are located in the text by path.
pub(crate) fn from_json(value: &serde_json::Value) -> Tree {
    fn add(tree: &mut Tree, value: &serde_json::Value) -> NodeId {
        let scalar = |text: String, style| NodeKind::Scalar { text, style, tag: Tag::None };
        let kind = match value {
            serde_json::Value::Null => scalar("null".to_owned(), Style::Plain),
            serde_json::Value::Bool(b) => scalar(b.to_string(), Style::Plain),
            serde_json::Value::Number(n) => scalar(n.to_string(), Style::Plain),
            serde_json::Value::String(s) => scalar(s.clone(), Style::Quoted),
            serde_json::Value::Array(items) => {
                NodeKind::Seq(items.iter().map(|v| add(tree, v)).collect())
            }
            serde_json::Value::Object(map) => NodeKind::Map(
                map.iter()
                    .map(|(k, v)| {
                        let key = tree.push(scalar(k.clone(), Style::Quoted), None);
                        (key, add(tree, v))
                    })
                    .collect(),
            ),
        };
        tree.push(kind, None)
    }
    let mut tree = Tree::default();
    let root = add(&mut tree, value);
    tree.root = root;
    tree
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar_text(tree: &Tree, id: NodeId) -> (&str, Style) {
        match &tree.node(tree.resolve(id)).kind {
            NodeKind::Scalar { text, style, .. } => (text, *style),
            other => panic!("not a scalar: {other:?}"),
        }
    }

    #[test]
    fn nodes_carry_their_positions() {
        let tree = parse("kind: Pod\nspec:\n  ports:\n  - port: 80\n    name: \"web\"\n").unwrap();
        let root = tree.root();
        assert_eq!(tree.node(root).position, Some((1, 1)));
        let ports = tree.get(tree.get(root, "spec").unwrap(), "ports").unwrap();
        let item = tree.items(ports).unwrap()[0];
        assert_eq!(tree.node(item).position, Some((4, 5)));
        let name = tree.get(item, "name").unwrap();
        assert_eq!(tree.node(name).position, Some((5, 11)));
        assert_eq!(scalar_text(&tree, name), ("web", Style::Quoted));
        assert_eq!(scalar_text(&tree, tree.get(item, "port").unwrap()), ("80", Style::Plain));
    }

    #[test]
    fn aliases_point_at_their_anchor() {
        let tree = parse("a: &x {k: v}\nb: *x\nc: &y 7\nd: *y\n").unwrap();
        let root = tree.root();
        let b = tree.get(root, "b").unwrap();
        assert!(matches!(tree.node(b).kind, NodeKind::Alias(_)));
        assert_eq!(scalar_text(&tree, tree.get(b, "k").unwrap()).0, "v");
        assert_eq!(scalar_text(&tree, tree.get(root, "d").unwrap()).0, "7");
    }

    #[test]
    fn block_scalars_and_tags() {
        let tree = parse("a: |\n  line\nb: !!str 80\nc: !Foo x\n").unwrap();
        let root = tree.root();
        assert_eq!(scalar_text(&tree, tree.get(root, "a").unwrap()), ("line\n", Style::Block));
        let tag = |k| match &tree.node(tree.get(root, k).unwrap()).kind {
            NodeKind::Scalar { tag, .. } => tag.clone(),
            _ => Tag::None,
        };
        assert_eq!(tag("b"), Tag::Core("str".to_owned()));
        assert_eq!(tag("c"), Tag::Local("Foo".to_owned()));
    }

    #[test]
    fn syntax_errors_say_where() {
        let e = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(e.line >= 1, "{e:?}");
        assert!(parse("a: *nope\n").is_err());
    }
}
