//! RFC 8785 JSON Canonicalization (JCS) for the values Rekor canonicalizes: entry bodies and the SET payload.
//!
//! Object members are sorted by their names' UTF-16 code units; strings are escaped as ECMAScript's
//! `JSON.stringify` does (which is what `serde_json` writes too: `\"`, `\\`, `\b \f \n \r \t`, other controls as
//! lowercase `\u00xx`, everything else literal); no whitespace. Only integers up to ±2^53 are supported as numbers:
//! Rekor's documents hold no others, and a float or a larger integer (which a double cannot hold exactly) is
//! refused rather than formatted differently from ECMAScript.
//!
//! # Why this is not a crate
//!
//! The maintained JCS crate, `serde_json_canonicalizer`, is what the product's Sigstore verifier
//! (`sigstore-verify`) canonicalizes Rekor's signed entry timestamp with. The testbed's Rekor signs the bytes
//! this module writes and the product checks that signature, so if both sides used the same canonicalizer a
//! bug in it would sign and verify the same wrong bytes and no test would see it. The testbed is an
//! independent reading of the specs (see the crate docs), so it keeps its own: fifty lines for the integer-only
//! subset Rekor needs. The tests check it against `serde_json_canonicalizer` (a dev-dependency only) on RFC 8785's
//! own examples and on random documents, so the two readings must agree.

use serde_json::Value;

/// 2^53: the largest magnitude up to which every integer is exactly a double.
const MAX_EXACT_INTEGER: u64 = 1 << 53;

/// The JCS text of `value`, or `None` if it holds a non-integer number or an integer beyond ±2^53.
pub(crate) fn canonicalize(value: &Value) -> Option<String> {
    let mut out = String::new();
    write(value, &mut out)?;
    Some(out)
}

fn write(value: &Value, out: &mut String) -> Option<()> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(flag) => out.push_str(if *flag { "true" } else { "false" }),
        Value::Number(number) => {
            // JCS numbers are IEEE 754 doubles: integers up to 2^53 print the same either way, larger ones
            // would be rounded by every other implementation, so they are refused like floats.
            let int = number.as_i64()?;
            if int.unsigned_abs() > MAX_EXACT_INTEGER {
                return None;
            }
            out.push_str(&int.to_string());
        }
        Value::String(text) => out.push_str(&serde_json::to_string(text).ok()?),
        Value::Array(items) => {
            out.push('[');
            for (position, item) in items.iter().enumerate() {
                if position > 0 {
                    out.push(',');
                }
                write(item, out)?;
            }
            out.push(']');
        }
        Value::Object(members) => {
            let mut sorted: Vec<(&String, &Value)> = members.iter().collect();
            sorted.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (position, (name, member)) in sorted.into_iter().enumerate() {
                if position > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(name).ok()?);
                out.push(':');
                write(member, out)?;
            }
            out.push('}');
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_members_and_drops_whitespace() {
        let value =
            json!({"logIndex": 7, "body": "ZQ==", "integratedTime": 1700000000, "logID": "ab"});
        assert_eq!(
            canonicalize(&value).unwrap(),
            r#"{"body":"ZQ==","integratedTime":1700000000,"logID":"ab","logIndex":7}"#
        );
    }

    #[test]
    fn escapes_like_ecmascript() {
        let value = json!({"s": "tab\t nl\n quote\" back\\ ctl\u{1} slash/ é <&>"});
        assert_eq!(
            canonicalize(&value).unwrap(),
            "{\"s\":\"tab\\t nl\\n quote\\\" back\\\\ ctl\\u0001 slash/ é <&>\"}"
        );
    }

    #[test]
    fn sorts_by_utf16_code_units() {
        // U+10000 is a surrogate pair (0xD800 …) and sorts before U+FFFF in UTF-16, after it in UTF-8.
        let value = json!({"\u{ffff}": 1, "\u{10000}": 2, "a": [true, null, -3]});
        assert_eq!(
            canonicalize(&value).unwrap(),
            "{\"a\":[true,null,-3],\"\u{10000}\":2,\"\u{ffff}\":1}"
        );
    }

    /// RFC 8785 §3.2.3's sorting example: the order is by UTF-16 code units, not by UTF-8 or code points.
    #[test]
    fn sorts_rfc_8785_example() {
        let value: Value = serde_json::from_str(
            r#"{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}"#,
        )
        .unwrap();
        let text = canonicalize(&value).unwrap();
        assert_eq!(
            text,
            "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\
             \"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\
             \"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}"
        );
        assert_eq!(Some(text), serde_json_canonicalizer::to_string(&value).ok());
    }

    /// RFC 8785 §3.2.2.2's string example, and other shapes Rekor's documents have.
    #[test]
    fn agrees_with_serde_json_canonicalizer_on_examples() {
        let examples = [
            r#"{"string":"\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/","literals":[null,true,false]}"#,
            r#"{"apiVersion":"0.0.1","kind":"dsse","spec":{"envelopeHash":{"algorithm":"sha256","value":"ab"},"signatures":[{"signature":"c2ln","verifier":"cGVt"}]}}"#,
            r#"{"body":"ZQ==","integratedTime":1700000000,"logID":"ab","logIndex":-7,"max":9007199254740992,"min":-9007199254740992}"#,
            r#"[[],{},"",{"":{"a":[{"b":"\u007f\u2028\u2029\ud800\udc00"}]}}]"#,
        ];
        for example in examples {
            let value: Value = serde_json::from_str(example).unwrap();
            assert_eq!(
                canonicalize(&value),
                serde_json_canonicalizer::to_string(&value).ok(),
                "{example}"
            );
        }
    }

    /// Random documents (integers only, names and strings from every Unicode plane): both readings agree.
    #[test]
    fn agrees_with_serde_json_canonicalizer_on_random_documents() {
        fn text(rng: &mut fastrand::Rng) -> String {
            (0..rng.usize(0..6))
                .map(|_| match rng.u8(0..4) {
                    0 => char::from(rng.u8(0..0x80)),
                    1 => rng.char('\u{80}'..='\u{ffff}'),
                    2 => rng.char('\u{10000}'..='\u{10ffff}'),
                    _ => rng.char('a'..='e'),
                })
                .collect()
        }
        fn value(rng: &mut fastrand::Rng, depth: u32) -> Value {
            match rng.u8(0..if depth > 3 { 4 } else { 6 }) {
                0 => Value::Null,
                1 => Value::Bool(rng.bool()),
                2 => Value::from(rng.i64(-(1 << 53)..=(1 << 53))),
                3 => Value::String(text(rng)),
                4 => Value::Array(
                    (0..rng.usize(0..4))
                        .map(|_| value(rng, depth + 1))
                        .collect(),
                ),
                _ => Value::Object(
                    (0..rng.usize(0..5))
                        .map(|_| (text(rng), value(rng, depth + 1)))
                        .collect(),
                ),
            }
        }
        let mut rng = fastrand::Rng::with_seed(8785);
        for _ in 0..2000 {
            let document = value(&mut rng, 0);
            assert_eq!(
                canonicalize(&document),
                serde_json_canonicalizer::to_string(&document).ok(),
                "{document}"
            );
        }
    }

    #[test]
    fn refuses_floats_and_inexact_integers() {
        assert!(canonicalize(&json!({"x": 1.5})).is_none());
        // A double rounds 2^53 + 1 to 2^53: ECMAScript (and serde_json_canonicalizer) would write 9007199254740992.
        assert!(canonicalize(&json!([9_007_199_254_740_993_i64])).is_none());
        assert!(canonicalize(&json!([u64::MAX])).is_none());
        assert!(canonicalize(&json!([-9_007_199_254_740_993_i64])).is_none());
        assert_eq!(
            serde_json_canonicalizer::to_string(&json!([9_007_199_254_740_993_i64])).unwrap(),
            "[9007199254740992]"
        );
    }
}
