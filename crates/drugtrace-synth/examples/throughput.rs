//! Measures generation speed: `cargo run --release -p drugtrace-synth --example throughput
//! -- [PACKS] [DIR]` writes a province and prints events per second.

use drugtrace_synth::{Formats, SynthOptions, generate};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let packs: u64 = args.next().map_or(Ok(1_000_000), |s| s.parse())?;
    let dir = match args.next() {
        Some(d) => std::path::PathBuf::from(d),
        None => std::env::temp_dir().join("drugtrace-synth-throughput"),
    };
    for (label, formats) in [
        ("jsonl", Formats::default()),
        (
            "jsonl+csv+nhsa",
            Formats {
                jsonl: true,
                csv: true,
                nhsa: true,
            },
        ),
    ] {
        let s = generate(&SynthOptions {
            formats,
            ..SynthOptions::new(packs, 1, &dir)
        })?;
        println!(
            "{label}: {} packs, {} events, {:.1} MB in {:.2} s: {:.2} M events/s, {} fraud cases",
            s.packs,
            s.events,
            s.bytes as f64 / 1e6,
            s.seconds,
            s.events as f64 / s.seconds / 1e6,
            s.fraud_cases.values().sum::<u64>()
        );
    }
    Ok(())
}
