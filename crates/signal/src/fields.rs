//! Lenient field access: the SDK sends optional fields as absent, `null` or `""`
//! and they all mean "not given" (PROTOCOL.md §0).

use serde_json::{Map, Value};

pub(crate) type Object = Map<String, Value>;

/// A non-empty string field; numbers are accepted as their decimal text.
pub(crate) fn opt_str(obj: &Object, key: &str) -> Option<String> {
    match obj.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A boolean field; absent or not a boolean gives `default`.
pub(crate) fn bool_or(obj: &Object, key: &str, default: bool) -> bool {
    obj.get(key).and_then(Value::as_bool).unwrap_or(default)
}

/// A non-negative integer field, also accepted as a numeric string.
pub(crate) fn opt_u32(obj: &Object, key: &str) -> Option<u32> {
    match obj.get(key)? {
        Value::Number(n) => n.as_u64().and_then(|v| u32::try_from(v).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}
