//! The store contract (`roundtrip::store::contract`) run natively against the memory store.

use futures::executor::block_on;
use roundtrip::store::contract;
use roundtrip::store::memory::MemoryStore;

macro_rules! memory_contract {
    ($($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                block_on(contract::$case(&MemoryStore::new()));
            }
        )*

        #[test]
        fn every_contract_case_is_run() {
            let run = [$(stringify!($case)),*];
            assert_eq!(run, contract::CASES);
        }
    };
}

memory_contract!(
    empty_store_loads_an_empty_crm,
    committed_puts_are_seen_by_get_count_and_load_all,
    find_entry_by_client_reference_uses_the_unique_index,
    entries_without_client_reference_or_ssn_do_not_clash,
    replace_all_removes_every_old_record,
    replace_all_of_a_crm_with_duplicate_client_references_keeps_the_old_copy,
    deletes_in_a_commit_remove_records,
    duplicate_client_reference_inside_one_batch_refuses_the_whole_batch,
    client_reference_clashing_with_an_existing_entry_refuses_the_whole_batch,
    duplicate_ssn_or_case_reference_is_refused,
    values_freed_in_the_same_batch_can_be_reused,
    staged_file_put_get_replace_delete,
    replace_all_then_load_all_round_trips_every_kind,
    every_write_gets_the_next_sequence_number_and_stamps_its_records,
    a_batch_expecting_a_record_that_moved_is_refused_whole,
    a_batch_expecting_a_record_to_be_absent_is_refused_when_it_exists,
    a_batch_planned_before_a_replace_all_is_refused,
    two_batches_racing_for_the_next_identities_get_different_ones,
    undo_is_refused_after_a_later_change_and_allowed_before,
    get_many_returns_records_with_their_revisions,
    a_refused_batch_leaves_the_sequence_number_alone,
);

#[test]
fn with_crm_starts_from_that_crm() {
    use roundtrip::store::CrmStore;
    let store = MemoryStore::with_crm(contract::sample_crm());
    assert_eq!(block_on(store.load_all()).unwrap().crm, contract::sample_crm());
}
