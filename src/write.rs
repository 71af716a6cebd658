//! The only writer of output trees. The tree is built in a temporary
//! directory beside the target and renamed into place, so a failed build
//! leaves nothing half-written; a non-empty target that is not an earlier
//! runsheet output is refused unless forced.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use crate::artifact::{ArtifactSet, PLAN_FILE, PLAN_FORMAT, Sink};

/// Why an output tree could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(
        "refusing to write into {path}: it is not empty and holds no runsheet {PLAN_FILE}; choose another directory or pass --force to replace it"
    )]
    Refused { path: PathBuf },
    #[error("{path} already exists; pass --force to overwrite it")]
    Exists { path: PathBuf },
    #[error("{path} exists and is not a directory")]
    NotADirectory { path: PathBuf },
    #[error("cannot write {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> WriteError + '_ {
    move |source| WriteError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Whether a directory holds an earlier runsheet output.
fn is_runsheet_output(dir: &Path) -> bool {
    let Ok(text) = fs::read_to_string(dir.join(PLAN_FILE)) else {
        return false;
    };
    serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|value| {
            value
                .get("format")
                .and_then(|f| f.as_str())
                .map(|f| f == PLAN_FORMAT)
        })
        .unwrap_or(false)
}

/// Writes the set as the directory `target`, replacing an earlier output.
pub fn write_tree(target: &Path, artifacts: &ArtifactSet, force: bool) -> Result<(), WriteError> {
    write_tree_with(target, force, |sink| {
        for (path, bytes) in artifacts.iter() {
            sink.put(path.to_owned(), bytes.to_vec());
        }
        Ok::<(), WriteError>(())
    })
}

/// Builds the directory `target` from the files `produce` hands to its sink,
/// each written into the staging directory as soon as it comes (from any
/// thread), so no file is held whole in memory here; the staging directory
/// replaces an earlier output only when `produce` succeeded and every file
/// was written.
pub fn write_tree_with<T, E: From<WriteError>>(
    target: &Path,
    force: bool,
    produce: impl FnOnce(&dyn Sink) -> Result<T, E>,
) -> Result<T, E> {
    let exists = match fs::symlink_metadata(target) {
        Ok(metadata) if metadata.is_dir() => true,
        Ok(_) => {
            return Err(WriteError::NotADirectory {
                path: target.to_owned(),
            }
            .into());
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => false,
        Err(source) => {
            return Err(WriteError::Io {
                path: target.to_owned(),
                source,
            }
            .into());
        }
    };
    if exists {
        let empty = fs::read_dir(target)
            .map_err(io_error(target))?
            .next()
            .is_none();
        if !empty && !force && !is_runsheet_output(target) {
            return Err(WriteError::Refused {
                path: target.to_owned(),
            }
            .into());
        }
    }
    let parent = match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(io_error(&parent))?;
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let staging = parent.join(format!(".{name}.runsheet-new-{}", std::process::id()));
    let _ = fs::remove_dir_all(&staging);
    let sink = StagingSink::new(&staging);
    let produced = match fs::create_dir_all(&staging).map_err(io_error(&staging)) {
        Ok(()) => produce(&sink),
        Err(error) => Err(error.into()),
    };
    let first_error = sink
        .error
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    let produced = match (produced, first_error) {
        (Ok(value), None) => value,
        (Err(error), _) => {
            let _ = fs::remove_dir_all(&staging);
            return Err(error);
        }
        (Ok(_), Some(error)) => {
            let _ = fs::remove_dir_all(&staging);
            return Err(error.into());
        }
    };
    replace(target, &parent, &name, &staging, exists)?;
    Ok(produced)
}

/// Renames the filled staging directory to `target`, moving an earlier
/// output aside first and putting it back if the rename fails.
fn replace(
    target: &Path,
    parent: &Path,
    name: &str,
    staging: &Path,
    exists: bool,
) -> Result<(), WriteError> {
    if exists {
        let old = parent.join(format!(".{name}.runsheet-old-{}", std::process::id()));
        let _ = fs::remove_dir_all(&old);
        if let Err(source) = fs::rename(target, &old) {
            let _ = fs::remove_dir_all(staging);
            return Err(WriteError::Io {
                path: target.to_owned(),
                source,
            });
        }
        if let Err(source) = fs::rename(staging, target) {
            // Put the earlier output back: the user keeps what they had.
            let _ = fs::rename(&old, target);
            let _ = fs::remove_dir_all(staging);
            return Err(WriteError::Io {
                path: target.to_owned(),
                source,
            });
        }
        let _ = fs::remove_dir_all(&old);
    } else if let Err(source) = fs::rename(staging, target) {
        let _ = fs::remove_dir_all(staging);
        return Err(WriteError::Io {
            path: target.to_owned(),
            source,
        });
    }
    Ok(())
}

/// Writes each file into the staging directory as it comes; creates each
/// directory once; keeps the first error and writes nothing after it.
struct StagingSink {
    root: PathBuf,
    directories: Mutex<HashSet<PathBuf>>,
    error: Mutex<Option<WriteError>>,
}

impl StagingSink {
    fn new(root: &Path) -> StagingSink {
        StagingSink {
            root: root.to_owned(),
            directories: Mutex::new(HashSet::new()),
            error: Mutex::new(None),
        }
    }

    fn failed(&self) -> bool {
        self.error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    fn keep(&self, error: WriteError) {
        self.error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert(error);
    }

    /// The file's path, its directory created if this is its first file.
    fn prepare(&self, relative: &str) -> Result<PathBuf, WriteError> {
        let path = relative
            .split('/')
            .fold(self.root.clone(), |path, part| path.join(part));
        if let Some(dir) = path.parent() {
            let known = self
                .directories
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .contains(dir);
            if !known {
                // Two threads may both create it: create_dir_all allows that.
                fs::create_dir_all(dir).map_err(io_error(dir))?;
                self.directories
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(dir.to_owned());
            }
        }
        Ok(path)
    }

    fn write(&self, relative: &str, bytes: &[u8]) -> Result<(), WriteError> {
        let path = self.prepare(relative)?;
        fs::write(&path, bytes).map_err(io_error(&path))
    }
}

impl Sink for StagingSink {
    fn put(&self, path: String, bytes: Vec<u8>) {
        if !self.failed()
            && let Err(error) = self.write(&path, &bytes)
        {
            self.keep(error);
        }
    }

    fn create<'s>(&'s self, relative: &str) -> Box<dyn io::Write + Send + 's> {
        if self.failed() {
            return Box::new(StagingFile {
                sink: self,
                file: None,
            });
        }
        let file = match self.prepare(relative) {
            Ok(path) => match fs::File::create(&path) {
                Ok(file) => Some((path, file)),
                Err(source) => {
                    self.keep(WriteError::Io { path, source });
                    None
                }
            },
            Err(error) => {
                self.keep(error);
                None
            }
        };
        Box::new(StagingFile { sink: self, file })
    }
}

/// A file of the staging directory written in pieces. A write that fails
/// is kept by the sink, which fails the build; the writer then takes the
/// rest without writing it, so rendering goes on to report template errors.
struct StagingFile<'s> {
    sink: &'s StagingSink,
    file: Option<(PathBuf, fs::File)>,
}

impl io::Write for StagingFile<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.sink.failed() {
            self.file = None;
        }
        if let Some((path, file)) = &mut self.file
            && let Err(source) = file.write_all(buf)
        {
            let path = std::mem::take(path);
            self.file = None;
            self.sink.keep(WriteError::Io { path, source });
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes files under a directory without replacing any that exist (for
/// `runsheet templates`); nothing is written if one would be overwritten.
pub fn write_new_files(dir: &Path, files: &[(&str, &[u8])], force: bool) -> Result<(), WriteError> {
    let paths: Vec<PathBuf> = files
        .iter()
        .map(|(relative, _)| {
            relative
                .split('/')
                .fold(dir.to_path_buf(), |path, part| path.join(part))
        })
        .collect();
    if !force && let Some(existing) = paths.iter().find(|path| path.exists()) {
        return Err(WriteError::Exists {
            path: existing.clone(),
        });
    }
    for (path, (_, bytes)) in paths.iter().zip(files) {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(io_error(parent))?;
        }
        fs::write(path, bytes).map_err(io_error(path))?;
    }
    Ok(())
}
