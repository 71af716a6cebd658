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

    /// The bytes of the file at `path`.
    pub fn get(&self, path: &str) -> Option<&[u8]> {
        self.files.get(path).map(Vec::as_slice)
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// Where rendered files go as soon as each is rendered, from any rendering
/// thread: an [`InMemory`] set, or the output tree (`write`), which keeps
/// any I/O error to report once rendering stops. When rendering fails, what
/// the sink was handed is incomplete (steps render in parallel, and streamed
/// files end where rendering stopped): the caller discards it, as `write`
/// discards its staging directory.
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

    /// Opens `plan.json` and writes all of it but the list of files: the
    /// estate, and for a change window (`"kind": "change"`, both topology
    /// hashes) the change set, and the steps. Called while the steps
    /// render, so that [`Manifest::finish`] has only the files left to write.
    pub fn begin_plan(
        &self,
        estate: &str,
        plan: &Plan,
        provenance: &Provenance,
        changes: Option<serde_json::Value>,
    ) -> PlanFile<'s> {
        let mut file = PlanFile {
            file: BufWriter::with_capacity(64 * 1024, self.sink.create(PLAN_FILE)),
            held: Vec::with_capacity(PLAN_HEAD_END.len()),
        };
        let head = PlanHead {
            format: PLAN_FORMAT,
            kind: changes.as_ref().map(|_| "change"),
            generator: &provenance.generator,
            version: &provenance.version,
            estate,
            window: &provenance.window(),
            from_topology_sha256: provenance.from_topology_sha256.as_deref(),
            topology_sha256: &provenance.topology_sha256,
            changes,
            steps: &plan.steps,
        };
        // The sink keeps any I/O error; serialising our own types cannot fail.
        let _ = serde_json::to_writer_pretty(&mut file, &head);
        file
    }

    /// Ends `plan.json` with every file passed on, sorted by path, each with
    /// its sha256 and the step it belongs to; returns how many files were
    /// written, `plan.json` included.
    pub fn finish(self, mut plan_file: PlanFile<'s>, plan: &Plan) -> usize {
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
        // A step's files are its script and, for PowerShell, its launcher;
        // the first step that names a path owns it.
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
        let entries: Vec<FileEntry> = files
            .into_iter()
            .map(|(path, sha256)| {
                let step = step_of.get(path.as_str()).map(|id| (*id).to_owned());
                FileEntry { path, sha256, step }
            })
            .collect();
        // What serde_json writes for the document with `files` as its last
        // member, written here after the rest: the head's closing brace is
        // held back, and the list is indented one level.
        debug_assert_eq!(plan_file.held, PLAN_HEAD_END);
        let file = &mut plan_file.file;
        let _ = file.write_all(b",\n  \"files\": ");
        let _ = serde_json::to_writer_pretty(Indented(&mut *file), &entries);
        let _ = file.write_all(b"\n}\n");
        let _ = file.flush();
        count
    }
}

/// `plan.json` being written: see [`Manifest::begin_plan`]. The last bytes
/// written (the document's closing brace) are held back, since the list of
/// files goes before it.
pub struct PlanFile<'s> {
    file: BufWriter<Box<dyn Write + Send + 's>>,
    held: Vec<u8>,
}

/// How serde_json ends a pretty document.
const PLAN_HEAD_END: &[u8] = b"\n}";

impl Write for PlanFile<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.held.extend_from_slice(buf);
        let keep = PLAN_HEAD_END.len().min(self.held.len());
        let ready = self.held.len() - keep;
        self.file.write_all(&self.held[..ready])?;
        self.held.drain(..ready);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Indents what is written by one level (two spaces) after each newline:
/// serde_json escapes newlines inside strings, so every newline it writes
/// begins a line of the document.
struct Indented<W: Write>(W);

impl<W: Write> Write for Indented<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while let Some(at) = rest.iter().position(|&b| b == b'\n') {
            self.0.write_all(&rest[..=at])?;
            self.0.write_all(b"  ")?;
            rest = &rest[at + 1..];
        }
        self.0.write_all(rest)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
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

/// Name of the plan file; its presence marks a directory as runsheet output.
pub const PLAN_FILE: &str = "plan.json";
/// Format tag of `plan.json`.
pub const PLAN_FORMAT: &str = "runsheet-plan/1";

#[derive(Serialize)]
struct PlanHead<'a> {
    format: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'a str>,
    generator: &'a str,
    version: &'a str,
    estate: &'a str,
    /// The window's folder name on each host (`C:\\runsheet\\<estate>\\<window>`).
    window: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    from_topology_sha256: Option<&'a str>,
    topology_sha256: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    changes: Option<serde_json::Value>,
    steps: &'a [Step],
}

#[derive(Serialize)]
struct FileEntry {
    path: String,
    sha256: String,
    step: Option<String>,
}
