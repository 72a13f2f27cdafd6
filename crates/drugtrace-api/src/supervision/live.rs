//! The dashboard's live interceptions: the overview's ticker (with what is new since the
//! regulator last looked), the event stream that keeps it current
//! (`GET /dashboard/live/interceptions`) and the script that follows it
//! (`GET /dashboard/live.js`).

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use drugtrace_dashboard as dash;
use drugtrace_ledger::Store;
use drugtrace_money::Fen;

use super::auth::cookie;
use super::pages::{Page, PageResult};
use super::view::{self, BASE};
use crate::live::{Blocked, FeedId, Interceptions};
use crate::{ApiError, AppState};

/// The cookie that remembers the last interception a regulator's overview showed.
const SEEN_COOKIE: &str = "drugtrace_seen";
/// Streams open at once at most, over all regulators.
const MAX_STREAMS: usize = 256;
/// An open stream is sent a comment this often, so proxies keep it open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

static STREAMS: AtomicUsize = AtomicUsize::new(0);

/// The ticker of the overview for a request whose cookies are `headers`, and the cookie to
/// set: what it shows is seen from now on.
pub(crate) fn ticker<S>(
    state: &AppState<S>,
    ctx: &dash::Ctx,
    headers: &HeaderMap,
) -> Option<((dash::Ticker, String), HeaderValue)> {
    let feed = state.inner.live.as_ref()?;
    let snapshot = feed.snapshot(dash::TICKER_ROWS);
    let seen = cookie(headers, SEEN_COOKIE).and_then(|v| FeedId::parse(&v));
    let directory = state.inner.directory();
    let new = snapshot
        .latest
        .iter()
        .take_while(|(id, _)| seen.as_ref().is_none_or(|s| id > s))
        .count();
    let items = snapshot
        .latest
        .iter()
        .map(|(id, b)| interception(id, b, directory.get(&b.institution).map(|i| &i.name)))
        .collect();
    let after = snapshot.latest.first().map(|(id, _)| id.to_string());
    let stream = dash::with_param(
        &format!("{BASE}/live/interceptions?lang={}", ctx.lang.code()),
        "after",
        after.as_deref(),
    );
    let ticker = dash::Ticker {
        items,
        new,
        today: snapshot.today,
        stream,
    };
    // What the page shows is seen; with nothing today, the day itself is.
    let mark = after.unwrap_or_else(|| format!("{}/0/0", snapshot.day));
    let cookie = HeaderValue::try_from(format!(
        "{SEEN_COOKIE}={mark}; Path={BASE}; HttpOnly; SameSite=Strict; Max-Age=31536000"
    ))
    .ok()?;
    Some(((ticker, format!("{BASE}/live.js")), cookie))
}

fn interception(id: &FeedId, b: &Blocked, name: Option<&String>) -> dash::Interception {
    dash::Interception {
        id: id.to_string(),
        at: jiff::Timestamp::from_millisecond(b.at_ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH),
        institution: b.institution.clone(),
        institution_name: name.cloned(),
        code: b.code.clone(),
        reason: dash::ReasonName::parse(&b.reason),
        settlement: b.settlement.clone(),
        amount_fen: Fen::new(b.amount_fen),
    }
}

/// `GET /dashboard/live.js`: the script that follows the stream.
pub(crate) async fn script() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        dash::live_script(),
    )
        .into_response()
}

/// Counts an open stream until dropped.
struct Open;

impl Open {
    fn take() -> Option<Open> {
        let n = STREAMS.fetch_add(1, Ordering::SeqCst);
        if n >= MAX_STREAMS {
            STREAMS.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        Some(Open)
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        STREAMS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// `GET /dashboard/live/interceptions`: server-sent events, one `interception` event (a
/// [`dash::LiveItem`] as JSON, in the page's language, its id the feed position) for each
/// sale blocked after `Last-Event-ID` (a reconnecting browser sends it), else after the
/// `after` parameter (the last one the page showed), else from now. It ends when the server
/// shuts down.
pub(crate) async fn stream<S: Store + Sync + 'static>(
    page: Page<S>,
    headers: HeaderMap,
) -> PageResult {
    let Page {
        state, ctx, uri, ..
    } = page;
    let feed = state.inner.live.clone().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "no_live_feed",
            "this server keeps no live feed of blocked sales",
        )
    })?;
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| view::param(&uri, "after"));
    let start = match resume.as_deref().map(FeedId::parse) {
        Some(Some(id)) => Some(id),
        Some(None) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_event_id",
                format!(
                    "{:?} is no place in the feed: expected YYYY-MM-DD/record/index",
                    resume.unwrap_or_default()
                ),
            )
            .into());
        }
        None => feed.latest(),
    };
    let open = Open::take().ok_or_else(|| {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_streams",
            format!("{MAX_STREAMS} live streams are open already; try again later"),
        )
    })?;
    let follow = Follow {
        changed: feed.subscribe(),
        feed,
        stop: state.inner.stopping.subscribe(),
        after: start,
        pending: std::collections::VecDeque::new(),
        state,
        ctx,
        _open: open,
    };
    let events = futures_util::stream::unfold(follow, |mut f| async move {
        f.next().await.map(|e| (Ok::<_, Infallible>(e), f))
    });
    let mut r = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

/// A stream's place in the feed.
struct Follow<S> {
    feed: Arc<Interceptions>,
    changed: tokio::sync::watch::Receiver<u64>,
    stop: tokio::sync::watch::Receiver<bool>,
    after: Option<FeedId>,
    pending: std::collections::VecDeque<(FeedId, Blocked)>,
    state: AppState<S>,
    ctx: dash::Ctx,
    _open: Open,
}

impl<S> Follow<S> {
    /// The next event to send; `None` once the server is stopping.
    async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if *self.stop.borrow() {
                return None;
            }
            if let Some((id, b)) = self.pending.pop_front() {
                let directory = self.state.inner.directory();
                let item = dash::LiveItem::of(
                    &interception(&id, &b, directory.get(&b.institution).map(|i| &i.name)),
                    &self.ctx,
                );
                let data = serde_json::to_string(&item).unwrap_or_default();
                return Some(
                    SseEvent::default()
                        .event("interception")
                        .id(id.to_string())
                        .data(data),
                );
            }
            // Marked seen before reading, so nothing read after it is missed.
            self.changed.mark_unchanged();
            let (items, last) = self.feed.after(self.after.as_ref());
            if last.is_some() {
                self.after = last;
            }
            if !items.is_empty() {
                self.pending.extend(items);
                continue;
            }
            tokio::select! {
                r = self.changed.changed() => {
                    if r.is_err() {
                        return None;
                    }
                }
                _ = self.stop.changed() => {}
            }
        }
    }
}
