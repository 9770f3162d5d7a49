//! The Leptos application (being written).
