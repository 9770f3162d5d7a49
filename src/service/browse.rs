//! Browsing the CRM: entries by name, Client Reference or last four of the SSN, one entry's
//! details, insureds and cases (SSN masked unless revealed), accounts by kind and portfolio,
//! school users and devices, cases by reference or title.

use std::collections::{BTreeSet, HashMap};

use crate::core::accounts::rules::portfolio_text;
use crate::core::index::{search_entries, CrmIndex};
use crate::core::ledger::LedgerEntry;
use crate::core::model::{DetailKind, EntryId};
use crate::core::text::fold;
use crate::protocol::{
    AccountRow, AccountsPage, CaseRow, DetailView, EnrolleeRow, Enrollees, EntriesPage, EntryCard, EntryRow,
    ListAccounts, PortfolioCases, RevealSsn, SearchCases, SearchEntries, ShowEntry,
};
use crate::store::CrmStore;

use super::failure::CrmRefusal;
use super::handle::{Call, Handle};
use super::{Failure, Service, Ticker};

impl<S: CrmStore> Handle<S> for SearchEntries {
    /// Entries matching a query (all of them for an empty one), the first `limit` shown.
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<EntriesPage, Failure> {
        let stored = svc.current().await?;
        let crm = &stored.crm;
        let found = search_entries(crm, &self.query, self.limit);
        let (total, hits) = (found.total, found.entries(crm));
        let shown: BTreeSet<EntryId> = hits.iter().map(|e| e.id).collect();
        let mut details: HashMap<EntryId, usize> = HashMap::new();
        for d in crm.details.values() {
            if shown.contains(&d.entry_id) {
                *details.entry(d.entry_id).or_default() += 1;
            }
        }
        let rows = hits
            .into_iter()
            .map(|e| EntryRow {
                id: e.id,
                name: e.display_name(),
                client_reference: e.client_reference.clone().unwrap_or_default(),
                ssn_masked: e.ssn.map(|s| s.masked().into_string()).unwrap_or_default(),
                date_of_birth: e.date_of_birth.map(|d| d.to_string()).unwrap_or_default(),
                details: details.get(&e.id).copied().unwrap_or(0),
            })
            .collect();
        Ok(EntriesPage { total, rows })
    }
}

impl<S: CrmStore> Handle<S> for ShowEntry {
    /// One entry with its details, insureds and cases; `None` when it no longer exists.
    async fn handle<T: Ticker>(
        self,
        svc: &Service<S>,
        _: &Call<'_, T>,
    ) -> Result<Option<EntryCard>, Failure> {
        let id: EntryId = self.id;
        let stored = svc.current().await?;
        let crm = &stored.crm;
        let Some(entry) = crm.entries.get(&id) else { return Ok(None) };
        let mut details: Vec<_> = crm.details.values().filter(|d| d.entry_id == id).collect();
        details.sort_by(|a, b| (a.kind, &a.public_id).cmp(&(b.kind, &b.public_id)));
        let details = details
            .into_iter()
            .map(|d| DetailView {
                public_id: d.public_id.clone(),
                kind: d.kind.label().to_string(),
                label: d.fields.label.clone(),
                value: match d.kind {
                    DetailKind::Address => [
                        &d.fields.address_line1,
                        &d.fields.address_line2,
                        &d.fields.city,
                        &d.fields.region,
                        &d.fields.postcode,
                        &d.fields.country,
                    ]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
                    DetailKind::Phone => d.fields.phone.clone(),
                    DetailKind::Email => d.fields.email.clone(),
                },
                primary: d.fields.primary,
            })
            .collect();
        let insureds = crm
            .insureds
            .values()
            .filter(|i| i.entry_id == Some(id))
            .map(|i| {
                let case = crm.cases.get(&i.case_id);
                (
                    i.reference.clone(),
                    format!("{} {}", i.first_name, i.last_name),
                    case.map(|c| format!("{} — {}", c.reference, c.title)).unwrap_or_default(),
                )
            })
            .collect();
        Ok(Some(EntryCard {
            id,
            name: entry.display_name(),
            client_reference: entry.client_reference.clone().unwrap_or_default(),
            ssn_masked: entry.ssn.map(|s| s.masked().into_string()),
            date_of_birth: entry.date_of_birth.map(|d| d.to_string()).unwrap_or_default(),
            details,
            insureds,
        }))
    }
}

impl<S: CrmStore> Handle<S> for RevealSsn {
    /// The full SSN of an entry, for the operator who chose to reveal it (the Reveal: one of
    /// the few places allowed to expose it), once the PII ledger has recorded who revealed
    /// which entry when (never the SSN).
    async fn handle<T: Ticker>(self, svc: &Service<S>, call: &Call<'_, T>) -> Result<String, Failure> {
        let stored = svc.current().await?;
        let entry = stored.crm.entries.get(&self.id);
        let (ssn, label) = entry.and_then(|e| Some((e.ssn?, e.display_name()))).ok_or(CrmRefusal::NoSsn)?;
        drop(stored);
        svc.record_in_ledger(LedgerEntry::reveal(&self.operator_login, call.now_ms, self.id, &label)).await?;
        Ok(ssn.expose_full().to_string())
    }
}

impl<S: CrmStore> Handle<S> for ListAccounts {
    /// Accounts of a kind and portfolio (a login, or "Without Portfolio"), the first `limit`
    /// shown.
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<AccountsPage, Failure> {
        let ListAccounts { filters, limit } = self;
        let stored = svc.current().await?;
        let crm = &stored.crm;
        let mut contacts: HashMap<&str, Vec<String>> = HashMap::new();
        for c in crm.account_contacts.values() {
            contacts.entry(c.account_number.as_str()).or_default().push(format!(
                "{} ({})",
                c.name,
                c.contact_type.label()
            ));
        }
        let mut total = 0;
        let mut rows = Vec::new();
        for a in crm.accounts.values().filter(|a| filters.accepts(a)) {
            total += 1;
            if rows.len() < limit {
                rows.push(AccountRow {
                    number: a.number.clone(),
                    name: a.name.clone(),
                    kind: a.kind.label().to_string(),
                    portfolio: portfolio_text(a).to_string(),
                    contacts: contacts.get(a.number.as_str()).map(|c| c.join("; ")).unwrap_or_default(),
                });
            }
        }
        Ok(AccountsPage { total, rows })
    }
}

impl<S: CrmStore> Handle<S> for Enrollees {
    /// School users then devices whose id, name, serial or model contains the query.
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<Vec<EnrolleeRow>, Failure> {
        let limit = self.limit;
        let stored = svc.current().await?;
        let crm = &stored.crm;
        let q = self.query.to_lowercase();
        let hit =
            |a: &str, b: &str| q.is_empty() || a.to_lowercase().contains(&q) || b.to_lowercase().contains(&q);
        let users =
            crm.school_users.values().filter(|u| hit(&u.user_id, &u.name)).take(limit).map(|u| EnrolleeRow {
                id: u.user_id.clone(),
                name: format!("{} ({})", u.name, u.role.label()),
                status: u.insurance.status.map(|s| s.label()).unwrap_or("—").to_string(),
                policy: u.insurance.policy_number.clone().unwrap_or_default(),
            });
        let devices =
            crm.devices.values().filter(|d| hit(&d.serial, &d.model)).take(limit).map(|d| EnrolleeRow {
                id: d.serial.clone(),
                name: d.model.clone(),
                status: d.insurance.status.map(|s| s.label()).unwrap_or("—").to_string(),
                policy: d.insurance.policy_number.clone().unwrap_or_default(),
            });
        Ok(users.chain(devices).collect())
    }
}

impl<S: CrmStore> Handle<S> for PortfolioCases {
    /// The cases of a portfolio, by reference.
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<Vec<CaseRow>, Failure> {
        let stored = svc.current().await?;
        let crm = &stored.crm;
        let Some(p) = crm.portfolios.get(&self.id) else { return Ok(Vec::new()) };
        let index = CrmIndex::new(crm);
        let mut cases: Vec<_> = p.case_ids.iter().filter_map(|c| crm.cases.get(c)).collect();
        cases.sort_by(|a, b| a.reference.cmp(&b.reference));
        Ok(cases
            .into_iter()
            .map(|c| CaseRow {
                id: c.id,
                reference: c.reference.clone(),
                title: c.title.clone(),
                insureds: index.insureds_of_case(c.id).len(),
            })
            .collect())
    }
}

impl<S: CrmStore> Handle<S> for SearchCases {
    /// Cases whose reference or title contains the query (nothing for an empty one).
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<Vec<CaseRow>, Failure> {
        let limit = self.limit;
        let stored = svc.current().await?;
        let q = fold(&self.query);
        if q.is_empty() {
            return Ok(Vec::new());
        }
        Ok(stored
            .crm
            .cases
            .values()
            .filter(|c| fold(&c.reference).contains(&q) || fold(&c.title).contains(&q))
            .take(limit)
            .map(|c| CaseRow {
                id: c.id,
                reference: c.reference.clone(),
                title: c.title.clone(),
                insureds: 0,
            })
            .collect())
    }
}
