//! The one schema-migration mechanism of the SQL stores: a component's schema is an ordered
//! list of [`Migration`]s (version 1, 2, 3, … each a batch of SQL), and the database remembers
//! how far each component got in the table [`VERSION_TABLE`] — one row per applied step:
//! `(component, version, name, applied_at)`.
//!
//! [`apply`] brings a SQLite connection up to date: every pending step runs in its own
//! transaction together with the row recording it, so a crash leaves the database at a
//! recorded version, never between two. It is idempotent (a second run applies nothing; two
//! processes opening the same file at once apply each step once: the version is read again
//! under the write lock), and it refuses a database whose version is newer than the list
//! (written by a newer release) with an [`Error::Checkpoint`] that says so, rather than
//! writing to a schema it does not know.
//!
//! Several components may share one database (the CLI's sync store, the poller's
//! checkpoint table): each has its own name and its own versions.
//!
//! The list and version bookkeeping ([`Migration`], [`pending`]) do not depend on SQLite: a
//! later store on another database (PostgreSQL) keeps its own list for its dialect and reuses
//! [`pending`] with the same table layout. For that reason the SQL written here sticks to
//! portable statements where it is easy (`CREATE TABLE`, `CREATE INDEX`, `INSERT … SELECT`,
//! window functions, `ALTER TABLE … ADD COLUMN`); timestamps are ISO-8601 UTC text.
//!
//! Rules for a component's list: versions start at 1 and increase by one; a released step is
//! never edited (add a new one). Version 1 of a component that existed before this mechanism
//! must be the schema of that release, written with `IF NOT EXISTS`, so an existing database
//! (which has no version row yet) is recognised as version 1 and migrated from there.

use rusqlite::{Connection, TransactionBehavior};

use crate::error::{Error, Result};

/// The table that records applied steps.
///
/// Prefixed like `safe_tracker_checkpoints`: the checkpoint store may live in a host's own
/// database, which may well have a `schema_version` table of its own.
pub const VERSION_TABLE: &str = "safe_tracker_schema_version";

/// One step of a component's schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// The version this step brings the component to (1, 2, …).
    pub version: u32,
    /// A short name, kept in the version table (e.g. `items keyed by item id`).
    pub name: &'static str,
    /// The statements, run as one batch inside the step's transaction.
    pub sql: &'static str,
}

/// What [`apply`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The component.
    pub component: String,
    /// Its version before (0 for a database that had none).
    pub from: u32,
    /// Its version now (the list's latest).
    pub to: u32,
    /// The versions applied by this call, in order.
    pub steps: Vec<u32>,
}

/// The latest version of `migrations` (0 for an empty list).
pub fn latest(migrations: &[Migration]) -> u32 {
    migrations.last().map_or(0, |m| m.version)
}

/// Checks a component's list: versions 1, 2, 3, … with names.
pub fn validate(component: &str, migrations: &[Migration]) -> Result<()> {
    if component.trim().is_empty() {
        return Err(Error::Checkpoint(
            "a migration list needs a component name".into(),
        ));
    }
    for (i, m) in migrations.iter().enumerate() {
        let want = i as u32 + 1;
        if m.version != want {
            return Err(Error::Checkpoint(format!(
                "migration list of `{component}`: step {} has version {}, expected {want} \
                 (versions start at 1 and increase by one)",
                i + 1,
                m.version
            )));
        }
        if m.name.trim().is_empty() {
            return Err(Error::Checkpoint(format!(
                "migration list of `{component}`: version {} has no name",
                m.version
            )));
        }
    }
    Ok(())
}

/// The steps a component at version `current` still needs, in order — or an
/// [`Error::Checkpoint`] when `current` is newer than the list knows (a database written by a
/// newer release). Independent of the database engine.
pub fn pending<'a>(
    component: &str,
    current: u32,
    migrations: &'a [Migration],
) -> Result<&'a [Migration]> {
    validate(component, migrations)?;
    let known = latest(migrations);
    if current > known {
        return Err(Error::Checkpoint(format!(
            "the database's `{component}` schema is at version {current}, newer than this \
             release knows ({known}): it was written by a newer safe-tracker; use that release \
             (or a newer one) with this database"
        )));
    }
    Ok(&migrations[current as usize..])
}

fn sql_error(component: &str, what: &str, e: rusqlite::Error) -> Error {
    Error::Checkpoint(format!("schema of `{component}`: cannot {what}: {e}"))
}

/// The statement that creates [`VERSION_TABLE`] (portable SQL: every store, SQLite or
/// PostgreSQL, keeps the same layout).
pub const CREATE_VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS safe_tracker_schema_version (
            component TEXT NOT NULL,
            version INTEGER NOT NULL,
            name TEXT NOT NULL,
            applied_at TEXT NOT NULL,
            PRIMARY KEY (component, version)
        );";

fn create_version_table(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(CREATE_VERSION_TABLE)
}

/// The version of `component` recorded in `conn` (0 when none, or when the version table does
/// not exist yet). Reads only.
pub fn current_version(conn: &Connection, component: &str) -> Result<u32> {
    let exists: bool = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [VERSION_TABLE],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n > 0)
        .map_err(|e| sql_error(component, "read the schema version", e))?;
    if !exists {
        return Ok(0);
    }
    read_version(conn, component)
}

fn read_version(conn: &Connection, component: &str) -> Result<u32> {
    conn.query_row(
        &format!("SELECT COALESCE(MAX(version), 0) FROM {VERSION_TABLE} WHERE component = ?1"),
        [component],
        |r| r.get::<_, i64>(0),
    )
    .map(|v| u32::try_from(v).unwrap_or(u32::MAX))
    .map_err(|e| sql_error(component, "read the schema version", e))
}

/// Brings `component` in `conn` up to the latest version of `migrations`: each pending step
/// and its version row in one immediate transaction. Refuses a newer database (see
/// [`pending`]); a failing step is rolled back and reported with its version and name.
pub fn apply(conn: &mut Connection, component: &str, migrations: &[Migration]) -> Result<Applied> {
    validate(component, migrations)?;
    create_version_table(conn).map_err(|e| sql_error(component, "create the version table", e))?;
    let from = read_version(conn, component)?;
    let mut steps = Vec::new();
    for m in pending(component, from, migrations)? {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| sql_error(component, "start a migration", e))?;
        // Read again under the write lock: another process may have applied it meanwhile.
        let now = read_version(&tx, component)?;
        pending(component, now, migrations)?;
        if now >= m.version {
            continue;
        }
        tx.execute_batch(m.sql).map_err(|e| {
            Error::Checkpoint(format!(
                "schema of `{component}`: migration {} ({}) failed: {e}",
                m.version, m.name
            ))
        })?;
        tx.execute(
            &format!(
                "INSERT INTO {VERSION_TABLE} (component, version, name, applied_at)
                 VALUES (?1, ?2, ?3, strftime('%Y-%m-%dT%H:%M:%fZ','now'))"
            ),
            rusqlite::params![component, m.version, m.name],
        )
        .map_err(|e| sql_error(component, "record the schema version", e))?;
        tx.commit()
            .map_err(|e| sql_error(component, "commit a migration", e))?;
        steps.push(m.version);
    }
    Ok(Applied {
        component: component.to_string(),
        from,
        to: latest(migrations),
        steps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_table_statement_creates_the_version_table() {
        assert!(
            CREATE_VERSION_TABLE
                .starts_with(&format!("CREATE TABLE IF NOT EXISTS {VERSION_TABLE} ("))
        );
    }
    use crate::ErrorCode;

    const LIST: &[Migration] = &[
        Migration {
            version: 1,
            name: "notes",
            sql: "CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);",
        },
        Migration {
            version: 2,
            name: "notes get a title",
            sql: "ALTER TABLE notes ADD COLUMN title TEXT;
                  UPDATE notes SET title = 'untitled';",
        },
    ];

    fn versions(conn: &Connection, component: &str) -> Vec<(u32, String)> {
        let mut st = conn
            .prepare(&format!(
                "SELECT version, name FROM {VERSION_TABLE} WHERE component = ?1 ORDER BY version"
            ))
            .unwrap();
        st.query_map([component], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    }

    #[test]
    fn applies_in_order_once_and_records_each_step() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(current_version(&conn, "notes").unwrap(), 0);
        let a = apply(&mut conn, "notes", LIST).unwrap();
        assert_eq!((a.from, a.to, a.steps.clone()), (0, 2, vec![1, 2]));
        assert_eq!(
            versions(&conn, "notes"),
            vec![(1, "notes".into()), (2, "notes get a title".into())]
        );
        conn.execute("INSERT INTO notes (body, title) VALUES ('x', 't')", [])
            .unwrap();
        // Idempotent: nothing runs again (step 2's ALTER would fail if it did).
        let again = apply(&mut conn, "notes", LIST).unwrap();
        assert_eq!((again.from, again.to), (2, 2));
        assert!(again.steps.is_empty());
        assert_eq!(current_version(&conn, "notes").unwrap(), 2);
        let applied_at: String = conn
            .query_row(
                &format!("SELECT applied_at FROM {VERSION_TABLE} WHERE version = 2"),
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(applied_at.ends_with('Z') && applied_at.contains('T'));
    }

    #[test]
    fn an_existing_version_1_database_is_recognised_and_migrated() {
        let mut conn = Connection::open_in_memory().unwrap();
        // A database from before the mechanism: version 1's tables, no version table.
        conn.execute_batch(
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
             INSERT INTO notes (body) VALUES ('kept');",
        )
        .unwrap();
        let a = apply(&mut conn, "notes", LIST).unwrap();
        assert_eq!(a.steps, vec![1, 2]);
        let (body, title): (String, String) = conn
            .query_row("SELECT body, title FROM notes", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((body.as_str(), title.as_str()), ("kept", "untitled"));
    }

    #[test]
    fn a_later_list_applies_only_the_new_steps() {
        let mut conn = Connection::open_in_memory().unwrap();
        apply(&mut conn, "notes", &LIST[..1]).unwrap();
        assert_eq!(current_version(&conn, "notes").unwrap(), 1);
        let a = apply(&mut conn, "notes", LIST).unwrap();
        assert_eq!((a.from, a.steps), (1, vec![2]));
    }

    #[test]
    fn a_newer_database_is_refused_untouched() {
        let mut conn = Connection::open_in_memory().unwrap();
        apply(&mut conn, "notes", LIST).unwrap();
        let err = apply(&mut conn, "notes", &LIST[..1]).unwrap_err();
        assert_eq!(err.code(), ErrorCode::Checkpoint);
        let msg = err.to_string();
        assert!(
            msg.contains("version 2") && msg.contains("newer than this release knows (1)"),
            "{msg}"
        );
        assert_eq!(current_version(&conn, "notes").unwrap(), 2);
        assert!(matches!(
            pending("notes", 3, LIST),
            Err(Error::Checkpoint(_))
        ));
        assert_eq!(pending("notes", 1, LIST).unwrap(), &LIST[1..]);
        assert!(pending("notes", 2, LIST).unwrap().is_empty());
    }

    #[test]
    fn a_failing_step_is_rolled_back_and_named() {
        let mut conn = Connection::open_in_memory().unwrap();
        let broken = [
            LIST[0],
            Migration {
                version: 2,
                name: "half done",
                sql: "CREATE TABLE extra (x INTEGER); INSERT INTO nowhere VALUES (1);",
            },
        ];
        let err = apply(&mut conn, "notes", &broken).unwrap_err();
        assert_eq!(err.code(), ErrorCode::Checkpoint);
        assert!(err.to_string().contains("migration 2 (half done)"), "{err}");
        // Step 1 stays applied; step 2 left nothing behind.
        assert_eq!(current_version(&conn, "notes").unwrap(), 1);
        let extra: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'extra'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(extra, 0);
    }

    #[test]
    fn components_are_independent() {
        let mut conn = Connection::open_in_memory().unwrap();
        apply(&mut conn, "notes", LIST).unwrap();
        let other = [Migration {
            version: 1,
            name: "tags",
            sql: "CREATE TABLE tags (name TEXT);",
        }];
        let a = apply(&mut conn, "tags", &other).unwrap();
        assert_eq!((a.from, a.to), (0, 1));
        assert_eq!(current_version(&conn, "notes").unwrap(), 2);
        assert_eq!(current_version(&conn, "tags").unwrap(), 1);
    }

    #[test]
    fn malformed_lists_are_refused() {
        let gap = [
            LIST[0],
            Migration {
                version: 3,
                name: "skips two",
                sql: "",
            },
        ];
        assert!(validate("notes", &gap).is_err());
        let unnamed = [Migration {
            version: 1,
            name: " ",
            sql: "",
        }];
        assert!(validate("notes", &unnamed).is_err());
        assert!(validate("", LIST).is_err());
        let mut conn = Connection::open_in_memory().unwrap();
        assert!(apply(&mut conn, "notes", &gap).is_err());
        assert_eq!(current_version(&conn, "notes").unwrap(), 0);
    }

    #[test]
    fn a_second_connection_to_the_file_applies_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db");
        let mut a = Connection::open(&path).unwrap();
        let mut b = Connection::open(&path).unwrap();
        b.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
        apply(&mut a, "notes", &LIST[..1]).unwrap();
        let ra = apply(&mut a, "notes", LIST).unwrap();
        let rb = apply(&mut b, "notes", LIST).unwrap();
        assert_eq!(ra.steps, vec![2]);
        assert!(rb.steps.is_empty());
        assert_eq!(versions(&b, "notes").len(), 2);
    }
}
