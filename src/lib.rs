//! runsheet: change-window scripts and runbooks from one topology file.
//!
//! The pipeline, one module per arrow:
//! load (`model::load`) → schema (`check::schema`) → checks (`check`) →
//! plan → render → write. Everything before `write` is pure.

pub mod check;
pub mod cli;
pub mod diag;
pub mod model;
pub mod render;
