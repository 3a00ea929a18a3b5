//! Credentials from every header style the platforms use, all resolving to one `Actor`.

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, ORIGIN};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use base64::Engine;
use zeroize::Zeroizing;

use super::error::{ApiError, Dialect};
use super::AppState;
use crate::ratelimit_headers::RateSlot;
use domain::{Actor, AuthFailure, Error, RateDecision};

/// A presented secret, borrowed from the header where possible (the hot path allocates nothing).
pub enum Presented<'a> {
    Borrowed(&'a str),
    Decoded(Zeroizing<String>),
}

impl Presented<'_> {
    pub fn as_str(&self) -> &str {
        match self {
            Presented::Borrowed(s) => s,
            Presented::Decoded(s) => s,
        }
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// `Authorization: Bearer <key>` | `Basic base64(<key>:)` | `TOK:<key>`, or `X-API-KEY: <key>`.
pub fn presented_key(headers: &HeaderMap) -> Result<Presented<'_>, AuthFailure> {
    if let Some(value) = headers.get(AUTHORIZATION) {
        let value = value.to_str().map_err(|_| AuthFailure::Malformed)?.trim();
        let key = if let Some(rest) = strip_prefix_ci(value, "Bearer ") {
            Presented::Borrowed(rest.trim())
        } else if let Some(rest) = strip_prefix_ci(value, "Basic ") {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(rest.trim())
                .map_err(|_| AuthFailure::Malformed)?;
            let text = Zeroizing::new(String::from_utf8(raw).map_err(|_| AuthFailure::Malformed)?);
            let user = text.split_once(':').map_or(text.as_str(), |(u, _)| u);
            Presented::Decoded(Zeroizing::new(user.to_string()))
        } else if let Some(rest) = strip_prefix_ci(value, "TOK:") {
            Presented::Borrowed(rest.trim())
        } else {
            return Err(AuthFailure::Malformed);
        };
        if key.as_str().is_empty() {
            return Err(AuthFailure::Malformed);
        }
        return Ok(key);
    }
    if let Some(value) = headers.get("x-api-key") {
        let value = value.to_str().map_err(|_| AuthFailure::Malformed)?.trim();
        if value.is_empty() {
            return Err(AuthFailure::Malformed);
        }
        return Ok(Presented::Borrowed(value));
    }
    Err(AuthFailure::Missing)
}

/// An authenticated caller; a failure is rendered in dialect `D`'s error format.
pub struct Authed<D>(pub Actor, pub PhantomData<fn() -> D>);

impl<D: Dialect> FromRequestParts<AppState> for Authed<D> {
    type Rejection = ApiError<D>;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        authenticate::<D>(state, parts)
            .await
            .map(|actor| Authed(actor, PhantomData))
    }
}

/// An access token (a JWT: three dot-separated parts) rather than an API key.
pub fn is_access_token(s: &str) -> bool {
    s.starts_with("eyJ") && s.matches('.').count() == 2
}

/// Two credentials: which one counts would be a guess (a proxy and the server may disagree).
/// Every way a request authenticates checks this first.
pub fn one_authorization(headers: &HeaderMap) -> Result<(), Error> {
    match headers.get_all(AUTHORIZATION).iter().nth(1) {
        Some(_) => Err(Error::Invalid(
            "send one Authorization header, not several".into(),
        )),
        None => Ok(()),
    }
}

/// The browser origin a request came from, if any.
pub fn origin(headers: &HeaderMap) -> Option<&str> {
    headers.get(ORIGIN).map(|v| v.to_str().unwrap_or("null"))
}

/// The caller behind any credential: an API key in any header style, or an access token as
/// `Bearer <token>`, admitted by the core's one policy (origin, rate limit, credits).
pub async fn authenticate_any(state: &AppState, headers: &HeaderMap) -> Result<Actor, Error> {
    one_authorization(headers)?;
    let origin = origin(headers);
    match presented_key(headers) {
        Ok(cred) if is_access_token(cred.as_str()) => {
            state.svc.authenticate_token(cred.as_str(), origin).await
        }
        Ok(key) => state.svc.authenticate(key.as_str(), origin).await,
        Err(failure) => Err(Error::Unauthenticated(failure)),
    }
}

/// The rate-limit decision behind an authentication's outcome, for `X-RateLimit-*`.
pub fn rate_of(result: &Result<Actor, Error>) -> Option<RateDecision> {
    match result {
        Ok(a) => a.rate,
        Err(Error::RateLimited(d)) => Some(*d),
        Err(_) => None,
    }
}

/// Reports the decision to the response layer (`ratelimit_headers`), if this request has one.
pub fn report_rate(parts: &Parts, rate: Option<RateDecision>) {
    if let (Some(slot), Some(d)) = (parts.extensions.get::<RateSlot>(), rate) {
        slot.report(d);
    }
}

/// The caller behind the request, or a refusal in dialect `D`'s error format (counted in metrics).
pub async fn authenticate<D: Dialect>(
    state: &AppState,
    parts: &Parts,
) -> Result<Actor, ApiError<D>> {
    let (rate, result) = admit::<D>(state, &parts.headers).await;
    report_rate(parts, rate);
    result
}

/// [`authenticate`] on the headers alone, with the rate-limit decision for `X-RateLimit-*`
/// handed back rather than reported: shared with the accept loop's hot routes (`http::hot`).
pub async fn admit<D: Dialect>(
    state: &AppState,
    headers: &HeaderMap,
) -> (Option<RateDecision>, Result<Actor, ApiError<D>>) {
    let result = authenticate_any(state, headers).await;
    let rate = rate_of(&result);
    let result = result.map_err(|e| {
        count_refusal(state, D::NAME, &e);
        e.into()
    });
    (rate, result)
}

/// Counts (in metrics) and logs a refused authentication in `dialect`; other errors are not
/// refusals and are left to the error's rendering. Shared with the hot route (`http::hot`).
pub fn count_refusal(state: &AppState, dialect: &'static str, e: &Error) {
    if let Error::Unauthenticated(f) = e {
        state.metrics.auth_failure(dialect, f.as_str());
        tracing::debug!(dialect, reason = f.as_str(), "authentication refused");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(name: &'static str, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn every_header_style_yields_the_key() {
        let b64 = base64::engine::general_purpose::STANDARD.encode("sg_k:");
        for h in [
            with("authorization", "Bearer sg_k"),
            with("authorization", "bearer  sg_k "),
            with("authorization", &format!("Basic {b64}")),
            with("authorization", "TOK:sg_k"),
            with("x-api-key", "sg_k"),
        ] {
            assert_eq!(
                presented_key(&h)
                    .ok()
                    .map(|p| p.as_str().to_string())
                    .as_deref(),
                Some("sg_k")
            );
        }
    }

    #[test]
    fn bad_headers_are_malformed_or_missing() {
        assert_eq!(
            presented_key(&HeaderMap::new()).err(),
            Some(AuthFailure::Missing)
        );
        for bad in ["Bearer ", "Basic !!!", "Digest abc", "TOK:", "Basic Og=="] {
            assert_eq!(
                presented_key(&with("authorization", bad)).err(),
                Some(AuthFailure::Malformed),
                "{bad}"
            );
        }
        let mut h = HeaderMap::new();
        h.insert(
            AUTHORIZATION,
            HeaderValue::from_bytes(b"Bearer \xff").unwrap(),
        );
        assert_eq!(presented_key(&h).err(), Some(AuthFailure::Malformed));
    }
}

/// Properties: no header value panics the reader; a key presented in any header style reads back
/// as itself.
#[cfg(test)]
mod props {
    use super::*;
    use axum::http::HeaderValue;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_header_values_never_panic(
            bytes in prop::collection::vec(any::<u8>(), 0..200),
            scheme in prop::sample::select(vec!["Bearer ", "bEaReR ", "Basic ", "basic ", "TOK:", "tok:", ""]),
            rest in any::<String>(),
        ) {
            let mut values = vec![bytes];
            values.push(format!("{scheme}{rest}").into_bytes());
            for v in values {
                if let Ok(v) = HeaderValue::from_bytes(&v) {
                    for name in ["authorization", "x-api-key"] {
                        let mut h = HeaderMap::new();
                        h.insert(name, v.clone());
                        let _ = presented_key(&h);
                        let _ = origin(&h);
                        let _ = is_access_token(v.to_str().unwrap_or(""));
                    }
                }
            }
        }

        #[test]
        fn a_key_in_any_style_reads_back(
            key in "[A-Za-z0-9_.-]{1,80}",
            password in "[ -~]{0,20}",
            pad in "[ ]{0,3}",
        ) {
            let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
            for (name, value) in [
                ("authorization", format!("Bearer {pad}{key}{pad}")),
                ("authorization", format!("bearer {key}")),
                ("authorization", format!("Basic {}", b64(&format!("{key}:{password}")))),
                ("authorization", format!("Basic {}", b64(&key))),
                ("authorization", format!("TOK:{key}")),
                ("x-api-key", format!("{pad}{key}")),
            ] {
                let mut h = HeaderMap::new();
                h.insert(name, HeaderValue::from_str(&value).unwrap());
                let got = presented_key(&h).map(|p| p.as_str().to_string());
                prop_assert_eq!(got, Ok(key.clone()), "{}: {}", name, value);
            }
        }
    }
}
