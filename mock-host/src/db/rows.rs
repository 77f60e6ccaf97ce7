//! Turning rows into the JSON shapes the real host answers with.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, Utc};
use serde_json::{Map, Value};
use tokio_postgres::types::{FromSql, Type};
use tokio_postgres::Row;

use crate::error::Result;

/// `snake_case` → `camelCase`, as drizzle names the real host's fields.
pub fn camel(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// A JS `Date.toISOString()` rendering (milliseconds, `Z`).
pub fn iso(ts: DateTime<Utc>) -> String {
    ts.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Converts one `row_to_json` object: camelCase keys, timestamps (`*_at`
/// columns, rendered by Postgres with microseconds) as JS ISO strings.
pub fn entity(obj: Value) -> Value {
    let Value::Object(map) = obj else { return obj };
    let mut out = Map::with_capacity(map.len());
    for (k, v) in map {
        let v = match v {
            Value::String(s) if k.ends_with("_at") => match DateTime::parse_from_rfc3339(&s) {
                Ok(t) => Value::String(iso(t.with_timezone(&Utc))),
                Err(_) => Value::String(s),
            },
            other => other,
        };
        out.insert(camel(&k), v);
    }
    Value::Object(out)
}

/// Runs `sql` (a SELECT) and returns each row as a camelCased JSON object
/// in column order.
pub async fn query_entities(
    client: &impl crate::db::Db,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Vec<Value>> {
    let wrapped = format!("SELECT row_to_json(t) FROM ({sql}) t");
    let rows = client.query(&wrapped, params).await?;
    Ok(rows.iter().map(|r| entity(r.get::<_, Value>(0))).collect())
}

pub async fn query_entity(
    client: &impl crate::db::Db,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Option<Value>> {
    Ok(query_entities(client, sql, params)
        .await?
        .into_iter()
        .next())
}

/// Raw text of a column, whatever its type (used for types the mock does not
/// decode natively).
struct RawText(String);

impl<'a> FromSql<'a> for RawText {
    fn from_sql(
        _: &Type,
        raw: &'a [u8],
    ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(RawText(String::from_utf8_lossy(raw).into_owned()))
    }
    fn accepts(_: &Type) -> bool {
        true
    }
}

/// Postgres' text rendering of a timestamptz in a UTC session
/// (`2026-11-25 06:27:15.431+00`): the real host's driver returns timestamp
/// columns of plugin queries as that text, not as ISO strings.
fn pg_timestamptz(t: DateTime<Utc>) -> String {
    let mut s = t.format("%Y-%m-%d %H:%M:%S%.6f").to_string();
    while s.ends_with('0') {
        s.pop();
    }
    if s.ends_with('.') {
        s.pop();
    }
    s + "+00"
}

fn pg_timestamp(t: NaiveDateTime) -> String {
    let mut s = t.format("%Y-%m-%d %H:%M:%S%.6f").to_string();
    while s.ends_with('0') {
        s.pop();
    }
    if s.ends_with('.') {
        s.pop();
    }
    s
}

/// One row of a plugin's `ctx.db.query`, decoded the way the real host's
/// driver (postgres.js) decodes it: int8/numeric as strings, json parsed,
/// timestamps as Postgres text.
pub fn plugin_row(row: &Row) -> Value {
    let mut map = Map::new();
    for (i, col) in row.columns().iter().enumerate() {
        let ty = col.type_();
        let v: Value = match *ty {
            Type::BOOL => opt(row.try_get::<_, Option<bool>>(i)),
            Type::INT2 => opt(row.try_get::<_, Option<i16>>(i)),
            Type::INT4 => opt(row.try_get::<_, Option<i32>>(i)),
            Type::INT8 => opt(row
                .try_get::<_, Option<i64>>(i)
                .map(|o| o.map(|n| n.to_string()))),
            Type::FLOAT4 => opt(row.try_get::<_, Option<f32>>(i)),
            Type::FLOAT8 => opt(row.try_get::<_, Option<f64>>(i)),
            Type::JSON | Type::JSONB => row
                .try_get::<_, Option<Value>>(i)
                .ok()
                .flatten()
                .unwrap_or(Value::Null),
            Type::UUID => opt(row
                .try_get::<_, Option<uuid::Uuid>>(i)
                .map(|o| o.map(|u| u.to_string()))),
            Type::TIMESTAMPTZ => opt(row
                .try_get::<_, Option<DateTime<Utc>>>(i)
                .map(|o| o.map(pg_timestamptz))),
            Type::TIMESTAMP => opt(row
                .try_get::<_, Option<NaiveDateTime>>(i)
                .map(|o| o.map(pg_timestamp))),
            Type::DATE => opt(row
                .try_get::<_, Option<NaiveDate>>(i)
                .map(|o| o.map(|d| d.to_string()))),
            Type::TIME => opt(row
                .try_get::<_, Option<NaiveTime>>(i)
                .map(|o| o.map(|d| d.to_string()))),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => {
                opt(row.try_get::<_, Option<String>>(i))
            }
            Type::TEXT_ARRAY | Type::VARCHAR_ARRAY => {
                opt(row.try_get::<_, Option<Vec<Option<String>>>>(i))
            }
            Type::INT4_ARRAY => opt(row.try_get::<_, Option<Vec<Option<i32>>>>(i)),
            Type::UUID_ARRAY => {
                opt(row
                    .try_get::<_, Option<Vec<Option<uuid::Uuid>>>>(i)
                    .map(|o| {
                        o.map(|v| {
                            v.into_iter()
                                .map(|u| u.map(|u| u.to_string()))
                                .collect::<Vec<_>>()
                        })
                    }))
            }
            _ => opt(row.try_get::<_, Option<RawText>>(i).map(|o| o.map(|t| t.0))),
        };
        map.insert(col.name().to_string(), v);
    }
    Value::Object(map)
}

fn opt<T: serde::Serialize, E>(r: std::result::Result<Option<T>, E>) -> Value {
    match r {
        Ok(Some(v)) => serde_json::to_value(v).unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_cases() {
        assert_eq!(camel("checkout_run_id"), "checkoutRunId");
        assert_eq!(camel("id"), "id");
    }

    #[test]
    fn entity_timestamps_become_js_iso() {
        let v = entity(
            serde_json::json!({"created_at": "2026-11-25T06:27:15.431234+00:00", "name_x": "a"}),
        );
        assert_eq!(
            v,
            serde_json::json!({"createdAt": "2026-11-25T06:27:15.431Z", "nameX": "a"})
        );
    }

    #[test]
    fn pg_text_timestamps() {
        let t = DateTime::parse_from_rfc3339("2026-11-25T06:27:15.431+00:00")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(pg_timestamptz(t), "2026-11-25 06:27:15.431+00");
    }
}
