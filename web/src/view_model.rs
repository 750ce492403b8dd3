//! View models: core values turned into the rows and labels the page shows.
//!
//! Plain Rust with no Yew or DOM types, so every function here is tested natively
//! (`cargo test -p kpsim-web`). Not responsible for computing anything kube-proxy does (the
//! core does, through [`crate::computed`]) or for HTML (the components).
//!
//! One module per panel: [`editor`] (highlighted lines and diagnostics in the text),
//! [`diagnostics`] (the list under the editor), [`objects`] (what was read), [`cluster`],
//! [`endpoints`], [`rules`], [`trace`], [`cluster_trace`] with its [`kube_proxy`] experiment,
//! [`path_diagram`] and [`distribution`], and [`origin`] (the badges of defaulted and
//! allocated values they share).

pub mod cluster;
pub mod cluster_trace;
pub mod diagnostics;
pub mod distribution;
pub mod editor;
pub mod endpoints;
pub mod kube_proxy;
pub mod objects;
pub mod origin;
pub mod path_diagram;
#[cfg(test)]
mod robustness;
pub mod rules;
pub mod trace;
