//! Speed of each arrow of the pipeline on the seed estate and on generated
//! estates of 25, 250 and 2,500 clusters (`examples/gen-estate.rs`), of
//! the whole build in memory, and of `diff` at 250 clusters. `cargo bench` runs them; CI only compiles
//! them (`cargo bench --no-run`): timings belong here, never in tests.
//!
//! divan rather than criterion: one small dependency, fast to compile, and
//! arguments (the estate size) without boilerplate.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

use runsheet::artifact::Sink;
use runsheet::check::{self, Checked};
use runsheet::cli::SourceFile;
use runsheet::render::context::Provenance;
use runsheet::render::registry::Registry;

#[allow(dead_code)]
#[path = "../examples/gen-estate.rs"]
mod gen_estate;

fn main() {
    divan::main();
}

/// Estate sizes in clusters; 1 stands for the seed estate.
const SIZES: &[usize] = &[1, 25, 250, 2500];

fn source(clusters: usize) -> SourceFile {
    let text = if clusters == 1 {
        runsheet::cli::INIT_EXAMPLE.to_owned()
    } else {
        gen_estate::estate(clusters)
    };
    SourceFile {
        name: format!("estate-{clusters}.yaml"),
        sha256: runsheet::artifact::sha256_hex(text.as_bytes()),
        text,
    }
}

fn checked(source: &SourceFile) -> Checked {
    let checked = check::check(&source.text);
    assert!(!checked.has_errors(), "the generated estate is valid");
    checked
}

/// Counts what it is handed and drops it: rendering without holding the tree.
#[derive(Default)]
struct Discard {
    files: AtomicUsize,
    bytes: AtomicUsize,
}

impl Sink for Discard {
    fn put(&self, _: String, bytes: Vec<u8>) {
        self.files.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes.len(), Ordering::Relaxed);
    }

    fn create<'s>(&'s self, _: &str) -> Box<dyn Write + Send + 's> {
        self.files.fetch_add(1, Ordering::Relaxed);
        Box::new(Counted(&self.bytes))
    }
}

struct Counted<'s>(&'s AtomicUsize);

impl Write for Counted<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.fetch_add(buf.len(), Ordering::Relaxed);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[divan::bench(args = SIZES, sample_count = 5, sample_size = 1)]
fn load_and_validate(bencher: divan::Bencher, clusters: usize) {
    let source = source(clusters);
    bencher.bench(|| check::check(divan::black_box(&source.text)));
}

#[divan::bench(args = SIZES, sample_count = 5, sample_size = 1)]
fn plan(bencher: divan::Bencher, clusters: usize) {
    let source = source(clusters);
    let checked = checked(&source);
    let validated = checked.validated().expect("valid");
    bencher.bench(|| runsheet::plan::plan(divan::black_box(validated)));
}

#[divan::bench(args = SIZES, sample_count = 5, sample_size = 1)]
fn render(bencher: divan::Bencher, clusters: usize) {
    let source = source(clusters);
    let checked = checked(&source);
    let validated = checked.validated().expect("valid");
    let plan = runsheet::plan::plan(validated);
    let registry = Registry::new(None).expect("embedded templates compile");
    let provenance = Provenance::new(source.sha256.clone());
    bencher.bench(|| {
        let sink = Discard::default();
        runsheet::render::render_into(validated, &plan, &provenance, &registry, Vec::new(), &sink)
            .expect("renders");
        (sink.files.into_inner(), sink.bytes.into_inner())
    });
}

/// The whole build in memory: read, check, plan, render every file into an
/// artifact set (what `diff` does per side).
#[divan::bench(args = SIZES, sample_count = 5, sample_size = 1)]
fn build_in_memory(bencher: divan::Bencher, clusters: usize) {
    let source = source(clusters);
    bencher.bench(|| {
        let checked = check::check(&source.text);
        let registry = Registry::new(None).expect("embedded templates compile");
        runsheet::generate(&source, &checked, &registry)
            .expect("renders")
            .artifacts
            .len()
    });
}

/// `diff` of two 250-cluster estates that differ in one log path: both built
/// in memory, then compared file by file.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn diff_250(bencher: divan::Bencher) {
    let old = source(250);
    let text = old
        .text
        .replacen(r"log_path: 'L:\Logs\SG03'", r"log_path: 'L:\Logs\SG03b'", 1);
    let new = SourceFile {
        name: "estate-250b.yaml".into(),
        sha256: runsheet::artifact::sha256_hex(text.as_bytes()),
        text,
    };
    let side = |source: &SourceFile| runsheet::diff::Side {
        file: source.name.clone(),
        sha256: source.sha256.clone(),
    };
    bencher.bench(|| {
        let registry = Registry::new(None).expect("embedded templates compile");
        let (old_checked, new_checked) = (check::check(&old.text), check::check(&new.text));
        let (before, after) =
            runsheet::generate_pair((&old, &old_checked), (&new, &new_checked), &registry, true);
        let (before, after) = (
            before.expect("renders").artifacts,
            after.expect("renders").artifacts,
        );
        let diff = runsheet::diff::compare(
            side(&old),
            &before,
            side(&new),
            &after,
            runsheet::diff::Options::default(),
        );
        assert!(diff.differs());
        diff.files.len()
    });
}
