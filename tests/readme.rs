//! The README stays true to the code.

use crate::harness;

#[test]
fn readme_lists_every_check_code() {
    let readme = std::fs::read_to_string(harness::root().join("README.md")).expect("README");
    for code in runsheet::diag::Code::ALL {
        assert!(
            readme.contains(&format!("| `{code}` |")),
            "README.md does not list `{code}`"
        );
    }
}

#[test]
fn ci_runs_the_readme_test_command() {
    let readme = std::fs::read_to_string(harness::root().join("README.md")).expect("README");
    let ci = std::fs::read_to_string(harness::root().join(".ci/run")).expect(".ci/run");
    let command = readme
        .lines()
        .skip_while(|line| !line.starts_with("```sh"))
        .nth(2)
        .expect("second command");
    assert!(
        ci.lines().any(|line| line.trim() == command.trim()),
        ".ci/run does not run `{command}`"
    );
}

#[test]
fn readme_lists_every_escaping_helper() {
    let readme = std::fs::read_to_string(harness::root().join("README.md")).expect("README");
    for (name, _, _) in runsheet::render::registry::HELPERS {
        assert!(
            readme.contains(&format!("`{name}`")),
            "README.md does not list the `{name}` helper"
        );
    }
}
