//! A virtual table: renders only the rows in view, so review and plan tables stay smooth at
//! 100,000 rows. Rows are positioned absolutely inside a spacer as tall as all of them.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// Height of one row in pixels.
pub const ROW_HEIGHT: f64 = 30.0;
const VIEWPORT: f64 = 420.0;
const OVERSCAN: usize = 6;

#[component]
pub fn VirtualTable<F, V>(
    /// Column headers.
    headers: Vec<&'static str>,
    /// CSS grid-template-columns shared by the header and the rows.
    columns: &'static str,
    row_count: Signal<usize>,
    /// Renders row `i` as cells (one element per column).
    render_row: F,
    #[prop(into)] test_id: String,
) -> impl IntoView
where
    F: Fn(usize) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let scroll_top = RwSignal::new(0.0f64);
    let on_scroll = move |ev: web_sys::Event| {
        if let Some(el) = ev.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) {
            scroll_top.set(el.scroll_top() as f64);
        }
    };
    let grid = format!("grid-template-columns:{columns}");
    let grid_rows = grid.clone();
    view! {
        <div class="vtable" data-testid=test_id>
            <div class="vhead" style=grid.clone()>
                {headers.into_iter().map(|h| view! { <div class="vcell">{h}</div> }).collect_view()}
            </div>
            <div class="vbody" style=format!("height:{VIEWPORT}px") on:scroll=on_scroll>
                <div class="vspace" style=move || format!("height:{}px", row_count.get() as f64 * ROW_HEIGHT)>
                    {move || {
                        let n = row_count.get();
                        let first = ((scroll_top.get() / ROW_HEIGHT).floor() as usize).saturating_sub(OVERSCAN);
                        let last = (first + (VIEWPORT / ROW_HEIGHT).ceil() as usize + 2 * OVERSCAN).min(n);
                        let render_row = render_row.clone();
                        let grid_rows = grid_rows.clone();
                        (first..last)
                            .map(move |i| {
                                view! {
                                    <div
                                        class="vrow"
                                        class:odd=i % 2 == 1
                                        style=format!("{grid_rows};top:{}px;height:{ROW_HEIGHT}px", i as f64 * ROW_HEIGHT)
                                    >
                                        {render_row(i)}
                                    </div>
                                }
                            })
                            .collect_view()
                    }}
                </div>
            </div>
        </div>
    }
}
