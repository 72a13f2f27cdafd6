//! "Nice" axis ticks: round steps (1, 2, 2.5 or 5 times a power of ten) that cover the data.

/// Evenly spaced tick values `first, first + step, …` covering a range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ticks {
    /// The first tick's index: the first tick is `start_index × step`. Keeping the index
    /// rather than the value keeps every tick an exact multiple of the step.
    start_index: f64,
    step: f64,
    count: usize,
}

impl Ticks {
    /// The distance between ticks.
    pub fn step(&self) -> f64 {
        self.step
    }

    /// How many ticks there are (2 to 10).
    pub fn count(&self) -> usize {
        self.count
    }

    /// The lowest tick.
    pub fn min(&self) -> f64 {
        self.start_index * self.step
    }

    /// The highest tick.
    pub fn max(&self) -> f64 {
        (self.start_index + (self.count - 1) as f64) * self.step
    }

    /// The ticks, lowest first.
    pub fn values(&self) -> Vec<f64> {
        (0..self.count)
            .map(|i| (self.start_index + i as f64) * self.step)
            .collect()
    }

    /// Decimals a label needs to show every tick exactly when values are divided by `unit`.
    pub fn decimals(&self, unit: f64) -> usize {
        let step = self.step / unit;
        (0..=8)
            .find(|&d| {
                let scaled = step * 10f64.powi(d as i32);
                (scaled - scaled.round()).abs() < 1e-6 * scaled.abs().max(1.0)
            })
            .unwrap_or(8)
    }
}

/// Ticks covering `lo..=hi` with about `target` ticks (clamped to 2..=10): the step is the
/// smallest of 1, 2, 2.5 and 5 times a power of ten that covers the range in at most
/// `max(target + 1, 10)` ticks, and never more than 10. The ticks always include a point at
/// or below `lo` and at or above `hi`. Reversed bounds are swapped; an empty range (`lo ==
/// hi`) is widened around its value (to `0..=1` at zero); non-finite bounds give `0..=1`.
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> Ticks {
    let target = target.clamp(2, 10);
    const LIMIT: f64 = 1e300;
    let (mut lo, mut hi) = match (lo.is_finite(), hi.is_finite()) {
        (true, true) => (lo.min(hi), lo.max(hi)),
        (true, false) => (lo, lo),
        (false, true) => (hi, hi),
        (false, false) => (0.0, 1.0),
    };
    lo = lo.clamp(-LIMIT, LIMIT);
    hi = hi.clamp(-LIMIT, LIMIT);
    if lo == hi {
        if lo == 0.0 {
            hi = 1.0;
        } else {
            let unit = 10f64.powf(lo.abs().log10().floor());
            lo -= unit;
            hi += unit;
        }
    }
    let raw = (hi - lo) / (target - 1) as f64;
    let mut exponent = raw.log10().floor() as i32;
    let mut candidate = 0;
    const NICE: [f64; 4] = [1.0, 2.0, 2.5, 5.0];
    // Start at the smallest nice step at or above `raw`.
    while NICE[candidate] * 10f64.powi(exponent) < raw {
        candidate += 1;
        if candidate == NICE.len() {
            candidate = 0;
            exponent += 1;
        }
    }
    loop {
        let step = NICE[candidate] * 10f64.powi(exponent);
        let start_index = (lo / step).floor();
        let end_index = (hi / step).ceil();
        let count = (end_index - start_index) as usize + 1;
        if (2..=10).contains(&count) {
            return Ticks {
                start_index,
                step,
                count,
            };
        }
        candidate += 1;
        if candidate == NICE.len() {
            candidate = 0;
            exponent += 1;
        }
    }
}

/// [`nice_ticks`] with steps of at least `min_step`: 1 for counts, so an axis of counts
/// never shows 0.25. Ranges wider than nine minimum steps are unaffected.
pub fn nice_ticks_min_step(lo: f64, hi: f64, target: usize, min_step: f64) -> Ticks {
    let ticks = nice_ticks(lo, hi, target);
    if !(min_step > 0.0 && min_step.is_finite()) || ticks.step >= min_step {
        return ticks;
    }
    let start_index = (ticks.min() / min_step).floor();
    let end_index = (ticks.max().max(lo.max(hi)) / min_step).ceil();
    let count = ((end_index - start_index) as usize + 1).max(2);
    if count > 10 {
        return ticks;
    }
    Ticks {
        start_index,
        step: min_step,
        count,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn familiar_ranges() {
        assert_eq!(
            nice_ticks(0.0, 100.0, 5).values(),
            [0.0, 25.0, 50.0, 75.0, 100.0]
        );
        assert_eq!(
            nice_ticks(0.0, 14_057.0, 5).values(),
            [0.0, 5e3, 10e3, 15e3]
        );
        assert_eq!(
            nice_ticks(-3.0, 7.0, 5).values(),
            [-5.0, -2.5, 0.0, 2.5, 5.0, 7.5]
        );
        assert_eq!(
            nice_ticks(0.0, 0.0, 5).values(),
            [0.0, 0.25, 0.5, 0.75, 1.0]
        );
        assert_eq!(nice_ticks(f64::NAN, f64::INFINITY, 5).values().len(), 5);
        assert_eq!(nice_ticks(0.0, 0.947, 5).decimals(0.01), 0);
    }

    #[test]
    fn counts_step_by_whole_numbers() {
        assert_eq!(nice_ticks_min_step(0.0, 1.0, 5, 1.0).values(), [0.0, 1.0]);
        assert_eq!(
            nice_ticks_min_step(0.0, 3.0, 5, 1.0).values(),
            [0.0, 1.0, 2.0, 3.0]
        );
        assert_eq!(nice_ticks_min_step(0.0, 0.0, 5, 1.0).values(), [0.0, 1.0]);
        assert_eq!(
            nice_ticks_min_step(0.0, 800.0, 5, 1.0),
            nice_ticks(0.0, 800.0, 5)
        );
    }

    #[test]
    fn a_single_value_gets_a_range_around_it() {
        let t = nice_ticks(5.0, 5.0, 5);
        assert!(t.min() <= 5.0 && t.max() >= 5.0 && t.min() < t.max());
        let t = nice_ticks(-1234.0, -1234.0, 5);
        assert!(t.min() <= -1234.0 && t.max() >= -1234.0);
    }

    proptest! {
        #[test]
        fn ticks_cover_the_data_evenly_with_two_to_ten_ticks(
            lo in -1e9f64..1e9,
            relative_span in prop_oneof![1e-6f64..1e-3, 1e-3f64..1.0, 1.0f64..1e3],
            target in 0usize..20,
        ) {
            // Spans far below the bounds' own precision are not chart data; the property
            // holds down to a millionth of the magnitude.
            let hi = lo + relative_span * lo.abs().max(1.0);
            let t = nice_ticks(lo, hi, target);
            let values = t.values();
            prop_assert!((2..=10).contains(&values.len()), "{} ticks", values.len());
            let tolerance = t.step() * 1e-9;
            prop_assert!(values[0] <= lo + tolerance, "first tick {} above {}", values[0], lo);
            prop_assert!(
                values[values.len() - 1] >= hi - tolerance,
                "last tick {} below {}", values[values.len() - 1], hi
            );
            for pair in values.windows(2) {
                let gap = pair[1] - pair[0];
                prop_assert!((gap - t.step()).abs() <= t.step() * 1e-6, "gap {} vs step {}", gap, t.step());
            }
            let mantissa = t.step() / 10f64.powf(t.step().log10().floor());
            prop_assert!(
                [1.0, 2.0, 2.5, 5.0, 10.0].iter().any(|m| (m - mantissa).abs() < 1e-9),
                "step {} is not nice", t.step()
            );
        }

        #[test]
        fn reversed_bounds_give_the_same_ticks(a in -1e6f64..1e6, b in -1e6f64..1e6) {
            prop_assert_eq!(nice_ticks(a, b, 5), nice_ticks(b, a, 5));
        }
    }
}
