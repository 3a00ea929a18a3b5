//! How a dialect's routes are described in the OpenAPI document: what the route table
//! (`routes.rs`) and each dialect's error type (`error.rs`) both name.

/// How a dialect's routes are described in the OpenAPI document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DialectDoc {
    /// The tag its operations are grouped under.
    pub tag: &'static str,
    /// The security schemes (names in the document's components) a key is accepted in, its
    /// platform's own first. Every dialect takes every header style (`auth::presented_key`).
    pub key_schemes: &'static [&'static str],
    /// The content type of its error bodies.
    pub error_content_type: &'static str,
    /// The JSON Schema of its error bodies, as JSON text.
    pub error_schema: &'static str,
}

impl DialectDoc {
    /// Routes outside any dialect (health, metrics, the ingest hooks): no error body.
    pub const PLAIN: DialectDoc = DialectDoc {
        tag: "ops",
        key_schemes: &[],
        error_content_type: "",
        error_schema: "",
    };
}
