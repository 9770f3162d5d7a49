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
    Role, SchoolRole, SchoolUser,
};
use crate::core::random::SeededRandom;
use crate::core::text::fold;

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
    let mut ssns: HashSet<String> = HashSet::with_capacity(figures.crm_entries);
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
fn unique_ssn(random: &mut SeededRandom, taken: &mut HashSet<String>) -> String {
    loop {
        let area = 1 + random.below(899);
        let group = 1 + random.below(99);
        let serial = 1 + random.below(9999);
        if area == 666 {
            continue;
        }
        let ssn = format!("{area:03}-{group:02}-{serial:04}");
        if taken.insert(ssn.clone()) {
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

/// The three demo operators: one who may change settings, one who imports, one who only
/// exports.
pub const OPERATORS: &[(&str, &str, &[Role])] = &[
    ("amartin", "Ana Martín", &[Role::ManageSettings, Role::Import, Role::Export]),
    ("bsilva", "Bruno Silva", &[Role::Import, Role::Export]),
    ("cnguyen", "Chloé Nguyen", &[Role::Export]),
];

/// Name, owner login and relative share of the cases of each demo portfolio.
const PORTFOLIOS: &[(&str, &str, u32)] = &[
    ("North East Individual", "amartin", 35),
    ("Group Benefits", "bsilva", 25),
    ("West Coast Claims", "bsilva", 25),
    ("Key Accounts", "cnguyen", 15),
];

/// The specialty registry: the qualifications an account contact may hold.
pub const SPECIALTIES: &[&str] = &[
    "Anesthesiology",
    "Cardiology",
    "Clínica Médica",
    "Dermatology",
    "Emergency Medicine",
    "Endocrinology",
    "Family Medicine",
    "Gastroenterology",
    "Geriatrics",
    "Gynecology",
    "Hematology",
    "Infectious Disease",
    "Internal Medicine",
    "Nephrology",
    "Neurology",
    "Oncology",
    "Ophthalmology",
    "Orthopedics",
    "Otorhinolaryngology",
    "Pediatrics",
    "Psychiatry",
    "Pulmonology",
    "Radiology",
    "Rheumatology",
    "Urology",
];

const FIRST_NAMES: &[&str] = &[
    "James",
    "Mary",
    "John",
    "Patricia",
    "Robert",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Thomas",
    "Jessica",
    "Daniel",
    "Sarah",
    "Matthew",
    "Karen",
    "Emily",
    "Olivia",
    "Noah",
    "Liam",
    "Sophia",
    "Emma",
    "Ethan",
    "Grace",
    "Hannah",
    "Laura",
    "José",
    "Zoë",
    "Chloé",
    "François",
    "Björn",
    "Søren",
    "Inês",
    "João",
    "Renée",
    "André",
    "Noémie",
    "Siobhán",
    "Seán",
    "Łukasz",
    "Agnieszka",
    "Jürgen",
    "Lucía",
    "Mateo",
    "Camila",
    "Diego",
    "María José",
    "Jean-Luc",
    "Mary-Kate",
    "Ana Lúcia",
    "Mohammed",
    "Aisha",
    "Yusuf",
    "Fatima",
    "Wei",
    "Mei",
    "Priya",
    "Rahul",
    "Kenji",
    "Yuki",
    "Hyun-woo",
    "Ji-ho",
    "Thanh",
    "Linh",
    "Kwame",
    "Ngozi",
    "Olga",
    "Dmitri",
    "Astrid",
];

const LAST_NAMES: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Miller",
    "Davis",
    "Wilson",
    "Anderson",
    "Taylor",
    "Thomas",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Hill",
    "Green",
    "Adams",
    "Baker",
    "Nelson",
    "Carter",
    "Mitchell",
    "Roberts",
    "Campbell",
    "Murphy",
    "Cooper",
    "Reed",
    "Kelly",
    "García",
    "Martínez",
    "Hernández",
    "López",
    "González",
    "Rodríguez",
    "Sánchez",
    "Ramírez",
    "Díaz",
    "Muñoz",
    "Müller",
    "Müller-Åberg",
    "Schröder",
    "Weiß",
    "O'Brien",
    "O'Connor",
    "McCarthy",
    "Nguyễn",
    "Trần",
    "Lê",
    "Kim",
    "Park",
    "Chen",
    "Wang",
    "Silva",
    "Santos",
    "Gonçalves",
    "Conceição",
    "Kowalski",
    "Dvořák",
    "Østergaard",
    "Lindqvist",
    "Dubois",
    "Lefèvre",
    "de la Cruz",
    "Van der Berg",
    "Rossi",
    "Patel",
    "Shah",
    "Okafor",
    "Mensah",
    "Cohen",
    "Ivanova",
    "Nakamura",
    "Smith-Jones",
    "Ferreira da Costa",
];

/// (Products, holders) joined into case titles such as `Group Life — Harbor View Logistics`.
const CASE_PRODUCTS: &[&str] = &[
    "Group Life",
    "Long-Term Disability",
    "Short-Term Disability",
    "Critical Illness",
    "Term Life",
    "Dental Plan",
    "Health Plan",
    "Accident Cover",
    "Income Protection",
];

const CASE_HOLDERS: &[&str] = &[
    "Harbor View Logistics",
    "Northwind Traders",
    "Blue Ridge Bakery",
    "Lakeside School District",
    "Maple & Co. Architects",
    "Åkesson Design",
    "Café Lumière",
    "Riverside Dental Group",
    "Summit Outdoor Supply",
    "Granite State Printing",
    "Bay Area Robotics",
    "Ortega Family",
    "O'Neill Brothers Plumbing",
    "Individual policy",
    "Green Valley Co-op",
    "Müller Engineering",
];

#[derive(Debug, Clone, Copy)]
/// Where the house number goes in an address line.
enum StreetStyle {
    /// `12 Beacon Street`
    Leading,
    /// `Königsbrücker Straße 12`
    Trailing,
    /// `Avenida Paulista, 1578`
    AfterComma,
}

#[derive(Debug, Clone, Copy)]
struct City {
    name: &'static str,
    region: &'static str,
    country: &'static str,
    postcodes: &'static [&'static str],
    streets: &'static [&'static str],
    street_style: StreetStyle,
    country_code: &'static str,
    area_code: &'static str,
}

const US_STREETS: &[&str] = &[
    "Beacon Street",
    "Commonwealth Avenue",
    "Elm Street",
    "Maple Avenue",
    "Main Street",
    "Oak Lane",
    "Park Place",
    "Washington Street",
    "Cedar Road",
    "Highland Avenue",
    "Prospect Hill Road",
    "Mill Pond Drive",
];

const fn us_city(
    name: &'static str,
    region: &'static str,
    postcodes: &'static [&'static str],
    area_code: &'static str,
) -> City {
    City {
        name,
        region,
        country: "United States",
        postcodes,
        streets: US_STREETS,
        street_style: StreetStyle::Leading,
        country_code: "1",
        area_code,
    }
}

/// Places for addresses and phone numbers; New England, New Jersey and Puerto Rico postcodes
/// begin with zeros on purpose.
const CITIES: &[City] = &[
    us_city("Boston", "MA", &["02116", "02118", "02134"], "617"),
    us_city("Boston", "MA", &["02108", "02115", "02130"], "617"),
    us_city("Cambridge", "MA", &["02138", "02139", "02140"], "617"),
    us_city("Worcester", "MA", &["01602", "01605", "01609"], "508"),
    us_city("Providence", "RI", &["02903", "02906", "02908"], "401"),
    us_city("Hartford", "CT", &["06103", "06106", "06114"], "860"),
    us_city("New Haven", "CT", &["06510", "06511", "06515"], "203"),
    us_city("Hoboken", "NJ", &["07030"], "201"),
    us_city("Newark", "NJ", &["07102", "07104", "07107"], "973"),
    us_city("Portland", "ME", &["04101", "04102", "04103"], "207"),
    us_city("Burlington", "VT", &["05401", "05408"], "802"),
    us_city("San Juan", "PR", &["00901", "00907", "00918"], "787"),
    us_city("New York", "NY", &["10001", "10027", "10128"], "212"),
    us_city("Brooklyn", "NY", &["11201", "11215", "11238"], "718"),
    us_city("Philadelphia", "PA", &["19103", "19146", "19147"], "215"),
    us_city("Chicago", "IL", &["60614", "60622", "60657"], "312"),
    us_city("Austin", "TX", &["78701", "78704", "78751"], "512"),
    us_city("Miami", "FL", &["33130", "33139", "33145"], "305"),
    us_city("Denver", "CO", &["80202", "80205", "80218"], "303"),
    us_city("Seattle", "WA", &["98101", "98122", "98118"], "206"),
    us_city("San Francisco", "CA", &["94110", "94117", "94122"], "415"),
    City {
        name: "Toronto",
        region: "ON",
        country: "Canada",
        postcodes: &["M5V 2T6", "M4C 1B5", "M6G 3A9"],
        streets: &["King Street West", "Queen Street East", "Danforth Avenue"],
        street_style: StreetStyle::Leading,
        country_code: "1",
        area_code: "416",
    },
    City {
        name: "Montréal",
        region: "QC",
        country: "Canada",
        postcodes: &["H2X 1Y4", "H2T 1S6", "H3H 1E4"],
        streets: &["Rue Saint-Denis", "Boulevard Saint-Laurent", "Rue Sherbrooke Ouest"],
        street_style: StreetStyle::Leading,
        country_code: "1",
        area_code: "514",
    },
    City {
        name: "Dresden",
        region: "Sachsen",
        country: "Germany",
        postcodes: &["01067", "01069", "01099"],
        streets: &["Königsbrücker Straße", "Prager Straße", "Bautzner Straße"],
        street_style: StreetStyle::Trailing,
        country_code: "49",
        area_code: "351",
    },
    City {
        name: "München",
        region: "Bayern",
        country: "Germany",
        postcodes: &["80331", "80469", "81667"],
        streets: &["Leopoldstraße", "Sendlinger Straße", "Weißenburger Straße"],
        street_style: StreetStyle::Trailing,
        country_code: "49",
        area_code: "89",
    },
    City {
        name: "Lisboa",
        region: "Lisboa",
        country: "Portugal",
        postcodes: &["1100-148", "1200-195", "1250-096"],
        streets: &["Rua Augusta", "Avenida da Liberdade", "Rua da Prata"],
        street_style: StreetStyle::AfterComma,
        country_code: "351",
        area_code: "21",
    },
    City {
        name: "São Paulo",
        region: "SP",
        country: "Brazil",
        postcodes: &["01310-100", "04538-132", "05422-000"],
        streets: &["Avenida Paulista", "Rua Oscar Freire", "Rua Augusta"],
        street_style: StreetStyle::AfterComma,
        country_code: "55",
        area_code: "11",
    },
    City {
        name: "London",
        region: "Greater London",
        country: "United Kingdom",
        postcodes: &["EC1A 1BB", "N1 9GU", "SE1 7PB"],
        streets: &["Gresham Street", "Upper Street", "Lower Marsh"],
        street_style: StreetStyle::Leading,
        country_code: "44",
        area_code: "20",
    },
    City {
        name: "Paris",
        region: "Île-de-France",
        country: "France",
        postcodes: &["75011", "75004", "75018"],
        streets: &["rue de la Roquette", "rue des Rosiers", "rue Lepic"],
        street_style: StreetStyle::Leading,
        country_code: "33",
        area_code: "1",
    },
];

/// Reserved example domains only: the demo never names a real mailbox.
const PERSONAL_DOMAINS: &[&str] = &["example.com", "example.net", "mail.example.org"];
const WORK_DOMAINS: &[&str] =
    &["northwind.example", "harborview.example", "riverside-dental.example", "acme-insure.example"];

const BR_FIRST_NAMES: &[&str] = &[
    "Ana",
    "João",
    "Márcia",
    "Luís",
    "Fernanda",
    "Paulo",
    "Beatriz",
    "Rafael",
    "Camila",
    "Thiago",
    "Letícia",
    "Gustavo",
    "Patrícia",
    "Rodrigo",
    "Juliana",
    "André",
    "Conceição",
    "Sérgio",
    "Vitória",
    "Caio",
];

const FEMININE_BR_FIRST_NAMES: &[&str] = &[
    "Ana",
    "Márcia",
    "Fernanda",
    "Beatriz",
    "Camila",
    "Letícia",
    "Patrícia",
    "Juliana",
    "Conceição",
    "Vitória",
];

const BR_LAST_NAMES: &[&str] = &[
    "Souza",
    "Oliveira",
    "Pereira",
    "Costa",
    "Rodrigues",
    "Almeida",
    "Nascimento",
    "Lima",
    "Araújo",
    "Fernandes",
    "Carvalho",
    "Gomes",
    "Martins",
    "Rocha",
    "Ribeiro",
    "Barbosa",
    "Gonçalves",
    "Sá",
    "Magalhães",
    "Assunção",
];

const BR_STATES: &[&str] = &["SP", "RJ", "MG", "RS", "PR", "BA", "SC", "PE", "CE", "DF", "GO"];
const BR_AREA_CODES: &[&str] = &["11", "21", "31", "41", "51", "61", "71", "81"];

const CLINIC_NAMES: &[&str] = &[
    "São Lucas",
    "Santa Clara",
    "Bem-Estar",
    "do Coração Vila Mariana",
    "Pediátrica Pequeno Príncipe",
    "de Olhos Paulista",
    "Ortopédica Central",
    "Vida & Saúde",
];

const BR_PLACE_WORDS: &[&str] = &[
    "Horizonte",
    "Aurora",
    "Atlântico",
    "Serra Azul",
    "Vale Verde",
    "Ipê",
    "Cerrado",
    "Bandeirantes",
    "Pampa",
    "Maré Alta",
    "Três Rios",
    "Boa Vista",
];
const COMPANY_TRADES: &[&str] = &[
    "Logística",
    "Alimentos",
    "Tecnologia",
    "Construções",
    "Têxtil",
    "Comércio",
    "Engenharia",
    "Transportes",
];
const COMPANY_SUFFIXES: &[&str] = &["Ltda", "S.A.", "Ltda ME", "EIRELI"];
const INSURER_SUFFIXES: &[&str] = &["Seguros S.A.", "Previdência", "Saúde", "Vida e Previdência S.A."];

const STUDENT_COVERAGE_TYPES: &[&str] = &["Student Accident", "Accident and Sickness"];
const STAFF_COVERAGE_TYPES: &[&str] = &["Staff Accident", "Travel", "Accident and Sickness"];
const DEVICE_COVERAGE_TYPES: &[&str] =
    &["Accidental Damage", "Theft and Loss", "Accidental Damage and Theft", "Extended Warranty"];
const DEVICE_MODELS: &[&str] = &[
    "Chromebook 314",
    "Chromebook 11 G9 EE",
    "iPad 10.2-inch (9th generation)",
    "Latitude 3140 2-in-1",
    "ThinkPad 11e Yoga Gen 6",
    "Surface Go 3",
    "MacBook Air 13-inch (M2)",
    "Galaxy Tab A9+",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> Crm {
        demo_crm(DEMO_SEED, 1)
    }

    #[test]
    fn scale_one_has_exactly_the_advertised_counts() {
        let crm = demo();
        let f = DemoFigures::at_scale(1);
        assert_eq!(crm.operators.len(), 3);
        assert_eq!(crm.portfolios.len(), 4);
        assert_eq!(crm.cases.len(), 400);
        assert_eq!(crm.insureds.len(), 1_000);
        assert_eq!(crm.entries.len(), 900);
        assert_eq!(crm.accounts.len(), 200);
        assert_eq!(crm.school_users.len(), 300);
        assert_eq!(crm.devices.len(), 300);
        assert_eq!(crm.specialties.len(), f.specialties);
        assert!(crm.specialties.len() >= 25);
        assert!(crm.imports.is_empty());
        assert_eq!(crm.insureds.values().filter(|i| i.entry_id.is_none()).count(), f.unlinked_insureds);
        assert_eq!(shared_entry_ids(&crm).len(), f.shared_entries);
        let details_per_entry = crm.details.len() as f64 / crm.entries.len() as f64;
        assert!((2.0..3.0).contains(&details_per_entry), "{details_per_entry}");
        assert!(crm.account_contacts.len() >= 200 && crm.account_contacts.len() <= 600);
    }

    #[test]
    fn scale_multiplies_the_entities_but_not_operators_portfolios_or_specialties() {
        let crm = demo_crm(5, 3);
        assert_eq!(crm.operators.len(), 3);
        assert_eq!(crm.portfolios.len(), 4);
        assert_eq!(crm.specialties.len(), SPECIALTIES.len());
        assert_eq!(crm.cases.len(), 1_200);
        assert_eq!(crm.insureds.len(), 3_000);
        assert_eq!(crm.entries.len(), 2_700);
        assert_eq!(crm.accounts.len(), 600);
        assert_eq!(crm.school_users.len(), 900);
        assert_eq!(crm.devices.len(), 900);
        assert_eq!(demo_crm(5, 0), demo_crm(5, 1));
    }

    #[test]
    fn operators_have_the_documented_roles() {
        let crm = demo();
        assert_eq!(crm.operators["amartin"].roles, vec![Role::ManageSettings, Role::Import, Role::Export]);
        assert_eq!(crm.operators["bsilva"].roles, vec![Role::Import, Role::Export]);
        assert_eq!(crm.operators["cnguyen"].roles, vec![Role::Export]);
    }

    #[test]
    fn the_same_seed_gives_the_same_crm() {
        assert_eq!(demo_crm(42, 1), demo_crm(42, 1));
        assert_eq!(demo(), demo());
    }

    #[test]
    fn a_different_seed_gives_a_different_crm() {
        let a = demo_crm(1, 1);
        let b = demo_crm(2, 1);
        assert_ne!(a, b);
        assert_ne!(a.entries, b.entries);
        assert_ne!(a.accounts, b.accounts);
        assert_ne!(a.devices, b.devices);
    }

    #[test]
    fn every_case_is_in_exactly_one_portfolio_owned_by_an_operator() {
        let crm = demo();
        let mut seen: BTreeMap<u32, u32> = BTreeMap::new();
        for p in crm.portfolios.values() {
            assert!(!p.temporary);
            assert!(crm.operators.contains_key(p.owner_login.as_deref().unwrap_or("")));
            assert!(!p.case_ids.is_empty());
            for &c in &p.case_ids {
                assert!(crm.cases.contains_key(&c));
                assert_eq!(seen.insert(c, p.id), None, "case {c} is in two portfolios");
            }
        }
        assert_eq!(seen.len(), crm.cases.len());
    }

    #[test]
    fn references_have_their_documented_shapes() {
        let crm = demo();
        let shaped = |text: &str, prefix: &str, digits: usize| {
            text.strip_prefix(prefix)
                .is_some_and(|d| d.len() == digits && d.bytes().all(|b| b.is_ascii_digit()))
        };
        assert!(crm.cases.values().all(|c| shaped(&c.reference, "CASE-", 6)));
        assert!(crm.insureds.values().all(|i| shaped(&i.reference, "INS-", 7)));
        assert!(crm
            .entries
            .values()
            .filter_map(|e| e.client_reference.as_deref())
            .all(|r| shaped(r, "CR-", 8)));
        assert!(crm
            .entries
            .values()
            .filter_map(|e| e.client_reference.as_deref())
            .any(|r| r.starts_with("CR-000")));
        assert!(crm.details.keys().all(|p| shaped(p, "CD-", 7)));
        assert!(crm.devices.keys().all(|s| s.starts_with("DV-20") && s.len() == 13));
        assert!(crm.school_users.values().all(|u| match u.role {
            SchoolRole::Student => shaped(&u.user_id, "S", 5),
            SchoolRole::Staff => shaped(&u.user_id, "T", 4),
        }));
        let distinct = |values: Vec<&String>| values.iter().collect::<HashSet<_>>().len() == values.len();
        assert!(distinct(crm.cases.values().map(|c| &c.reference).collect()));
        assert!(distinct(crm.insureds.values().map(|i| &i.reference).collect()));
    }

    #[test]
    fn client_references_ssns_and_public_ids_are_unique() {
        let crm = demo_crm(DEMO_SEED, 4);
        let refs: Vec<&String> = crm.entries.values().filter_map(|e| e.client_reference.as_ref()).collect();
        assert_eq!(refs.iter().collect::<HashSet<_>>().len(), refs.len());
        let ssns: Vec<&String> = crm.entries.values().filter_map(|e| e.ssn.as_ref()).collect();
        assert_eq!(ssns.iter().collect::<HashSet<_>>().len(), ssns.len());
        // Keyed by Public ID, so unique by construction; check each key is its record's ID.
        assert!(crm.details.iter().all(|(k, d)| *k == d.public_id));
    }

    #[test]
    fn about_fifteen_percent_lack_a_client_reference_and_twenty_percent_an_ssn() {
        let crm = demo_crm(DEMO_SEED, 2);
        let n = crm.entries.len() as f64;
        let without_ref = crm.entries.values().filter(|e| e.client_reference.is_none()).count() as f64 / n;
        let without_ssn = crm.entries.values().filter(|e| e.ssn.is_none()).count() as f64 / n;
        let without_dob = crm.entries.values().filter(|e| e.date_of_birth.is_none()).count() as f64 / n;
        assert!((0.11..0.19).contains(&without_ref), "{without_ref}");
        assert!((0.16..0.24).contains(&without_ssn), "{without_ssn}");
        assert!((0.03..0.15).contains(&without_dob), "{without_dob}");
    }

    #[test]
    fn every_ssn_is_valid() {
        let crm = demo();
        for ssn in crm.entries.values().filter_map(|e| e.ssn.as_deref()) {
            let parts: Vec<&str> = ssn.split('-').collect();
            assert_eq!(parts.len(), 3, "{ssn}");
            assert_eq!((parts[0].len(), parts[1].len(), parts[2].len()), (3, 2, 4), "{ssn}");
            let area: u32 = parts[0].parse().unwrap_or(0);
            assert!(area != 0 && area != 666 && area < 900, "{ssn}");
            assert_ne!(parts[1], "00", "{ssn}");
            assert_ne!(parts[2], "0000", "{ssn}");
        }
    }

    #[test]
    fn shared_entries_link_two_insureds_on_two_cases() {
        let crm = demo();
        let shared = shared_entry_ids(&crm);
        assert!(!shared.is_empty());
        for (entry_id, insureds) in shared {
            assert_eq!(insureds.len(), 2, "entry {entry_id}");
            assert_ne!(insureds[0].case_id, insureds[1].case_id, "entry {entry_id}");
        }
        let linked: HashSet<u32> = crm.insureds.values().filter_map(|i| i.entry_id).collect();
        assert_eq!(linked.len(), crm.entries.len(), "every entry has an insured");
    }

    #[test]
    fn linked_insureds_mostly_carry_their_entrys_name_and_a_few_a_variant() {
        let crm = demo();
        let mut same = 0;
        let mut variant = 0;
        for insured in crm.insureds.values() {
            let Some(entry) = insured.entry_id.and_then(|e| crm.entries.get(&e)) else {
                continue;
            };
            if (&insured.first_name, &insured.last_name) == (&entry.first_name, &entry.last_name) {
                same += 1;
            } else {
                variant += 1;
                assert_eq!(
                    crate::core::text::fold_compact(&insured.first_name),
                    crate::core::text::fold_compact(&entry.first_name)
                );
            }
        }
        assert!(variant > 0 && variant * 20 < same, "{same} same, {variant} variants");
    }

    #[test]
    fn names_include_accents_hyphens_and_apostrophes() {
        let crm = demo();
        let names: Vec<String> = crm.entries.values().map(CrmEntry::display_name).collect();
        assert!(names.iter().any(|n| !n.is_ascii()));
        assert!(names.iter().any(|n| n.contains('-')));
        assert!(names.iter().any(|n| n.contains('\'')));
    }

    #[test]
    fn each_entry_has_one_to_four_details_with_one_primary_per_kind() {
        let crm = demo();
        let mut by_entry: BTreeMap<u32, Vec<&ContactDetail>> = BTreeMap::new();
        for d in crm.details.values() {
            by_entry.entry(d.entry_id).or_default().push(d);
        }
        assert_eq!(by_entry.len(), crm.entries.len());
        for (entry_id, details) in by_entry {
            assert!((1..=4).contains(&details.len()), "entry {entry_id}");
            for kind in DetailKind::ALL {
                let of_kind: Vec<_> = details.iter().filter(|d| d.kind == kind).collect();
                if !of_kind.is_empty() {
                    assert_eq!(of_kind.iter().filter(|d| d.fields.primary).count(), 1, "entry {entry_id}");
                }
            }
            for d in details {
                assert!(["Home", "Work", "Mobile"].contains(&d.fields.label.as_str()));
                match d.kind {
                    DetailKind::Address => {
                        assert!(!d.fields.address_line1.is_empty() && !d.fields.postcode.is_empty())
                    }
                    DetailKind::Phone => assert!(!d.fields.phone.is_empty()),
                    DetailKind::Email => assert!(d.fields.email.contains('@') && d.fields.email.is_ascii()),
                }
            }
        }
        assert!(crm.details.values().any(|d| d.fields.postcode.starts_with('0')));
        assert!(crm.details.values().any(|d| d.fields.phone.starts_with('+')));
    }

    #[test]
    fn counters_are_one_past_the_largest_identities() {
        let crm = demo();
        assert_eq!(crm.counters.next_entry_id, 901);
        assert_eq!(crm.counters.next_case_id, 401);
        assert_eq!(crm.counters.next_insured_id, 1_001);
        assert_eq!(crm.counters.next_portfolio_id, 5);
        assert_eq!(crm.counters.next_import_id, 1);
        assert_eq!(crm.counters.next_account_contact_id as usize, crm.account_contacts.len() + 1);
        let last_detail = crm.details.keys().max().cloned().unwrap_or_default();
        assert_eq!(public_id_for(crm.counters.next_detail_number - 1), last_detail);
        assert!(!crm.details.contains_key(&public_id_for(crm.counters.next_detail_number)));
    }

    #[test]
    fn every_cnpj_account_number_is_valid_and_medical_numbers_are_crm_registrations() {
        let crm = demo();
        for account in crm.accounts.values() {
            match account.kind {
                AccountKind::Company | AccountKind::Insurance => {
                    assert!(cnpj::is_valid(&account.number), "{}", account.number);
                    assert_eq!(cnpj::format(&account.number).as_deref(), Some(account.number.as_str()));
                }
                AccountKind::Medical => {
                    let (digits, state) = account.number.split_once('/').unwrap_or(("", ""));
                    assert!(
                        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()),
                        "{}",
                        account.number
                    );
                    assert!(BR_STATES.contains(&state), "{}", account.number);
                }
            }
        }
        for kind in AccountKind::ALL {
            assert!(crm.accounts.values().any(|a| a.kind == kind));
        }
    }

    #[test]
    fn about_a_tenth_of_accounts_are_without_portfolio() {
        let crm = demo_crm(DEMO_SEED, 3);
        let without = crm.accounts.values().filter(|a| a.portfolio_login.is_none()).count() as f64;
        let share = without / crm.accounts.len() as f64;
        assert!((0.06..0.14).contains(&share), "{share}");
        assert!(crm
            .accounts
            .values()
            .filter_map(|a| a.portfolio_login.as_ref())
            .all(|l| crm.operators.contains_key(l)));
    }

    #[test]
    fn account_contacts_repeat_their_account_number_and_hold_registered_qualifications() {
        let crm = demo();
        let mut per_account: BTreeMap<&str, usize> = BTreeMap::new();
        for contact in crm.account_contacts.values() {
            assert_eq!(contact.identifier, contact.account_number);
            assert!(crm.accounts.contains_key(&contact.account_number));
            *per_account.entry(&contact.account_number).or_default() += 1;
            assert!(contact.qualifications.iter().all(|q| crm.specialties.contains_key(q)));
            assert_eq!(contact.contact_type == ContactType::Doctor, !contact.qualifications.is_empty());
        }
        assert_eq!(per_account.len(), crm.accounts.len());
        assert!(per_account.values().all(|&n| (1..=3).contains(&n)));
        let medical_doctors = crm
            .account_contacts
            .values()
            .filter(|c| crm.accounts[&c.account_number].kind == AccountKind::Medical)
            .filter(|c| c.contact_type == ContactType::Doctor)
            .count();
        assert!(medical_doctors >= crm.accounts.values().filter(|a| a.kind == AccountKind::Medical).count());
    }

    #[test]
    fn about_half_the_enrollees_have_insurance_filled() {
        let crm = demo_crm(DEMO_SEED, 2);
        let filled_users = crm.school_users.values().filter(|u| u.insurance.status.is_some()).count() as f64;
        let filled_devices = crm.devices.values().filter(|d| d.insurance.status.is_some()).count() as f64;
        assert!((0.4..0.6).contains(&(filled_users / crm.school_users.len() as f64)));
        assert!((0.4..0.6).contains(&(filled_devices / crm.devices.len() as f64)));
        for insurance in
            crm.school_users.values().map(|u| &u.insurance).chain(crm.devices.values().map(|d| &d.insurance))
        {
            if insurance.status == Some(InsuranceStatus::Enrolled) {
                assert!(insurance.policy_number.is_some() && insurance.coverage_amount_cents.is_some());
                assert!(insurance.start < insurance.end);
            }
        }
        assert!(crm.school_users.values().any(|u| u.role == SchoolRole::Staff));
    }

    #[test]
    fn spelling_variants_differ_only_in_accents_case_or_hyphens() {
        assert_eq!(strip_accents("José Müller-Åberg"), "Jose Muller-Aberg");
        assert_eq!(strip_accents("Zoë"), "Zoe");
        assert_eq!(email_part("Nguyễn"), "nguyen");
        assert_eq!(email_part("O'Brien"), "obrien");
    }

    #[test]
    fn scale_one_hundred_is_generated_with_its_counts() {
        let crm = demo_crm(DEMO_SEED, 100);
        assert_eq!(crm.entries.len(), 90_000);
        assert_eq!(crm.insureds.len(), 100_000);
        assert_eq!(shared_entry_ids(&crm).len(), 5_000);
        assert_eq!(crm.insureds.values().filter(|i| i.entry_id.is_none()).count(), 5_000);
    }

    fn shared_entry_ids(crm: &Crm) -> BTreeMap<u32, Vec<&Insured>> {
        let mut by_entry: BTreeMap<u32, Vec<&Insured>> = BTreeMap::new();
        for insured in crm.insureds.values() {
            if let Some(e) = insured.entry_id {
                by_entry.entry(e).or_default().push(insured);
            }
        }
        by_entry.retain(|_, v| v.len() > 1);
        by_entry
    }
}
