//! Findings about a topology, and the two ways they are shown.
//!
//! Every stage that judges a topology (YAML parsing, the schema, the semantic
//! checks) speaks in [`Diagnostic`]s that carry a JSON pointer. A pointer
//! becomes `file:line:col` only here, at display time, through the
//! [`SourceMap`] the loader built; rules therefore stay pure and testable
//! without YAML. Human output is rustc-style; `--format json` serialises the
//! very same data.

use std::fmt;
use std::io::{self, Write};

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use serde::Serialize;

use crate::model::load::{Position, SourceMap};

/// How bad a finding is: errors stop the build, warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The topology cannot be built.
    Error,
    /// Buildable, but against the advice of the platform.
    Warning,
}

macro_rules! codes {
    ($( $(#[doc = $doc:literal])* $variant:ident => $name:literal, )*) => {
        /// Stable identifier of a kind of finding. Codes are public names:
        /// scripts and CI match on them, so they never change.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $( $(#[doc = $doc])* $variant, )*
        }

        impl Code {
            /// Every code, in documentation order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The kebab-case name shown to users.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            /// One line saying what the code means (its doc comment).
            pub fn summary(self) -> &'static str {
                match self { $(Code::$variant => concat!($($doc),*).trim_ascii(),)* }
            }
        }
    };
}

codes! {
    /// The file is not valid YAML (syntax, tabs, duplicate keys, multiple documents).
    YamlSyntax => "yaml-syntax",
    /// The YAML exceeds a safety budget: alias expansion, nesting depth or size.
    YamlBudget => "yaml-budget",
    /// The file holds no document.
    EmptyFile => "empty-file",
    /// A field that the format does not know.
    UnknownField => "unknown-field",
    /// A required field is absent.
    MissingField => "missing-field",
    /// A value of the wrong type (a string where a list belongs, `yes` for a boolean).
    WrongType => "wrong-type",
    /// A value outside the allowed set (apiVersion, platform).
    BadValue => "bad-value",
    /// A value that does not have the required form (names, paths, addresses, networks).
    BadFormat => "bad-format",
    /// Two hosts, clusters, CMSs, networks, or two storage groups or databases of one CMS share a name.
    DuplicateName => "duplicate-name",
    /// The same IPv4 address is used twice.
    DuplicateAddress => "duplicate-address",
    /// A subnet written with host bits set.
    SubnetHostBits => "subnet-host-bits",
    /// An address outside its network's subnet.
    AddressOutsideSubnet => "address-outside-subnet",
    /// An address equal to its network's network or broadcast address.
    ReservedAddress => "reserved-address",
    /// A host address on a network the topology does not define.
    UnknownNetwork => "unknown-network",
    /// A cluster node or witness host that is not among the hosts.
    UnknownHost => "unknown-host",
    /// A cluster does not have exactly two nodes.
    NodeCount => "node-count",
    /// A host is a node of more than one cluster.
    NodeInTwoClusters => "node-in-two-clusters",
    /// The witness host is a node of the cluster it serves.
    WitnessOnNode => "witness-on-node",
    /// The CMS has the cluster's name.
    CmsNameIsClusterName => "cms-name-is-cluster-name",
    /// The CMS has the cluster's address.
    CmsAddressIsClusterAddress => "cms-address-is-cluster-address",
    /// The cluster or CMS address is not on a client network that both nodes have.
    AddressNotOnClientNetwork => "address-not-on-client-network",
    /// No network with `clients: false` joins both nodes.
    NoHeartbeat => "no-heartbeat",
    /// The two nodes are not attached to the same networks.
    NodeNetworksDiffer => "node-networks-differ",
    /// A path on a drive that a host which needs it does not list.
    DriveMissing => "drive-missing",
    /// A CCR storage group with more than one database.
    TooManyDatabases => "too-many-databases",
    /// A database path that does not end in `.edb`.
    DatabaseExtension => "database-extension",
    /// More than 50 storage groups on one CMS.
    TooManyStorageGroups => "too-many-storage-groups",
    /// A name or path that the target script language cannot carry safely.
    UnsafeValue => "unsafe-value",
    /// A contact with neither a phone number nor an e-mail address.
    ContactUnreachable => "contact-unreachable",
    /// Database and transaction logs on the same drive.
    LogsWithDatabase => "logs-with-database",
    /// System files in another folder than the logs.
    SystemPathDiffers => "system-path-differs",
    /// `change`: NEW differs from OLD in a way no change window can make safely.
    UnsupportedChange => "unsupported-change",
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Which part of a mapping entry a finding points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Target {
    /// The value (the usual case).
    #[default]
    Value,
    /// The key, for findings about the field itself (an unknown field).
    Key,
}

/// One finding, located by JSON pointer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: Code,
    /// What is wrong; lower case, no full stop.
    pub message: String,
    /// JSON pointer into the topology (`/hosts/3/name`).
    pub pointer: String,
    pub target: Target,
    /// A position known without a tree (YAML errors); overrides the pointer.
    pub position: Option<Position>,
    /// Another place that explains this one ("first defined here").
    pub related: Option<Related>,
    /// How to fix it, where there is an obvious fix.
    pub help: Option<String>,
}

/// A secondary place a finding refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Related {
    pub pointer: String,
    pub label: String,
}

impl Diagnostic {
    pub fn error(code: Code, pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            pointer: pointer.into(),
            target: Target::Value,
            position: None,
            related: None,
            help: None,
        }
    }

    pub fn warning(code: Code, pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, pointer, message)
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_related(mut self, pointer: impl Into<String>, label: impl Into<String>) -> Self {
        self.related = Some(Related {
            pointer: pointer.into(),
            label: label.into(),
        });
        self
    }

    pub fn at_position(mut self, position: Position) -> Self {
        self.position = Some(position);
        self
    }

    pub fn at_key(mut self) -> Self {
        self.target = Target::Key;
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Escape one JSON pointer reference token (RFC 6901).
pub fn pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// A topology file's findings, with what is needed to show them.
pub struct Report<'a> {
    /// The path as the user gave it.
    pub file: &'a str,
    pub source: &'a str,
    pub map: &'a SourceMap,
    pub diagnostics: &'a [Diagnostic],
}

/// A diagnostic as `--format json` prints it.
#[derive(Debug, Serialize)]
pub struct JsonDiagnostic<'a> {
    pub code: Code,
    pub severity: Severity,
    pub message: &'a str,
    pub file: &'a str,
    pub line: usize,
    pub column: usize,
    pub pointer: &'a str,
    pub help: Option<&'a str>,
}

impl Report<'_> {
    fn position(&self, diagnostic: &Diagnostic) -> Position {
        diagnostic
            .position
            .unwrap_or_else(|| self.map.locate(&diagnostic.pointer, diagnostic.target))
    }

    /// Findings sorted by position, then code, for stable output.
    pub fn sorted(&self) -> Vec<&Diagnostic> {
        let mut sorted: Vec<&Diagnostic> = self.diagnostics.iter().collect();
        sorted.sort_by_key(|d| (self.position(d), d.severity, d.code, d.message.clone()));
        sorted
    }

    /// The findings in the shape `--format json` prints.
    pub fn to_json(&self) -> Vec<JsonDiagnostic<'_>> {
        self.sorted()
            .into_iter()
            .map(|d| {
                let position = self.position(d);
                JsonDiagnostic {
                    code: d.code,
                    severity: d.severity,
                    message: &d.message,
                    file: self.file,
                    line: position.line,
                    column: position.column,
                    pointer: &d.pointer,
                    help: d.help.as_deref(),
                }
            })
            .collect()
    }

    /// Writes every finding rustc-style, then nothing else.
    pub fn write_human(&self, out: &mut dyn Write, color: bool) -> io::Result<()> {
        let renderer = if color {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        for diagnostic in self.sorted() {
            let text = renderer.render(&self.groups(diagnostic));
            writeln!(out, "{text}")?;
            writeln!(out)?;
        }
        Ok(())
    }

    /// The byte range to underline: the value, or one character where the
    /// length is unknown; always on character boundaries inside the source.
    fn span(&self, position: Position) -> std::ops::Range<usize> {
        let source = self.source;
        let start = self.map.offset(source, position).min(source.len());
        let length = match position.len {
            0 => source[start..].chars().next().map_or(0, char::len_utf8),
            len => len,
        };
        let mut end = (start + length).min(source.len());
        while !source.is_char_boundary(end) {
            end -= 1;
        }
        start..end.max(start)
    }

    fn groups<'d>(&'d self, diagnostic: &'d Diagnostic) -> Vec<Group<'d>> {
        let level = match diagnostic.severity {
            Severity::Error => Level::ERROR,
            Severity::Warning => Level::WARNING,
        };
        let position = self.position(diagnostic);
        let mut snippet = Snippet::source(self.source)
            .path(self.file)
            .annotation(AnnotationKind::Primary.span(self.span(position)));
        if let Some(related) = &diagnostic.related {
            let other = self.map.locate(&related.pointer, Target::Value);
            snippet = snippet.annotation(
                AnnotationKind::Context
                    .span(self.span(other))
                    .label(related.label.as_str()),
            );
        }
        let mut group = level
            .primary_title(diagnostic.message.as_str())
            .id(diagnostic.code.as_str())
            .element(snippet);
        if let Some(help) = &diagnostic.help {
            group = group.element(Level::HELP.message(help.as_str()));
        }
        vec![group]
    }
}

/// Counts of errors and warnings, for the closing line.
pub fn summary(diagnostics: &[Diagnostic]) -> (usize, usize) {
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    (errors, diagnostics.len() - errors)
}

/// "1 error", "2 warnings".
pub fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}
