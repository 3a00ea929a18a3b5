use uuid::Uuid;

use super::{CreatedKey, NewKey, Services};
use crate::crypto::{password, random_base62, SecretString};
use crate::domain::account::validate_name;
use crate::domain::{Account, AccountNumber, Environment, Error, Role, User};

/// The argon2id hash of a new dashboard password, which must be 12 characters or more. Hashing
/// takes tens of milliseconds of CPU, so it runs off the async threads.
pub(crate) async fn hash_new_password(password: &SecretString) -> Result<String, Error> {
    if password.expose().chars().count() < 12 {
        return Err(Error::Invalid(
            "password must be at least 12 characters".into(),
        ));
    }
    let pw = password.clone();
    tokio::task::spawn_blocking(move || password::hash_password(pw.expose()))
        .await
        .map_err(|e| Error::Internal(format!("password hashing: {e}")))?
}

/// Does `password` match the argon2id PHC string? Checked off the async threads.
pub(crate) async fn password_matches(password: &SecretString, phc: String) -> bool {
    let pw = password.clone();
    tokio::task::spawn_blocking(move || password::verify_password(pw.expose(), &phc))
        .await
        .unwrap_or(false)
}

/// What `serve` creates on an empty store, printed once.
#[derive(Debug)]
pub struct Bootstrap {
    pub account: Account,
    pub username: String,
    pub password: SecretString,
    pub key: CreatedKey,
}

impl Services {
    pub async fn create_account(&self, name: &str, number: Option<&str>) -> Result<Account, Error> {
        let name = validate_name("account", name)?;
        let explicit = number.map(AccountNumber::parse).transpose()?;
        // Without an explicit number, take the next free one; retry if another writer took it.
        for attempt in 0..8 {
            let number = match &explicit {
                Some(n) => n.clone(),
                None => {
                    let taken = self.store.count_accounts().await?;
                    AccountNumber::nth((taken + 1 + attempt) as u32)
                }
            };
            let account = Account {
                id: Uuid::now_v7(),
                name: name.clone(),
                number,
                created_at: self.now_ms(),
            };
            match self.store.insert_account(&account).await {
                Ok(()) => return Ok(account),
                Err(crate::store::StoreError::Conflict(_)) if explicit.is_none() => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Conflict(
            "could not find a free account number".into(),
        ))
    }

    /// Finds an account by its id or its number.
    pub async fn resolve_account(&self, reference: &str) -> Result<Account, Error> {
        let found = match Uuid::parse_str(reference) {
            Ok(id) => self.store.account_by_id(id).await?,
            Err(_) => match AccountNumber::parse(reference) {
                Ok(n) => self.store.account_by_number(n.as_str()).await?,
                Err(_) => None,
            },
        };
        found.ok_or(Error::NotFound("account"))
    }

    pub async fn create_user(
        &self,
        account_id: Uuid,
        username: &str,
        password: &SecretString,
        role: Role,
    ) -> Result<User, Error> {
        let username = validate_name("user", username)?;
        let user = User {
            id: Uuid::now_v7(),
            account_id,
            username,
            password_hash: hash_new_password(password).await?,
            role,
            created_at: self.now_ms(),
        };
        self.store.insert_user(&user).await?;
        Ok(user)
    }

    /// On an empty store: a default account, an admin user and one production key.
    pub async fn bootstrap_if_empty(&self) -> Result<Option<Bootstrap>, Error> {
        if self.store.count_accounts().await? > 0 {
            return Ok(None);
        }
        let account = match self.create_account("default", Some("0001")).await {
            Ok(a) => a,
            // Another instance bootstrapped the same store at the same moment.
            Err(Error::Conflict(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let password = SecretString::new(random_base62(20));
        let user = self
            .create_user(account.id, "admin", &password, Role::Admin)
            .await?;
        let key = self
            .create_key(NewKey {
                account_id: account.id,
                name: "bootstrap".into(),
                environment: Environment::Production,
                allowed_origins: vec![],
                full_access: false,
                expires_in_ms: None,
            })
            .await?;
        Ok(Some(Bootstrap {
            account,
            username: user.username,
            password,
            key,
        }))
    }
}
