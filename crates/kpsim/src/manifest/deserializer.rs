//! A serde `Deserializer` over one node of a [`Tree`]: how k8s-openapi types are read from
//! YAML. It answers exactly as serde_norway's deserializer does (scalar resolution, error
//! messages, where an error is), tracks the field path itself (`spec.ports[0].port`) and
//! records the fields nobody reads (what serde_ignored did), so the page needs neither.
//!
//! Every `deserialize_*` method is instantiated once per visitor type (hundreds of
//! k8s-openapi types), so each is a thin dispatch into non-generic methods that look at the
//! node, resolve scalars and build errors. Parsing text is [`super::tree`]'s job, and
//! turning errors into diagnostics [`super::decode`]'s.

use std::cell::{Cell, RefCell};
use std::fmt;

use serde::de::{self, DeserializeSeed, Expected, Unexpected, Visitor};

use super::scalar::{self, Resolved};
use super::tree::{NodeId, NodeKind, Position, Style, Tag, Tree};

/// Deepest nesting of sequences, mappings and newtypes read (serde_norway's limit).
const MAX_DEPTH: u8 = 128;

/// A decoding error: serde's message, and the path and position of the node it is about.
/// Boxed: every `Result` of every visitor carries it, so it is one pointer wide.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Error(Box<ErrorImpl>);

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ErrorImpl {
    pub message: String,
    /// Field path of the node (`spec.ports[0].port`; empty for the root).
    pub path: String,
    pub position: Position,
    /// Path and position are final (set by the innermost node the error passed through).
    fixed: bool,
}

impl Error {
    #[inline(never)]
    fn new(message: String, fixed: bool) -> Error {
        Error(Box::new(ErrorImpl { message, path: String::new(), position: None, fixed }))
    }

    fn unplaced(message: &str) -> Error {
        Error::new(message.to_owned(), true)
    }
}

impl std::ops::Deref for Error {
    type Target = ErrorImpl;

    fn deref(&self) -> &ErrorImpl {
        &self.0
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Error {
        Error::new(msg.to_string(), false)
    }
}

/// What is shared by every node deserializer of one decoding.
#[derive(Debug)]
pub(crate) struct Context<'t> {
    tree: &'t Tree,
    /// Paths of the fields no visitor read.
    ignored: RefCell<Vec<String>>,
    /// Aliases followed so far: bounded, so a few anchors cannot expand exponentially.
    jumps: Cell<usize>,
}

impl<'t> Context<'t> {
    pub fn new(tree: &'t Tree) -> Context<'t> {
        Context { tree, ignored: RefCell::new(Vec::new()), jumps: Cell::new(0) }
    }

    /// The paths of the fields nobody read, in input order.
    pub fn into_ignored(self) -> Vec<String> {
        self.ignored.into_inner()
    }

    /// Reads `T` from node `node`.
    pub fn read<T: de::DeserializeOwned>(&self, node: NodeId) -> Result<T, Error> {
        T::deserialize(NodeDeserializer::enter(self, node, Path::Root, MAX_DEPTH, false)?)
    }
}

/// The first key written twice in one mapping of the subtree at `node`, as an error at the
/// second occurrence: YAML forbids it and `kubectl` refuses it, while k8s-openapi would
/// silently keep the last value. Aliased subtrees are checked where their anchor is.
pub(crate) fn duplicate_key(tree: &Tree, node: NodeId) -> Option<Error> {
    let mut stack = vec![(node, String::new())];
    while let Some((id, path)) = stack.pop() {
        match &tree.node(id).kind {
            NodeKind::Map(entries) => {
                let mut seen: Vec<&str> = Vec::with_capacity(entries.len());
                for &(key, value) in entries {
                    let Some(text) = tree.str_value(key) else { continue };
                    if seen.contains(&text) {
                        let mut e =
                            Error::new(format!("duplicate entry with key \"{text}\""), true);
                        e.0.path = path;
                        e.0.position = tree.node(key).position;
                        return Some(e);
                    }
                    seen.push(text);
                    let child =
                        if path.is_empty() { text.to_owned() } else { format!("{path}.{text}") };
                    stack.push((value, child));
                }
            }
            NodeKind::Seq(items) => {
                stack.extend(
                    items.iter().enumerate().map(|(i, &item)| (item, format!("{path}[{i}]"))),
                );
            }
            NodeKind::Scalar { .. } | NodeKind::Alias(_) => {}
        }
    }
    None
}

/// Where a node is, as a chain of parents (cheap to extend on the stack).
#[derive(Debug, Clone, Copy)]
enum Path<'p> {
    Root,
    Seq(&'p Path<'p>, usize),
    Map(&'p Path<'p>, &'p str),
    /// A value whose key is not a scalar.
    Unknown(&'p Path<'p>),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parent = |f: &mut fmt::Formatter<'_>, p: &Path<'_>| match p {
            Path::Root => Ok(()),
            p => write!(f, "{p}."),
        };
        match self {
            Path::Root => Ok(()),
            Path::Seq(p, i) => write!(f, "{p}[{i}]"),
            Path::Map(p, key) => {
                parent(f, p)?;
                f.write_str(key)
            }
            Path::Unknown(p) => {
                parent(f, p)?;
                f.write_str("?")
            }
        }
    }
}

/// The shape of a node as `deserialize_any` sees it.
enum Shape<'t> {
    Scalar(Resolved<'t>),
    Seq(&'t [NodeId]),
    Map(&'t [(NodeId, NodeId)]),
}

/// A deserializer for one node (aliases already followed).
#[derive(Debug, Clone, Copy)]
pub(crate) struct NodeDeserializer<'t, 'p> {
    cx: &'t Context<'t>,
    node: NodeId,
    path: Path<'p>,
    depth: u8,
    /// A mapping key: fields skipped here are not reported.
    key: bool,
}

impl<'t, 'p> NodeDeserializer<'t, 'p> {
    #[inline(never)]
    fn enter(
        cx: &'t Context<'t>,
        node: NodeId,
        path: Path<'p>,
        depth: u8,
        key: bool,
    ) -> Result<NodeDeserializer<'t, 'p>, Error> {
        let resolved = cx.tree.resolve(node);
        if resolved != node {
            cx.jumps.set(cx.jumps.get() + 1);
            if cx.jumps.get() > cx.tree.len() * 100 {
                return Err(Error::unplaced("repetition limit exceeded"));
            }
        }
        Ok(NodeDeserializer { cx, node: resolved, path, depth, key })
    }

    fn kind(&self) -> &'t NodeKind {
        &self.cx.tree.node(self.node).kind
    }

    /// Gives an error this node's path and position unless an inner node already did.
    #[inline(never)]
    fn fix(&self, mut e: Error) -> Error {
        if !e.fixed {
            e.0.fixed = true;
            e.0.path = self.path.to_string();
            e.0.position = self.cx.tree.node(self.node).position;
        }
        e
    }

    /// One level deeper, or the recursion error.
    #[inline(never)]
    fn deeper(&self) -> Result<u8, Error> {
        match self.depth.checked_sub(1) {
            Some(d) => Ok(d),
            None => Err(self.fix(de::Error::custom("recursion limit exceeded"))),
        }
    }

    /// A scalar's text, style and tag.
    #[inline(never)]
    fn scalar(&self) -> Option<(&'t str, Style, &'t Tag)> {
        match self.kind() {
            NodeKind::Scalar { text, style, tag } => Some((text, *style, tag)),
            _ => None,
        }
    }

    /// The text of a plain scalar, or of one explicitly tagged `!!<core>`.
    #[inline(never)]
    fn plain(&self, core: &str) -> Option<&'t str> {
        match self.scalar()? {
            (text, Style::Plain, _) => Some(text),
            (text, Style::Block, Tag::Core(t)) if t == core => Some(text),
            _ => None,
        }
    }

    /// What the node is, for `deserialize_any` and for "invalid type" messages.
    #[inline(never)]
    fn shape(&self) -> Result<Shape<'t>, Error> {
        let (text, style, tag) = match self.kind() {
            NodeKind::Seq(items) => return Ok(Shape::Seq(items)),
            NodeKind::Map(entries) => return Ok(Shape::Map(entries)),
            NodeKind::Alias(_) => return Ok(Shape::Scalar(Resolved::Null)),
            NodeKind::Scalar { text, style, tag } => (text.as_str(), *style, tag),
        };
        match scalar::resolve(text, style, tag) {
            Ok(resolved) => Ok(Shape::Scalar(resolved)),
            Err(what) => Err(self.fix(de::Error::invalid_value(Unexpected::Str(text), &what))),
        }
    }

    /// "invalid type: <what the node is>, expected <exp>", at this node.
    #[inline(never)]
    fn invalid_type(&self, exp: &dyn Expected) -> Error {
        let e = match self.shape() {
            Err(e) => return e,
            Ok(Shape::Seq(_)) => de::Error::invalid_type(Unexpected::Seq, exp),
            Ok(Shape::Map(_)) => de::Error::invalid_type(Unexpected::Map, exp),
            Ok(Shape::Scalar(r)) => match r {
                Resolved::Null => de::Error::invalid_type(Unexpected::Unit, exp),
                Resolved::Bool(b) => de::Error::invalid_type(Unexpected::Bool(b), exp),
                Resolved::Unsigned(u) => de::Error::invalid_type(Unexpected::Unsigned(u), exp),
                Resolved::Signed(i) => de::Error::invalid_type(Unexpected::Signed(i), exp),
                Resolved::Unsigned128(u) => {
                    let what = format!("integer `{u}` as u128");
                    de::Error::invalid_type(Unexpected::Other(&what), exp)
                }
                Resolved::Signed128(i) => {
                    let what = format!("integer `{i}` as i128");
                    de::Error::invalid_type(Unexpected::Other(&what), exp)
                }
                Resolved::Float(f) => de::Error::invalid_type(Unexpected::Float(f), exp),
                Resolved::Str(s) => de::Error::invalid_type(Unexpected::Str(s), exp),
            },
        };
        self.fix(e)
    }

    /// Whether an `Option` holds a value: anything but a plain null or empty scalar.
    #[inline(never)]
    fn is_some(&self) -> Result<bool, Error> {
        match self.scalar() {
            None => Ok(true),
            Some((_, Style::Quoted | Style::Block, _)) => Ok(true),
            Some((text, Style::Plain, Tag::Core(t))) if t == "null" => {
                if scalar::is_null(text) {
                    Ok(false)
                } else {
                    Err(de::Error::invalid_value(Unexpected::Str(text), &"null"))
                }
            }
            Some((_, Style::Plain, Tag::Core(_))) => Ok(true),
            Some((text, Style::Plain, _)) => Ok(!(text.is_empty() || scalar::is_null(text))),
        }
    }

    /// A plain empty scalar reads as an empty sequence or mapping.
    #[inline(never)]
    fn is_empty_plain(&self) -> bool {
        matches!(self.scalar(), Some(("", Style::Plain, _)))
    }

    /// The check after a visitor read a sequence or mapping: it must have read every
    /// element, as serde_norway requires.
    #[inline(never)]
    fn check_length(&self, read: usize, total: usize, map: bool) -> Result<(), Error> {
        if read == total {
            return Ok(());
        }
        let expected = match (map, read) {
            (false, 1) => "sequence of 1 element".to_owned(),
            (false, n) => format!("sequence of {n} elements"),
            (true, 1) => "map containing 1 entry".to_owned(),
            (true, n) => format!("map containing {n} entries"),
        };
        Err(self.fix(de::Error::invalid_length(total, &expected.as_str())))
    }

    #[inline(never)]
    fn record_ignored(&self) {
        if !self.key {
            self.cx.ignored.borrow_mut().push(self.path.to_string());
        }
    }

    fn visit_seq<V: Visitor<'t>>(&self, items: &'t [NodeId], v: V) -> Result<V::Value, Error> {
        let mut access = SeqAccess { de: self, items, next: 0, depth: self.deeper()? };
        let value = v.visit_seq(&mut access)?;
        self.check_length(access.next, items.len(), false)?;
        Ok(value)
    }

    fn visit_map<V: Visitor<'t>>(
        &self,
        entries: &'t [(NodeId, NodeId)],
        v: V,
    ) -> Result<V::Value, Error> {
        let depth = self.deeper()?;
        let mut access = MapAccess { de: self, entries, next: 0, depth };
        let value = v.visit_map(&mut access)?;
        self.check_length(access.next, entries.len(), true)?;
        Ok(value)
    }
}

fn visit_resolved<'t, V: Visitor<'t>>(r: Resolved<'t>, v: V) -> Result<V::Value, Error> {
    match r {
        Resolved::Null => v.visit_unit(),
        Resolved::Bool(b) => v.visit_bool(b),
        Resolved::Unsigned(u) => v.visit_u64(u),
        Resolved::Signed(i) => v.visit_i64(i),
        Resolved::Unsigned128(u) => v.visit_u128(u),
        Resolved::Signed128(i) => v.visit_i128(i),
        Resolved::Float(f) => v.visit_f64(f),
        Resolved::Str(s) => v.visit_borrowed_str(s),
    }
}

/// Methods that read the same as another one.
macro_rules! forward {
    ($($method:ident => $target:ident,)*) => {$(
        fn $method<V: Visitor<'t>>(self, v: V) -> Result<V::Value, Error> {
            self.$target(v)
        }
    )*};
}

/// Methods that parse a plain scalar (or one tagged `!!<tag>`) into one visitor call.
macro_rules! plain_scalar {
    ($($method:ident($tag:literal, $parse:expr) => $visit:ident,)*) => {$(
        fn $method<V: Visitor<'t>>(self, v: V) -> Result<V::Value, Error> {
            match self.plain($tag).and_then($parse) {
                Some(x) => v.$visit(x).map_err(|e| self.fix(e)),
                None => Err(self.invalid_type(&v)),
            }
        }
    )*};
}

impl<'t> de::Deserializer<'t> for NodeDeserializer<'t, '_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'t>>(self, v: V) -> Result<V::Value, Error> {
        if let Some((_, _, Tag::Local(_))) = self.scalar() {
            return Err(self.fix(de::Error::invalid_type(Unexpected::Enum, &v)));
        }
        match self.shape()? {
            Shape::Seq(items) => self.visit_seq(items, v),
            Shape::Map(entries) => self.visit_map(entries, v),
            Shape::Scalar(r) => visit_resolved(r, v),
        }
        .map_err(|e| self.fix(e))
    }

    forward! {
        deserialize_i8 => deserialize_i64,
        deserialize_i16 => deserialize_i64,
        deserialize_i32 => deserialize_i64,
        deserialize_u8 => deserialize_u64,
        deserialize_u16 => deserialize_u64,
        deserialize_u32 => deserialize_u64,
        deserialize_f32 => deserialize_f64,
        deserialize_char => deserialize_str,
        deserialize_string => deserialize_str,
        deserialize_identifier => deserialize_str,
        deserialize_byte_buf => deserialize_bytes,
    }

    plain_scalar! {
        deserialize_bool("bool", scalar::parse_bool) => visit_bool,
        deserialize_i64("int", |t| scalar::parse_signed_int(t, i64::from_str_radix)) => visit_i64,
        deserialize_i128("int", |t| scalar::parse_signed_int(t, i128::from_str_radix)) => visit_i128,
        deserialize_u64("int", |t| scalar::parse_unsigned_int(t, u64::from_str_radix)) => visit_u64,
        deserialize_u128("int", |t| scalar::parse_unsigned_int(t, u128::from_str_radix)) => visit_u128,
        deserialize_f64("float", scalar::parse_f64) => visit_f64,
    }

    fn deserialize_str<V: Visitor<'t>>(self, v: V) -> Result<V::Value, Error> {
        match self.scalar() {
            Some((text, _, _)) => v.visit_borrowed_str(text).map_err(|e| self.fix(e)),
            None => Err(self.invalid_type(&v)),
        }
    }

    fn deserialize_bytes<V: Visitor<'t>>(self, _v: V) -> Result<V::Value, Error> {
        Err(Error::unplaced(
            "serialization and deserialization of bytes in YAML is not implemented",
        ))
    }

    fn deserialize_option<V: Visitor<'t>>(self, v: V) -> Result<V::Value, Error> {
        if self.is_some()? { v.visit_some(self) } else { v.visit_none() }
    }

    fn deserialize_unit<V: Visitor<'t>>(self, v: V) -> Result<V::Value, Error> {
        match self.scalar() {
            Some((text, Style::Plain, _)) if text.is_empty() || scalar::is_null(text) => {
                v.visit_unit().map_err(|e| self.fix(e))
            }
            Some((text, _, _)) => {
                Err(self.fix(de::Error::invalid_value(Unexpected::Str(text), &"null")))
            }
            None => Err(self.invalid_type(&v)),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'t>>(
        self,
        _name: &'static str,
        v: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_unit(v)
    }

    fn deserialize_newtype_struct<V: Visitor<'t>>(
        self,
        _name: &'static str,
        v: V,
    ) -> Result<V::Value, Error> {
        let depth = self.deeper()?;
        v.visit_newtype_struct(NodeDeserializer { depth, ..self })
    }

    fn deserialize_seq<V: Visitor<'t>>(self, v: V) -> Result<V::Value, Error> {
        match self.kind() {
            NodeKind::Seq(items) => self.visit_seq(items, v),
            _ if self.is_empty_plain() => self.visit_seq(&[], v),
            _ => Err(self.invalid_type(&v)),
        }
        .map_err(|e| self.fix(e))
    }

    fn deserialize_tuple<V: Visitor<'t>>(self, _len: usize, v: V) -> Result<V::Value, Error> {
        self.deserialize_seq(v)
    }

    fn deserialize_tuple_struct<V: Visitor<'t>>(
        self,
        _name: &'static str,
        _len: usize,
        v: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(v)
    }

    fn deserialize_map<V: Visitor<'t>>(self, v: V) -> Result<V::Value, Error> {
        match self.kind() {
            NodeKind::Map(entries) => self.visit_map(entries, v),
            _ if self.is_empty_plain() => self.visit_map(&[], v),
            _ => Err(self.invalid_type(&v)),
        }
        .map_err(|e| self.fix(e))
    }

    fn deserialize_struct<V: Visitor<'t>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_map(v)
    }

    fn deserialize_enum<V: Visitor<'t>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Error> {
        match self.kind() {
            NodeKind::Scalar { tag: Tag::None | Tag::Core(_), .. } => {
                v.visit_enum(UnitVariant { de: self })
            }
            NodeKind::Scalar { .. } => {
                Err(self.fix(de::Error::custom("enums written with a YAML tag are not supported")))
            }
            _ => {
                let unexpected =
                    if self.is_empty_plain() { Unexpected::Unit } else { Unexpected::Map };
                let unexpected = if matches!(self.kind(), NodeKind::Seq(_)) {
                    Unexpected::Seq
                } else {
                    unexpected
                };
                Err(self.fix(de::Error::invalid_type(unexpected, &"a YAML tag starting with '!'")))
            }
        }
    }

    fn deserialize_ignored_any<V: Visitor<'t>>(self, v: V) -> Result<V::Value, Error> {
        self.record_ignored();
        v.visit_unit()
    }
}

struct SeqAccess<'a, 't, 'p> {
    de: &'a NodeDeserializer<'t, 'p>,
    items: &'t [NodeId],
    next: usize,
    depth: u8,
}

impl<'t, 'p> SeqAccess<'_, 't, 'p> {
    /// The deserializer of the next element, if any.
    #[inline(never)]
    fn next(&mut self) -> Result<Option<NodeDeserializer<'t, '_>>, Error> {
        let Some(&item) = self.items.get(self.next) else { return Ok(None) };
        let path = Path::Seq(&self.de.path, self.next);
        self.next += 1;
        NodeDeserializer::enter(self.de.cx, item, path, self.depth, false).map(Some)
    }
}

impl<'t> de::SeqAccess<'t> for SeqAccess<'_, 't, '_> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'t>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        match self.next()? {
            Some(de) => seed.deserialize(de).map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len() - self.next)
    }
}

struct MapAccess<'a, 't, 'p> {
    de: &'a NodeDeserializer<'t, 'p>,
    entries: &'t [(NodeId, NodeId)],
    next: usize,
    depth: u8,
}

impl<'t, 'p> MapAccess<'_, 't, 'p> {
    /// The deserializer of the next key, if any.
    #[inline(never)]
    fn next_key(&mut self) -> Result<Option<NodeDeserializer<'t, 'p>>, Error> {
        let Some(&(key, _)) = self.entries.get(self.next) else { return Ok(None) };
        self.next += 1;
        NodeDeserializer::enter(self.de.cx, key, self.de.path, self.depth, true).map(Some)
    }

    /// The deserializer of the value of the key read last.
    #[inline(never)]
    fn value(&self) -> Result<NodeDeserializer<'t, '_>, Error> {
        let Some(&(key, value)) = self.entries.get(self.next.wrapping_sub(1)) else {
            return Err(Error::unplaced("value requested before its key"));
        };
        let path = match &self.de.cx.tree.node(key).kind {
            NodeKind::Scalar { text, .. } => Path::Map(&self.de.path, text),
            _ => Path::Unknown(&self.de.path),
        };
        NodeDeserializer::enter(self.de.cx, value, path, self.depth, false)
    }
}

impl<'t> de::MapAccess<'t> for MapAccess<'_, 't, '_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'t>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.next_key()? {
            Some(de) => seed.deserialize(de).map(Some),
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'t>>(&mut self, seed: V) -> Result<V::Value, Error> {
        seed.deserialize(self.value()?)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len() - self.next)
    }
}

/// An enum written as its variant's name.
struct UnitVariant<'t, 'p> {
    de: NodeDeserializer<'t, 'p>,
}

impl<'t, 'p> de::EnumAccess<'t> for UnitVariant<'t, 'p> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'t>>(self, seed: V) -> Result<(V::Value, Self), Error> {
        let de = NodeDeserializer { key: true, ..self.de };
        let variant = seed.deserialize(de)?;
        Ok((variant, self))
    }
}

impl<'t> de::VariantAccess<'t> for UnitVariant<'t, '_> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'t>>(self, _seed: T) -> Result<T::Value, Error> {
        Err(de::Error::invalid_type(Unexpected::UnitVariant, &"newtype variant"))
    }

    fn tuple_variant<V: Visitor<'t>>(self, _len: usize, _v: V) -> Result<V::Value, Error> {
        Err(de::Error::invalid_type(Unexpected::UnitVariant, &"tuple variant"))
    }

    fn struct_variant<V: Visitor<'t>>(
        self,
        _fields: &'static [&'static str],
        _v: V,
    ) -> Result<V::Value, Error> {
        Err(de::Error::invalid_type(Unexpected::UnitVariant, &"struct variant"))
    }
}
