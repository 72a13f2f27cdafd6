//! Amounts written as yuan: plain for files and clients, grouped for people.

use std::fmt;

use crate::Fen;

/// Yuan with two decimals, no separators: `35.50`, `-12.30`, `0.05`, as the event files, the
/// settlement exports and the national interface write amounts ([`Fen::parse_yuan`] reads
/// it back). A width given to the formatter pads it like any text.
impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        padded(f, |out| self.write_plain(out))
    }
}

impl Fen {
    /// The amount as the pages show it: yuan with two decimals and a comma between each
    /// three digits of the whole yuan, `1,262,900.00`, `-19.99`.
    pub fn grouped(self) -> Grouped {
        Grouped(self)
    }

    fn write_plain(self, out: &mut dyn fmt::Write) -> fmt::Result {
        let sign = if self.is_negative() { "-" } else { "" };
        let magnitude = self.fen().unsigned_abs();
        write!(out, "{sign}{}.{:02}", magnitude / 100, magnitude % 100)
    }

    fn write_grouped(self, out: &mut dyn fmt::Write) -> fmt::Result {
        if self.is_negative() {
            out.write_str("-")?;
        }
        let magnitude = self.fen().unsigned_abs();
        let whole = (magnitude / 100).to_string();
        // The first group holds what is left over from groups of three (never nothing).
        let (first, rest) = whole.split_at((whole.len() - 1) % 3 + 1);
        out.write_str(first)?;
        for start in (0..rest.len()).step_by(3) {
            out.write_str(",")?;
            out.write_str(&rest[start..start + 3])?;
        }
        write!(out, ".{:02}", magnitude % 100)
    }
}

/// An amount shown with thousands separators (see [`Fen::grouped`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grouped(Fen);

impl fmt::Display for Grouped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        padded(f, |out| self.0.write_grouped(out))
    }
}

/// Runs `write` straight into `f`, or, when `f` has a width, into a string that is then
/// padded to it (the common case, no width, allocates nothing).
fn padded(
    f: &mut fmt::Formatter<'_>,
    write: impl FnOnce(&mut dyn fmt::Write) -> fmt::Result,
) -> fmt::Result {
    if f.width().is_none() {
        return write(f);
    }
    let mut text = String::new();
    write(&mut text)?;
    f.pad(&text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plain_yuan_have_two_decimals() {
        for (fen, text) in [
            (0, "0.00"),
            (5, "0.05"),
            (3550, "35.50"),
            (-1230, "-12.30"),
            (-5, "-0.05"),
            (126_290_000, "1262900.00"),
            (i64::MIN, "-92233720368547758.08"),
        ] {
            assert_eq!(Fen::new(fen).to_string(), text, "{fen}");
        }
        assert_eq!(format!("[{:>7}]", Fen::new(3550)), "[  35.50]");
    }

    #[test]
    fn grouped_yuan_have_separators() {
        for (fen, text) in [
            (0, "0.00"),
            (5, "0.05"),
            (99_999, "999.99"),
            (100_000, "1,000.00"),
            (126_290_000, "1,262,900.00"),
            (-1999, "-19.99"),
            (-12_345_678, "-123,456.78"),
            (i64::MIN, "-92,233,720,368,547,758.08"),
            (i64::MAX, "92,233,720,368,547,758.07"),
        ] {
            assert_eq!(Fen::new(fen).grouped().to_string(), text, "{fen}");
        }
        assert_eq!(
            format!("[{:<10}]", Fen::new(100_000).grouped()),
            "[1,000.00  ]"
        );
    }

    proptest! {
        #[test]
        fn what_display_writes_reads_back(fen in any::<i64>()) {
            let f = Fen::new(fen);
            prop_assert_eq!(Fen::parse_yuan(&f.to_string()), Ok(f));
        }

        #[test]
        fn grouping_only_adds_commas(fen in any::<i64>()) {
            let f = Fen::new(fen);
            let grouped = f.grouped().to_string();
            prop_assert_eq!(grouped.replace(',', ""), f.to_string());
            let whole = grouped.trim_start_matches('-').split('.').next().unwrap();
            prop_assert!(whole.split(',').skip(1).all(|g| g.len() == 3), "{}", grouped);
            prop_assert!((1..=3).contains(&whole.split(',').next().unwrap().len()), "{}", grouped);
        }
    }
}
