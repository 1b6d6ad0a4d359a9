//! The JSON side of app caches: describing a document's structure for `app inspect`, and
//! writing JSON exactly as Python's `json.dumps` does by default (`", "` and `": "`
//! separators, non-ASCII escaped as `\uXXXX`), so a file changed by `app set` looks to the
//! app like one it wrote itself.

use std::io;

use cachemgr_proto::JsonNode;
use serde::Serialize;
use serde_json::Value;

/// Most nodes one `app inspect` answer describes (the rest of a huge document is summarised
/// by its parents' sizes and counts).
pub const MAX_NODES: usize = 5_000;

/// Most bytes of pointers and shown values one answer carries, checked while it is built (a
/// document of long strings must not make one answer the size of the file).
pub const MAX_ANSWER_BYTES: usize = 4 << 20;

/// Serialises `value` like Python's `json.dumps(value)`.
pub fn to_python_json(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, PythonFormatter);
    // Writing to a Vec cannot fail and a Value always serialises.
    let _ = value.serialize(&mut ser);
    out
}

/// `json.dumps` defaults: the separators and `ensure_ascii=True`.
struct PythonFormatter;

impl serde_json::ser::Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, ch) in fragment.char_indices() {
            if ch.is_ascii() {
                continue;
            }
            w.write_all(&fragment.as_bytes()[start..i])?;
            let mut units = [0u16; 2];
            for unit in ch.encode_utf16(&mut units) {
                write!(w, "\\u{unit:04x}")?;
            }
            start = i + ch.len_utf8();
        }
        w.write_all(&fragment.as_bytes()[start..])
    }

    fn write_f64<W: ?Sized + io::Write>(&mut self, w: &mut W, value: f64) -> io::Result<()> {
        w.write_all(python_float(value).as_bytes())
    }
}

/// A float as Python's `repr` writes it: the shortest digits that read back the same, in
/// fixed notation for exponents -4..16 (always with a fraction, `100.0`), else scientific
/// with a signed two-digit exponent (`1e-05`, `1.5e+20`).
fn python_float(value: f64) -> String {
    if !value.is_finite() {
        // JSON has no such numbers; serde_json never holds one.
        return "null".to_owned();
    }
    let scientific = format!("{value:e}");
    let (mantissa, exp) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if (-4..16).contains(&exp) {
        if exp >= 0 {
            let point = exp as usize + 1;
            let mut int = digits.get(..point.min(digits.len())).unwrap_or("").to_owned();
            while int.len() < point {
                int.push('0');
            }
            let frac = digits.get(point..).filter(|f| !f.is_empty()).unwrap_or("0");
            format!("{sign}{int}.{frac}")
        } else {
            format!("{sign}0.{}{digits}", "0".repeat((-exp - 1) as usize))
        }
    } else {
        let m =
            if digits.len() > 1 { format!("{}.{}", &digits[..1], &digits[1..]) } else { digits };
        format!("{sign}{m}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    }
}

/// Describes the subtree of `root` at `pointer`, `depth` levels down, in document order.
pub fn describe(
    root: &Value,
    pointer: &str,
    depth: u32,
    show_values: bool,
) -> Option<Vec<JsonNode>> {
    let start = root.pointer(pointer)?;
    let mut nodes = Vec::new();
    walk(start, pointer.to_owned(), depth, show_values, &mut nodes);
    Some(nodes)
}

fn walk(value: &Value, pointer: String, depth: u32, show_values: bool, out: &mut Vec<JsonNode>) {
    let used: usize =
        out.iter().map(|n| n.pointer.len() + n.value.as_ref().map_or(0, String::len)).sum();
    if out.len() >= MAX_NODES || used >= MAX_ANSWER_BYTES {
        return;
    }
    let (kind, items) = match value {
        Value::Object(map) => ("object", Some(map.len() as u64)),
        Value::Array(list) => ("array", Some(list.len() as u64)),
        Value::String(_) => ("string", None),
        Value::Number(_) => ("number", None),
        Value::Bool(_) => ("bool", None),
        Value::Null => ("null", None),
    };
    let bytes = to_python_json(value).len() as u64;
    let scalar = items.is_none();
    let shown = (show_values && scalar)
        .then(|| String::from_utf8_lossy(&to_python_json(value)).into_owned())
        .filter(|shown| used + pointer.len() + shown.len() <= MAX_ANSWER_BYTES);
    out.push(JsonNode {
        pointer: pointer.clone(),
        kind: kind.to_owned(),
        bytes,
        items,
        value: shown,
    });
    if depth == 0 {
        return;
    }
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                walk(
                    child,
                    format!("{pointer}/{}", escape_token(key)),
                    depth - 1,
                    show_values,
                    out,
                );
            }
        }
        Value::Array(list) => {
            for (i, child) in list.iter().enumerate() {
                walk(child, format!("{pointer}/{i}"), depth - 1, show_values, out);
            }
        }
        _ => {}
    }
}

/// A key as a JSON pointer token (`~` → `~0`, `/` → `~1`).
fn escape_token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn unescape_token(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// Sets the value at `pointer` (replacing it, adding an object member, or appending to an
/// array with `-`); the parent must exist. Returns the old value, if any.
pub fn set_pointer(root: &mut Value, pointer: &str, new: Value) -> Result<Option<Value>, String> {
    if pointer.is_empty() {
        return Ok(Some(std::mem::replace(root, new)));
    }
    let Some((parent_ptr, last)) = pointer.rsplit_once('/') else {
        return Err(format!("{pointer:?} is not a JSON pointer (it must start with '/')"));
    };
    let parent = root
        .pointer_mut(parent_ptr)
        .ok_or_else(|| format!("{parent_ptr:?} does not exist in the document"))?;
    let key = unescape_token(last);
    match parent {
        Value::Object(map) => Ok(map.insert(key, new)),
        Value::Array(list) if key == "-" => {
            list.push(new);
            Ok(None)
        }
        Value::Array(list) => {
            let index: usize = key.parse().map_err(|_| format!("{key:?} is not an array index"))?;
            let len = list.len();
            if index == len {
                list.push(new);
                return Ok(None);
            }
            match list.get_mut(index) {
                Some(slot) => Ok(Some(std::mem::replace(slot, new))),
                None => Err(format!("index {index} is past the end of the array of {len}")),
            }
        }
        _ => Err(format!("{parent_ptr:?} is neither an object nor an array")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_like_python() {
        let value: Value = serde_json::from_str(
            r#"{"b": [1, 2.5, "é✓"], "a": {"x": null, "y": true}, "e": 1e-5, "f": 1e20}"#,
        )
        .expect("json");
        let text = String::from_utf8(to_python_json(&value)).expect("utf8");
        assert_eq!(
            text,
            r#"{"b": [1, 2.5, "\u00e9\u2713"], "a": {"x": null, "y": true}, "e": 1e-05, "f": 1e+20}"#
        );
        for (float, python) in [
            (100.0, "100.0"),
            (0.0001, "0.0001"),
            (-0.0, "-0.0"),
            (1e16, "1e+16"),
            (1234567890123456.0, "1234567890123456.0"),
            (1.5e-7, "1.5e-07"),
        ] {
            assert_eq!(python_float(float), python, "{float}");
        }
        let emoji: Value = serde_json::json!("😀");
        assert_eq!(to_python_json(&emoji), br#""\ud83d\ude00""#);
    }

    #[test]
    fn describes_structure_without_values() {
        let value = serde_json::json!({"info": {"a": "secret", "list": [1, 2, 3]}});
        let nodes = describe(&value, "", 2, false).expect("root");
        let pointers: Vec<_> = nodes.iter().map(|n| n.pointer.as_str()).collect();
        assert_eq!(pointers, ["", "/info", "/info/a", "/info/list"]);
        assert!(nodes.iter().all(|n| n.value.is_none()));
        assert_eq!(nodes[3].items, Some(3));
        let shown = describe(&value, "/info/a", 0, true).expect("leaf");
        assert_eq!(shown[0].value.as_deref(), Some(r#""secret""#));
        assert!(describe(&value, "/nope", 1, false).is_none());
    }

    #[test]
    fn sets_by_pointer() {
        let mut value = serde_json::json!({"a": {"b": 1}, "l": [1]});
        assert_eq!(
            set_pointer(&mut value, "/a/b", serde_json::json!(2)),
            Ok(Some(serde_json::json!(1)))
        );
        assert_eq!(set_pointer(&mut value, "/a/c", serde_json::json!("x")), Ok(None));
        assert_eq!(set_pointer(&mut value, "/l/-", serde_json::json!(2)), Ok(None));
        assert!(set_pointer(&mut value, "/missing/x", serde_json::json!(0)).is_err());
        assert!(set_pointer(&mut value, "/l/7", serde_json::json!(0)).is_err());
        assert_eq!(value, serde_json::json!({"a": {"b": 2, "c": "x"}, "l": [1, 2]}));
    }
}
