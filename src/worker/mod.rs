//! The pipeline worker (browser only): a dedicated Web Worker built from this crate as the
//! `roundtrip-worker` binary. It owns the CRM copy and the store and serves the page's
//! [`Request`]s with the [`Service`]; the page never runs the pipeline itself.
//!
//! Across tabs: every commit is made under the Web Lock `roundtrip-commit` (where the browser
//! offers Web Locks) and announced with its sequence number on the BroadcastChannel
//! `roundtrip-crm`; on another tab's announcement the worker brings its copy up to date and
//! tells its page. Without either API, the store's checked commit alone still refuses a batch
//! planned on a copy that moved.

pub mod runtime;
mod store;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

use crate::protocol::{ChangeCause, CrmSummary, Event, Reply, Request, SessionAction, WorkflowId};
use crate::service::crm::Download;
use crate::service::failure::{CrmRefusal, FileProblem};
use crate::service::session::{ApplyOutcome, ApplyRequest};
use crate::service::{Cancelled, Failure, Service, Ticker};
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

fn file(download: Download) -> Outgoing {
    let bytes = buffer_of(&download.bytes);
    (Ok(Reply::File { name: download.name, mime: download.mime }), Some(bytes))
}

async fn serve(call: Incoming) -> Outgoing {
    let Incoming { task, request, bytes } = call;
    if let Request::Open { autoload_demo } = request {
        return open(autoload_demo, &task).await;
    }
    let Some(service) = service() else {
        return (Err(CrmRefusal::NotOpen.to_string()), None);
    };
    let outgoing = handle(&service, request, bytes.map(|b| bytes_of(&b)), &task).await;
    flush_events(&service);
    outgoing
}

/// Opens the store (IndexedDB, or memory where the browser offers none), reads the CRM,
/// listens to other tabs.
async fn open(autoload_demo: bool, task: &Task) -> Outgoing {
    if let Some(service) = service() {
        return (service.summary().await.map(Reply::Summary).map_err(|e| e.to_string()), None);
    }
    let (store, opened) = AnyStore::open(DATABASE_NAME, || post_event(Event::DatabaseClosed)).await;
    let service = Rc::new(Service::new(store));
    SERVICE.with(|s| *s.borrow_mut() = Some(Rc::clone(&service)));
    let mut notice = None;
    match opened {
        Opened::Stored => listen_to_other_tabs(),
        Opened::MemoryOnly(text) => notice = Some(text),
        Opened::ReadOnly(why) => service.set_read_only(why),
    }
    let result = service.open(autoload_demo, task).await;
    flush_events(&service);
    (result.map(|summary| Reply::Summary(CrmSummary { notice, ..summary })).map_err(|e| e.to_string()), None)
}

/// Another tab's commit: catch up and tell the page.
fn listen_to_other_tabs() {
    let Ok(channel) = web_sys::BroadcastChannel::new(CHANNEL_NAME) else { return };
    let on_message =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |_event: web_sys::MessageEvent| {
            wasm_bindgen_futures::spawn_local(async move {
                let Some(service) = service() else { return };
                if let Ok(refreshed) = service.store().refresh().await {
                    if refreshed.moved() {
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

fn remembered(map: Option<BTreeMap<String, String>>) -> BTreeMap<String, String> {
    map.unwrap_or_default()
}

async fn handle(
    service: &Service<AnyStore>,
    request: Request,
    bytes: Option<Vec<u8>>,
    task: &Task,
) -> Outgoing {
    let reply = match request {
        Request::Open { .. } => return (Err(CrmRefusal::AlreadyOpen.to_string()), None),
        Request::Summary => service.summary().await.map(Reply::Summary),
        Request::Ping => Ok(Reply::Text("pong".into())),
        Request::LoadDemo => service.load_demo(task).await.map(Reply::Done),
        Request::ReadSnapshot { file_name } => {
            let Some(bytes) = bytes else {
                return (Err(CrmRefusal::SnapshotBytesMissing.to_string()), None);
            };
            service
                .read_snapshot(&file_name, &bytes, task)
                .await
                .map(|(entries, cases, accounts)| Reply::SnapshotRead { file_name, entries, cases, accounts })
        }
        Request::ReplaceWithSnapshot => service.replace_with_snapshot(task).await.map(Reply::Done),
        Request::DropSnapshot => {
            service.drop_snapshot();
            Ok(Reply::Done(String::new()))
        }
        Request::SnapshotDownload => match service.snapshot_download(now_ms(), task).await {
            Ok(d) => return file(d),
            Err(e) => Err(e),
        },
        Request::SearchEntries { query, limit } => {
            service.search_entries(&query, limit).await.map(|(total, rows)| Reply::Entries { total, rows })
        }
        Request::Entry { id } => service.entry_card(id).await.map(Reply::Entry),
        Request::RevealSsn { id } => service.reveal_ssn(id).await.map(Reply::Text),
        Request::Accounts { kind, portfolio, limit } => service
            .accounts(kind, portfolio, limit)
            .await
            .map(|(total, rows)| Reply::Accounts { total, rows }),
        Request::Enrollees { query, limit } => service.enrollees(&query, limit).await.map(Reply::Enrollees),
        Request::PortfolioCases { id } => service.portfolio_cases(id).await.map(Reply::Cases),
        Request::SearchCases { query, limit } => service.search_cases(&query, limit).await.map(Reply::Cases),
        Request::CreateTemporaryPortfolio { name, owner_login, case_ids } => {
            service.create_temporary_portfolio(&name, owner_login, case_ids).await.map(Reply::Done)
        }
        Request::DeletePortfolio { id } => service.delete_portfolio(id).await.map(Reply::Done),
        Request::ExportPreview { portfolio_id } => service
            .export_preview(portfolio_id)
            .await
            .map(|(cases, insureds, rows)| Reply::ExportPreview { cases, insureds, rows }),
        Request::InsuredExport { portfolio_id } => {
            match service.insured_export(portfolio_id, now_ms(), task).await {
                Ok(d) => return file(d),
                Err(e) => Err(e),
            }
        }
        Request::TemplateFile { template_id, csv } => match service.template_file(&template_id, csv).await {
            Ok(d) => return file(d),
            Err(e) => Err(e),
        },
        Request::InsuranceStatus => {
            service.insurance_status().await.map(|(users, devices)| Reply::InsuranceStatus { users, devices })
        }
        Request::InsuranceStatusReport => match service.insurance_status_report().await {
            Ok(d) => return file(d),
            Err(e) => Err(e),
        },
        Request::AccountsExport { profile, filters } => {
            match service.accounts_export(&profile, &filters).await {
                Ok(d) => return file(d),
                Err(e) => Err(e),
            }
        }
        Request::History => service.history().await.map(Reply::History),
        Request::Undo { import_id } => service.undo(import_id).await.map(|u| Reply::Undone {
            import_id: u.import_id,
            message: u.message,
            portfolios: u.portfolios,
        }),
        Request::Session { workflow, action } => {
            return session(service, workflow, action, bytes, task).await
        }
    };
    (reply.map_err(|e| e.to_string()), None)
}

async fn session(
    service: &Service<AnyStore>,
    workflow: WorkflowId,
    action: SessionAction,
    bytes: Option<Vec<u8>>,
    task: &Task,
) -> Outgoing {
    let reply = match action {
        SessionAction::View => service.session_view(workflow).await.map(Reply::Session),
        SessionAction::Template { template_id } => {
            service.choose_template(workflow, &template_id).await.map(Reply::Session)
        }
        SessionAction::Stage { file_name, options, remembered: memory } => {
            let Some(bytes) = bytes else {
                return (Err(Failure::NotStaged(FileProblem::BytesMissing).to_string()), None);
            };
            service
                .stage(workflow, &file_name, bytes, options, &remembered(memory), now_ms(), task)
                .await
                .map(Reply::Session)
        }
        SessionAction::Resume { options, remembered: memory } => {
            service.resume(workflow, options, &remembered(memory), task).await.map(Reply::Session)
        }
        SessionAction::Discard => service.discard(workflow).await.map(Reply::Session),
        SessionAction::Close => service.close(workflow).await.map(Reply::Session),
        SessionAction::SetColumn { template_column, file_column } => {
            service.set_column(workflow, template_column, file_column).await.map(Reply::Session)
        }
        SessionAction::ConfirmHeaders => service
            .confirm_headers(workflow, task)
            .await
            .map(|(view, remember)| Reply::Confirmed { view, remember }),
        SessionAction::ReviewRows { start, count, only_problems } => {
            service.review_rows(workflow, start, count, only_problems).map(Reply::Rows)
        }
        SessionAction::ErrorReport => match service.error_report(workflow) {
            Ok(d) => return file(d),
            Err(e) => Err(e),
        },
        SessionAction::Match => service.match_rows(workflow, task).await.map(Reply::Session),
        SessionAction::Groups { start, count, matched } => {
            service.groups(workflow, start, count, matched).await.map(Reply::Groups)
        }
        SessionAction::Bulk { action, apply: false } => service
            .bulk_preview(workflow, action)
            .map(|(groups, changes, rows)| Reply::Bulk { groups, changes, rows }),
        SessionAction::Bulk { action, apply: true } => {
            service.bulk_apply(workflow, action).await.map(Reply::Session)
        }
        SessionAction::Choose { group, choice } => {
            service.choose(workflow, group, choice).await.map(Reply::Session)
        }
        SessionAction::Plan { options } => {
            service.plan(workflow, Some(options), task).await.map(Reply::Session)
        }
        SessionAction::PlanRows { start, count, only_changes } => {
            service.plan_rows(workflow, start, count, only_changes).map(Reply::Rows)
        }
        SessionAction::PlanReport => match service.plan_report(workflow).await {
            Ok(d) => return file(d),
            Err(e) => Err(e),
        },
        SessionAction::Apply { operator_login, again, valid_rows_only } => {
            let started = now();
            match service
                .apply(
                    workflow,
                    ApplyRequest {
                        operator_login: &operator_login,
                        again,
                        valid_rows_only,
                        now_ms: now_ms(),
                    },
                    started,
                    now,
                    task,
                )
                .await
            {
                Ok(ApplyOutcome::Applied(view)) => Ok(Reply::Session(view)),
                Ok(ApplyOutcome::AskFirst(question)) => Ok(Reply::AskFirst(question)),
                Err(e) => Err(e),
            }
        }
        SessionAction::ResultsReport => match service.results_report(workflow) {
            Ok(d) => return file(d),
            Err(e) => Err(e),
        },
        SessionAction::Back => service.back(workflow).await.map(Reply::Session),
    };
    flush_events(service);
    (reply.map_err(|e| e.to_string()), None)
}
