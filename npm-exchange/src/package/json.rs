//! JSON values with JavaScript's object semantics.
//!
//! npm builds the publish document from plain JavaScript objects and sends `JSON.stringify` of
//! them, so the key order on the wire is the insertion order of those objects: the order of
//! `package.json` plus the keys npm's normalisation appends. `serde_json::Map` sorts its keys
//! (the workspace does not enable `preserve_order`), so this module keeps its own small tree that
//! follows the JavaScript rules exactly:
//!
//! - keys keep insertion order, except array-index keys (`"0"`, `"17"`), which JavaScript always
//!   enumerates first, in ascending order;
//! - assigning an existing key replaces the value in place; a duplicate key in the source text
//!   keeps the first position and the last value (`JSON.parse`);
//! - every number is an IEEE double and is written the way `Number.prototype.toString` does
//!   (`1e+21`, `0.000001`, `1.5`).

use std::fmt::{self, Write as _};

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};

/// A JSON value as JavaScript holds it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Json>),
    Object(Object),
}

/// A JSON object whose key order follows JavaScript's own-property order.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Object {
    entries: Vec<(String, Json)>,
}

/// Whether `key` is an array index, which JavaScript enumerates before every other key.
fn array_index(key: &str) -> Option<u32> {
    let canonical =
        key == "0" || (!key.starts_with('0') && key.bytes().all(|b| b.is_ascii_digit()));
    if key.is_empty() || !canonical {
        return None;
    }
    key.parse::<u32>().ok().filter(|&index| index != u32::MAX)
}

impl Object {
    /// An empty object.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// The value under `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&Json> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The value under `key`, mutably.
    pub(crate) fn get_mut(&mut self, key: &str) -> Option<&mut Json> {
        self.entries
            .iter_mut()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// The string under `key`, if it is a string.
    pub(crate) fn get_str(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(Json::String(s)) => Some(s),
            _ => None,
        }
    }

    /// The object under `key`, if it is an object.
    pub(crate) fn get_object(&self, key: &str) -> Option<&Object> {
        match self.get(key) {
            Some(Json::Object(o)) => Some(o),
            _ => None,
        }
    }

    /// Whether `key` is present (JavaScript `key in object`).
    pub(crate) fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Whether the value under `key` is truthy (a missing key is `undefined`, so falsy).
    pub(crate) fn truthy(&self, key: &str) -> bool {
        self.get(key).is_some_and(Json::truthy)
    }

    /// `object[key] = value`: replaces in place, or adds the key where JavaScript would.
    pub(crate) fn insert(&mut self, key: impl Into<String>, value: Json) {
        let key = key.into();
        if let Some(slot) = self.get_mut(&key) {
            *slot = value;
            return;
        }
        let position = match array_index(&key) {
            Some(index) => self
                .entries
                .iter()
                .position(|(k, _)| array_index(k).is_none_or(|other| other > index))
                .unwrap_or(self.entries.len()),
            None => self.entries.len(),
        };
        self.entries.insert(position, (key, value));
    }

    /// `delete object[key]`.
    pub(crate) fn remove(&mut self, key: &str) -> Option<Json> {
        let position = self.entries.iter().position(|(k, _)| k == key)?;
        Some(self.entries.remove(position).1)
    }

    /// Keeps the entries for which `keep` returns true.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&str, &Json) -> bool) {
        self.entries.retain(|(k, v)| keep(k, v));
    }

    /// The keys, in enumeration order.
    pub(crate) fn keys(&self) -> Vec<String> {
        self.entries.iter().map(|(k, _)| k.clone()).collect()
    }

    /// The entries, in enumeration order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &Json)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Whether the object has no keys.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Appends `JSON.stringify(this)` to `out`.
    pub(crate) fn write_json(&self, out: &mut String) {
        out.push('{');
        for (i, (key, value)) in self.entries.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_json_string(key, out);
            out.push(':');
            value.write_json(out);
        }
        out.push('}');
    }
}

impl FromIterator<(String, Json)> for Object {
    fn from_iter<I: IntoIterator<Item = (String, Json)>>(iter: I) -> Self {
        let mut object = Object::new();
        for (k, v) in iter {
            object.insert(k, v);
        }
        object
    }
}

impl Json {
    /// `JSON.parse(text)`.
    pub(crate) fn parse(text: &str) -> Result<Json, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// JavaScript truthiness.
    pub(crate) fn truthy(&self) -> bool {
        match self {
            Json::Null => false,
            Json::Bool(b) => *b,
            Json::Number(n) => *n != 0.0 && !n.is_nan(),
            Json::String(s) => !s.is_empty(),
            Json::Array(_) | Json::Object(_) => true,
        }
    }

    /// The string, if this is one.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    /// `String(value)` in JavaScript, as used in template literals.
    pub(crate) fn to_js_string(&self) -> String {
        match self {
            Json::Null => "null".to_owned(),
            Json::Bool(b) => b.to_string(),
            Json::Number(n) => js_number(*n),
            Json::String(s) => s.clone(),
            Json::Array(items) => items
                .iter()
                .map(|item| match item {
                    Json::Null => String::new(),
                    other => other.to_js_string(),
                })
                .collect::<Vec<_>>()
                .join(","),
            Json::Object(_) => "[object Object]".to_owned(),
        }
    }

    /// Appends `JSON.stringify(this)` to `out`.
    pub(crate) fn write_json(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Number(n) if n.is_finite() => out.push_str(&js_number(*n)),
            Json::Number(_) => out.push_str("null"),
            Json::String(s) => write_json_string(s, out),
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write_json(out);
                }
                out.push(']');
            }
            Json::Object(object) => object.write_json(out),
        }
    }

    /// `JSON.stringify(this)`.
    pub(crate) fn to_json_string(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }

    /// `JSON.stringify(this, null, 2)`, for readable snapshots.
    #[cfg(test)]
    pub(crate) fn to_pretty(&self) -> String {
        fn write(value: &Json, indent: usize, out: &mut String) {
            let pad = |n: usize| "  ".repeat(n);
            match value {
                Json::Array(items) if !items.is_empty() => {
                    out.push('[');
                    for (i, item) in items.iter().enumerate() {
                        out.push_str(if i == 0 { "\n" } else { ",\n" });
                        out.push_str(&pad(indent + 1));
                        write(item, indent + 1, out);
                    }
                    out.push('\n');
                    out.push_str(&pad(indent));
                    out.push(']');
                }
                Json::Object(object) if !object.is_empty() => {
                    out.push('{');
                    for (i, (key, item)) in object.iter().enumerate() {
                        out.push_str(if i == 0 { "\n" } else { ",\n" });
                        out.push_str(&pad(indent + 1));
                        write_json_string(key, out);
                        out.push_str(": ");
                        write(item, indent + 1, out);
                    }
                    out.push('\n');
                    out.push_str(&pad(indent));
                    out.push('}');
                }
                other => other.write_json(out),
            }
        }
        let mut out = String::new();
        write(self, 0, &mut out);
        out
    }

    /// The same value as a `serde_json::Value` (key order is lost).
    pub(crate) fn to_serde(&self) -> serde_json::Value {
        match self {
            Json::Null => serde_json::Value::Null,
            Json::Bool(b) => serde_json::Value::Bool(*b),
            Json::Number(n) => {
                if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
                    // Exact: the magnitude is below 2^53.
                    serde_json::Value::from(*n as i64)
                } else {
                    serde_json::Number::from_f64(*n).map_or(serde_json::Value::Null, Into::into)
                }
            }
            Json::String(s) => serde_json::Value::String(s.clone()),
            Json::Array(items) => items.iter().map(Json::to_serde).collect(),
            Json::Object(object) => serde_json::Value::Object(
                object
                    .iter()
                    .map(|(k, v)| (k.to_owned(), v.to_serde()))
                    .collect(),
            ),
        }
    }
}

/// Appends a JSON string literal exactly as `JSON.stringify` writes it: `"` and `\\` escaped,
/// U+0008/9/A/C/D as `\\b \\t \\n \\f \\r`, other controls below U+0020 as lowercase `\\u00xx`,
/// everything else (including U+2028 and non-ASCII) as is.
pub(crate) fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{C}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `Number.prototype.toString()` for a finite double (ECMA-262 Number::toString, radix 10).
pub(crate) fn js_number(n: f64) -> String {
    if n.is_nan() {
        return "NaN".into();
    }
    if n == 0.0 {
        return "0".into(); // also -0
    }
    if n.is_infinite() {
        return if n > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    if n < 0.0 {
        return format!("-{}", js_number(-n));
    }
    // Rust's `{:e}` prints the shortest digits that round-trip, as JavaScript does.
    let scientific = format!("{n:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exponent: i64 = exponent.parse().unwrap_or(0);
    let k = i64::try_from(digits.len()).unwrap_or(i64::MAX);
    let point = exponent + 1; // the decimal point sits after `point` digits
    let zeros = |count: i64| "0".repeat(usize::try_from(count).unwrap_or(0));
    if k <= point && point <= 21 {
        format!("{digits}{}", zeros(point - k))
    } else if 0 < point && point <= 21 {
        let split = usize::try_from(point).unwrap_or(0);
        format!("{}.{}", &digits[..split], &digits[split..])
    } else if -6 < point && point <= 0 {
        format!("0.{}{digits}", zeros(-point))
    } else {
        let e = point - 1;
        let sign = if e >= 0 { '+' } else { '-' };
        let (first, rest) = digits.split_at(1);
        if rest.is_empty() {
            format!("{first}e{sign}{}", e.abs())
        } else {
            format!("{first}.{rest}e{sign}{}", e.abs())
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }
    // JavaScript numbers are doubles: the precision lost here is lost in npm too.
    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(Json::Number(v as f64))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(Json::Number(v as f64))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Json, E> {
        Ok(Json::Number(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::String(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut object = Object::new();
        while let Some((key, value)) = map.next_entry::<String, Json>()? {
            object.insert(key, value);
        }
        Ok(Json::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_insertion_order_with_array_indices_first() {
        let json = Json::parse(r#"{"b":1,"2":2,"a":3,"1":4,"01":5,"b":6}"#).unwrap();
        assert_eq!(json.to_json_string(), r#"{"1":4,"2":2,"b":6,"a":3,"01":5}"#);
    }

    #[test]
    fn insert_replaces_in_place_and_appends_new_keys() {
        let mut object = Object::new();
        object.insert("x", Json::Null);
        object.insert("y", Json::Bool(true));
        object.insert("x", Json::String("z".into()));
        object.insert("7", Json::Null);
        assert_eq!(
            Json::Object(object).to_json_string(),
            r#"{"7":null,"x":"z","y":true}"#
        );
    }

    #[test]
    fn numbers_print_like_javascript() {
        let cases = [
            (1.5, "1.5"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (123_456_789_012_345_680_000.0, "123456789012345680000"),
            (0.000_001, "0.000001"),
            (1e-7, "1e-7"),
            (1.25e-7, "1.25e-7"),
            (-2.0, "-2"),
            (-0.0, "0"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
        ];
        for (n, expected) in cases {
            assert_eq!(js_number(n), expected, "{n:e}");
        }
        let parsed = Json::parse("[12345678901234567890, 1e21, 5, -0]").unwrap();
        assert_eq!(parsed.to_json_string(), "[12345678901234567000,1e+21,5,0]");
    }

    #[test]
    fn strings_escape_like_json_stringify() {
        let json = Json::String("a\"b\\c\n\u{1}\u{7f}é/\u{2028}\u{8}\u{c}\r\t\u{1f}".into());
        let expected = "\"a\\\"b\\\\c\\n\\u0001\u{7f}é/\u{2028}\\b\\f\\r\\t\\u001f\"";
        assert_eq!(json.to_json_string(), expected);
        // serde_json, which the registry side of the tests parses with, writes the same.
        assert_eq!(
            json.to_json_string(),
            serde_json::to_string(json.as_str().unwrap()).unwrap()
        );
    }

    #[test]
    fn truthiness_and_string_conversion_follow_javascript() {
        let falsy = [
            Json::Null,
            Json::Bool(false),
            Json::Number(0.0),
            Json::String(String::new()),
        ];
        assert!(falsy.iter().all(|v| !v.truthy()));
        assert!(Json::Array(vec![]).truthy() && Json::Object(Object::new()).truthy());
        let array = Json::parse(r#"[1, null, "a", [2, 3]]"#).unwrap();
        assert_eq!(array.to_js_string(), "1,,a,2,3");
        assert_eq!(Json::parse("{}").unwrap().to_js_string(), "[object Object]");
    }
}
