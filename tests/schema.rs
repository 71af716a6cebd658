//! The committed JSON Schema is what the types generate, and it accepts the examples.

use serde_json::Value;

use crate::harness::{self, run};

#[test]
fn committed_schema_matches_the_types() {
    let committed = std::fs::read_to_string(harness::root().join("schemas/topology.schema.json"))
        .expect("schema file");
    assert!(
        committed == runsheet::model::schema_text(),
        "schemas/topology.schema.json is out of date with src/model; regenerate it with\n    \
         cargo run -- schema > schemas/topology.schema.json\nand review the diff"
    );
}

#[test]
fn schema_command_prints_json_that_validates_the_examples() {
    let result = run(&["schema"]);
    assert_eq!(result.code, 0);
    let schema: Value = serde_json::from_str(&result.stdout).expect("schema is JSON");
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("schema compiles");
    for path in harness::yaml_files(&harness::root().join("examples")) {
        let text = std::fs::read_to_string(&path).expect("example reads");
        let document = runsheet::model::load::parse(&text).expect("example parses");
        let errors: Vec<String> = validator
            .iter_errors(&document.value)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
    }
}

#[test]
fn schema_has_descriptions_from_the_doc_comments() {
    let schema = runsheet::model::schema();
    let witness = &schema["$defs"]["Witness"]["properties"]["host"]["description"];
    assert!(
        witness
            .as_str()
            .is_some_and(|text| text.contains("not a node")),
        "{witness}"
    );
}

#[test]
fn schema_accepts_and_documents_contacts() {
    let schema = runsheet::model::schema();
    assert!(
        schema["properties"]["contacts"]["description"]
            .as_str()
            .is_some_and(|text| text.contains("cover")),
        "contacts are documented"
    );
    let required = schema["required"].as_array().expect("required");
    assert!(
        !required.iter().any(|field| field == "contacts"),
        "contacts are optional"
    );
    for field in ["role", "name", "phone", "email"] {
        assert!(
            schema["$defs"]["Contact"]["properties"][field]["description"].is_string(),
            "Contact.{field} has a description"
        );
    }
    let seed = std::fs::read_to_string(harness::root().join("examples/contoso-ccr.yaml"))
        .expect("seed reads");
    assert!(seed.contains("\ncontacts:\n"), "the seed shows contacts");
    assert!(!runsheet::check::check(&seed).has_errors());
    let without: String = seed
        .split("\ncontacts:\n")
        .next()
        .expect("before contacts")
        .to_owned();
    assert!(
        !runsheet::check::check(&without).has_errors(),
        "a topology without contacts is valid"
    );
}
