//! Topology text → validated topology, or every finding at once.
//!
//! Order is a type here: [`Validated`] can only be made by this module, after
//! the YAML parsed, the schema passed and the semantic rules found no error,
//! and the planner accepts nothing else. Rules are pure functions of the
//! typed model that speak in JSON pointers; positions are looked up only when
//! findings are shown.

mod addresses;
mod clusters;
mod contacts;
mod names;
mod paths;
mod quoting;
pub mod schema;

use crate::diag::Diagnostic;
use crate::model::Topology;
use crate::model::load::{self, SourceMap};

/// The outcome of checking one topology text.
#[derive(Debug, Clone)]
pub struct Checked {
    /// Positions of every value, for showing findings.
    pub map: SourceMap,
    /// Every finding, errors and warnings, in rule order.
    pub diagnostics: Vec<Diagnostic>,
    /// The typed topology, when the YAML parsed and the schema passed.
    topology: Option<Topology>,
}

/// A topology with no errors: the only input the planner takes.
#[derive(Debug, Clone, Copy)]
pub struct Validated<'a> {
    pub topology: &'a Topology,
    /// Warnings the runbook repeats for the operator.
    pub warnings: &'a [Diagnostic],
}

impl Checked {
    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// The topology, if it may be built.
    pub fn validated(&self) -> Option<Validated<'_>> {
        match &self.topology {
            Some(topology) if !self.has_errors() => Some(Validated {
                topology,
                warnings: &self.diagnostics,
            }),
            _ => None,
        }
    }
}

/// Parses, schema-checks and rule-checks one topology text.
pub fn check(source: &str) -> Checked {
    let document = match load::parse(source) {
        Ok(document) => document,
        Err(diagnostic) => {
            return Checked {
                map: SourceMap::default(),
                diagnostics: vec![*diagnostic],
                topology: None,
            };
        }
    };
    match schema::to_topology(&document.value) {
        Ok(topology) => {
            let diagnostics = rules(&topology);
            Checked {
                map: document.map,
                diagnostics,
                topology: Some(topology),
            }
        }
        Err(diagnostics) => Checked {
            map: document.map,
            diagnostics,
            topology: None,
        },
    }
}

/// Every semantic rule, over a topology that passed the schema.
pub fn rules(topology: &Topology) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    names::check(topology, &mut found);
    addresses::check(topology, &mut found);
    clusters::check(topology, &mut found);
    paths::check(topology, &mut found);
    quoting::check(topology, &mut found);
    contacts::check(topology, &mut found);
    found
}

/// Case-insensitive comparison, as Windows and Exchange compare names.
pub(crate) fn same_name(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}
