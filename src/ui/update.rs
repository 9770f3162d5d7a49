//! Offline use and updates, page side. Registers the service worker (`sw.js`, written into
//! `dist/` at build time by `scripts/precache.py` from the template `pwa/sw.js`), which
//! precaches every file of the build so the app starts without the network. A new build is
//! never applied by itself: the browser installs it in the background and it waits; this module
//! notices the waiting build and [`UpdateBanner`] offers "A new version is ready — reload". Only
//! the operator's click tells the waiting worker to take over, and the page reloads once it has.
//!
//! Updates are looked for by the browser on every navigation, and here on window focus, when
//! the tab becomes visible again, and every [`CHECK_EVERY_MS`]. Where `navigator.serviceWorker`
//! is missing (plain http on a non-loopback host, some private modes), nothing is registered
//! and the app runs online only, as before.
//!
//! Self-contained: the shell calls [`provide_update_state`] once and places [`UpdateBanner`].

use std::cell::Cell;
use std::rc::Rc;

use leptos::prelude::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{
    EventTarget, RegistrationOptions, ServiceWorkerContainer, ServiceWorkerRegistration, ServiceWorkerState,
    ServiceWorkerUpdateViaCache, VisibilityState,
};

/// The service worker script, relative to the page, so its scope is the app's directory.
const SCRIPT_URL: &str = "./sw.js";
/// How often an open page asks for a new build besides focus and visibility changes.
const CHECK_EVERY_MS: i32 = 30 * 60 * 1000;
/// After Reload is clicked, reload anyway if the new version has not taken over by then.
const RELOAD_FALLBACK_MS: i32 = 4_000;
/// The message `pwa/sw.js` answers with `skipWaiting()`.
const SKIP_WAITING: &str = "skip-waiting";

thread_local! {
    /// Set when the operator clicked Reload: the next controller change reloads the page.
    static RELOAD_REQUESTED: Cell<bool> = const { Cell::new(false) };
}

/// Whether a new version of the app is installed and waits for the operator's reload.
#[derive(Clone, Copy)]
pub struct UpdateState {
    pub ready: RwSignal<bool>,
}

/// Creates the update state, provides it as context and registers the service worker.
pub fn provide_update_state() -> UpdateState {
    let state = UpdateState { ready: RwSignal::new(false) };
    provide_context(state);
    register_service_worker(state);
    state
}

/// The update state provided by [`provide_update_state`], if any.
pub fn use_update_state() -> Option<UpdateState> {
    use_context::<UpdateState>()
}

/// Registers `sw.js` and starts watching for new builds; does nothing where service workers
/// are unavailable. A failed registration only costs offline use, so it is logged, not shown.
pub fn register_service_worker(state: UpdateState) {
    let Some(container) = service_worker_container() else {
        return;
    };
    spawn_local(async move {
        if let Err(e) = register(container, state).await {
            web_sys::console::warn_2(&JsValue::from_str("Roundtrip works online only here:"), &e);
        }
    });
}

/// `navigator.serviceWorker`, or `None` where the browser does not offer it.
fn service_worker_container() -> Option<ServiceWorkerContainer> {
    let navigator = web_sys::window()?.navigator();
    let value = js_sys::Reflect::get(&navigator, &JsValue::from_str("serviceWorker")).ok()?;
    if value.is_undefined() || value.is_null() {
        return None;
    }
    value.dyn_into().ok()
}

async fn register(container: ServiceWorkerContainer, state: UpdateState) -> Result<(), JsValue> {
    let options = RegistrationOptions::new();
    options.set_scope("./");
    options.set_update_via_cache(ServiceWorkerUpdateViaCache::None);
    let registration: ServiceWorkerRegistration =
        JsFuture::from(container.register_with_options(SCRIPT_URL, &options)).await?.dyn_into()?;

    // A page that a service worker controls runs a cached build; without a controller this is
    // the first visit, and the worker that installs now is the current build, not an update.
    let controlled = Rc::new(Cell::new(container.controller().is_some()));
    if registration.waiting().is_some() && controlled.get() {
        state.ready.set(true);
    }

    {
        let registration_ = registration.clone();
        let container_ = container.clone();
        listen(&registration, "updatefound", move || {
            let Some(worker) = registration_.installing() else {
                return;
            };
            let worker_ = worker.clone();
            let container_ = container_.clone();
            listen(&worker, "statechange", move || {
                if worker_.state() == ServiceWorkerState::Installed && container_.controller().is_some() {
                    state.ready.set(true);
                }
            });
        });
    }

    listen(&container, "controllerchange", move || {
        if RELOAD_REQUESTED.with(Cell::get) {
            reload();
        } else if controlled.get() {
            // Another tab applied the new version: this page still runs the old one.
            state.ready.set(true);
        }
        controlled.set(true);
    });

    let check = move || {
        if let Ok(promise) = registration.update() {
            // Offline, the check fails; the next one will do.
            spawn_local(async move {
                let _ = JsFuture::from(promise).await;
            });
        }
    };
    let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
    {
        let check = check.clone();
        listen(&window, "focus", check);
    }
    if let Some(document) = window.document() {
        let document_ = document.clone();
        let check = check.clone();
        listen(&document, "visibilitychange", move || {
            if document_.visibility_state() == VisibilityState::Visible {
                check();
            }
        });
    }
    let every = Closure::<dyn FnMut()>::new(check);
    window.set_interval_with_callback_and_timeout_and_arguments_0(
        every.as_ref().unchecked_ref(),
        CHECK_EVERY_MS,
    )?;
    every.forget();
    Ok(())
}

/// Adds an event listener for the life of the page.
fn listen(target: &EventTarget, event: &str, mut handler: impl FnMut() + 'static) {
    let closure = Closure::<dyn FnMut(web_sys::Event)>::new(move |_: web_sys::Event| handler());
    if target.add_event_listener_with_callback(event, closure.as_ref().unchecked_ref()).is_ok() {
        closure.forget();
    }
}

fn reload() {
    if let Some(window) = web_sys::window() {
        let _ = window.location().reload();
    }
}

/// The operator's Reload: the waiting build takes over, then the page reloads into it. When no
/// build waits (another tab already applied it), the page simply reloads.
pub fn apply_update() {
    RELOAD_REQUESTED.with(|r| r.set(true));
    spawn_local(async {
        let waiting = match service_worker_container() {
            Some(container) => JsFuture::from(container.get_registration())
                .await
                .ok()
                .and_then(|r| r.dyn_into::<ServiceWorkerRegistration>().ok())
                .and_then(|r| r.waiting()),
            None => None,
        };
        let Some(worker) = waiting else {
            reload();
            return;
        };
        let message = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&message, &JsValue::from_str("type"), &JsValue::from_str(SKIP_WAITING));
        if worker.post_message(&message).is_err() {
            reload();
            return;
        }
        if let Some(window) = web_sys::window() {
            let fallback = Closure::once_into_js(reload);
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
                fallback.unchecked_ref(),
                RELOAD_FALLBACK_MS,
            );
        }
    });
}

/// "A new version is ready — reload", shown only while a new build waits. The new version
/// is used only after the click, so an import in progress is never interrupted.
#[component]
pub fn UpdateBanner() -> impl IntoView {
    let state = use_update_state();
    let reloading = RwSignal::new(false);
    move || {
        state.filter(|s| s.ready.get()).map(|_| {
            view! {
                <div class="update-banner" data-testid="update-ready" role="status">
                    <span class="update-text">
                        <strong>"A new version is ready — reload"</strong>
                        <span class="muted">
                            " It is used only when you click Reload: finish the step you are on first."
                        </span>
                    </span>
                    <button
                        class="primary"
                        data-testid="update-reload"
                        disabled=move || reloading.get()
                        on:click=move |_| {
                            reloading.set(true);
                            apply_update();
                        }
                    >
                        {move || if reloading.get() { "Reloading…" } else { "Reload" }}
                    </button>
                </div>
            }
        })
    }
}
