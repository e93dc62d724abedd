//! RFC 8785 JSON Canonicalization (JCS) for the values Rekor canonicalizes: entry bodies and the SET payload.
//!
//! Object members are sorted by their names' UTF-16 code units; strings are escaped as ECMAScript's
//! `JSON.stringify` does (which is what `serde_json` writes too: `\"`, `\\`, `\b \f \n \r \t`, other controls as
//! lowercase `\u00xx`, everything else literal); no whitespace. Only integers are supported as numbers: Rekor's
//! documents hold no others, and a float is refused rather than formatted differently from ECMAScript.

use serde_json::Value;

/// The JCS text of `value`, or `None` if it holds a non-integer number.
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
            if let Some(int) = number.as_i64() {
                out.push_str(&int.to_string());
            } else if let Some(uint) = number.as_u64() {
                out.push_str(&uint.to_string());
            } else {
                return None;
            }
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

    #[test]
    fn refuses_floats() {
        assert!(canonicalize(&json!({"x": 1.5})).is_none());
    }
}
