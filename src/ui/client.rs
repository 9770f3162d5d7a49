//! The page's side of the message channel to the pipeline worker: starts the worker, sends
//! calls ([`Request`]) with an id, resolves each with its serialized reply, forwards progress
//! and events, and cancels a call on request. A message is a plain object
//! `{ m: "<JSON>", b?: ArrayBuffer }`; file bytes and downloads travel in `b`, transferred, not
//! copied. Calls made before the worker says it is ready are queued.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use futures::channel::oneshot;
use js_sys::{Array, ArrayBuffer, Object, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

use crate::protocol::{CallId, Event, FromWorker, Progress, Request, ToWorker};

/// The worker's script, as Trunk names it (workers keep their binary's name).
pub const WORKER_SCRIPT: &str = "./roundtrip-worker_loader.js";

type Answer = (Result<serde_json::Value, String>, Option<ArrayBuffer>);

/// The connection to the worker. One per page.
pub struct WorkerClient {
    worker: web_sys::Worker,
    next_id: Cell<CallId>,
    ready: Cell<bool>,
    /// Messages written before the worker was ready.
    queued: RefCell<Vec<(Object, Array)>>,
    pending: RefCell<HashMap<CallId, oneshot::Sender<Answer>>>,
    _on_message: Closure<dyn FnMut(web_sys::MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::ErrorEvent)>,
}

impl std::fmt::Debug for WorkerClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerClient").field("ready", &self.ready.get()).finish()
    }
}

/// A call on its way: its id (to cancel it) and the answer to await.
#[derive(Debug)]
pub struct PendingCall {
    pub id: CallId,
    answer: oneshot::Receiver<Answer>,
}

impl PendingCall {
    /// The reply (serialized) and the bytes that came with it.
    pub async fn answer(self) -> Result<(serde_json::Value, Option<ArrayBuffer>), String> {
        match self.answer.await {
            Ok((Ok(reply), bytes)) => Ok((reply, bytes)),
            Ok((Err(message), _)) => Err(message),
            Err(_) => Err("The pipeline worker stopped before answering. Reload the page.".into()),
        }
    }
}

impl WorkerClient {
    /// Starts the worker. `on_event` receives what the worker announces (CRM changes, the
    /// database closing); `on_progress` the progress of calls.
    pub fn start(
        on_event: impl Fn(Event) + 'static,
        on_progress: impl Fn(CallId, Progress) + 'static,
    ) -> Result<Rc<WorkerClient>, String> {
        let worker = web_sys::Worker::new(WORKER_SCRIPT).map_err(|e| js_text(&e))?;
        let client = Rc::new_cyclic(|weak: &std::rc::Weak<WorkerClient>| {
            let on_message = {
                let weak = weak.clone();
                Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
                    let Some(client) = weak.upgrade() else { return };
                    let data = event.data();
                    let json = Reflect::get(&data, &JsValue::from_str("m")).ok().and_then(|m| m.as_string());
                    let bytes = Reflect::get(&data, &JsValue::from_str("b"))
                        .ok()
                        .and_then(|b| b.dyn_into::<ArrayBuffer>().ok());
                    let Some(message) = json.and_then(|j| serde_json::from_str::<FromWorker>(&j).ok()) else {
                        return;
                    };
                    match message {
                        FromWorker::Ready => client.flush(),
                        FromWorker::Reply { id, reply } => {
                            if let Some(sender) = client.pending.borrow_mut().remove(&id) {
                                let _ = sender.send((reply, bytes));
                            }
                        }
                        FromWorker::Progress { id, progress } => on_progress(id, progress),
                        FromWorker::Event(event) => on_event(event),
                    }
                })
            };
            let on_error = {
                let weak = weak.clone();
                Closure::<dyn FnMut(web_sys::ErrorEvent)>::new(move |event: web_sys::ErrorEvent| {
                    let Some(client) = weak.upgrade() else { return };
                    let text = format!("The pipeline worker failed: {}. Reload the page.", event.message());
                    for (_, sender) in client.pending.borrow_mut().drain() {
                        let _ = sender.send((Err(text.clone()), None));
                    }
                })
            };
            WorkerClient {
                worker: worker.clone(),
                next_id: Cell::new(1),
                ready: Cell::new(false),
                queued: RefCell::new(Vec::new()),
                pending: RefCell::new(HashMap::new()),
                _on_message: on_message,
                _on_error: on_error,
            }
        });
        client.worker.set_onmessage(Some(client._on_message.as_ref().unchecked_ref()));
        client.worker.set_onerror(Some(client._on_error.as_ref().unchecked_ref()));
        Ok(client)
    }

    fn flush(&self) {
        self.ready.set(true);
        for (message, transfer) in self.queued.borrow_mut().drain(..) {
            let _ = self.worker.post_message_with_transfer(&message, &transfer);
        }
    }

    fn send(&self, message: &ToWorker, bytes: Option<ArrayBuffer>) -> Result<(), String> {
        let json = serde_json::to_string(message).map_err(|e| e.to_string())?;
        let object = Object::new();
        let _ = Reflect::set(&object, &JsValue::from_str("m"), &JsValue::from_str(&json));
        let transfer = Array::new();
        if let Some(b) = bytes {
            let _ = Reflect::set(&object, &JsValue::from_str("b"), &b);
            transfer.push(&b);
        }
        if self.ready.get() {
            self.worker.post_message_with_transfer(&object, &transfer).map_err(|e| js_text(&e))
        } else {
            self.queued.borrow_mut().push((object, transfer));
            Ok(())
        }
    }

    /// Sends a call; `bytes` (a file) are transferred to the worker.
    pub fn call(&self, request: Request, bytes: Option<ArrayBuffer>) -> PendingCall {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        let (sender, answer) = oneshot::channel();
        self.pending.borrow_mut().insert(id, sender);
        if let Err(e) = self.send(&ToWorker::Call { id, request }, bytes) {
            if let Some(sender) = self.pending.borrow_mut().remove(&id) {
                let _ = sender.send((Err(format!("The call could not be sent to the worker: {e}")), None));
            }
        }
        PendingCall { id, answer }
    }

    /// Asks the worker to stop a call; it answers it as cancelled, having written nothing.
    pub fn cancel(&self, id: CallId) {
        let _ = self.send(&ToWorker::Cancel { id }, None);
    }
}

impl Drop for WorkerClient {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

fn js_text(e: &JsValue) -> String {
    Reflect::get(e, &JsValue::from_str("message"))
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "unknown browser error".to_string())
}
