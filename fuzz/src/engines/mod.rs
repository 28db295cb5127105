//! The engines the differential target runs a case in: kiln, through its
//! full ahead-of-time path, and two interpreters as oracles.

pub mod kiln;
mod wasmi;

pub use self::wasmi::{wasmi1, wasmi2};
