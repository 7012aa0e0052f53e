//! Decoding typed handler parameters from an event's JSON params.
//!
//! The `#[live_view]` macro generates one `decode_*` call per handler
//! argument, by name. Values coerce the way HTML forms need: `"3"` → `3i64`,
//! `"on"`/`"true"`/`"1"` → `true`, `""` → `None` for `Option`. Anything
//! missing, malformed or out of range is a [`ParamError`] naming the
//! parameter and the expected type, never the value, and the handler does
//! not run. Unknown extra params are ignored: nothing reads them.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::fmt;

/// An event's parameters as received.
pub type Params = Map<String, Value>;

/// Why a parameter could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamProblem {
    /// Not sent (and no default).
    Missing,
    /// Sent with a value of the wrong type or format.
    Invalid,
    /// A number outside the parameter type's range.
    OutOfRange,
}

/// A parameter that failed to decode. Safe to show: it names the parameter
/// and the type from the handler's signature, never the value sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError {
    /// Parameter name.
    pub param: &'static str,
    /// Expected type, as written in the signature (`i64`, `Option<String>`).
    pub expected: &'static str,
    /// What was wrong.
    pub problem: ParamProblem,
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.problem {
            ParamProblem::Missing => "missing parameter",
            ParamProblem::Invalid => "invalid value for parameter",
            ParamProblem::OutOfRange => "out-of-range value for parameter",
        };
        write!(f, "{what} `{}`: expected {}", self.param, self.expected)
    }
}

impl std::error::Error for ParamError {}

/// A type a handler parameter can have, decoded with form-friendly coercion.
pub trait FromParam: Sized {
    /// Decodes from a present, non-null value.
    fn from_param(value: &Value) -> Result<Self, ParamProblem>;

    /// The value when the parameter is absent or `null`; `None` = required.
    fn when_missing() -> Option<Self> {
        None
    }
}

fn text_of(value: &Value) -> Option<&str> {
    value
        .as_str()
        .map(|s| s.trim_matches(|c: char| c.is_ascii_whitespace()))
}

macro_rules! signed {
    ($($ty:ty),*) => {$(
        impl FromParam for $ty {
            fn from_param(value: &Value) -> Result<Self, ParamProblem> {
                let wide: i128 = match value {
                    Value::Number(n) => match (n.as_i64(), n.as_u64()) {
                        (Some(i), _) => i128::from(i),
                        (None, Some(u)) => i128::from(u),
                        _ => return Err(if n.as_f64().is_some_and(|f| f.fract() == 0.0) { ParamProblem::OutOfRange } else { ParamProblem::Invalid }),
                    },
                    Value::String(_) => {
                        let text = text_of(value).unwrap_or_default();
                        if text.is_empty() || !text.bytes().enumerate().all(|(i, b)| b.is_ascii_digit() || (i == 0 && (b == b'-' || b == b'+'))) {
                            return Err(ParamProblem::Invalid);
                        }
                        match text.parse::<i128>() {
                            Ok(v) => v,
                            Err(_) => return Err(ParamProblem::OutOfRange),
                        }
                    }
                    _ => return Err(ParamProblem::Invalid),
                };
                <$ty>::try_from(wide).map_err(|_| ParamProblem::OutOfRange)
            }
        }
    )*};
}
signed!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

impl FromParam for i128 {
    fn from_param(value: &Value) -> Result<Self, ParamProblem> {
        match value {
            Value::Number(n) => n
                .as_i64()
                .map(i128::from)
                .or_else(|| n.as_u64().map(i128::from))
                .ok_or(ParamProblem::OutOfRange),
            Value::String(_) => text_of(value)
                .unwrap_or_default()
                .parse()
                .map_err(|_| ParamProblem::Invalid),
            _ => Err(ParamProblem::Invalid),
        }
    }
}

impl FromParam for u128 {
    fn from_param(value: &Value) -> Result<Self, ParamProblem> {
        match value {
            Value::Number(n) => n.as_u64().map(u128::from).ok_or(ParamProblem::OutOfRange),
            Value::String(_) => text_of(value)
                .unwrap_or_default()
                .parse()
                .map_err(|_| ParamProblem::Invalid),
            _ => Err(ParamProblem::Invalid),
        }
    }
}

macro_rules! float {
    ($($ty:ty),*) => {$(
        impl FromParam for $ty {
            fn from_param(value: &Value) -> Result<Self, ParamProblem> {
                let parsed: f64 = match value {
                    Value::Number(n) => n.as_f64().ok_or(ParamProblem::Invalid)?,
                    Value::String(_) => {
                        let text = text_of(value).unwrap_or_default();
                        // Rust would accept "inf", "NaN", "infinity": forms never mean those.
                        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E')) {
                            return Err(ParamProblem::Invalid);
                        }
                        text.parse::<f64>().map_err(|_| ParamProblem::Invalid)?
                    }
                    _ => return Err(ParamProblem::Invalid),
                };
                let narrowed = parsed as $ty;
                if narrowed.is_finite() { Ok(narrowed) } else { Err(ParamProblem::OutOfRange) }
            }
        }
    )*};
}
float!(f32, f64);

impl FromParam for bool {
    fn from_param(value: &Value) -> Result<Self, ParamProblem> {
        match value {
            Value::Bool(b) => Ok(*b),
            Value::Number(n) => match n.as_u64() {
                Some(0) => Ok(false),
                Some(1) => Ok(true),
                _ => Err(ParamProblem::Invalid),
            },
            Value::String(_) => match text_of(value)
                .unwrap_or_default()
                .to_ascii_lowercase()
                .as_str()
            {
                "true" | "on" | "1" | "yes" => Ok(true),
                "false" | "off" | "0" | "no" | "" => Ok(false),
                _ => Err(ParamProblem::Invalid),
            },
            _ => Err(ParamProblem::Invalid),
        }
    }
}

impl FromParam for String {
    fn from_param(value: &Value) -> Result<Self, ParamProblem> {
        match value {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            _ => Err(ParamProblem::Invalid),
        }
    }
}

impl<T: FromParam> FromParam for Option<T> {
    fn from_param(value: &Value) -> Result<Self, ParamProblem> {
        if value.as_str().is_some_and(|s| s.trim().is_empty()) {
            // An empty form field means "not given" for optional numbers etc.
            return match T::from_param(value) {
                Ok(v) => Ok(Some(v)),
                Err(_) => Ok(None),
            };
        }
        T::from_param(value).map(Some)
    }
    fn when_missing() -> Option<Self> {
        Some(None)
    }
}

impl<T: FromParam> FromParam for Vec<T> {
    fn from_param(value: &Value) -> Result<Self, ParamProblem> {
        match value {
            Value::Array(items) => items
                .iter()
                .map(|item| {
                    if item.is_null() {
                        T::when_missing().ok_or(ParamProblem::Invalid)
                    } else {
                        T::from_param(item)
                    }
                })
                .collect(),
            Value::Object(_) => Err(ParamProblem::Invalid),
            single => T::from_param(single).map(|v| vec![v]),
        }
    }
}

/// Decodes parameter `name` with [`FromParam`] coercion.
pub fn decode<T: FromParam>(
    params: &Params,
    name: &'static str,
    expected: &'static str,
) -> Result<T, ParamError> {
    let error = |problem| ParamError {
        param: name,
        expected,
        problem,
    };
    match params.get(name) {
        None | Some(Value::Null) => T::when_missing().ok_or_else(|| error(ParamProblem::Missing)),
        Some(value) => T::from_param(value).map_err(error),
    }
}

/// Decodes parameter `name`, using `default` when it is absent or `null`.
pub fn decode_or<T: FromParam>(
    params: &Params,
    name: &'static str,
    expected: &'static str,
    default: impl FnOnce() -> T,
) -> Result<T, ParamError> {
    match params.get(name) {
        None | Some(Value::Null) => Ok(default()),
        Some(value) => T::from_param(value).map_err(|problem| ParamError {
            param: name,
            expected,
            problem,
        }),
    }
}

/// Decodes parameter `name` of any `DeserializeOwned` type with serde (no coercion).
pub fn decode_serde<T: DeserializeOwned>(
    params: &Params,
    name: &'static str,
    expected: &'static str,
) -> Result<T, ParamError> {
    let error = |problem| ParamError {
        param: name,
        expected,
        problem,
    };
    let value = params.get(name).cloned().unwrap_or(Value::Null);
    let missing = value.is_null();
    T::deserialize(value).map_err(|_| {
        error(if missing {
            ParamProblem::Missing
        } else {
            ParamProblem::Invalid
        })
    })
}

/// Like [`decode_serde`], with a default for an absent or `null` value.
pub fn decode_serde_or<T: DeserializeOwned>(
    params: &Params,
    name: &'static str,
    expected: &'static str,
    default: impl FnOnce() -> T,
) -> Result<T, ParamError> {
    match params.get(name) {
        None | Some(Value::Null) => Ok(default()),
        Some(value) => T::deserialize(value.clone()).map_err(|_| ParamError {
            param: name,
            expected,
            problem: ParamProblem::Invalid,
        }),
    }
}

/// The parameters `handle_params` decodes for `url`: each query key once
/// (a string; a key given several times: a list of strings), then the
/// path's parameters, which win over a query key of the same name.
pub fn url_params(url: &str, path_params: Vec<(String, String)>) -> Params {
    let mut params = Params::new();
    if let Some((_, query)) = url.split_once('?') {
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            let value = Value::String(value.into_owned());
            match params.get_mut(key.as_ref()) {
                Some(Value::Array(values)) => values.push(value),
                Some(first) => {
                    let first = first.take();
                    params.insert(key.into_owned(), Value::Array(vec![first, value]));
                }
                None => {
                    params.insert(key.into_owned(), value);
                }
            }
        }
    }
    for (name, value) in path_params {
        params.insert(name, Value::String(value));
    }
    params
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(value: Value) -> Params {
        match json!({ "p": value }) {
            Value::Object(map) => map,
            _ => Params::new(),
        }
    }

    fn get<T: FromParam>(value: Value) -> Result<T, ParamProblem> {
        decode::<T>(&params(value), "p", "T").map_err(|e| e.problem)
    }

    #[test]
    fn integers_coerce_from_form_strings() {
        assert_eq!(get::<i64>(json!("3")), Ok(3));
        assert_eq!(get::<i64>(json!(" -3 ")), Ok(-3));
        assert_eq!(get::<i64>(json!(3)), Ok(3));
        assert_eq!(
            get::<i32>(json!(2147483648u64)),
            Err(ParamProblem::OutOfRange)
        );
        assert_eq!(get::<u8>(json!(-1)), Err(ParamProblem::OutOfRange));
        assert_eq!(
            get::<i64>(json!("99999999999999999999999")),
            Err(ParamProblem::OutOfRange)
        );
        for bad in [
            json!("3.5"),
            json!(3.5),
            json!("0x10"),
            json!("٣"),
            json!(""),
            json!(true),
            json!([]),
            json!({}),
        ] {
            assert!(get::<i64>(bad.clone()).is_err(), "{bad}");
        }
        assert_eq!(get::<i64>(Value::Null), Err(ParamProblem::Missing));
    }

    #[test]
    fn floats_bools_strings_options_vectors() {
        assert_eq!(get::<f64>(json!("2.5")), Ok(2.5));
        for bad in ["nan", "inf", "-inf", "NaN", "1e400", "infinity"] {
            assert!(get::<f64>(json!(bad)).is_err(), "{bad}");
        }
        assert_eq!(get::<bool>(json!("on")), Ok(true));
        assert_eq!(get::<bool>(json!("")), Ok(false));
        assert_eq!(get::<bool>(json!(2)), Err(ParamProblem::Invalid));
        assert_eq!(get::<String>(json!(5)), Ok("5".to_string()));
        assert_eq!(get::<String>(json!({})), Err(ParamProblem::Invalid));
        assert_eq!(get::<Option<i64>>(json!("")), Ok(None));
        assert_eq!(get::<Option<i64>>(Value::Null), Ok(None));
        assert_eq!(get::<Option<i64>>(json!("x")), Err(ParamProblem::Invalid));
        assert_eq!(get::<Vec<i64>>(json!(["1", 2])), Ok(vec![1, 2]));
        assert_eq!(get::<Vec<i64>>(json!("7")), Ok(vec![7]));
        assert_eq!(get::<Vec<i64>>(json!([[1]])), Err(ParamProblem::Invalid));
    }

    #[test]
    fn errors_name_the_parameter_never_the_value() {
        let error = decode::<i64>(&params(json!("<script>")), "p", "i64").err();
        let text = error.map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(text, "invalid value for parameter `p`: expected i64");
    }
}
