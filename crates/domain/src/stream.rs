//! Live streams, their publish sessions and multistream targets.

use serde_json::{Map, Value};
use uuid::Uuid;

use super::{Environment, Error};
use crate::SecretString;

/// Longest name a stream, session or target may have.
pub const MAX_NAME: usize = 200;

/// Largest JSON a stream's round-tripped settings may take.
pub const MAX_SETTINGS_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone)]
pub struct Stream {
    pub id: Uuid,
    pub account_id: Uuid,
    pub environment: Environment,
    pub name: String,
    /// What an encoder presents to publish: `xxxx-xxxx-xxxx-xxxx`.
    pub stream_key: SecretString,
    pub playback_id: String,
    pub record: bool,
    pub suspended: bool,
    pub is_active: bool,
    /// Settings the platforms' APIs round-trip (profiles, multistream targets, user tags, …).
    pub settings: Map<String, Value>,
    /// Where the stream is re-published (api.video's restreams); the keys are secrets.
    pub restreams: Vec<Restream>,
    /// Name of the key that created the stream.
    pub created_by: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_seen_at: Option<i64>,
    pub deleted_at: Option<i64>,
}

/// A stream as the read path serves it: one shared copy per version of the stream, with the
/// bodies rendered from it (see `memo`).
#[derive(Debug)]
pub struct CachedStream {
    pub stream: Stream,
    pub memo: crate::memo::BodyMemo,
}

impl CachedStream {
    pub fn new(stream: Stream) -> Self {
        Self {
            stream,
            memo: Default::default(),
        }
    }
}

/// A destination a stream is re-published to, at most [`MAX_RESTREAMS`] per stream.
#[derive(Debug, Clone)]
pub struct Restream {
    pub name: String,
    pub server_url: String,
    pub stream_key: SecretString,
}

pub const MAX_RESTREAMS: usize = 5;

pub fn validate_restreams(r: &[Restream]) -> Result<(), Error> {
    if r.len() > MAX_RESTREAMS {
        return Err(Error::Invalid(format!(
            "at most {MAX_RESTREAMS} restreams per live stream"
        )));
    }
    for x in r {
        validate_object_name("restream", &x.name)?;
        validate_target_url(&x.server_url)?;
        if x.stream_key.expose().is_empty() || x.stream_key.expose().len() > 512 {
            return Err(Error::Invalid(
                "restream streamKey must be 1 to 512 characters".into(),
            ));
        }
    }
    Ok(())
}

/// One publish of a stream, opened and closed by the ingest hooks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: Uuid,
    pub stream_id: Uuid,
    pub account_id: Uuid,
    pub environment: Environment,
    /// Which media server reported it (`nginx-rtmp`, `srs`, `mediamtx`, …).
    pub ingest: String,
    pub client_addr: Option<String>,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    /// Whether its stream was recorded when it started.
    pub record: bool,
}

#[derive(Debug, Clone)]
pub struct MultistreamTarget {
    pub id: Uuid,
    pub account_id: Uuid,
    pub environment: Environment,
    pub name: String,
    /// Write-only: never rendered by any API.
    pub url: SecretString,
    pub disabled: bool,
    pub created_at: i64,
}

/// A display name: trimmed, 1..=200 characters, no control characters.
pub fn validate_object_name(what: &str, name: &str) -> Result<String, Error> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::Invalid(format!("{what} name must not be empty")));
    }
    if name.chars().count() > MAX_NAME {
        return Err(Error::Invalid(format!(
            "{what} name must be at most {MAX_NAME} characters"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::Invalid(format!(
            "{what} name must not contain control characters"
        )));
    }
    Ok(name.to_string())
}

/// A multistream destination: an rtmp(s)/srt URL with a host, at most 2 KiB.
pub fn validate_target_url(url: &str) -> Result<String, Error> {
    let url = url.trim();
    let ok_scheme = ["rtmp://", "rtmps://", "srt://"]
        .iter()
        // `get`: the caller's text may have a multi-byte character across the cut.
        .any(|s| {
            url.len() > s.len()
                && url
                    .get(..s.len())
                    .is_some_and(|h| h.eq_ignore_ascii_case(s))
        });
    if !ok_scheme || url.len() > 2048 || url.chars().any(|c| c.is_control() || c == ' ') {
        return Err(Error::Invalid(
            "url must be an rtmp://, rtmps:// or srt:// URL with a host, at most 2048 characters"
                .into(),
        ));
    }
    Ok(url.to_string())
}

/// A new stream key, Livepeer style: four groups of four lowercase letters and digits.
pub fn generate_stream_key() -> SecretString {
    let raw = crate::random_base62(16).to_ascii_lowercase();
    let mut out = String::with_capacity(19);
    for (i, c) in raw.chars().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        out.push(c);
    }
    SecretString::new(out)
}

/// A public playback id: 16 lowercase letters and digits.
/// Where a stream's uploaded thumbnail is stored (object storage).
pub fn thumbnail_key(id: Uuid) -> String {
    format!("streams/{id}/thumbnail")
}

pub fn generate_playback_id() -> String {
    crate::random_base62(16).to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_keys_have_the_livepeer_shape() {
        let k = generate_stream_key();
        let parts: Vec<&str> = k.expose().split('-').collect();
        assert_eq!(parts.len(), 4);
        assert!(parts.iter().all(|p| p.len() == 4
            && p.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())));
        assert_ne!(generate_stream_key().expose(), k.expose());
    }

    #[test]
    fn names_and_urls_are_checked() {
        assert!(validate_object_name("stream", " cam ").is_ok_and(|n| n == "cam"));
        assert!(validate_object_name("stream", "").is_err());
        assert!(validate_object_name("stream", &"x".repeat(201)).is_err());
        assert!(validate_object_name("stream", "a\nb").is_err());
        assert!(validate_target_url("rtmp://a.example/live/k").is_ok());
        assert!(validate_target_url("http://a.example/").is_err());
        assert!(validate_target_url("rtmp://").is_err());
    }
}

/// Properties: no caller text panics the validators (schemathesis found a URL whose multi-byte
/// character straddled the scheme check's cut), and a valid target URL is accepted as it is.
#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_text_never_panics(s in any::<String>(), head in "[rRtTmMpPsS:/]{0,8}") {
            let _ = validate_target_url(&s);
            let _ = validate_target_url(&format!("{head}{s}"));
            let _ = validate_target_url("\u{5c8c}\u{b7}\u{5c8c}\u{5c8c}");
        }

        #[test]
        fn valid_target_urls_are_accepted(
            scheme in prop::sample::select(vec!["rtmp://", "RTMPS://", "srt://"]),
            rest in "[a-z0-9.]{1,30}(/[a-zA-Z0-9_-]{1,20}){0,3}",
        ) {
            let url = format!("{scheme}{rest}");
            prop_assert_eq!(validate_target_url(&url).ok(), Some(url.clone()));
        }
    }
}

/// The order of a list of streams (api.video's `sortBy` and `sortOrder`); ties go by creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum StreamOrder {
    #[default]
    CreatedAsc,
    CreatedDesc,
    NameAsc,
    NameDesc,
    UpdatedAsc,
    UpdatedDesc,
}

impl StreamOrder {
    pub const ALL: [StreamOrder; 6] = [
        StreamOrder::CreatedAsc,
        StreamOrder::CreatedDesc,
        StreamOrder::NameAsc,
        StreamOrder::NameDesc,
        StreamOrder::UpdatedAsc,
        StreamOrder::UpdatedDesc,
    ];

    /// From api.video's `sortBy` (`name`, `createdAt`, `updatedAt`; default `createdAt`) and
    /// `sortOrder` (`asc`, `desc`; default `asc`).
    pub fn parse(sort_by: Option<&str>, sort_order: Option<&str>) -> Result<Self, Error> {
        let desc = match sort_order.unwrap_or("asc") {
            "asc" => false,
            "desc" => true,
            other => {
                return Err(Error::Invalid(format!(
                    "sortOrder must be asc or desc (got {:?})",
                    crate::text::cap(other, 40)
                )))
            }
        };
        Ok(match (sort_by.unwrap_or("createdAt"), desc) {
            ("createdAt", false) => StreamOrder::CreatedAsc,
            ("createdAt", true) => StreamOrder::CreatedDesc,
            ("name", false) => StreamOrder::NameAsc,
            ("name", true) => StreamOrder::NameDesc,
            ("updatedAt", false) => StreamOrder::UpdatedAsc,
            ("updatedAt", true) => StreamOrder::UpdatedDesc,
            (other, _) => {
                return Err(Error::Invalid(format!(
                    "sortBy must be name, createdAt or updatedAt (got {:?})",
                    crate::text::cap(other, 40)
                )))
            }
        })
    }
}

#[cfg(test)]
mod order_tests {
    use super::*;

    #[test]
    fn sort_parameters_read_as_api_video_names_them() {
        assert_eq!(
            StreamOrder::parse(None, None).unwrap(),
            StreamOrder::CreatedAsc
        );
        assert_eq!(
            StreamOrder::parse(Some("name"), Some("desc")).unwrap(),
            StreamOrder::NameDesc
        );
        assert_eq!(
            StreamOrder::parse(Some("updatedAt"), None).unwrap(),
            StreamOrder::UpdatedAsc
        );
        assert_eq!(
            StreamOrder::parse(None, Some("desc")).unwrap(),
            StreamOrder::CreatedDesc
        );
        assert!(StreamOrder::parse(Some("title"), None).is_err());
        assert!(StreamOrder::parse(None, Some("DESC")).is_err());
    }
}
