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

#[test]
fn readme_quotes_the_runbook_as_it_is_built() {
    let readme = std::fs::read_to_string(harness::root().join("README.md")).expect("README");
    let runbook = std::fs::read_to_string(harness::root().join("golden/contoso-ccr/runbook.md"))
        .expect("golden runbook");
    let start = readme.find("````markdown\n").expect("runbook excerpt") + "````markdown\n".len();
    let excerpt = &readme[start..];
    let excerpt = &excerpt[..excerpt.find("````").expect("end of excerpt")];
    assert!(
        runbook.contains(excerpt),
        "the README's runbook excerpt differs from golden/contoso-ccr/runbook.md"
    );
}

#[test]
fn readme_tree_names_real_files_and_says_it_is_partial() {
    let readme = std::fs::read_to_string(harness::root().join("README.md")).expect("README");
    let start = readme.find("```text\nout/\n").expect("the tree");
    let tree = &readme[start..];
    let tree = &tree[..tree[8..].find("```").expect("end of tree") + 8];
    assert!(
        tree.contains("partial"),
        "the tree must say it is a selection"
    );
    let golden = harness::root().join("golden/contoso-ccr");
    for line in tree.lines().skip(2) {
        let Some(path) = line.split_whitespace().next() else {
            continue;
        };
        if path.contains('/') || path.contains('.') {
            assert!(
                golden.join(path).exists(),
                "README lists {path}, which a build does not write"
            );
        }
    }
}
