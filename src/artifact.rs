//! The artifact set in memory, the sink that rendered files are handed to,
//! and `plan.json`, which lists the others with their sha256. Pure: no file
//! system.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::{self, BufWriter, Write};
use std::sync::{Mutex, PoisonError};

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
    hex(&Sha256::digest(bytes))
}

fn hex(digest: &[u8]) -> String {
    let mut text = String::with_capacity(2 * digest.len());
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
}

/// Where rendered files go as soon as each is rendered, from any rendering
/// thread: an [`InMemory`] set, or the output tree (`write`), which keeps
/// any I/O error to report once rendering stops.
pub trait Sink: Sync {
    /// Takes one whole file.
    fn put(&self, path: String, bytes: Vec<u8>);
    /// A file handed on piece by piece (the runbooks, `plan.json`), so that
    /// it is never held whole; it is complete when the writer is dropped.
    fn create<'s>(&'s self, path: &str) -> Box<dyn Write + Send + 's>;
}

/// Collects what it is handed into an [`ArtifactSet`].
#[derive(Default)]
pub struct InMemory {
    files: Mutex<ArtifactSet>,
}

impl InMemory {
    pub fn into_set(self) -> ArtifactSet {
        self.files
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn insert(&self, path: String, bytes: Vec<u8>) {
        self.files
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(path, bytes);
    }
}

impl Sink for InMemory {
    fn put(&self, path: String, bytes: Vec<u8>) {
        self.insert(path, bytes);
    }

    fn create<'s>(&'s self, path: &str) -> Box<dyn Write + Send + 's> {
        Box::new(InMemoryFile {
            sink: self,
            path: path.to_owned(),
            bytes: Vec::new(),
        })
    }
}

struct InMemoryFile<'s> {
    sink: &'s InMemory,
    path: String,
    bytes: Vec<u8>,
}

impl Write for InMemoryFile<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for InMemoryFile<'_> {
    fn drop(&mut self) {
        self.sink.insert(
            std::mem::take(&mut self.path),
            std::mem::take(&mut self.bytes),
        );
    }
}

/// Passes files on to a sink and remembers each path with its sha256, for
/// `plan.json`; the bytes themselves are not kept.
pub struct Manifest<'s> {
    sink: &'s dyn Sink,
    files: Mutex<Vec<(String, String)>>,
}

impl<'s> Manifest<'s> {
    pub fn new(sink: &'s dyn Sink) -> Manifest<'s> {
        Manifest {
            sink,
            files: Mutex::new(Vec::new()),
        }
    }

    fn record(&self, path: String, sha256: String) {
        self.files
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((path, sha256));
    }

    pub fn put(&self, path: impl Into<String>, bytes: Vec<u8>) {
        let path = path.into();
        self.record(path.clone(), sha256_hex(&bytes));
        self.sink.put(path, bytes);
    }

    /// A file written piece by piece and hashed as it goes; it is listed
    /// when the writer is dropped.
    pub fn create(&self, path: &str) -> ManifestFile<'_> {
        ManifestFile {
            manifest: self,
            path: path.to_owned(),
            hasher: Sha256::new(),
            file: BufWriter::with_capacity(64 * 1024, self.sink.create(path)),
        }
    }

    /// Writes `plan.json`, which lists every file passed on, and for a
    /// change window (`"kind": "change"`, both topology hashes) the change
    /// set; returns how many files were written, `plan.json` included.
    pub fn finish(
        self,
        estate: &str,
        plan: &Plan,
        provenance: &Provenance,
        changes: Option<serde_json::Value>,
    ) -> usize {
        let mut files = self
            .files
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        files.sort_by(|a, b| a.0.cmp(&b.0));
        files.dedup_by(|later, earlier| {
            // A path put twice holds what was put last, as in a map.
            if later.0 == earlier.0 {
                std::mem::swap(later, earlier);
                true
            } else {
                false
            }
        });
        let count = files.len() + 1;
        let mut file = BufWriter::with_capacity(64 * 1024, self.sink.create(PLAN_FILE));
        // The sink keeps any I/O error; serialising our own types cannot fail.
        let _ = write_plan_document(&mut file, estate, plan, provenance, files, changes);
        let _ = file.flush();
        count
    }
}

/// A file of the manifest written in pieces: see [`Manifest::create`].
pub struct ManifestFile<'m> {
    manifest: &'m Manifest<'m>,
    path: String,
    hasher: Sha256,
    file: BufWriter<Box<dyn Write + Send + 'm>>,
}

impl Write for ManifestFile<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.file.write(buf)?;
        self.hasher.update(&buf[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Drop for ManifestFile<'_> {
    fn drop(&mut self) {
        let _ = self.file.flush();
        let digest = std::mem::take(&mut self.hasher).finalize();
        self.manifest
            .record(std::mem::take(&mut self.path), hex(&digest));
    }
}

/// Writes `plan.json`; `files` are (path, sha256) sorted by path.
fn write_plan_document(
    out: &mut impl Write,
    estate: &str,
    plan: &Plan,
    provenance: &Provenance,
    files: Vec<(String, String)>,
    changes: Option<serde_json::Value>,
) -> serde_json::Result<()> {
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
    serde_json::to_writer_pretty(&mut *out, &document)?;
    out.write_all(b"\n").map_err(serde_json::Error::io)
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
