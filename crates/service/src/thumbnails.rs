//! Live-stream thumbnails (api.video's `POST`/`DELETE /live-streams/{id}/thumbnail`): an image
//! the account uploads, kept in object storage (`streams/<id>/thumbnail`), named by the stream's
//! `thumbnailType` setting and served to viewers at `/media/live/{playbackId}/thumbnail` (a
//! private stream's with its private token, as its other assets).

use bytes::Bytes;
use futures_util::stream::Stream as ByteStream;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::streams::StreamPatch;
use super::Services;
use domain::{Action, Actor, Error, Permission, Resource, Stream};

/// Largest thumbnail.
pub const MAX_THUMBNAIL_BYTES: u64 = 8 << 20;
/// The image types a thumbnail may be.
pub const THUMBNAIL_TYPES: &[&str] = &["image/jpeg", "image/png", "image/webp"];
/// The stream setting that holds the thumbnail's type (none: no thumbnail).
pub const THUMBNAIL_SETTING: &str = "thumbnailType";

pub use domain::stream::thumbnail_key;

fn setting(value: Value) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(THUMBNAIL_SETTING.into(), value);
    m
}

/// The thumbnail's type, when the stream has one.
pub fn thumbnail_type(s: &Stream) -> Option<&str> {
    s.settings.get(THUMBNAIL_SETTING).and_then(Value::as_str)
}

/// The type of an image file, from what the client says (its part's type, else the file name).
pub fn image_type(content_type: Option<&str>, file_name: Option<&str>) -> Option<&'static str> {
    let declared = content_type.map(|c| {
        c.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    });
    if let Some(t) = declared.as_deref() {
        if let Some(found) = THUMBNAIL_TYPES.iter().find(|x| **x == t) {
            return Some(found);
        }
    }
    let ext = file_name?.rsplit('.').next()?.to_ascii_lowercase();
    match ext.as_str() {
        "jpg" | "jpeg" => Some("image/jpeg"),
        "png" => Some("image/png"),
        "webp" => Some("image/webp"),
        _ => None,
    }
}

impl Services {
    /// Stores `body` as the stream's thumbnail (replacing any), of type `image_type`.
    pub async fn set_stream_thumbnail<S, E>(
        &self,
        actor: &Actor,
        id: Uuid,
        image_type: Option<&'static str>,
        body: S,
    ) -> Result<Stream, Error>
    where
        S: ByteStream<Item = Result<Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        actor.require(Permission(Resource::Streams, Action::Update))?;
        self.get_stream(actor, id).await?;
        let image_type = image_type.ok_or_else(|| {
            Error::Invalid(format!(
                "a thumbnail must be an image: {}",
                THUMBNAIL_TYPES.join(", ")
            ))
        })?;
        self.objects
            .write(&thumbnail_key(id), body, MAX_THUMBNAIL_BYTES)
            .await
            .map_err(|e| match e {
                crate::objects::WriteError::TooLarge { max } => {
                    Error::TooLarge(format!("a thumbnail is at most {max} bytes"))
                }
                e => e.into(),
            })?;
        let s = self
            .update_stream(
                actor,
                id,
                StreamPatch {
                    settings: setting(Value::String(image_type.into())),
                    ..Default::default()
                },
            )
            .await?;
        self.audit_by(actor, "stream.thumbnail", format!("stream:{id}"))
            .await;
        Ok(s)
    }

    /// Removes the stream's thumbnail. Not found: the stream, or its thumbnail.
    pub async fn delete_stream_thumbnail(&self, actor: &Actor, id: Uuid) -> Result<Stream, Error> {
        actor.require(Permission(Resource::Streams, Action::Update))?;
        let s = self.get_stream(actor, id).await?;
        if thumbnail_type(&s).is_none() {
            return Err(Error::NotFound("thumbnail"));
        }
        let s = self
            .update_stream(
                actor,
                id,
                StreamPatch {
                    settings: setting(Value::Null),
                    ..Default::default()
                },
            )
            .await?;
        self.objects.delete(&thumbnail_key(id)).await?;
        self.audit_by(actor, "stream.thumbnail_delete", format!("stream:{id}"))
            .await;
        Ok(s)
    }

    /// A stream's thumbnail for a viewer: its type and bytes. None: no such stream or thumbnail,
    /// or a private stream without its private token.
    pub async fn stream_thumbnail_for_viewer(
        &self,
        playback_id: &str,
        token: Option<&str>,
    ) -> Result<Option<(&'static str, crate::objects::ObjectRead)>, Error> {
        let Some(cached) = self.stream_by_playback_id(playback_id).await? else {
            return Ok(None);
        };
        let s = &cached.stream;
        let Some(t) = thumbnail_type(s).and_then(|t| THUMBNAIL_TYPES.iter().find(|x| **x == t))
        else {
            return Ok(None);
        };
        if domain::playback::is_private(&s.settings) {
            let want = crate::playback::private_token(s);
            if !token
                .is_some_and(|t| crate::ingest::constant_time_eq(t.as_bytes(), want.as_bytes()))
            {
                return Ok(None);
            }
        }
        Ok(self
            .objects
            .read(&thumbnail_key(s.id))
            .await?
            .map(|r| (*t, r)))
    }
}
