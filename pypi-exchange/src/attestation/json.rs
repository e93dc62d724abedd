//! JSON written in a fixed key order, and base64 read the way protobuf-JSON allows it.
//!
//! The attestation object, the Sigstore bundle and the in-toto statement must come out byte for
//! byte as pypi-attestations and sigstore-python write them (compact, keys in their model's
//! declaration order). A `serde_json::Value` object keeps its keys sorted, or in insertion order
//! when some crate in the build turns on serde_json's `preserve_order` feature, so the order here
//! comes from a [`Shape`] instead, never from the map: the output is the same either way.

use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use serde_json::Value;

/// The key order of a JSON object: these keys first, in this order, each with the shape of its
/// own value; keys not listed follow in sorted order. Arrays take the shape of their elements.
pub(crate) struct Shape {
    pub(crate) keys: &'static [(&'static str, &'static Shape)],
}

/// No known keys: everything sorted.
pub(crate) static ANY: Shape = Shape { keys: &[] };

/// `value` as compact JSON, objects ordered by `shape`.
pub(crate) fn to_string(value: &Value, shape: &Shape) -> String {
    let mut out = String::new();
    write(&mut out, value, shape);
    out
}

fn write(out: &mut String, value: &Value, shape: &Shape) {
    match value {
        Value::Object(map) => {
            let known = shape
                .keys
                .iter()
                .filter_map(|(key, shape)| map.get(*key).map(|value| (*key, value, *shape)));
            let mut unknown: Vec<(&str, &Value, &Shape)> = map
                .iter()
                .filter(|(key, _)| !shape.keys.iter().any(|(known, _)| known == key))
                .map(|(key, value)| (key.as_str(), value, &ANY))
                .collect();
            unknown.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, value, shape)) in known.chain(unknown).enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::from(key).to_string());
                out.push(':');
                write(out, value, shape);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(out, item, shape);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Standard base64 with padding, as sigstore-python and pydantic write bytes.
pub(crate) fn encode_base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);

/// Decodes base64 bytes as protobuf-JSON readers accept them: the standard or the URL-safe
/// alphabet, with or without padding.
pub(crate) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    STANDARD_LENIENT
        .decode(text)
        .or_else(|_| URL_SAFE_LENIENT.decode(text))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    static INNER: Shape = Shape {
        keys: &[("z", &ANY), ("a", &ANY)],
    };
    static OUTER: Shape = Shape {
        keys: &[("version", &ANY), ("items", &INNER), ("b", &ANY)],
    };

    #[test]
    fn keys_follow_the_shape_then_sort() {
        let value = json!({
            "b": "x",
            "extra2": [1, 2],
            "items": [{"a": 1, "z": 2, "m": null}, {"a": "\"quoted\" é"}],
            "extra1": {"y": true, "x": false},
            "version": 1,
        });
        insta::assert_snapshot!(to_string(&value, &OUTER), @r#"{"version":1,"items":[{"z":2,"a":1,"m":null},{"a":"\"quoted\" é"}],"b":"x","extra1":{"x":false,"y":true},"extra2":[1,2]}"#);
    }

    #[test]
    fn base64_is_read_in_every_protobuf_spelling() {
        let bytes = [0xfb_u8, 0xff, 0x01];
        assert_eq!(encode_base64(&bytes), "+/8B");
        for spelling in ["+/8B", "-_8B", "AQ", "AQ=="] {
            assert!(decode_base64(spelling).is_some(), "{spelling}");
        }
        assert_eq!(decode_base64("AQ").unwrap(), [1]);
        assert_eq!(decode_base64("AQ==").unwrap(), [1]);
        assert_eq!(decode_base64("-_8B").unwrap(), bytes);
        assert_eq!(decode_base64("not base64!"), None);
    }
}
