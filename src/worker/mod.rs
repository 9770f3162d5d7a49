//! The pipeline worker (browser only): a dedicated Web Worker built from this crate as the
//! `roundtrip-worker` binary. It owns the CRM copy and the store and serves the page's
//! [`Request`]s with the [`Service`]: every operation of the protocol's one list is answered
//! by the service's handler of it ([`Handle`]) — the passphrase's operations by the
//! worker's own handlers over its store (`vault`); the page never runs the pipeline itself.
//!
//! Across tabs: every commit is made under the Web Lock `roundtrip-commit` (where the browser
//! offers Web Locks) and announced with its sequence number on the BroadcastChannel
//! `roundtrip-crm`; on another tab's announcement the worker brings its copy up to date and
//! tells its page; the passphrase's news on the same channel is followed (lock, unlock with
//! the key another tab hands over). Without either API, the store's checked commit alone still refuses a batch
//! planned on a copy that moved.

pub mod runtime;
mod secrets;
pub mod store;
mod vault;

use std::any::Any;
use std::cell::RefCell;
use std::rc::Rc;

use serde::Serialize;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

use crate::protocol::{for_each_operation, ChangeCause, CrmSummary, Download, Event, Open, Request, Summary};
use crate::service::failure::CrmRefusal;
use crate::service::{Call, Cancelled, Failure, Service, Ticker};
use crate::store::CrmStore;

use runtime::{buffer_of, bytes_of, listen, now, now_ms, post_event, Incoming, Outgoing, Task};
use store::{AnyStore, Opened};

/// The IndexedDB database holding the local CRM.
pub const DATABASE_NAME: &str = "roundtrip-crm";
/// The channel on which tabs announce their commits.
pub const CHANNEL_NAME: &str = "roundtrip-crm";

impl Ticker for Task {
    async fn tick(&self, stage: &str, done: usize, total: usize) -> Result<(), Cancelled> {
        Task::tick(self, stage, done, total).await.map_err(|_| Cancelled)
    }
}

thread_local! {
    static SERVICE: RefCell<Option<Rc<Service<AnyStore>>>> = const { RefCell::new(None) };
}

fn service() -> Option<Rc<Service<AnyStore>>> {
    SERVICE.with(|s| s.borrow().clone())
}

/// Entry point of the worker binary.
pub fn start() {
    console_error_panic_hook::set_once();
    listen(serve);
}

/// Sends what the service has to say unasked.
fn flush_events(service: &Service<AnyStore>) {
    for event in service.take_events() {
        post_event(event);
    }
}

/// The reply to a call: the operation's reply serialized, the bytes of a download beside it.
fn reply<R: Serialize + 'static>(result: Result<R, Failure>) -> Outgoing {
    let mut value = match result {
        Ok(value) => value,
        Err(failure) => return (Err(failure.to_string()), None),
    };
    let bytes = (&mut value as &mut dyn Any)
        .downcast_mut::<Download>()
        .map(|download| buffer_of(&std::mem::take(&mut download.bytes)));
    match serde_json::to_value(&value) {
        Ok(json) => (Ok(json), bytes),
        // Every reply type serializes; a failure here is a bug, reported as a failed call.
        Err(e) => (Err(format!("internal error: the reply could not be serialized ({e})")), None),
    }
}

async fn serve(call: Incoming) -> Outgoing {
    let Incoming { task, request, bytes } = call;
    if let Request::Open(Open { autoload_demo }) = request {
        return open(autoload_demo, &task).await;
    }
    let Some(service) = service() else {
        return (Err(CrmRefusal::NotOpen.to_string()), None);
    };
    let call = Call::new(&task, now_ms()).with_clock(&now).with_bytes(bytes.map(|b| bytes_of(&b)));
    let outgoing = dispatch(&service, request, &call).await;
    flush_events(&service);
    outgoing
}

/// Serves a request with the service's handler of its operation.
macro_rules! dispatch {
    ($($op:ident),* $(,)?) => {
        async fn dispatch(service: &Service<AnyStore>, request: Request, call: &Call<'_, Task>) -> Outgoing {
            match request {
                $(Request::$op(op) => reply(service.run(op, call).await),)*
            }
        }
    };
}
for_each_operation!(dispatch);

/// Opens the store (IndexedDB, or memory where the browser offers none), reads the CRM,
/// listens to other tabs.
async fn open(autoload_demo: bool, task: &Task) -> Outgoing {
    if let Some(service) = service() {
        return reply(service.run(Summary, &Call::new(task, now_ms())).await);
    }
    let (store, opened) = AnyStore::open(DATABASE_NAME, || post_event(Event::DatabaseClosed)).await;
    let service = Rc::new(Service::new(store, secrets::browser_secrets()));
    SERVICE.with(|s| *s.borrow_mut() = Some(Rc::clone(&service)));
    let mut notice = None;
    match opened {
        Opened::Stored => listen_to_other_tabs(),
        Opened::MemoryOnly(text) => notice = Some(text),
        Opened::ReadOnly(why) => service.set_read_only(why),
    }
    let call = Call::new(task, now_ms());
    let result = service.run(Open { autoload_demo }, &call).await;
    if result.is_err() {
        vault::ask_other_tabs(&service).await;
    }
    flush_events(&service);
    reply(result.map(|summary| CrmSummary { notice, ..summary }))
}

/// Another tab's commit: catch up and tell the page. Another tab's news about the passphrase:
/// follow it (lock, unlock with the key it hands over).
fn listen_to_other_tabs() {
    let Ok(channel) = web_sys::BroadcastChannel::new(CHANNEL_NAME) else { return };
    let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
        let news = store::VaultNews::from_message(&event.data());
        wasm_bindgen_futures::spawn_local(async move {
            let Some(service) = service() else { return };
            if let Some(news) = news {
                vault::follow(&service, news).await;
                flush_events(&service);
                return;
            }
            if let Ok(refreshed) = service.store().refresh().await {
                if refreshed.only_ledger() {
                    // Another tab recorded a Reveal or a file: plans here stay current.
                    service.ledger_written(refreshed.from, refreshed.to).await;
                    flush_events(&service);
                } else if refreshed.moved() {
                    service.crm_changed(ChangeCause::AnotherTab).await;
                    flush_events(&service);
                }
            }
        });
    });
    channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    store::set_channel(channel);
}
