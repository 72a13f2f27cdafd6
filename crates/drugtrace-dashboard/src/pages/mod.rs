//! The pages, one module each: its data types and its `render_*` function.

pub mod clues;
pub mod dossier;
pub mod institution;
pub mod live;
pub mod models;
pub mod notices;
pub mod overview;
pub mod pack;
pub mod sql;
pub mod standalone;
