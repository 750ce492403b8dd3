//! The page's components, one per file, each with its own `Props`.
//!
//! Components only render view models and turn DOM events into [`crate::state::Action`]s; they
//! hold no document state of their own and never insert user text as HTML.

pub mod app;
pub mod cluster_panel;
pub mod cluster_trace_panel;
pub mod diagnostic_list;
pub mod editor;
pub mod endpoints_panel;
pub mod examples_gallery;
pub mod header;
pub mod modal;
pub mod node_mode_bar;
pub mod notice_bar;
pub mod object_list;
pub mod panel_nav;
pub mod path_diagram;
pub mod rules_panel;
pub mod share_dialog;
pub mod splitter;
pub mod trace_panel;
pub mod valued;
