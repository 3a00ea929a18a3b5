//! SQL for Brightcove credentials, shared by both backends like `sql.rs`.

macro_rules! impl_credential_store {
    ($store:ty, $db:ty) => {
        impl $store {
            async fn clear_default(
                tx: &mut sqlx::Transaction<'_, $db>,
                c: &$crate::store::credentials::CredentialRecord,
            ) -> $crate::store::StoreResult<()> {
                if c.default_for_type {
                    sqlx::query("UPDATE credentials SET default_for_type = FALSE WHERE account_id = $1 AND environment = $2 AND kind = $3 AND id <> $4 AND default_for_type")
                        .bind(c.account_id.to_string())
                        .bind(c.environment.as_str())
                        .bind(&c.kind)
                        .bind(c.id.to_string())
                        .execute(&mut **tx)
                        .await?;
                }
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::credentials::CredentialStore for $store {
            async fn insert_credential(
                &self,
                c: &$crate::store::credentials::CredentialRecord,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.writer().begin().await?;
                Self::clear_default(&mut tx, c).await?;
                sqlx::query(&format!(
                    "INSERT INTO credentials ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                    $crate::store::credentials::CREDENTIAL_COLUMNS
                ))
                .bind(c.id.to_string())
                .bind(c.account_id.to_string())
                .bind(c.environment.as_str())
                .bind(&c.user_id)
                .bind(&c.label)
                .bind(&c.kind)
                .bind(&c.public_value)
                .bind(&c.private_sealed)
                .bind(c.default_for_type)
                .bind(&c.token_url)
                .bind(c.created_at)
                .bind(c.updated_at)
                .execute(&mut *tx)
                .await
                .map_err(|e| $crate::store::map_unique(e, &format!("a credential labelled {:?}", c.label)))?;
                tx.commit().await?;
                Ok(())
            }

            async fn update_credential(
                &self,
                c: &$crate::store::credentials::CredentialRecord,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.writer().begin().await?;
                Self::clear_default(&mut tx, c).await?;
                let done = sqlx::query(
                    "UPDATE credentials SET user_id = $1, label = $2, kind = $3, public_value = $4, private_sealed = $5, \
                     default_for_type = $6, token_url = $7, updated_at = $8 WHERE id = $9 AND account_id = $10 AND environment = $11",
                )
                .bind(&c.user_id)
                .bind(&c.label)
                .bind(&c.kind)
                .bind(&c.public_value)
                .bind(&c.private_sealed)
                .bind(c.default_for_type)
                .bind(&c.token_url)
                .bind(c.updated_at)
                .bind(c.id.to_string())
                .bind(c.account_id.to_string())
                .bind(c.environment.as_str())
                .execute(&mut *tx)
                .await
                .map_err(|e| $crate::store::map_unique(e, &format!("a credential labelled {:?}", c.label)))?;
                tx.commit().await?;
                Ok(done.rows_affected() == 1)
            }

            async fn credential(
                &self,
                scope: $crate::store::Scope,
                id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Option<$crate::store::credentials::CredentialRecord>> {
                sqlx::query_as::<_, $crate::store::credentials::CredentialRow>(&format!(
                    "SELECT {} FROM credentials WHERE id = $1 AND account_id = $2 AND environment = $3",
                    $crate::store::credentials::CREDENTIAL_COLUMNS
                ))
                .bind(id.to_string())
                .bind(scope.account_id.to_string())
                .bind(scope.environment.as_str())
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.into_record())
                .transpose()
            }

            async fn credential_by_label(
                &self,
                scope: $crate::store::Scope,
                label: &str,
            ) -> $crate::store::StoreResult<Option<$crate::store::credentials::CredentialRecord>> {
                sqlx::query_as::<_, $crate::store::credentials::CredentialRow>(&format!(
                    "SELECT {} FROM credentials WHERE label = $1 AND account_id = $2 AND environment = $3",
                    $crate::store::credentials::CREDENTIAL_COLUMNS
                ))
                .bind(label)
                .bind(scope.account_id.to_string())
                .bind(scope.environment.as_str())
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.into_record())
                .transpose()
            }

            async fn default_credential(
                &self,
                scope: $crate::store::Scope,
                kind: &str,
            ) -> $crate::store::StoreResult<Option<$crate::store::credentials::CredentialRecord>> {
                sqlx::query_as::<_, $crate::store::credentials::CredentialRow>(&format!(
                    "SELECT {} FROM credentials WHERE kind = $1 AND default_for_type AND account_id = $2 AND environment = $3",
                    $crate::store::credentials::CREDENTIAL_COLUMNS
                ))
                .bind(kind)
                .bind(scope.account_id.to_string())
                .bind(scope.environment.as_str())
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.into_record())
                .transpose()
            }

            async fn list_credentials(
                &self,
                scope: $crate::store::Scope,
            ) -> $crate::store::StoreResult<Vec<$crate::store::credentials::CredentialRecord>> {
                sqlx::query_as::<_, $crate::store::credentials::CredentialRow>(&format!(
                    "SELECT {} FROM credentials WHERE account_id = $1 AND environment = $2 ORDER BY created_at, id LIMIT 10000",
                    $crate::store::credentials::CREDENTIAL_COLUMNS
                ))
                .bind(scope.account_id.to_string())
                .bind(scope.environment.as_str())
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(|r| r.into_record())
                .collect()
            }

            async fn delete_credential(
                &self,
                scope: $crate::store::Scope,
                id: uuid::Uuid,
            ) -> $crate::store::StoreResult<bool> {
                let done = sqlx::query("DELETE FROM credentials WHERE id = $1 AND account_id = $2 AND environment = $3")
                    .bind(id.to_string())
                    .bind(scope.account_id.to_string())
                    .bind(scope.environment.as_str())
                    .execute(self.writer())
                    .await?;
                Ok(done.rows_affected() == 1)
            }
        }
    };
}
