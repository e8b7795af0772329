//! The `Date` header, formatted once a second per hub thread, and the
//! access log's timestamp.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The current second as the servers' reapers last read it (0: none
/// running), so that a response does not read the clock.
static NOW: AtomicU64 = AtomicU64::new(0);

/// Reads the clock for [`append_date`] (each reaper tick, at most a
/// second apart).
pub(super) fn tick() {
    NOW.store(now_secs(), Ordering::Relaxed);
}

/// Length of an IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
const DATE_LEN: usize = 29;
/// `date: ` + the date + CRLF.
pub(super) const LINE_LEN: usize = 6 + DATE_LEN + 2;

struct Cached {
    secs: u64,
    line: [u8; LINE_LEN],
}

thread_local! {
    static CACHE: RefCell<Cached> = const {
        RefCell::new(Cached { secs: u64::MAX, line: [b' '; LINE_LEN] })
    };
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Appends the current `Date` value (RFC 9110 IMF-fixdate) to `out`,
/// reformatting it only when the second changed. The second is the one
/// the reapers last read (see [`tick`]), or the clock's when none runs.
pub(super) fn append_date(out: &mut Vec<u8>) {
    with_line(|line| out.extend_from_slice(&line[6..6 + DATE_LEN]));
}

fn with_line(f: impl FnOnce(&[u8; LINE_LEN])) {
    let secs = match NOW.load(Ordering::Relaxed) {
        0 => now_secs(),
        s => s,
    };
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.secs != secs {
            c.secs = secs;
            c.line[..6].copy_from_slice(b"date: ");
            c.line[6..6 + DATE_LEN].copy_from_slice(imf_fixdate(secs).as_bytes());
            c.line[6 + DATE_LEN..].copy_from_slice(b"\r\n");
        }
        f(&c.line);
    });
}

/// A connection's copy of the `date: ...\r\n` line: one relaxed load
/// per response to see that the second is the same, and a copy of a fixed
/// size, instead of a thread-local access.
pub(super) struct DateLine {
    secs: u64,
    line: [u8; LINE_LEN],
}

impl DateLine {
    pub(super) fn new() -> DateLine {
        DateLine {
            secs: u64::MAX,
            line: [b' '; LINE_LEN],
        }
    }

    /// The current line (refreshed from the thread's cache when the
    /// second changed).
    #[inline(always)]
    pub(super) fn current(&mut self) -> &[u8; LINE_LEN] {
        let secs = NOW.load(Ordering::Relaxed);
        if secs != self.secs || secs == 0 {
            self.refresh(secs);
        }
        &self.line
    }

    #[cold]
    fn refresh(&mut self, secs: u64) {
        self.secs = secs;
        with_line(|line| self.line = *line);
    }
}

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// (year, month 1..=12, day 1..=31) of a day count since 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
fn civil(days: i64) -> (i64, usize, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as usize;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn parts(secs: u64) -> (usize, i64, usize, u32, u64, u64, u64) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil(days);
    (
        days.rem_euclid(7) as usize,
        y,
        m,
        d,
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
    )
}

/// `Sun, 06 Nov 1994 08:49:37 GMT`.
pub(super) fn imf_fixdate(secs: u64) -> String {
    let (wd, y, m, d, hh, mm, ss) = parts(secs);
    format!(
        "{}, {d:02} {} {y:04} {hh:02}:{mm:02}:{ss:02} GMT",
        DAYS[wd],
        MONTHS[m - 1]
    )
}

/// The common log format's timestamp: `10/Oct/2000:13:55:36 +0000`.
pub(super) fn clf_now() -> String {
    let (_, y, m, d, hh, mm, ss) = parts(now_secs());
    format!(
        "{d:02}/{}/{y:04}:{hh:02}:{mm:02}:{ss:02} +0000",
        MONTHS[m - 1]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(imf_fixdate(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(imf_fixdate(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(imf_fixdate(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(imf_fixdate(4_102_444_799), "Thu, 31 Dec 2099 23:59:59 GMT");
    }
}
