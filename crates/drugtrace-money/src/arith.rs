//! Sums and differences of amounts.
//!
//! The operators panic on overflow in every build (an `i64` of fen holds 92 trillion yuan,
//! so an overflow is a bug, never data to wrap around silently); sums of amounts that come
//! from outside use [`Fen::checked_add`] or [`Fen::saturating_add`] instead.

use std::iter::Sum;
use std::ops::{Add, AddAssign, Sub};

use crate::Fen;

impl Fen {
    /// `self + other`, or `None` past the range of an `i64` of fen.
    pub const fn checked_add(self, other: Fen) -> Option<Fen> {
        match self.fen().checked_add(other.fen()) {
            Some(f) => Some(Fen::new(f)),
            None => None,
        }
    }

    /// `self - other`, or `None` past the range of an `i64` of fen.
    pub const fn checked_sub(self, other: Fen) -> Option<Fen> {
        match self.fen().checked_sub(other.fen()) {
            Some(f) => Some(Fen::new(f)),
            None => None,
        }
    }

    /// `self + other`, held at the largest (or smallest) amount instead of overflowing: for
    /// totals shown to people, where a capped figure is better than no page.
    pub const fn saturating_add(self, other: Fen) -> Fen {
        Fen::new(self.fen().saturating_add(other.fen()))
    }
}

impl Add for Fen {
    type Output = Fen;

    fn add(self, other: Fen) -> Fen {
        self.checked_add(other)
            .unwrap_or_else(|| panic!("{self} + {other} yuan overflows an i64 of fen"))
    }
}

impl AddAssign for Fen {
    fn add_assign(&mut self, other: Fen) {
        *self = *self + other;
    }
}

impl Sub for Fen {
    type Output = Fen;

    fn sub(self, other: Fen) -> Fen {
        self.checked_sub(other)
            .unwrap_or_else(|| panic!("{self} - {other} yuan overflows an i64 of fen"))
    }
}

impl Sum for Fen {
    fn sum<I: Iterator<Item = Fen>>(iter: I) -> Fen {
        iter.fold(Fen::ZERO, Add::add)
    }
}

impl<'a> Sum<&'a Fen> for Fen {
    fn sum<I: Iterator<Item = &'a Fen>>(iter: I) -> Fen {
        iter.copied().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_and_differences() {
        let a = Fen::new(3591);
        assert_eq!(a + Fen::new(9), Fen::new(3600));
        assert_eq!(a - Fen::new(3600), Fen::new(-9));
        assert_eq!([a, a, Fen::new(-1)].iter().sum::<Fen>(), Fen::new(7181));
        let mut total = Fen::ZERO;
        total += a;
        assert_eq!(total, a);
    }

    #[test]
    fn overflow_is_none_or_capped_never_wrapped() {
        let max = Fen::new(i64::MAX);
        assert_eq!(max.checked_add(Fen::new(1)), None);
        assert_eq!(Fen::new(i64::MIN).checked_sub(Fen::new(1)), None);
        assert_eq!(max.saturating_add(Fen::new(1)), max);
        assert_eq!(max.checked_add(Fen::new(-1)), Some(Fen::new(i64::MAX - 1)));
    }

    #[test]
    #[should_panic(expected = "overflows an i64 of fen")]
    fn an_overflowing_sum_panics() {
        let _ = Fen::new(i64::MAX) + Fen::new(1);
    }
}
