//! The demo CRM generator (being written).
