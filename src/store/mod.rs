//! The storage boundary (being written).
