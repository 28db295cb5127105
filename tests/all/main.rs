//! kiln's integration tests, one binary with a module per area.

mod artifact;
mod bindings;
mod branch_protection;
#[cfg(not(kiln_cross))]
mod compile_fail;
mod debuginfo;
mod embed;
mod exceptions;
mod host_funcs;
mod instances;
mod interrupts;
mod numerics;
mod plugin_table;
mod profiling;
mod simd;
mod threads;
mod traps;
mod typed_calls;
mod typed_refs;
mod v128;
mod wasi;
