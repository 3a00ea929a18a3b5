//! api.video's page-numbered lists: `?currentPage=&pageSize=` in, `{data, pagination}` out.

use std::collections::HashMap;

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::{AvError, AvResult};

pub const DEFAULT_PAGE_SIZE: i64 = 25;
pub const MAX_PAGE_SIZE: i64 = 100;

/// `(currentPage, pageSize)` from the query, validated.
pub fn params(q: &HashMap<String, String>) -> AvResult<(i64, i64)> {
    let num = |k: &str, default: i64, max: i64| -> AvResult<i64> {
        match q.get(k).filter(|v| !v.is_empty()) {
            None => Ok(default),
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| {
                    AvError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_attribute",
                        format!("{k} must be an integer from 1 to {max}"),
                    )
                }),
        }
    };
    Ok((
        num("currentPage", 1, 1_000_000)?,
        num("pageSize", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)?,
    ))
}

/// The list body; `extra` query pairs (filters) are carried into every link.
pub fn body(
    data: Vec<Value>,
    path: &str,
    page: i64,
    size: i64,
    total: i64,
    extra: &[(&str, &str)],
) -> Value {
    let pagination = pagination(data.len(), path, page, size, total, extra);
    json!({
        "pagination": pagination,
        "data": data,
    })
}

/// The list body around items already rendered as JSON (memoised bodies), joined as they are.
pub fn body_of_rendered(
    data: &[bytes::Bytes],
    path: &str,
    page: i64,
    size: i64,
    total: i64,
    extra: &[(&str, &str)],
) -> Vec<u8> {
    let pagination = pagination(data.len(), path, page, size, total, extra);
    let mut out = Vec::with_capacity(1024 + data.iter().map(|d| d.len() + 1).sum::<usize>());
    out.extend_from_slice(b"{\"pagination\":");
    out.extend_from_slice(pagination.to_string().as_bytes());
    out.extend_from_slice(b",\"data\":");
    out.extend_from_slice(&crate::json::join_array(data.iter().map(|d| &d[..])));
    out.push(b'}');
    out
}

fn pagination(
    items: usize,
    path: &str,
    page: i64,
    size: i64,
    total: i64,
    extra: &[(&str, &str)],
) -> Value {
    let pages = ((total + size - 1) / size).max(1);
    let link = |rel: &str, p: i64| {
        let mut query = vec![format!("currentPage={p}"), format!("pageSize={size}")];
        for (k, v) in extra {
            query.push(format!("{k}={}", urlencode(v)));
        }
        json!({"rel": rel, "uri": format!("{path}?{}", query.join("&"))})
    };
    let mut links = vec![link("self", page), link("first", 1)];
    if page > 1 {
        links.push(link("previous", page - 1));
    }
    if page < pages {
        links.push(link("next", page + 1));
    }
    links.push(link("last", pages));
    json!({
        "currentPage": page,
        "currentPageItems": items,
        "pageSize": size,
        "pagesTotal": pages,
        "itemsTotal": total,
        "links": links,
    })
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
