//! The runtime half of kiln's differential fuzzer, shared by `kiln-fuzz`
//! and the replayer: what a case observes ([`outcome`]), what it calls
//! ([`plan`]), the host functions it may import ([`host`]), how kiln runs
//! it ([`run`]), and recorded cases ([`case`]).
//!
//! It depends on the runtime only, so it builds quickly for every target
//! and runs under emulation: `kiln-fuzz cross` records cases on the host
//! (module, arguments, both oracles' results, the artifact compiled for
//! the target), and `kiln-fuzz-replay DIR` runs them on the target.

pub mod case;
pub mod host;
pub mod outcome;
pub mod plan;
pub mod run;

/// The message a panic carried.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "(no message)".into())
}
