//! Accounts, users, API keys and the change log: the `Store` trait's own methods, written once
//! for both backends (see `db`).

use crate::SqlStore;

#[async_trait::async_trait]
impl crate::Store for SqlStore {
    fn backend(&self) -> &'static str {
        self.db.backend().name()
    }

    async fn migrate(&self) -> crate::StoreResult<()> {
        match &self.db {
            crate::db::Db::Sqlite { write, .. } => crate::sqlite::migrate(write).await,
            crate::db::Db::Postgres(pool) => crate::postgres::migrate(pool).await,
        }
    }

    async fn ping(&self) -> crate::StoreResult<()> {
        // Reads a real table, so a missing schema or lost permissions count as down.
        self.db
            .probe("SELECT seq FROM changes ORDER BY seq DESC LIMIT 1")
            .await
    }

    async fn listener(&self) -> crate::StoreResult<Box<dyn crate::ChangeListener>> {
        match &self.db {
            crate::db::Db::Sqlite { .. } => Ok(crate::sqlite::listener()),
            crate::db::Db::Postgres(pool) => crate::postgres::listener(pool).await,
        }
    }

    async fn insert_account(&self, a: &domain::Account) -> crate::StoreResult<()> {
        self.db
            .execute(
                "INSERT INTO accounts (id, name, number, created_at) VALUES ($1, $2, $3, $4)",
                crate::args![a.id.to_string(), &a.name, a.number.as_str(), a.created_at],
            )
            .await
            .map_err(|e| crate::map_unique(e, &format!("account number {}", a.number)))?;
        Ok(())
    }

    async fn account_by_id(&self, id: uuid::Uuid) -> crate::StoreResult<Option<domain::Account>> {
        self.db
            .fetch_optional::<crate::rows::AccountRow>(
                "SELECT id, name, number, created_at FROM accounts WHERE id = $1",
                crate::args![id.to_string()],
            )
            .await?
            .map(|r| r.into_domain())
            .transpose()
    }

    async fn account_by_number(&self, number: &str) -> crate::StoreResult<Option<domain::Account>> {
        self.db
            .fetch_optional::<crate::rows::AccountRow>(
                "SELECT id, name, number, created_at FROM accounts WHERE number = $1",
                crate::args![number],
            )
            .await?
            .map(|r| r.into_domain())
            .transpose()
    }

    async fn list_accounts(&self) -> crate::StoreResult<Vec<domain::Account>> {
        self.db
            .fetch_all::<crate::rows::AccountRow>(
                "SELECT id, name, number, created_at FROM accounts ORDER BY number",
                crate::db::Args::default(),
            )
            .await?
            .into_iter()
            .map(|r| r.into_domain())
            .collect()
    }

    async fn count_accounts(&self) -> crate::StoreResult<i64> {
        let (n,): (i64,) = self
            .db
            .fetch_one("SELECT COUNT(*) FROM accounts", crate::db::Args::default())
            .await?;
        Ok(n)
    }

    async fn insert_user(&self, u: &domain::User) -> crate::StoreResult<()> {
        self.db.execute("INSERT INTO users (id, account_id, username, password_hash, role, created_at) VALUES ($1, $2, $3, $4, $5, $6)", crate::args![u.id.to_string(), u.account_id.to_string(), &u.username, &u.password_hash, u.role.as_str(), u.created_at]).await
            .map_err(|e| crate::map_unique(e, &format!("user {}", u.username)))?;
        Ok(())
    }

    async fn user_by_username(&self, username: &str) -> crate::StoreResult<Option<domain::User>> {
        self.db.fetch_optional::<crate::rows::UserRow>("SELECT id, account_id, username, password_hash, role, created_at FROM users WHERE username = $1", crate::args![username]).await?
        .map(|r| r.into_domain())
        .transpose()
    }

    async fn insert_api_key(
        &self,
        k: &domain::ApiKey,
        secret_hash: &[u8; 32],
    ) -> crate::StoreResult<()> {
        let mut tx = self.db.begin().await?;
        Self::insert_key_rows(&mut tx, std::slice::from_ref(&(k.clone(), *secret_hash))).await?;
        tx.record_change(
            "api_key.created",
            &k.id.to_string(),
            Some(secret_hash),
            k.created_at,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn insert_api_keys_bulk(
        &self,
        keys: &[(domain::ApiKey, [u8; 32])],
    ) -> crate::StoreResult<()> {
        let mut tx = self.db.begin().await?;
        Self::insert_key_rows(&mut tx, keys).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn api_key_by_hash(
        &self,
        secret_hash: &[u8; 32],
    ) -> crate::StoreResult<Option<domain::ApiKey>> {
        self.db
            .fetch_optional::<crate::rows::ApiKeyRow>(
                &format!(
                    "SELECT {} FROM api_keys WHERE secret_hash = $1",
                    crate::rows::API_KEY_COLUMNS
                ),
                crate::args![secret_hash.to_vec()],
            )
            .await?
            .map(|r| r.into_domain())
            .transpose()
    }

    async fn api_key_by_id(&self, id: uuid::Uuid) -> crate::StoreResult<Option<domain::ApiKey>> {
        self.db
            .fetch_optional::<crate::rows::ApiKeyRow>(
                &format!(
                    "SELECT {} FROM api_keys WHERE id = $1",
                    crate::rows::API_KEY_COLUMNS
                ),
                crate::args![id.to_string()],
            )
            .await?
            .map(|r| r.into_domain())
            .transpose()
    }

    async fn list_api_keys(
        &self,
        account_id: uuid::Uuid,
        environment: Option<domain::Environment>,
    ) -> crate::StoreResult<Vec<domain::ApiKey>> {
        self.db.fetch_all::<crate::rows::ApiKeyRow>(&format!(
            "SELECT {} FROM api_keys WHERE account_id = $1 AND ($2 IS NULL OR environment = $2) ORDER BY created_at, id",
            crate::rows::API_KEY_COLUMNS
        ), crate::args![account_id.to_string(), environment.map(|e| e.as_str())]).await?
        .into_iter()
        .map(|r| r.into_domain())
        .collect()
    }

    async fn revoke_api_key(
        &self,
        id: uuid::Uuid,
        at: i64,
    ) -> crate::StoreResult<Option<domain::ApiKey>> {
        let mut tx = self.db.begin().await?;
        // The write comes first so SQLite takes its write lock before any read.
        let updated = tx
            .execute(
                "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                crate::args![at, id.to_string()],
            )
            .await?;
        if updated == 1 {
            let (hash,): (Vec<u8>,) = tx
                .fetch_one(
                    "SELECT secret_hash FROM api_keys WHERE id = $1",
                    crate::args![id.to_string()],
                )
                .await?;
            tx.record_change("api_key.revoked", &id.to_string(), Some(&hash), at)
                .await?;
        }
        let key = tx
            .fetch_optional::<crate::rows::ApiKeyRow>(
                &format!(
                    "SELECT {} FROM api_keys WHERE id = $1",
                    crate::rows::API_KEY_COLUMNS
                ),
                crate::args![id.to_string()],
            )
            .await?
            .map(|r| r.into_domain())
            .transpose()?;
        tx.commit().await?;
        Ok(key)
    }

    async fn touch_api_keys(&self, used: &[(uuid::Uuid, i64)]) -> crate::StoreResult<()> {
        if used.is_empty() {
            return Ok(());
        }
        let mut tx = self.db.begin().await?;
        for (id, at) in used {
            tx.execute("UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)", crate::args![*at, id.to_string()]).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn latest_change(&self) -> crate::StoreResult<i64> {
        let (seq,): (Option<i64>,) = self
            .db
            .fetch_one("SELECT MAX(seq) FROM changes", crate::db::Args::default())
            .await?;
        Ok(seq.unwrap_or(0))
    }

    async fn prune_changes(&self, before: i64) -> crate::StoreResult<u64> {
        self.prune_changes_impl(before).await
    }

    async fn changes_since(&self, seq: i64, limit: i64) -> crate::StoreResult<Vec<crate::Change>> {
        let rows = self.db.fetch_all::<crate::rows::ChangeRow>("SELECT seq, kind, object_id, key_hash FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2", crate::args![seq, limit]).await?;
        Ok(rows
            .into_iter()
            .map(|r| crate::Change {
                seq: r.seq,
                kind: r.kind,
                object_id: r.object_id,
                key_hash: r.key_hash,
            })
            .collect())
    }
}

impl SqlStore {
    async fn prune_changes_impl(&self, before: i64) -> crate::StoreResult<u64> {
        // Never the newest entry: it tells a restarting follower where the log stands.
        let done = self
            .db
            .execute(
                "DELETE FROM changes WHERE at < $1 AND seq < (SELECT MAX(seq) FROM changes)",
                crate::args![before],
            )
            .await?;
        Ok(done)
    }

    /// Inserts API key rows, a thousand per statement, inside the caller's transaction.
    async fn insert_key_rows(
        tx: &mut crate::db::Tx,
        keys: &[(domain::ApiKey, [u8; 32])],
    ) -> crate::StoreResult<()> {
        for chunk in keys.chunks(1000) {
            let sql = format!(
                "INSERT INTO api_keys (id, account_id, name, environment, prefix, secret_hash, allowed_origins, full_access, created_at, last_used_at, expires_at, revoked_at) {}",
                crate::db::values(chunk.len(), 12)
            );
            let mut args = crate::db::Args::default();
            for (k, h) in chunk {
                args.push(k.id.to_string())
                    .push(k.account_id.to_string())
                    .push(&k.name)
                    .push(k.environment.as_str())
                    .push(&k.prefix)
                    .push(h)
                    .push(crate::rows::origins_json(&k.cors))
                    .push(k.cors.full_access)
                    .push(k.created_at)
                    .push(k.last_used_at)
                    .push(k.expires_at)
                    .push(k.revoked_at);
            }
            tx.execute(&sql, args)
                .await
                .map_err(|e| crate::map_unique(e, "api key"))?;
        }
        Ok(())
    }
}
