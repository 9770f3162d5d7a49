//! The import history: applying a plan records it, and the most recent import can be undone.
//! [`apply`] and [`record_import`] wrap a plan's puts with its [`ImportRecord`] — who, when,
//! which file (SHA-256), the counts and a before-image of every record it writes — into one
//! batch for the store; [`undo`] builds the batch that puts every before-image back (removing
//! what the import created) and marks the record undone. Every workflow's import goes through
//! here, so every import is undone the same way.

use serde::{Deserialize, Serialize};

use crate::core::model::{BeforeImage, ChangeSet, Crm, ImportRecord, Record};

use super::ImportPlan;

/// Who applies an import, when, and which file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyContext {
    pub template_id: String,
    pub operator_login: String,
    pub applied_at_ms: i64,
    pub file_name: String,
    pub sha256: String,
}

/// Why an import cannot be applied, or undone. The plan's page shows the same words when
/// conflicts are pending.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyRefusal {
    #[error("{0} conflict(s) are not settled. Go back and choose an entry (or skip) for each.")]
    PendingConflicts(usize),
    #[error("There is no import to undo.")]
    NothingToUndo,
    #[error("Import #{0} was already undone.")]
    AlreadyUndone(u32),
}

/// The batch that applies a plan, refused while a conflict is pending.
pub fn apply(
    crm: &Crm,
    plan: &ImportPlan,
    ctx: &ApplyContext,
) -> Result<(ChangeSet, ImportRecord), ApplyRefusal> {
    if plan.pending_conflicts > 0 {
        return Err(ApplyRefusal::PendingConflicts(plan.pending_conflicts));
    }
    Ok(record_import(crm, plan, ctx))
}

/// Wraps a plan's puts with its history record: a before-image of every record it writes (so
/// [`undo`] can restore them), the plan's counters with the next import id handed out, and the
/// record itself with the plan's counts, as one batch.
pub fn record_import(crm: &Crm, plan: &ImportPlan, ctx: &ApplyContext) -> (ChangeSet, ImportRecord) {
    let id = crm.counters.next_import_id;
    let before_images = plan
        .changes
        .puts
        .iter()
        .filter(|r| !matches!(r, Record::Counters(_)))
        .map(|r| BeforeImage { key: r.key(), before: crm.get(&r.key()) })
        .collect();
    let record = ImportRecord {
        id,
        template_id: ctx.template_id.clone(),
        operator_login: ctx.operator_login.clone(),
        applied_at_ms: ctx.applied_at_ms,
        file_name: ctx.file_name.clone(),
        sha256: ctx.sha256.clone(),
        counts: plan.counts,
        before_images,
        undone: false,
    };
    let mut changes = plan.changes.clone();
    let mut counters = plan.counters;
    counters.next_import_id = id.saturating_add(1);
    changes.puts.retain(|r| !matches!(r, Record::Counters(_)));
    changes.puts.push(Record::Counters(counters));
    changes.puts.push(Record::Import(record.clone()));
    (changes, record)
}

/// The most recent applied (not undone) import of a file with this SHA-256, if any: the
/// operator is asked before the same file is applied again.
pub fn last_import_of_file<'a>(crm: &'a Crm, sha256: &str) -> Option<&'a ImportRecord> {
    crm.imports.values().rev().find(|r| r.sha256 == sha256 && !r.undone)
}

/// The most recent import that has not been undone.
pub fn last_undoable(crm: &Crm) -> Option<&ImportRecord> {
    crm.imports.values().rev().find(|r| !r.undone)
}

/// The batch that undoes the most recent import: every record it touched goes back to its
/// before-image (records it created are removed) and the history record is marked undone.
/// Counters are kept, so Public IDs handed out are never reused.
pub fn undo(crm: &Crm) -> Result<ChangeSet, ApplyRefusal> {
    let record = last_undoable(crm).ok_or(ApplyRefusal::NothingToUndo)?;
    let mut changes = ChangeSet::default();
    for image in &record.before_images {
        match &image.before {
            Some(r) => changes.puts.push(r.clone()),
            None => changes.deletes.push(image.key.clone()),
        }
    }
    let mut marked = record.clone();
    marked.undone = true;
    changes.puts.push(Record::Import(marked));
    Ok(changes)
}
