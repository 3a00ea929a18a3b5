//! Response bodies rendered from one cached copy of an object and kept with it, so that a polled
//! object is serialized once per version rather than once per request (as `KeyMemo` keeps the
//! `/sg/v1/me` body). A changed object is a new copy with an empty memo: nothing stale is served.

use std::sync::{OnceLock, RwLock};

use bytes::Bytes;

/// Which rendering a body is: each dialect renders an object its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rendering {
    Livepeer = 0,
    ApiVideo = 1,
}

const SLOTS: usize = 2;

/// One body per rendering. A rendering may also depend on the request (api.video's asset URLs
/// name the Host the client used): the memo keeps the body for the first `variant` it saw and
/// renders others afresh, so a body is never served for the wrong variant.
#[derive(Default)]
pub struct BodyMemo {
    slots: [OnceLock<(Box<str>, Bytes)>; SLOTS],
}

impl BodyMemo {
    /// The body for (`rendering`, `variant`): remembered, or made by `render` (and remembered
    /// if its slot is free). `None` only when `render` fails.
    pub fn get_or_render(
        &self,
        rendering: Rendering,
        variant: &str,
        render: impl FnOnce() -> Option<Bytes>,
    ) -> Option<Bytes> {
        let slot = &self.slots[rendering as usize];
        if let Some((v, body)) = slot.get() {
            return if &**v == variant {
                Some(body.clone())
            } else {
                render()
            };
        }
        let body = render()?;
        let _ = slot.set((variant.into(), body.clone()));
        Some(body)
    }
}

impl std::fmt::Debug for BodyMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Bodies may hold secrets (a stream key): never printed.
        let kept = self.slots.iter().filter(|s| s.get().is_some()).count();
        f.debug_struct("BodyMemo").field("kept", &kept).finish()
    }
}

/// Bodies rendered from several cached objects (a list page), each kept with the epoch of those
/// objects it was rendered at and served only while that epoch is current: the caller bumps the
/// epoch whenever any of the objects may have changed, and reads it before it gathers the
/// objects it renders from, so a body that raced a change is never served after it. One body
/// per rendering, for one variant at a time (the last rendered).
#[derive(Default)]
pub struct EpochMemo {
    slots: [RwLock<Option<Kept>>; SLOTS],
}

struct Kept {
    epoch: u64,
    variant: Box<str>,
    body: Bytes,
}

impl EpochMemo {
    /// The body for (`rendering`, `variant`) rendered at `epoch`, if there is one.
    pub fn get(&self, rendering: Rendering, variant: &str, epoch: u64) -> Option<Bytes> {
        let slot = self.slots[rendering as usize].read().ok()?;
        slot.as_ref()
            .filter(|k| k.epoch == epoch && &*k.variant == variant)
            .map(|k| k.body.clone())
    }

    /// Keeps `body`, rendered at `epoch`, unless a body of a later epoch is kept already.
    pub fn set(&self, rendering: Rendering, variant: &str, epoch: u64, body: Bytes) {
        if let Ok(mut slot) = self.slots[rendering as usize].write() {
            if slot.as_ref().is_none_or(|k| k.epoch <= epoch) {
                *slot = Some(Kept {
                    epoch,
                    variant: variant.into(),
                    body,
                });
            }
        }
    }
}

impl std::fmt::Debug for EpochMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Bodies may hold secrets (stream keys): never printed.
        let kept = self
            .slots
            .iter()
            .filter(|s| s.read().is_ok_and(|k| k.is_some()))
            .count();
        f.debug_struct("EpochMemo").field("kept", &kept).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_body_is_served_only_at_its_epoch_and_variant() {
        let memo = EpochMemo::default();
        let body = |s: &'static str| Bytes::from_static(s.as_bytes());
        assert_eq!(memo.get(Rendering::ApiVideo, "h1", 1), None);
        memo.set(Rendering::ApiVideo, "h1", 1, body("a"));
        assert_eq!(memo.get(Rendering::ApiVideo, "h1", 1), Some(body("a")));
        // Another epoch (something changed), variant or rendering: not this body.
        assert_eq!(memo.get(Rendering::ApiVideo, "h1", 2), None);
        assert_eq!(memo.get(Rendering::ApiVideo, "h2", 1), None);
        assert_eq!(memo.get(Rendering::Livepeer, "h1", 1), None);
        // A later epoch replaces it; an earlier one (a slow render that raced) does not.
        memo.set(Rendering::ApiVideo, "h1", 3, body("b"));
        memo.set(Rendering::ApiVideo, "h1", 2, body("stale"));
        assert_eq!(memo.get(Rendering::ApiVideo, "h1", 3), Some(body("b")));
        assert_eq!(memo.get(Rendering::ApiVideo, "h1", 2), None);
        memo.set(Rendering::Livepeer, "", 3, body("secret"));
        assert!(!format!("{memo:?}").contains("secret"));
    }

    #[test]
    fn a_body_is_rendered_once_per_rendering_and_variant() {
        let memo = BodyMemo::default();
        let mut calls = 0;
        let mut get = |r, v: &str, body: &'static str| {
            memo.get_or_render(r, v, || {
                calls += 1;
                Some(Bytes::from_static(body.as_bytes()))
            })
        };
        assert_eq!(
            get(Rendering::Livepeer, "", "a").as_deref(),
            Some(&b"a"[..])
        );
        assert_eq!(
            get(Rendering::Livepeer, "", "b").as_deref(),
            Some(&b"a"[..])
        );
        assert_eq!(
            get(Rendering::ApiVideo, "h1", "c").as_deref(),
            Some(&b"c"[..])
        );
        // Another variant is rendered afresh, never served the first variant's body.
        assert_eq!(
            get(Rendering::ApiVideo, "h2", "d").as_deref(),
            Some(&b"d"[..])
        );
        assert_eq!(
            get(Rendering::ApiVideo, "h1", "e").as_deref(),
            Some(&b"c"[..])
        );
        assert_eq!(calls, 3);
    }

    #[test]
    fn debug_shows_no_body() {
        let memo = BodyMemo::default();
        memo.get_or_render(Rendering::Livepeer, "", || {
            Some(Bytes::from_static(b"secret"))
        });
        assert!(!format!("{memo:?}").contains("secret"));
    }
}
