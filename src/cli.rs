//! The command line. These commands and flags are a contract: scripts and checks rely on them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context};
use clap::{Args, Parser, Subcommand};
use serde_json::json;

use crate::clock::{parse_duration_ms, rfc3339, SystemClock};
use crate::config::{Config, Flags};
use crate::crypto::Vault;
use crate::domain::{
    Actor, ApiKey, AuditEvent, Credits, Environment, IngestToken, KeyPolicy, Permissions,
    RateLimit, SecretString,
};
use crate::service::{KeyChange, NewKey, Services};
use crate::store::{self, Store};

#[derive(Parser, Debug)]
#[command(
    name = "streamgate",
    version,
    about = "Authentication and credentials server for live-video platforms"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Settings given as flags; they override the file and the environment (see `config`).
#[derive(Args, Debug, Clone)]
pub struct Global {
    /// sqlite://PATH or postgres://USER@HOST/DB (default: an SQLite file under --data-dir).
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    /// Where the default SQLite database and the vault's master key file live
    /// (default ./streamgate-data).
    #[arg(long, global = true)]
    pub data_dir: Option<String>,
    /// Log filter, e.g. info or streamgate=debug (RUST_LOG syntax; default info).
    #[arg(long, global = true)]
    pub log: Option<String>,
    /// Vault master key file (created, mode 0600, when missing). Ignored when
    /// STREAMGATE_MASTER_KEY (base64 of 32 bytes) is set. Default: master.key beside an SQLite
    /// database, or under --data-dir.
    #[arg(long, global = true)]
    pub master_key_file: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Migrate the store, then serve HTTP. On an empty store, creates and prints a first account, admin and key.
    Serve {
        /// Address to listen on (default 127.0.0.1:8080).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Apply pending database migrations.
    Migrate,
    /// Manage accounts.
    #[command(subcommand)]
    Account(AccountCmd),
    /// Manage API keys.
    #[command(subcommand)]
    Key(KeyCmd),
    /// Manage dashboard users.
    #[command(subcommand)]
    User(UserCmd),
    /// Manage ingest tokens: what media servers present to the ingest hooks.
    #[command(subcommand)]
    IngestToken(IngestTokenCmd),
    /// Access-token signing keys.
    #[command(subcommand)]
    Token(TokenCmd),
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// The vault that encrypts stored secrets.
    #[command(subcommand)]
    Vault(VaultCmd),
    /// Tools for benchmarks and development.
    #[command(subcommand, hide = true)]
    Dev(DevCmd),
}

#[derive(Subcommand, Debug)]
pub enum VaultCmd {
    /// Add a data key and re-encrypt every stored secret with it, in batches, while servers keep
    /// serving. Interrupted, it resumes where it stopped when run again.
    Rotate {
        /// Secrets re-encrypted per batch and column.
        #[arg(long, default_value_t = 500)]
        batch: i64,
        /// How long to let running servers load the new key before re-encrypting (they follow
        /// the change log within a second).
        #[arg(long, default_value = "3s")]
        settle: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum AuditCmd {
    /// Newest first. Never shows a secret.
    List {
        /// Only this account (id or number).
        #[arg(long)]
        account: Option<String>,
        /// Only events at or after this time: RFC 3339 (2026-11-25T00:00:00Z) or a duration ago (24h).
        #[arg(long)]
        since: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum TokenCmd {
    /// Add a new Ed25519 signing key and retire the others. Tokens signed by a retired key stay
    /// valid until they expire; running servers pick the new key up within 30 s.
    RotateSigningKey {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserCmd {
    /// Create a dashboard user. The password is read from STREAMGATE_USER_PASSWORD, or one is
    /// generated and printed once.
    Create {
        #[arg(long)]
        account: String,
        /// The new user's password (from the environment only: a flag would show in `ps`).
        #[arg(long = "password-from-env", env = "STREAMGATE_USER_PASSWORD", hide = true, value_parser = secret)]
        password: Option<SecretString>,
        #[arg(long)]
        username: String,
        /// admin (also manages users) or member (its account only).
        #[arg(long, default_value = "member")]
        role: String,
        #[arg(long)]
        json: bool,
    },
    /// List dashboard users (never their password hashes).
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum IngestTokenCmd {
    /// Create an ingest token for one media server. Its secret is printed once and never again.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// List ingest tokens (never their secrets).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke an ingest token; every running server refuses it within a second.
    Revoke {
        id: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum AccountCmd {
    /// Create an account; prints its id and number.
    Create {
        #[arg(long)]
        name: String,
        /// Edgecast-style account number (hex, e.g. 0001); the next free one if omitted.
        #[arg(long)]
        number: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List accounts.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeyCmd {
    /// Create an API key. Its secret is printed once and never again.
    Create {
        /// Account id or number.
        #[arg(long)]
        account: String,
        #[arg(long)]
        name: String,
        #[arg(long = "env", default_value = "production", value_parser = ["sandbox", "production"])]
        environment: String,
        /// Allow browser use from this origin (scheme://host[:port], or *). Repeatable.
        #[arg(long = "cors-origin")]
        cors_origins: Vec<String>,
        /// Let a CORS key call every route, not just the allowlist.
        #[arg(long)]
        full_access: bool,
        /// Lifetime such as 90s, 15m, 12h, 30d.
        #[arg(long)]
        expires_in: Option<String>,
        /// A permission (resource:action, resource:* or *). Repeatable; none: the preset of the
        /// key's CORS settings.
        #[arg(long = "permission")]
        permissions: Vec<String>,
        /// The key's own rate limit, LIMIT/DURATION such as 100/60s.
        #[arg(long)]
        ratelimit: Option<String>,
        /// Requests the key may make before it is refused (each spends one).
        #[arg(long)]
        credits: Option<i64>,
        /// Restore the credits on a schedule: daily:N or monthly:N.
        #[arg(long)]
        refill: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Change a key: every running server honours the change within a second.
    Update {
        id: String,
        #[arg(long)]
        name: Option<String>,
        /// Replaces the key's permissions. Repeatable.
        #[arg(long = "permission")]
        permissions: Vec<String>,
        /// Back to the preset of the key's CORS settings.
        #[arg(long, conflicts_with = "permissions")]
        clear_permissions: bool,
        /// LIMIT/DURATION, such as 100/60s.
        #[arg(long)]
        ratelimit: Option<String>,
        /// Back to the server's default limit.
        #[arg(long, conflicts_with = "ratelimit")]
        clear_ratelimit: bool,
        #[arg(long)]
        credits: Option<i64>,
        /// daily:N or monthly:N (with --credits).
        #[arg(long, requires = "credits")]
        refill: Option<String>,
        /// Unlimited requests.
        #[arg(long, conflicts_with = "credits")]
        clear_credits: bool,
        /// A new lifetime from now, such as 30d.
        #[arg(long)]
        expires_in: Option<String>,
        /// Never expires.
        #[arg(long, conflicts_with = "expires_in")]
        no_expiry: bool,
        #[arg(long)]
        json: bool,
    },
    /// A new key with the same settings; the old one keeps working for --grace (0s: revoked now).
    Reroll {
        id: String,
        #[arg(long, default_value = "0s")]
        grace: String,
        #[arg(long)]
        json: bool,
    },
    /// List an account's keys (never their secrets).
    List {
        #[arg(long)]
        account: String,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key; every running server refuses it within a second.
    Revoke {
        id: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum DevCmd {
    /// Insert COUNT random API keys (hashes only) into an account, for benchmarks.
    SeedKeys {
        #[arg(long)]
        account: String,
        #[arg(long)]
        count: usize,
        /// Also write each seeded key's secret to this file (one per line, mode 0600), for a
        /// benchmark that must present them all.
        #[arg(long)]
        secrets_file: Option<PathBuf>,
    },
    /// Insert COUNT generated streams (keys sealed by the vault) into an account's production
    /// environment, for benchmarks. Run it while no server is serving the database: it writes
    /// no change-log entries.
    SeedStreams {
        #[arg(long)]
        account: String,
        #[arg(long)]
        count: usize,
    },
}

fn secret(s: &str) -> Result<SecretString, String> {
    Ok(SecretString::new(s.to_string()))
}

impl Cli {
    /// The settings given as flags, for `Config::load`.
    pub fn flags(&self) -> Flags {
        let g = &self.global;
        let mut out: Flags = Vec::new();
        let mut put = |env: &'static str, v: &Option<String>| {
            if let Some(v) = v {
                out.push((env, v.clone()));
            }
        };
        put("STREAMGATE_DATABASE_URL", &g.database_url);
        put("STREAMGATE_DATA_DIR", &g.data_dir);
        put("STREAMGATE_LOG", &g.log);
        put("STREAMGATE_MASTER_KEY_FILE", &g.master_key_file);
        if let Command::Serve { listen } = &self.command {
            put("STREAMGATE_LISTEN", listen);
        }
        out
    }
}

pub fn init_logging(filter: &str) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

async fn open(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let url = config.database_url()?;
    let store = store::connect(&url)
        .await
        .with_context(|| format!("cannot open the store at {}", redact_url(&url)))?;
    store.migrate().await.context("migration failed")?;
    restrict_sqlite_files(&url)?;
    Ok(store)
}

/// An SQLite database and its journal files are the owner's only (0600): they hold key hashes,
/// sealed secrets and the audit log.
fn restrict_sqlite_files(url: &str) -> anyhow::Result<()> {
    let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        return Ok(());
    };
    let path = path.split('?').next().unwrap_or(path);
    #[cfg(unix)]
    for suffix in ["", "-wal", "-shm"] {
        use std::os::unix::fs::PermissionsExt;
        let file = PathBuf::from(format!("{path}{suffix}"));
        if file.exists() {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                .with_context(|| format!("cannot restrict {}", file.display()))?;
        }
    }
    Ok(())
}

/// The master key, from the environment or the key file. The file is created only for a store
/// that holds no encrypted data yet: for one that does, a missing key is an error.
async fn open_vault(config: &Config, store: &dyn Store) -> anyhow::Result<Vault> {
    let fresh = store.vault_keys().await?.is_empty();
    let file = match (&config.master_key_file, &config.database_url) {
        (Some(f), _) => f.clone(),
        // Beside an SQLite database; under the data dir for PostgreSQL.
        (None, Some(url)) if url.starts_with("sqlite:") => {
            let path = url
                .trim_start_matches("sqlite://")
                .trim_start_matches("sqlite:");
            let path = path.split('?').next().unwrap_or(path);
            Path::new(path)
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map_or_else(|| PathBuf::from("master.key"), |p| p.join("master.key"))
        }
        _ => config.data_dir.join("master.key"),
    };
    let env_key = config.master_key.as_ref().map(SecretString::expose);
    let (vault, created) = Vault::load(env_key, &file, fresh)
        .with_context(|| format!("cannot open the vault master key ({})", file.display()))?;
    if created {
        eprintln!(
            "streamgate: created a new vault master key at {} (mode 0600). Back it up: \
             stream keys and stored credentials cannot be decrypted without it.",
            file.display()
        );
    } else {
        match &env_key {
            Some(_) => tracing::info!("vault master key from STREAMGATE_MASTER_KEY"),
            None => tracing::info!(file = %file.display(), "vault master key from its file"),
        }
    }
    Ok(vault)
}

/// Hides a password in a database URL before it is printed.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:[redacted]{}", &url[..s + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// The operator at the command line: the only caller the binary makes itself. It acts on the
/// account a command names (`in_account`) and on any key by id.
fn operator() -> Actor {
    Actor::operator(uuid::Uuid::nil(), Environment::Production)
}

pub async fn run(cli: Cli, config: Config) -> anyhow::Result<()> {
    let store = open(&config).await?;
    let vault = open_vault(&config, store.as_ref()).await?;
    let svc = Services::new(
        store,
        Arc::new(SystemClock),
        Arc::new(vault),
        &config.service,
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    svc.init_vault()
        .await
        .context("the vault master key does not match this store")?;
    match cli.command {
        Command::Serve { .. } => serve(svc, &config).await,
        Command::Migrate => {
            println!("migrations applied ({})", svc.store_backend());
            Ok(())
        }
        Command::Account(cmd) => account(&svc, cmd).await,
        Command::Key(cmd) => key(&svc, cmd).await,
        Command::User(cmd) => user(&svc, cmd).await,
        Command::IngestToken(cmd) => ingest_token(&svc, cmd).await,
        Command::Vault(VaultCmd::Rotate { batch, settle }) => {
            vault_rotate(&svc, batch, &settle).await
        }
        Command::Audit(AuditCmd::List {
            account,
            since,
            limit,
            json,
        }) => audit_list(&svc, account, since, limit, json).await,
        Command::Token(TokenCmd::RotateSigningKey { json }) => {
            let kid = svc.rotate_signing_key(&operator()).await?;
            if json {
                println!("{}", json!({ "kid": kid }));
            } else {
                println!("new signing key {kid}; older keys retired (they verify until their tokens expire)");
            }
            Ok(())
        }
        Command::Dev(DevCmd::SeedKeys {
            account,
            count,
            secrets_file,
        }) => seed_keys(&svc, &account, count, secrets_file.as_deref()).await,
        Command::Dev(DevCmd::SeedStreams { account, count }) => {
            if count == 0 {
                bail!("--count must be positive");
            }
            let account = svc.resolve_account(&account).await?;
            let mut done = 0;
            while done < count {
                let n = (count - done).min(20_000);
                svc.seed_streams(&operator(), account.id, Environment::Production, done, n)
                    .await?;
                done += n;
                eprintln!("seeded {done}/{count} streams");
            }
            Ok(())
        }
    }
}

async fn serve(svc: Arc<Services>, config: &Config) -> anyhow::Result<()> {
    let listen: SocketAddr = config.listen;
    match svc.fail_stalled_imports().await {
        Ok(0) => {}
        Ok(n) => tracing::warn!(failed = n, "imports interrupted by a restart were failed"),
        Err(e) => tracing::warn!(error = %e, "could not check for interrupted imports"),
    }
    if let Some(b) = svc.bootstrap_if_empty(&operator()).await? {
        // Printed to stdout once, on purpose: the operator needs these to get started.
        println!("streamgate: the store was empty, so it now has:");
        println!(
            "  account      {} (number {}, id {})",
            b.account.name, b.account.number, b.account.id
        );
        println!(
            "  admin user   {}  password {}",
            b.username,
            b.password.expose()
        );
        println!(
            "  API key      {} (production, id {})",
            b.key.secret.expose(),
            b.key.key.id
        );
        println!(
            "  ingest token {} (id {}): add ?token=<it> to your media server's hook URLs",
            b.ingest_token.secret.expose(),
            b.ingest_token.token.id
        );
        println!("  These secrets are shown only now. Keep them somewhere safe.");
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    println!(
        "streamgate listening on http://{addr} ({} store)",
        svc.store_backend()
    );
    tracing::info!(%addr, store = svc.store_backend(), "serving");
    let state = crate::http::AppState::new(svc, config.http.clone());
    crate::server::run(listener, state, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

async fn vault_rotate(svc: &Services, batch: i64, settle: &str) -> anyhow::Result<()> {
    let settle_ms = parse_duration_ms(settle)
        .ok_or_else(|| anyhow!("--settle takes a duration such as 3s (got {settle:?})"))?;
    let batch = batch.clamp(1, 10_000);
    let stale = svc.count_stale_secrets(&operator()).await?;
    if stale > 0 && svc.vault.current() > 1 {
        eprintln!(
            "resuming the rotation to data key {}: {stale} secrets left",
            svc.vault.current()
        );
    } else {
        let n = svc.add_vault_key(&operator()).await?;
        eprintln!("added data key {n}; letting running servers load it ({settle})");
        tokio::time::sleep(std::time::Duration::from_millis(settle_ms.max(0) as u64)).await;
    }
    let total = svc.count_stale_secrets(&operator()).await?;
    let bar = indicatif::ProgressBar::new(total.max(0) as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} re-encrypting [{bar:40}] {pos}/{len} secrets ({eta} left)",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut done = 0u64;
    loop {
        let n = svc.reseal_batch(&operator(), batch).await?;
        if n == 0 {
            break;
        }
        done += n;
        bar.inc(n);
    }
    done += svc.reseal_restreams(&operator(), batch).await?;
    bar.finish_and_clear();
    svc.audit_as(
        &operator(),
        None,
        "vault.rotate",
        format!("vault_key:{}", svc.vault.current()),
    )
    .await;
    println!(
        "vault rotated to data key {}: {done} secrets re-encrypted",
        svc.vault.current()
    );
    Ok(())
}

async fn audit_list(
    svc: &Services,
    account: Option<String>,
    since: Option<String>,
    limit: i64,
    json: bool,
) -> anyhow::Result<()> {
    let account = match account {
        Some(a) => Some(svc.resolve_account(&a).await?.id),
        None => None,
    };
    let since_ms = match since.as_deref() {
        None => 0,
        Some(s) => crate::clock::parse_rfc3339_ms(s)
            .or_else(|| parse_duration_ms(s).map(|ago| svc.now_ms() - ago))
            .ok_or_else(|| {
                anyhow!("--since takes an RFC 3339 time or a duration such as 24h (got {s:?})")
            })?,
    };
    let events = svc
        .query_audit(&operator(), account, since_ms, limit)
        .await?;
    if json {
        let list: Vec<_> = events.iter().map(AuditEvent::to_json).collect();
        println!("{}", serde_json::Value::Array(list));
    } else {
        for e in &events {
            println!(
                "{}  {:<32} {:<14} {:<44} {}",
                rfc3339(e.at),
                e.action,
                e.outcome,
                e.object,
                e.actor
            );
        }
    }
    Ok(())
}

async fn user(svc: &Services, cmd: UserCmd) -> anyhow::Result<()> {
    match cmd {
        UserCmd::Create {
            account,
            password,
            username,
            role,
            json,
        } => {
            let role = crate::domain::Role::parse(&role)
                .ok_or_else(|| anyhow!("--role must be admin or member (got {role:?})"))?;
            let account = svc.resolve_account(&account).await?;
            let (password, generated) = match password {
                Some(p) if !p.expose().is_empty() => (p, false),
                _ => (SecretString::new(crate::domain::random_base62(20)), true),
            };
            let u = svc
                .create_user(&operator(), account.id, &username, &password, role)
                .await?;
            let shown = generated.then(|| password.expose().to_string());
            if json {
                println!(
                    "{}",
                    json!({"id": u.id, "username": u.username, "accountId": u.account_id, "role": u.role.as_str(), "password": shown})
                );
            } else {
                println!(
                    "created {} user {} in account {} ({})",
                    u.role.as_str(),
                    u.username,
                    account.name,
                    account.number
                );
                if let Some(p) = shown {
                    println!("password: {p}\n(shown only now)");
                }
            }
        }
        UserCmd::List { json } => {
            let users = svc.list_all_users(&operator()).await?;
            if json {
                let list: Vec<_> = users
                    .iter()
                    .map(|u| json!({"id": u.id, "username": u.username, "accountId": u.account_id, "role": u.role.as_str(), "createdAt": rfc3339(u.created_at)}))
                    .collect();
                println!("{}", serde_json::Value::Array(list));
            } else {
                println!("{:<24}  {:<8}  ACCOUNT", "USER", "ROLE");
                for u in users {
                    println!(
                        "{:<24}  {:<8}  {}",
                        u.username,
                        u.role.as_str(),
                        u.account_id
                    );
                }
            }
        }
    }
    Ok(())
}

fn ingest_token_json(t: &IngestToken) -> serde_json::Value {
    json!({
        "id": t.id,
        "name": t.name,
        "createdAt": rfc3339(t.created_at),
        "lastUsedAt": t.last_used_at.map(rfc3339),
        "revokedAt": t.revoked_at.map(rfc3339),
    })
}

async fn ingest_token(svc: &Services, cmd: IngestTokenCmd) -> anyhow::Result<()> {
    match cmd {
        IngestTokenCmd::Create { name, json } => {
            let created = svc.create_ingest_token(&operator(), &name).await?;
            if json {
                let mut v = ingest_token_json(&created.token);
                v["token"] = json!(created.secret.expose());
                println!("{v}");
            } else {
                println!(
                    "created ingest token {} (id {})",
                    created.token.name, created.token.id
                );
                println!("token (shown only now): {}", created.secret.expose());
            }
        }
        IngestTokenCmd::List { json } => {
            let tokens = svc.list_ingest_tokens(&operator()).await?;
            if json {
                println!(
                    "{}",
                    serde_json::Value::Array(tokens.iter().map(ingest_token_json).collect())
                );
            } else {
                println!(
                    "{:<36}  {:<8}  {:<20}  {:<20}  NAME",
                    "ID", "STATUS", "CREATED", "LAST USED"
                );
                for t in tokens {
                    println!(
                        "{:<36}  {:<8}  {:<20}  {:<20}  {}",
                        t.id,
                        if t.revoked_at.is_some() {
                            "revoked"
                        } else {
                            "active"
                        },
                        rfc3339(t.created_at),
                        t.last_used_at.map_or_else(|| "never".into(), rfc3339),
                        t.name
                    );
                }
            }
        }
        IngestTokenCmd::Revoke { id, json } => {
            let id = parse_id("ingest token", &id)?;
            let t = svc.revoke_ingest_token(&operator(), id).await?;
            if json {
                println!("{}", ingest_token_json(&t));
            } else {
                println!("revoked ingest token {} ({})", t.id, t.name);
            }
        }
    }
    Ok(())
}

async fn account(svc: &Services, cmd: AccountCmd) -> anyhow::Result<()> {
    match cmd {
        AccountCmd::Create { name, number, json } => {
            let a = svc
                .create_account(&operator(), &name, number.as_deref())
                .await?;
            if json {
                println!(
                    "{}",
                    json!({"id": a.id, "number": a.number, "name": a.name})
                );
            } else {
                println!(
                    "created account {} (number {}, id {})",
                    a.name, a.number, a.id
                );
            }
        }
        AccountCmd::List { json } => {
            let accounts = svc.list_accounts(&operator()).await?;
            if json {
                let list: Vec<_> = accounts
                    .iter()
                    .map(|a| json!({"id": a.id, "number": a.number, "name": a.name, "createdAt": rfc3339(a.created_at)}))
                    .collect();
                println!("{}", serde_json::Value::Array(list));
            } else {
                println!("{:<8}  {:<36}  NAME", "NUMBER", "ID");
                for a in accounts {
                    println!("{:<8}  {:<36}  {}", a.number, a.id, a.name);
                }
            }
        }
    }
    Ok(())
}

/// An object id given on the command line: `what id must be a UUID` otherwise.
fn parse_id(what: &str, id: &str) -> anyhow::Result<uuid::Uuid> {
    uuid::Uuid::parse_str(id).map_err(|_| anyhow!("{what} id must be a UUID, got {id:?}"))
}

/// The operator acting in the account of key `id`, and the id.
async fn key_operator(svc: &Services, id: &str) -> anyhow::Result<(Actor, uuid::Uuid)> {
    let id = parse_id("key", id)?;
    let key = svc.get_key(&operator(), id).await?;
    Ok((operator().in_account(key.account_id), id))
}

/// `100/60s`: a limit per duration.
fn parse_ratelimit(s: &str) -> anyhow::Result<RateLimit> {
    let bad = || anyhow!("--ratelimit must be LIMIT/DURATION, such as 100/60s (got {s:?})");
    let (limit, duration) = s.split_once('/').ok_or_else(bad)?;
    let limit: i64 = limit.trim().parse().map_err(|_| bad())?;
    let ms = parse_duration_ms(duration).ok_or_else(bad)?;
    Ok(RateLimit::new(limit, (ms / 1000).max(1))?)
}

/// `--credits N [--refill daily:M]`.
fn parse_credits(n: i64, refill: Option<&str>, now: i64) -> anyhow::Result<Credits> {
    let refill = match refill {
        Some(r) => {
            let bad = || anyhow!("--refill must be daily:N or monthly:N (got {r:?})");
            let (interval, amount) = r.split_once(':').ok_or_else(bad)?;
            Some((interval, amount.trim().parse().map_err(|_| bad())?))
        }
        None => None,
    };
    Ok(Credits::new(n, refill, now)?)
}

fn key_json(k: &ApiKey) -> serde_json::Value {
    json!({
        "id": k.id,
        "accountId": k.account_id,
        "name": k.name,
        "environment": k.environment,
        "prefix": k.prefix,
        "cors": {"allowedOrigins": k.cors.allowed_origins, "fullAccess": k.cors.full_access},
        "permissions": k.policy.effective(&k.cors).to_strings(),
        "ratelimit": k.policy.ratelimit.map(RateLimit::to_json),
        "credits": k.policy.credits.map(Credits::to_json),
        "createdAt": rfc3339(k.created_at),
        "lastUsedAt": k.last_used_at.map(rfc3339),
        "expiresAt": k.expires_at.map(rfc3339),
        "revokedAt": k.revoked_at.map(rfc3339),
    })
}

fn key_status(k: &ApiKey, now: i64) -> &'static str {
    match k.status(now) {
        crate::domain::VerifyCode::Revoked => "revoked",
        crate::domain::VerifyCode::Expired => "expired",
        _ => "active",
    }
}

async fn key(svc: &Services, cmd: KeyCmd) -> anyhow::Result<()> {
    match cmd {
        KeyCmd::Create {
            account,
            name,
            environment,
            cors_origins,
            full_access,
            expires_in,
            permissions,
            ratelimit,
            credits,
            refill,
            json,
        } => {
            let policy = KeyPolicy {
                permissions: (!permissions.is_empty())
                    .then(|| Permissions::parse(&permissions))
                    .transpose()?,
                ratelimit: ratelimit.as_deref().map(parse_ratelimit).transpose()?,
                credits: credits
                    .map(|n| parse_credits(n, refill.as_deref(), svc.now_ms()))
                    .transpose()?,
                meta: None,
            };
            let account = svc.resolve_account(&account).await?;
            let expires_in_ms = match expires_in {
                Some(s) => Some(parse_duration_ms(&s).ok_or_else(|| {
                    anyhow!("--expires-in must be a positive number followed by s, m, h, d or w (like 30d), got {s:?}")
                })?),
                None => None,
            };
            let created = svc
                .create_key(
                    &operator().in_account(account.id),
                    NewKey {
                        name,
                        environment: Environment::parse(&environment)?,
                        allowed_origins: cors_origins,
                        full_access,
                        expires_in_ms,
                        policy,
                    },
                )
                .await?;
            if json {
                let mut v = key_json(&created.key);
                v["key"] = json!(created.secret.expose());
                println!("{v}");
            } else {
                println!(
                    "created API key {} ({}, id {})",
                    created.key.name, created.key.environment, created.key.id
                );
                println!("secret (shown only now): {}", created.secret.expose());
            }
        }
        KeyCmd::Update {
            id,
            name,
            permissions,
            clear_permissions,
            ratelimit,
            clear_ratelimit,
            credits,
            refill,
            clear_credits,
            expires_in,
            no_expiry,
            json,
        } => {
            let (op, id) = key_operator(svc, &id).await?;
            let now = svc.now_ms();
            let change = KeyChange {
                name,
                permissions: if clear_permissions {
                    Some(None)
                } else {
                    (!permissions.is_empty()).then_some(Some(permissions))
                },
                cors: None,
                expires_at: if no_expiry {
                    Some(None)
                } else {
                    expires_in
                        .map(|s| {
                            parse_duration_ms(&s)
                                .map(|ms| Some(now + ms))
                                .ok_or_else(|| {
                                    anyhow!("--expires-in must look like 30d (got {s:?})")
                                })
                        })
                        .transpose()?
                },
                ratelimit: if clear_ratelimit {
                    Some(None)
                } else {
                    ratelimit
                        .as_deref()
                        .map(parse_ratelimit)
                        .transpose()?
                        .map(Some)
                },
                credits: if clear_credits {
                    Some(None)
                } else {
                    credits
                        .map(|n| parse_credits(n, refill.as_deref(), now))
                        .transpose()?
                        .map(Some)
                },
                meta: None,
            };
            let k = svc.update_key(&op, id, change).await?;
            if json {
                println!("{}", key_json(&k));
            } else {
                println!("updated API key {} ({})", k.id, k.name);
            }
        }
        KeyCmd::Reroll { id, grace, json } => {
            let grace_ms = match grace.trim() {
                "0" | "0s" => 0,
                g => parse_duration_ms(g)
                    .ok_or_else(|| anyhow!("--grace must look like 60s, 10m or 0s (got {g:?})"))?,
            };
            let (op, id) = key_operator(svc, &id).await?;
            let created = svc.reroll_key(&op, id, grace_ms).await?;
            if json {
                let mut v = key_json(&created.key);
                v["key"] = json!(created.secret.expose());
                println!("{v}");
            } else {
                println!(
                    "new API key {} (id {}); the old one {}",
                    created.key.name,
                    created.key.id,
                    if grace_ms == 0 {
                        "is revoked".to_string()
                    } else {
                        format!("works for {grace} more")
                    }
                );
                println!("secret (shown only now): {}", created.secret.expose());
            }
        }
        KeyCmd::List { account, json } => {
            let account = svc.resolve_account(&account).await?;
            let keys = svc
                .list_keys(&operator().in_account(account.id), true)
                .await?;
            if json {
                println!(
                    "{}",
                    serde_json::Value::Array(keys.iter().map(key_json).collect())
                );
            } else {
                let now = svc.now_ms();
                println!(
                    "{:<36}  {:<10}  {:<24}  {:<8}  NAME",
                    "ID", "ENV", "PREFIX", "STATUS"
                );
                for k in keys {
                    println!(
                        "{:<36}  {:<10}  {:<24}  {:<8}  {}",
                        k.id,
                        k.environment,
                        k.prefix,
                        key_status(&k, now),
                        k.name
                    );
                }
            }
        }
        KeyCmd::Revoke { id, json } => {
            let id = parse_id("key", &id)?;
            let k = svc.revoke_key(&operator(), id).await?;
            if json {
                println!("{}", key_json(&k));
            } else {
                println!("revoked API key {} ({})", k.id, k.name);
            }
        }
    }
    Ok(())
}

async fn seed_keys(
    svc: &Services,
    account: &str,
    count: usize,
    secrets_file: Option<&Path>,
) -> anyhow::Result<()> {
    use crate::crypto::KeySecret;
    use std::io::Write;
    let account = svc.resolve_account(account).await?;
    if count == 0 {
        bail!("--count must be positive");
    }
    let mut secrets = match secrets_file {
        Some(p) => {
            use std::os::unix::fs::OpenOptionsExt;
            let f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(p)
                .with_context(|| format!("cannot write {}", p.display()))?;
            Some(std::io::BufWriter::new(f))
        }
        None => None,
    };
    let now = svc.now_ms();
    let mut done = 0;
    while done < count {
        let n = (count - done).min(20_000);
        let batch: Vec<(ApiKey, [u8; 32])> = (0..n)
            .map(|i| {
                let g = KeySecret::generate(Environment::Production);
                let k = ApiKey {
                    id: uuid::Uuid::now_v7(),
                    account_id: account.id,
                    name: format!("seed-{}", done + i),
                    environment: Environment::Production,
                    prefix: g.prefix.clone(),
                    cors: Default::default(),
                    created_at: now,
                    last_used_at: None,
                    expires_at: None,
                    revoked_at: None,
                    policy: Default::default(),
                };
                if let Some(out) = secrets.as_mut() {
                    // Written as they are made; a failed write is reported after the batch.
                    let _ = writeln!(out, "{}", g.secret.expose());
                }
                (k, g.hash)
            })
            .collect();
        if let Some(out) = secrets.as_mut() {
            out.flush().context("cannot write the secrets file")?;
        }
        svc.seed_keys(&operator(), &batch).await?;
        done += n;
        eprintln!("seeded {done}/{count} keys");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://u:pw@h/db"),
            "postgres://u:[redacted]@h/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("sqlite://./x.db"), "sqlite://./x.db");
    }

    #[test]
    fn cli_parses_the_contract() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
        let c = Cli::try_parse_from([
            "streamgate",
            "key",
            "create",
            "--account",
            "0001",
            "--name",
            "n",
            "--env",
            "sandbox",
            "--cors-origin",
            "*",
            "--cors-origin",
            "http://a:1",
            "--full-access",
            "--expires-in",
            "30d",
            "--json",
            "--database-url",
            "sqlite://x.db",
        ])
        .unwrap();
        assert_eq!(c.global.database_url.as_deref(), Some("sqlite://x.db"));
        assert!(matches!(
            c.command,
            Command::Key(KeyCmd::Create {
                full_access: true,
                ..
            })
        ));
    }
}
