//! Benchmark workloads shared by the criterion benches.
#![forbid(unsafe_code)]
