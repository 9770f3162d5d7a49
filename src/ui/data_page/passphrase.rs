//! The passphrase section of the CRM data page: whether this copy is encrypted; setting a
//! passphrase (typed twice, under the warning that a forgotten one cannot be recovered and
//! that snapshots are plain XLSX files holding full SSNs); changing it (only the data key is
//! wrapped again); locking now; and the idle time after which the app locks. The worker does
//! the work; this section asks and shows.

use leptos::prelude::*;

use crate::core::lock::{typed_twice, IdleMinutes};
use crate::protocol::{ChangePassphrase, Lock, SetPassphrase, VaultState};
use crate::store::{EncryptionState, MIN_PASSPHRASE_CHARS};
use crate::ui::state::use_app;
use crate::ui::vault::{idle_minutes, save_idle_minutes};

/// A password field bound to a signal.
#[component]
fn Secret(
    #[prop(into)] label: String,
    test_id: &'static str,
    value: RwSignal<String>,
    autocomplete: &'static str,
) -> impl IntoView {
    view! {
        <label class="field">
            <span>{label}</span>
            <input
                type="password"
                autocomplete=autocomplete
                data-testid=test_id
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            />
        </label>
    }
}

#[component]
pub fn PassphrasePanel() -> impl IntoView {
    let app = use_app();
    // Asked again after each change here and whenever the tab locks or unlocks.
    let asked = RwSignal::new(0u32);
    let state = LocalResource::new(move || {
        let _ = (asked.get(), app.vault.get());
        async move { app.call(VaultState).await }
    });

    let new_first = RwSignal::new(String::new());
    let new_second = RwSignal::new(String::new());
    let old = RwSignal::new(String::new());
    let clear = move || {
        new_first.set(String::new());
        new_second.set(String::new());
        old.set(String::new());
    };

    let set = Action::new_local(move |passphrase: &String| {
        let passphrase = passphrase.clone();
        async move {
            match app.call(SetPassphrase { passphrase }).await {
                Ok(text) => {
                    clear();
                    app.vault.set(EncryptionState::Unlocked);
                    app.success(text);
                }
                Err(e) => app.error(e),
            }
            asked.update(|n| *n += 1);
        }
    });
    let change = Action::new_local(move |(old, new): &(String, String)| {
        let op = ChangePassphrase { old: old.clone(), new: new.clone() };
        async move {
            match app.call(op).await {
                Ok(text) => {
                    clear();
                    app.success(text);
                }
                Err(e) => app.error(e),
            }
        }
    });

    let on_set = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        app.notice.set(None);
        let (first, second) = (new_first.get_untracked(), new_second.get_untracked());
        match typed_twice(&first, &second) {
            Ok(()) => {
                set.dispatch(first);
            }
            Err(refusal) => app.error(refusal.to_string()),
        }
    };
    let on_change = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        app.notice.set(None);
        let (first, second) = (new_first.get_untracked(), new_second.get_untracked());
        match typed_twice(&first, &second) {
            Ok(()) => {
                change.dispatch((old.get_untracked(), first));
            }
            Err(refusal) => app.error(refusal.to_string()),
        }
    };
    let busy = move || set.pending().get() || change.pending().get();

    let at_least = format!("New passphrase (at least {MIN_PASSPHRASE_CHARS} characters)");
    let at_least_again = "The new passphrase again";
    let form = move |state: EncryptionState| {
        match state {
        EncryptionState::Plain => view! {
            <p data-testid="encryption-state">"This copy is not encrypted."</p>
            <PlainCopyWarning/>
            <form class="narrow-form" on:submit=on_set>
                <Secret label=at_least.clone() test_id="passphrase-new" value=new_first autocomplete="new-password"/>
                <Secret label=at_least_again test_id="passphrase-new-again" value=new_second autocomplete="new-password"/>
                <button type="submit" class="primary" data-testid="passphrase-set" disabled=busy>
                    "Set the passphrase and encrypt this copy"
                </button>
            </form>
        }
        .into_any(),
        EncryptionState::Unlocked | EncryptionState::Locked => view! {
            <p data-testid="encryption-state">"This copy is encrypted."</p>
            <p class="muted">
                "A forgotten passphrase cannot be recovered: only a snapshot restores the CRM. Snapshots are plain XLSX files holding every full SSN."
            </p>
            <LockNow/>
            <h3>"Change the passphrase"</h3>
            <p class="muted">"The data is not encrypted again: only its key is wrapped under the new passphrase."</p>
            <form class="narrow-form" on:submit=on_change>
                <Secret label="Current passphrase" test_id="passphrase-old" value=old autocomplete="current-password"/>
                <Secret label=at_least.clone() test_id="passphrase-new" value=new_first autocomplete="new-password"/>
                <Secret label=at_least_again test_id="passphrase-new-again" value=new_second autocomplete="new-password"/>
                <button type="submit" data-testid="passphrase-change" disabled=busy>
                    "Change the passphrase"
                </button>
            </form>
        }
        .into_any(),
    }
    };

    view! {
        <section class="panel narrow" data-testid="passphrase-panel">
            <h2>"Passphrase"</h2>
            {move || match state.get() {
                None => view! { <p class="muted">"Reading the encryption state…"</p> }.into_any(),
                Some(Ok(state)) => form(state),
                Some(Err(e)) => view! { <p class="error-text">{e}</p> }.into_any(),
            }}
            <IdleLockForm/>
        </section>
    }
}

/// What an unencrypted copy risks, and the warning every operator reads before setting a
/// passphrase.
#[component]
fn PlainCopyWarning() -> impl IntoView {
    view! {
        <p class="muted">
            "Anyone who opens this browser profile, or reads its files on the disk, can read the CRM. A passphrase encrypts every stored record, staged file and import history (AES-256-GCM under a random key, itself wrapped by a key derived from the passphrase with Argon2id)."
        </p>
        <div class="panel warning" data-testid="passphrase-warning" role="note">
            <p>
                <strong>"Before you set a passphrase: "</strong>
                "a forgotten passphrase cannot be recovered. Nobody can open the copy without it; only a snapshot you downloaded restores the CRM."
            </p>
            <p>
                "Snapshots stay plain XLSX files holding every full SSN: the passphrase does not protect them. Keep them as safe as the passphrase."
            </p>
        </div>
    }
}

/// The idle time after which an encrypted copy locks (kept in local storage, shared by the
/// tabs).
#[component]
fn IdleLockForm() -> impl IntoView {
    let app = use_app();
    let idle_text = RwSignal::new(idle_minutes().minutes().to_string());
    let on_idle = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        app.notice.set(None);
        match IdleMinutes::parse(&idle_text.get_untracked()) {
            Ok(minutes) => {
                save_idle_minutes(minutes);
                idle_text.set(minutes.minutes().to_string());
                app.success(format!("The app now locks after {minutes} without input."));
            }
            Err(refusal) => app.error(refusal.to_string()),
        }
    };
    view! {
        <h3>"Lock when idle"</h3>
        <form on:submit=on_idle>
            <label>
                "Lock an encrypted copy after "
                <input
                    type="text"
                    inputmode="numeric"
                    class="minutes"
                    data-testid="idle-minutes"
                    prop:value=move || idle_text.get()
                    on:input=move |ev| idle_text.set(event_target_value(&ev))
                />
                " minutes without input (in any tab; a running operation is never cut)."
            </label>
            " "
            <button type="submit" data-testid="idle-save">"Save"</button>
        </form>
    }
}

/// "Lock now": this tab and the others drop the keys, unless an operation is running.
#[component]
fn LockNow() -> impl IntoView {
    let app = use_app();
    let lock = Action::new_local(move |_: &()| async move {
        match app.call(Lock { when_idle: false }).await {
            Ok(true) => app.show_locked(),
            Ok(false) => app
                .info("An operation is still running: the copy was not locked. Lock again when it is done."),
            Err(e) => app.error(e),
        }
    });
    view! {
        <button data-testid="lock-now" disabled=move || lock.pending().get() on:click=move |_| {
            lock.dispatch(());
        }>"Lock now"</button>
    }
}
