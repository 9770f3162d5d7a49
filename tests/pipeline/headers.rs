//! Header mapping: exact, suggested, remembered, missing and ignored columns.

use super::*;
use roundtrip::core::headers::HeaderSource;
use roundtrip::core::text::fold_compact;

fn h(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn the_templates_own_headers_map_exactly_and_silently() {
    let m = map_headers(&T, &h(&T.headers()), &BTreeMap::new());
    assert_eq!(m.columns, (0..19).map(Some).collect::<Vec<_>>());
    assert!(m.mapped.iter().all(|x| x.source == HeaderSource::Exact));
    assert!(!m.needs_confirmation());
    assert!(m.is_usable());
    assert!(m.ignored.is_empty() && m.missing_optional.is_empty() && m.missing_required.is_empty());
}

#[test]
fn headers_match_whatever_their_case_and_surrounding_space() {
    let m = map_headers(&T, &h(&["  first NAME ", "LAST NAME", "public id"]), &BTreeMap::new());
    assert_eq!(
        (m.columns[ix(Field::FirstName)], m.columns[ix(Field::LastName)], m.columns[ix(Field::PublicId)]),
        (Some(0), Some(1), Some(2))
    );
    assert!(m.mapped.iter().all(|x| x.source == HeaderSource::Exact));
    assert!(!m.needs_confirmation());
}

#[test]
fn similar_headers_are_suggested_for_confirmation() {
    let m = map_headers(
        &T,
        &h(&["Frist Name", "Last Name", "E-mail", "Post code", "Public-ID"]),
        &BTreeMap::new(),
    );
    assert_eq!(m.columns[ix(Field::FirstName)], Some(0));
    assert_eq!(m.columns[ix(Field::Email)], Some(2));
    assert_eq!(m.columns[ix(Field::Postcode)], Some(3));
    assert_eq!(m.columns[ix(Field::PublicId)], Some(4));
    assert!(m.needs_confirmation());
    let first = m.mapped.iter().find(|x| x.template_column == ix(Field::FirstName)).unwrap();
    assert_eq!(first.source, HeaderSource::Suggested);
    assert!(first.score < 1.0 && first.score >= roundtrip::core::headers::SUGGESTION_THRESHOLD);
    assert_eq!(
        m.mapped.iter().find(|x| x.template_column == ix(Field::LastName)).unwrap().source,
        HeaderSource::Exact
    );
}

#[test]
fn a_confirmed_mapping_is_remembered_for_the_next_file() {
    let mut m = map_headers(&T, &h(&["Frist Name", "Surname"]), &BTreeMap::new());
    assert_eq!(m.columns[ix(Field::LastName)], None, "Surname is not similar by spelling");
    assert_eq!(m.missing_required, vec!["Last Name".to_string()]);
    m.confirm();
    assert!(!m.needs_confirmation());
    let mut memory: BTreeMap<String, String> = m.to_remember(&T).into_iter().collect();
    assert_eq!(memory.get(&fold_compact("Frist Name")).map(String::as_str), Some("First Name"));
    // The operator maps Surname by hand; it is remembered too.
    memory.insert(fold_compact("Surname"), "Last Name".into());
    let next = map_headers(&T, &h(&["frist name", "SURNAME", "Email"]), &memory);
    assert_eq!((next.columns[ix(Field::FirstName)], next.columns[ix(Field::LastName)]), (Some(0), Some(1)));
    assert_eq!(next.mapped[0].source, HeaderSource::Remembered);
    assert!(!next.needs_confirmation());
    assert!(next.is_usable());
}

#[test]
fn a_missing_required_column_is_named() {
    let mut headers = T.headers();
    headers.retain(|x| *x != "First Name");
    let m = map_headers(&T, &h(&headers), &BTreeMap::new());
    assert_eq!(m.missing_required, vec!["First Name".to_string()]);
    assert!(!m.is_usable());
    let m = map_headers(&T, &h(&["Email"]), &BTreeMap::new());
    assert_eq!(m.missing_required, vec!["First Name".to_string(), "Last Name".to_string()]);
    assert!(m.missing_optional.contains(&"Public ID".to_string()));
}

#[test]
fn unknown_columns_are_reported_and_ignored() {
    let m = map_headers(
        &T,
        &h(&["First Name", "Favourite Colour", "Last Name", "", "Shoe size"]),
        &BTreeMap::new(),
    );
    assert_eq!(m.ignored, vec!["Favourite Colour".to_string(), "Shoe size".to_string()]);
    assert_eq!((m.columns[ix(Field::FirstName)], m.columns[ix(Field::LastName)]), (Some(0), Some(2)));
    assert!(m.is_usable());
    assert!(!m.needs_confirmation());
}

#[test]
fn a_header_is_used_once_even_if_two_template_columns_resemble_it() {
    let m = map_headers(&T, &h(&["First Name", "Last Name", "Address Line"]), &BTreeMap::new());
    let used: Vec<usize> = m.columns.iter().flatten().copied().collect();
    let mut dedup = used.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(used.len(), dedup.len(), "{:?}", m.columns);
}
