//! The `runsheet` binary: everything lives in the library.

fn main() -> std::process::ExitCode {
    runsheet::cli::main()
}
