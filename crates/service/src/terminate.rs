//! Ending a live stream's publish from the API (Livepeer's `terminate`): its session is closed and
//! the stream goes idle (with its "ended" webhooks), as when the media server reports the end;
//! and when nginx-rtmp's control endpoint is configured, the publisher is dropped there, under
//! the name viewers know it by (the playback id nginx-rtmp renamed the publish to).

use std::time::Duration;

use uuid::Uuid;

use super::Services;
use crypto::sha256;
use domain::{Action, Actor, Error, Permission, Resource, Stream};

/// How long the media server gets to drop a publisher.
const DROP_TIMEOUT: Duration = Duration::from_secs(3);

impl Services {
    /// Ends the stream's publish, if there is one: drops the publisher at the media server
    /// (where configured) and closes the session. Audited as `stream.terminate`.
    pub async fn terminate_stream(&self, actor: &Actor, id: Uuid) -> Result<(), Error> {
        actor.require(Permission(Resource::Streams, Action::Update))?;
        let stream = self.get_stream(actor, id).await?;
        self.drop_publisher(&stream).await;
        let Some(rec) = self
            .verifier
            .stream_by_key_hash(&sha256(stream.stream_key.expose().as_bytes()))
            .await?
        else {
            return Err(Error::NotFound("stream"));
        };
        let environment = (!actor.is_operator()).then(|| actor.environment());
        let audit = self.change_event(
            actor,
            Some(actor.account_id()),
            environment,
            "stream.terminate",
            format!("stream:{id}"),
        );
        self.close_publish(&rec, audit).await
    }

    /// Asks nginx-rtmp to drop the stream's publisher in each stream-key application. Failures
    /// are logged: the session is closed here either way.
    async fn drop_publisher(&self, stream: &Stream) {
        for app in &self.settings.stream_key_apps {
            self.drop_at_media_server(app, &stream.playback_id).await;
        }
    }

    /// Asks nginx-rtmp to drop a live job's publisher (in the jobs application).
    pub(crate) async fn drop_job_publisher(&self, stream_name: &str) {
        self.drop_at_media_server(&self.settings.jobs.app, stream_name)
            .await;
    }

    /// Asks nginx-rtmp's control endpoint, where configured, to drop the publisher of `app/name`.
    async fn drop_at_media_server(&self, app: &str, name: &str) {
        let Some(base) = &self.settings.nginx_rtmp_control_url else {
            return;
        };
        let client = match reqwest::Client::builder().timeout(DROP_TIMEOUT).build() {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "cannot reach the media server's control endpoint");
                return;
            }
        };
        let url = format!(
            "{}/drop/publisher?app={app}&name={name}",
            base.trim_end_matches('/'),
        );
        match client.get(&url).send().await {
            Ok(res) if res.status().is_success() => {}
            Ok(res) => {
                tracing::warn!(status = %res.status(), app = %app, "nginx-rtmp did not drop a publisher")
            }
            Err(e) => {
                tracing::warn!(error = %e.without_url(), "cannot reach nginx-rtmp's control endpoint")
            }
        }
    }
}
