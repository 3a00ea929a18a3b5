//! Webhook endpoints and their deliveries (the durable outbox).

use async_trait::async_trait;
use uuid::Uuid;

use crate::Scope;
use crate::{SqlStore, StoreError, StoreResult};
use domain::webhook::Flavor;
use domain::{Environment, Webhook};

/// Webhook endpoints and the deliveries queued for them.
#[async_trait]
pub trait WebhookStore: Send + Sync {
    async fn insert_webhook(&self, w: &Webhook) -> StoreResult<()>;
    async fn webhook(&self, scope: Scope, id: Uuid) -> StoreResult<Option<Webhook>>;
    /// Any webhook by id, deleted or not (for the delivery worker).
    async fn webhook_by_id(&self, id: Uuid) -> StoreResult<Option<Webhook>>;
    /// The scope's first `limit` live webhooks, oldest first, without counting them all (for
    /// queueing an event's deliveries). Not live jobs' notification endpoints (`brightcove`):
    /// they hear only of their own job, and must not crowd the account's webhooks out.
    async fn scope_webhooks(&self, scope: Scope, limit: i64) -> StoreResult<Vec<Webhook>>;
    /// A page of the scope's webhooks of one flavor, oldest first, with how many there are in
    /// all; only those subscribed to `event` when one is given (one of the flavor's events).
    async fn list_webhooks(
        &self,
        scope: Scope,
        flavor: Flavor,
        event: Option<&str>,
        offset: i64,
        limit: i64,
    ) -> StoreResult<(Vec<Webhook>, i64)>;
    /// Replaces what a live webhook of the scope and flavor is (name, url, events, sealed
    /// secret, stream); false if there is no such webhook.
    async fn update_webhook(&self, scope: Scope, w: &Webhook) -> StoreResult<bool>;
    async fn delete_webhook(
        &self,
        scope: Scope,
        flavor: Flavor,
        id: Uuid,
        at: i64,
    ) -> StoreResult<bool>;
    /// Names (or clears) the credential a live webhook authenticates with; false if no such webhook.
    async fn set_webhook_credential(
        &self,
        scope: Scope,
        id: Uuid,
        label: Option<&str>,
    ) -> StoreResult<bool>;
    /// Deliveries due, oldest first, fairly: at most `per_webhook` of one endpoint and
    /// `per_account` of one account, none of the endpoints and accounts the query skips.
    async fn due_deliveries(&self, q: &DueQuery) -> StoreResult<Vec<DeliveryRecord>>;
    /// Claims a due delivery for one attempt: moves its next attempt to `lease_until` if it is
    /// still pending at `next_attempt_at` (another worker, or instance, that claimed it first
    /// wins). An attempt that never reports back (a crash) is thus retried once the lease ends.
    async fn claim_delivery(
        &self,
        id: Uuid,
        next_attempt_at: i64,
        lease_until: i64,
    ) -> StoreResult<bool>;
    async fn mark_delivered(&self, id: Uuid, at: i64) -> StoreResult<()>;
    /// Records a failed attempt: retry at `next`, or give up (`failed_at`) when `next` is None.
    async fn mark_attempt_failed(
        &self,
        id: Uuid,
        at: i64,
        error: &str,
        next: Option<i64>,
    ) -> StoreResult<()>;
    async fn deliveries_for_account(&self, account_id: Uuid) -> StoreResult<Vec<DeliveryRecord>>;
    /// Queues deliveries in a transaction of their own, for an event whose change was written
    /// without one (or elsewhere); a change the store writes queues them in its own transaction
    /// (`GroupWrite`).
    async fn queue_deliveries(&self, rows: &[DeliveryRecord]) -> StoreResult<()>;
}

#[async_trait]
impl WebhookStore for SqlStore {
    async fn insert_webhook(&self, w: &domain::Webhook) -> crate::StoreResult<()> {
        let (sql, args) = insert_statement(w);
        self.db
            .execute(&sql, args)
            .await
            .map_err(|e| crate::map_unique(e, "webhook"))?;
        Ok(())
    }

    async fn webhook(
        &self,
        scope: crate::Scope,
        id: uuid::Uuid,
    ) -> crate::StoreResult<Option<domain::Webhook>> {
        self.db.fetch_optional::<WebhookRow>(&format!(
            "SELECT {} FROM webhooks WHERE id = $1 AND account_id = $2 AND environment = $3 AND deleted_at IS NULL",
            WEBHOOK_COLUMNS
        ), crate::args![id.to_string(), scope.account_id.to_string(), scope.environment.as_str()]).await?
        .map(|r| r.into_record())
        .transpose()
    }

    async fn webhook_by_id(&self, id: uuid::Uuid) -> crate::StoreResult<Option<domain::Webhook>> {
        self.db
            .fetch_optional::<WebhookRow>(
                &format!("SELECT {} FROM webhooks WHERE id = $1", WEBHOOK_COLUMNS),
                crate::args![id.to_string()],
            )
            .await?
            .map(|r| r.into_record())
            .transpose()
    }

    async fn scope_webhooks(
        &self,
        scope: crate::Scope,
        limit: i64,
    ) -> crate::StoreResult<Vec<domain::Webhook>> {
        self.db.fetch_all::<WebhookRow>(&format!(
            "SELECT {} FROM webhooks WHERE account_id = $1 AND environment = $2 AND deleted_at IS NULL \
             AND flavor <> 'brightcove' ORDER BY created_at, id LIMIT $3",
            WEBHOOK_COLUMNS
        ), crate::args![scope.account_id.to_string(), scope.environment.as_str(), limit]).await?
        .into_iter()
        .map(|r| r.into_record())
        .collect()
    }

    async fn list_webhooks(
        &self,
        scope: crate::Scope,
        flavor: Flavor,
        event: Option<&str>,
        offset: i64,
        limit: i64,
    ) -> crate::StoreResult<(Vec<domain::Webhook>, i64)> {
        // `events` is a JSON array of known event names (no LIKE wildcards among them); the
        // pattern matches one element, quotes included. None matches every row.
        let scoped = |event: &str| {
            format!(
                "account_id = $1 AND environment = $2 AND flavor = $3 AND deleted_at IS NULL \
                 AND ({event} IS NULL OR events LIKE {event})"
            )
        };
        let pattern = event.map(|e| format!("%\"{e}\"%"));
        let (total,): (i64,) = self
            .db
            .fetch_one(
                &format!("SELECT COUNT(*) FROM webhooks WHERE {}", scoped("$4")),
                crate::args![
                    scope.account_id.to_string(),
                    scope.environment.as_str(),
                    flavor.as_str(),
                    pattern.clone()
                ],
            )
            .await?;
        let rows = self
            .db
            .fetch_all::<WebhookRow>(
                &format!(
                    "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE {} \
                     ORDER BY created_at, id LIMIT $4 OFFSET $5",
                    scoped("$6")
                ),
                crate::args![
                    scope.account_id.to_string(),
                    scope.environment.as_str(),
                    flavor.as_str(),
                    limit,
                    offset,
                    pattern
                ],
            )
            .await?
            .into_iter()
            .map(|r| r.into_record())
            .collect::<Result<Vec<_>, _>>()?;
        Ok((rows, total))
    }

    async fn update_webhook(
        &self,
        scope: crate::Scope,
        w: &domain::Webhook,
    ) -> crate::StoreResult<bool> {
        let done = self
            .db
            .execute(
                "UPDATE webhooks SET name = $1, url = $2, events = $3, secret_sealed = $4, \
                 stream_id = $5 WHERE id = $6 AND account_id = $7 AND environment = $8 \
                 AND flavor = $9 AND deleted_at IS NULL",
                crate::args![
                    &w.name,
                    &w.url,
                    serde_json::to_string(&w.events).unwrap_or_else(|_| "[]".into()),
                    &w.secret_sealed,
                    w.stream_id.map(|id| id.to_string()),
                    w.id.to_string(),
                    scope.account_id.to_string(),
                    scope.environment.as_str(),
                    w.flavor.as_str()
                ],
            )
            .await?;
        Ok(done == 1)
    }

    async fn delete_webhook(
        &self,
        scope: crate::Scope,
        flavor: Flavor,
        id: uuid::Uuid,
        at: i64,
    ) -> crate::StoreResult<bool> {
        let done = self
            .db
            .execute(
                "UPDATE webhooks SET deleted_at = $1 WHERE id = $2 AND account_id = $3 \
                 AND environment = $4 AND flavor = $5 AND deleted_at IS NULL",
                crate::args![
                    at,
                    id.to_string(),
                    scope.account_id.to_string(),
                    scope.environment.as_str(),
                    flavor.as_str()
                ],
            )
            .await?;
        Ok(done == 1)
    }

    async fn set_webhook_credential(
        &self,
        scope: crate::Scope,
        id: uuid::Uuid,
        label: Option<&str>,
    ) -> crate::StoreResult<bool> {
        let done = self.db.execute("UPDATE webhooks SET credential_label = $1 WHERE id = $2 AND account_id = $3 AND environment = $4 AND deleted_at IS NULL", crate::args![label, id.to_string(), scope.account_id.to_string(), scope.environment.as_str()]).await?;
        Ok(done == 1)
    }

    async fn due_deliveries(
        &self,
        q: &crate::webhooks::DueQuery,
    ) -> crate::StoreResult<Vec<crate::webhooks::DeliveryRecord>> {
        let mut args = crate::args![q.now, q.limit, q.per_webhook, q.per_account];
        let mut skip = String::new();
        for (column, ids) in [
            ("account_id", &q.skip_accounts),
            ("webhook_id", &q.skip_webhooks),
        ] {
            if ids.is_empty() {
                continue;
            }
            let mut marks = Vec::with_capacity(ids.len());
            for id in ids {
                args.push(id.to_string());
                marks.push(format!("${}", args.len()));
            }
            skip.push_str(&format!(" AND {column} NOT IN ({})", marks.join(", ")));
        }
        // Row numbers per endpoint, then per account (both oldest first), so a backlog of one
        // endpoint or account cannot fill the page and starve the others.
        let cols = crate::webhooks::DELIVERY_COLUMNS;
        let sql = format!(
            "SELECT {cols} FROM ( \
               SELECT {cols}, ROW_NUMBER() OVER (PARTITION BY account_id ORDER BY next_attempt_at, id) AS in_account FROM ( \
                 SELECT {cols}, ROW_NUMBER() OVER (PARTITION BY webhook_id ORDER BY next_attempt_at, id) AS in_webhook \
                 FROM webhook_deliveries \
                 WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1{skip} \
               ) w WHERE in_webhook <= $3 \
             ) a WHERE in_account <= $4 ORDER BY next_attempt_at, id LIMIT $2"
        );
        self.db
            .fetch_all::<crate::webhooks::DeliveryRow>(&sql, args)
            .await?
            .into_iter()
            .map(|r| r.into_record())
            .collect()
    }

    async fn claim_delivery(
        &self,
        id: uuid::Uuid,
        next_attempt_at: i64,
        lease_until: i64,
    ) -> crate::StoreResult<bool> {
        let done = self
            .db
            .execute(
                "UPDATE webhook_deliveries SET next_attempt_at = $1 WHERE id = $2 \
                 AND next_attempt_at = $3 AND delivered_at IS NULL AND failed_at IS NULL",
                crate::args![lease_until, id.to_string(), next_attempt_at],
            )
            .await?;
        Ok(done == 1)
    }

    async fn mark_delivered(&self, id: uuid::Uuid, at: i64) -> crate::StoreResult<()> {
        self.db.execute("UPDATE webhook_deliveries SET delivered_at = $1, attempts = attempts + 1 WHERE id = $2", crate::args![at, id.to_string()]).await?;
        Ok(())
    }

    async fn mark_attempt_failed(
        &self,
        id: uuid::Uuid,
        at: i64,
        error: &str,
        next: Option<i64>,
    ) -> crate::StoreResult<()> {
        self.db.execute("UPDATE webhook_deliveries SET attempts = attempts + 1, last_error = $1, next_attempt_at = COALESCE($2, next_attempt_at), failed_at = CASE WHEN $2 IS NULL THEN $3 ELSE NULL END WHERE id = $4", crate::args![error, next, at, id.to_string()]).await?;
        Ok(())
    }

    async fn deliveries_for_account(
        &self,
        account_id: uuid::Uuid,
    ) -> crate::StoreResult<Vec<crate::webhooks::DeliveryRecord>> {
        self.db
            .fetch_all::<crate::webhooks::DeliveryRow>(
                &format!(
            "SELECT {} FROM webhook_deliveries WHERE account_id = $1 ORDER BY created_at, id",
            crate::webhooks::DELIVERY_COLUMNS
        ),
                crate::args![account_id.to_string()],
            )
            .await?
            .into_iter()
            .map(|r| r.into_record())
            .collect()
    }

    async fn queue_deliveries(
        &self,
        rows: &[crate::webhooks::DeliveryRecord],
    ) -> crate::StoreResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut tx = self.db.begin().await?;
        Self::insert_deliveries(&mut tx, rows).await?;
        tx.commit().await?;
        Ok(())
    }
}

impl SqlStore {
    /// Queues deliveries inside the caller's transaction (the outbox write of an event).
    pub(crate) async fn insert_deliveries(
        tx: &mut crate::db::Tx,
        rows: &[crate::webhooks::DeliveryRecord],
    ) -> crate::StoreResult<()> {
        for d in rows {
            tx.execute(&format!(
                "INSERT INTO webhook_deliveries ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                crate::webhooks::DELIVERY_COLUMNS
            ), crate::args![d.id.to_string(), d.account_id.to_string(), d.webhook_id.to_string(), &d.event, &d.body, d.attempts, d.next_attempt_at, d.delivered_at, d.failed_at, &d.last_error, d.created_at]).await?;
        }
        Ok(())
    }
}

/// The statement that inserts a webhook (alone, or with what it belongs to in a transaction).
pub(crate) fn insert_statement(w: &Webhook) -> (String, crate::db::Args) {
    (
        format!(
            "INSERT INTO webhooks ({WEBHOOK_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ),
        crate::args![
            w.id.to_string(),
            w.account_id.to_string(),
            w.environment.as_str(),
            &w.url,
            serde_json::to_string(&w.events).unwrap_or_else(|_| "[]".into()),
            &w.secret_sealed,
            w.created_at,
            &w.credential_label,
            w.flavor.as_str(),
            &w.name,
            w.stream_id.map(|id| id.to_string())
        ],
    )
}

pub const WEBHOOK_COLUMNS: &str = "id, account_id, environment, url, events, secret_sealed, \
     created_at, credential_label, flavor, name, stream_id";

#[derive(sqlx::FromRow)]
pub struct WebhookRow {
    id: String,
    account_id: String,
    environment: String,
    url: String,
    events: String,
    secret_sealed: String,
    created_at: i64,
    credential_label: Option<String>,
    flavor: String,
    name: Option<String>,
    stream_id: Option<String>,
}

impl WebhookRow {
    pub fn into_record(self) -> StoreResult<Webhook> {
        let corrupt = |e: &dyn std::fmt::Display| StoreError::Corrupt(e.to_string());
        let uuid = |s: &str| Uuid::parse_str(s).map_err(|e| corrupt(&e));
        Ok(Webhook {
            id: uuid(&self.id)?,
            account_id: uuid(&self.account_id)?,
            environment: Environment::parse(&self.environment).map_err(|e| corrupt(&e))?,
            url: self.url,
            events: serde_json::from_str(&self.events).map_err(|e| corrupt(&e))?,
            secret_sealed: self.secret_sealed,
            created_at: self.created_at,
            credential_label: self.credential_label,
            flavor: Flavor::parse(&self.flavor).map_err(|e| corrupt(&e))?,
            name: self.name,
            stream_id: self.stream_id.as_deref().map(uuid).transpose()?,
        })
    }
}

/// Which due deliveries the worker asks for (see `WebhookStore::due_deliveries`).
#[derive(Debug, Clone, Default)]
pub struct DueQuery {
    pub now: i64,
    pub limit: i64,
    pub per_webhook: i64,
    pub per_account: i64,
    /// Accounts and endpoints already at their cap of attempts in flight.
    pub skip_accounts: Vec<Uuid>,
    pub skip_webhooks: Vec<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub id: Uuid,
    pub account_id: Uuid,
    pub webhook_id: Uuid,
    pub event: String,
    /// The JSON body, exactly as signed and sent.
    pub body: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub delivered_at: Option<i64>,
    pub failed_at: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
}

pub const DELIVERY_COLUMNS: &str = "id, account_id, webhook_id, event, body, attempts, next_attempt_at, delivered_at, failed_at, last_error, created_at";

#[derive(sqlx::FromRow)]
pub struct DeliveryRow {
    id: String,
    account_id: String,
    webhook_id: String,
    event: String,
    body: String,
    attempts: i64,
    next_attempt_at: i64,
    delivered_at: Option<i64>,
    failed_at: Option<i64>,
    last_error: Option<String>,
    created_at: i64,
}

impl DeliveryRow {
    pub fn into_record(self) -> StoreResult<DeliveryRecord> {
        let id = |s: &str| Uuid::parse_str(s).map_err(|e| StoreError::Corrupt(e.to_string()));
        Ok(DeliveryRecord {
            id: id(&self.id)?,
            account_id: id(&self.account_id)?,
            webhook_id: id(&self.webhook_id)?,
            event: self.event,
            body: self.body,
            attempts: self.attempts,
            next_attempt_at: self.next_attempt_at,
            delivered_at: self.delivered_at,
            failed_at: self.failed_at,
            last_error: self.last_error,
            created_at: self.created_at,
        })
    }
}
