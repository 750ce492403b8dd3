//! The `apiVersion` and `kind` of every item of a List, read in the same pass that routes
//! the document, without building a value for anything else.
//!
//! Building a generic value for each item of a 10,000-object List costs more than parsing
//! the text; with the heads known, each item is decoded straight from its own text (see
//! [`super::list`]). Reading is lenient: anything that is not a sequence of mappings yields
//! no heads, and the caller takes the slower, general path.

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// `apiVersion` and `kind` of one item (empty when absent or not strings).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemHead {
    pub api_version: String,
    pub kind: String,
}

/// The heads of the items of `items`, or `None` when `items` is not a sequence.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemHeads(pub Option<Vec<ItemHead>>);

macro_rules! not_this_shape {
    ($value:ty => $none:expr; $($method:ident: $t:ty),*) => {$(
        fn $method<E: de::Error>(self, _: $t) -> Result<$value, E> {
            Ok($none)
        }
    )*};
}

struct HeadsVisitor;

impl<'de> Visitor<'de> for HeadsVisitor {
    type Value = ItemHeads;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sequence of objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ItemHeads, A::Error> {
        let mut heads = Vec::new();
        while let Some(head) = seq.next_element::<ItemHead>()? {
            heads.push(head);
        }
        Ok(ItemHeads(Some(heads)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ItemHeads, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(ItemHeads(None))
    }

    fn visit_unit<E: de::Error>(self) -> Result<ItemHeads, E> {
        Ok(ItemHeads(None))
    }

    fn visit_none<E: de::Error>(self) -> Result<ItemHeads, E> {
        Ok(ItemHeads(None))
    }

    not_this_shape!(ItemHeads => ItemHeads(None); visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64, visit_str: &str);
}

impl<'de> de::Deserialize<'de> for ItemHeads {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ItemHeads, D::Error> {
        deserializer.deserialize_any(HeadsVisitor)
    }
}

struct HeadVisitor;

impl<'de> Visitor<'de> for HeadVisitor {
    type Value = ItemHead;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ItemHead, A::Error> {
        let mut head = ItemHead::default();
        while let Some(key) = map.next_key::<serde_norway::Value>()? {
            match key.as_str() {
                Some("apiVersion") => {
                    let v: serde_norway::Value = map.next_value()?;
                    head.api_version = v.as_str().unwrap_or("").to_owned();
                }
                Some("kind") => {
                    let v: serde_norway::Value = map.next_value()?;
                    head.kind = v.as_str().unwrap_or("").to_owned();
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(head)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ItemHead, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(ItemHead::default())
    }

    fn visit_unit<E: de::Error>(self) -> Result<ItemHead, E> {
        Ok(ItemHead::default())
    }

    fn visit_none<E: de::Error>(self) -> Result<ItemHead, E> {
        Ok(ItemHead::default())
    }

    not_this_shape!(ItemHead => ItemHead::default(); visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64, visit_str: &str);
}

impl<'de> de::Deserialize<'de> for ItemHead {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ItemHead, D::Error> {
        deserializer.deserialize_any(HeadVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Doc {
        #[serde(default)]
        items: Option<ItemHeads>,
    }

    fn heads(text: &str) -> Option<Vec<ItemHead>> {
        serde_norway::from_str::<Doc>(text).ok()?.items?.0
    }

    #[test]
    fn reads_each_items_api_version_and_kind_only() {
        let h = heads(
            "items:\n- {apiVersion: v1, kind: Pod, spec: {a: [1, 2]}}\n- kind: Service\n- 7\n",
        )
        .unwrap();
        let pairs: Vec<(&str, &str)> =
            h.iter().map(|h| (h.api_version.as_str(), h.kind.as_str())).collect();
        assert_eq!(pairs, [("v1", "Pod"), ("", "Service"), ("", "")]);
    }

    #[test]
    fn items_of_another_shape_give_no_heads() {
        assert_eq!(heads("items: {a: 1}\n"), None);
        assert_eq!(heads("items: text\n"), None);
        assert_eq!(heads("kind: Pod\n"), None);
    }
}
