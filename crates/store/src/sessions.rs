//! Publish sessions of streams (opened and closed by the ingest hooks).

use async_trait::async_trait;
use uuid::Uuid;

use crate::Scope;
use crate::{SqlStore, StoreResult};
use domain::Session;

/// Publish sessions.
#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn insert_session(&self, s: &Session) -> StoreResult<()>;
    async fn session(&self, scope: Scope, id: Uuid) -> StoreResult<Option<Session>>;
    /// A stream's latest sessions (at most 1,000), newest first; only those recorded (or not)
    /// when `record` says.
    async fn list_sessions(
        &self,
        scope: Scope,
        stream_id: Uuid,
        record: Option<bool>,
    ) -> StoreResult<Vec<Session>>;
    /// The scope's sessions newest first, `limit` of them after the keyset cursor `before` (the
    /// last of the previous page), on the scope's index of sessions.
    async fn sessions_page(
        &self,
        scope: Scope,
        before: Option<&domain::After>,
        limit: i64,
    ) -> StoreResult<Vec<Session>>;
    /// The scope's latest sessions across all its streams that were still open at `since` (or
    /// started after it), newest first.
    async fn recent_sessions(
        &self,
        scope: Scope,
        since: i64,
        limit: i64,
    ) -> StoreResult<Vec<Session>>;
}

#[async_trait]
impl SessionStore for SqlStore {
    async fn insert_session(&self, s: &domain::Session) -> crate::StoreResult<()> {
        let mut tx = self.db.begin().await?;
        Self::insert_session_in(&mut tx, s).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn session(
        &self,
        scope: crate::streams::Scope,
        id: uuid::Uuid,
    ) -> crate::StoreResult<Option<domain::Session>> {
        self.db
            .fetch_optional::<crate::streams::SessionRow>(
                &format!(
            "SELECT {} FROM sessions WHERE id = $1 AND account_id = $2 AND environment = $3",
            crate::streams::SESSION_COLUMNS
        ),
                crate::args![
                    id.to_string(),
                    scope.account_id.to_string(),
                    scope.environment.as_str()
                ],
            )
            .await?
            .map(|r| r.into_domain())
            .transpose()
    }

    async fn list_sessions(
        &self,
        scope: crate::streams::Scope,
        stream_id: uuid::Uuid,
        record: Option<bool>,
    ) -> crate::StoreResult<Vec<domain::Session>> {
        self.db
            .fetch_all::<crate::streams::SessionRow>(
                &format!(
            "SELECT {} FROM sessions WHERE stream_id = $1 AND account_id = $2 AND environment = $3 \
             AND ($4 IS NULL OR record = $4) ORDER BY started_at DESC, id DESC LIMIT 1000",
            crate::streams::SESSION_COLUMNS
        ),
                crate::args![
                    stream_id.to_string(),
                    scope.account_id.to_string(),
                    scope.environment.as_str(),
                    record
                ],
            )
            .await?
            .into_iter()
            .map(|r| r.into_domain())
            .collect()
    }

    async fn sessions_page(
        &self,
        scope: crate::streams::Scope,
        before: Option<&domain::After>,
        limit: i64,
    ) -> crate::StoreResult<Vec<domain::Session>> {
        let (at, id) = before.map_or((i64::MAX, String::new()), |b| {
            (b.created_at, b.id.to_string())
        });
        // Without a cursor every session is "before" (started_at < MAX, or equal with a larger
        // id: no id sorts after the empty string's stand-in, so the first branch decides).
        let sql = format!(
            "SELECT {} FROM sessions WHERE account_id = $1 AND environment = $2 \
             AND (started_at < $3 OR (started_at = $3 AND id < $4)) \
             ORDER BY started_at DESC, id DESC LIMIT $5",
            crate::streams::SESSION_COLUMNS
        );
        self.db
            .fetch_all::<crate::streams::SessionRow>(
                &sql,
                crate::args![
                    scope.account_id.to_string(),
                    scope.environment.as_str(),
                    at,
                    id,
                    limit
                ],
            )
            .await?
            .into_iter()
            .map(|r| r.into_domain())
            .collect()
    }

    async fn recent_sessions(
        &self,
        scope: crate::streams::Scope,
        since: i64,
        limit: i64,
    ) -> crate::StoreResult<Vec<domain::Session>> {
        self.db
            .fetch_all::<crate::streams::SessionRow>(
                &format!(
                    "SELECT {} FROM sessions WHERE account_id = $1 AND environment = $2 \
             AND (ended_at IS NULL OR ended_at >= $3) \
             ORDER BY started_at DESC, id DESC LIMIT $4",
                    crate::streams::SESSION_COLUMNS
                ),
                crate::args![
                    scope.account_id.to_string(),
                    scope.environment.as_str(),
                    since,
                    limit
                ],
            )
            .await?
            .into_iter()
            .map(|r| r.into_domain())
            .collect()
    }
}

impl SqlStore {
    pub(crate) async fn insert_session_in(
        tx: &mut crate::db::Tx,
        s: &domain::Session,
    ) -> crate::StoreResult<()> {
        tx.execute(
            &format!(
                "INSERT INTO sessions ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                crate::streams::SESSION_COLUMNS
            ),
            crate::args![
                s.id.to_string(),
                s.stream_id.to_string(),
                s.account_id.to_string(),
                s.environment.as_str(),
                &s.ingest,
                &s.client_addr,
                s.started_at,
                s.ended_at,
                s.record
            ],
        )
        .await
        .map_err(|e| crate::map_unique(e, "session"))?;
        Ok(())
    }
}
