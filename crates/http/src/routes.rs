//! Every route is declared with what it needs from its caller, and the router is built from those
//! declarations: the policy matrix test (tests/it/policy_matrix.rs) reads the same table, probes
//! every path with every method, and fails on any method that answers without a declaration.
//! The permission itself is checked by the service the handler calls (the dialects only
//! authenticate and translate); the declaration says which one that is.

use axum::http::Method;
use axum::routing::MethodRouter;
use axum::Router;

use crate::AppState;
use domain::Permission;

/// What a route needs from its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// An API key (or access token) holding this permission.
    Permission(Permission),
    /// Any valid API key or access token (who am I; an operation on the caller's own key).
    Key,
    /// Nothing: health, metrics, the public keys, the OpenAPI document.
    Anyone,
    /// A credential in the request body (api.video's `/auth/*`).
    BodyCredential,
    /// A media server's hook: an ingest token on the hook URL (`?token=`) or as Bearer; without
    /// one, 401 and nothing written (see `ingest::caller`).
    Ingest,
    /// A signed-in dashboard user (cookie and CSRF token).
    Dashboard,
}

/// One method of one route and what it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    pub method: Method,
    pub path: String,
    pub need: Need,
}

/// A router and the declarations it was built from.
pub struct Routes {
    router: Router<AppState>,
    specs: Vec<RouteSpec>,
}

impl Default for Routes {
    fn default() -> Self {
        Self::new()
    }
}

impl Routes {
    pub fn new() -> Self {
        Self {
            router: Router::new(),
            specs: Vec::new(),
        }
    }

    /// `path` served by `handler`, with what each of its methods needs.
    pub fn route(
        mut self,
        path: &str,
        handler: MethodRouter<AppState>,
        needs: &[(Method, Need)],
    ) -> Self {
        self.router = self.router.route(path, handler);
        self.specs.extend(needs.iter().map(|(m, n)| RouteSpec {
            method: m.clone(),
            path: path.to_string(),
            need: *n,
        }));
        self
    }

    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.specs.extend(other.specs);
        self
    }

    /// Applies `f` to the router (layers, fallbacks, nesting); `prefix` is what nesting adds to
    /// the declared paths.
    pub fn map(
        mut self,
        prefix: &str,
        f: impl FnOnce(Router<AppState>) -> Router<AppState>,
    ) -> Self {
        self.router = f(self.router);
        if !prefix.is_empty() {
            for s in &mut self.specs {
                s.path = format!("{prefix}{}", s.path);
            }
        }
        self
    }

    pub fn into_parts(self) -> (Router<AppState>, Vec<RouteSpec>) {
        (self.router, self.specs)
    }
}

/// `Need::Permission(Permission(resource, action))`, briefly.
#[macro_export]
macro_rules! perm {
    ($r:ident : $a:ident) => {
        $crate::routes::Need::Permission(domain::Permission(
            domain::Resource::$r,
            domain::Action::$a,
        ))
    };
}
