//! Share links: the whole [`Doc`] in the URL fragment, as `#v1:` + base64url(deflate(JSON)).
//!
//! The version prefix lets a later kpsim change the payload and still recognise old links; a
//! link from a newer kpsim, or a damaged one, is an error the page shows — it never replaces
//! the saved work on its own. Nothing here touches the browser.

use data_encoding::BASE64URL_NOPAD;

use super::doc::Doc;

/// The payload version this page writes and reads.
pub const VERSION: u32 = 1;

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
    payload_doc(payload).map(Some).map_err(LinkError::Damaged)
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
        assert!(link.starts_with("v1:"));
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
        let newer = current.replacen("v1:", "v7:", 1);
        match decode(&newer) {
            Err(LinkError::TooNew { version: 7, doc: Some(doc) }) => {
                assert_eq!(*doc, Doc::default())
            }
            other => panic!("{other:?}"),
        }
        match decode("v2:garbage") {
            Err(e @ LinkError::TooNew { version: 2, doc: None }) => {
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
}
