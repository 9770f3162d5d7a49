//! The demo CRM is deterministic, holds the advertised figures and exercises the import.

use super::*;
use crate::core::model::Role;
use crate::core::privacy::Ssn;

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
        text.strip_prefix(prefix).is_some_and(|d| d.len() == digits && d.bytes().all(|b| b.is_ascii_digit()))
    };
    assert!(crm.cases.values().all(|c| shaped(&c.reference, "CASE-", 6)));
    assert!(crm.insureds.values().all(|i| shaped(&i.reference, "INS-", 7)));
    assert!(crm.entries.values().filter_map(|e| e.client_reference.as_deref()).all(|r| shaped(r, "CR-", 8)));
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
    let ssns: Vec<&Ssn> = crm.entries.values().filter_map(|e| e.ssn.as_ref()).collect();
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
    for ssn in crm.entries.values().filter_map(|e| e.ssn.as_ref()) {
        assert_eq!(ssn.problem(), None, "{ssn}");
        let ssn = ssn.expose_full();
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
