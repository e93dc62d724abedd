//! The GitHub Action (`action.yml`, `action/*.sh`) and the project's own workflows.
//!
//! - action.yml is a drop-in for gh-action-pypi-publish: the same inputs and defaults,
//!   composite, no Docker, inputs reach scripts only through `env:`.
//! - The workflows keep the release invariants trustpub preaches.
//! - `action/run.sh`, fed the environment the runner would build from a gh-action-pypi-publish
//!   `with:` block, publishes to the testbed (trusted publishing and a token upload).
//! - `action/install.sh` installs only what `action/checksums.txt` pins.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod install_sh;
mod run_sh;
mod support;
mod workflows;

use support::*;

// ----- action.yml -------------------------------------------------------------------------------

/// Our inputs beyond gh-action-pypi-publish's, with their defaults.
const OWN_INPUTS: &[(&str, Option<&str>)] = &[
    ("command", Some("pypi")),
    ("registry", None),
    ("registry-url", None),
    ("audience", None),
    ("run", None),
    ("tag", None),
    ("access", None),
    ("provenance", None),
    ("dry-run", Some("false")),
    ("trustpub-version", None),
];

#[test]
fn action_inputs_are_gh_action_pypi_publish_inputs_plus_ours() {
    let action = read_yaml("action.yml");
    let inputs = &action["inputs"];
    for upstream in UPSTREAM_INPUTS {
        let ours = &inputs[upstream.name];
        assert!(!ours.is_badvalue(), "input {} is missing", upstream.name);
        assert_eq!(
            ours["description"].as_str(),
            Some(upstream.description),
            "description of {}",
            upstream.name
        );
        assert_eq!(
            ours["default"].as_str(),
            upstream.default,
            "default of {} (a string, as upstream: booleans are quoted)",
            upstream.name
        );
        assert_eq!(
            ours["deprecationMessage"].as_str(),
            upstream.deprecation,
            "deprecationMessage of {}",
            upstream.name
        );
        assert_eq!(
            ours["required"].as_bool(),
            Some(false),
            "{} is optional",
            upstream.name
        );
    }
    for (name, default) in OWN_INPUTS {
        let ours = &inputs[*name];
        assert!(
            ours["description"].as_str().is_some_and(|d| !d.is_empty()),
            "input {name} is described"
        );
        assert_eq!(ours["default"].as_str(), *default, "default of {name}");
        assert_eq!(
            ours["required"].as_bool(),
            Some(false),
            "{name} is optional"
        );
    }
    let expected: Vec<&str> = UPSTREAM_INPUTS
        .iter()
        .map(|input| input.name)
        .chain(OWN_INPUTS.iter().map(|(name, _)| *name))
        .collect();
    assert_eq!(
        keys(inputs),
        expected,
        "exactly these inputs, in this order"
    );
}

#[test]
fn action_is_composite_bash_with_inputs_only_in_env() {
    let action = read_yaml("action.yml");
    let runs = &action["runs"];
    assert_eq!(runs["using"].as_str(), Some("composite"));
    assert!(runs["image"].is_badvalue(), "no container image");
    let steps = runs["steps"].as_vec().expect("steps");
    assert!(!steps.is_empty());
    let mut passed: Vec<String> = Vec::new();
    for step in steps {
        let name = step["name"].as_str().expect("every step is named");
        assert!(
            step["uses"].is_badvalue(),
            "{name}: no `uses:` (no Docker, no nested action to pin)"
        );
        assert_eq!(
            step["shell"].as_str(),
            Some("bash"),
            "{name}: bash on every OS"
        );
        let run = step["run"].as_str().expect("a run step");
        assert!(
            !run.contains("${{"),
            "{name}: `run:` interpolates an expression (script injection): {run}"
        );
        for (variable, value) in entries(&step["env"]) {
            let value = value.as_str().unwrap();
            assert!(
                !value.contains("github.event"),
                "{name}: {variable} reads the event payload"
            );
            if let Some(input) = value
                .strip_prefix("${{ inputs.")
                .and_then(|rest| rest.strip_suffix(" }}"))
            {
                passed.push(input.to_owned());
            }
        }
    }
    // Every input reaches a script, and every INPUT_* variable is read by run.sh.
    let mut declared = keys(&action["inputs"]);
    declared.sort();
    passed.sort();
    assert_eq!(
        passed, declared,
        "each input is passed through env exactly once"
    );
    let run_sh = std::fs::read_to_string(workspace().join("action/run.sh")).unwrap();
    let publish = steps
        .iter()
        .find(|step| step["name"].as_str() == Some("Publish with trustpub"))
        .unwrap();
    for variable in keys(&publish["env"]) {
        assert!(
            run_sh.contains(&format!("${{{variable}:-")),
            "run.sh reads {variable}"
        );
    }
}
