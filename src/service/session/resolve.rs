//! Matching and the Resolve step: the cascade in slices, detected persons, the operator's
//! choices one by one, in bulk or from a choices file, and the export base a file carries.

use super::*;

impl<S: CrmStore> Service<S> {
    /// Matches the rows to the CRM (in slices, with progress): detected persons go to Resolve;
    /// a file without any goes straight to the plan.
    pub async fn match_rows(
        &self,
        workflow: WorkflowId,
        ticker: &impl Ticker,
    ) -> Result<SessionView, Failure> {
        let (epoch, open) = {
            let session = self.session(workflow)?;
            let s = session.borrow();
            (s.epoch, s.open.clone().ok_or(NotYet::Open)?)
        };
        let validated = open.validated.clone().ok_or(NotYet::Validated)?;
        let stored = self.current().await?;
        let matches = match_rows(&stored.crm, open.template, &validated, &open.file.base, ticker).await?;
        drop(stored);
        let has_groups = matches.open_groups().next().is_some();
        {
            let session = self.session(workflow)?;
            let mut s = session.borrow_mut();
            if s.epoch != epoch {
                return Err(SessionRefusal::ChangedMeanwhile("matched").into());
            }
            let current = s.open.as_mut().ok_or(NotYet::Open)?;
            current.matches = Some(Rc::new(matches));
            current.planned = None;
            current.stage = Stage::Resolve;
        }
        if has_groups {
            self.session_view(workflow).await
        } else {
            self.plan(workflow, None, ticker).await
        }
    }

    /// A page of detected persons.
    pub async fn groups(
        &self,
        workflow: WorkflowId,
        start: usize,
        count: usize,
        matched: bool,
    ) -> Result<GroupsPage, Failure> {
        let stored = self.current().await?;
        let session = self.session(workflow)?;
        let s = session.borrow();
        let open = s.open.as_ref().ok_or(NotYet::Open)?;
        let m = open.matches.as_ref().ok_or(NotYet::Matched)?;
        let v = open.validated.as_ref().ok_or(NotYet::Validated)?;
        Ok(groups_page(&stored.crm, m, v, &open.choices, (start, count.min(200), matched)))
    }

    /// What a bulk choice would set: persons, persons whose outcome changes, their rows.
    pub fn bulk_preview(&self, workflow: WorkflowId, action: BulkAction) -> Result<BulkPreview, Failure> {
        let session = self.session(workflow)?;
        let s = session.borrow();
        let open = s.open.as_ref().ok_or(NotYet::Open)?;
        let m = open.matches.as_ref().ok_or(NotYet::Matched)?;
        Ok(m.bulk_preview(&indexed_choices(m, &open.choices), action))
    }

    /// Sets a bulk choice on every person it applies to (persons the operator decided keep
    /// their choice).
    pub async fn bulk_apply(&self, workflow: WorkflowId, action: BulkAction) -> Result<SessionView, Failure> {
        {
            let session = self.session(workflow)?;
            let mut s = session.borrow_mut();
            let open = s.open.as_mut().ok_or(NotYet::Open)?;
            let m = open.matches.clone().ok_or(NotYet::Matched)?;
            let mut choices = indexed_choices(&m, &open.choices);
            m.apply_bulk(&mut choices, action);
            open.choices = m.choices_by_key(&choices);
            open.planned = None;
            open.stage = Stage::Resolve;
        }
        self.session_view(workflow).await
    }

    /// The operator's choice for one detected person.
    pub async fn choose(
        &self,
        workflow: WorkflowId,
        group: usize,
        choice: Option<GroupChoice>,
    ) -> Result<SessionView, Failure> {
        let exists = match choice {
            Some(GroupChoice::Existing(e)) => Some(e),
            _ => None,
        };
        if let Some(e) = exists {
            let stored = self.current().await?;
            if !stored.crm.entries.contains_key(&e) {
                return Err(SessionRefusal::EntryGone(e).into());
            }
        }
        {
            let session = self.session(workflow)?;
            let mut s = session.borrow_mut();
            let open = s.open.as_mut().ok_or(NotYet::Open)?;
            let m = open.matches.clone().ok_or(NotYet::Matched)?;
            let g = m.groups.get(group).ok_or(SessionRefusal::NoSuchPerson)?;
            let key = person_key(g);
            match choice {
                None => {
                    open.choices.remove(&key);
                }
                Some(c) => {
                    open.choices.insert(key, c);
                }
            }
            open.planned = None;
            open.stage = Stage::Resolve;
        }
        self.session_view(workflow).await
    }

    /// The operator's choices from a choices file (detected person key → choice), as
    /// [`Service::choose`] would set them one by one; returns the keys this file has no person
    /// for (the file or the CRM changed), which are not applied. A choice a person cannot take
    /// (an entry that does not exist, a new entry for a person without names) refuses the
    /// whole file and changes nothing.
    pub async fn choose_by_keys(
        &self,
        workflow: WorkflowId,
        keyed: &KeyedChoices,
    ) -> Result<Vec<String>, Failure> {
        let stored = self.current().await?;
        let session = self.session(workflow)?;
        let mut s = session.borrow_mut();
        let open = s.open.as_mut().ok_or(NotYet::Open)?;
        let m = open.matches.clone().ok_or(NotYet::Matched)?;
        let (choices, unknown) = m.choices_from_keys(keyed);
        for (g, choice) in m.groups.iter().zip(&choices) {
            match choice {
                Some(GroupChoice::Existing(e)) if !stored.crm.entries.contains_key(e) => {
                    return Err(
                        SessionRefusal::ChosenEntryMissing { entry: *e, person: person_key(g) }.into()
                    );
                }
                Some(c) if !g.allows(*c) => {
                    return Err(SessionRefusal::CannotCreate(person_key(g)).into());
                }
                _ => {}
            }
        }
        for (key, choice) in m.choices_by_key(&choices) {
            open.choices.insert(key, choice);
        }
        open.planned = None;
        open.stage = Stage::Resolve;
        Ok(unknown)
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
