//! The `runsheet` binary: everything lives in the library.

// Rendering allocates and frees many small strings on every core; mimalloc
// does that in about half the time of the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    runsheet::cli::main()
}
