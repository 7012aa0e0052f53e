//! Reading a form struct out of an event's params: only the struct's own
//! fields (found through serde's derive), with the coercion HTML forms need
//! (`"3"` → `3`, `"on"` → `true`, `""` → `None`), and an error per field
//! that names the rule broken, never the value sent.

use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use serde::forward_to_deserialize_any;
use serde_json::Value;
use std::fmt;

/// The field names of a struct deriving `Deserialize`, as serde's derive
/// declares them (renames applied).
pub fn fields_of<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(FieldNames(&mut fields));
    fields
}

/// A deserializer that only records the field list `deserialize_struct` is given.
struct FieldNames<'a>(&'a mut &'static [&'static str]);

impl<'de> de::Deserializer<'de> for FieldNames<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("not a struct"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = fields;
        Err(de::Error::custom("field names recorded"))
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

/// Why one field could not be read. Safe to show: a rule, not the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field, once known.
    pub field: Option<&'static str>,
    /// What is wrong, e.g. "must be a whole number".
    pub message: String,
}

impl FieldError {
    fn at(mut self, field: &'static str) -> Self {
        self.field.get_or_insert(field);
        self
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FieldError {}

impl de::Error for FieldError {
    fn custom<M: fmt::Display>(_: M) -> Self {
        // serde's own messages may quote the value: never pass them on.
        FieldError {
            field: None,
            message: "is not valid".to_owned(),
        }
    }
    fn invalid_type(_: de::Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        FieldError {
            field: None,
            message: format!("must be {}", plain(&expected.to_string())),
        }
    }
    fn invalid_value(_: de::Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        FieldError {
            field: None,
            message: format!("is out of range for {}", plain(&expected.to_string())),
        }
    }
    fn missing_field(field: &'static str) -> Self {
        FieldError {
            field: Some(field),
            message: "is required".to_owned(),
        }
    }
}

/// serde's "expected" text (`u8`, `a string`) in words a form can show.
fn plain(expected: &str) -> String {
    match expected {
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" | "u8" | "u16" | "u32" | "u64" | "u128"
        | "usize" => format!("a whole number ({expected})"),
        "f32" | "f64" => "a number".to_owned(),
        "a boolean" => "on or off".to_owned(),
        "a string" => "text".to_owned(),
        other if other.len() <= 40 && other.chars().all(|c| c.is_ascii_graphic() || c == ' ') => {
            other.to_owned()
        }
        _ => "of the expected type".to_owned(),
    }
}

fn problem(message: &str) -> FieldError {
    FieldError {
        field: None,
        message: message.to_owned(),
    }
}

/// One field's value as sent, read with form coercion.
#[derive(Clone)]
pub(crate) struct FieldValue<'a> {
    pub(crate) field: &'static str,
    pub(crate) value: &'a Value,
}

impl FieldValue<'_> {
    fn text(&self) -> Option<&str> {
        self.value
            .as_str()
            .map(|s| s.trim_matches(|c: char| c.is_ascii_whitespace()))
    }

    fn number(&self) -> Result<NumberText, FieldError> {
        match self.value {
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Ok(NumberText::Int(i128::from(i)))
                } else if let Some(u) = n.as_u64() {
                    Ok(NumberText::Int(i128::from(u)))
                } else {
                    Ok(NumberText::Float(n.as_f64().unwrap_or(f64::NAN)))
                }
            }
            Value::String(_) => {
                let text = self.text().unwrap_or_default();
                if text.is_empty() {
                    return Err(problem("is required"));
                }
                if text
                    .bytes()
                    .enumerate()
                    .all(|(i, b)| b.is_ascii_digit() || (i == 0 && (b == b'-' || b == b'+')))
                {
                    return text
                        .parse::<i128>()
                        .map(NumberText::Int)
                        .map_err(|_| problem("is out of range"));
                }
                // Rust would accept "inf" and "NaN": forms never mean those.
                if text
                    .bytes()
                    .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
                {
                    if let Ok(f) = text.parse::<f64>() {
                        return Ok(NumberText::Float(f));
                    }
                }
                Err(problem("must be a number"))
            }
            _ => Err(problem("must be a number")),
        }
    }

    fn integer<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        match self.number()? {
            NumberText::Int(i) => match (i64::try_from(i), u64::try_from(i)) {
                (Ok(i), _) => visitor.visit_i64(i),
                (_, Ok(u)) => visitor.visit_u64(u),
                _ => Err(problem("is out of range")),
            },
            NumberText::Float(_) => Err(problem("must be a whole number")),
        }
    }

    fn float<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        let f = match self.number()? {
            NumberText::Int(i) => i as f64,
            NumberText::Float(f) => f,
        };
        if f.is_finite() {
            visitor.visit_f64(f)
        } else {
            Err(problem("is out of range"))
        }
    }

    fn any<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        let field = self.field;
        match self.value {
            Value::String(s) => visitor.visit_str(s),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => visitor.visit_i64(i),
                (_, Some(u), _) => visitor.visit_u64(u),
                (_, _, Some(f)) => visitor.visit_f64(f),
                _ => Err(problem("must be a number")),
            },
            Value::Null => visitor.visit_unit(),
            Value::Array(items) => visitor.visit_seq(de::value::SeqDeserializer::new(
                items.iter().map(|value| FieldValue { field, value }),
            )),
            Value::Object(_) => Err(problem("must be a single value")),
        }
    }
}

enum NumberText {
    Int(i128),
    Float(f64),
}

impl<'de> IntoDeserializer<'de, FieldError> for FieldValue<'_> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

macro_rules! integers {
    ($($method:ident),*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
            let field = self.field;
            self.integer(visitor).map_err(|e| e.at(field))
        }
    )*};
}

impl<'de> de::Deserializer<'de> for FieldValue<'_> {
    type Error = FieldError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        let field = self.field;
        self.any(visitor).map_err(|e| e.at(field))
    }

    integers!(
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_i128,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64,
        deserialize_u128
    );

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        let field = self.field;
        self.float(visitor).map_err(|e| e.at(field))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        let value = match self.value {
            Value::Bool(b) => Some(*b),
            Value::Number(n) => match n.as_u64() {
                Some(0) => Some(false),
                Some(1) => Some(true),
                _ => None,
            },
            Value::String(_) => match self
                .text()
                .unwrap_or_default()
                .to_ascii_lowercase()
                .as_str()
            {
                "true" | "on" | "1" | "yes" => Some(true),
                "false" | "off" | "0" | "no" | "" => Some(false),
                _ => None,
            },
            _ => None,
        };
        match value {
            Some(b) => visitor.visit_bool(b),
            None => Err(problem("must be on or off").at(self.field)),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        let result = match self.value {
            Value::String(s) => visitor.visit_str(s),
            Value::Number(n) => visitor.visit_string(n.to_string()),
            Value::Bool(b) => visitor.visit_string(b.to_string()),
            Value::Array(_) => Err(problem("must be a single value")),
            _ => Err(problem("must be text")),
        };
        result.map_err(|e| e.at(self.field))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        match self.value {
            Value::Null => visitor.visit_none(),
            Value::String(s) if s.trim().is_empty() => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    forward_to_deserialize_any! {
        char bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}
