//! Matching and the Resolve step: the cascade in slices, detected persons, the operator's
//! choices one by one, in bulk or from a choices file.

use std::rc::Rc;

use crate::core::index::CrmIndex;
use crate::core::insured::base::ExportBaseRead;
use crate::core::insured::matching::{BulkPreview, GroupChoice, Matcher, Matches};
use crate::core::model::Crm;
use crate::core::template::Template;
use crate::core::validate::Validated;
use crate::protocol::{
    ApplyBulk, ChooseByKeys, ChoosePerson, GroupsPage, ListGroups, MatchRows, PreviewBulk, SessionView,
};
use crate::service::failure::{NotYet, SessionRefusal};
use crate::service::handle::{Call, Handle};
use crate::service::Ticker;
use crate::store::CrmStore;

use super::{views, Failure, Matched, Service, Session, Stage, CHUNK, RANK_CHUNK};

impl<S: CrmStore> Handle<S> for MatchRows {
    /// Matches the rows to the CRM (in slices, with progress): detected persons go to
    /// Resolve; a file without any goes straight to the plan.
    async fn handle<T: Ticker>(self, svc: &Service<S>, call: &Call<'_, T>) -> Result<SessionView, Failure> {
        let id = self.workflow;
        let (epoch, reviewed) = svc.read_session(id, |s| Ok((s.epoch, s.stage.reviewed()?.clone())))?;
        let stored = svc.current().await?;
        let staged = &reviewed.staged;
        let matches =
            match_rows(&stored.crm, staged.template, &reviewed.validated, &staged.file.base, call.ticker)
                .await?;
        drop(stored);
        let has_groups = matches.open_groups().next().is_some();
        let matched = Matched { reviewed, matches: Rc::new(matches) };
        svc.finish(id, epoch, "matched", |_| Stage::Matched(matched))?;
        if has_groups {
            svc.session_view(id).await
        } else {
            svc.plan(id, None, call.ticker).await
        }
    }
}

impl<S: CrmStore> Handle<S> for ListGroups {
    /// A page of detected persons: the open ones, or the ones a tier decided.
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<GroupsPage, Failure> {
        let stored = svc.current().await?;
        svc.read_session(self.workflow, |s| {
            let matched = s.stage.matched()?;
            Ok(views::groups_page(&stored.crm, matched, (self.start, self.count.min(200), self.matched)))
        })
    }
}

impl<S: CrmStore> Handle<S> for PreviewBulk {
    /// What a bulk choice would set: persons, persons whose outcome changes, their rows.
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<BulkPreview, Failure> {
        svc.read_session(self.workflow, |s| {
            let m = s.stage.matched()?;
            Ok(m.matches.bulk_preview(&m.indexed_choices(), self.action))
        })
    }
}

/// Back at the Resolve step to change a choice: the matched persons, the plan made from them
/// dropped.
fn resolving(s: &mut Session) -> Result<&mut Matched, Failure> {
    s.stage.matched()?;
    s.advance(Stage::back_to_matched);
    match &mut s.stage {
        Stage::Matched(m) => Ok(m),
        _ => Err(NotYet::Matched.into()),
    }
}

impl<S: CrmStore> Handle<S> for ApplyBulk {
    /// Sets a bulk choice on every person it applies to (persons the operator decided keep
    /// their choice).
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<SessionView, Failure> {
        svc.change_session(self.workflow, |s| {
            let m = resolving(s)?;
            let mut choices = m.indexed_choices();
            m.matches.apply_bulk(&mut choices, self.action);
            m.reviewed.staged.choices = m.matches.choices_by_key(&choices);
            Ok(())
        })?;
        svc.session_view(self.workflow).await
    }
}

impl<S: CrmStore> Handle<S> for ChoosePerson {
    /// The operator's choice for one detected person (`None`: its default again).
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<SessionView, Failure> {
        if let Some(GroupChoice::Existing(e)) = self.choice {
            let stored = svc.current().await?;
            if !stored.crm.entries.contains_key(&e) {
                return Err(SessionRefusal::EntryGone(e).into());
            }
        }
        svc.change_session(self.workflow, |s| {
            let m = resolving(s)?;
            let key = m.matches.groups.get(self.group).ok_or(SessionRefusal::NoSuchPerson)?.key.clone();
            let choices = &mut m.reviewed.staged.choices;
            match self.choice {
                None => choices.remove(&key),
                Some(c) => choices.insert(key, c),
            };
            Ok(())
        })?;
        svc.session_view(self.workflow).await
    }
}

impl<S: CrmStore> Handle<S> for ChooseByKeys {
    /// The operator's choices from a choices file, as [`ChoosePerson`] would set them one by
    /// one; returns the keys this file has no person for (the file or the CRM changed), which
    /// are not applied. A choice a person cannot take (an entry that does not exist, a new
    /// entry for a person without names) refuses the whole file and changes nothing.
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<Vec<String>, Failure> {
        let stored = svc.current().await?;
        svc.change_session(self.workflow, |s| {
            let matches = Rc::clone(&s.stage.matched()?.matches);
            let (choices, unknown) = matches.choices_from_keys(&self.choices);
            for (g, choice) in matches.groups.iter().zip(&choices) {
                match choice {
                    Some(GroupChoice::Existing(e)) if !stored.crm.entries.contains_key(e) => {
                        return Err(
                            SessionRefusal::ChosenEntryMissing { entry: *e, person: g.key.clone() }.into()
                        );
                    }
                    Some(c) if !g.allows(*c) => {
                        return Err(SessionRefusal::CannotCreate(g.key.clone()).into())
                    }
                    _ => {}
                }
            }
            let m = resolving(s)?;
            m.reviewed.staged.choices.extend(matches.choices_by_key(&choices));
            Ok(unknown)
        })
    }
}

/// Runs the cascade, groups what it leaves open and ranks candidates, in slices.
pub(super) async fn match_rows(
    crm: &Crm,
    template: &'static Template,
    validated: &Validated,
    base: &ExportBaseRead,
    ticker: &impl Ticker,
) -> Result<Matches, Failure> {
    let index = CrmIndex::new(crm);
    ticker.tick("Preparing the matcher", 0, 1).await?;
    let matcher = Matcher::new(template, &index).with_base(base.base());
    let total = validated.rows.len();
    let mut outcomes = Vec::with_capacity(total);
    let mut notes = Vec::new();
    for (n, chunk) in validated.rows.chunks(CHUNK).enumerate() {
        ticker.tick("Matching rows", n * CHUNK, total).await?;
        for r in chunk {
            let (o, note) = matcher.row(r);
            outcomes.push(o);
            notes.extend(note);
        }
    }
    ticker.tick("Grouping unmatched rows into detected persons", total, total).await?;
    let mut matches = matcher.group(&validated.rows, outcomes, notes);
    let groups = matches.groups.len();
    for start in (0..groups).step_by(RANK_CHUNK) {
        ticker.tick("Ranking candidates for each detected person", start, groups).await?;
        for g in start..(start + RANK_CHUNK).min(groups) {
            matches.groups[g].candidates = matcher.candidates_for(&matches.groups[g], &validated.rows);
        }
    }
    Ok(matches)
}
