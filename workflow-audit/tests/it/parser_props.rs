//! Arbitrary and mutated YAML never panics the parser or the rules: the result is findings
//! (an `invalid-workflow` one for what does not parse).
#![allow(missing_docs, clippy::unwrap_used)]

use proptest::prelude::*;
use workflow_audit::{Options, Source, audit};

const SEED: &str = include_str!("../fixtures/clean.yml");

fn run(text: String) {
    let report = audit(
        &[Source {
            path: "fuzz.yml".into(),
            text,
        }],
        &Options::default(),
    );
    for finding in &report.findings {
        assert!(finding.pos.line >= 1 && finding.pos.col >= 1);
    }
    let _ = workflow_audit::render::human(&report);
    let _ = workflow_audit::render::sarif(&report);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text(text in "\\PC{0,400}") {
        run(text);
    }

    #[test]
    fn yaml_shaped_text(text in "([a-z:{}\\[\\],&*!|>'\"#@ -]|\n  ){0,300}") {
        run(text);
    }

    #[test]
    fn mutated_workflows(edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, any::<char>()), 1..12)) {
        let mut chars: Vec<char> = SEED.chars().collect();
        for (at, kind, c) in edits {
            if chars.is_empty() { break; }
            let i = at.index(chars.len());
            match kind {
                0 => { chars.remove(i); }
                1 => chars.insert(i, c),
                _ => chars[i] = c,
            }
        }
        run(chars.into_iter().collect());
    }
}
