//! Webhook rules: what URL may be registered, which addresses may be called, which events exist.

use std::net::IpAddr;

use uuid::Uuid;

use super::{Environment, Error};

/// The events api.video sends.
pub const EVENTS: &[&str] = &[
    "live-stream.broadcast.started",
    "live-stream.broadcast.ended",
    "video.encoding.quality.completed",
    "video.source.recorded",
    "video.caption.generated",
    "video.summary.generated",
];

/// An address a webhook must not be delivered to unless private targets are allowed: loopback,
/// private (RFC 1918, unique-local), link-local (incl. cloud metadata 169.254.169.254), unspecified,
/// multicast, broadcast, shared (100.64/10) and IPv4-mapped forms of those.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || o[0] == 0
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
        }
    }
}

/// May a delivery go to this (resolved) address?
pub fn deliverable(ip: IpAddr, allow_private: bool) -> bool {
    allow_private || !is_internal(ip)
}

/// An http(s) URL with a host, at most 2 KiB. A host that is an IP literal must not be internal
/// (unless allowed); names are not resolved here: a host that does not resolve yet is accepted,
/// and delivery checks the addresses it resolves to.
pub fn validate_url(url: &str, allow_private: bool) -> Result<String, Error> {
    let url = url.trim();
    let bad = || Error::Invalid("url must be an http:// or https:// URL with a host".into());
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(bad)?;
    if url.len() > 2048 || url.chars().any(|c| c.is_control() || c == ' ') {
        return Err(bad());
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    if host.is_empty() {
        return Err(bad());
    }
    let lowered = host.to_ascii_lowercase();
    let ip = lowered.parse::<IpAddr>().ok().or_else(|| {
        // `localhost` and friends are loopback by definition, without any lookup.
        (lowered == "localhost" || lowered.ends_with(".localhost"))
            .then_some(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST))
    });
    if let Some(ip) = ip {
        if !deliverable(ip, allow_private) {
            return Err(Error::Invalid(format!(
                "url points to an internal address ({host}); webhooks must reach a public host"
            )));
        }
    }
    Ok(url.to_string())
}

pub fn validate_events(events: &[String]) -> Result<(), Error> {
    if events.is_empty() {
        return Err(Error::Invalid("events must name at least one event".into()));
    }
    if events.len() > EVENTS.len() {
        return Err(Error::Invalid(format!(
            "events must name at most {} events, each once",
            EVENTS.len()
        )));
    }
    for e in events {
        if !EVENTS.contains(&e.as_str()) {
            return Err(Error::Invalid(format!(
                "unknown event {e:?}; known events: {}",
                EVENTS.join(", ")
            )));
        }
    }
    Ok(())
}

/// A registered webhook endpoint of one account and environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: Uuid,
    pub account_id: Uuid,
    pub environment: Environment,
    pub url: String,
    pub events: Vec<String>,
    pub secret_sealed: String,
    pub created_at: i64,
    /// The label of the account's `http`/`oauth` credential the endpoint authenticates with.
    pub credential_label: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_refused_names_are_not_resolved() {
        for bad in [
            "http://127.0.0.1/x",
            "http://10.1.2.3/",
            "https://192.168.0.10:8443/h",
            "http://172.16.5.5",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]:80/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://0.0.0.0/",
            "http://100.64.0.1/",
            "http://localhost:8080/",
            "http://user@127.0.0.1/",
            "ftp://example.com/",
            "http:///nohost",
            "example.com",
        ] {
            assert!(validate_url(bad, false).is_err(), "{bad}");
        }
        for good in [
            "https://example.com/hook",
            "http://93.184.216.34/x",
            "https://not-yet-registered-host.example/w",
            "https://[2606:4700::1111]/",
        ] {
            assert!(validate_url(good, false).is_ok(), "{good}");
        }
        assert!(
            validate_url("http://127.0.0.1/x", true).is_ok(),
            "allowed by config"
        );
        assert!(!deliverable("10.0.0.1".parse().unwrap(), false));
        assert!(deliverable("10.0.0.1".parse().unwrap(), true));
        assert!(deliverable("8.8.8.8".parse().unwrap(), false));
    }
}
