//! Benchmarks for Strata. The criterion benches live in `benches/`; run them
//! with `cargo bench -p strata-bench`.
