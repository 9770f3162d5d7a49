//! The sentences a failure ends with when nothing was changed, as types both sides render: the
//! worker wraps the service's failures in them, and the page wraps its own (a file the browser
//! could not read) in the same, so the same fact reads the same everywhere.

use std::fmt::{self, Display};

/// A file that could not be staged, and why: "<why> Nothing was staged."
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotStaged<T>(pub T);

impl<T: Display> Display for NotStaged<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} Nothing was staged.", self.0)
    }
}

/// A snapshot that could not be read or loaded, and why: "<why>. The local CRM was not
/// changed."
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrmUnchanged<T>(pub T);

impl<T: Display> Display for CrmUnchanged<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} The local CRM was not changed.", sentence(&self.0.to_string()))
    }
}

/// A message as a sentence: ends with a full stop, so another sentence can follow it.
pub fn sentence(message: &str) -> String {
    let m = message.trim_end();
    if m.ends_with(['.', '!', '?']) {
        m.to_string()
    } else {
        format!("{m}.")
    }
}
