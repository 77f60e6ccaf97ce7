//! The drawn cases' source of numbers, seeded by the run.

/// SplitMix64: small, and the same numbers for the same seed everywhere.
pub(super) struct Draw(pub(super) u64);

impl Draw {
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    pub(super) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    pub(super) fn words(&mut self, n: usize) -> String {
        const WORDS: &[&str] = &[
            "alpha",
            "blocker",
            "Ünïcode",
            "emoji 🚀",
            "quote\"d",
            "new\nline",
            "tab\there",
            "x",
            "long-word-with-dashes",
            "0",
            "null",
            "<b>html</b>",
        ];
        (0..n.max(1))
            .map(|_| *self.pick(WORDS))
            .collect::<Vec<_>>()
            .join(" ")
    }
}
