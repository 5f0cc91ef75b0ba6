//! No library: the end-to-end test of the whole stack is `tests/stack.rs`. It starts
//! `scripts/demo.sh` on free ports with the workspace's debug binaries (built by
//! `cargo build --workspace --bins`, which `scripts/test.sh` runs first) and checks targets,
//! rules, series, dashboards and a fault drill through Alertmanager.
