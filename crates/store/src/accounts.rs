//! Accounts.

use async_trait::async_trait;
use uuid::Uuid;

use crate::{SqlStore, StoreResult};
use domain::Account;

/// Accounts (Edgecast account numbers included).
#[async_trait]
pub trait AccountStore: Send + Sync {
    async fn insert_account(&self, account: &Account) -> StoreResult<()>;
    async fn account_by_id(&self, id: Uuid) -> StoreResult<Option<Account>>;
    async fn account_by_number(&self, number: &str) -> StoreResult<Option<Account>>;
    async fn list_accounts(&self) -> StoreResult<Vec<Account>>;
    async fn count_accounts(&self) -> StoreResult<i64>;
}

#[async_trait]
impl AccountStore for SqlStore {
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
}
