//! The upstream nftables test's transaction normalisation, shared by the library's
//! nftables corpus test and the CLI's oracle harness (which includes this file by path).

/// The upstream test's normalisation (`assertNFTablesTransactionEqual`): drop blank and `#`
/// lines; stable-sort by object type (table, chain, rule, set, map, element), then object
/// name (5th word), then — except for rules — the whole line.
pub fn normalise(text: &str) -> Vec<String> {
    let rank = |line: &str| match line.split(' ').nth(1).unwrap_or("") {
        "table" => 0,
        "chain" => 1,
        "rule" => 2,
        "set" => 3,
        "map" => 4,
        "element" => 5,
        _ => 6,
    };
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    lines.sort_by(|a, b| {
        let key = |l: &str| (rank(l), l.split(' ').nth(4).unwrap_or("").to_owned());
        key(a)
            .cmp(&key(b))
            .then_with(|| if rank(a) == 2 { std::cmp::Ordering::Equal } else { a.cmp(b) })
    });
    lines
}
