//! Videos: uploaded files of one account and environment, stored as they came (no transcoding).
//! api.video serves them as `/videos`, Livepeer as assets (`/api/asset`) with the upload or
//! import as their task (`/api/task`): one object, two shapes.

use uuid::Uuid;

use super::{Environment, Error};

/// Longest title (api.video: 256).
pub const MAX_TITLE: usize = 256;
/// Longest description.
pub const MAX_DESCRIPTION: usize = 4096;
/// At most this many tags…
pub const MAX_TAGS: usize = 50;
/// …each at most this long.
pub const MAX_TAG: usize = 128;
/// At most this many metadata pairs…
pub const MAX_METADATA: usize = 50;
/// …each key and value at most this long.
pub const MAX_METADATA_FIELD: usize = 256;
/// Longest import URL.
pub const MAX_SOURCE_URL: usize = 2048;

/// Where a video is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoPhase {
    /// Created; no byte has arrived yet.
    Waiting,
    /// Some of the source has arrived (chunked uploads), or an import is fetching it.
    Uploading,
    /// The whole source is stored and can be fetched.
    Ready,
    /// The upload or import failed (`error` says why).
    Failed,
}

impl VideoPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            VideoPhase::Waiting => "waiting",
            VideoPhase::Uploading => "uploading",
            VideoPhase::Ready => "ready",
            VideoPhase::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Error> {
        Ok(match s {
            "waiting" => VideoPhase::Waiting,
            "uploading" => VideoPhase::Uploading,
            "ready" => VideoPhase::Ready,
            "failed" => VideoPhase::Failed,
            other => return Err(Error::Invalid(format!("unknown video phase {other:?}"))),
        })
    }
}

/// How the source arrives: uploaded by a client, or fetched by streamgate from a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VideoSource {
    Upload,
    Url(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Video {
    pub id: Uuid,
    pub account_id: Uuid,
    pub environment: Environment,
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    pub metadata: Vec<(String, String)>,
    /// api.video `public`: a private video's URLs carry its private token.
    pub public: bool,
    /// The private token of its URLs, sealed by the vault (the service opens it).
    pub private_sealed: String,
    /// Livepeer's playback id of the asset.
    pub playback_id: String,
    pub phase: VideoPhase,
    pub source: VideoSource,
    /// Bytes of the source stored so far.
    pub received: i64,
    /// The source's whole size, once known (a chunked upload names it in `Content-Range`).
    pub total: Option<i64>,
    /// The stored parts of the source, in order: what is served, and nothing else.
    pub parts: Vec<VideoPart>,
    /// The upload or import task (Livepeer's `/api/task/{id}`).
    pub task_id: Uuid,
    pub error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One stored part of a video's source: where it begins, its size, and its object.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VideoPart {
    pub start: i64,
    pub size: i64,
    pub key: String,
}

/// A new object key for a part of a video's source beginning at `start`: every attempt writes
/// its own object, so two attempts at one part never overwrite each other (or a part already
/// acknowledged); the one the video records is the one served.
pub fn part_key(id: Uuid, start: i64) -> String {
    format!("videos/{id}/source/{start:016}.{}", Uuid::new_v4().simple())
}

/// The prefix under which a video's source parts are stored.
pub fn source_prefix(id: Uuid) -> String {
    format!("videos/{id}/source/")
}

/// A title, as given and capped.
pub fn validate_title(t: &str) -> Result<String, Error> {
    let t = t.trim();
    if t.is_empty() {
        return Err(Error::Invalid("title must not be empty".into()));
    }
    if t.len() > MAX_TITLE {
        return Err(Error::Invalid(format!(
            "title must be at most {MAX_TITLE} bytes"
        )));
    }
    Ok(t.to_string())
}

pub fn validate_description(d: &str) -> Result<String, Error> {
    if d.len() > MAX_DESCRIPTION {
        return Err(Error::Invalid(format!(
            "description must be at most {MAX_DESCRIPTION} bytes"
        )));
    }
    Ok(d.to_string())
}

pub fn validate_tags(tags: &[String]) -> Result<Vec<String>, Error> {
    if tags.len() > MAX_TAGS {
        return Err(Error::Invalid(format!("at most {MAX_TAGS} tags")));
    }
    let mut out: Vec<String> = Vec::with_capacity(tags.len());
    for t in tags {
        let t = t.trim();
        if t.is_empty() || t.len() > MAX_TAG {
            return Err(Error::Invalid(format!(
                "each tag must be 1 to {MAX_TAG} bytes"
            )));
        }
        if !out.iter().any(|o| o == t) {
            out.push(t.to_string());
        }
    }
    Ok(out)
}

pub fn validate_metadata(m: &[(String, String)]) -> Result<Vec<(String, String)>, Error> {
    if m.len() > MAX_METADATA {
        return Err(Error::Invalid(format!("at most {MAX_METADATA} metadata")));
    }
    for (k, v) in m {
        if k.is_empty() || k.len() > MAX_METADATA_FIELD || v.len() > MAX_METADATA_FIELD {
            return Err(Error::Invalid(format!(
                "each metadata key must be 1 to {MAX_METADATA_FIELD} bytes, and its value at most {MAX_METADATA_FIELD}"
            )));
        }
    }
    Ok(m.to_vec())
}

/// What a chunk's `Content-Range` says: `bytes <first>-<last>/<total>` (total may be `*`), or
/// api.video's progressive `part <n>/<count>` (count `*` until the last part).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkRange {
    Bytes {
        first: i64,
        last: i64,
        total: Option<i64>,
    },
    Part {
        n: i64,
        /// How many parts in all, when the client says (`part 2/5`; `*` until the last).
        count: Option<i64>,
    },
    /// A tus `PATCH`: the bytes that arrive, from `first` (its `Upload-Offset`); the file's size
    /// was given when the upload was created.
    From { first: i64 },
}

impl ChunkRange {
    pub fn parse(s: &str) -> Result<Self, Error> {
        let bad = || {
            Error::Invalid(format!(
                "Content-Range must be `bytes <first>-<last>/<total>` or `part <n>/<count>`, not {:?}",
                crate::text::cap(s, 64)
            ))
        };
        let s = s.trim();
        if let Some(r) = s.strip_prefix("bytes ") {
            let (span, total) = r.split_once('/').ok_or_else(bad)?;
            let (a, b) = span.split_once('-').ok_or_else(bad)?;
            let first: i64 = a.trim().parse().map_err(|_| bad())?;
            let last: i64 = b.trim().parse().map_err(|_| bad())?;
            let total = match total.trim() {
                "*" => None,
                t => Some(t.parse::<i64>().map_err(|_| bad())?),
            };
            // Far past any size accepted, so no arithmetic on them can overflow.
            const MAX: i64 = 1 << 50;
            if first < 0
                || last < first
                || last >= MAX
                || total.is_some_and(|t| last >= t || t > MAX)
            {
                return Err(bad());
            }
            return Ok(ChunkRange::Bytes { first, last, total });
        }
        if let Some(r) = s.strip_prefix("part ") {
            let (n, count) = r.split_once('/').ok_or_else(bad)?;
            let n: i64 = n.trim().parse().map_err(|_| bad())?;
            if !(1..=1_000_000).contains(&n) {
                return Err(bad());
            }
            let count = match count.trim() {
                "*" => None,
                c => {
                    let c: i64 = c.parse().map_err(|_| bad())?;
                    if c < n {
                        return Err(bad());
                    }
                    Some(c)
                }
            };
            return Ok(ChunkRange::Part { n, count });
        }
        Err(bad())
    }

    /// Is this the last part of the file?
    pub fn is_last_part(&self) -> bool {
        match *self {
            ChunkRange::Part { n, count } => count == Some(n),
            ChunkRange::Bytes { last, total, .. } => total == Some(last + 1),
            ChunkRange::From { .. } => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges() {
        assert_eq!(
            ChunkRange::parse("bytes 0-99/1000").ok(),
            Some(ChunkRange::Bytes {
                first: 0,
                last: 99,
                total: Some(1000)
            })
        );
        assert_eq!(
            ChunkRange::parse("bytes 100-199/*").ok(),
            Some(ChunkRange::Bytes {
                first: 100,
                last: 199,
                total: None
            })
        );
        assert_eq!(
            ChunkRange::parse("part 2/*").ok(),
            Some(ChunkRange::Part { n: 2, count: None })
        );
        assert_eq!(
            ChunkRange::parse("part 3/3").ok(),
            Some(ChunkRange::Part {
                n: 3,
                count: Some(3)
            })
        );
        assert_eq!(
            ChunkRange::parse("part 2/5").ok(),
            Some(ChunkRange::Part {
                n: 2,
                count: Some(5)
            })
        );
        assert!(ChunkRange::parse("part 3/3").unwrap().is_last_part());
        assert!(!ChunkRange::parse("part 2/5").unwrap().is_last_part());
        for bad in [
            "bytes 10-5/100",
            "bytes 0-100/100",
            "bytes -1-5/10",
            "part 0/*",
            "part 4/3",
            "items 0-1/2",
            "bytes 0-1",
        ] {
            assert!(ChunkRange::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tags_are_capped_and_deduplicated() {
        assert_eq!(
            validate_tags(&["a".into(), " a ".into(), "b".into()]).ok(),
            Some(vec!["a".to_string(), "b".to_string()])
        );
        assert!(validate_tags(&["x".repeat(MAX_TAG + 1)]).is_err());
        assert!(validate_tags(&vec!["t".to_string(); MAX_TAGS + 1]).is_err());
    }

    #[test]
    fn every_attempt_has_its_own_key() {
        let id = Uuid::nil();
        assert_ne!(part_key(id, 0), part_key(id, 0));
        assert!(part_key(id, 10).starts_with(&source_prefix(id)));
    }
}
