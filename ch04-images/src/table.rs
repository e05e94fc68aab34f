//! Docker's tables: a header and rows, each column as wide as its widest
//! cell, three spaces between columns, no spaces at the end of a line.

use std::io::Write;

use anyhow::{Context, Result};

// ANCHOR: table
/// Writes `header` and `rows` to `out` as Docker aligns them.
pub fn write_table(out: &mut dyn Write, header: &[&str], rows: &[Vec<String>]) -> Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        writeln!(out, "{}", cells.join("   ").trim_end()).context("write to stdout")?;
    }
    Ok(())
}
// ANCHOR_END: table

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_aligned() {
        let mut out = Vec::new();
        let rows = vec![
            vec!["busybox".to_string(), "latest".to_string()],
            vec!["a".to_string(), "".to_string()],
        ];
        write_table(&mut out, &["REPOSITORY", "TAG"], &rows).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "REPOSITORY   TAG\nbusybox      latest\na\n"
        );
    }
}
