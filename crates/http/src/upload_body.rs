//! An upload's file, read from its request as it arrives: a `multipart/form-data` form's file
//! part (api.video's uploads) or a raw body (a one-time upload URL's PUT), handed to the service
//! as a stream of bytes; nothing is buffered whole in memory. A form's small text fields
//! (`videoId`) are read capped.

use axum::extract::multipart::{Field, Multipart};
use bytes::Bytes;
use futures_util::stream::{BoxStream, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use domain::Error;

/// Longest text field read from an upload form.
pub const MAX_FIELD: usize = 1024;
/// Text fields read from one form at most.
const MAX_FIELDS: usize = 32;

/// A form field that is not the file: its name and (capped) text.
pub async fn text_field(field: Field<'_>) -> Result<(String, String), Error> {
    let name = field.name().unwrap_or_default().to_string();
    let mut field = field;
    let mut text = Vec::new();
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|e| Error::Invalid(format!("cannot read the form: {e}")))?
    {
        if text.len() + chunk.len() > MAX_FIELD {
            return Err(Error::Invalid(format!(
                "form field {:?} is longer than {MAX_FIELD} bytes",
                domain::text::cap(&name, 64)
            )));
        }
        text.extend_from_slice(&chunk);
    }
    let text = String::from_utf8(text)
        .map_err(|_| Error::Invalid(format!("form field {name:?} is not UTF-8")))?;
    Ok((name, text))
}

/// Is this part the file? (api.video's Python client names it `file`; its Node client names it
/// after the file.)
pub fn is_file(field: &Field<'_>) -> bool {
    field.file_name().is_some() || field.name() == Some("file")
}

/// The next field of a form, or a clear error.
pub async fn next_field(mp: &mut Multipart) -> Result<Option<Field<'_>>, Error> {
    mp.next_field()
        .await
        .map_err(|e| Error::Invalid(format!("cannot read the multipart form: {e}")))
}

/// The text fields after the file, when something is still to be learnt from them.
pub async fn rest_fields(mp: &mut Multipart) -> Result<Vec<(String, String)>, Error> {
    let mut out = Vec::new();
    while let Some(field) = next_field(mp).await? {
        if out.len() >= MAX_FIELDS {
            return Err(Error::Invalid("the form has too many fields".into()));
        }
        if is_file(&field) {
            return Err(Error::Invalid("the form holds more than one file".into()));
        }
        out.push(text_field(field).await?);
    }
    Ok(out)
}

/// A file part kept on local disk (a temporary file, deleted when dropped), for the one case
/// where what it belongs to is named only after it: api.video's Node client sends a progressive
/// upload's `videoId` after the file.
pub struct Spooled {
    file: tempfile::NamedTempFile,
}

impl Spooled {
    /// Writes the field to a temporary file, refusing it past `max` bytes.
    pub async fn write(field: Field<'_>, max: u64) -> Result<Self, Error> {
        let tmp = tempfile::NamedTempFile::new()
            .map_err(|e| Error::Internal(format!("cannot make a temporary file: {e}")))?;
        let std = tmp
            .reopen()
            .map_err(|e| Error::Internal(format!("temporary file: {e}")))?;
        let mut out = tokio::fs::File::from_std(std);
        let mut field = field;
        let mut size: u64 = 0;
        while let Some(chunk) = field
            .chunk()
            .await
            .map_err(|e| Error::Invalid(format!("the upload did not arrive: {e}")))?
        {
            size += chunk.len() as u64;
            if size > max {
                return Err(Error::TooLarge(format!(
                    "the file is larger than the {max} bytes this server accepts"
                )));
            }
            out.write_all(&chunk)
                .await
                .map_err(|e| Error::Internal(format!("temporary file: {e}")))?;
        }
        out.flush()
            .await
            .map_err(|e| Error::Internal(format!("temporary file: {e}")))?;
        Ok(Self { file: tmp })
    }

    /// The file's bytes, as a stream (the temporary file lives as long as the stream).
    pub fn stream(self) -> Result<BoxStream<'static, Result<Bytes, String>>, Error> {
        let std = self
            .file
            .reopen()
            .map_err(|e| Error::Internal(format!("temporary file: {e}")))?;
        let file = tokio::fs::File::from_std(std);
        let keep = self.file;
        Ok(
            futures_util::stream::unfold((file, keep), |(mut file, keep)| async move {
                let mut buf = vec![0u8; 256 * 1024];
                match file.read(&mut buf).await {
                    Ok(0) => None,
                    Ok(n) => {
                        buf.truncate(n);
                        Some((Ok(Bytes::from(buf)), (file, keep)))
                    }
                    Err(e) => Some((Err(e.to_string()), (file, keep))),
                }
            })
            .boxed(),
        )
    }
}

/// A request's raw body as a stream of bytes.
pub fn raw(body: axum::body::Body) -> BoxStream<'static, Result<Bytes, String>> {
    body.into_data_stream()
        .map(|r| r.map_err(|e| e.to_string()))
        .boxed()
}
