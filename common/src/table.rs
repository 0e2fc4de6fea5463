//! Plain-text tables for the CLI: columns two spaces apart, each as wide as its widest cell.

/// Renders `header` and `rows`; the last column is not padded, lines end with `\n`.
pub fn render<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> String {
    let header = header.map(str::to_owned);
    let mut widths = [0usize; N];
    for row in std::iter::once(&header).chain(rows) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(rows) {
        let cells: Vec<String> = row.iter().zip(widths).map(|(cell, width)| format!("{cell:width$}")).collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// A duration as the largest whole unit: `45s`, `12m`, `5h`, `3d`.
pub fn short_age(seconds: u64) -> String {
    match seconds {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn columns_align_on_the_widest_cell() {
        let rows = [
            ["a".to_owned(), "long value".to_owned(), "x".to_owned()],
            ["bbb".to_owned(), "v".to_owned(), String::new()],
        ];
        let ages = [5, 120, 7200, 200_000].map(super::short_age);
        assert_eq!(ages, ["5s", "2m", "2h", "2d"]);
        assert_eq!(super::render(["H1", "H2", "H3"], &rows), "H1   H2          H3\na    long value  x\nbbb  v\n");
    }
}
