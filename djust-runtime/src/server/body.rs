//! Request and response bodies as the accept loop hands them on: a request
//! body that ends in an error once it passes its size limit or its
//! deadline (recording which, so the answer can be 413 or 408 whatever the
//! route made of the error), and a response body that tells the
//! connection its request is over when hyper is done with it.

use std::future::Future as _;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::combinators::BoxBody;
use tokio::time::{Instant, Sleep};

use super::conn_table::{RequestGuard, Requests};

/// A boxed body error.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The body type every route and response uses here.
pub(crate) type AnyBody = BoxBody<Bytes, BoxError>;

/// Why a request body was cut short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cut {
    /// More bytes than the limit.
    TooLarge,
    /// Not complete by the deadline.
    Timeout,
}

/// Records whether (and why) a [`Bounded`] body was cut.
#[derive(Debug, Default)]
pub(crate) struct CutFlag(AtomicU8);

impl CutFlag {
    fn set(&self, cut: Cut) {
        let code = match cut {
            Cut::TooLarge => 1,
            Cut::Timeout => 2,
        };
        let _ = self
            .0
            .compare_exchange(0, code, Ordering::AcqRel, Ordering::Acquire);
    }

    /// The first cut recorded, if any.
    pub(crate) fn get(&self) -> Option<Cut> {
        match self.0.load(Ordering::Acquire) {
            1 => Some(Cut::TooLarge),
            2 => Some(Cut::Timeout),
            _ => None,
        }
    }
}

/// The error a cut body ends with.
#[derive(Debug)]
struct CutError(Cut);

impl std::fmt::Display for CutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            Cut::TooLarge => "request body larger than its limit",
            Cut::Timeout => "request body not complete in time",
        })
    }
}

impl std::error::Error for CutError {}

/// A request body with a size limit and a deadline, telling its
/// connection while the route waits for bytes from the client.
pub(crate) struct Bounded<B> {
    inner: B,
    received: usize,
    limit: usize,
    deadline: Pin<Box<Sleep>>,
    cut: Arc<CutFlag>,
    done: bool,
    /// The connection to tell; whether it was told "waiting".
    connection: Option<Requests>,
    waiting: bool,
}

impl<B> Bounded<B> {
    /// `inner`, cut after `limit` bytes or at `deadline`, recording in `cut`.
    pub(crate) fn new(inner: B, limit: usize, deadline: Instant, cut: Arc<CutFlag>) -> Self {
        Self {
            inner,
            received: 0,
            limit,
            deadline: Box::pin(tokio::time::sleep_until(deadline)),
            cut,
            done: false,
            connection: None,
            waiting: false,
        }
    }

    /// Tells `connection` while the body waits on the client (a connection
    /// waiting on its client may be evicted when the server is full).
    pub(crate) fn reporting_to(mut self, connection: Requests) -> Self {
        self.connection = Some(connection);
        self
    }

    fn set_waiting(&mut self, waiting: bool) {
        if self.waiting != waiting {
            self.waiting = waiting;
            if let Some(connection) = &self.connection {
                connection.waiting_for_body(waiting);
            }
        }
    }

    fn fail(&mut self, cut: Cut) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.cut.set(cut);
        self.done = true;
        self.set_waiting(false);
        Poll::Ready(Some(Err(Box::new(CutError(cut)))))
    }
}

impl<B> Drop for Bounded<B> {
    fn drop(&mut self) {
        self.set_waiting(false);
    }
}

impl<B> Body for Bounded<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if self.done {
            return Poll::Ready(None);
        }
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        self.set_waiting(polled.is_pending());
        match polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    self.received = self.received.saturating_add(data.len());
                    if self.received > self.limit {
                        return self.fail(Cut::TooLarge);
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) => {
                self.done = true;
                Poll::Ready(Some(Err(error.into())))
            }
            Poll::Ready(None) => {
                self.done = true;
                Poll::Ready(None)
            }
            Poll::Pending => match self.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => self.fail(Cut::Timeout),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A response body holding its request's [`RequestGuard`] until hyper has
/// written it (or given up on it).
pub(crate) struct Tracked {
    inner: AnyBody,
    _request: Option<RequestGuard>,
}

impl Tracked {
    /// `inner`, ending `request` when dropped.
    pub(crate) fn new(inner: AnyBody, request: Option<RequestGuard>) -> Self {
        Self {
            inner,
            _request: request,
        }
    }
}

impl Body for Tracked {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt as _, Full, StreamBody};

    fn bounded<B>(
        inner: B,
        limit: usize,
        after: std::time::Duration,
    ) -> (Bounded<B>, Arc<CutFlag>) {
        let cut = Arc::new(CutFlag::default());
        (
            Bounded::new(inner, limit, Instant::now() + after, cut.clone()),
            cut,
        )
    }

    #[tokio::test]
    async fn a_body_within_bounds_is_unchanged() {
        let (body, cut) = bounded(
            Full::new(Bytes::from_static(b"abc")),
            3,
            std::time::Duration::from_secs(5),
        );
        let collected = body.collect().await.expect("body").to_bytes();
        assert_eq!(&collected[..], b"abc");
        assert_eq!(cut.get(), None);
    }

    #[tokio::test]
    async fn a_body_over_its_limit_is_cut() {
        let chunks = futures_util::stream::iter((0..10).map(|_| {
            Ok::<_, std::convert::Infallible>(Frame::data(Bytes::from_static(b"0123456789")))
        }));
        let (body, cut) = bounded(
            StreamBody::new(chunks),
            25,
            std::time::Duration::from_secs(5),
        );
        assert!(body.collect().await.is_err());
        assert_eq!(cut.get(), Some(Cut::TooLarge));
    }

    #[tokio::test]
    async fn a_stalled_body_is_cut_at_its_deadline() {
        let stalled = StreamBody::new(futures_util::stream::pending::<
            Result<Frame<Bytes>, std::convert::Infallible>,
        >());
        let (body, cut) = bounded(stalled, 100, std::time::Duration::from_millis(20));
        assert!(body.collect().await.is_err());
        assert_eq!(cut.get(), Some(Cut::Timeout));
    }
}
