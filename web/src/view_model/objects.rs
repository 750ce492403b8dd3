//! The objects read from the editor's text: kind and `namespace/name`, in input order, as
//! `kpsim check` lists them.
//!
//! Not responsible for what the objects mean (the Cluster panel's [`super::cluster`]).

use kpsim::diagnostic::has_errors;
use kpsim::manifest::{Manifests, Object};

/// One object of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRow {
    pub kind: String,
    /// `namespace/name`, or `name` for cluster-scoped kinds.
    pub name: String,
    /// 1-based line where the object starts.
    pub line: usize,
}

/// The objects, or `None` when the text could not be read without errors (then the
/// diagnostics say why, and a partial list would mislead).
pub fn object_rows(manifests: &Manifests) -> Option<Vec<ObjectRow>> {
    if has_errors(&manifests.diagnostics) {
        return None;
    }
    Some(manifests.objects.iter().map(object_row).collect())
}

fn object_row(object: &Object) -> ObjectRow {
    let r = &object.resource;
    let name = if r.is_cluster_scoped() {
        r.name().to_owned()
    } else {
        format!("{}/{}", r.namespace(), r.name())
    };
    ObjectRow { kind: r.kind().to_owned(), name, line: object.location.line }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::examples;

    fn rows(text: &str) -> Option<Vec<String>> {
        object_rows(&kpsim::manifest::parse(text)).map(|rows| {
            rows.into_iter().map(|r| format!("{} {} @{}", r.kind, r.name, r.line)).collect()
        })
    }

    #[test]
    fn the_walkthrough_has_three_pods_and_a_service_in_input_order() {
        assert_eq!(
            rows(examples::WALKTHROUGH.text)
                .expect("rows")
                .iter()
                .map(|r| r.split(" @").next().unwrap_or_default())
                .collect::<Vec<_>>(),
            [
                "Pod default/pod-client",
                "Pod default/server-pod-1",
                "Pod default/server-pod-2",
                "Service default/service"
            ]
        );
    }

    #[test]
    fn cluster_scoped_objects_have_no_namespace() {
        assert_eq!(
            rows("apiVersion: v1\nkind: Node\nmetadata: {name: n1}\n"),
            Some(vec!["Node n1 @1".to_owned()])
        );
    }

    #[test]
    fn broken_text_lists_nothing() {
        assert_eq!(rows("kind: [\n"), None);
    }
}
