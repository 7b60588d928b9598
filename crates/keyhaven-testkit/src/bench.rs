//! Benchmark binaries share this: it reads criterion's estimates after a run
//! and prints throughput ratios.

fn criterion_dir() -> Option<std::path::PathBuf> {
    // target/release/deps/<bench binary> → target/criterion
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.parent()?.parent()?.join("criterion"))
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if matches!(c, ':' | '/' | '\\' | '?' | '*' | '"' | '<' | '>' | '|') {
                '_'
            } else {
                c
            }
        })
        .collect()
}

fn mean_ns(group: &str, function: &str) -> Option<f64> {
    let path = criterion_dir()?
        .join(sanitize(group))
        .join(sanitize(function))
        .join("new")
        .join("estimates.json");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    v["mean"]["point_estimate"].as_f64()
}

/// Prints `label: ours/base throughput = base_time / our_time` for each pair found.
pub fn print_ratios(pairs: &[(&str, &str, &str, &str)]) {
    println!("\nthroughput ratios (higher is better for the first named):");
    for (label, group, ours, base) in pairs {
        match (mean_ns(group, ours), mean_ns(group, base)) {
            (Some(o), Some(b)) => println!(
                "  {label}: {:.2}x ({:.1} µs vs {:.1} µs)",
                b / o,
                o / 1000.0,
                b / 1000.0
            ),
            _ => println!("  {label}: no estimates found (run the full benchmark)"),
        }
    }
}
