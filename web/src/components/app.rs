//! The root component: owns the reducer, runs the core on the editor's text (memoised per
//! text by [`Cache`]), saves the document, and lays out the editor beside the panels.

use std::collections::BTreeMap;
use std::rc::Rc;

use kpsim::sim::Choices;
use yew::prelude::*;

use crate::browser;
use crate::cluster_tracing::use_cluster_tracing;
use crate::components::cluster_panel::ClusterPanel;
use crate::components::cluster_trace_panel::ClusterTracePanel;
use crate::components::diagnostic_list::DiagnosticList;
use crate::components::editor::Editor;
use crate::components::endpoints_panel::EndpointsPanel;
use crate::components::examples_gallery::ExamplesGallery;
use crate::components::header::Header;
use crate::components::node_mode_bar::NodeModeBar;
use crate::components::notice_bar::NoticeBar;
use crate::components::object_list::ObjectList;
use crate::components::panel_nav::PanelNav;
use crate::components::rules_panel::RulesPanel;
use crate::components::share_dialog::ShareDialog;
use crate::components::splitter::Splitter;
use crate::components::trace_panel::{TracePanel, TraceResult};
use crate::computed::{Cache, Computed};
use crate::state::doc::Doc;
use crate::state::{Action, State, link};
use crate::view_model::diagnostics::{DiagnosticsView, diagnostics_view};
use crate::view_model::editor::{EditorView, editor_view};
use crate::view_model::kube_proxy::{NodeKubeProxy, frozen_status};
use crate::view_model::objects::object_rows;
use crate::view_model::rules::ActedRule;
use crate::view_model::trace::{node_trace_view, resolve, suggestions};

/// The whole page.
#[component]
pub fn App() -> Html {
    let state = use_reducer(|| {
        let saved = browser::saved_doc();
        State::open(saved.as_deref(), &browser::fragment(), browser::was_computing())
    });
    let dispatch = {
        let state = state.clone();
        Callback::from(move |action: Action| state.dispatch(action))
    };
    let save_error = use_state(|| None::<String>);
    let cache = use_memo((), |()| Cache::default());
    let doc = Rc::clone(&state.doc);

    // Autosave every change; forget a share link in the address bar once the document differs.
    {
        let (save_error, shared) = (save_error.clone(), state.shared.clone());
        let previous = use_mut_ref(|| None::<Rc<Doc>>);
        use_effect_with(Rc::clone(&doc), move |doc| {
            let changed = previous.borrow().as_ref().is_some_and(|p| !Rc::ptr_eq(p, doc));
            if changed
                && !browser::fragment().is_empty()
                && shared.is_none_or(|s| !Rc::ptr_eq(&s.doc, doc))
            {
                browser::replace_fragment("");
            }
            *previous.borrow_mut() = Some(Rc::clone(doc));
            let result = browser::save_doc(&doc.to_json()).err();
            if *save_error != result {
                save_error.set(result);
            }
        });
    }
    // Keep what a link replaced, even if the page is closed before "Back to my work".
    {
        let notice = state.notice.clone();
        use_effect_with(notice, |notice| {
            if let Some(crate::state::Notice::LinkOpened { previous }) = notice {
                browser::save_before_link(&previous.to_json());
            }
        });
    }
    use_effect_with((doc.theme, doc.presentation), |(theme, presentation)| {
        browser::apply_looks(theme.attribute(), *presentation);
    });
    use_effect_with(doc.split, |split| browser::apply_split(*split));
    // The "computing" mark is cleared once the page rendered: a mark left behind means the
    // core stopped this session, and the next one opens paused.
    use_effect(|| browser::set_computing(false));

    let computed: Option<Rc<Computed>> = if state.paused {
        None
    } else {
        browser::set_computing(true);
        Some(cache.get(&doc.text))
    };
    let editor: Rc<EditorView> =
        use_memo((doc.text.clone(), computed.as_ref().map(|c| c.id())), |_| match &computed {
            Some(c) => editor_view(&c.text, &c.analysis.diagnostics),
            None => editor_view(&doc.text, &[]),
        });
    let diagnostics: Rc<DiagnosticsView> = use_memo(computed.as_ref().map(|c| c.id()), |_| {
        computed.as_ref().map(|c| diagnostics_view(&c.analysis.diagnostics)).unwrap_or_default()
    });
    let objects = use_memo(computed.as_ref().map(|c| c.id()), |_| {
        computed.as_ref().and_then(|c| object_rows(&c.analysis.manifests))
    });
    let node: AttrValue = computed
        .as_ref()
        .map(|c| AttrValue::from(c.node_or_first(doc.node.as_deref()).to_owned()))
        .unwrap_or_default();
    // The texts kube-proxy last synced on nodes where it stopped after a sync.
    let frozen: Rc<Vec<Rc<Computed>>> = {
        let texts: Vec<AttrValue> = match &computed {
            Some(_) => doc
                .cluster_trace
                .frozen
                .values()
                .map(|f| AttrValue::from(Rc::clone(&f.text)))
                .collect(),
            None => Vec::new(),
        };
        let mut all: Vec<Rc<Computed>> = Vec::new();
        for text in texts {
            let c = cache.get(&text);
            if !all.iter().any(|a| Rc::ptr_eq(a, &c)) {
                all.push(c);
            }
        }
        let ids: Vec<u64> = all.iter().map(|c| c.id()).collect();
        use_memo(ids, move |_| all)
    };
    // Node → the computation of the text its kube-proxy last synced, where it stopped after a
    // sync: the Rules and Trace panels show and walk those rules, as the Cluster trace does.
    let synced: Rc<BTreeMap<String, Rc<Computed>>> = {
        let form = &doc.cluster_trace;
        let mut map: BTreeMap<String, Rc<Computed>> = BTreeMap::new();
        map.extend(
            form.frozen
                .iter()
                .filter(|(n, _)| matches!(form.kube_proxy(n), NodeKubeProxy::Frozen(_)))
                .filter_map(|(n, f)| {
                    frozen.iter().find(|c| *c.text == *f.text).map(|c| (n.clone(), Rc::clone(c)))
                }),
        );
        let ids: Vec<(String, u64)> = map.iter().map(|(n, c)| (n.clone(), c.id())).collect();
        use_memo(ids, move |_| map)
    };
    let trace: Option<Rc<TraceResult>> = {
        let deps =
            (computed.clone(), doc.trace.clone(), doc.mode, node.clone(), Rc::clone(&synced));
        let result = use_memo(deps, |(computed, form, mode, node, synced)| {
            let c = computed.as_ref()?;
            let resolved = resolve(form, &c.analysis.cluster, c.family, node);
            Some(match resolved {
                Ok(r) => {
                    let rules = synced.get(&r.node).unwrap_or(c).rules(&r.node, *mode);
                    let entry = kpsim::sim::entry_for(&rules.settings, r.packet.src);
                    let choices = if form.all_branches {
                        Choices::AllBranches
                    } else {
                        Choices::Seed(form.seed)
                    };
                    let t = kpsim::sim::trace_node(
                        &rules.ruleset,
                        &rules.settings,
                        r.packet,
                        entry,
                        choices,
                    );
                    TraceResult {
                        view: Ok(node_trace_view(&t, &c.analysis.cluster)),
                        resolved: Some(r),
                    }
                }
                Err(why) => TraceResult { resolved: None, view: Err(why) },
            })
        });
        (*result).clone().map(Rc::new)
    };
    let suggestions = use_memo(computed.clone(), |c| {
        c.as_ref().map(|c| suggestions(&c.analysis.cluster, c.family)).unwrap_or_default()
    });
    let tracing =
        use_cluster_tracing(computed.clone(), doc.cluster_trace.clone(), Rc::clone(&frozen));
    // With pods marked not ready the trace walked other rules than the manifests' (the Rules
    // panel's): none of its rules are marked there.
    let not_ready = computed
        .as_ref()
        .map(|c| doc.cluster_trace.not_ready_in(&c.analysis.cluster))
        .unwrap_or_default();
    let cluster_acted = match tracing.traced.as_ref() {
        Ok(t) if t.mode == doc.mode && not_ready.is_empty() => t.acted.clone(),
        _ => Default::default(),
    };
    // The Rules panel marks what the traces matched when it shows a node they went through.
    let acted = {
        let mut acted: BTreeMap<ActedRule, Vec<usize>> =
            cluster_acted.get(node.as_str()).cloned().unwrap_or_default();
        if let Some(TraceResult { view: Ok(v), .. }) = trace.as_deref()
            && *v.node == *node
            && v.mode == doc.mode
        {
            for rule in &v.acted {
                acted.entry(rule.clone()).or_default();
            }
        }
        use_memo(acted, |a| a.clone())
    };
    let kube_proxy_here = doc.cluster_trace.kube_proxy(&node);
    let rules_frozen = match kube_proxy_here {
        NodeKubeProxy::Frozen(f) => synced.get(node.as_str()).map(|c| {
            let note = format!(
                "In the Cluster trace, kube-proxy on {node} stopped after a sync: these are the rules it left behind (the Trace panel walks them too), {} — not what the manifests now say.",
                frozen_status(f, &doc.text, doc.edits)
            );
            (Rc::clone(c), AttrValue::from(note))
        }),
        _ => None,
    };
    let rules_note = if kube_proxy_here == NodeKubeProxy::NeverRan {
        Some(AttrValue::from(format!(
            "In the Cluster trace, kube-proxy never ran on {node}: the node has none of these rules."
        )))
    } else if !not_ready.is_empty() {
        let pods = not_ready.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
        Some(AttrValue::from(format!(
            "The Cluster trace marks {pods} not ready: there kube-proxy leaves those endpoints out, so its rules differ from these (the manifests as written) and are not marked here."
        )))
    } else {
        None
    };
    // The node picker says where the Cluster trace acted and where rules are frozen.
    let node_marks: Rc<BTreeMap<String, String>> = {
        let mut marks = BTreeMap::new();
        for n in computed.iter().flat_map(|c| &c.nodes) {
            let mut words = Vec::new();
            match doc.cluster_trace.kube_proxy(n) {
                NodeKubeProxy::Frozen(f) => words.push(format!("rules frozen at edit {}", f.edit)),
                NodeKubeProxy::NeverRan => words.push("no kube-proxy".to_owned()),
                NodeKubeProxy::Running => {}
            }
            let hops: usize =
                cluster_acted.get(n).map_or(0, |r| r.values().filter(|h| !h.is_empty()).count());
            if hops > 0 {
                words.push(format!("traced: {hops} rule{}", if hops == 1 { "" } else { "s" }));
            }
            if !words.is_empty() {
                marks.insert(n.clone(), words.join(", "));
            }
        }
        use_memo(marks, |m| m.clone())
    };
    let chains = use_memo(doc.chains.clone(), |c| c.clone());

    let on_edit = {
        let dispatch = dispatch.clone();
        Callback::from(move |text: String| dispatch.emit(Action::Edit(text)))
    };
    let send = |action: Action| {
        let dispatch = dispatch.clone();
        Callback::from(move |()| dispatch.emit(action.clone()))
    };
    let on_share = {
        let (dispatch, doc) = (dispatch.clone(), Rc::clone(&doc));
        Callback::from(move |()| {
            if let Some(url) = browser::replace_fragment(&link::encode(&doc)) {
                dispatch.emit(Action::Shared(url));
            }
        })
    };
    let on_split = {
        let dispatch = dispatch.clone();
        Callback::from(move |split: u8| dispatch.emit(Action::SetSplit(split)))
    };
    html! {
        <div class="app">
            <a class="skip-link" href="#panel-cluster-title">{ "Skip to the results" }</a>
            <Header theme={doc.theme} presentation={doc.presentation}
                    on_examples={send(Action::ShowExamples(true))} {on_share}
                    on_theme={send(Action::CycleTheme)} on_presentation={send(Action::TogglePresentation)} />
            <NoticeBar notice={state.notice.clone()} save_error={(*save_error).clone()}
                       paused={state.paused} dispatch={dispatch.clone()} />
            <main class="workspace">
                <section id="editor-pane" class="editor-pane" aria-label="Input">
                    <Editor text={doc.text.clone()} view={editor} on_edit={on_edit} />
                    <DiagnosticList view={diagnostics} text={doc.text.clone()} />
                    if let Some(rows) = &*objects {
                        <ObjectList rows={rows.clone()} />
                    }
                </section>
                <Splitter split={doc.split} on_change={on_split} />
                <section class="results" aria-label="What kube-proxy does">
                    if let Some(c) = &computed {
                        <div class="results-bar">
                            <NodeModeBar nodes={c.nodes.clone()} node={node.clone()} mode={doc.mode}
                                         marks={Rc::clone(&node_marks)} dispatch={dispatch.clone()} />
                            <PanelNav />
                        </div>
                        <ClusterPanel computed={Rc::clone(c)} />
                        <EndpointsPanel computed={Rc::clone(c)} node={node.clone()} mode={doc.mode} />
                        <RulesPanel computed={Rc::clone(c)} node={node.clone()} mode={doc.mode}
                                    spelling={doc.spelling} chains={chains} acted={acted}
                                    frozen={rules_frozen} note={rules_note} reveal={state.reveal}
                                    dispatch={dispatch.clone()} />
                        if let Some(result) = trace {
                            <TracePanel form={doc.trace.clone()} {result} suggestions={suggestions}
                                        computed_id={c.id()} dispatch={dispatch.clone()} />
                        }
                        <ClusterTracePanel computed={Rc::clone(c)} form={doc.cluster_trace.clone()}
                                           tracing={tracing.clone()} text={doc.text.clone()}
                                           edits={doc.edits} dispatch={dispatch.clone()} />
                    }
                </section>
            </main>
            <ExamplesGallery open={state.examples_open}
                             current={doc.example.clone().map(AttrValue::from)} dispatch={dispatch.clone()} />
            <ShareDialog url={state.shared.as_ref().map(|s| AttrValue::from(s.url.clone()))}
                         dispatch={dispatch.clone()} />
        </div>
    }
}
