//! The in-toto Statement v1 a PEP 740 attestation signs: building PyPI's publish statement byte
//! for byte as sigstore-python does, and reading a signed statement back the way
//! sigstore-python's statement model reads it.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Value, json};

use super::json::{self, ANY, Shape};

/// The in-toto statement type every PEP 740 statement has.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";

/// The DSSE payload type of an in-toto statement.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// The predicate types PyPI accepts in an attestation (pypi-attestations' `AttestationType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PredicateType {
    /// `https://docs.pypi.org/attestations/publish/v1`: the file was published by a Trusted
    /// Publisher. This is what trustpub signs.
    PublishV1,
    /// `https://slsa.dev/provenance/v1`: SLSA build provenance.
    SlsaProvenanceV1,
}

impl PredicateType {
    /// Every predicate type PyPI accepts.
    pub const ALL: [Self; 2] = [Self::PublishV1, Self::SlsaProvenanceV1];

    /// The predicate type URI.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PublishV1 => "https://docs.pypi.org/attestations/publish/v1",
            Self::SlsaProvenanceV1 => "https://slsa.dev/provenance/v1",
        }
    }

    /// The predicate type a URI names, if PyPI accepts it.
    pub fn from_uri(uri: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|known| known.as_str() == uri)
    }
}

impl fmt::Display for PredicateType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

static SUBJECT_SHAPE: Shape = Shape {
    keys: &[("name", &ANY), ("digest", &ANY)],
};
static STATEMENT_SHAPE: Shape = Shape {
    keys: &[
        ("_type", &ANY),
        ("subject", &SUBJECT_SHAPE),
        ("predicateType", &ANY),
        ("predicate", &ANY),
    ],
};

/// The statement trustpub signs for a distribution: in-toto Statement v1 with the file as its
/// single subject, predicate type `https://docs.pypi.org/attestations/publish/v1` and a null
/// predicate.
///
/// The bytes are exactly what pypi-attestations' `Attestation.sign` has sigstore-python build
/// (pydantic's compact `model_dump_json`, keys in declaration order); they become the DSSE
/// payload verbatim. `filename` is the file name only (`sampleproject-1.0-py3-none-any.whl`),
/// `sha256_hex` its SHA-256 in hex (written lowercase).
///
/// ```
/// let statement = pypi_exchange::attestation::publish_statement("x-1.0.tar.gz", "AB12");
/// assert_eq!(
///     String::from_utf8(statement).unwrap(),
///     r#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"x-1.0.tar.gz","digest":{"sha256":"ab12"}}],"predicateType":"https://docs.pypi.org/attestations/publish/v1","predicate":null}"#
/// );
/// ```
pub fn publish_statement(filename: &str, sha256_hex: &str) -> Vec<u8> {
    let statement = json!({
        "_type": STATEMENT_TYPE,
        "subject": [{"name": filename, "digest": {"sha256": sha256_hex.to_ascii_lowercase()}}],
        "predicateType": PredicateType::PublishV1.as_str(),
        "predicate": null,
    });
    json::to_string(&statement, &STATEMENT_SHAPE).into_bytes()
}

/// The digest algorithms sigstore-python's statement model accepts in a subject's digest set.
const DIGEST_ALGORITHMS: &[&str] = &[
    "sha256", "sha384", "sha512", "sha3_256", "sha3_384", "sha3_512",
];

/// A signed in-toto statement, read as sigstore-python's `_Statement` model reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Statement {
    /// The subjects; never empty.
    pub(crate) subjects: Vec<Subject>,
    /// The predicate type URI, whatever it is.
    pub(crate) predicate_type: String,
}

/// One subject of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Subject {
    /// The name; absent when `null`.
    pub(crate) name: Option<String>,
    /// Digests by algorithm (`sha256` → hex).
    pub(crate) digest: BTreeMap<String, String>,
}

impl Statement {
    /// Parses statement bytes (a DSSE payload). The error says what is wrong, for
    /// "invalid statement: …".
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, String> {
        let value: Value =
            serde_json::from_slice(bytes).map_err(|err| format!("it is not JSON ({err})"))?;
        let Value::Object(statement) = value else {
            return Err("it is not a JSON object".into());
        };
        match statement.get("_type") {
            Some(Value::String(kind)) if kind == STATEMENT_TYPE => {}
            Some(other) => {
                return Err(format!(
                    "its _type is {other}, expected \"{STATEMENT_TYPE}\""
                ));
            }
            None => return Err(format!("it has no _type (expected \"{STATEMENT_TYPE}\")")),
        }
        let subjects = match statement.get("subject") {
            Some(Value::Array(subjects)) if subjects.is_empty() => {
                return Err("its subject list is empty".into());
            }
            Some(Value::Array(subjects)) => subjects
                .iter()
                .enumerate()
                .map(|(i, subject)| Subject::parse(subject).map_err(|e| format!("subject {i} {e}")))
                .collect::<Result<Vec<_>, _>>()?,
            Some(_) => return Err("its subject is not a list".into()),
            None => return Err("it has no subject".into()),
        };
        let predicate_type = match statement.get("predicateType") {
            Some(Value::String(predicate_type)) => predicate_type.clone(),
            Some(_) => return Err("its predicateType is not a string".into()),
            None => return Err("it has no predicateType".into()),
        };
        match statement.get("predicate") {
            None | Some(Value::Null | Value::Object(_)) => {}
            Some(_) => return Err("its predicate is neither an object nor null".into()),
        }
        Ok(Self {
            subjects,
            predicate_type,
        })
    }
}

impl Subject {
    fn parse(value: &Value) -> Result<Self, String> {
        let Value::Object(subject) = value else {
            return Err("is not a JSON object".into());
        };
        let name = match subject.get("name") {
            None | Some(Value::Null) => None,
            Some(Value::String(name)) => Some(name.clone()),
            Some(_) => return Err("has a name that is not a string".into()),
        };
        let Some(Value::Object(digests)) = subject.get("digest") else {
            return Err("has no digest set".into());
        };
        let mut digest = BTreeMap::new();
        for (algorithm, value) in digests {
            if !DIGEST_ALGORITHMS.contains(&algorithm.as_str()) {
                return Err(format!(
                    "has a {algorithm} digest; the digest set may only hold {}",
                    DIGEST_ALGORITHMS.join(", ")
                ));
            }
            let Value::String(hex) = value else {
                return Err(format!("has a {algorithm} digest that is not a string"));
            };
            digest.insert(algorithm.clone(), hex.clone());
        }
        Ok(Self { name, digest })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILENAME: &str = "sampleproject-4.0.0-py3-none-any.whl";
    const SHA256: &str = "ddcd6b9c2b91a32e8ead528d0c2dc4e1b7c975ba1c09271cf1384ea94d45882b";

    #[test]
    fn publish_statement_is_byte_exact() {
        let statement = String::from_utf8(publish_statement(FILENAME, SHA256)).unwrap();
        insta::assert_snapshot!(statement, @r#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"sampleproject-4.0.0-py3-none-any.whl","digest":{"sha256":"ddcd6b9c2b91a32e8ead528d0c2dc4e1b7c975ba1c09271cf1384ea94d45882b"}}],"predicateType":"https://docs.pypi.org/attestations/publish/v1","predicate":null}"#);
    }

    #[test]
    fn publish_statement_matches_sigstore_python() {
        // Written by sigstore-python's StatementBuilder (tests/fixtures/pep740/make_fixtures.py).
        let reference = include_bytes!("../../tests/fixtures/pep740/statement.json");
        assert_eq!(publish_statement(FILENAME, SHA256), reference);
        assert_eq!(
            publish_statement(FILENAME, &SHA256.to_ascii_uppercase()),
            reference
        );
    }

    #[test]
    fn parses_what_it_builds() {
        let statement = Statement::parse(&publish_statement(FILENAME, SHA256)).unwrap();
        assert_eq!(statement.predicate_type, PredicateType::PublishV1.as_str());
        assert_eq!(
            statement.subjects,
            [Subject {
                name: Some(FILENAME.into()),
                digest: BTreeMap::from([("sha256".into(), SHA256.into())]),
            }]
        );
    }

    #[test]
    fn predicate_types() {
        assert_eq!(
            PredicateType::from_uri("https://slsa.dev/provenance/v1"),
            Some(PredicateType::SlsaProvenanceV1)
        );
        assert_eq!(
            PredicateType::from_uri("https://slsa.dev/provenance/v0.2"),
            None
        );
        assert_eq!(
            PredicateType::PublishV1.to_string(),
            "https://docs.pypi.org/attestations/publish/v1"
        );
    }

    #[test]
    fn rejects_what_sigstore_python_rejects() {
        let error = |text: &str| Statement::parse(text.as_bytes()).unwrap_err();
        let t = STATEMENT_TYPE;
        insta::assert_snapshot!(error("{"), @"it is not JSON (EOF while parsing an object at line 1 column 1)");
        insta::assert_snapshot!(error("[]"), @"it is not a JSON object");
        insta::assert_snapshot!(error("{}"), @r#"it has no _type (expected "https://in-toto.io/Statement/v1")"#);
        insta::assert_snapshot!(error(r#"{"_type":"https://in-toto.io/Statement/v0.1"}"#), @r#"its _type is "https://in-toto.io/Statement/v0.1", expected "https://in-toto.io/Statement/v1""#);
        insta::assert_snapshot!(error(&format!(r#"{{"_type":"{t}"}}"#)), @"it has no subject");
        insta::assert_snapshot!(error(&format!(r#"{{"_type":"{t}","subject":{{}}}}"#)), @"its subject is not a list");
        insta::assert_snapshot!(error(&format!(r#"{{"_type":"{t}","subject":[]}}"#)), @"its subject list is empty");
        insta::assert_snapshot!(error(&format!(r#"{{"_type":"{t}","subject":[1]}}"#)), @"subject 0 is not a JSON object");
        insta::assert_snapshot!(error(&format!(r#"{{"_type":"{t}","subject":[{{"name":1}}]}}"#)), @"subject 0 has a name that is not a string");
        insta::assert_snapshot!(error(&format!(r#"{{"_type":"{t}","subject":[{{"name":"a"}}]}}"#)), @"subject 0 has no digest set");
        insta::assert_snapshot!(error(&format!(r#"{{"_type":"{t}","subject":[{{"name":"a","digest":{{"md5":"00"}}}}]}}"#)), @"subject 0 has a md5 digest; the digest set may only hold sha256, sha384, sha512, sha3_256, sha3_384, sha3_512");
        insta::assert_snapshot!(error(&format!(r#"{{"_type":"{t}","subject":[{{"name":"a","digest":{{"sha256":1}}}}]}}"#)), @"subject 0 has a sha256 digest that is not a string");
        insta::assert_snapshot!(error(&format!(r#"{{"_type":"{t}","subject":[{{"name":"a","digest":{{}}}}]}}"#)), @"it has no predicateType");
        insta::assert_snapshot!(error(&format!(r#"{{"_type":"{t}","subject":[{{"name":"a","digest":{{}}}}],"predicateType":2}}"#)), @"its predicateType is not a string");
        insta::assert_snapshot!(error(&format!(r#"{{"_type":"{t}","subject":[{{"name":"a","digest":{{}}}}],"predicateType":"p","predicate":[]}}"#)), @"its predicate is neither an object nor null");
        // A null name and an empty predicate are the subject checks' business, not the parser's.
        let statement = Statement::parse(
            format!(r#"{{"_type":"{t}","subject":[{{"name":null,"digest":{{}}}}],"predicateType":"p","predicate":{{}}}}"#)
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(statement.subjects[0].name, None);
    }
}
