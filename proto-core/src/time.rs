//! The core's clock: a monotonic instant in milliseconds.
//!
//! The core never reads a clock; callers pass the current [`Instant`] in.
//! Adapters convert from `std::time::Instant` (milliseconds since the
//! connection's epoch) or `embassy_time::Instant::as_millis`.

use core::time::Duration;

/// A point in time, in milliseconds since an epoch the caller chooses
/// (the same epoch for every call on one connection).
///
/// ```
/// use core::time::Duration;
/// use teleport_core::Instant;
///
/// let t = Instant::from_millis(1_000);
/// assert_eq!(t + Duration::from_secs(2), Instant::from_millis(3_000));
/// assert_eq!(Instant::from_millis(3_000).saturating_since(t), Duration::from_secs(2));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Instant(u64);

impl Instant {
    /// The epoch.
    pub const ZERO: Self = Self(0);
    /// A time that never comes: used for "no deadline".
    pub const NEVER: Self = Self(u64::MAX);

    /// An instant `ms` milliseconds after the epoch.
    pub const fn from_millis(ms: u64) -> Self {
        Self(ms)
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// `self + d`, saturating at [`Instant::NEVER`]. Sub-millisecond parts
    /// of `d` round up, so a deadline is never early.
    #[must_use]
    pub fn saturating_add(self, d: Duration) -> Self {
        Self(self.0.saturating_add(duration_millis_ceil(d)))
    }

    /// Time from `earlier` to `self`, zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Self) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl core::ops::Add<Duration> for Instant {
    type Output = Self;
    fn add(self, d: Duration) -> Self {
        self.saturating_add(d)
    }
}

/// Whole milliseconds in `d`, rounded up, saturating.
pub(crate) fn duration_millis_ceil(d: Duration) -> u64 {
    let ms = d.as_millis();
    let ms = if d.subsec_nanos() % 1_000_000 != 0 {
        ms + 1
    } else {
        ms
    };
    u64::try_from(ms).unwrap_or(u64::MAX)
}
