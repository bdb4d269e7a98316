//! Small no-alloc formatting helpers for the printed reports.

use core::fmt;

/// `1234567` → `1,234,567`, padded with the formatter's width and alignment.
pub(crate) struct Grouped(pub(crate) u64);

impl fmt::Display for Grouped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 32];
        let mut at = buf.len();
        let mut n = self.0;
        let mut digits = 0;
        loop {
            if digits > 0 && digits % 3 == 0 {
                at -= 1;
                buf[at] = b',';
            }
            at -= 1;
            buf[at] = b'0' + (n % 10) as u8;
            n /= 10;
            digits += 1;
            if n == 0 {
                break;
            }
        }
        // ASCII digits and commas only
        f.pad(core::str::from_utf8(&buf[at..]).map_err(|_| fmt::Error)?)
    }
}

/// A fixed-capacity string that truncates (on a char boundary) instead of allocating.
pub(crate) struct StackStr<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> StackStr<N> {
    pub(crate) const fn new() -> Self {
        StackStr {
            buf: [0; N],
            len: 0,
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl<const N: usize> fmt::Write for StackStr<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            let mut tmp = [0u8; 4];
            let bytes = c.encode_utf8(&mut tmp).as_bytes();
            if self.len + bytes.len() > N {
                return Ok(());
            }
            self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
            self.len += bytes.len();
        }
        Ok(())
    }
}

impl<const N: usize> StackStr<N> {
    /// `value` rendered (truncated at `N` bytes).
    pub(crate) fn display(value: impl fmt::Display) -> Self {
        let mut s = Self::new();
        let _ = fmt::Write::write_fmt(&mut s, format_args!("{value}"));
        s
    }
}

/// A byte size, or `overflow` where the total does not fit in a `u64`.
pub(crate) struct MaybeBytes(pub(crate) Option<crate::units::Bytes>);

impl fmt::Display for MaybeBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(b) => fmt::Display::fmt(&b, f),
            None => f.pad("overflow"),
        }
    }
}
