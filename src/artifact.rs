//! The artifact set in memory: every output file by path, and `plan.json`,
//! which lists the others with their sha256. Pure: no file system.

use std::collections::{BTreeMap, HashMap};
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
        self.add_plan_with(estate, plan, provenance, None);
    }

    /// Adds `plan.json` for a build, or with `changes` for a change window
    /// (`"kind": "change"`, both topology hashes and the change set).
    pub fn add_plan_with(
        &mut self,
        estate: &str,
        plan: &Plan,
        provenance: &Provenance,
        changes: Option<serde_json::Value>,
    ) {
        let files = self
            .files
            .iter()
            .map(|(path, bytes)| (path.clone(), sha256_hex(bytes)))
            .collect();
        let text = plan_document(estate, plan, provenance, files, changes);
        self.insert(PLAN_FILE, text);
    }
}

/// Where rendered files go, one at a time, as soon as each is rendered: an
/// [`ArtifactSet`] in memory, or the output tree (`write`), which keeps any
/// I/O error to report once rendering stops.
pub trait Sink {
    fn put(&mut self, path: String, bytes: Vec<u8>);
}

impl Sink for ArtifactSet {
    fn put(&mut self, path: String, bytes: Vec<u8>) {
        self.insert(path, bytes);
    }
}

/// Passes files on to a sink and remembers each path with its sha256, for
/// `plan.json`; the bytes themselves are not kept.
pub struct Manifest<'s> {
    sink: &'s mut dyn Sink,
    files: Vec<(String, String)>,
}

impl<'s> Manifest<'s> {
    pub fn new(sink: &'s mut dyn Sink) -> Manifest<'s> {
        Manifest {
            sink,
            files: Vec::new(),
        }
    }

    pub fn put(&mut self, path: impl Into<String>, bytes: Vec<u8>) {
        let path = path.into();
        self.files.push((path.clone(), sha256_hex(&bytes)));
        self.sink.put(path, bytes);
    }

    /// Writes `plan.json`, which lists every file passed on; returns how many
    /// files were written, `plan.json` included.
    pub fn finish(mut self, estate: &str, plan: &Plan, provenance: &Provenance) -> usize {
        self.files.sort_by(|a, b| a.0.cmp(&b.0));
        self.files.dedup_by(|later, earlier| {
            // A path put twice holds what was put last, as in a map.
            if later.0 == earlier.0 {
                std::mem::swap(later, earlier);
                true
            } else {
                false
            }
        });
        let count = self.files.len() + 1;
        let text = plan_document(estate, plan, provenance, self.files, None);
        self.sink.put(PLAN_FILE.to_owned(), text);
        count
    }
}

/// The text of `plan.json`; `files` are (path, sha256) sorted by path.
fn plan_document(
    estate: &str,
    plan: &Plan,
    provenance: &Provenance,
    files: Vec<(String, String)>,
    changes: Option<serde_json::Value>,
) -> Vec<u8> {
    // A step's files are its script and, for PowerShell, its launcher; the
    // first step that names a path owns it.
    let step_of: HashMap<&str, &str> = plan
        .steps
        .iter()
        .rev()
        .flat_map(|s| {
            [s.launcher.as_deref(), s.file.as_deref()]
                .into_iter()
                .flatten()
                .map(|file| (file, s.id.as_str()))
        })
        .collect();
    let files: Vec<FileEntry> = files
        .into_iter()
        .map(|(path, sha256)| {
            let step = step_of.get(path.as_str()).map(|id| (*id).to_owned());
            FileEntry { path, sha256, step }
        })
        .collect();
    let document = PlanDocument {
        format: PLAN_FORMAT,
        kind: changes.as_ref().map(|_| "change"),
        generator: &provenance.generator,
        version: &provenance.version,
        estate,
        from_topology_sha256: provenance.from_topology_sha256.as_deref(),
        topology_sha256: &provenance.topology_sha256,
        changes,
        steps: &plan.steps,
        files,
    };
    let mut text = serde_json::to_vec_pretty(&document).unwrap_or_default();
    text.push(b'\n');
    text
}

/// Name of the plan file; its presence marks a directory as runsheet output.
pub const PLAN_FILE: &str = "plan.json";
/// Format tag of `plan.json`.
pub const PLAN_FORMAT: &str = "runsheet-plan/1";

#[derive(Serialize)]
struct PlanDocument<'a> {
    format: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'a str>,
    generator: &'a str,
    version: &'a str,
    estate: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    from_topology_sha256: Option<&'a str>,
    topology_sha256: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    changes: Option<serde_json::Value>,
    steps: &'a [Step],
    files: Vec<FileEntry>,
}

#[derive(Serialize)]
struct FileEntry {
    path: String,
    sha256: String,
    step: Option<String>,
}
