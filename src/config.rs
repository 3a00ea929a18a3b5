//! Configuration precedence: defaults < file (`streamgate.toml`) < environment `STREAMGATE_*` < flags.
//!
//! The file is read before the command line is parsed and each of its settings becomes the value
//! of the matching environment variable *unless that variable is already set*; clap then applies
//! environment over defaults and flags over both. One mechanism, so the order cannot drift.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// File keys and the environment variables they stand for.
pub const SETTINGS: &[(&str, &str)] = &[
    ("database_url", "STREAMGATE_DATABASE_URL"),
    ("data_dir", "STREAMGATE_DATA_DIR"),
    ("listen", "STREAMGATE_LISTEN"),
    ("log", "STREAMGATE_LOG"),
    ("master_key_file", "STREAMGATE_MASTER_KEY_FILE"),
    ("rate_limit", "STREAMGATE_RATE_LIMIT"),
    (
        "rate_limit_window_secs",
        "STREAMGATE_RATE_LIMIT_WINDOW_SECS",
    ),
    ("access_token_ttl", "STREAMGATE_ACCESS_TOKEN_TTL"),
    ("webhook_allow_private", "STREAMGATE_WEBHOOK_ALLOW_PRIVATE"),
    ("ingest_max_failures", "STREAMGATE_INGEST_MAX_FAILURES"),
    (
        "ingest_failure_window_secs",
        "STREAMGATE_INGEST_FAILURE_WINDOW_SECS",
    ),
    (
        "ingest_allow_concurrent",
        "STREAMGATE_INGEST_ALLOW_CONCURRENT",
    ),
];

/// A numeric setting from its environment variable (where the config file put it too), or
/// `default` when unset or unparsable.
pub fn env_u32(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

pub const DEFAULT_FILE: &str = "streamgate.toml";

/// Which file to read: `STREAMGATE_CONFIG`, else `./streamgate.toml` if it exists.
pub fn config_path() -> Option<PathBuf> {
    match std::env::var_os("STREAMGATE_CONFIG") {
        Some(p) => Some(PathBuf::from(p)),
        None => Some(PathBuf::from(DEFAULT_FILE)).filter(|p| p.exists()),
    }
}

/// Parses a config file into (environment variable, value) pairs. Unknown keys are errors.
pub fn parse(text: &str, origin: &Path) -> Result<Vec<(&'static str, String)>, String> {
    let table: BTreeMap<String, toml::Value> =
        toml::from_str(text).map_err(|e| format!("{}: {e}", origin.display()))?;
    let mut out = Vec::new();
    for (key, value) in table {
        let Some((_, env)) = SETTINGS.iter().find(|(k, _)| *k == key) else {
            let known: Vec<&str> = SETTINGS.iter().map(|(k, _)| *k).collect();
            return Err(format!(
                "{}: unknown setting {key:?} (known: {})",
                origin.display(),
                known.join(", ")
            ));
        };
        let value = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => {
                return Err(format!(
                    "{}: {key} must be a string, a number or a boolean, got {}",
                    origin.display(),
                    other.type_str()
                ))
            }
        };
        out.push((*env, value));
    }
    Ok(out)
}

/// Reads the config file (if any) and exports its settings as environment defaults.
/// Must run before any thread is started.
pub fn load_into_env() -> Result<Option<PathBuf>, String> {
    let Some(path) = config_path() else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
    for (env, value) in parse(&text, &path)? {
        if std::env::var_os(env).is_none() {
            std::env::set_var(env, value);
        }
    }
    Ok(Some(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_settings_and_rejects_the_rest() {
        let p = Path::new("streamgate.toml");
        let got = parse("listen = \"0.0.0.0:9000\"\nlog = \"debug\"\n", p).unwrap();
        assert_eq!(
            got,
            vec![
                ("STREAMGATE_LISTEN", "0.0.0.0:9000".to_string()),
                ("STREAMGATE_LOG", "debug".to_string())
            ]
        );
        assert!(parse("lisen = \"x\"", p)
            .unwrap_err()
            .contains("unknown setting \"lisen\""));
        // Numbers and booleans are taken as their text; tables and arrays are not settings.
        assert_eq!(
            parse("rate_limit = 50\nwebhook_allow_private = true\n", p).unwrap(),
            vec![
                ("STREAMGATE_RATE_LIMIT", "50".to_string()),
                ("STREAMGATE_WEBHOOK_ALLOW_PRIVATE", "true".to_string())
            ]
        );
        assert!(parse("listen = [1]", p)
            .unwrap_err()
            .contains("must be a string"));
        assert!(parse("listen = ", p).is_err());
    }
}
