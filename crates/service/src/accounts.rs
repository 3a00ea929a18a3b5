use uuid::Uuid;

use super::{CreatedKey, NewKey, Services};
use crypto::{random_base62, SecretString};
use domain::account::validate_name;
use domain::{Account, AccountNumber, Actor, Environment, Error, Role, User};
use domain::{Action, Permission, Resource};

/// What `serve` creates on an empty store, printed once.
#[derive(Debug)]
pub struct Bootstrap {
    pub account: Account,
    pub username: String,
    pub password: SecretString,
    pub key: CreatedKey,
    /// For the first media server's hook URLs (`?token=`).
    pub ingest_token: crate::CreatedIngestToken,
}

impl Services {
    /// Creates an account (the operator only). Audited as `account.create`.
    pub async fn create_account(
        &self,
        actor: &Actor,
        name: &str,
        number: Option<&str>,
    ) -> Result<Account, Error> {
        require_operator(actor)?;
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
                Ok(()) => {
                    self.audit_as(
                        actor,
                        Some(account.id),
                        "account.create",
                        format!("account:{}", account.id),
                    )
                    .await;
                    return Ok(account);
                }
                Err(store::StoreError::Conflict(_)) if explicit.is_none() => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Conflict(
            "could not find a free account number".into(),
        ))
    }

    /// The caller's own account.
    pub async fn own_account(&self, actor: &Actor) -> Result<Account, Error> {
        actor.require(Permission(Resource::Account, Action::Read))?;
        self.store
            .account_by_id(actor.account_id())
            .await?
            .ok_or(Error::NotFound("account"))
    }

    /// Is `number` the caller's own account (Edgecast's URLs name it)? Another account's number
    /// and an unknown one read the same: false.
    pub async fn is_own_account_number(
        &self,
        actor: &Actor,
        number: &AccountNumber,
    ) -> Result<bool, Error> {
        Ok(self
            .store
            .account_by_id(actor.account_id())
            .await?
            .is_some_and(|a| a.number == *number))
    }

    /// Every account (the operator, dashboard admins).
    pub async fn list_accounts(&self, actor: &Actor) -> Result<Vec<Account>, Error> {
        require_admin(actor)?;
        Ok(self.store.list_accounts().await?)
    }

    /// Every dashboard user (the operator, dashboard admins); never their password hashes' use.
    pub async fn list_all_users(&self, actor: &Actor) -> Result<Vec<User>, Error> {
        require_admin(actor)?;
        Ok(self.store.list_users().await?)
    }

    /// Which store serves (`sqlite` or `postgres`).
    pub fn store_backend(&self) -> &'static str {
        self.store.backend()
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

    /// Creates a dashboard user (the operator, or a dashboard admin). Audited as `user.create`.
    pub async fn create_user(
        &self,
        actor: &Actor,
        account_id: Uuid,
        username: &str,
        password: &SecretString,
        role: Role,
    ) -> Result<User, Error> {
        require_admin(actor)?;
        let username = validate_name("user", username)?;
        let user = User {
            id: Uuid::now_v7(),
            account_id,
            username,
            password_hash: self.passwords.hash_new(password).await?,
            role,
            created_at: self.now_ms(),
        };
        self.store.insert_user(&user).await?;
        self.audit_as(
            actor,
            Some(account_id),
            "user.create",
            format!("user:{}", user.username),
        )
        .await;
        Ok(user)
    }

    /// On an empty store: a default account, an admin user, one production key and one ingest
    /// token.
    pub async fn bootstrap_if_empty(&self, operator: &Actor) -> Result<Option<Bootstrap>, Error> {
        require_operator(operator)?;
        if self.store.count_accounts().await? > 0 {
            return Ok(None);
        }
        let account = match self.create_account(operator, "default", Some("0001")).await {
            Ok(a) => a,
            // Another instance bootstrapped the same store at the same moment.
            Err(Error::Conflict(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let password = SecretString::new(random_base62(20));
        let user = self
            .create_user(operator, account.id, "admin", &password, Role::Admin)
            .await?;
        let in_account = operator.in_account(account.id);
        let key = self
            .create_key(
                &in_account,
                NewKey {
                    name: "bootstrap".into(),
                    environment: Environment::Production,
                    allowed_origins: vec![],
                    full_access: false,
                    expires_in_ms: None,
                    policy: Default::default(),
                },
            )
            .await?;
        let ingest_token = self.create_ingest_token(operator, "bootstrap").await?;
        Ok(Some(Bootstrap {
            account,
            username: user.username,
            password,
            key,
            ingest_token,
        }))
    }
}

/// Only the operator (the CLI, the first start's bootstrap).
pub(crate) fn require_operator(actor: &Actor) -> Result<(), Error> {
    if actor.is_operator() {
        Ok(())
    } else {
        Err(Error::Forbidden("only the operator may do this".into()))
    }
}

/// The operator or a dashboard admin.
pub(crate) fn require_admin(actor: &Actor) -> Result<(), Error> {
    match &actor.user {
        _ if actor.is_operator() => Ok(()),
        Some(u) if u.role == Role::Admin => Ok(()),
        _ => Err(Error::Forbidden("only an admin may do this".into())),
    }
}
