//! Object storage for uploaded bytes (video sources, thumbnails), through the `object_store`
//! crate: a local directory under the data directory by default, any S3-compatible bucket when
//! configured. Writes stream: a body is cut into parts as it arrives and never held whole in
//! memory (parts of 1 MiB locally, 8 MiB on S3, two in flight), its size is checked as it goes,
//! and the object exists only once it is complete
//! (a multipart upload that is aborted, or a staged local file that is renamed into place and
//! synced to disk before the write is acknowledged).

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::{BoxStream, Stream, StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, PutPayload, WriteMultipart};

use domain::Error;

/// Where objects live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectsSetting {
    /// A directory (created if missing).
    Local(PathBuf),
    /// An S3-compatible bucket. Credentials come from the standard `AWS_ACCESS_KEY_ID` and
    /// `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`) of the environment, as every S3 tool
    /// reads them.
    S3 {
        bucket: String,
        /// `http(s)://host:port` of an S3-compatible service; None: AWS.
        endpoint: Option<String>,
        region: String,
    },
}

impl Default for ObjectsSetting {
    fn default() -> Self {
        ObjectsSetting::Local(PathBuf::from("./streamgate-data/objects"))
    }
}

/// Bytes are buffered into parts of this size before each is sent: S3's minimum part is 5 MiB;
/// a local file takes its parts as writes at their offsets, so small ones keep memory low.
const S3_PART_SIZE: usize = 8 * 1024 * 1024;
const LOCAL_PART_SIZE: usize = 1024 * 1024;
/// Parts in flight per write: memory per upload stays under (this + 1) × the part size.
const PARTS_IN_FLIGHT: usize = 2;

/// Why a streamed write did not complete.
#[derive(Debug)]
pub enum WriteError {
    /// The body went past `max` bytes (nothing is kept).
    TooLarge { max: u64 },
    /// The body could not be read (the client went away or was too slow).
    Body(String),
    /// The store failed.
    Store(String),
}

impl From<WriteError> for Error {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::TooLarge { max } => Error::TooLarge(format!(
                "the file is larger than the {max} bytes this server accepts"
            )),
            WriteError::Body(m) => Error::Invalid(format!("the upload did not arrive: {m}")),
            WriteError::Store(m) => Error::Internal(format!("object storage: {m}")),
        }
    }
}

pub struct Objects {
    /// Opened on first use, so a command that stores nothing creates no directory.
    store: std::sync::OnceLock<Arc<dyn ObjectStore>>,
    setting: ObjectsSetting,
}

impl std::fmt::Debug for Objects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Objects")
            .field("kind", &self.kind())
            .finish()
    }
}

/// An object being read: its size and its bytes.
pub struct ObjectRead {
    pub size: u64,
    pub body: BoxStream<'static, Result<Bytes, String>>,
}

fn store_err(e: object_store::Error) -> String {
    // object_store's errors name paths and causes, never credentials.
    e.to_string()
}

/// A file's bytes as a stream of 256 KiB chunks (a recording or a clip going to storage).
pub fn file_stream(
    file: tokio::fs::File,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send {
    futures_util::stream::try_unfold(file, |mut file| async move {
        use tokio::io::AsyncReadExt;
        let mut buf = vec![0u8; 256 * 1024];
        let n = file.read(&mut buf).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.truncate(n);
        Ok(Some((Bytes::from(buf), file)))
    })
}

impl Objects {
    /// An S3 bucket reached with these keys, not the environment's (a clip's destination, with
    /// its stored `s3` credential). The keys stay in the client; its errors never name them.
    pub fn s3_with_keys(
        bucket: &str,
        endpoint: Option<&str>,
        region: &str,
        key_id: &str,
        secret: &str,
    ) -> Result<Self, Error> {
        let setting = ObjectsSetting::S3 {
            bucket: bucket.to_string(),
            endpoint: endpoint.map(str::to_string),
            region: region.to_string(),
        };
        let mut b = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_region(region)
            .with_access_key_id(key_id)
            .with_secret_access_key(secret);
        if let Some(e) = endpoint {
            b = b
                .with_endpoint(e)
                .with_allow_http(e.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        let store: Arc<dyn ObjectStore> = Arc::new(
            b.build()
                .map_err(|e| Error::Invalid(format!("S3 destination: {e}")))?,
        );
        let objects = Self {
            store: std::sync::OnceLock::new(),
            setting,
        };
        let _ = objects.store.set(store);
        Ok(objects)
    }

    /// Objects where `setting` says. An S3 store is configured at once (a bad setting is an
    /// error at start-up); a local directory is created on first use.
    pub fn open(setting: &ObjectsSetting) -> Result<Self, Error> {
        let objects = Self {
            store: std::sync::OnceLock::new(),
            setting: setting.clone(),
        };
        if let ObjectsSetting::S3 { .. } = setting {
            objects.store()?;
        }
        Ok(objects)
    }

    fn build(setting: &ObjectsSetting) -> Result<Arc<dyn ObjectStore>, Error> {
        match setting {
            ObjectsSetting::Local(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| {
                    Error::Internal(format!("cannot create {}: {e}", dir.display()))
                })?;
                let store = object_store::local::LocalFileSystem::new_with_prefix(dir)
                    .map_err(|e| Error::Internal(format!("object storage: {e}")))?;
                Ok(Arc::new(store))
            }
            ObjectsSetting::S3 {
                bucket,
                endpoint,
                region,
            } => {
                let mut b = object_store::aws::AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .with_region(region);
                if let Some(e) = endpoint {
                    b = b
                        .with_endpoint(e)
                        .with_allow_http(e.starts_with("http://"))
                        .with_virtual_hosted_style_request(false);
                }
                let store = b
                    .build()
                    .map_err(|e| Error::Internal(format!("object storage (S3): {e}")))?;
                Ok(Arc::new(store))
            }
        }
    }

    /// The store, opened the first time.
    fn store(&self) -> Result<&Arc<dyn ObjectStore>, Error> {
        if let Some(s) = self.store.get() {
            return Ok(s);
        }
        let built = Self::build(&self.setting)?;
        Ok(self.store.get_or_init(|| built))
    }

    /// The directory of a local store (written files are synced there).
    fn local_root(&self) -> Option<&PathBuf> {
        match &self.setting {
            ObjectsSetting::Local(dir) => Some(dir),
            ObjectsSetting::S3 { .. } => None,
        }
    }

    /// `local` or `s3`.
    pub fn kind(&self) -> &'static str {
        match self.setting {
            ObjectsSetting::Local(_) => "local",
            ObjectsSetting::S3 { .. } => "s3",
        }
    }

    /// Writes `body` to `key`, refusing it past `max` bytes; returns its size. The object
    /// appears only when the whole body is stored (and, locally, synced to disk).
    pub async fn write<S, E>(&self, key: &str, body: S, max: u64) -> Result<u64, WriteError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        let path = Path::from(key);
        let upload = self
            .store()
            .map_err(|e| WriteError::Store(e.to_string()))?
            .put_multipart(&path)
            .await
            .map_err(|e| WriteError::Store(store_err(e)))?;
        let part_size = match self.setting {
            ObjectsSetting::Local(_) => LOCAL_PART_SIZE,
            ObjectsSetting::S3 { .. } => S3_PART_SIZE,
        };
        let mut w = WriteMultipart::new_with_chunk_size(upload, part_size);
        let mut size: u64 = 0;
        let mut body = std::pin::pin!(body);
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    let _ = w.abort().await;
                    return Err(WriteError::Body(e.to_string()));
                }
            };
            size += chunk.len() as u64;
            if size > max {
                let _ = w.abort().await;
                return Err(WriteError::TooLarge { max });
            }
            if let Err(e) = w.wait_for_capacity(PARTS_IN_FLIGHT).await {
                // (The upload is aborted when `w` is dropped.)
                return Err(WriteError::Store(store_err(e)));
            }
            w.write(&chunk);
        }
        w.finish()
            .await
            .map_err(|e| WriteError::Store(store_err(e)))?;
        self.sync(key).await.map_err(WriteError::Store)?;
        Ok(size)
    }

    /// Writes a small object (a thumbnail) whole.
    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<(), Error> {
        self.store()?
            .put(&Path::from(key), PutPayload::from(bytes))
            .await
            .map_err(|e| Error::Internal(format!("object storage: {}", store_err(e))))?;
        self.sync(key).await.map_err(Error::Internal)
    }

    /// A local object's file and its directory reach the disk before the write is acknowledged.
    async fn sync(&self, key: &str) -> Result<(), String> {
        let Some(root) = self.local_root() else {
            return Ok(());
        };
        let file = root.join(key);
        let root = root.clone();
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            std::fs::File::open(&file)?.sync_all()?;
            // Every directory the key made, up to the root, so the file's name survives a crash.
            let mut dir = file.parent();
            while let Some(d) = dir {
                std::fs::File::open(d)?.sync_all()?;
                if d == root {
                    break;
                }
                dir = d.parent();
            }
            Ok(())
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("cannot sync {key}: {e}"))
    }

    /// The object at `key`; None when there is none.
    pub async fn read(&self, key: &str) -> Result<Option<ObjectRead>, Error> {
        match self.store()?.get(&Path::from(key)).await {
            Ok(got) => Ok(Some(ObjectRead {
                size: got.meta.size,
                body: got.into_stream().map_err(store_err).boxed(),
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(Error::Internal(format!("object storage: {}", store_err(e)))),
        }
    }

    /// The keys under `prefix`, sorted, with their sizes.
    pub async fn list(&self, prefix: &str) -> Result<Vec<(String, u64)>, Error> {
        let mut out: Vec<(String, u64)> = self
            .store()?
            .list(Some(&Path::from(prefix)))
            .map_ok(|m| (m.location.to_string(), m.size))
            .try_collect()
            .await
            .map_err(|e| Error::Internal(format!("object storage: {}", store_err(e))))?;
        out.sort();
        Ok(out)
    }

    /// Bytes `from..=to` of the objects `parts` (key and size each), one after the other, as one
    /// body (a video's parts, as its row records them).
    pub fn read_parts(
        &self,
        parts: Vec<(String, u64)>,
        from: u64,
        to: u64,
    ) -> Result<ObjectRead, Error> {
        let store = self.store()?.clone();
        // Each part's slice of the range, relative to the part.
        let mut slices = Vec::new();
        let mut at = 0u64;
        for (key, size) in parts {
            let (begin, end) = (at, at + size);
            at = end;
            if size == 0 || end <= from || begin > to {
                continue;
            }
            let lo = from.saturating_sub(begin);
            let hi = (to + 1).min(end) - begin;
            slices.push((key, lo..hi, size));
        }
        let size = if to >= from { to - from + 1 } else { 0 };
        let body = futures_util::stream::iter(slices)
            .then(move |(key, range, whole)| {
                let store = store.clone();
                async move {
                    let opts = object_store::GetOptions {
                        range: (range.start > 0 || range.end < whole)
                            .then_some(object_store::GetRange::Bounded(range)),
                        ..Default::default()
                    };
                    match store.get_opts(&Path::from(key), opts).await {
                        Ok(got) => got.into_stream().map_err(store_err).boxed(),
                        Err(e) => {
                            futures_util::stream::once(async move { Err(store_err(e)) }).boxed()
                        }
                    }
                }
            })
            .flatten()
            .boxed();
        Ok(ObjectRead { size, body })
    }

    /// The objects under `prefix`, one after the other, as one body (a video's parts).
    pub async fn read_all(&self, prefix: &str) -> Result<Option<ObjectRead>, Error> {
        let parts = self.list(prefix).await?;
        if parts.is_empty() {
            return Ok(None);
        }
        let size = parts.iter().map(|(_, s)| s).sum();
        let store = self.store()?.clone();
        let body = futures_util::stream::iter(parts)
            .then(move |(key, _)| {
                let store = store.clone();
                async move {
                    match store.get(&Path::from(key)).await {
                        Ok(got) => got.into_stream().map_err(store_err).boxed(),
                        Err(e) => {
                            futures_util::stream::once(async move { Err(store_err(e)) }).boxed()
                        }
                    }
                }
            })
            .flatten()
            .boxed();
        Ok(Some(ObjectRead { size, body }))
    }

    pub async fn delete(&self, key: &str) -> Result<(), Error> {
        match self.store()?.delete(&Path::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(Error::Internal(format!("object storage: {}", store_err(e)))),
        }
    }

    /// Deletes every object under `prefix`.
    pub async fn delete_all(&self, prefix: &str) -> Result<(), Error> {
        for (key, _) in self.list(prefix).await? {
            self.delete(&key).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(n: usize, size: usize) -> impl Stream<Item = Result<Bytes, String>> + Send {
        futures_util::stream::iter((0..n).map(move |i| Ok(Bytes::from(vec![i as u8; size]))))
    }

    #[tokio::test]
    async fn a_streamed_write_reads_back_and_too_large_keeps_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let o = Objects::open(&ObjectsSetting::Local(dir.path().join("objects"))).unwrap();
        // 3 × 5 MiB: more than one part.
        let size = o
            .write("a/b/0", chunks(3, 5 << 20), 100 << 20)
            .await
            .unwrap();
        assert_eq!(size, 15 << 20);
        o.write("a/b/1", chunks(1, 10), 100).await.unwrap();
        let got = o.read_all("a/b/").await.unwrap().unwrap();
        assert_eq!(got.size, (15 << 20) + 10);
        let bytes: Vec<Bytes> = got.body.try_collect().await.unwrap();
        let all: Vec<u8> = bytes.concat();
        assert_eq!(all.len(), (15 << 20) + 10);
        assert_eq!(all[(5 << 20) + 1], 1);
        assert_eq!(all[15 << 20], 0);

        let e = o.write("a/c", chunks(4, 1000), 3500).await.unwrap_err();
        assert!(matches!(e, WriteError::TooLarge { max: 3500 }));
        assert!(o.read("a/c").await.unwrap().is_none());
        assert!(o.list("a/c").await.unwrap().is_empty());

        let failing = futures_util::stream::iter(vec![
            Ok(Bytes::from_static(b"abc")),
            Err("client went away".to_string()),
        ]);
        assert!(matches!(
            o.write("a/d", failing, 100).await.unwrap_err(),
            WriteError::Body(_)
        ));
        assert!(o.read("a/d").await.unwrap().is_none());

        o.delete_all("a/b/").await.unwrap();
        assert!(o.read_all("a/b/").await.unwrap().is_none());
    }
}
