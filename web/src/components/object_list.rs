//! The objects read from the editor: kind and namespace/name, in input order.

use yew::prelude::*;

use crate::view_model::objects::ObjectRow;

#[derive(Debug, Properties, PartialEq)]
pub struct Props {
    pub rows: Vec<ObjectRow>,
}

/// A table of the objects, or a prompt when there are none.
#[component]
pub fn ObjectList(props: &Props) -> Html {
    if props.rows.is_empty() {
        return html! {
            <p id="no-objects" class="empty">{ "No objects yet: paste Kubernetes YAML on the left." }</p>
        };
    }
    html! {
        <table id="objects" class="objects">
            <caption>{ format!("Objects ({})", props.rows.len()) }</caption>
            <thead>
                <tr><th>{ "Kind" }</th><th>{ "Namespace/Name" }</th><th>{ "Line" }</th></tr>
            </thead>
            <tbody>
                { for props.rows.iter().map(|row| html! {
                    <tr>
                        <td class="kind">{ &row.kind }</td>
                        <td class="name">{ &row.name }</td>
                        <td class="line">{ row.line }</td>
                    </tr>
                }) }
            </tbody>
        </table>
    }
}
