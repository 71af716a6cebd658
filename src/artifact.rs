//! The artifact set in memory: every output file by path, and `plan.json`,
//! which lists the others with their sha256. Pure: no file system.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::plan::{Plan, Step};
use crate::render::context::Provenance;

/// Output files by relative path (`/`-separated), in a stable order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArtifactSet {
    files: BTreeMap<String, Vec<u8>>,
}

/// Lower-case hex sha256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut text = String::with_capacity(64);
    for byte in digest {
        let _ = write!(text, "{byte:02x}");
    }
    text
}

impl ArtifactSet {
    pub fn insert(&mut self, path: impl Into<String>, bytes: Vec<u8>) {
        self.files.insert(path.into(), bytes);
    }

    /// Every file, by path.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.files
            .iter()
            .map(|(path, bytes)| (path.as_str(), bytes.as_slice()))
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Adds `plan.json`, which lists every file already in the set.
    pub fn add_plan(&mut self, estate: &str, plan: &Plan, provenance: &Provenance) {
        let step_of = |path: &str| {
            plan.steps
                .iter()
                .find(|s| s.file.as_deref() == Some(path) || s.launcher.as_deref() == Some(path))
                .map(|s| s.id.clone())
        };
        let files: Vec<FileEntry> = self
            .files
            .iter()
            .map(|(path, bytes)| FileEntry {
                path: path.clone(),
                sha256: sha256_hex(bytes),
                step: step_of(path),
            })
            .collect();
        let document = PlanDocument {
            format: PLAN_FORMAT,
            generator: &provenance.generator,
            version: &provenance.version,
            estate,
            topology_sha256: &provenance.topology_sha256,
            steps: &plan.steps,
            files,
        };
        let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
        text.push('\n');
        self.insert(PLAN_FILE, text.into_bytes());
    }
}

/// Name of the plan file; its presence marks a directory as runsheet output.
pub const PLAN_FILE: &str = "plan.json";
/// Format tag of `plan.json`.
pub const PLAN_FORMAT: &str = "runsheet-plan/1";

#[derive(Serialize)]
struct PlanDocument<'a> {
    format: &'a str,
    generator: &'a str,
    version: &'a str,
    estate: &'a str,
    topology_sha256: &'a str,
    steps: &'a [Step],
    files: Vec<FileEntry>,
}

#[derive(Serialize)]
struct FileEntry {
    path: String,
    sha256: String,
    step: Option<String>,
}
