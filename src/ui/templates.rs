//! A button that downloads a template's model spreadsheet (or its CSV header row), written by
//! the worker.

use leptos::prelude::*;

use crate::protocol::TemplateFile;
use crate::ui::state::use_app;

#[component]
pub fn TemplateDownload(
    #[prop(into)] template_id: String,
    #[prop(into)] test_id: String,
    #[prop(into)] label: String,
    #[prop(optional)] csv: bool,
) -> impl IntoView {
    let app = use_app();
    let download = Action::new_local(move |id: &String| {
        let template_id = id.clone();
        async move {
            if let Err(e) = app.download(TemplateFile { template_id, csv }).await {
                app.error(e);
            }
        }
    });
    view! {
        <button
            data-testid=test_id
            disabled=move || download.pending().get()
            on:click=move |_| {
                download.dispatch(template_id.clone());
            }
        >
            {label}
        </button>
    }
}
