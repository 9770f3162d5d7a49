//! The lock of an encrypted copy, as the page shows it: the unlock screen shown instead of the
//! pages while the copy is locked (nothing of the CRM is shown or asked for), and the idle
//! lock — after the idle time the operator set (local storage, 15 minutes by default) without
//! input in any tab of the app, the page asks the worker to lock; the worker does so only when
//! no other operation runs. The last input time is kept in local storage so that the tabs
//! share it: a tab left alone does not lock the tab the operator works in.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

use crate::core::lock::IdleMinutes;
use crate::protocol::{Lock, Unlock};
use crate::store::EncryptionState;
use crate::ui::browser::{load_setting, now_ms, save_setting};
use crate::ui::state::{use_app, AppState};

/// Where the idle time is kept (whole minutes).
const IDLE_MINUTES_KEY: &str = "roundtrip.idle-lock-minutes";
/// Where the time of the operator's last input in any tab is kept (ms since the Unix epoch).
const LAST_INPUT_KEY: &str = "roundtrip.last-input";
/// Inputs closer together than this are written once.
const INPUT_WRITE_EVERY_MS: i64 = 5_000;
/// How often the page looks whether the idle time has passed.
const IDLE_CHECK_EVERY_MS: i32 = 5_000;
/// What counts as operator input.
const INPUT_EVENTS: [&str; 5] = ["pointerdown", "pointermove", "keydown", "wheel", "touchstart"];

/// The idle time the operator set, or the default.
pub fn idle_minutes() -> IdleMinutes {
    load_setting(IDLE_MINUTES_KEY).unwrap_or_default()
}

/// Keeps the idle time the operator set.
pub fn save_idle_minutes(minutes: IdleMinutes) {
    save_setting(IDLE_MINUTES_KEY, &minutes);
}

fn record_input(last_written: &std::cell::Cell<i64>) {
    let now = now_ms();
    if now - last_written.get() >= INPUT_WRITE_EVERY_MS {
        last_written.set(now);
        save_setting(LAST_INPUT_KEY, &now);
    }
}

/// Starts the idle lock for the life of the page: records input, and once the idle time has
/// passed since the last input of any tab, asks the worker to lock.
pub fn start_idle_lock(app: AppState) {
    let Some(window) = web_sys::window() else { return };
    let last_written = std::rc::Rc::new(std::cell::Cell::new(0));
    record_input(&last_written);
    for event in INPUT_EVENTS {
        let last_written = std::rc::Rc::clone(&last_written);
        let on_input =
            Closure::<dyn FnMut(web_sys::Event)>::new(move |_: web_sys::Event| record_input(&last_written));
        if window.add_event_listener_with_callback(event, on_input.as_ref().unchecked_ref()).is_ok() {
            on_input.forget();
        }
    }
    let asking = StoredValue::new(false);
    let check = Closure::<dyn FnMut()>::new(move || {
        if app.vault.get_untracked() != EncryptionState::Unlocked || asking.get_value() {
            return;
        }
        let last_input = load_setting::<i64>(LAST_INPUT_KEY).unwrap_or_else(now_ms);
        let idle = idle_minutes();
        if !idle.has_passed(last_input as f64, now_ms() as f64) || app.running.get_untracked().is_some() {
            return;
        }
        asking.set_value(true);
        spawn_local(async move {
            if let Ok(true) = app.call(Lock { when_idle: true }).await {
                app.show_locked();
                app.info(format!("Locked after {idle} without input. Enter the passphrase to continue."));
            }
            asking.set_value(false);
        });
    });
    if window
        .set_interval_with_callback_and_timeout_and_arguments_0(
            check.as_ref().unchecked_ref(),
            IDLE_CHECK_EVERY_MS,
        )
        .is_ok()
    {
        check.forget();
    }
}

/// Shown instead of the pages while the stored copy is encrypted and locked.
#[component]
pub fn UnlockScreen() -> impl IntoView {
    let app = use_app();
    let passphrase = RwSignal::new(String::new());
    let refusal = RwSignal::new(None::<String>);
    let unlock = Action::new_local(move |typed: &String| {
        let typed = typed.clone();
        async move {
            match app.call(Unlock { passphrase: typed }).await {
                Ok(summary) => {
                    passphrase.set(String::new());
                    refusal.set(None);
                    app.show_unlocked(summary);
                }
                Err(e) => refusal.set(Some(e)),
            }
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        unlock.dispatch(passphrase.get_untracked());
    };
    view! {
        <div class="panel narrow" data-testid="unlock-screen">
            <h2>"This CRM copy is locked"</h2>
            <p>
                "The local CRM is encrypted. Enter its passphrase to open it; nothing of it is shown until then."
            </p>
            <form on:submit=submit>
                <label>
                    "Passphrase "
                    <input
                        type="password"
                        autocomplete="current-password"
                        data-testid="unlock-passphrase"
                        prop:value=move || passphrase.get()
                        on:input=move |ev| passphrase.set(event_target_value(&ev))
                    />
                </label>
                " "
                <button type="submit" class="primary" data-testid="unlock-button" disabled=move || unlock.pending().get()>
                    {move || if unlock.pending().get() { "Unlocking…" } else { "Unlock" }}
                </button>
            </form>
            {move || refusal.get().map(|text| view! { <p class="error-text" data-testid="unlock-error">{text}</p> })}
            <p class="muted">
                "A forgotten passphrase cannot be recovered: only a snapshot you downloaded restores the CRM (clear this site's data in the browser, then load the snapshot on the CRM data page)."
            </p>
        </div>
    }
}
