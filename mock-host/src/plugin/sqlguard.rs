//! The statement guard for plugin SQL (contract-db-worker.md A3/A4): the
//! splitter, the normaliser, qualified-reference extraction, the banned
//! patterns and the three validators with the real host's exact messages.
//! Quirks are reproduced on purpose (A6): references are read from the raw
//! text, keyword checks from the normalised text, no dollar quoting.

use std::sync::OnceLock;

use regex::{Regex, RegexBuilder};

/// Splits on `;` outside quotes and comments; trims; drops empty pieces.
pub fn split_statements(sql: &str) -> Vec<String> {
    #[derive(PartialEq)]
    enum S {
        Normal,
        Single,
        Double,
        Line,
        Block,
    }
    let chars: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut st = S::Normal;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match st {
            S::Normal => {
                if c == '\'' {
                    st = S::Single;
                } else if c == '"' {
                    st = S::Double;
                } else if c == '-' && next == Some('-') {
                    st = S::Line;
                    cur.push(c);
                    cur.push('-');
                    i += 2;
                    continue;
                } else if c == '/' && next == Some('*') {
                    st = S::Block;
                    cur.push_str("/*");
                    i += 2;
                    continue;
                } else if c == ';' {
                    push_trimmed(&mut out, &cur);
                    cur.clear();
                    i += 1;
                    continue;
                }
                cur.push(c);
            }
            S::Single | S::Double => {
                let q = if st == S::Single { '\'' } else { '"' };
                cur.push(c);
                if c == q {
                    if next == Some(q) {
                        cur.push(q);
                        i += 2;
                        continue;
                    }
                    st = S::Normal;
                }
            }
            S::Line => {
                cur.push(c);
                if c == '\n' {
                    st = S::Normal;
                }
            }
            S::Block => {
                if c == '*' && next == Some('/') {
                    cur.push_str("*/");
                    st = S::Normal;
                    i += 2;
                    continue;
                }
                cur.push(c);
            }
        }
        i += 1;
    }
    push_trimmed(&mut out, &cur);
    out
}

fn push_trimmed(out: &mut Vec<String>, s: &str) {
    let t = s.trim();
    if !t.is_empty() {
        out.push(t.to_string());
    }
}

// Unicode-aware `\b`/`\s` equal the JS (ASCII) ones on ASCII SQL, which is
// all the guard has to judge; identifiers are ASCII by the patterns anyway.
fn re(src: &str) -> Regex {
    RegexBuilder::new(src).build().expect("static regex")
}

fn re_ci(src: &str) -> Regex {
    RegexBuilder::new(src)
        .case_insensitive(true)
        .build()
        .expect("static regex")
}

macro_rules! lazy_re {
    ($name:ident, $builder:ident, $src:expr) => {
        fn $name() -> &'static Regex {
            static R: OnceLock<Regex> = OnceLock::new();
            R.get_or_init(|| $builder($src))
        }
    };
}

lazy_re!(single_lit, re, r"'(?:''|[^'])*'");
lazy_re!(double_lit, re, r#""(?:""|[^"])*""#);
lazy_re!(line_comment, re, r"--[^\n]*");
lazy_re!(block_comment, re, r"(?s)/\*.*?\*/");
lazy_re!(whitespace, re, r"\s+");
lazy_re!(identifier, re, r"^[A-Za-z_][A-Za-z0-9_]*$");
lazy_re!(
    ref_plain,
    re_ci,
    r#"\b(from|join|references|into|update)\s+("[^"]*"|[A-Za-z_][A-Za-z0-9_]*)\.("[^"]*"|[A-Za-z_][A-Za-z0-9_]*)"#
);
lazy_re!(
    ref_ddl,
    re_ci,
    r#"\b(alter\s+table|create\s+table|create\s+view|drop\s+table|truncate\s+table)\s+(?:if\s+(?:not\s+)?exists\s+)?("[^"]*"|[A-Za-z_][A-Za-z0-9_]*)\.("[^"]*"|[A-Za-z_][A-Za-z0-9_]*)"#
);
lazy_re!(
    query_mutation,
    re,
    r"\b(insert|update|delete|alter|create|drop|truncate)\b"
);
lazy_re!(execute_ddl, re, r"\b(alter|create|drop|truncate)\b");
lazy_re!(placeholder, re, r"\$(\d+)");

/// The banned patterns, in the order they are checked; the source text is
/// what the error message quotes.
const BANNED: &[&str] = &[
    r"\bcreate\s+extension\b",
    r"\bcreate\s+(?:event\s+)?trigger\b",
    r"\bcreate\s+(?:or\s+replace\s+)?function\b",
    r"\bcreate\s+language\b",
    r"\bgrant\b",
    r"\brevoke\b",
    r"\bsecurity\s+definer\b",
    r"\bcopy\b",
    r"\bcall\b",
    r"\bdo\s+(?:\$\$|language\b)",
];

fn banned() -> &'static [(Regex, &'static str)] {
    static R: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    R.get_or_init(|| BANNED.iter().map(|s| (re(s), *s)).collect())
}

/// Literals → `''`/`""`, comments removed (literals first, as the real host
/// does), whitespace collapsed, trimmed, lower-cased.
pub fn normalise(sql: &str) -> String {
    let s = single_lit().replace_all(sql, "''");
    let s = double_lit().replace_all(&s, "\"\"");
    let s = line_comment().replace_all(&s, "");
    let s = block_comment().replace_all(&s, "");
    let s = whitespace().replace_all(&s, " ");
    s.trim().to_lowercase()
}

/// A `schema.table` reference found after a keyword.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QualifiedRef {
    /// Lower-cased keyword with single spaces (`from`, `create table`, …).
    pub keyword: String,
    pub schema: String,
    pub table: String,
}

fn unquote(s: &str) -> String {
    s.trim_matches('"').to_string()
}

/// Qualified references in the raw statement (literals and comments
/// included), first plain-keyword matches then DDL ones.
pub fn qualified_refs(sql: &str) -> Vec<QualifiedRef> {
    let mut out = Vec::new();
    for re in [ref_plain(), ref_ddl()] {
        for c in re.captures_iter(sql) {
            out.push(QualifiedRef {
                keyword: whitespace()
                    .replace_all(&c[1].to_lowercase(), " ")
                    .into_owned(),
                schema: unquote(&c[2]),
                table: unquote(&c[3]),
            });
        }
    }
    out
}

fn assert_no_banned(normalised: &str) -> Result<(), String> {
    for (re, src) in banned() {
        if re.is_match(normalised) {
            return Err(format!(
                "Plugin SQL contains a disallowed statement or clause: {src}"
            ));
        }
    }
    Ok(())
}

fn check_public_ref(r: &QualifiedRef, core_read_tables: &[String]) -> Result<(), String> {
    if !core_read_tables.iter().any(|t| t == &r.table) {
        return Err(format!(
            "Plugin SQL references public.{}, which is not whitelisted",
            r.table
        ));
    }
    if !matches!(r.keyword.as_str(), "from" | "join" | "references") {
        return Err(format!(
            "Plugin SQL cannot mutate or define objects in public.{}",
            r.table
        ));
    }
    Ok(())
}

/// `validatePluginMigrationStatement`.
pub fn validate_migration_statement(
    statement: &str,
    namespace: &str,
    core_read_tables: &[String],
) -> Result<(), String> {
    if !identifier().is_match(namespace) {
        return Err(format!("Unsafe SQL namespace: {namespace}"));
    }
    let n = normalise(statement);
    assert_no_banned(&n)?;
    if starts_with_word(&n, &["drop", "truncate"]) {
        return Err("Destructive plugin migrations are not allowed in Phase 1".into());
    }
    if !starts_with_word(&n, &["create", "alter", "comment"]) {
        return Err("Plugin migrations may contain DDL statements only".into());
    }
    let refs = qualified_refs(statement);
    if refs.is_empty() && !n.starts_with("comment ") {
        return Err("Plugin migration objects must use fully qualified schema names".into());
    }
    for r in &refs {
        if r.schema == namespace {
            continue;
        }
        if r.schema == "public" {
            check_public_ref(r, core_read_tables)?;
        } else {
            return Err(format!(
                "Plugin SQL references schema \"{}\" outside namespace \"{namespace}\"",
                r.schema
            ));
        }
    }
    Ok(())
}

fn starts_with_word(n: &str, words: &[&str]) -> bool {
    words.iter().any(|w| {
        n.strip_prefix(w).is_some_and(|rest| {
            rest.is_empty()
                || !rest.as_bytes()[0].is_ascii_alphanumeric() && rest.as_bytes()[0] != b'_'
        })
    })
}

fn exactly_one(sql: &str) -> Result<String, String> {
    let parts = split_statements(sql);
    if parts.len() != 1 {
        return Err("Plugin runtime SQL must contain exactly one statement".into());
    }
    Ok(parts.into_iter().next().unwrap_or_default())
}

/// `validatePluginRuntimeQuery` (ctx.db.query).
pub fn validate_runtime_query(
    sql: &str,
    namespace: &str,
    core_read_tables: &[String],
) -> Result<(), String> {
    let statement = exactly_one(sql)?;
    let n = normalise(&statement);
    assert_no_banned(&n)?;
    if !(n.starts_with("select ") || n.starts_with("with ")) {
        return Err("ctx.db.query only allows SELECT statements".into());
    }
    if query_mutation().is_match(&n) {
        return Err("ctx.db.query cannot contain mutation or DDL keywords".into());
    }
    for r in qualified_refs(&statement) {
        if r.schema == namespace {
            continue;
        }
        if r.schema == "public" {
            check_public_ref(&r, core_read_tables)?;
        } else {
            return Err(format!("ctx.db.query cannot read schema \"{}\"", r.schema));
        }
    }
    Ok(())
}

/// `validatePluginRuntimeExecute` (ctx.db.execute).
pub fn validate_runtime_execute(sql: &str, namespace: &str) -> Result<(), String> {
    let statement = execute_shape(sql)?;
    let refs = qualified_refs(&statement);
    let target = refs
        .iter()
        .find(|r| matches!(r.keyword.as_str(), "into" | "update" | "from"));
    if target.is_none_or(|t| t.schema != namespace) {
        return Err(format!(
            "ctx.db.execute target must be inside plugin namespace \"{namespace}\""
        ));
    }
    if refs.iter().any(|r| r.schema != namespace) {
        return Err("ctx.db.execute cannot reference public or other non-plugin schemas".into());
    }
    Ok(())
}

/// Steps 1–4 of `validatePluginRuntimeExecute` (one DML statement, no
/// banned clause, no DDL); returns the statement.
fn execute_shape(sql: &str) -> Result<String, String> {
    let statement = exactly_one(sql)?;
    let n = normalise(&statement);
    assert_no_banned(&n)?;
    if !(n.starts_with("insert into")
        || starts_with_word(&n, &["update"])
        || n.starts_with("delete from"))
    {
        return Err("ctx.db.execute only allows INSERT, UPDATE, or DELETE".into());
    }
    if execute_ddl().is_match(&n) {
        return Err("ctx.db.execute cannot contain DDL keywords".into());
    }
    Ok(statement)
}

/// `validatePluginRuntimeExecute` without its namespace checks (steps 5–6):
/// what a host with the `execute-public-allowed` defect runs.
pub fn validate_runtime_execute_any_schema(sql: &str) -> Result<(), String> {
    execute_shape(sql).map(|_| ())
}

/// `bindSql`'s checks: with parameters, every `$n` must name one and every
/// parameter must be used. Without parameters the SQL goes out raw.
pub fn check_placeholders(sql: &str, param_count: usize) -> Result<(), String> {
    if param_count == 0 {
        return Ok(());
    }
    let mut used = vec![false; param_count];
    for c in placeholder().captures_iter(sql) {
        let n: usize = c[1].parse().unwrap_or(0);
        if n == 0 || n > param_count {
            return Err(format!(
                "SQL placeholder ${} has no matching parameter",
                &c[1]
            ));
        }
        used[n - 1] = true;
    }
    if used.iter().any(|u| !u) {
        return Err("Every ctx.db parameter must be referenced by a $n placeholder".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const NS: &str = "plugin_test";

    fn issues() -> Vec<String> {
        vec!["issues".to_string()]
    }

    // contract-db-worker.md A3 "Verified outcomes".
    #[rstest]
    #[case("CREATE TABLE plugin_test.rows (id uuid PRIMARY KEY, issue_id uuid REFERENCES public.issues(id))", None)]
    #[case(r#"CREATE TABLE IF NOT EXISTS "plugin_test"."rows" (id uuid)"#, None)]
    #[case("ALTER TABLE plugin_test.rows ADD COLUMN x text", None)]
    #[case("COMMENT ON TABLE plugin_test.rows IS 'x'", None)]
    #[case("COMMENT ON TABLE public.issues IS 'x'", None)]
    #[case("CREATE VIEW plugin_test.v AS SELECT * FROM public.issues", None)]
    #[case(
        "CREATE OR REPLACE VIEW plugin_test.v AS SELECT 1 FROM plugin_test.a",
        None
    )]
    #[case(
        "CREATE TABLE public.rows (id uuid PRIMARY KEY)",
        Some("Plugin SQL references public.rows, which is not whitelisted")
    )]
    #[case(
        "CREATE TABLE public.issues (x int)",
        Some("Plugin SQL cannot mutate or define objects in public.issues")
    )]
    #[case(
        "ALTER TABLE public.issues ADD COLUMN x int",
        Some("Plugin SQL cannot mutate or define objects in public.issues")
    )]
    #[case(
        "CREATE TABLE plugin_test.rows (id uuid REFERENCES public.agents(id))",
        Some("Plugin SQL references public.agents, which is not whitelisted")
    )]
    #[case(
        "CREATE TABLE rows (id uuid)",
        Some("Plugin migration objects must use fully qualified schema names")
    )]
    #[case(
        "CREATE TABLE other.rows (id uuid)",
        Some("Plugin SQL references schema \"other\" outside namespace \"plugin_test\"")
    )]
    #[case(
        "CREATE INDEX rows_idx ON plugin_test.rows (id)",
        Some("Plugin migration objects must use fully qualified schema names")
    )]
    #[case(
        "CREATE UNIQUE INDEX rows_idx ON plugin_test.rows (id)",
        Some("Plugin migration objects must use fully qualified schema names")
    )]
    #[case(
        "CREATE SEQUENCE plugin_test.seq",
        Some("Plugin migration objects must use fully qualified schema names")
    )]
    #[case(
        "CREATE SCHEMA plugin_test",
        Some("Plugin migration objects must use fully qualified schema names")
    )]
    #[case(
        "CREATE MATERIALIZED VIEW plugin_test.v AS SELECT 1",
        Some("Plugin migration objects must use fully qualified schema names")
    )]
    #[case(
        "DROP TABLE plugin_test.rows",
        Some("Destructive plugin migrations are not allowed in Phase 1")
    )]
    #[case(
        "TRUNCATE plugin_test.rows",
        Some("Destructive plugin migrations are not allowed in Phase 1")
    )]
    #[case(
        "INSERT INTO plugin_test.rows VALUES (1)",
        Some("Plugin migrations may contain DDL statements only")
    )]
    #[case(
        "DO $$ BEGIN END $$;",
        Some(r"Plugin SQL contains a disallowed statement or clause: \bdo\s+(?:\$\$|language\b)")
    )]
    #[case(
        "CREATE EXTENSION pgcrypto",
        Some(r"Plugin SQL contains a disallowed statement or clause: \bcreate\s+extension\b")
    )]
    #[case("CREATE FUNCTION plugin_test.f() RETURNS int AS 'select 1' LANGUAGE sql", Some(r"Plugin SQL contains a disallowed statement or clause: \bcreate\s+(?:or\s+replace\s+)?function\b"))]
    #[case("CREATE TRIGGER t AFTER INSERT ON plugin_test.rows EXECUTE FUNCTION f()", Some(r"Plugin SQL contains a disallowed statement or clause: \bcreate\s+(?:event\s+)?trigger\b"))]
    #[case(
        "GRANT SELECT ON plugin_test.rows TO public",
        Some(r"Plugin SQL contains a disallowed statement or clause: \bgrant\b")
    )]
    #[case("CREATE TABLE plugin_test.t (id int, note text default 'copy')", None)]
    fn migration_statements(#[case] sql: &str, #[case] expected: Option<&str>) {
        let stmt = split_statements(sql).into_iter().next().unwrap();
        let got = validate_migration_statement(&stmt, NS, &issues());
        assert_eq!(got.err().as_deref(), expected, "{sql}");
    }

    // contract-db-worker.md A4 "Verified runtime outcomes" (queries).
    #[rstest]
    #[case("SELECT r.id FROM plugin_test.rows r JOIN public.issues i ON i.id = r.issue_id", &["issues"], None)]
    #[case("SELECT EXTRACT(DOW FROM created_at) AS do_flag FROM plugin_test.rows", &[], None)]
    #[case("SELECT * FROM public.agents", &["issues"], Some("Plugin SQL references public.agents, which is not whitelisted"))]
    #[case("SELECT * FROM public.issues", &[], Some("Plugin SQL references public.issues, which is not whitelisted"))]
    #[case("SELECT * FROM issues", &[], None)]
    #[case("SELECT * FROM other.t", &[], Some("ctx.db.query cannot read schema \"other\""))]
    #[case("SELECT * FROM pg_catalog.pg_tables", &[], Some("ctx.db.query cannot read schema \"pg_catalog\""))]
    #[case("SELECT * FROM information_schema.tables", &[], Some("ctx.db.query cannot read schema \"information_schema\""))]
    #[case("SELECT * FROM PUBLIC.issues", &["issues"], Some("ctx.db.query cannot read schema \"PUBLIC\""))]
    #[case(r#"SELECT * FROM "public"."issues""#, &["issues"], None)]
    #[case("SELECT * FROM plugin_test.a, public.agents", &[], None)]
    #[case("SELECT 1; SELECT 2", &[], Some("Plugin runtime SQL must contain exactly one statement"))]
    #[case("SELECT 1; -- c", &[], Some("Plugin runtime SQL must contain exactly one statement"))]
    #[case("SELECT 1;", &[], None)]
    #[case("SELECT*FROM plugin_test.a", &[], Some("ctx.db.query only allows SELECT statements"))]
    #[case("(select 1)", &[], Some("ctx.db.query only allows SELECT statements"))]
    #[case("VALUES (1)", &[], Some("ctx.db.query only allows SELECT statements"))]
    #[case("EXPLAIN SELECT 1", &[], Some("ctx.db.query only allows SELECT statements"))]
    #[case("SELECT * FROM plugin_test.rows FOR UPDATE", &[], Some("ctx.db.query cannot contain mutation or DDL keywords"))]
    #[case("select created_at, updated_at from plugin_test.rows", &[], None)]
    #[case("select 'delete' from plugin_test.rows", &[], None)]
    #[case(r#"select "update" from plugin_test.rows"#, &[], None)]
    #[case("SELECT copy FROM plugin_test.rows", &[], Some(r"Plugin SQL contains a disallowed statement or clause: \bcopy\b"))]
    #[case("SELECT grant FROM plugin_test.rows", &[], Some(r"Plugin SQL contains a disallowed statement or clause: \bgrant\b"))]
    #[case("SELECT 'from public.agents' AS x FROM plugin_test.a", &["issues"], Some("Plugin SQL references public.agents, which is not whitelisted"))]
    fn runtime_queries(#[case] sql: &str, #[case] core: &[&str], #[case] expected: Option<&str>) {
        let core: Vec<String> = core.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            validate_runtime_query(sql, NS, &core).err().as_deref(),
            expected,
            "{sql}"
        );
    }

    // contract-db-worker.md A4 "Verified runtime outcomes" (execute).
    #[rstest]
    #[case(
        "UPDATE public.issues SET title = $1",
        Some("ctx.db.execute target must be inside plugin namespace \"plugin_test\"")
    )]
    #[case(
        "INSERT INTO rows (id) VALUES ($1)",
        Some("ctx.db.execute target must be inside plugin namespace \"plugin_test\"")
    )]
    #[case("INSERT INTO plugin_test.rows (id) VALUES ($1)", None)]
    #[case("UPDATE plugin_test.rows SET label = $1", None)]
    #[case("DELETE FROM plugin_test.rows WHERE id = $1", None)]
    #[case("INSERT INTO plugin_test.rows (id) VALUES ($1) ON CONFLICT (id) DO UPDATE SET updated_at = now()", None)]
    #[case(
        "INSERT INTO plugin_test.rows (id) SELECT id FROM public.issues",
        Some("ctx.db.execute cannot reference public or other non-plugin schemas")
    )]
    #[case(
        "DELETE FROM plugin_test.rows USING public.issues i WHERE i.id = plugin_test.rows.issue_id",
        None
    )]
    #[case(
        "WITH x AS (SELECT 1) INSERT INTO plugin_test.rows SELECT * FROM x",
        Some("ctx.db.execute only allows INSERT, UPDATE, or DELETE")
    )]
    #[case(
        "SELECT 1",
        Some("ctx.db.execute only allows INSERT, UPDATE, or DELETE")
    )]
    #[case(
        "DELETE plugin_test.a",
        Some("ctx.db.execute only allows INSERT, UPDATE, or DELETE")
    )]
    fn runtime_executes(#[case] sql: &str, #[case] expected: Option<&str>) {
        assert_eq!(
            validate_runtime_execute(sql, NS).err().as_deref(),
            expected,
            "{sql}"
        );
    }

    #[rstest]
    #[case("select $1", 0, None)]
    #[case("select $1, $1", 1, None)]
    #[case("select $2", 1, Some("SQL placeholder $2 has no matching parameter"))]
    #[case("select $0", 1, Some("SQL placeholder $0 has no matching parameter"))]
    #[case(
        "select $1",
        2,
        Some("Every ctx.db parameter must be referenced by a $n placeholder")
    )]
    fn placeholders(#[case] sql: &str, #[case] n: usize, #[case] expected: Option<&str>) {
        assert_eq!(check_placeholders(sql, n).err().as_deref(), expected);
    }

    #[test]
    fn splitter_keeps_trailing_comment_as_statement() {
        assert_eq!(split_statements("SELECT 1; -- c"), vec!["SELECT 1", "-- c"]);
        assert_eq!(
            split_statements("select ';' ; select 2"),
            vec!["select ';'", "select 2"]
        );
        assert_eq!(
            split_statements("-- lead\nCREATE TABLE a.b (x int);"),
            vec!["-- lead\nCREATE TABLE a.b (x int)"]
        );
    }
}
