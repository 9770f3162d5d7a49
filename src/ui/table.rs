//! A virtual table fed page by page by the worker: it renders only the rows in view (so a
//! 1,000,000-row review stays smooth) and asks for the pages those rows are on, keeping the
//! pages it has. Rows are positioned absolutely inside a spacer as tall as all of them.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

use crate::protocol::{RowsPage, TableRow};

/// Height of one row in pixels.
pub const ROW_HEIGHT: f64 = 30.0;
const VIEWPORT: f64 = 420.0;
const OVERSCAN: usize = 6;
/// Rows asked for at once.
pub const PAGE: usize = 100;

/// The CSS class of a cell: the status column shows the row's status; the last column may
/// hold problems.
fn cell_class(column: &str, status: &str) -> String {
    match column {
        "Status" | "Action" => format!("vcell status {status}"),
        "Errors" if status == "warning" => "vcell errors warning-only".to_string(),
        "Errors" => "vcell errors".to_string(),
        "Client Reference" | "SSN" | "Public ID" | "Account Number" | "User ID" | "Device Serial" => {
            "vcell mono".to_string()
        }
        _ => "vcell".to_string(),
    }
}

#[component]
pub fn PagedTable<F, Fut>(
    /// Column headers; a row's cells come in this order.
    headers: Signal<Vec<String>>,
    /// CSS grid-template-columns shared by the header and the rows.
    columns: &'static str,
    /// Fetches `count` rows from `start`.
    fetch: F,
    /// Changes whenever the rows may have changed (the stage, a filter): pages are fetched
    /// again.
    version: Signal<String>,
    #[prop(into)] test_id: String,
) -> impl IntoView
where
    F: Fn(usize, usize) -> Fut + Clone + 'static,
    Fut: Future<Output = Option<RowsPage>> + 'static,
{
    let scroll_top = RwSignal::new(0.0f64);
    let total = RwSignal::new(0usize);
    let pages: RwSignal<BTreeMap<usize, Vec<TableRow>>, LocalStorage> = RwSignal::new_local(BTreeMap::new());
    let asked: StoredValue<BTreeSet<usize>, LocalStorage> = StoredValue::new_local(BTreeSet::new());
    let seen_version = StoredValue::new_local(String::new());

    let load = {
        let fetch = fetch.clone();
        move |page: usize| {
            if asked.with_value(|a| a.contains(&page)) {
                return;
            }
            asked.update_value(|a| {
                a.insert(page);
            });
            let fetch = fetch.clone();
            let at = seen_version.get_value();
            spawn_local(async move {
                if let Some(got) = fetch(page * PAGE, PAGE).await {
                    if seen_version.get_value() == at {
                        total.set(got.total);
                        pages.update(|p| {
                            p.insert(page, got.rows);
                        });
                    }
                }
            });
        }
    };
    // A new version: forget every page and fetch the first.
    {
        let load = load.clone();
        Effect::new(move |_| {
            let v = version.get();
            seen_version.set_value(v);
            asked.set_value(BTreeSet::new());
            pages.set(BTreeMap::new());
            scroll_top.set(0.0);
            load(0);
        });
    }
    let on_scroll = move |ev: web_sys::Event| {
        if let Some(el) = ev.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) {
            scroll_top.set(el.scroll_top() as f64);
        }
    };
    let visible = Memo::new(move |_| {
        let n = total.get();
        let first = ((scroll_top.get() / ROW_HEIGHT).floor() as usize).saturating_sub(OVERSCAN);
        let last = (first + (VIEWPORT / ROW_HEIGHT).ceil() as usize + 2 * OVERSCAN).min(n);
        (first, last)
    });
    {
        let load = load.clone();
        Effect::new(move |_| {
            let (first, last) = visible.get();
            if last > first {
                for page in first / PAGE..=(last - 1) / PAGE {
                    load(page);
                }
            }
        });
    }
    let grid = format!("grid-template-columns:{columns}");
    let grid_rows = grid.clone();
    view! {
        <div class="vtable" data-testid=test_id>
            <div class="vhead" style=grid.clone()>
                {move || headers.get().into_iter().map(|h| view! { <div class="vcell">{h}</div> }).collect_view()}
            </div>
            <div class="vbody" style=format!("height:{VIEWPORT}px") on:scroll=on_scroll>
                <div class="vspace" style=move || format!("height:{}px", total.get() as f64 * ROW_HEIGHT)>
                    {move || {
                        let (first, last) = visible.get();
                        let heads = headers.get();
                        let grid_rows = grid_rows.clone();
                        pages.with(|pages| {
                            (first..last)
                                .map(|i| {
                                    let row = pages.get(&(i / PAGE)).and_then(|p| p.get(i % PAGE));
                                    table_row(i, row, &heads, &grid_rows)
                                })
                                .collect_view()
                        })
                    }}
                </div>
            </div>
        </div>
    }
}

/// Row `i` of the table, positioned in the spacer: its cells, or a placeholder while its page
/// is on its way.
fn table_row(i: usize, row: Option<&TableRow>, heads: &[String], grid: &str) -> AnyView {
    let style = format!("{grid};top:{}px;height:{ROW_HEIGHT}px", i as f64 * ROW_HEIGHT);
    match row {
        Some(r) => {
            let cells = r
                .cells
                .iter()
                .enumerate()
                .map(|(c, text)| {
                    let head = heads.get(c).cloned().unwrap_or_default();
                    let class = cell_class(&head, &r.status);
                    view! { <div class=class data-col=head title=text.clone()>{text.clone()}</div> }
                })
                .collect_view();
            view! { <div class="vrow" data-row=i.to_string() class:odd=i % 2 == 1 style=style>{cells}</div> }
                .into_any()
        }
        None => view! {
            <div class="vrow loading" class:odd=i % 2 == 1 style=style>
                <div class="vcell muted">"…"</div>
            </div>
        }
        .into_any(),
    }
}
