//! The connection to either SQL backend, behind one small interface, so that every query of the
//! store is written once, in plain functions a reader can step into (no macro, no generic bounds).
//!
//! Both backends get the same SQL: every table uses the same column types on SQLite and
//! PostgreSQL (TEXT ids, BIGINT milliseconds, BOOLEAN, BLOB/BYTEA) and `$n` placeholders, which
//! both accept. What differs at run time is in `Backend`: how the `changes` log is locked and
//! announced, and the collation that makes text comparisons bytewise.
//!
//! Values are bound as `Arg`s (`args![a, b]`), converted to each backend's own arguments in one
//! place; rows are read with sqlx's `FromRow` (derived once, valid for both backends).

use sqlx::postgres::{PgArguments, PgRow};
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Arguments, FromRow, PgPool, Postgres, Sqlite, SqlitePool};

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::StoreResult;

/// Marks `failed` when `r` is a failure of the database (not a refusal of what was written).
fn note<T>(failed: Option<&AtomicBool>, r: StoreResult<T>) -> StoreResult<T> {
    if let (Some(f), Err(e)) = (failed, &r) {
        if !e.is_refused_content() {
            f.store(true, Ordering::Release);
        }
    }
    r
}

/// Which SQL backend serves, and the few statements that differ between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    /// Serialises appends to the `changes` log, so sequence numbers commit in order (SQLite's
    /// single writer already does).
    pub fn lock_changes(self) -> Option<&'static str> {
        match self {
            Backend::Sqlite => None,
            Backend::Postgres => Some("LOCK TABLE changes IN EXCLUSIVE MODE"),
        }
    }

    /// Wakes the other instances' change followers when the transaction commits.
    pub fn notify_changes(self) -> Option<&'static str> {
        match self {
            Backend::Sqlite => None,
            Backend::Postgres => Some("SELECT pg_notify('streamgate_changes', '')"),
        }
    }

    /// The collation suffix that makes text comparisons bytewise (SQLite's BINARY already is;
    /// PostgreSQL's database collation may not be, "C" is, and the indexes use it).
    pub fn bytewise(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => " COLLATE \"C\"",
        }
    }
}

/// One bound value. `None`s keep their type, which PostgreSQL needs.
#[derive(Debug, Clone)]
pub enum Arg {
    Text(Option<String>),
    Int(Option<i64>),
    Bool(Option<bool>),
    Bytes(Option<Vec<u8>>),
}

/// The values of one statement, in placeholder order.
#[derive(Debug, Clone, Default)]
pub struct Args(pub Vec<Arg>);

impl Args {
    pub fn push(&mut self, a: impl Into<Arg>) -> &mut Self {
        self.0.push(a.into());
        self
    }

    /// How many values so far: the next placeholder is `$len+1`.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn sqlite(self) -> StoreResult<SqliteArguments<'static>> {
        let mut out = SqliteArguments::default();
        for a in self.0 {
            match a {
                Arg::Text(v) => out.add(v),
                Arg::Int(v) => out.add(v),
                Arg::Bool(v) => out.add(v),
                Arg::Bytes(v) => out.add(v),
            }
            .map_err(sqlx::Error::Encode)?;
        }
        Ok(out)
    }

    fn postgres(self) -> StoreResult<PgArguments> {
        let mut out = PgArguments::default();
        for a in self.0 {
            match a {
                Arg::Text(v) => out.add(v),
                Arg::Int(v) => out.add(v),
                Arg::Bool(v) => out.add(v),
                Arg::Bytes(v) => out.add(v),
            }
            .map_err(sqlx::Error::Encode)?;
        }
        Ok(out)
    }
}

/// `args![a, b, …]`: each value converted with `Arg::from`.
#[macro_export]
macro_rules! args {
    ($($e:expr),* $(,)?) => {
        $crate::db::Args(vec![$($crate::db::Arg::from($e)),*])
    };
}

macro_rules! arg_from {
    ($variant:ident: $($t:ty => |$v:ident| $conv:expr),* $(,)?) => {
        $(impl From<$t> for Arg {
            fn from($v: $t) -> Self {
                Arg::$variant($conv)
            }
        })*
    };
}

arg_from!(Text:
    String => |v| Some(v),
    &String => |v| Some(v.clone()),
    &str => |v| Some(v.to_string()),
    Option<String> => |v| v,
    &Option<String> => |v| v.clone(),
    Option<&str> => |v| v.map(str::to_string),
    Option<&String> => |v| v.cloned(),
);
arg_from!(Int:
    i64 => |v| Some(v),
    &i64 => |v| Some(*v),
    i32 => |v| Some(i64::from(v)),
    u32 => |v| Some(i64::from(v)),
    Option<i64> => |v| v,
    &Option<i64> => |v| *v,
);
arg_from!(Bool:
    bool => |v| Some(v),
    &bool => |v| Some(*v),
    Option<bool> => |v| v,
);
arg_from!(Bytes:
    Vec<u8> => |v| Some(v),
    &Vec<u8> => |v| Some(v.clone()),
    &[u8] => |v| Some(v.to_vec()),
    &[u8; 32] => |v| Some(v.to_vec()),
    Option<Vec<u8>> => |v| v,
    &Option<Vec<u8>> => |v| v.clone(),
    Option<&[u8]> => |v| v.map(<[u8]>::to_vec),
);

/// A row type readable from both backends (sqlx's `FromRow`, derived once).
pub trait Row: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}
impl<T> Row for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{}

/// The pools of one store.
///
/// SQLite lets one connection write at a time; others that try wait in its busy handler, which
/// sleeps in growing steps (up to 100 ms each) and lets late arrivals overtake. Writes therefore go
/// through a pool of one connection, where they queue in order without sleeping; reads use the
/// other pool and never wait for a write (WAL). PostgreSQL queues writers itself: one pool.
///
/// `failed` is set when a statement on SQLite's writer fails for any reason but its content (see
/// `sqlite::settled`): the writer's connection is then closed when it comes back to the pool.
#[derive(Clone)]
pub enum Db {
    Sqlite {
        read: SqlitePool,
        write: SqlitePool,
        failed: Arc<AtomicBool>,
    },
    /// With what the health probe last found of the server (see `pg_reach::Reach`).
    Postgres(PgPool, Arc<crate::pg_reach::Reach>),
}

impl Db {
    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite { .. } => Backend::Sqlite,
            Db::Postgres(..) => Backend::Postgres,
        }
    }

    fn failed(&self) -> Option<&AtomicBool> {
        match self {
            Db::Sqlite { failed, .. } => Some(failed),
            Db::Postgres(..) => None,
        }
    }

    /// A write (on the writer); returns the rows affected.
    pub async fn execute(&self, sql: &str, args: Args) -> StoreResult<u64> {
        let r = self.execute_unnoted(sql, args).await;
        note(self.failed(), r)
    }

    async fn execute_unnoted(&self, sql: &str, args: Args) -> StoreResult<u64> {
        Ok(match self {
            Db::Sqlite { write, .. } => sqlx::query_with::<Sqlite, _>(sql, args.sqlite()?)
                .execute(write)
                .await?
                .rows_affected(),
            Db::Postgres(p, reach) => reach
                .guard(sqlx::query_with::<Postgres, _>(sql, args.postgres()?).execute(p))
                .await?
                .rows_affected(),
        })
    }

    /// A query on the writer (the health probe: it must see what writes see).
    pub async fn probe(&self, sql: &str) -> StoreResult<()> {
        let r = self.probe_unnoted(sql).await;
        note(self.failed(), r)
    }

    async fn probe_unnoted(&self, sql: &str) -> StoreResult<()> {
        match self {
            Db::Sqlite { write, .. } => {
                sqlx::query(sql).execute(write).await?;
            }
            // On a connection of its own: whether the server answers, not whether the pool
            // has a free connection.
            Db::Postgres(_, reach) => reach.probe(sql).await?,
        }
        Ok(())
    }

    pub async fn fetch_one<T: Row>(&self, sql: &str, args: Args) -> StoreResult<T> {
        self.fetch_optional(sql, args)
            .await?
            .ok_or_else(|| sqlx::Error::RowNotFound.into())
    }

    pub async fn fetch_optional<T: Row>(&self, sql: &str, args: Args) -> StoreResult<Option<T>> {
        Ok(match self {
            Db::Sqlite { read, .. } => {
                sqlx::query_as_with::<Sqlite, T, _>(sql, args.sqlite()?)
                    .fetch_optional(read)
                    .await?
            }
            Db::Postgres(p, reach) => {
                reach
                    .guard(
                        sqlx::query_as_with::<Postgres, T, _>(sql, args.postgres()?)
                            .fetch_optional(p),
                    )
                    .await?
            }
        })
    }

    pub async fn fetch_all<T: Row>(&self, sql: &str, args: Args) -> StoreResult<Vec<T>> {
        Ok(match self {
            Db::Sqlite { read, .. } => {
                sqlx::query_as_with::<Sqlite, T, _>(sql, args.sqlite()?)
                    .fetch_all(read)
                    .await?
            }
            Db::Postgres(p, reach) => {
                reach
                    .guard(
                        sqlx::query_as_with::<Postgres, T, _>(sql, args.postgres()?).fetch_all(p),
                    )
                    .await?
            }
        })
    }

    /// A transaction on the writer.
    pub async fn begin(&self) -> StoreResult<Tx> {
        match self {
            Db::Sqlite { write, failed, .. } => {
                let tx = note(Some(failed), write.begin().await.map_err(Into::into))?;
                Ok(Tx::Sqlite(tx, failed.clone()))
            }
            Db::Postgres(p, reach) => Ok(Tx::Postgres(reach.guard(p.begin()).await?)),
        }
    }
}

/// A transaction: rolled back when dropped without `commit`.
pub enum Tx {
    /// With its store's `failed` mark (see `Db`).
    Sqlite(sqlx::Transaction<'static, Sqlite>, Arc<AtomicBool>),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

impl Tx {
    pub fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(..) => Backend::Sqlite,
            Tx::Postgres(_) => Backend::Postgres,
        }
    }

    fn failed(&self) -> Option<Arc<AtomicBool>> {
        match self {
            Tx::Sqlite(_, failed) => Some(failed.clone()),
            Tx::Postgres(_) => None,
        }
    }

    pub async fn execute(&mut self, sql: &str, args: Args) -> StoreResult<u64> {
        let failed = self.failed();
        let r = self.execute_unnoted(sql, args).await;
        note(failed.as_deref(), r)
    }

    async fn execute_unnoted(&mut self, sql: &str, args: Args) -> StoreResult<u64> {
        Ok(match self {
            Tx::Sqlite(tx, _) => sqlx::query_with::<Sqlite, _>(sql, args.sqlite()?)
                .execute(&mut **tx)
                .await?
                .rows_affected(),
            Tx::Postgres(tx) => sqlx::query_with::<Postgres, _>(sql, args.postgres()?)
                .execute(&mut **tx)
                .await?
                .rows_affected(),
        })
    }

    pub async fn fetch_one<T: Row>(&mut self, sql: &str, args: Args) -> StoreResult<T> {
        self.fetch_optional(sql, args)
            .await?
            .ok_or_else(|| sqlx::Error::RowNotFound.into())
    }

    pub async fn fetch_optional<T: Row>(
        &mut self,
        sql: &str,
        args: Args,
    ) -> StoreResult<Option<T>> {
        let failed = self.failed();
        let r = self.fetch_optional_unnoted(sql, args).await;
        note(failed.as_deref(), r)
    }

    async fn fetch_optional_unnoted<T: Row>(
        &mut self,
        sql: &str,
        args: Args,
    ) -> StoreResult<Option<T>> {
        Ok(match self {
            Tx::Sqlite(tx, _) => {
                sqlx::query_as_with::<Sqlite, T, _>(sql, args.sqlite()?)
                    .fetch_optional(&mut **tx)
                    .await?
            }
            Tx::Postgres(tx) => {
                sqlx::query_as_with::<Postgres, T, _>(sql, args.postgres()?)
                    .fetch_optional(&mut **tx)
                    .await?
            }
        })
    }

    pub async fn fetch_all<T: Row>(&mut self, sql: &str, args: Args) -> StoreResult<Vec<T>> {
        let failed = self.failed();
        let r = self.fetch_all_unnoted(sql, args).await;
        note(failed.as_deref(), r)
    }

    async fn fetch_all_unnoted<T: Row>(&mut self, sql: &str, args: Args) -> StoreResult<Vec<T>> {
        Ok(match self {
            Tx::Sqlite(tx, _) => {
                sqlx::query_as_with::<Sqlite, T, _>(sql, args.sqlite()?)
                    .fetch_all(&mut **tx)
                    .await?
            }
            Tx::Postgres(tx) => {
                sqlx::query_as_with::<Postgres, T, _>(sql, args.postgres()?)
                    .fetch_all(&mut **tx)
                    .await?
            }
        })
    }

    /// Locks the rows of `table` that `condition` selects until the transaction ends, with a
    /// write that changes nothing (PostgreSQL takes the rows' locks, SQLite its one write lock),
    /// so a read-modify-write inside the transaction cannot lose a concurrent update. Returns
    /// how many rows matched.
    pub async fn lock_rows(
        &mut self,
        table: &str,
        condition: &str,
        args: Args,
    ) -> StoreResult<u64> {
        self.execute(
            &format!("UPDATE {table} SET id = id WHERE {condition}"),
            args,
        )
        .await
    }

    /// Locks the one row of `table` that `condition` picks and reads it as it is now, for a
    /// read-modify-write that no concurrent update can interleave with (None: no such row).
    /// `args` gives the condition's arguments (asked twice: the lock, then the read).
    pub async fn lock_one<T: Row>(
        &mut self,
        table: &str,
        columns: &str,
        condition: &str,
        args: impl Fn() -> Args,
    ) -> StoreResult<Option<T>> {
        if self.lock_rows(table, condition, args()).await? == 0 {
            return Ok(None);
        }
        let select = format!("SELECT {columns} FROM {table} WHERE {condition}");
        self.fetch_one::<T>(&select, args()).await.map(Some)
    }

    pub async fn commit(self) -> StoreResult<()> {
        match self {
            Tx::Sqlite(tx, failed) => note(Some(&failed), tx.commit().await.map_err(Into::into)),
            Tx::Postgres(tx) => Ok(tx.commit().await?),
        }
    }

    /// Appends to the `changes` log inside this transaction; other instances drop what they
    /// cached of the object when they read it.
    pub async fn record_change(
        &mut self,
        kind: &str,
        object_id: &str,
        key_hash: Option<&[u8]>,
        at: i64,
    ) -> StoreResult<()> {
        if let Some(lock) = self.backend().lock_changes() {
            self.execute(lock, Args::default()).await?;
        }
        self.execute(
            "INSERT INTO changes (kind, object_id, key_hash, at) VALUES ($1, $2, $3, $4)",
            crate::args![kind, object_id, key_hash, at],
        )
        .await?;
        if let Some(notify) = self.backend().notify_changes() {
            self.execute(notify, Args::default()).await?;
        }
        Ok(())
    }
}

/// `VALUES ($1, …, $cols), (…), …` for `rows` rows: statements that insert many rows at once.
pub fn values(rows: usize, cols: usize) -> String {
    let mut out = String::from("VALUES ");
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for c in 0..cols {
            if c > 0 {
                out.push_str(", ");
            }
            out.push_str(&format!("${}", r * cols + c + 1));
        }
        out.push(')');
    }
    out
}
