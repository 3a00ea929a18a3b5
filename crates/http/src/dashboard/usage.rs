//! Usage at a glance: requests and refused authentications per key over the last hour, day or
//! 30 days, and each stream's ingest sessions as a timeline — server-rendered SVG, no script.

use axum::extract::{Query, State};
use axum::response::Response;
use maud::{html, Markup, PreEscaped};
use serde::Deserialize;

use super::layout::{env_label, shell};
use super::{DashResult, Who};
use crate::AppState;
use domain::clock::rfc3339;
use domain::{Session, Stream};
use service::dashboard::{Period, UsageReport};

#[derive(Deserialize)]
pub struct PeriodQuery {
    period: Option<String>,
}

const W: f64 = 640.0;
const H: f64 = 170.0;
const PAD_L: f64 = 44.0;
const PAD_B: f64 = 22.0;
const PAD_T: f64 = 10.0;

fn label_at(ms: i64, period: Period) -> String {
    let s = rfc3339(ms);
    match period {
        Period::Hour | Period::Day => s[11..16].to_string(),
        Period::Month => s[5..10].to_string(),
    }
}

/// A bar chart of `values` (one per bucket from `start`, `step` apart), with a y-axis maximum,
/// three time labels and a tooltip per bar.
pub fn chart_svg(
    title: &str,
    values: &[i64],
    start: i64,
    step: i64,
    period: Period,
    color: &str,
) -> Markup {
    let max = values.iter().copied().max().unwrap_or(0).max(1);
    let n = values.len().max(1) as f64;
    let plot_w = W - PAD_L - 8.0;
    let plot_h = H - PAD_B - PAD_T;
    let bw = plot_w / n;
    let mut svg = String::new();
    use std::fmt::Write as _;
    let _ = write!(
        svg,
        r##"<svg viewBox="0 0 {W} {H}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">"##,
        maud::html! { (title) }.into_string()
    );
    // Grid: baseline and top line with the maximum.
    let base = PAD_T + plot_h;
    let _ = write!(
        svg,
        r##"<line x1="{PAD_L}" y1="{base}" x2="{}" y2="{base}" stroke="#c9ced6"/><line x1="{PAD_L}" y1="{PAD_T}" x2="{}" y2="{PAD_T}" stroke="#eef0f3"/>"##,
        W - 8.0,
        W - 8.0
    );
    let _ = write!(
        svg,
        r##"<text x="{}" y="{}" text-anchor="end" font-size="11" fill="#667085">{max}</text><text x="{}" y="{base}" text-anchor="end" font-size="11" fill="#667085">0</text>"##,
        PAD_L - 6.0,
        PAD_T + 4.0,
        PAD_L - 6.0
    );
    for (i, v) in values.iter().enumerate() {
        if *v == 0 {
            continue;
        }
        let h = (*v as f64 / max as f64) * plot_h;
        let x = PAD_L + i as f64 * bw + bw * 0.12;
        let _ = write!(
            svg,
            r##"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{h:.1}" rx="1.5" fill="{color}"><title>{} UTC: {v}</title></rect>"##,
            base - h,
            (bw * 0.76).max(1.0),
            label_at(start + i as i64 * step, period)
        );
    }
    let last = values.len().saturating_sub(1) as i64;
    for (i, anchor) in [(0, "start"), (last / 2, "middle"), (last, "end")] {
        let x = match anchor {
            "start" => PAD_L,
            "end" => W - 8.0,
            _ => PAD_L + (i as f64 + 0.5) * bw,
        };
        let _ = write!(
            svg,
            r##"<text x="{x:.1}" y="{}" text-anchor="{anchor}" font-size="11" fill="#667085">{}</text>"##,
            H - 5.0,
            label_at(start + i * step, period)
        );
    }
    svg.push_str("</svg>");
    PreEscaped(svg)
}

/// A small bar line of `values` for a table cell, with a tooltip per bar.
fn sparkline_svg(values: &[i64], start: i64, step: i64, period: Period) -> Markup {
    let max = values.iter().copied().max().unwrap_or(0).max(1);
    let (w, h) = (240.0, 28.0);
    let bw = w / values.len().max(1) as f64;
    let mut svg = format!(
        r##"<svg class="spark" viewBox="0 0 {w} {h}" role="img" aria-label="requests over time" xmlns="http://www.w3.org/2000/svg"><line x1="0" y1="{h}" x2="{w}" y2="{h}" stroke="#c9ced6"/>"##
    );
    use std::fmt::Write as _;
    for (i, v) in values.iter().enumerate().filter(|(_, v)| **v > 0) {
        let bh = (*v as f64 / max as f64 * (h - 2.0)).max(1.5);
        let _ = write!(
            svg,
            r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{bh:.1}" fill="#8aa4f2"><title>{} UTC: {v}</title></rect>"##,
            i as f64 * bw,
            h - bh,
            (bw * 0.8).max(1.0),
            label_at(start + i as i64 * step, period)
        );
    }
    svg.push_str("</svg>");
    PreEscaped(svg)
}

/// Each stream with sessions in the window as one row of bars, from start to end (or now).
fn timeline_svg(rows: &[(String, Vec<Session>)], start: i64, end: i64, period: Period) -> Markup {
    let row_h = 26.0;
    let label_w = 140.0;
    let h = rows.len() as f64 * row_h + 24.0;
    let span = (end - start).max(1) as f64;
    let plot_w = W - label_w - 8.0;
    let x_of = |t: i64| label_w + ((t.clamp(start, end) - start) as f64 / span) * plot_w;
    let mut svg = String::new();
    use std::fmt::Write as _;
    let _ = write!(
        svg,
        r##"<svg viewBox="0 0 {W} {h}" role="img" aria-label="Ingest sessions" xmlns="http://www.w3.org/2000/svg">"##
    );
    for (r, (name, sessions)) in rows.iter().enumerate() {
        let y = r as f64 * row_h;
        let short: String = name.chars().take(18).collect();
        let _ = write!(
            svg,
            r##"<text x="0" y="{:.1}" font-size="12" fill="#1b1f24">{}</text><line x1="{label_w}" y1="{:.1}" x2="{}" y2="{:.1}" stroke="#eef0f3"/>"##,
            y + 16.0,
            maud::html! { (short) }.into_string(),
            y + 12.0,
            W - 8.0,
            y + 12.0
        );
        for s in sessions {
            let x1 = x_of(s.started_at);
            let x2 = x_of(s.ended_at.unwrap_or(end)).max(x1 + 3.0);
            let color = if s.ended_at.is_none() {
                "#1d7f46"
            } else {
                "#2f5bea"
            };
            let _ = write!(
                svg,
                r##"<rect x="{x1:.1}" y="{:.1}" width="{:.1}" height="14" rx="3" fill="{color}"><title>{} → {}</title></rect>"##,
                y + 5.0,
                x2 - x1,
                rfc3339(s.started_at),
                s.ended_at.map(rfc3339).unwrap_or_else(|| "live".into())
            );
        }
    }
    let base = rows.len() as f64 * row_h + 16.0;
    for (t, anchor) in [(start, "start"), (end, "end")] {
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="{base:.1}" text-anchor="{anchor}" font-size="11" fill="#667085">{}</text>"##,
            x_of(t),
            label_at(t, period)
        );
    }
    svg.push_str("</svg>");
    PreEscaped(svg)
}

fn chart_card(title: &str, total: i64, svg: Markup, id: &str) -> Markup {
    html! {
        div.panel.chart id=(id) {
            div.toolbar {
                h2 { (title) }
                span.total data-total=(total) { (total) }
            }
            (svg)
        }
    }
}

pub async fn page(
    State(state): State<AppState>,
    Who(who): Who,
    Query(q): Query<PeriodQuery>,
) -> DashResult<Response> {
    let period = q
        .period
        .as_deref()
        .and_then(Period::parse)
        .unwrap_or(Period::Day);
    let actor = who.actor();
    let report: UsageReport = state.svc.usage_report(&actor, period).await?;
    let (step, n) = period.steps();
    let requests = report.total(|k| &k.requests);
    let failures = report.total(|k| &k.auth_failures);
    let end = report.start + step * n as i64;
    // Sessions of this environment's (live, not deleted) streams in the window: one query.
    let streams: Vec<Stream> = state.svc.list_streams(&actor, None, 200).await?.items;
    let sessions = state
        .svc
        .recent_sessions(&actor, report.start, service::streams::MAX_PAGE)
        .await?;
    let rows: Vec<(String, Vec<Session>)> = streams
        .into_iter()
        .filter_map(|s| {
            let mine: Vec<Session> = sessions
                .iter()
                .filter(|x| x.stream_id == s.id)
                .cloned()
                .collect();
            (!mine.is_empty()).then_some((s.name, mine))
        })
        .collect();
    let body = html! {
        div.toolbar {
            p.muted { "Requests authenticated by this account's keys, and calls refused because the key was revoked or expired." }
            nav.periods {
                @for (p, label) in [(Period::Hour, "Last hour"), (Period::Day, "Last day"), (Period::Month, "30 days")] {
                    a href={ "/dashboard/usage?period=" (p.as_str()) } class=[(p == period).then_some("active")] { (label) }
                }
            }
        }
        div.charts {
            (chart_card("Requests", requests.iter().sum(), chart_svg("Requests", &requests, report.start, step, period, "#2f5bea"), "chart-requests"))
            (chart_card("Auth failures", failures.iter().sum(), chart_svg("Auth failures", &failures, report.start, step, period, "#c4321c"), "chart-failures"))
        }
        h2 { "Per key" }
        div.table-wrap {
            table {
                thead { tr { th { "Key" } th { "Environment" } th { "Requests" } th { "Auth failures" } th.hide-narrow { "Over time" } } }
                tbody {
                    @for k in &report.keys {
                        tr data-key=(k.key_id) {
                            td { (k.name) }
                            td { (env_label(k.environment)) }
                            td.requests { (k.requests.iter().sum::<i64>()) }
                            td { (k.auth_failures.iter().sum::<i64>()) }
                            td.hide-narrow.chart { (sparkline_svg(&k.requests, report.start, step, period)) }
                        }
                    }
                }
            }
        }
        h2 { "Ingest sessions" }
        div.panel.chart #sessions {
            @if rows.is_empty() {
                p.muted { "No " (env_label(who.session.environment).to_lowercase()) " stream was live in this window." }
            } @else {
                (timeline_svg(&rows, report.start, end.min(state.svc.now_ms().max(report.start + 1)), period))
            }
        }
    };
    Ok(shell(&who, "usage", "Usage", body))
}
