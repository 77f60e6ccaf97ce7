//! Binding JSON values to statement parameters whose types Postgres infers.
//!
//! The real host's driver sends `ctx.db` parameters untyped and lets the
//! server infer each `$n` type from context (`root_issue_id = $1` → uuid,
//! `$6::jsonb` → jsonb). The mock prepares the statement without types and
//! encodes each JSON value for the type the server chose.

use bytes::{BufMut, BytesMut};
use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio_postgres::types::{to_sql_checked, IsNull, ToSql, Type};

type BoxErr = Box<dyn std::error::Error + Sync + Send>;

#[derive(Debug)]
pub struct JsonParam(pub Value);

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl ToSql for JsonParam {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxErr> {
        if self.0.is_null() {
            return Ok(IsNull::Yes);
        }
        let v = &self.0;
        match *ty {
            Type::BOOL => {
                let b = match v {
                    Value::Bool(b) => *b,
                    Value::String(s) => matches!(s.as_str(), "true" | "t" | "1"),
                    Value::Number(n) => n.as_f64().unwrap_or(0.0) != 0.0,
                    _ => return Err(format!("invalid input for type boolean: {v}").into()),
                };
                b.to_sql(ty, out)
            }
            Type::INT2 => parse_num::<i16>(v)?.to_sql(ty, out),
            Type::INT4 => parse_num::<i32>(v)?.to_sql(ty, out),
            Type::INT8 => parse_num::<i64>(v)?.to_sql(ty, out),
            Type::FLOAT4 => parse_num::<f32>(v)?.to_sql(ty, out),
            Type::FLOAT8 => parse_num::<f64>(v)?.to_sql(ty, out),
            Type::UUID => {
                let s = text_of(v);
                let u = uuid::Uuid::parse_str(&s)
                    .map_err(|_| format!("invalid input syntax for type uuid: \"{s}\""))?;
                u.to_sql(ty, out)
            }
            Type::JSON => {
                // A string is taken as JSON text (the driver sends it verbatim).
                out.put_slice(json_text(v).as_bytes());
                Ok(IsNull::No)
            }
            Type::JSONB => {
                out.put_u8(1);
                out.put_slice(json_text(v).as_bytes());
                Ok(IsNull::No)
            }
            Type::TIMESTAMPTZ => {
                let s = text_of(v);
                let t = DateTime::parse_from_rfc3339(&s)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| {
                        format!("invalid input syntax for type timestamp with time zone: \"{s}\"")
                    })?;
                t.to_sql(ty, out)
            }
            Type::TEXT_ARRAY | Type::VARCHAR_ARRAY => {
                let items: Vec<Option<String>> = match v {
                    Value::Array(a) => a
                        .iter()
                        .map(|x| if x.is_null() { None } else { Some(text_of(x)) })
                        .collect(),
                    _ => return Err("array value expected".into()),
                };
                items.to_sql(ty, out)
            }
            Type::UUID_ARRAY => {
                let items: Result<Vec<Option<uuid::Uuid>>, BoxErr> = match v {
                    Value::Array(a) => a
                        .iter()
                        .map(|x| {
                            if x.is_null() {
                                Ok(None)
                            } else {
                                uuid::Uuid::parse_str(&text_of(x))
                                    .map(Some)
                                    .map_err(|e| e.to_string().into())
                            }
                        })
                        .collect(),
                    _ => Err("array value expected".into()),
                };
                items?.to_sql(ty, out)
            }
            // text, varchar, unknown and anything with a text-compatible
            // binary form: send the text.
            _ => {
                out.put_slice(text_of(v).as_bytes());
                Ok(IsNull::No)
            }
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn json_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn parse_num<T: std::str::FromStr>(v: &Value) -> Result<T, BoxErr> {
    let s = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => (*b as i32).to_string(),
        _ => return Err(format!("invalid numeric input: {v}").into()),
    };
    s.trim()
        .parse::<T>()
        .map_err(|_| format!("invalid input syntax for type number: \"{s}\"").into())
}
