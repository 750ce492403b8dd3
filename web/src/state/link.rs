//! Share links: the whole [`Doc`] in the URL fragment, as `#v1:` + base64url(deflate(JSON)).
//!
//! The version prefix lets a later kpsim change the payload and still recognise old links; a
//! link from a newer kpsim, or a damaged one, is an error the page shows — it never replaces
//! the saved work on its own. Nothing here touches the browser.
//!
//! Versions: v1 — text, selections, forms, looks. v2 adds kube-proxy stopped after sync per
//! node (the Cluster trace form's `frozen` snapshots) and the edit count they are dated by;
//! a v1 link opens as a v2 document with every node's kube-proxy running or never run, as
//! it said. A v2 link is refused by a v1 page as "newer" rather than opened without its
//! frozen rules (which would silently change what a trace shows).

use data_encoding::BASE64URL_NOPAD;

use super::doc::Doc;

/// The payload version this page writes (it reads every version from 1 up to it).
pub const VERSION: u32 = 2;

/// A decompressed document larger than this is refused (a link is input like any other).
const MAX_JSON: usize = 48 * 1024 * 1024;

/// Why a fragment could not be opened.
#[derive(Debug, Clone, PartialEq)]
pub enum LinkError {
    /// Made by a newer kpsim; `doc` is what this version could make of it, if anything.
    TooNew { version: u32, doc: Option<Box<Doc>> },
    /// Not a link kpsim made, or cut or changed on the way.
    Damaged(String),
}

impl LinkError {
    /// One sentence for the page.
    pub fn message(&self) -> String {
        match self {
            LinkError::TooNew { version, .. } => format!(
                "This link was made by a newer kpsim (link format v{version}; this page reads v{VERSION})."
            ),
            LinkError::Damaged(why) => format!("This link cannot be opened: {why}."),
        }
    }
}

/// The fragment (without `#`) that carries `doc`.
pub fn encode(doc: &Doc) -> String {
    let json = doc.to_json();
    let deflated = miniz_oxide::deflate::compress_to_vec(json.as_bytes(), 9);
    format!("v{VERSION}:{}", BASE64URL_NOPAD.encode(&deflated))
}

/// The document a fragment (without `#`) carries: `Ok(None)` for an empty fragment.
pub fn decode(fragment: &str) -> Result<Option<Doc>, LinkError> {
    if fragment.is_empty() {
        return Ok(None);
    }
    let Some((version, payload)) = fragment
        .strip_prefix('v')
        .and_then(|rest| rest.split_once(':'))
        .and_then(|(v, payload)| v.parse::<u32>().ok().map(|v| (v, payload)))
    else {
        return Err(LinkError::Damaged("it does not start with a kpsim version (#v1:…)".into()));
    };
    if version > VERSION {
        return Err(LinkError::TooNew { version, doc: payload_doc(payload).ok().map(Box::new) });
    }
    if version == 0 {
        return Err(LinkError::Damaged("there is no link format v0".into()));
    }
    payload_doc(payload).map(|doc| Some(migrate(version, doc))).map_err(LinkError::Damaged)
}

/// A document read from a link of `version`, as this version holds it. v1 → v2: the fields
/// v2 added take their defaults (no frozen rules, edit count 0), which `Doc`'s defaults
/// already give; this is where a change of meaning would go.
fn migrate(version: u32, doc: Doc) -> Doc {
    match version {
        1 => Doc { edits: 0, ..doc },
        _ => doc,
    }
}

fn payload_doc(payload: &str) -> Result<Doc, String> {
    let bytes = BASE64URL_NOPAD
        .decode(payload.as_bytes())
        .map_err(|_| "its data is not valid base64url (was it cut short?)".to_owned())?;
    let json = miniz_oxide::inflate::decompress_to_vec_with_limit(&bytes, MAX_JSON)
        .map_err(|_| "its data does not decompress (was it cut short or changed?)".to_owned())?;
    let json = String::from_utf8(json).map_err(|_| "its data is not text".to_owned())?;
    Doc::from_json(&json).map_err(|e| format!("its data is not a kpsim state ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::examples;

    #[test]
    fn a_link_round_trips_the_whole_document() {
        let doc = Doc {
            text: examples::ALL[3].text.into(),
            example: Some(examples::ALL[3].id.into()),
            node: Some("minikube-m02".into()),
            presentation: true,
            ..Doc::default()
        };
        let link = encode(&doc);
        assert!(link.starts_with("v2:"));
        assert!(link.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_:".contains(&b)), "{link}");
        assert_eq!(decode(&link), Ok(Some(doc)));
    }

    #[test]
    fn the_walkthrough_link_is_short() {
        let link = encode(&Doc::default());
        assert!(link.len() < 1200, "{} characters", link.len());
    }

    #[test]
    fn an_empty_fragment_is_no_link() {
        assert_eq!(decode(""), Ok(None));
    }

    #[test]
    fn a_link_from_a_newer_version_is_an_error_that_may_still_be_read() {
        let current = encode(&Doc::default());
        let newer = current.replacen("v2:", "v7:", 1);
        match decode(&newer) {
            Err(LinkError::TooNew { version: 7, doc: Some(doc) }) => {
                assert_eq!(*doc, Doc::default())
            }
            other => panic!("{other:?}"),
        }
        match decode("v3:garbage") {
            Err(e @ LinkError::TooNew { version: 3, doc: None }) => {
                assert!(e.message().contains("newer kpsim"), "{}", e.message());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn damaged_links_are_errors() {
        let link = encode(&Doc::default());
        let cut = &link[..link.len() / 2];
        for bad in ["hello", "v1", "vx:abc", "v0:abc", "v1:!!!", cut, "v1:AAAA"] {
            match decode(bad) {
                Err(LinkError::Damaged(why)) => assert!(!why.is_empty()),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_link_that_is_json_but_not_a_document_is_damaged() {
        let deflated = miniz_oxide::deflate::compress_to_vec(b"[1,2,3]", 9);
        let link = format!("v1:{}", BASE64URL_NOPAD.encode(&deflated));
        assert!(matches!(decode(&link), Err(LinkError::Damaged(_))));
    }

    /// A link as the v1 page wrote it (its JSON had no `frozen` and no `edits`).
    fn v1_link(json: &str) -> String {
        let deflated = miniz_oxide::deflate::compress_to_vec(json.as_bytes(), 9);
        format!("v1:{}", BASE64URL_NOPAD.encode(&deflated))
    }

    #[test]
    fn a_v1_link_still_opens_with_its_experiments() {
        let json = r#"{"text":"a: 1\n","example":null,"node":"minikube","mode":"iptables","spelling":"written","chains":{},"theme":"system","presentation":false,"split":40,"cluster_trace":{"from":"pod-client","to":"service:8080","protocol":"tcp","mode":"nftables","stopped_everywhere":false,"stopped_on":["minikube"],"seed":3,"all_branches":false}}"#;
        let doc = decode(&v1_link(json)).expect("opens").expect("a document");
        assert_eq!(&*doc.text, "a: 1\n");
        let form = &doc.cluster_trace;
        assert!(form.stopped("minikube") && !form.stopped("minikube-m02"));
        assert!(form.frozen.is_empty());
        assert_eq!((form.mode, form.seed, doc.edits), (kpsim::settings::Mode::Nftables, 3, 0));
    }

    #[test]
    fn frozen_rules_travel_in_a_v2_link() {
        use crate::view_model::kube_proxy::KubeProxyChoice;
        let mut doc = Doc { text: "b: 2\n".into(), edits: 7, ..Doc::default() };
        let now = doc.snapshot();
        doc.cluster_trace.set_kube_proxy(
            &["minikube".to_owned()],
            KubeProxyChoice::StoppedAfterSync,
            &now,
        );
        doc.text = "b: 3\n".into();
        let back = decode(&encode(&doc)).expect("opens").expect("a document");
        assert_eq!(back, doc);
        assert_eq!(&*back.cluster_trace.frozen["minikube"].text, "b: 2\n");
        assert_eq!(back.cluster_trace.frozen["minikube"].edit, 7);
    }
}
