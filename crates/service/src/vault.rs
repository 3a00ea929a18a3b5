//! The vault's life in the store: the canary that proves the master key at start-up, the keyring
//! of data keys, and rotation (`vault rotate`): add a data key, then re-seal every stored secret
//! with it in batches. Re-sealing is idempotent — a value already on the current key is skipped —
//! so an interrupted rotation resumes by running it again; servers keep serving throughout,
//! because every key stays in the ring and each value names the key that sealed it.

use serde_json::Value;

use super::Services;
use crypto::vault::VaultError;
use crypto::Aad;
use domain::{Actor, Error};
use store::vault::SEALED_COLUMNS;

fn vault_err(e: VaultError) -> Error {
    Error::Internal(e.to_string())
}

impl Services {
    /// Checks the master key against the store's canary (writing it on a fresh store), then loads
    /// the keyring. A wrong master key is an error: nothing is written with it. Then seals what
    /// an older version kept in clear (upload tokens, see `seal_plain_upload_tokens`).
    pub async fn init_vault(&self) -> Result<(), Error> {
        let keys = self.store.vault_keys().await?;
        match keys.iter().find(|(n, _)| *n == 1) {
            Some((_, canary)) => self.vault.check_canary(canary).map_err(vault_err)?,
            None => {
                let canary = self.vault.canary();
                match self.store.insert_vault_key(1, &canary, self.now_ms()).await {
                    Ok(()) => {}
                    // Another process initialised it first: check against theirs.
                    Err(store::StoreError::Conflict(_)) => {
                        let keys = self.store.vault_keys().await?;
                        let theirs = keys.iter().find(|(n, _)| *n == 1).map(|k| k.1.as_str());
                        self.vault
                            .check_canary(theirs.unwrap_or(""))
                            .map_err(vault_err)?;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
        self.load_keyring().await?;
        // Secrets an older version kept in clear are sealed before anything is served.
        self.seal_plain_upload_tokens().await?;
        Ok(())
    }

    /// Adds every data key of the store to the ring; the newest seals from now on.
    pub async fn load_keyring(&self) -> Result<(), Error> {
        for (n, wrapped) in self.store.vault_keys().await? {
            if n < 2 {
                continue;
            }
            let n = u32::try_from(n).map_err(|_| Error::Internal(format!("vault key {n}")))?;
            let raw = self.vault.unwrap_data_key(n, &wrapped).map_err(vault_err)?;
            self.vault.add_key(n, &raw).map_err(vault_err)?;
            self.vault.set_current(n);
        }
        Ok(())
    }

    /// Adds a new data key to the store's keyring and seals with it from now on. Returns its number.
    pub async fn add_vault_key(&self, actor: &Actor) -> Result<u32, Error> {
        crate::accounts::require_operator(actor)?;
        self.load_keyring().await?;
        let n = self.vault.numbers().into_iter().max().unwrap_or(1) + 1;
        let (raw, wrapped) = self.vault.new_data_key(n);
        self.store
            .insert_vault_key(i64::from(n), &wrapped, self.now_ms())
            .await?;
        self.vault.add_key(n, &raw).map_err(vault_err)?;
        self.vault.set_current(n);
        self.audit_as(actor, None, "vault.key_add", format!("vault_key:{n}"))
            .await;
        Ok(n)
    }

    /// Secrets not yet sealed with the current key.
    pub async fn count_stale_secrets(&self, actor: &Actor) -> Result<i64, Error> {
        crate::accounts::require_operator(actor)?;
        let current = self.vault.current();
        let mut total = 0;
        for col in SEALED_COLUMNS {
            total += self.store.count_stale(col, current).await?;
        }
        Ok(total)
    }

    /// Re-seals up to `batch` values of each sealed column with the current key; returns how many
    /// it re-sealed (0: the rotation is complete, apart from restream keys, see `reseal_restreams`).
    pub async fn reseal_batch(&self, actor: &Actor, batch: i64) -> Result<u64, Error> {
        crate::accounts::require_operator(actor)?;
        let current = self.vault.current();
        let mut done = 0;
        for col in SEALED_COLUMNS {
            for (id, old) in self.store.stale_sealed(col, current, batch).await? {
                let aad = Aad {
                    table: col.aad_table,
                    id: &id,
                    field: col.aad_field,
                };
                let plain = self.vault.open(&aad, &old).map_err(vault_err)?;
                let new = self.vault.seal(&aad, plain.expose());
                if self.store.replace_sealed(col, &id, &old, &new).await? {
                    done += 1;
                }
            }
        }
        Ok(done)
    }

    /// Re-seals the restream keys kept inside streams' settings. Returns how many it re-sealed.
    pub async fn reseal_restreams(&self, actor: &Actor, batch: i64) -> Result<u64, Error> {
        crate::accounts::require_operator(actor)?;
        let mut after = String::new();
        let mut done = 0;
        loop {
            let rows = self.store.streams_with_restreams(&after, batch).await?;
            let Some(last) = rows.last().map(|r| r.0.clone()) else {
                return Ok(done);
            };
            for (id, old) in rows {
                let Ok(Value::Object(mut settings)) = serde_json::from_str::<Value>(&old) else {
                    continue;
                };
                let mut changed = false;
                if let Some(Value::Array(list)) = settings.get_mut("restreams") {
                    for r in list.iter_mut() {
                        let Some(sealed) = r.get("streamKeySealed").and_then(Value::as_str) else {
                            continue;
                        };
                        if self.vault.is_current(sealed) {
                            continue;
                        }
                        let aad = Aad {
                            table: "streams",
                            id: &id,
                            field: "restream_key",
                        };
                        let plain = self.vault.open(&aad, sealed).map_err(vault_err)?;
                        r["streamKeySealed"] = Value::String(self.vault.seal(&aad, plain.expose()));
                        changed = true;
                    }
                }
                if changed {
                    let new = Value::Object(settings).to_string();
                    if self.store.replace_settings(&id, &old, &new).await? {
                        done += 1;
                    }
                }
            }
            after = last;
        }
    }
}
