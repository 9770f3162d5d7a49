//! The built-in demo CRM: a realistic, deterministic CRM generated from a seed, so that a first
//! run shows real work at once and tests have a known population to import against. The same
//! seed and scale always give the same [`Crm`] (only [`SeededRandom`] draws decide anything,
//! never hash order); [`DemoFigures`] says how many records of each kind a scale holds.
//!
//! The population is made to exercise the import: CRM entries shared by two insureds, entries
//! without Client Reference or SSN, insureds linked to no entry, accented and hyphenated names,
//! the odd insured whose name is spelt differently from its entry, identifiers with leading
//! zeros, phone numbers that begin with `+`, and CNPJ account numbers with valid check digits.

use std::collections::{BTreeMap, HashSet};

use crate::core::cnpj;
use crate::core::date::Date;
use crate::core::model::{
    public_id_for, Account, AccountContact, AccountKind, Case, ContactDetail, ContactType, Counters, Crm,
    CrmEntry, DetailFields, DetailKind, Device, Insurance, InsuranceStatus, Insured, Operator, Portfolio,
    SchoolRole, SchoolUser,
};
use crate::core::privacy::Ssn;
use crate::core::random::SeededRandom;
use crate::core::text::fold;

#[cfg(test)]
mod tests;
mod words;

use words::*;
pub use words::{OPERATORS, SPECIALTIES};

/// The seed of the CRM the app loads on a first run.
pub const DEMO_SEED: u64 = 20_240_917;

/// How many records of each kind the demo CRM holds at a scale. Contact details (1–4 per
/// entry) and account contacts (1–3 per account) are drawn, so they are not fixed here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoFigures {
    pub operators: usize,
    pub portfolios: usize,
    pub cases: usize,
    pub insureds: usize,
    pub crm_entries: usize,
    /// Entries linked to two insureds on two different cases (the same person insured twice).
    pub shared_entries: usize,
    /// Insureds linked to no CRM entry.
    pub unlinked_insureds: usize,
    pub accounts: usize,
    pub specialties: usize,
    pub school_users: usize,
    pub devices: usize,
}

impl DemoFigures {
    /// The figures at `scale` (0 is read as 1): everything but operators, portfolios and the
    /// specialty registry grows linearly with the scale.
    pub fn at_scale(scale: u32) -> DemoFigures {
        let n = scale.max(1) as usize;
        DemoFigures {
            operators: OPERATORS.len(),
            portfolios: PORTFOLIOS.len(),
            cases: 400 * n,
            insureds: 1_000 * n,
            crm_entries: 900 * n,
            shared_entries: 50 * n,
            unlinked_insureds: 50 * n,
            accounts: 200 * n,
            specialties: SPECIALTIES.len(),
            school_users: 300 * n,
            devices: 300 * n,
        }
    }
}

/// Generates the demo CRM for `seed` at `scale` (0 is read as 1). See [`DemoFigures`].
pub fn demo_crm(seed: u64, scale: u32) -> Crm {
    let figures = DemoFigures::at_scale(scale);
    let mut crm = Crm::default();

    for &(login, name, roles) in OPERATORS {
        crm.operators.insert(
            login.to_string(),
            Operator { login: login.to_string(), name: name.to_string(), roles: roles.to_vec() },
        );
    }
    for &name in SPECIALTIES {
        crm.specialties.insert(name.to_string(), ());
    }

    generate_cases_and_portfolios(&mut crm, &mut section_random(seed, 1), &figures);
    generate_entries_and_details(&mut crm, &mut section_random(seed, 2), &figures);
    generate_insureds(&mut crm, &mut section_random(seed, 3), &figures);
    generate_accounts(&mut crm, &mut section_random(seed, 4), &figures);
    generate_enrollees(&mut crm, &mut section_random(seed, 5), &figures);

    crm.counters = Counters {
        next_entry_id: next_after(crm.entries.keys().max()),
        next_detail_number: crm.details.len() as u32 + 1,
        next_case_id: next_after(crm.cases.keys().max()),
        next_insured_id: next_after(crm.insureds.keys().max()),
        next_portfolio_id: next_after(crm.portfolios.keys().max()),
        next_account_contact_id: next_after(crm.account_contacts.keys().max()),
        next_import_id: 1,
        // No digest secret: it is random, made by whoever loads the demo (the core makes no
        // randomness).
        secret: None,
    };
    crm
}

fn next_after(max: Option<&u32>) -> u32 {
    max.map_or(1, |m| m + 1)
}

/// An independent stream per part of the CRM, so that changing one part's draws leaves the
/// others as they were.
fn section_random(seed: u64, section: u64) -> SeededRandom {
    let mut mixer = SeededRandom::new(seed ^ section.wrapping_mul(0xA076_1D64_78BD_642F));
    SeededRandom::new(mixer.next_u64())
}

/// Picks one item with probability proportional to its weight.
fn weighted<T: Copy>(random: &mut SeededRandom, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|&(_, w)| w).sum();
    let mut ticket = random.below(total.max(1) as usize) as u32;
    for &(item, weight) in items {
        if ticket < weight {
            return item;
        }
        ticket -= weight;
    }
    items[items.len() - 1].0
}

/// Increasing numbers with small random gaps, so references look issued rather than counted
/// (and never equal their record's internal ID, which would hide a mix-up).
struct ReferenceNumbers {
    next: u64,
    max_gap: usize,
}

impl ReferenceNumbers {
    fn new(start: u64, max_gap: usize) -> Self {
        ReferenceNumbers { next: start, max_gap }
    }
    fn take(&mut self, random: &mut SeededRandom) -> u64 {
        let n = self.next;
        self.next += 1 + random.below(self.max_gap) as u64;
        n
    }
}

fn random_date(random: &mut SeededRandom, from_year: i32, to_year: i32) -> Date {
    let start = Date { year: from_year, month: 1, day: 1 }.days_from_epoch();
    let end = Date { year: to_year, month: 12, day: 31 }.days_from_epoch();
    Date::from_days_from_epoch(start + random.below((end - start + 1) as usize) as i64)
}

fn generate_cases_and_portfolios(crm: &mut Crm, random: &mut SeededRandom, figures: &DemoFigures) {
    let mut portfolios: Vec<Portfolio> = PORTFOLIOS
        .iter()
        .enumerate()
        .map(|(i, &(name, owner, _))| Portfolio {
            id: i as u32 + 1,
            name: name.to_string(),
            owner_login: Some(owner.to_string()),
            temporary: false,
            case_ids: Vec::new(),
        })
        .collect();
    let weights: Vec<(usize, u32)> = PORTFOLIOS.iter().enumerate().map(|(i, &(_, _, w))| (i, w)).collect();
    let mut references = ReferenceNumbers::new(100, 2);
    for id in 1..=figures.cases as u32 {
        let reference = format!("CASE-{:06}", references.take(random));
        let title = format!("{} — {}", random.pick(CASE_PRODUCTS), random.pick(CASE_HOLDERS));
        crm.cases.insert(id, Case { id, reference, title });
        portfolios[weighted(random, &weights)].case_ids.push(id);
    }
    for p in portfolios {
        crm.portfolios.insert(p.id, p);
    }
}

fn generate_entries_and_details(crm: &mut Crm, random: &mut SeededRandom, figures: &DemoFigures) {
    let mut client_references = ReferenceNumbers::new(10_000, 40);
    let mut ssns: HashSet<Ssn> = HashSet::with_capacity(figures.crm_entries);
    let mut detail_number = 0u32;
    for id in 1..=figures.crm_entries as u32 {
        let (first_name, last_name) = random_person_name(random);
        // Draw every optional field, present or not, so that one field's presence does not
        // shift the others' values.
        let reference = format!("CR-{:08}", client_references.take(random));
        let ssn = unique_ssn(random, &mut ssns);
        let date_of_birth = random_date(random, 1938, 2008);
        let entry = CrmEntry {
            id,
            client_reference: random.chance(85).then_some(reference),
            ssn: random.chance(80).then_some(ssn),
            first_name: first_name.to_string(),
            last_name: last_name.to_string(),
            date_of_birth: random.chance(92).then_some(date_of_birth),
        };
        for (kind, fields) in random_details(random, &entry) {
            detail_number += 1;
            let public_id = public_id_for(detail_number);
            crm.details.insert(public_id.clone(), ContactDetail { public_id, entry_id: id, kind, fields });
        }
        crm.entries.insert(id, entry);
    }
}

/// A valid SSN (area not 000, 666 or 9xx; group not 00; serial not 0000) not yet handed out.
fn unique_ssn(random: &mut SeededRandom, taken: &mut HashSet<Ssn>) -> Ssn {
    loop {
        let area = 1 + random.below(899);
        let group = 1 + random.below(99);
        let serial = 1 + random.below(9999);
        if area == 666 {
            continue;
        }
        let Some(ssn) = Ssn::parse(&format!("{area:03}-{group:02}-{serial:04}")) else { continue };
        if taken.insert(ssn) {
            return ssn;
        }
    }
}

fn random_person_name(random: &mut SeededRandom) -> (&'static str, &'static str) {
    (*random.pick(FIRST_NAMES), *random.pick(LAST_NAMES))
}

/// 1–4 contact details for an entry, with exactly one primary per kind present.
fn random_details(random: &mut SeededRandom, entry: &CrmEntry) -> Vec<(DetailKind, DetailFields)> {
    let count = weighted(random, &[(1usize, 15), (2, 35), (3, 35), (4, 15)]);
    let city = *random.pick(CITIES);
    let mut details: Vec<(DetailKind, DetailFields)> = Vec::with_capacity(count);
    for i in 0..count {
        let kind = if i == 0 {
            weighted(random, &[(DetailKind::Address, 75), (DetailKind::Phone, 25)])
        } else {
            weighted(random, &[(DetailKind::Phone, 45), (DetailKind::Email, 40), (DetailKind::Address, 15)])
        };
        let primary = !details.iter().any(|(k, _)| *k == kind);
        let mut fields = DetailFields { primary, ..DetailFields::default() };
        match kind {
            DetailKind::Address => {
                fields.label = weighted(random, &[("Home", 70), ("Work", 30)]).to_string();
                // A second address is usually elsewhere in the same country.
                let place = if primary { city } else { *random.pick(CITIES) };
                fill_address(random, &mut fields, place);
            }
            DetailKind::Phone => {
                fields.label = weighted(random, &[("Mobile", 50), ("Home", 30), ("Work", 20)]).to_string();
                fields.phone = random_phone(random, city);
            }
            DetailKind::Email => {
                let label = weighted(random, &[("Home", 60), ("Work", 40)]);
                fields.label = label.to_string();
                fields.email = random_email(random, &entry.first_name, &entry.last_name, label == "Work");
            }
        }
        details.push((kind, fields));
    }
    details
}

fn fill_address(random: &mut SeededRandom, fields: &mut DetailFields, city: City) {
    let street = *random.pick(city.streets);
    let number = 1 + random.below(480);
    fields.address_line1 = match city.street_style {
        StreetStyle::Leading => format!("{number} {street}"),
        StreetStyle::Trailing => format!("{street} {number}"),
        StreetStyle::AfterComma => format!("{street}, {number}"),
    };
    if random.chance(30) {
        fields.address_line2 = match random.below(4) {
            0 => format!("Apt {}{}", 1 + random.below(12), *random.pick(&["A", "B", "C", "D"])),
            1 => format!("Suite {}", 100 + random.below(800)),
            2 => format!("Unit {}", 1 + random.below(40)),
            _ => format!("Floor {}", 1 + random.below(20)),
        };
    }
    fields.city = city.name.to_string();
    fields.region = city.region.to_string();
    fields.postcode = random.pick(city.postcodes).to_string();
    fields.country = city.country.to_string();
}

fn random_phone(random: &mut SeededRandom, city: City) -> String {
    if city.country_code == "1" {
        // 555-0100 to 555-0199 are reserved for fiction.
        let line = 100 + random.below(100);
        match random.below(3) {
            0 => format!("+1 {} 555 {line:04}", city.area_code),
            1 => format!("({}) 555-{line:04}", city.area_code),
            _ => format!("{}-555-{line:04}", city.area_code),
        }
    } else {
        format!(
            "+{} {} {:04} {:04}",
            city.country_code,
            city.area_code,
            random.below(10_000),
            random.below(10_000)
        )
    }
}

/// The ASCII letters of a name for an email address (`Müller-Åberg` → `mulleraberg`).
fn email_part(name: &str) -> String {
    let mut out = String::new();
    for c in fold(name).chars() {
        match c {
            'a'..='z' | '0'..='9' => out.push(c),
            'ầ' | 'ạ' | 'ă' => out.push('a'),
            'ễ' | 'ệ' | 'ế' => out.push('e'),
            'ị' => out.push('i'),
            'ơ' | 'ố' | 'ộ' => out.push('o'),
            'ư' | 'ữ' => out.push('u'),
            _ => {}
        }
    }
    out
}

fn random_email(random: &mut SeededRandom, first: &str, last: &str, work: bool) -> String {
    let first = email_part(first);
    let last = email_part(last);
    let local = match random.below(4) {
        0 => format!("{first}.{last}"),
        1 => format!("{}{last}", first.chars().next().unwrap_or('x')),
        2 => format!("{first}{}", 1 + random.below(98)),
        _ => format!("{first}_{last}"),
    };
    let domain = if work { *random.pick(WORK_DOMAINS) } else { *random.pick(PERSONAL_DOMAINS) };
    format!("{local}@{domain}")
}

/// Insureds spread over the cases (1–4 per case), most linked to one CRM entry, some sharing
/// an entry with an insured on another case, some linked to none.
fn generate_insureds(crm: &mut Crm, random: &mut SeededRandom, figures: &DemoFigures) {
    let case_ids: Vec<u32> = crm.cases.keys().copied().collect();
    if case_ids.is_empty() {
        return;
    }
    // How many insureds each case holds: one each, then the rest spread while a case has
    // room (fewer than four). The figures leave room to spare, so this ends quickly.
    let mut per_case = vec![1usize; case_ids.len()];
    let mut extra = figures.insureds.saturating_sub(case_ids.len());
    while extra > 0 {
        let c = random.below(per_case.len());
        if per_case[c] < 4 {
            per_case[c] += 1;
            extra -= 1;
        }
    }
    let mut insured_cases: Vec<u32> = Vec::with_capacity(figures.insureds);
    for (i, &n) in per_case.iter().enumerate() {
        insured_cases.extend(std::iter::repeat_n(case_ids[i], n));
    }

    // Which insureds link to which entry.
    let total = insured_cases.len();
    let mut unlinked = vec![false; total];
    for i in random.sample_indices(total, figures.unlinked_insureds) {
        unlinked[i] = true;
    }
    let linked: Vec<usize> = (0..total).filter(|&i| !unlinked[i]).collect();
    let mut second_link = vec![false; linked.len()];
    for i in random.sample_indices(linked.len(), figures.shared_entries) {
        second_link[i] = true;
    }
    let mut entry_ids: Vec<u32> = crm.entries.keys().copied().collect();
    for i in (1..entry_ids.len()).rev() {
        entry_ids.swap(i, random.below(i + 1));
    }
    let mut entry_of: Vec<Option<u32>> = vec![None; total];
    let mut first_case_of_entry: BTreeMap<u32, u32> = BTreeMap::new();
    let mut next_entry = entry_ids.iter();
    for (k, &i) in linked.iter().enumerate() {
        if second_link[k] {
            continue;
        }
        if let Some(&entry_id) = next_entry.next() {
            entry_of[i] = Some(entry_id);
            first_case_of_entry.insert(entry_id, insured_cases[i]);
        }
    }
    let mut shared: HashSet<u32> = HashSet::new();
    for (k, &i) in linked.iter().enumerate() {
        if !second_link[k] || entry_ids.is_empty() {
            continue;
        }
        let case_id = insured_cases[i];
        let fits = |entry_id: u32, shared: &HashSet<u32>| {
            first_case_of_entry.get(&entry_id).is_some_and(|&c| c != case_id) && !shared.contains(&entry_id)
        };
        let start = random.below(entry_ids.len());
        let found = (0..entry_ids.len())
            .map(|step| entry_ids[(start + step) % entry_ids.len()])
            .find(|&e| fits(e, &shared));
        if let Some(entry_id) = found {
            shared.insert(entry_id);
            entry_of[i] = Some(entry_id);
        }
    }

    let mut references = ReferenceNumbers::new(1_000, 3);
    for (i, &case_id) in insured_cases.iter().enumerate() {
        let id = i as u32 + 1;
        let reference = format!("INS-{:07}", references.take(random));
        let (first_name, last_name) = match entry_of[i].and_then(|e| crm.entries.get(&e)) {
            Some(entry) if random.chance(2) => spelling_variant(random, &entry.first_name, &entry.last_name),
            Some(entry) => (entry.first_name.clone(), entry.last_name.clone()),
            None => {
                let (f, l) = random_person_name(random);
                (f.to_string(), l.to_string())
            }
        };
        crm.insureds
            .insert(id, Insured { id, case_id, reference, first_name, last_name, entry_id: entry_of[i] });
    }
}

/// The name as another system might have typed it: without accents, in capitals, or with a
/// space for a hyphen.
fn spelling_variant(random: &mut SeededRandom, first: &str, last: &str) -> (String, String) {
    let unaccented = (strip_accents(first), strip_accents(last));
    if unaccented != (first.to_string(), last.to_string()) && random.chance(60) {
        return unaccented;
    }
    if last.contains('-') {
        return (first.to_string(), last.replace('-', " "));
    }
    (first.to_string(), last.to_uppercase())
}

/// Removes the accents the folding table knows, keeping case (`José` → `Jose`).
fn strip_accents(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let folded = fold(&c.to_string());
        let mut plain = folded.chars();
        match (plain.next(), plain.next()) {
            (Some(p), None) if !c.is_ascii() && p.is_ascii_alphabetic() => {
                out.push(if c.is_uppercase() { p.to_ascii_uppercase() } else { p });
            }
            _ => out.push(c),
        }
    }
    out
}

fn generate_accounts(crm: &mut Crm, random: &mut SeededRandom, figures: &DemoFigures) {
    let logins: Vec<&str> = OPERATORS.iter().map(|&(login, _, _)| login).collect();
    let specialties: Vec<&str> = SPECIALTIES.to_vec();
    let mut numbers: HashSet<String> = HashSet::with_capacity(figures.accounts);
    let mut contact_id = 0u32;
    for _ in 0..figures.accounts {
        let kind = weighted(
            random,
            &[(AccountKind::Medical, 50), (AccountKind::Company, 30), (AccountKind::Insurance, 20)],
        );
        let (doctor_first, doctor_last) = (*random.pick(BR_FIRST_NAMES), *random.pick(BR_LAST_NAMES));
        let number = loop {
            let candidate = match kind {
                AccountKind::Medical => {
                    format!("{}/{}", 1_000 + random.below(299_000), random.pick(BR_STATES))
                }
                AccountKind::Company | AccountKind::Insurance => random_cnpj(random),
            };
            if numbers.insert(candidate.clone()) {
                break candidate;
            }
        };
        let name = match kind {
            AccountKind::Medical if random.chance(60) => {
                let title = if FEMININE_BR_FIRST_NAMES.contains(&doctor_first) { "Dra." } else { "Dr." };
                format!("{title} {doctor_first} {doctor_last}")
            }
            AccountKind::Medical => format!("Clínica {}", random.pick(CLINIC_NAMES)),
            AccountKind::Company => {
                format!(
                    "{} {} {}",
                    random.pick(BR_PLACE_WORDS),
                    random.pick(COMPANY_TRADES),
                    random.pick(COMPANY_SUFFIXES)
                )
            }
            AccountKind::Insurance => {
                format!("{} {}", random.pick(BR_PLACE_WORDS), random.pick(INSURER_SUFFIXES))
            }
        };
        let portfolio_login = random.chance(90).then(|| random.pick(&logins).to_string());
        let contacts = weighted(random, &[(1usize, 40), (2, 40), (3, 20)]);
        for c in 0..contacts {
            contact_id += 1;
            let contact_type = match kind {
                AccountKind::Medical if c == 0 => ContactType::Doctor,
                AccountKind::Medical => weighted(
                    random,
                    &[(ContactType::Secretary, 60), (ContactType::Others, 25), (ContactType::Doctor, 15)],
                ),
                _ => weighted(
                    random,
                    &[(ContactType::Others, 55), (ContactType::Secretary, 35), (ContactType::Doctor, 10)],
                ),
            };
            let (first, last) = if kind == AccountKind::Medical && c == 0 {
                (doctor_first, doctor_last)
            } else {
                (*random.pick(BR_FIRST_NAMES), *random.pick(BR_LAST_NAMES))
            };
            let qualifications = if contact_type == ContactType::Doctor {
                let k = weighted(random, &[(1usize, 75), (2, 25)]);
                random
                    .sample_indices(specialties.len(), k)
                    .into_iter()
                    .map(|i| specialties[i].to_string())
                    .collect()
            } else {
                Vec::new()
            };
            let area = random.pick(BR_AREA_CODES);
            let phone = if random.chance(50) {
                format!("+55 {area} {:04}-{:04}", 2_000 + random.below(8_000), random.below(10_000))
            } else {
                format!("({area}) 9{:04}-{:04}", random.below(10_000), random.below(10_000))
            };
            let email = format!("{}.{}@{}", email_part(first), email_part(last), random.pick(WORK_DOMAINS));
            crm.account_contacts.insert(
                contact_id,
                AccountContact {
                    id: contact_id,
                    account_number: number.clone(),
                    identifier: number.clone(),
                    name: format!("{first} {last}"),
                    contact_type,
                    qualifications,
                    phone,
                    email,
                },
            );
        }
        crm.accounts.insert(number.clone(), Account { number, name, kind, portfolio_login });
    }
}

/// A formatted CNPJ with valid check digits: an eight-digit root, a branch number (mostly the
/// head office, 0001) and the two check digits.
fn random_cnpj(random: &mut SeededRandom) -> String {
    let root = 10_000_000 + random.below(90_000_000);
    let branch = if random.chance(80) { 1 } else { 2 + random.below(8) };
    let base = format!("{root:08}{branch:04}");
    cnpj::with_check_digits(&base).unwrap_or(base)
}

fn random_insurance(
    random: &mut SeededRandom,
    policy_prefix: &str,
    types: &[&str],
    amounts_in_dollars: &[i64],
) -> Insurance {
    // Draw everything first so the stream does not depend on which fields end up filled.
    let filled = random.chance(50);
    let enrolled = random.chance(85);
    let start = *random.pick(&[(2024, 8, 15), (2024, 9, 1), (2025, 1, 1), (2025, 8, 15)]);
    let policy = format!("{policy_prefix}-{}-{:06}", start.0, random.below(1_000_000));
    let mut cents = random.pick(amounts_in_dollars) * 100;
    if random.chance(10) {
        cents += 1 + random.below(99) as i64;
    }
    let coverage_type = random.pick(types).to_string();
    if !filled {
        return Insurance::default();
    }
    if !enrolled {
        return Insurance { status: Some(InsuranceStatus::NotEnrolled), ..Insurance::default() };
    }
    let start = Date { year: start.0, month: start.1, day: start.2 };
    let end = Date::from_days_from_epoch(
        Date { year: start.year + 1, month: start.month, day: start.day }.days_from_epoch() - 1,
    );
    Insurance {
        status: Some(InsuranceStatus::Enrolled),
        policy_number: Some(policy),
        coverage_amount_cents: Some(cents),
        coverage_type: Some(coverage_type),
        start: Some(start),
        end: Some(end),
    }
}

fn generate_enrollees(crm: &mut Crm, random: &mut SeededRandom, figures: &DemoFigures) {
    let mut student_numbers = ReferenceNumbers::new(1, 2);
    let mut staff_numbers = ReferenceNumbers::new(1, 2);
    for _ in 0..figures.school_users {
        let (first, last) = random_person_name(random);
        let role = if random.chance(85) { SchoolRole::Student } else { SchoolRole::Staff };
        let (user_id, insurance) = match role {
            SchoolRole::Student => (
                format!("S{:05}", student_numbers.take(random)),
                random_insurance(random, "SA", STUDENT_COVERAGE_TYPES, &[5_000, 10_000, 15_000, 25_000]),
            ),
            SchoolRole::Staff => (
                format!("T{:04}", staff_numbers.take(random)),
                random_insurance(random, "ST", STAFF_COVERAGE_TYPES, &[25_000, 50_000, 100_000]),
            ),
        };
        crm.school_users.insert(
            user_id.clone(),
            SchoolUser { user_id, name: format!("{first} {last}"), role, insurance },
        );
    }
    let mut device_numbers = ReferenceNumbers::new(1, 2);
    for _ in 0..figures.devices {
        let year = 2021 + random.below(5);
        let serial = format!("DV-{year}-{:05}", device_numbers.take(random));
        let model = random.pick(DEVICE_MODELS).to_string();
        let insurance =
            random_insurance(random, "DP", DEVICE_COVERAGE_TYPES, &[249, 329, 499, 899, 1_099, 1_299]);
        crm.devices.insert(serial.clone(), Device { serial, model, insurance });
    }
}
