//! The document: everything a person made on the page and would be sad to lose — the text,
//! every selection, every switch, the theme. It is what is autosaved and what a share link
//! carries, as JSON.
//!
//! Every field has a default, and unknown fields are ignored, so an older or newer saved
//! document still opens. Not responsible for where it is stored (`crate::browser`) or how a
//! link encodes it ([`super::link`]).

use std::collections::BTreeMap;
use std::rc::Rc;

use kpsim::settings::Mode;
use serde::{Deserialize, Serialize};
use yew::AttrValue;

use crate::examples;
use crate::view_model::cluster_trace::ClusterTraceForm;
use crate::view_model::kube_proxy::FrozenRules;
use crate::view_model::rules::Spelling;
use crate::view_model::trace::TraceForm;

/// Light, dark, or whatever the system prefers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    #[default]
    System,
    Light,
    Dark,
}

impl Theme {
    /// System → light → dark → system.
    pub fn next(self) -> Theme {
        match self {
            Theme::System => Theme::Light,
            Theme::Light => Theme::Dark,
            Theme::Dark => Theme::System,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Theme::System => "Theme: system",
            Theme::Light => "Theme: light",
            Theme::Dark => "Theme: dark",
        }
    }

    /// The `data-theme` attribute of the page (`None`: follow `prefers-color-scheme`).
    pub fn attribute(self) -> Option<&'static str> {
        match self {
            Theme::System => None,
            Theme::Light => Some("light"),
            Theme::Dark => Some("dark"),
        }
    }
}

/// The editor's share of the width, in percent.
pub const SPLIT_MIN: u8 = 20;
pub const SPLIT_MAX: u8 = 75;
pub const SPLIT_DEFAULT: u8 = 40;

/// Everything that is saved and shared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Doc {
    /// The YAML in the editor, exactly as typed.
    #[serde(with = "attr_value")]
    pub text: AttrValue,
    /// The example last opened, if the text came from one.
    pub example: Option<String>,
    /// The node whose endpoints and rules are shown (`None`: the first node).
    pub node: Option<String>,
    pub mode: Mode,
    pub spelling: Spelling,
    /// Chains the user opened or closed in the jump graph (`table/chain` → open).
    pub chains: BTreeMap<String, bool>,
    pub theme: Theme,
    /// Larger type for projectors.
    pub presentation: bool,
    /// The editor's share of the width, in percent.
    pub split: u8,
    /// What the Trace panel traces.
    pub trace: TraceForm,
    /// What the Cluster trace panel traces.
    pub cluster_trace: ClusterTraceForm,
    /// How many times the text changed: the page's clock for "rules frozen at edit N" (the
    /// core has no clock, and a count says more to a learner than a time).
    pub edits: u64,
}

impl Default for Doc {
    fn default() -> Doc {
        Doc {
            text: AttrValue::Static(examples::WALKTHROUGH.text),
            example: Some(examples::WALKTHROUGH.id.to_owned()),
            node: None,
            mode: Mode::Iptables,
            spelling: Spelling::Written,
            chains: BTreeMap::new(),
            theme: Theme::System,
            presentation: false,
            split: SPLIT_DEFAULT,
            trace: TraceForm::default(),
            cluster_trace: ClusterTraceForm::default(),
            edits: 0,
        }
    }
}

impl Doc {
    /// The document as JSON (what is stored).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a document, then brings every value into range: a stored or linked document is
    /// input like any other.
    pub fn from_json(json: &str) -> Result<Doc, String> {
        let doc: Doc = serde_json::from_str(json).map_err(|e| e.to_string())?;
        Ok(doc.normalized())
    }

    /// The text as it is now, for rules frozen at this edit.
    pub fn snapshot(&self) -> FrozenRules {
        FrozenRules { text: Rc::from(&*self.text), edit: self.edits }
    }

    fn normalized(mut self) -> Doc {
        self.split = self.split.clamp(SPLIT_MIN, SPLIT_MAX);
        self
    }
}

/// `AttrValue` (a cheaply cloned string) as a JSON string.
mod attr_value {
    use serde::{Deserialize, Deserializer, Serializer};
    use yew::AttrValue;

    pub fn serialize<S: Serializer>(value: &AttrValue, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(value)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<AttrValue, D::Error> {
        String::deserialize(d).map(AttrValue::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_round_trips_through_json() {
        let mut doc = Doc { text: "a: 1\n".into(), mode: Mode::Nftables, ..Doc::default() };
        doc.chains.insert("nat/KUBE-SERVICES".into(), false);
        assert_eq!(Doc::from_json(&doc.to_json()), Ok(doc));
    }

    #[test]
    fn missing_fields_default_and_unknown_fields_are_ignored() {
        let doc = Doc::from_json(r#"{"text":"x: 1\n","from_the_future":[1,2]}"#).expect("doc");
        assert_eq!(&*doc.text, "x: 1\n");
        assert_eq!(doc.split, SPLIT_DEFAULT);
        assert_eq!(doc.theme, Theme::System);
    }

    #[test]
    fn out_of_range_values_are_brought_back() {
        let doc = Doc::from_json(r#"{"split":3,"mode":"ipvs"}"#).expect("doc");
        assert_eq!(doc.split, SPLIT_MIN);
        assert_eq!(doc.mode, Mode::Ipvs, "every mode is shown");
        assert!(Doc::from_json(r#"{"split":"wide"}"#).is_err());
        assert!(Doc::from_json("not json").is_err());
    }

    #[test]
    fn the_theme_cycles_through_three_states() {
        assert_eq!(Theme::System.next().next().next(), Theme::System);
        assert_eq!(Theme::Dark.attribute(), Some("dark"));
        assert_eq!(Theme::System.attribute(), None);
    }
}
