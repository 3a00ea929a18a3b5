//! Webhook rules: what URL may be registered, which addresses may be called, which events exist.

use std::net::IpAddr;

use uuid::Uuid;

use super::address::{self, HostNumber};
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

/// An address a webhook must not be delivered to unless private targets are allowed: anything
/// not globally reachable (see `address::is_public`: loopback, private, link-local incl. cloud
/// metadata, CGNAT, benchmarking, documentation, multicast, reserved, ULA, and IPv6 forms that
/// embed one of those).
pub fn is_internal(ip: IpAddr) -> bool {
    !address::is_public(ip)
}

/// May a delivery go to this (resolved) address?
pub fn deliverable(ip: IpAddr, allow_private: bool) -> bool {
    allow_private || !is_internal(ip)
}

/// Where a webhook URL's host points before any lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An address literal, in whatever form the URL spelled it.
    Ip(IpAddr),
    /// A name, to be resolved (lower-case, punycode, as the URL parser left it).
    Name(String),
}

/// The host of a parsed URL as an address or a name. A name that is really an IPv4 address in a
/// form the parser left alone is an address; one that ends in a number but is no valid address
/// is refused (resolvers would make something of it).
pub fn target(url: &url::Url) -> Result<Target, Error> {
    match url.host() {
        Some(url::Host::Ipv4(v4)) => Ok(Target::Ip(IpAddr::V4(v4))),
        Some(url::Host::Ipv6(v6)) => Ok(Target::Ip(IpAddr::V6(v6))),
        Some(url::Host::Domain(name)) if !name.is_empty() => {
            match address::ipv4_in_any_form(name) {
                HostNumber::Ipv4(v4) => Ok(Target::Ip(IpAddr::V4(v4))),
                HostNumber::Name => Ok(Target::Name(name.to_ascii_lowercase())),
                HostNumber::Invalid => Err(Error::Invalid(format!(
                    "url host {name:?} looks like an IP address but is not a valid one"
                ))),
            }
        }
        _ => Err(bad_url()),
    }
}

fn bad_url() -> Error {
    Error::Invalid("url must be an http:// or https:// URL with a host".into())
}

/// An http(s) URL with a host, at most 2 KiB. A host that is an IP address — in any spelling:
/// decimal, hex, octal, short, IPv4-mapped and the other IPv6 forms that embed one — must be
/// public (unless allowed); `localhost` names are loopback. Other names are not resolved here: a
/// host that does not resolve yet is accepted, and delivery checks every address it resolves to.
/// The host is the one the WHATWG URL parser sees, the parser delivery uses too.
pub fn validate_url(url: &str, allow_private: bool) -> Result<String, Error> {
    let url = url.trim();
    let lowered = url.to_ascii_lowercase();
    if !(lowered.starts_with("https://") || lowered.starts_with("http://"))
        || url.len() > 2048
        || url.chars().any(|c| c.is_control() || c == ' ' || c == '\\')
    {
        return Err(bad_url());
    }
    // `http:///x` names no host (the URL parser would take `x` for one).
    let rest = &url[url.find("://").map_or(0, |i| i + 3)..];
    if rest.starts_with(['/', '?', '#']) {
        return Err(bad_url());
    }
    let parsed = url::Url::parse(url).map_err(|_| bad_url())?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad_url());
    }
    let ip = match target(&parsed)? {
        Target::Ip(ip) => Some(ip),
        // `localhost` and friends are loopback by definition, without any lookup.
        Target::Name(name) => {
            let name = name.trim_end_matches('.');
            (name == "localhost" || name.ends_with(".localhost"))
                .then_some(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST))
        }
    };
    if let Some(ip) = ip {
        if !deliverable(ip, allow_private) {
            return Err(Error::Invalid(format!(
                "url points to an internal address ({ip}); webhooks must reach a public host"
            )));
        }
    }
    Ok(url.to_string())
}

/// The events a Livepeer webhook may subscribe to: the enum of Livepeer's API schema and of its
/// published SDKs (npm `livepeer` 3.x, PyPI `livepeer` 0.x), which refuse a webhook naming any
/// other. streamgate sends `stream.started` and `stream.idle` itself; the others are queued by
/// whatever produces them (`Services::livepeer_event_deliveries`).
/// The event a Brightcove Live job notifies: its state changed.
pub const BRIGHTCOVE_EVENTS: &[&str] = &["state_changed"];

pub const LIVEPEER_EVENTS: &[&str] = &[
    "stream.started",
    "stream.detection",
    "stream.idle",
    "recording.ready",
    "recording.started",
    "recording.waiting",
    "multistream.connected",
    "multistream.error",
    "multistream.disconnected",
    "playback.user.new",
    "playback.accessControl",
    "asset.created",
    "asset.updated",
    "asset.failed",
    "asset.ready",
    "asset.deleted",
    "task.spawned",
    "task.updated",
    "task.completed",
    "task.failed",
];

/// The longest signing secret a caller may choose (Livepeer's `sharedSecret`), in characters.
pub const MAX_SHARED_SECRET: usize = 256;

/// Whose API a webhook belongs to. Each dialect lists and serves only its own flavor: the events,
/// the payloads and the signatures differ (api.video: `X-Api-Video-Signature` over the body;
/// Livepeer: `Livepeer-Signature: t=…,v1=…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flavor {
    ApiVideo,
    Livepeer,
    /// A Brightcove Live job's notification endpoint (`live_job`): made with its job, never
    /// listed as a webhook by any dialect.
    Brightcove,
}

impl Flavor {
    pub fn as_str(self) -> &'static str {
        match self {
            Flavor::ApiVideo => "apivideo",
            Flavor::Livepeer => "livepeer",
            Flavor::Brightcove => "brightcove",
        }
    }

    pub fn parse(s: &str) -> Result<Flavor, Error> {
        match s {
            "apivideo" => Ok(Flavor::ApiVideo),
            "livepeer" => Ok(Flavor::Livepeer),
            "brightcove" => Ok(Flavor::Brightcove),
            other => Err(Error::Invalid(format!("unknown webhook flavor {other:?}"))),
        }
    }

    /// The events a webhook of this flavor may subscribe to.
    pub fn events(self) -> &'static [&'static str] {
        match self {
            Flavor::ApiVideo => EVENTS,
            Flavor::Livepeer => LIVEPEER_EVENTS,
            Flavor::Brightcove => BRIGHTCOVE_EVENTS,
        }
    }
}

/// Each event known to the flavor, at most once each. api.video's webhooks need at least one;
/// Livepeer (Studio) takes an empty list.
pub fn validate_events(flavor: Flavor, events: &[String]) -> Result<(), Error> {
    let known = flavor.events();
    if events.is_empty() && flavor == Flavor::ApiVideo {
        return Err(Error::Invalid("events must name at least one event".into()));
    }
    if events.len() > known.len() {
        return Err(Error::Invalid(format!(
            "events must name at most {} events, each once",
            known.len()
        )));
    }
    for e in events {
        if !known.contains(&e.as_str()) {
            return Err(Error::Invalid(format!(
                "unknown event {e:?}; known events: {}",
                known.join(", ")
            )));
        }
    }
    Ok(())
}

/// A signing secret the caller chose: 1 to `MAX_SHARED_SECRET` characters, none a control
/// character.
pub fn validate_shared_secret(secret: &str) -> Result<(), Error> {
    if secret.is_empty() || secret.chars().count() > MAX_SHARED_SECRET {
        return Err(Error::Invalid(format!(
            "sharedSecret must be 1 to {MAX_SHARED_SECRET} characters"
        )));
    }
    if secret.chars().any(char::is_control) {
        return Err(Error::Invalid(
            "sharedSecret must not contain control characters".into(),
        ));
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
    pub flavor: Flavor,
    /// Livepeer's `name` (api.video's webhooks have none).
    pub name: Option<String>,
    /// Livepeer's `streamId`: only that stream's events are delivered to it.
    pub stream_id: Option<Uuid>,
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
    }

    #[test]
    fn events_are_checked_against_the_flavor() {
        let ev = |v: &[&str]| v.iter().map(|e| e.to_string()).collect::<Vec<_>>();
        assert!(validate_events(Flavor::ApiVideo, &ev(&["live-stream.broadcast.started"])).is_ok());
        assert!(validate_events(Flavor::ApiVideo, &ev(&["stream.started"])).is_err());
        assert!(validate_events(Flavor::ApiVideo, &[]).is_err());
        assert!(validate_events(Flavor::Livepeer, &ev(&["stream.started", "asset.ready"])).is_ok());
        assert!(
            validate_events(Flavor::Livepeer, &ev(&["live-stream.broadcast.started"])).is_err()
        );
        assert!(
            validate_events(Flavor::Livepeer, &[]).is_ok(),
            "Studio takes none"
        );
        assert!(validate_events(Flavor::Livepeer, &ev(&["stream.idle"; 21])).is_err());
        for f in [Flavor::ApiVideo, Flavor::Livepeer, Flavor::Brightcove] {
            assert_eq!(Flavor::parse(f.as_str()).unwrap(), f);
        }
        assert!(Flavor::parse("edgecast").is_err());
        assert!(validate_events(Flavor::Brightcove, &ev(&["state_changed"])).is_ok());
        assert!(validate_events(Flavor::Brightcove, &ev(&["stream.idle"])).is_err());
        assert!(validate_shared_secret("s3cret").is_ok());
        assert!(validate_shared_secret("").is_err());
        assert!(validate_shared_secret(&"x".repeat(MAX_SHARED_SECRET + 1)).is_err());
        assert!(validate_shared_secret("a\nb").is_err());
    }

    #[test]
    fn hosts_are_checked_in_every_spelling() {
        for bad in [
            "http://2130706433/",
            "http://0x7f000001/",
            "http://0x7f.0.0.1/",
            "http://0177.0.0.1/",
            "http://0177.0.0.01:8080/x",
            "http://127.1/",
            "http://10.1/",
            "http://0xa9fea9fe/latest/meta-data",
            "http://%31%32%37.0.0.1/",
            "http://127.0.0.1./",
            "HTTP://LOCALHOST./",
            "http://api.localhost/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://[::127.0.0.1]/",
            "http://[64:ff9b::127.0.0.1]/",
            "http://[64:ff9b::a00:1]/",
            "http://[64:ff9b:1::a00:1]/",
            "http://[2002:7f00:1::]/",
            "http://[2002:c0a8:101::1]/",
            "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",
            "http://198.18.0.1/",
            "http://198.19.255.1/",
            "http://192.0.0.1/",
            "http://192.0.2.1/",
            "http://203.0.113.1/",
            "http://224.0.0.1/",
            "http://240.0.0.1/",
            "http://255.255.255.255/",
            "http://100.100.100.200/",
            "http://[fc00::1]/",
            "http://[fe80::1%25eth0]/",
            "http://[ff02::1]/",
            "http://[::]/",
            "http://1.2.3.4.5/",
            "http://256.1.1.1/",
            "http://evil.example\\@127.0.0.1/",
        ] {
            assert!(validate_url(bad, false).is_err(), "{bad}");
        }
        for good in [
            "http://134744072/",
            "http://0x8.0x8.0x8.0x8/",
            "http://[::ffff:8.8.8.8]/",
            "http://[64:ff9b::808:808]/",
            "http://[2002:808:808::1]:8443/h",
            "https://[2a00:1450:4001:80b::200e]/w",
            "https://hooks.example.com./x",
            "https://1password.example/x",
        ] {
            assert!(validate_url(good, false).is_ok(), "{good}");
        }
        // The url crate normalizes the forms it knows; what it leaves as a name is checked too.
        let t = |u: &str| target(&url::Url::parse(u).unwrap()).unwrap();
        assert_eq!(
            t("http://0x7f.1/"),
            Target::Ip("127.0.0.1".parse().unwrap())
        );
        assert_eq!(t("http://[::1]:9/"), Target::Ip("::1".parse().unwrap()));
        assert_eq!(t("http://Example.COM/"), Target::Name("example.com".into()));
        assert!(!deliverable("10.0.0.1".parse().unwrap(), false));
        assert!(deliverable("10.0.0.1".parse().unwrap(), true));
        assert!(deliverable("8.8.8.8".parse().unwrap(), false));
    }
}

/// Properties: arbitrary URLs never panic the check; a URL naming an IPv4 address is accepted in
/// every spelling exactly when the address is public (and always when private targets are
/// allowed), and so is its IPv4-mapped IPv6 form.
#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn arbitrary_urls_never_panic(s in any::<String>(), host in "[a-zA-Z0-9.:\\[\\]%-]{0,40}") {
            let _ = validate_url(&s, false);
            let _ = validate_url(&format!("https://{s}"), false);
            let _ = validate_url(&format!("http://{host}/x"), false);
        }

        #[test]
        fn every_spelling_of_an_address_is_classified_alike(
            n in prop_oneof![
                any::<u32>(),
                // The ranges that matter most, more often.
                (0u32..=0xff_ffff).prop_map(|l| 0x7f00_0000 | l),
                (0u32..=0xffff).prop_map(|l| 0xa9fe_0000 | l),
                (0u32..=0xff_ffff).prop_map(|l| 0x0a00_0000 | l),
            ],
            https in any::<bool>(),
        ) {
            let ip = Ipv4Addr::from(n);
            let public = !is_internal(IpAddr::V4(ip));
            let scheme = if https { "https" } else { "http" };
            let mut forms = crate::address::props::spellings(ip);
            forms.push(format!("[::ffff:{ip}]"));
            for host in forms {
                let url = format!("{scheme}://{host}/hook");
                prop_assert_eq!(validate_url(&url, false).is_ok(), public, "{}", url);
                prop_assert!(validate_url(&url, true).is_ok(), "{}", url);
            }
        }
    }
}
