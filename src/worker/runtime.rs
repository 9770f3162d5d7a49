//! The worker's side of the message channel: receives [`ToWorker`] messages, runs each call
//! as a task, posts [`FromWorker`] replies, progress and events back to the page. A message
//! is a plain object `{ m: "<JSON>", b?: ArrayBuffer }`: the JSON carries the typed message,
//! `b` the bytes of a file or a download, transferred rather than copied.
//!
//! Long work runs in slices: [`Task::tick`] yields to the worker's event loop at most every
//! [`SLICE_MS`] milliseconds (so a Cancel or a quick request from the page is handled in
//! between), reports progress, and returns [`Cancelled`] once the page has cancelled the call.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use js_sys::{Array, ArrayBuffer, Object, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::protocol::{CallId, Event, FromWorker, Progress, ToWorker};

/// Longest slice of work between two yields, in milliseconds.
pub const SLICE_MS: f64 = 40.0;

/// The page cancelled the call; nothing was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cancelled;

fn scope() -> web_sys::DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

/// Milliseconds from the worker's monotonic clock.
pub fn now() -> f64 {
    Reflect::get(&js_sys::global(), &JsValue::from_str("performance"))
        .ok()
        .and_then(|p| p.dyn_into::<web_sys::Performance>().ok())
        .map(|p| p.now())
        .unwrap_or_else(js_sys::Date::now)
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

/// Posts one message to the page, transferring `bytes` if any.
pub fn post(message: &FromWorker, bytes: Option<ArrayBuffer>) {
    let json = match serde_json::to_string(message) {
        Ok(j) => j,
        // Every message type serializes; a failure here is a bug, reported as a failed call.
        Err(e) => match message {
            FromWorker::Reply { id, .. } => serde_json::to_string(&FromWorker::Reply {
                id: *id,
                reply: Err(format!("internal error: {e}")),
            })
            .unwrap_or_default(),
            _ => return,
        },
    };
    let object = Object::new();
    let _ = Reflect::set(&object, &JsValue::from_str("m"), &JsValue::from_str(&json));
    let transfer = Array::new();
    if let Some(b) = bytes {
        let _ = Reflect::set(&object, &JsValue::from_str("b"), &b);
        transfer.push(&b);
    }
    let _ = scope().post_message_with_transfer(&object, &transfer);
}

/// Posts an event that is not the answer to a call.
pub fn post_event(event: Event) {
    post(&FromWorker::Event(event), None);
}

/// Resolves after the worker's event loop has run once (queued messages included).
pub async fn yield_now() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        // A MessageChannel turn is not clamped like a nested setTimeout.
        match web_sys::MessageChannel::new() {
            Ok(channel) => {
                channel.port1().set_onmessage(Some(&resolve));
                let _ = channel.port2().post_message(&JsValue::NULL);
                // Keep the channel alive until it fires.
                let keep = channel.clone();
                let _ = Reflect::set(&resolve, &JsValue::from_str("channel"), &keep);
            }
            Err(_) => {
                let _ = scope().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0);
            }
        }
    });
    let _ = JsFuture::from(promise).await;
}

/// One call being served: where its progress goes and whether the page cancelled it.
#[derive(Debug, Clone)]
pub struct Task {
    pub id: CallId,
    cancelled: Rc<Cell<bool>>,
    last_yield: Rc<Cell<f64>>,
}

impl Task {
    /// Reports progress; at most every [`SLICE_MS`] yields to the event loop and checks for a
    /// cancel. Call it often from long loops (it is cheap when no slice has passed).
    pub async fn tick(&self, stage: &str, done: usize, total: usize) -> Result<(), Cancelled> {
        if now() - self.last_yield.get() < SLICE_MS {
            return if self.cancelled.get() { Err(Cancelled) } else { Ok(()) };
        }
        self.progress(stage, done, total);
        yield_now().await;
        self.last_yield.set(now());
        if self.cancelled.get() {
            Err(Cancelled)
        } else {
            Ok(())
        }
    }

    /// Reports progress now and yields once, whatever the time (a stage begins).
    pub async fn stage(&self, stage: &str, done: usize, total: usize) -> Result<(), Cancelled> {
        self.progress(stage, done, total);
        yield_now().await;
        self.last_yield.set(now());
        if self.cancelled.get() {
            Err(Cancelled)
        } else {
            Ok(())
        }
    }

    fn progress(&self, stage: &str, done: usize, total: usize) {
        let progress = Progress { stage: stage.to_string(), done: done as u64, total: total as u64 };
        post(&FromWorker::Progress { id: self.id, progress }, None);
    }

    /// True once the page cancelled this call.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.get()
    }
}

thread_local! {
    /// How many calls are being served now.
    static IN_FLIGHT: Cell<usize> = const { Cell::new(0) };
}

/// How many calls are being served now (the one asking included).
pub fn calls_running() -> usize {
    IN_FLIGHT.with(Cell::get)
}

/// The calls in flight, for cancelling.
#[derive(Debug, Default)]
pub struct Calls {
    running: RefCell<HashMap<CallId, Rc<Cell<bool>>>>,
}

impl Calls {
    fn begin(&self, id: CallId) -> Task {
        let cancelled = Rc::new(Cell::new(false));
        self.running.borrow_mut().insert(id, Rc::clone(&cancelled));
        IN_FLIGHT.with(|n| n.set(n.get() + 1));
        Task { id, cancelled, last_yield: Rc::new(Cell::new(now())) }
    }

    fn end(&self, id: CallId) {
        self.running.borrow_mut().remove(&id);
        IN_FLIGHT.with(|n| n.set(n.get().saturating_sub(1)));
    }

    fn cancel(&self, id: CallId) {
        if let Some(flag) = self.running.borrow().get(&id) {
            flag.set(true);
        }
    }
}

/// A call with the bytes that came with it.
#[derive(Debug)]
pub struct Incoming {
    pub task: Task,
    pub request: crate::protocol::Request,
    pub bytes: Option<ArrayBuffer>,
}

/// What a served call answers: the reply serialized (or why it failed) and, for a download,
/// its bytes.
pub type Outgoing = (Result<serde_json::Value, String>, Option<ArrayBuffer>);

/// Starts serving: every `Call` becomes a task running `serve`; `Cancel` flags its task.
/// Posts [`FromWorker::Ready`] once listening.
pub fn listen<F, Fut>(serve: F)
where
    F: Fn(Incoming) -> Fut + 'static,
    Fut: std::future::Future<Output = Outgoing> + 'static,
{
    let calls = Rc::new(Calls::default());
    let serve = Rc::new(serve);
    let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
        let data = event.data();
        let json = Reflect::get(&data, &JsValue::from_str("m")).ok().and_then(|m| m.as_string());
        let bytes =
            Reflect::get(&data, &JsValue::from_str("b")).ok().and_then(|b| b.dyn_into::<ArrayBuffer>().ok());
        let Some(message) = json.and_then(|j| serde_json::from_str::<ToWorker>(&j).ok()) else { return };
        match message {
            ToWorker::Cancel { id } => calls.cancel(id),
            ToWorker::Call { id, request } => {
                let task = calls.begin(id);
                let calls = Rc::clone(&calls);
                let serve = Rc::clone(&serve);
                wasm_bindgen_futures::spawn_local(async move {
                    let (reply, bytes) = serve(Incoming { task, request, bytes }).await;
                    calls.end(id);
                    post(&FromWorker::Reply { id, reply }, bytes);
                });
            }
        }
    });
    scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    post(&FromWorker::Ready, None);
}

/// Copies transferred bytes into wasm memory.
pub fn bytes_of(buffer: &ArrayBuffer) -> Vec<u8> {
    js_sys::Uint8Array::new(buffer).to_vec()
}

/// Moves bytes out of wasm memory into a buffer that can be transferred to the page.
pub fn buffer_of(bytes: &[u8]) -> ArrayBuffer {
    let array = js_sys::Uint8Array::new_with_length(bytes.len() as u32);
    array.copy_from(bytes);
    array.buffer()
}
