//! Which kube-proxy the panels show: the node it runs on and its mode (iptables, nftables
//! or IPVS). Shared by the Endpoints, Rules and Trace panels. Each node is marked with what
//! the Cluster trace did there (rules it acted by, kube-proxy frozen or absent).

use std::collections::BTreeMap;
use std::rc::Rc;

use kpsim::settings::Mode;
use web_sys::HtmlSelectElement;
use yew::prelude::*;

use crate::state::Action;

#[derive(Debug, Properties, PartialEq)]
pub struct Props {
    pub nodes: Vec<String>,
    pub node: AttrValue,
    pub mode: Mode,
    /// A few words about some nodes (`rules frozen at edit 3, traced: 4 rules`).
    pub marks: Rc<BTreeMap<String, String>>,
    pub dispatch: Callback<Action>,
}

/// A node select and a mode radio group.
#[component]
pub fn NodeModeBar(props: &Props) -> Html {
    let onchange = {
        let dispatch = props.dispatch.clone();
        Callback::from(move |e: Event| {
            let select: HtmlSelectElement = e.target_unchecked_into();
            dispatch.emit(Action::SelectNode(select.value()));
        })
    };
    let mode_input = |mode: Mode| {
        let dispatch = props.dispatch.clone();
        let onchange = Callback::from(move |_: Event| dispatch.emit(Action::SelectMode(mode)));
        let id = format!("mode-{mode}");
        html! {
            <label for={id.clone()} class="radio">
                <input type="radio" name="mode" id={id} value={mode.as_str()}
                       checked={props.mode == mode} {onchange} />
                { mode.as_str() }
            </label>
        }
    };
    html! {
        <div class="node-mode" role="group" aria-label="Which kube-proxy">
            <label for="node-select">{ "kube-proxy on node" }</label>
            <select id="node-select" {onchange}>
                { for props.nodes.iter().map(|n| html! {
                    <option value={n.clone()} selected={*n == *props.node} data-mark={props.marks.get(n).cloned()}>
                        { match props.marks.get(n) {
                            Some(mark) => format!("{n} ({mark})"),
                            None => n.clone(),
                        } }
                    </option>
                }) }
            </select>
            <fieldset class="modes">
                <legend>{ "mode" }</legend>
                { mode_input(Mode::Iptables) }
                { mode_input(Mode::Nftables) }
                { mode_input(Mode::Ipvs) }
            </fieldset>
        </div>
    }
}
