//! Adding a workflow means writing its module and listing it: a fourth workflow declared here,
//! in the test — its own template, its own planner, its own words — runs through the service
//! exactly as the app's three do (stage → plan → apply → verify → undo, asked again before the
//! same file is applied twice, back to the upload step), with nothing of it in the service,
//! the protocol or the shared stages. "Portfolio moves" moves accounts to another operator's
//! portfolio by Account Number: found and different → moved, found and the same →
//! unchanged, not found → skipped and listed.

mod common;

use futures::executor::block_on;

use roundtrip::core::demo::{demo_crm, DEMO_SEED};
use roundtrip::core::model::{Crm, EntityKind, Record, RecordKey};
use roundtrip::core::plan::{AccountFacts, FieldChange, ImportPlan, PlannedRow, RowAction, RowFacts};
use roundtrip::core::template::{
    required, ApplyRule, ColumnSpec, Field, HeaderPolicy, MatchTier, Template, ValueKind,
};
use roundtrip::core::validate::Severity;
use roundtrip::core::workflow::{Applied, PlanInput, Wording, Workflow, WorkflowId};
use roundtrip::core::workflows;
use roundtrip::protocol::{
    ApplyImport, ApplyOutcome, ChooseTemplate, GoBack, History, PlanRows, SessionView, ShowSession,
    StageFile, TemplateFile, Undo,
};
use roundtrip::service::{Call, Failure, Handle, Service, Silent};
use roundtrip::store::memory::MemoryStore;

const NOW: i64 = 1_700_000_000_000;
const MOVES_ID: WorkflowId = WorkflowId::new("portfolio-moves");
/// What the Portfolio cell says of an account that belongs to no one's portfolio.
const WITHOUT: &str = "Without Portfolio";

static MOVE_COLUMNS: [ColumnSpec; 2] = [
    required(Field::AccountNumber, "Account", ValueKind::Identifier, "The account's number."),
    required(Field::Portfolio, "Move to", ValueKind::Text, "A login, or Without Portfolio."),
];

static MOVES: Template = Template {
    id: "portfolio-moves",
    name: "Portfolio moves",
    description: "Accounts moved to another operator's portfolio by Account Number.",
    target: EntityKind::Account,
    columns: &MOVE_COLUMNS,
    header_policy: HeaderPolicy::Exact,
    cascade: &[MatchTier::AccountNumber],
    apply: ApplyRule::UpsertAccount,
    row_rules: &[],
    sheet_name: "Portfolio Moves",
};

static TEMPLATES: [&Template; 1] = [&MOVES];

/// The fourth workflow.
#[derive(Debug)]
struct PortfolioMoves;

static WORKFLOW: PortfolioMoves = PortfolioMoves;

fn account_key(number: &str) -> RecordKey {
    RecordKey { kind: EntityKind::Account, id: number.to_string() }
}

impl PortfolioMoves {
    /// One row: the account it names moved, unchanged, skipped, or an error.
    fn plan_row(&self, crm: &Crm, plan: &mut ImportPlan, index: usize, input: &PlanInput<'_>) -> PlannedRow {
        let validated = input.validated;
        let row = &validated.rows[index];
        let number = row.text(0).to_string();
        let target = row.text(1).to_string();
        let facts = AccountFacts { number: number.clone(), ..AccountFacts::default() };
        let mut planned = PlannedRow::new(index, row.sheet_row, RowFacts::Account(facts));
        if row.blocked() {
            planned.errors = validated
                .issues
                .iter()
                .filter(|i| i.row == row.sheet_row && i.severity == Severity::Error)
                .map(|i| i.message.clone())
                .collect();
            return planned;
        }
        let Some(account) = crm.accounts.get(&number) else {
            planned.action = RowAction::Skip("no account with this number".into());
            return planned;
        };
        let login = if target.eq_ignore_ascii_case(WITHOUT) { None } else { Some(target.clone()) };
        if login.as_ref().is_some_and(|l| !crm.operators.contains_key(l)) {
            planned.errors.push(format!("{target} is no operator's login"));
            return planned;
        }
        if let RowFacts::Account(f) = &mut planned.facts {
            f.account = Some(number.clone());
        }
        plan.reads.insert(account_key(&number));
        if account.portfolio_login == login {
            planned.action = RowAction::Unchanged;
            return planned;
        }
        let before = account.portfolio_login.clone().unwrap_or_else(|| WITHOUT.into());
        planned.changes.push(FieldChange { field: "Move to".into(), before, after: target });
        let mut moved = account.clone();
        moved.portfolio_login = login;
        plan.changes.puts.push(Record::Account(moved));
        planned.action = RowAction::Update;
        planned
    }
}

impl Workflow for PortfolioMoves {
    fn id(&self) -> WorkflowId {
        MOVES_ID
    }

    fn templates(&self) -> &'static [&'static Template] {
        &TEMPLATES
    }

    fn plan(&self, input: &PlanInput<'_>) -> ImportPlan {
        let mut plan = ImportPlan::new(input.template, input.crm.counters);
        for index in 0..input.validated.rows.len() {
            let row = self.plan_row(input.crm, &mut plan, index, input);
            plan.rows.push(row);
        }
        plan.counts = plan.tally();
        plan
    }

    fn wording(&self) -> Wording {
        Wording {
            plan_title: "Portfolio moves — nothing has been moved yet".into(),
            apply_button: "Move".into(),
            apply_verb: "Move".into(),
            applied: "moved".into(),
            counts: [" to create".into(), " accounts to move".into(), " to add".into()],
            apply_counts_changes: false,
            applies_without_changes: false,
            shows_contacts: false,
        }
    }

    fn applied_message(&self, a: &Applied<'_>) -> String {
        let c = a.counts;
        format!(
            "Import #{} moved {} accounts: {} already there, {} skipped, {} invalid.",
            a.import_id, c.updated, c.unchanged, c.skipped, c.errors
        )
    }

    fn stored_found(&self, crm: &Crm, _template: &Template, row: &PlannedRow) -> bool {
        row.account().and_then(|f| f.account.as_ref()).is_some_and(|n| crm.accounts.contains_key(n))
    }

    fn stored_text(&self, crm: &Crm, _template: &Template, row: &PlannedRow, field: Field) -> String {
        let account = row.account().and_then(|f| f.account.as_ref()).and_then(|n| crm.accounts.get(n));
        match (account, field) {
            (Some(a), Field::AccountNumber) => a.number.clone(),
            (Some(a), Field::Portfolio) => a.portfolio_login.clone().unwrap_or_else(|| WITHOUT.into()),
            _ => String::new(),
        }
    }
}

type Svc = Service<MemoryStore>;

/// The service running the app's workflows and the fourth.
fn service(crm: Crm) -> Svc {
    let mut list = workflows::ALL.to_vec();
    list.push(&WORKFLOW);
    Service::with_workflows(MemoryStore::with_crm(crm), common::seeded_secrets(3), list)
}

fn run<O: Handle<MemoryStore>>(svc: &Svc, op: O) -> Result<O::Reply, Failure> {
    block_on(svc.run(op, &Call::new(&Silent, NOW)))
}

fn stage(svc: &Svc, csv: &str) -> SessionView {
    let op = StageFile {
        workflow: MOVES_ID,
        file_name: "moves.csv".into(),
        options: Default::default(),
        remembered: Default::default(),
    };
    let call = Call::new(&Silent, NOW).with_bytes(Some(csv.as_bytes().to_vec()));
    block_on(svc.run(op, &call)).expect("staged")
}

fn crm(svc: &Svc) -> Crm {
    block_on(svc.current()).expect("the CRM").crm.clone()
}

#[test]
fn a_fourth_workflow_declared_in_the_test_runs_through_the_service_with_its_own_planner() {
    let before = demo_crm(DEMO_SEED, 1);
    let mut accounts = before.accounts.values();
    let active = accounts.find(|a| a.portfolio_login.is_some()).expect("an active account").clone();
    let other_login = before
        .operators
        .keys()
        .find(|l| Some(*l) != active.portfolio_login.as_ref())
        .expect("another operator")
        .clone();
    let stays = accounts.find(|a| a.portfolio_login.is_some()).expect("another active account").clone();
    let svc = service(before.clone());

    // The upload step offers its template; the template workbook comes from the registry.
    let SessionView::Upload { template, .. } =
        run(&svc, ShowSession { workflow: MOVES_ID }).expect("the view")
    else {
        panic!("nothing is open yet");
    };
    assert_eq!(template.id, "portfolio-moves");
    let workbook = run(&svc, TemplateFile { template_id: "portfolio-moves".into(), csv: true }).expect("csv");
    assert_eq!(workbook.bytes, b"Account,Move to\r\n");
    run(&svc, ChooseTemplate { workflow: MOVES_ID, template_id: String::new() })
        .expect("recognised by headers");

    // Exact headers, no persons to resolve: staged straight to its plan, in its own words.
    let csv = format!(
        "Account,Move to\r\n{},{other_login}\r\n{},{}\r\nNO-SUCH-1,{other_login}\r\n{},nobody-here\r\n",
        active.number,
        stays.number,
        stays.portfolio_login.clone().unwrap_or_default(),
        stays.number
    );
    let SessionView::Plan(plan) = stage(&svc, &csv) else { panic!("expected the plan") };
    assert_eq!(plan.wording.plan_title, "Portfolio moves — nothing has been moved yet");
    assert_eq!(plan.wording.apply_button, "Move");
    let c = plan.counts;
    assert_eq!((c.updated, c.unchanged, c.skipped, c.errors), (1, 1, 1, 1), "{plan:#?}");
    assert_eq!(plan.columns, ["Row", "Action", "Account", "Changes (before → after) and notes", "Errors"]);
    let rows =
        run(&svc, PlanRows { workflow: MOVES_ID, start: 0, count: 10, only_changes: false }).expect("rows");
    assert_eq!(rows.total, 4);
    assert_eq!(rows.rows[0].cells[2], active.number);
    assert!(rows.rows[0].cells[3].ends_with(&format!("→ {other_login}")), "{:?}", rows.rows[0]);
    assert_eq!(rows.rows[3].cells[4], "nobody-here is no operator's login");
    assert_eq!(crm(&svc), before, "planning writes nothing");

    // Applied in one checked commit, verified, recorded, and undone like any import.
    let apply = ApplyImport {
        workflow: MOVES_ID,
        operator_login: "ops".into(),
        again: false,
        valid_rows_only: false,
    };
    let ApplyOutcome::Applied(SessionView::Done(done)) = run(&svc, apply.clone()).expect("applied") else {
        panic!("expected the Done view");
    };
    assert_eq!(
        done.message,
        format!("Import #{} moved 1 accounts: 1 already there, 1 skipped, 1 invalid.", done.import_id)
    );
    assert_eq!(done.sample.len(), 1, "the one moved account");
    assert!(done.sample[0].agrees, "{:#?}", done.sample);
    assert_eq!(done.skipped, ["NO-SUCH-1 (row 4)"]);
    let after = crm(&svc);
    assert_eq!(after.accounts[&active.number].portfolio_login.as_ref(), Some(&other_login));
    assert_eq!(after.accounts[&stays.number], stays);
    let history = run(&svc, History).expect("the history");
    assert_eq!((history[0].template_id.as_str(), history[0].counts), ("portfolio-moves", c));

    // The same file again asks first, in its words; back from its plan closes the file.
    let SessionView::Plan(again) = stage(&svc, &csv) else { panic!("expected the plan") };
    assert_eq!(again.counts.updated, 0, "re-planning an applied file moves nothing");
    let ApplyOutcome::AskFirst(question) = run(&svc, apply).expect("asked") else {
        panic!("expected a question")
    };
    assert!(question.to_string().contains("was already moved as import #"), "{question}");
    assert!(question.to_string().contains("Move it again?"), "{question}");
    let SessionView::Upload { staged, .. } = run(&svc, GoBack { workflow: MOVES_ID }).expect("back") else {
        panic!("back from the plan of a workflow without persons closes the file");
    };
    assert_eq!(staged.map(|s| s.template_id), Some("portfolio-moves".to_string()), "it stays staged");

    run(&svc, Undo { import_id: done.import_id }).expect("undone");
    assert_eq!(crm(&svc).accounts, before.accounts);
}

#[test]
fn the_app_runs_only_the_registered_workflows() {
    let svc = Service::new(MemoryStore::with_crm(demo_crm(DEMO_SEED, 1)), common::seeded_secrets(4));
    let refused = run(&svc, ShowSession { workflow: MOVES_ID }).expect_err("not one of the app's workflows");
    assert_eq!(refused.to_string(), "There is no workflow \"portfolio-moves\".");
    let ids: Vec<&str> = svc.workflows().iter().map(|w| w.id().as_str()).collect();
    assert_eq!(ids, ["insured", "insurance", "accounts"]);
}
