//! The views of a session the page renders: the step view of its stage, pages of review and
//! plan rows, pages of detected persons with their candidates.

use std::collections::BTreeMap;

use crate::core::headers::shown_headers;
use crate::core::privacy::shown::shown_header;

use crate::core::headers::HeaderSource;
use crate::core::insured::matching::{GroupChoice, GroupKind};
use crate::core::model::Crm;
use crate::core::plan::{ImportPlan, RowAction};
use crate::core::privacy::ssn::mask_text;
use crate::core::template::{Field, Template};
use crate::core::validate::Severity;
use crate::core::workflow::Workflow;
use crate::protocol::{
    CandidateView, FileView, GroupView, GroupsPage, HeaderRow, HeadersView, PlanView, ResolveView,
    ReviewView, RowsPage, SessionView, StagedCard, TableRow, TemplateView,
};

use super::{Matched, Planned, Reviewed, Session, Stage, Staged};

/// The page's view of where a session stands.
pub(super) fn session_view(s: &Session, staged: Option<StagedCard>) -> SessionView {
    let workflow = s.workflow;
    match &s.stage {
        Stage::Closed => SessionView::Upload {
            template: template_view(s.template),
            templates: workflow.templates().iter().map(|t| template_view(t)).collect(),
            staged,
        },
        Stage::Staged(staged) => SessionView::Headers(headers_view(staged)),
        Stage::Reviewed(r) => SessionView::Review(review_view(workflow, r)),
        Stage::Matched(m) => SessionView::Resolve(resolve_view(m)),
        Stage::Planned(p) => SessionView::Plan(plan_view(workflow, p)),
        Stage::Done(d) => SessionView::Done(d.view.clone()),
    }
}

fn template_view(t: &Template) -> TemplateView {
    TemplateView { id: t.id.to_string(), name: t.name.to_string(), description: t.description.to_string() }
}

/// The file being imported, as every step shows it.
pub(super) fn file_view(staged: &Staged) -> FileView {
    FileView {
        template: template_view(staged.template),
        file_name: staged.file.name.clone(),
        size: staged.file.size,
        sha256: staged.file.sha256.clone(),
        staged_at_ms: staged.file.staged_at_ms,
        rows: staged.sheet.rows.len(),
        warnings: staged.file.warnings.clone(),
    }
}

fn headers_view(open: &Staged) -> HeadersView {
    let rows = open
        .template
        .columns
        .iter()
        .enumerate()
        .map(|(t, spec)| {
            let current = open.mapping.columns.get(t).copied().flatten();
            let source =
                open.mapping.mapped.iter().find(|m| m.template_column == t).map(|m| (m.source, m.score));
            let note = match (current, source) {
                (None, _) if spec.header_required() => "missing — required".to_string(),
                (None, _) => "not in the file".to_string(),
                (Some(_), Some((HeaderSource::Exact, _))) => "exact".to_string(),
                (Some(_), Some((HeaderSource::Remembered, _))) => "confirmed earlier".to_string(),
                (Some(_), Some((HeaderSource::Suggested, score))) => {
                    format!("suggested ({:.0}% alike) — confirm", score * 100.0)
                }
                (Some(_), None) => String::new(),
            };
            HeaderRow {
                header: spec.header.to_string(),
                required: spec.header_required(),
                file_column: current,
                note,
            }
        })
        .collect();
    HeadersView {
        file: file_view(open),
        file_headers: shown_headers(&open.sheet.header),
        rows,
        missing_required: open.mapping.missing_required.clone(),
        ignored: open.mapping.ignored.iter().map(|h| shown_header(h)).collect(),
    }
}

/// The review table's columns: the workflow's review fields, with their errors.
fn review_columns(workflow: &dyn Workflow, t: &Template) -> Vec<String> {
    let mut columns = vec!["Row".to_string(), "Status".to_string()];
    for f in workflow.review_fields(t) {
        columns.push(match f {
            Field::FirstName => "Name".to_string(),
            f => t.spec(f).map(|s| s.header.to_string()).unwrap_or_default(),
        });
    }
    columns.push("Errors".to_string());
    columns
}

fn review_view(workflow: &dyn Workflow, reviewed: &Reviewed) -> ReviewView {
    let (open, v) = (&reviewed.staged, &reviewed.validated);
    let blocked = v.rows.iter().filter(|r| r.blocked()).count();
    ReviewView {
        file: file_view(open),
        rows: v.rows.len(),
        importable: v.rows.len() - blocked,
        errors: v.issues.iter().filter(|i| i.severity == Severity::Error).count(),
        warnings: v.issues.iter().filter(|i| i.severity == Severity::Warning).count(),
        rows_with_problems: v.rows.iter().filter(|r| r.errors + r.warnings > 0).count(),
        ignored: open.mapping.ignored.iter().map(|h| shown_header(h)).collect(),
        columns: review_columns(workflow, open.template),
        ssn_column: open.template.col(Field::Ssn).is_some(),
    }
}

fn resolve_view(matched: &Matched) -> ResolveView {
    let (m, choices) = (&matched.matches, &matched.reviewed.staged.choices);
    let conflicts = m.groups.iter().filter(|g| g.is_conflict()).count();
    let pending = m.groups.iter().filter(|g| g.is_conflict() && !choices.contains_key(&g.key)).count();
    ResolveView {
        file: file_view(&matched.reviewed.staged),
        tiers: m.tier_counts().into_iter().map(|(t, n)| (t.label().to_string(), n)).collect(),
        groups: m.open_groups().count(),
        conflicts,
        pending_conflicts: pending,
        matched: m.groups.len() - m.open_groups().count(),
        decided: m.groups.iter().filter(|g| choices.contains_key(&g.key)).count(),
    }
}

fn plan_columns(workflow: &dyn Workflow, t: &Template) -> Vec<String> {
    let mut c = vec!["Row".to_string(), "Action".to_string()];
    c.extend(workflow.plan_columns(t));
    c.push("Changes (before → after) and notes".to_string());
    c.push("Errors".to_string());
    c
}

fn plan_view(workflow: &dyn Workflow, p: &Planned) -> PlanView {
    let open = &p.basis.reviewed().staged;
    let plan = &p.plan;
    let notices = plan.notices.clone();
    PlanView {
        file: file_view(open),
        counts: plan.counts,
        contacts: plan.contacts(),
        pending_conflicts: plan.pending_conflicts,
        rows: plan.rows.len(),
        changing_rows: plan.rows.iter().filter(|r| !matches!(r.action, RowAction::Unchanged)).count(),
        stale: p.stale.clone(),
        notices,
        relinks: p.relinks.clone(),
        stale_conflict_rows: plan.stale_conflict_rows().count(),
        take_file_values: open.options.take_file_values,
        columns: plan_columns(workflow, open.template),
        wording: workflow.wording(),
    }
}

fn status_of(action: &RowAction) -> &'static str {
    match action {
        RowAction::Error => "error",
        RowAction::Skip(_) => "warning",
        RowAction::Unchanged => "muted",
        _ => "ok",
    }
}

/// One page of the plan table.
pub(super) fn plan_rows(
    workflow: &dyn Workflow,
    plan: &ImportPlan,
    start: usize,
    count: usize,
    only_changes: bool,
) -> RowsPage {
    let shown: Vec<usize> = (0..plan.rows.len())
        .filter(|i| !only_changes || !matches!(plan.rows[*i].action, RowAction::Unchanged))
        .collect();
    let rows = shown
        .iter()
        .skip(start)
        .take(count)
        .map(|i| {
            let p = &plan.rows[*i];
            let mut detail: Vec<String> =
                p.changes.iter().map(|c| format!("{}: {} → {}", c.field, c.before, c.after)).collect();
            detail.extend(p.notes.iter().cloned());
            let mut cells = vec![p.sheet_row.to_string(), p.action_text()];
            detail.extend(workflow.plan_notes(p));
            cells.extend(workflow.plan_cells(p));
            cells.push(detail.join(" · "));
            cells.push(p.errors_text());
            TableRow { sheet_row: p.sheet_row, status: status_of(&p.action).to_string(), cells }
        })
        .collect();
    RowsPage { total: shown.len(), start, rows }
}

/// One page of the review table.
pub(super) fn review_rows(
    workflow: &dyn Workflow,
    reviewed: &Reviewed,
    start: usize,
    count: usize,
    only_problems: bool,
) -> RowsPage {
    let (open, v) = (&reviewed.staged, &reviewed.validated);
    let shown: Vec<usize> =
        (0..v.rows.len()).filter(|i| !only_problems || v.rows[*i].errors + v.rows[*i].warnings > 0).collect();
    let fields = workflow.review_fields(open.template);
    let page: Vec<usize> = shown.iter().skip(start).take(count).copied().collect();
    let wanted: std::collections::BTreeSet<usize> = page.iter().map(|i| v.rows[*i].sheet_row).collect();
    let mut problems: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for i in v.issues.iter().filter(|i| wanted.contains(&i.row)) {
        problems.entry(i.row).or_default().push(format!(
            "{}{}",
            i.cell.as_ref().map(|c| format!("{c}: ")).unwrap_or_default(),
            i.message
        ));
    }
    let rows = page
        .into_iter()
        .map(|i| {
            let r = &v.rows[i];
            let t = open.template;
            let cell = |f: Field| t.col(f).map(|c| r.raw(c).into_owned()).unwrap_or_default();
            let status = if r.errors > 0 {
                "error"
            } else if r.warnings > 0 {
                "warning"
            } else {
                "ok"
            };
            let mut cells = vec![r.sheet_row.to_string(), status.to_string()];
            for f in &fields {
                cells.push(match f {
                    Field::FirstName if t.col(Field::LastName).is_some() => {
                        format!("{} {}", cell(Field::FirstName), cell(Field::LastName)).trim().to_string()
                    }
                    Field::Ssn => {
                        let s = cell(Field::Ssn);
                        if s.is_empty() {
                            s
                        } else {
                            mask_text(&s).into_string()
                        }
                    }
                    f => cell(*f),
                });
            }
            cells.push(problems.remove(&r.sheet_row).unwrap_or_default().join(" · "));
            TableRow { sheet_row: r.sheet_row, status: status.to_string(), cells }
        })
        .collect();
    RowsPage { total: shown.len(), start, rows }
}

/// One page of detected persons: the open ones, or with `matched` the ones a tier decided.
pub(super) fn groups_page(
    crm: &Crm,
    matched_persons: &Matched,
    (start, count, matched): (usize, usize, bool),
) -> GroupsPage {
    let m = &matched_persons.matches;
    let v = &matched_persons.reviewed.validated;
    let choices = &matched_persons.reviewed.staged.choices;
    let section: Vec<_> = m.groups.iter().filter(|g| g.is_open() != matched).collect();
    let groups = section
        .iter()
        .skip(start)
        .take(count)
        .map(|g| {
            let mut facts = Vec::new();
            if !g.client_reference.is_empty() {
                facts.push(g.client_reference.clone());
            }
            if let Some(ssn) = &g.ssn {
                facts.push(format!("SSN {ssn}"));
            }
            if !g.insured_reference.is_empty() {
                facts.push(format!("{} on {}", g.insured_reference, g.case_reference));
            }
            let candidates: Vec<CandidateView> = g
                .candidates
                .iter()
                .map(|c| {
                    let name = if c.label.is_empty() {
                        crm.entries.get(&c.entry).map(|e| e.label()).unwrap_or_default()
                    } else {
                        c.label.clone()
                    };
                    let label = if g.is_open() {
                        format!("{name} — {}% · {}", c.score, c.reasons.join(", "))
                    } else {
                        format!("{name} — matched")
                    };
                    CandidateView { entry: c.entry, label, score: c.score }
                })
                .collect();
            let choice = choices.get(&g.key).copied();
            let chosen_label = match choice {
                Some(GroupChoice::Existing(e)) if !candidates.iter().any(|c| c.entry == e) => {
                    Some(crm.entries.get(&e).map(|e| e.label()).unwrap_or_else(|| format!("entry {e}")))
                }
                _ => None,
            };
            let (kind, reason) = match &g.kind {
                GroupKind::Matched { tier, .. } => (format!("Tier {}", tier.label()), None),
                GroupKind::Unresolved => ("Not matched".to_string(), None),
                GroupKind::Conflict { reason, .. } => ("Conflict".to_string(), Some(reason.clone())),
            };
            GroupView {
                index: g.id,
                key: g.key.clone(),
                name: g.display_name(),
                kind,
                conflict: g.is_conflict(),
                facts,
                reason,
                sheet_rows: g.rows.iter().map(|r| v.rows[*r].sheet_row).collect(),
                candidates,
                choice,
                chosen_label,
                can_create: g.can_create,
                matched: !g.is_open(),
                skip_by_default: g.default_choice() == Some(GroupChoice::Skip),
            }
        })
        .collect();
    GroupsPage { total: section.len(), start, groups }
}
