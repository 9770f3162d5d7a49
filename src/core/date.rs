//! Calendar dates without time zones: ISO text, Excel serial numbers and day/month order
//! parsing. Dates are only ever made from a cell in a date column; nothing else is guessed
//! as a date.

use serde::{Deserialize, Serialize};

/// A proleptic Gregorian calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Date {
    pub year: i32,
    pub month: u8,
    pub day: u8,
}

/// How an ambiguous `01/02/2024` is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum DayMonthOrder {
    /// Only ISO `YYYY-MM-DD` text (and real Excel dates) are accepted.
    #[default]
    IsoOnly,
    /// `DD/MM/YYYY`.
    DayFirst,
    /// `MM/DD/YYYY`.
    MonthFirst,
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u8) -> u8 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

impl Date {
    /// A valid date, or `None`.
    pub fn new(year: i32, month: u8, day: u8) -> Option<Date> {
        ((1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month)
            && (1000..=9999).contains(&year))
        .then_some(Date { year, month, day })
    }

    /// Days since 1970-01-01 (Howard Hinnant's algorithm).
    pub fn days_from_epoch(self) -> i64 {
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = if y >= 0 { y } else { y - 399 } / 400;
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146097 + doe - 719468
    }

    /// The date `days` after 1970-01-01.
    pub fn from_days_from_epoch(days: i64) -> Date {
        let z = days + 719468;
        let era = if z >= 0 { z } else { z - 146096 } / 146097;
        let doe = z - era * 146097;
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        let y = yoe + era * 400;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        Date { year: (y + i64::from(m <= 2)) as i32, month: m, day: d }
    }

    /// Excel's 1900 date system serial (1 = 1900-01-01, with Excel's phantom 1900-02-29).
    pub fn to_excel_serial(self) -> f64 {
        // 1899-12-30 is serial 0 for every date after 1900-02-28.
        (self.days_from_epoch() + 25569) as f64
    }

    /// The date of an Excel serial; the fractional (time) part is dropped.
    pub fn from_excel_serial(serial: f64) -> Option<Date> {
        if !serial.is_finite() || !(1.0..2_958_466.0).contains(&serial) {
            return None;
        }
        let whole = serial.floor() as i64;
        if whole < 61 {
            // Before Excel's phantom leap day, serials are off by one.
            return Some(Date::from_days_from_epoch(whole - 25568));
        }
        Some(Date::from_days_from_epoch(whole - 25569))
    }

    /// Parses `YYYY-MM-DD` exactly.
    pub fn parse_iso(text: &str) -> Option<Date> {
        let t = text.trim();
        let b = t.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let y = t[0..4].parse().ok()?;
        let m = t[5..7].parse().ok()?;
        let d = t[8..10].parse().ok()?;
        Date::new(y, m, d)
    }

    /// Parses ISO text, or `D/M/YYYY` style text in the given order (`/`, `.` or `-`).
    pub fn parse_with_order(text: &str, order: DayMonthOrder) -> Option<Date> {
        if let Some(d) = Date::parse_iso(text) {
            return Some(d);
        }
        let parts: Vec<&str> = text.trim().split(['/', '.', '-']).collect();
        if parts.len() != 3 || parts[2].len() != 4 {
            return None;
        }
        let a: u8 = parts[0].parse().ok()?;
        let b: u8 = parts[1].parse().ok()?;
        let y: i32 = parts[2].parse().ok()?;
        match order {
            DayMonthOrder::IsoOnly => None,
            DayMonthOrder::DayFirst => Date::new(y, b, a),
            DayMonthOrder::MonthFirst => Date::new(y, a, b),
        }
    }

    /// The date of a Unix time in milliseconds (UTC).
    pub fn from_unix_ms(ms: i64) -> Date {
        Date::from_days_from_epoch(ms.div_euclid(86_400_000))
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excel_serials_round_trip_across_the_phantom_leap_day() {
        for (serial, iso) in [
            (1.0, "1900-01-01"),
            (59.0, "1900-02-28"),
            (61.0, "1900-03-01"),
            (45292.0, "2024-01-01"),
            (25569.0, "1970-01-01"),
        ] {
            let d = Date::from_excel_serial(serial).unwrap();
            assert_eq!(d.to_string(), iso, "serial {serial}");
            if serial >= 61.0 {
                assert_eq!(d.to_excel_serial(), serial);
            }
        }
    }

    #[test]
    fn iso_parsing_rejects_impossible_dates() {
        assert_eq!(Date::parse_iso("2024-02-29").map(|d| d.to_string()).as_deref(), Some("2024-02-29"));
        assert!(Date::parse_iso("2023-02-29").is_none());
        assert!(Date::parse_iso("2023-13-01").is_none());
        assert!(Date::parse_iso("20230101").is_none());
    }

    #[test]
    fn day_month_order_is_never_guessed() {
        assert!(Date::parse_with_order("01/02/2024", DayMonthOrder::IsoOnly).is_none());
        assert_eq!(Date::parse_with_order("01/02/2024", DayMonthOrder::DayFirst), Date::new(2024, 2, 1));
        assert_eq!(Date::parse_with_order("01/02/2024", DayMonthOrder::MonthFirst), Date::new(2024, 1, 2));
        assert!(Date::parse_with_order("13/13/2024", DayMonthOrder::DayFirst).is_none());
    }

    #[test]
    fn epoch_days_round_trip() {
        for days in [-1000, 0, 1, 19000, 40000] {
            assert_eq!(Date::from_days_from_epoch(days).days_from_epoch(), days);
        }
    }
}
