//! Parsing trace codes in every form scanners send, and mapping a code to its pack key.
//!
//! Run with `cargo bench -p drugtrace-code`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use drugtrace_code::TraceCode;

/// One pack's code in each form, as a scanner or a person sends it. The GS1 forms all name
/// one pack: GTIN 09506000134352, expiry 2025-12-31, batch LOT1, serial SER1.
const INPUTS: [(&str, &str); 6] = [
    ("china", "81234567890123456789"),
    (
        "china_full_width_padded",
        "\u{3000}８１２３４５６７８９０１２３４５６７８９\r\n",
    ),
    (
        "gs1_fnc1",
        "]d2010950600013435217251231\u{1d}10LOT1\u{1d}21SER1",
    ),
    (
        "gs1_bracketed",
        "(01)09506000134352(17)251231(10)LOT1(21)SER1",
    ),
    (
        "digital_link",
        "https://id.gs1.org/01/09506000134352/10/LOT1/21/SER1?17=251231",
    ),
    // The same pack compressed, as GS1's reference implementation writes it.
    (
        "digital_link_compressed",
        "https://id.gs1.org/GhFKk4XBoMhZyerIkIjqeqvg",
    ),
];

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(1));
    for (name, input) in INPUTS {
        // A bench of an input that fails would measure the error path instead.
        TraceCode::parse(input).expect("every benchmark input is a valid code");
        group.bench_with_input(BenchmarkId::from_parameter(name), input, |b, input| {
            b.iter(|| TraceCode::parse(black_box(input)))
        });
    }
    group.finish();
}

fn pack_key(c: &mut Criterion) {
    let mut group = c.benchmark_group("pack_key");
    group.throughput(Throughput::Elements(1));
    for (name, input) in [INPUTS[0], INPUTS[3]] {
        let code = TraceCode::parse(input).expect("a valid code");
        group.bench_with_input(BenchmarkId::from_parameter(name), &code, |b, code| {
            b.iter(|| black_box(code).pack_key())
        });
    }
    group.finish();
}

/// Short runs: these are nanosecond-scale functions, and the whole suite should finish
/// within a few minutes.
fn config() -> Criterion {
    Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = parse, pack_key
}
criterion_main!(benches);
