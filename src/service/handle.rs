//! How the service answers an operation: each [`Operation`] of the protocol is handled by one
//! [`Handle`] implementation, next to the code it needs, and called the same way by the
//! worker, the command line and the tests ([`Service::run`]). A [`Call`] brings what an
//! operation needs besides itself: where progress goes (and whether it was cancelled), the
//! time to record, a clock for durations, and the bytes of an uploaded file.

use std::cell::RefCell;

use crate::protocol::Operation;
use crate::store::CrmStore;

use super::failure::Failure;
use super::{Service, Ticker};

/// What a call brings besides its operation.
pub struct Call<'a, T: Ticker> {
    /// Where long work reports progress and learns it was cancelled.
    pub ticker: &'a T,
    /// The time to record (ms since the Unix epoch).
    pub now_ms: i64,
    /// A monotonic clock (ms), for how long work took.
    pub clock: &'a dyn Fn() -> f64,
    bytes: RefCell<Option<Vec<u8>>>,
}

impl<T: Ticker> std::fmt::Debug for Call<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call").field("now_ms", &self.now_ms).finish_non_exhaustive()
    }
}

fn no_clock() -> f64 {
    0.0
}

impl<'a, T: Ticker> Call<'a, T> {
    /// A call at `now_ms`, reporting to `ticker`, without a clock or bytes.
    pub fn new(ticker: &'a T, now_ms: i64) -> Call<'a, T> {
        Call { ticker, now_ms, clock: &no_clock, bytes: RefCell::new(None) }
    }

    /// The call with a monotonic clock.
    pub fn with_clock(self, clock: &'a dyn Fn() -> f64) -> Call<'a, T> {
        Call { clock, ..self }
    }

    /// The call with the bytes of a file.
    pub fn with_bytes(self, bytes: Option<Vec<u8>>) -> Call<'a, T> {
        Call { bytes: RefCell::new(bytes), ..self }
    }

    /// The bytes the call brought, taken once.
    pub fn take_bytes(&self) -> Option<Vec<u8>> {
        self.bytes.borrow_mut().take()
    }
}

/// The service's answer to one operation.
#[allow(async_fn_in_trait)]
pub trait Handle<S: CrmStore>: Operation {
    async fn handle<T: Ticker>(
        self,
        service: &Service<S>,
        call: &Call<'_, T>,
    ) -> Result<Self::Reply, Failure>;
}

impl<S: CrmStore> Service<S> {
    /// Answers one operation.
    pub async fn run<O: Handle<S>, T: Ticker>(&self, op: O, call: &Call<'_, T>) -> Result<O::Reply, Failure> {
        op.handle(self, call).await
    }
}
