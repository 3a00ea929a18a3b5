//! Edgecast DCP stream keys: a stream path (`instance/stream`, optional trailing `*`) and the live
//! authentication key an encoder must present to publish to it.

use super::Error;

pub const MAX_KEY_LEN: usize = 256;
/// The longest DirPath accepted (instance, `/`, stream and `*`).
pub const MAX_DIR_PATH_LEN: usize = 256;

/// Validates a DirPath as the platform documents it and returns its canonical form: letters and
/// digits, exactly one `/` between a non-empty instance and a non-empty stream name, optionally a
/// trailing `*` (one or more characters); anything after the `*` is ignored, as documented.
pub fn validate_dir_path(raw: &str) -> Result<String, Error> {
    let bad = || {
        Error::Invalid(
            "DirPath must be instance/stream with letters and digits only, optionally ending in *"
                .into(),
        )
    };
    if raw.len() > MAX_DIR_PATH_LEN {
        return Err(Error::Invalid(format!(
            "DirPath must be at most {MAX_DIR_PATH_LEN} characters"
        )));
    }
    let path = match raw.find('*') {
        Some(i) => &raw[..=i],
        None => raw,
    };
    let (instance, stream) = path.split_once('/').ok_or_else(bad)?;
    let stream_name = stream.strip_suffix('*').unwrap_or(stream);
    let alnum = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric());
    // With a wildcard the stream part may be empty ("instance/*": any stream of the instance).
    let stream_ok = alnum(stream_name) || (stream_name.is_empty() && stream.ends_with('*'));
    if !alnum(instance) || !stream_ok {
        return Err(bad());
    }
    Ok(path.to_string())
}

/// A live authentication key: 1 to 256 letters and digits.
pub fn validate_key(key: &str) -> Result<(), Error> {
    if key.is_empty() || key.len() > MAX_KEY_LEN || !key.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return Err(Error::Invalid(format!(
            "Key must be 1 to {MAX_KEY_LEN} letters and digits"
        )));
    }
    Ok(())
}

/// The instance of a (validated) DirPath: what comes before its `/`.
pub fn instance_of(dir_path: &str) -> &str {
    dir_path.split_once('/').map_or(dir_path, |(i, _)| i)
}

/// The name an instance is owned under: media servers may match application names without
/// regard to case, so `Inst` and `inst` are one instance to ownership.
pub fn instance_owner_name(instance: &str) -> String {
    instance.to_ascii_lowercase()
}

/// The application an RTMP URL publishes into (`rtmp://host:1935/live` → `live`): its first
/// path segment.
pub fn rtmp_app(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let (_, path) = rest.split_once('/')?;
    let app = path.split(['/', '?']).next().unwrap_or("");
    (!app.is_empty()).then(|| app.to_string())
}

/// Does a publish to `instance/stream` fall under this DirPath?
pub fn dir_path_matches(dir_path: &str, publish_path: &str) -> bool {
    match dir_path.strip_suffix('*') {
        Some(prefix) => publish_path.len() > prefix.len() && publish_path.starts_with(prefix),
        None => dir_path == publish_path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dir_paths_follow_the_documented_rules() {
        assert_eq!(
            validate_dir_path("myinstance/livevideos").unwrap(),
            "myinstance/livevideos"
        );
        assert_eq!(validate_dir_path("inst/cam*").unwrap(), "inst/cam*");
        assert_eq!(
            validate_dir_path("inst/cam*ignored/x").unwrap(),
            "inst/cam*",
            "after * is ignored"
        );
        assert_eq!(validate_dir_path("inst/*").unwrap(), "inst/*");
        for bad in [
            "",
            "inst",
            "/stream",
            "inst/",
            "a/b/c",
            "in-st/s",
            "inst/s s",
            "inst/ström",
            "*/x",
        ] {
            assert!(validate_dir_path(bad).is_err(), "{bad:?}");
        }
        assert!(validate_key("abcdef123456").is_ok());
        assert!(validate_key(&"a".repeat(256)).is_ok());
        for bad in ["", "has space", "dash-no", &"a".repeat(257)] {
            assert!(validate_key(bad).is_err(), "{bad:?}");
        }
        assert!(dir_path_matches("inst/cam*", "inst/cam7"));
        assert!(
            !dir_path_matches("inst/cam*", "inst/cam"),
            "* is one or more characters"
        );
        assert!(dir_path_matches("inst/cam", "inst/cam"));
        assert!(!dir_path_matches("inst/cam", "inst/cam7"));
        assert_eq!(instance_of("inst/cam*"), "inst");
        assert_eq!(instance_owner_name("InSt"), "inst");
    }

    #[test]
    fn the_app_of_an_rtmp_url_is_its_first_path_segment() {
        assert_eq!(rtmp_app("rtmp://h:1935/live").as_deref(), Some("live"));
        assert_eq!(rtmp_app("rtmps://h/ingest/").as_deref(), Some("ingest"));
        assert_eq!(rtmp_app("rtmp://h/app/x?y").as_deref(), Some("app"));
        assert_eq!(rtmp_app("rtmp://h/app?q").as_deref(), Some("app"));
        assert_eq!(rtmp_app("rtmp://h"), None);
        assert_eq!(rtmp_app("rtmp://h/"), None);
    }
}

/// Properties: arbitrary text never panics the rules; a valid DirPath is accepted as it is; one
/// with a character outside the rules put before its `*` is refused with a message.
#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    fn valid() -> impl Strategy<Value = String> {
        ("[a-zA-Z0-9]{1,40}", "[a-zA-Z0-9]{0,40}", any::<bool>()).prop_filter_map(
            "a stream name, or a wildcard",
            |(i, s, star)| match (s.is_empty(), star) {
                (true, false) => None,
                (_, true) => Some(format!("{i}/{s}*")),
                (_, false) => Some(format!("{i}/{s}")),
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_text_never_panics(s in any::<String>(), p in any::<String>()) {
            let _ = validate_dir_path(&s);
            let _ = validate_key(&s);
            let _ = instance_of(&s);
            let _ = rtmp_app(&s);
            let _ = dir_path_matches(&s, &p);
        }

        #[test]
        fn valid_dir_paths_are_accepted_as_they_are(d in valid(), tail in any::<String>()) {
            prop_assert_eq!(validate_dir_path(&d).ok(), Some(d.clone()));
            // After a `*` anything is ignored (within the length cap).
            let long = format!("{d}{tail}");
            if d.ends_with('*') && long.len() <= MAX_DIR_PATH_LEN {
                prop_assert_eq!(validate_dir_path(&long).ok(), Some(d.clone()));
            }
            let publish = d.trim_end_matches('*');
            prop_assert_eq!(dir_path_matches(&d, &format!("{publish}x")), d.ends_with('*'));
        }

        #[test]
        fn a_character_outside_the_rules_is_refused_with_a_message(
            d in valid(),
            at in any::<prop::sample::Index>(),
            bad in any::<char>().prop_filter("outside the rules", |c| !c.is_ascii_alphanumeric() && *c != '*'),
        ) {
            // Before the `*` (what follows it is ignored), anywhere else.
            let end = d.find('*').unwrap_or(d.len());
            let i = at.index(end + 1);
            let mut mutant = d.clone();
            mutant.insert(i, bad);
            match validate_dir_path(&mutant) {
                Err(Error::Invalid(message)) => prop_assert!(message.contains("DirPath"), "{}", message),
                other => prop_assert!(false, "{:?} gave {:?}", mutant, other),
            }
        }
    }
}
