//! Accounts: export profiles and the account/contact export by portfolio and kind; the model
//! spreadsheets; and the account and contact import — choose the file, see its name and size,
//! Upload, read the summary with an Errors column per row (every row reachable; the errors as
//! an error report), then Next applies the valid rows in one transaction recorded in the
//! import history (undoable). The Import role is required to import.

mod import;
mod profiles;

use leptos::prelude::*;

#[component]
pub fn AccountsPage() -> impl IntoView {
    view! {
        <section class="utilities" data-testid="accounts-page">
            <profiles::ProfilesAndExport/>
            <import::AccountImport/>
        </section>
    }
}
