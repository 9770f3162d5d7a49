//! The lock of an encrypted copy as the operator sets it: the idle time after which the app
//! locks itself (whole minutes, 15 by default, kept by the page in local storage), the rule
//! that decides the app has been idle that long, and the check of a new passphrase typed
//! twice. Time is a parameter: nothing here reads a clock.

use serde::{Deserialize, Serialize};

/// The idle time when the operator has set none.
pub const DEFAULT_IDLE_MINUTES: u32 = 15;
/// The shortest idle time the operator may set.
pub const MIN_IDLE_MINUTES: u32 = 1;
/// The longest idle time the operator may set (one day).
pub const MAX_IDLE_MINUTES: u32 = 24 * 60;

/// How long the app may go without operator input before it locks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct IdleMinutes(u32);

/// An idle time the operator typed that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "The idle time is a whole number of minutes from {MIN_IDLE_MINUTES} to {MAX_IDLE_MINUTES}; \"{0}\" is not. The idle time was not changed."
)]
pub struct IdleMinutesRefusal(pub String);

impl IdleMinutes {
    /// `minutes`, if within [`MIN_IDLE_MINUTES`]..=[`MAX_IDLE_MINUTES`].
    pub fn new(minutes: u32) -> Result<IdleMinutes, IdleMinutesRefusal> {
        if (MIN_IDLE_MINUTES..=MAX_IDLE_MINUTES).contains(&minutes) {
            Ok(IdleMinutes(minutes))
        } else {
            Err(IdleMinutesRefusal(minutes.to_string()))
        }
    }

    /// The idle time as the operator typed it (spaces around it ignored).
    pub fn parse(text: &str) -> Result<IdleMinutes, IdleMinutesRefusal> {
        let trimmed = text.trim();
        trimmed.parse::<u32>().map_err(|_| IdleMinutesRefusal(trimmed.to_string())).and_then(IdleMinutes::new)
    }

    pub fn minutes(self) -> u32 {
        self.0
    }

    /// True once `now_ms` is at least this idle time after `last_input_ms` (both from the
    /// same clock, in milliseconds).
    pub fn has_passed(self, last_input_ms: f64, now_ms: f64) -> bool {
        now_ms - last_input_ms >= f64::from(self.0) * 60_000.0
    }
}

impl Default for IdleMinutes {
    fn default() -> IdleMinutes {
        IdleMinutes(DEFAULT_IDLE_MINUTES)
    }
}

impl TryFrom<u32> for IdleMinutes {
    type Error = IdleMinutesRefusal;
    fn try_from(minutes: u32) -> Result<IdleMinutes, IdleMinutesRefusal> {
        IdleMinutes::new(minutes)
    }
}

impl From<IdleMinutes> for u32 {
    fn from(idle: IdleMinutes) -> u32 {
        idle.0
    }
}

impl std::fmt::Display for IdleMinutes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            1 => f.write_str("1 minute"),
            n => write!(f, "{n} minutes"),
        }
    }
}

/// A new passphrase typed twice that cannot be used as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NewPassphraseRefusal {
    #[error("Type the new passphrase twice. Nothing was changed.")]
    Empty,
    #[error("The two new passphrases differ. Nothing was changed.")]
    Differ,
}

/// Checks a new passphrase typed twice: the same, not empty. (How long it must be is the
/// store's rule.)
pub fn typed_twice(first: &str, second: &str) -> Result<(), NewPassphraseRefusal> {
    if first.is_empty() || second.is_empty() {
        Err(NewPassphraseRefusal::Empty)
    } else if first != second {
        Err(NewPassphraseRefusal::Differ)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_idle_time_is_fifteen_minutes_unless_set() {
        assert_eq!(IdleMinutes::default().minutes(), 15);
        assert_eq!(IdleMinutes::default().to_string(), "15 minutes");
        assert_eq!(IdleMinutes::new(1).unwrap().to_string(), "1 minute");
    }

    #[test]
    fn an_idle_time_is_whole_minutes_from_one_to_a_day() {
        assert_eq!(IdleMinutes::parse(" 30 ").unwrap().minutes(), 30);
        assert_eq!(IdleMinutes::parse("1440").unwrap().minutes(), 1440);
        for bad in ["0", "1441", "-5", "2.5", "", "fifteen"] {
            let refusal = IdleMinutes::parse(bad).unwrap_err();
            assert_eq!(refusal.0, bad.trim());
            assert!(refusal.to_string().contains("from 1 to 1440"), "{refusal}");
        }
    }

    #[test]
    fn a_stored_idle_time_out_of_range_is_not_read() {
        assert_eq!(serde_json::from_str::<IdleMinutes>("20").unwrap().minutes(), 20);
        assert!(serde_json::from_str::<IdleMinutes>("0").is_err());
        assert!(serde_json::from_str::<IdleMinutes>("\"x\"").is_err());
        assert_eq!(serde_json::to_string(&IdleMinutes::new(20).unwrap()).unwrap(), "20");
    }

    #[test]
    fn the_app_is_idle_once_the_whole_idle_time_has_passed() {
        let idle = IdleMinutes::new(15).unwrap();
        let last = 1_000_000.0;
        assert!(!idle.has_passed(last, last));
        assert!(!idle.has_passed(last, last + 15.0 * 60_000.0 - 1.0));
        assert!(idle.has_passed(last, last + 15.0 * 60_000.0));
        // Input later than "now" (another tab's clock reading) is not idle.
        assert!(!idle.has_passed(last + 5_000.0, last));
    }

    #[test]
    fn a_new_passphrase_is_typed_twice_the_same() {
        assert_eq!(typed_twice("correct horse", "correct horse"), Ok(()));
        assert_eq!(typed_twice("correct horse", "correct horsE"), Err(NewPassphraseRefusal::Differ));
        assert_eq!(typed_twice("", ""), Err(NewPassphraseRefusal::Empty));
        assert_eq!(typed_twice("correct horse", ""), Err(NewPassphraseRefusal::Empty));
    }
}
