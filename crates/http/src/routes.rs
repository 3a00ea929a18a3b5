//! Every route is declared with what it needs from its caller, and the router is built from those
//! declarations: the policy matrix test (tests/it/policy_matrix.rs) reads the same table, probes
//! every path with every method, and fails on any method that answers without a declaration.
//! The permission itself is checked by the service the handler calls (the dialects only
//! authenticate and translate); the declaration says which one that is.
//!
//! The same declarations describe each route in the OpenAPI document (`/openapi.json`, built by
//! `ops::Document` from this table): its path parameters, the security scheme its `Need` implies,
//! its request body ([`Body`]) and its dialect's error responses ([`DialectDoc`]); a test
//! (tests/it/fuzz_api.rs) fails if a declared route is missing from the document or the reverse.

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
    /// An upload credential in the query (`?token=`): an api.video upload token, or the token
    /// of a one-time upload URL. Without a live one: 401, and nothing written.
    UploadCredential,
}

pub use crate::dialect_doc::DialectDoc;

/// A JSON body's schema, from the type the handler parses it into.
#[derive(Clone, Copy)]
pub struct JsonSchema {
    /// The schema's name and those of the schemas it refers to, each with its schema.
    pub schemas: fn() -> Vec<(
        String,
        utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
    )>,
}

impl std::fmt::Debug for JsonSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = (self.schemas)().into_iter().next().map(|(n, _)| n);
        write!(f, "JsonSchema({name:?})")
    }
}

impl PartialEq for JsonSchema {
    fn eq(&self, other: &Self) -> bool {
        let name = |s: &Self| (s.schemas)().into_iter().next().map(|(n, _)| n);
        name(self) == name(other)
    }
}

impl Eq for JsonSchema {}

/// What a route's request body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// None (reads, deletes, actions without parameters).
    None,
    /// A JSON object whose fields the handler checks (described as any object).
    AnyJson,
    /// A JSON body of a described type.
    Json(JsonSchema),
    /// An HTML or nginx-rtmp form (`application/x-www-form-urlencoded`).
    Form,
    /// A file in a `multipart/form-data` form (api.video's uploads), streamed.
    Multipart,
    /// A file as the raw body (a one-time upload URL's PUT), streamed.
    Binary,
}

impl Body {
    /// The body `T` (a `utoipa::ToSchema` type) describes.
    pub fn json<T: utoipa::ToSchema>() -> Body {
        Body::Json(JsonSchema {
            schemas: || {
                let mut out = vec![(T::name().into_owned(), T::schema())];
                T::schemas(&mut out);
                out
            },
        })
    }
}

/// One method of one route and what it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    pub method: Method,
    pub path: String,
    pub need: Need,
    /// Its dialect (error format, key header styles), for the OpenAPI document.
    pub dialect: DialectDoc,
    pub body: Body,
    /// The query parameters it reads (each a string), for the OpenAPI document.
    pub query: &'static [&'static str],
}

/// A router and the declarations it was built from.
pub struct Routes {
    router: Router<AppState>,
    specs: Vec<RouteSpec>,
    dialect: DialectDoc,
    /// The body a POST, PUT or PATCH takes unless declared otherwise (`Routes::body`).
    writes: Body,
    /// The path the last `route` declared (what `body` and `query` apply to).
    last: String,
}

impl Default for Routes {
    fn default() -> Self {
        Self::new()
    }
}

impl Routes {
    /// Routes outside any dialect: no error body, no request body unless declared.
    pub fn new() -> Self {
        Self {
            router: Router::new(),
            specs: Vec::new(),
            dialect: DialectDoc::PLAIN,
            writes: Body::None,
            last: String::new(),
        }
    }

    /// Routes of dialect `D`: its error bodies; a POST, PUT or PATCH takes `writes` unless
    /// declared otherwise.
    pub fn of<D: crate::error::Dialect>(writes: Body) -> Self {
        Self {
            dialect: D::DOC,
            writes,
            ..Self::new()
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
        let (dialect, writes) = (self.dialect, self.writes);
        self.specs.extend(needs.iter().map(|(m, n)| RouteSpec {
            method: m.clone(),
            path: path.to_string(),
            need: *n,
            dialect,
            body: if matches!(*m, Method::POST | Method::PUT | Method::PATCH) {
                writes
            } else {
                Body::None
            },
            query: &[],
        }));
        self.last = path.to_string();
        self
    }

    /// The last declared route's `method` takes `body`.
    pub fn body(mut self, method: Method, body: Body) -> Self {
        for s in &mut self.specs {
            if s.path == self.last && s.method == method {
                s.body = body;
            }
        }
        self
    }

    /// The last declared route's `method` reads these query parameters.
    pub fn query(mut self, method: Method, names: &'static [&'static str]) -> Self {
        for s in &mut self.specs {
            if s.path == self.last && s.method == method {
                s.query = names;
            }
        }
        self
    }

    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.specs.extend(other.specs);
        self.last = String::new();
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
