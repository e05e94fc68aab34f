//! Sizes, as `docker images` shows them.
//!
//! An image's size is the sum of its layers' uncompressed tar lengths, which
//! the layer store recorded when each layer came in, so no tree is walked to
//! print it. It is printed in powers of 1000, as Docker prints it.

use crate::images::{Image, ImageStore};

impl ImageStore {
    /// The size `docker images` shows: the layers' uncompressed tar sizes.
    pub fn size(&self, image: &Image) -> u64 {
        image
            .config
            .rootfs
            .diff_ids
            .iter()
            .filter_map(|d| self.layers.info(d).ok())
            .map(|i| i.size)
            .sum()
    }
}

/// A size as Docker prints it: `4.26MB` (powers of 1000).
pub fn human_size(n: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < units.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n}B")
    } else {
        format!("{v:.3}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
            + units[u]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(4_260_000), "4.26MB");
        assert_eq!(human_size(1_000_000), "1MB");
    }
}
