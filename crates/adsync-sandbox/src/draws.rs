//! The deterministic randomness every platform's data function draws from: a report cell is
//! a pure function of its coordinates, so tests can compute the exact rows a sink must hold.

/// splitmix64's finalizer: every input bit moves every output bit.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Mixes `value` into `hash`: seeds are folded from a cell's coordinates.
pub(crate) fn fold(hash: u64, value: u64) -> u64 {
    mix(hash ^ value)
}

/// A splitmix64 stream: successive draws from one seed.
pub(crate) struct Draws(pub(crate) u64);

impl Draws {
    /// A number in `lo..=hi`.
    pub(crate) fn between(&mut self, lo: u64, hi: u64) -> u64 {
        self.0 = mix(self.0);
        lo + self.0 % (hi - lo + 1)
    }
}

/// `num / den` with six decimals, rounded half up in integers so the text never depends on
/// float formatting; `None` when `den` is 0.
pub(crate) fn ratio6(num: u128, den: u128) -> Option<String> {
    if den == 0 {
        return None;
    }
    let micros = (num * 2_000_000 + den) / (2 * den);
    Some(format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000))
}
