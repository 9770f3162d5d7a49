//! What the page is shown of the CRM, made from the core's data: the summary every page reads,
//! history rows, entity names.

use crate::core::model::{Crm, EntityKind, ImportRecord};
use crate::core::plan::history::last_undoable;
use crate::protocol::{CrmSummary, ImportView, OperatorView, PortfolioView};
use crate::store::StoredCrm;

/// How an entity kind is named on the page.
pub fn entity_label(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::Operator => "Operators",
        EntityKind::Portfolio => "Portfolios",
        EntityKind::Case => "Cases",
        EntityKind::Insured => "Insureds",
        EntityKind::Entry => "CRM entries",
        EntityKind::Detail => "Contact details",
        EntityKind::Account => "Accounts",
        EntityKind::AccountContact => "Account contacts",
        EntityKind::Specialty => "Specialties",
        EntityKind::SchoolUser => "School users",
        EntityKind::Device => "Devices",
        EntityKind::Import => "Imports in history",
        EntityKind::Counters => "Counters",
        EntityKind::Ledger => "PII ledger entries",
    }
}

/// One history row.
pub fn import_view(r: &ImportRecord) -> ImportView {
    ImportView {
        id: r.id,
        template_id: r.template_id.clone(),
        operator_login: r.operator_login.clone(),
        applied_at_ms: r.applied_at_ms,
        file_name: r.file_name.clone(),
        sha256: r.sha256.clone(),
        counts: r.counts,
        records: r.before_images.len(),
        undone: r.undone,
    }
}

/// The portfolios, with their owners' names.
pub fn portfolio_views(crm: &Crm) -> Vec<PortfolioView> {
    crm.portfolios
        .values()
        .map(|p| PortfolioView {
            id: p.id,
            name: p.name.clone(),
            owner: p
                .owner_login
                .as_ref()
                .and_then(|l| crm.operators.get(l))
                .map(|o| o.name.clone())
                .unwrap_or_else(|| "—".into()),
            temporary: p.temporary,
            cases: p.case_ids.len(),
        })
        .collect()
}

/// What every page shows of the CRM.
pub fn summary(stored: &StoredCrm, read_only: Option<String>) -> CrmSummary {
    let crm = &stored.crm;
    CrmSummary {
        sequence: stored.sequence,
        empty: crm.is_empty(),
        counts: EntityKind::ALL
            .into_iter()
            .filter(|k| !matches!(k, EntityKind::Counters | EntityKind::Ledger))
            .map(|k| (entity_label(k).to_string(), crm.count(k)))
            .collect(),
        entries: crm.entries.len(),
        cases: crm.cases.len(),
        accounts: crm.accounts.len(),
        operators: crm
            .operators
            .values()
            .map(|o| OperatorView { login: o.login.clone(), name: o.name.clone(), roles: o.roles.clone() })
            .collect(),
        portfolios: portfolio_views(crm),
        last_undoable: last_undoable(crm).map(import_view),
        read_only,
        notice: None,
    }
}
