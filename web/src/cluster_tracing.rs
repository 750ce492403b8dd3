//! The Cluster trace as the page computes it, shared by the Cluster trace panel (hops,
//! diagram, histogram) and the Rules panel (the rules the connection went through): the form
//! prepared into a request and experiments, the network built once per text and experiments,
//! and the trace once per request.
//!
//! Frozen rules ("kube-proxy stopped after sync") come from the older texts' computations,
//! which the page's cache keeps. Not responsible for rows and geometry (`view_model`) or for
//! HTML (the panels).

use std::collections::BTreeMap;
use std::rc::Rc;

use kpsim::settings::Mode;
use kpsim::sim::cluster::{ClusterNetwork, Experiments, TraceRequest};
use yew::prelude::*;

use crate::computed::{Computed, SameCluster};
use crate::view_model::cluster_trace::{
    ClusterTraceForm, ClusterTraceView, acted_rules, cluster_trace_view, prepare,
};
use crate::view_model::path_diagram::{PathDiagram, path_diagram};
use crate::view_model::rules::ActedRule;

/// One traced connection, as the panels show it.
#[derive(Debug, PartialEq)]
pub struct Traced {
    pub view: ClusterTraceView,
    pub diagram: Rc<PathDiagram>,
    /// The mode the connection was traced in (the Rules panel marks rules only in it).
    pub mode: Mode,
    /// Node → the rules the first flow went through there, with the hops they acted in.
    pub acted: BTreeMap<String, BTreeMap<ActedRule, Vec<usize>>>,
}

/// The stages, each memoised on its own inputs.
#[derive(Debug, Clone)]
pub struct ClusterTracing {
    pub prepared: Rc<Result<(TraceRequest, Experiments), String>>,
    pub network: Rc<Result<Rc<ClusterNetwork>, String>>,
    pub traced: Rc<Result<Traced, String>>,
}

/// The same computation (cheap to compare in props).
impl PartialEq for ClusterTracing {
    fn eq(&self, other: &ClusterTracing) -> bool {
        Rc::ptr_eq(&self.prepared, &other.prepared)
            && Rc::ptr_eq(&self.network, &other.network)
            && Rc::ptr_eq(&self.traced, &other.traced)
    }
}

/// The cluster trace of `form` over `computed`; `frozen` are the computations of the texts
/// the form's frozen rules were synced from.
#[hook]
pub fn use_cluster_tracing(
    computed: Option<Rc<Computed>>,
    form: ClusterTraceForm,
    frozen: Rc<Vec<Rc<Computed>>>,
) -> ClusterTracing {
    let frozen_ids: Vec<u64> = frozen.iter().map(|c| c.id()).collect();
    let prepared = use_memo((computed.clone(), form.clone(), frozen_ids), {
        let frozen = Rc::clone(&frozen);
        move |(c, form, _)| {
            let c = c.as_ref().ok_or("paused")?;
            let older =
                |text: &str| frozen.iter().find(|f| *f.text == *text).map(|f| &f.analysis.cluster);
            prepare(form, &c.analysis.cluster, c.family, older)
        }
    });
    // The network (every node's rules) depends only on the text and the experiments: typing
    // in from/to or changing the seed does not rebuild it.
    let experiments = prepared.as_ref().as_ref().ok().map(|(_, e)| e.clone());
    // Nor does an edit that leaves the cluster as it was.
    let same_cluster = computed.clone().map(SameCluster);
    let network = use_memo((same_cluster.clone(), experiments), |(c, experiments)| {
        let (SameCluster(c), e) = c.as_ref().zip(experiments.as_ref()).ok_or("no experiments")?;
        ClusterNetwork::new(&c.analysis.cluster, e).map(Rc::new).map_err(|e| e.to_string())
    });
    let traced = {
        let (prepared, network) = (Rc::clone(&prepared), Rc::clone(&network));
        use_memo((same_cluster, form), move |(c, form)| {
            let SameCluster(c) = c.as_ref().ok_or("paused")?;
            let (request, experiments) = prepared.as_ref().as_ref().map_err(Clone::clone)?;
            let network = network.as_ref().as_ref().map_err(Clone::clone)?;
            let trace = network.trace(request).map_err(|e| e.to_string())?;
            let diagram = path_diagram(&trace, &c.analysis.cluster, c.family, |n| {
                form.kube_proxy(n).diagram_note()
            });
            Ok(Traced {
                view: cluster_trace_view(&trace),
                diagram: Rc::new(diagram),
                mode: experiments.mode,
                acted: acted_rules(&trace),
            })
        })
    };
    ClusterTracing { prepared, network, traced }
}
