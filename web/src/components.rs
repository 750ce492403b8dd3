//! The page's components, one per file, each with its own `Props`.
//!
//! Components only render view models and turn DOM events into [`crate::state::Action`]s; they
//! hold no state of their own and never insert user text as HTML.

pub mod app;
pub mod diagnostic_list;
pub mod editor;
pub mod header;
pub mod object_list;
