//! Validated plan → artifact files: scripts, runbooks.

pub mod escape;
