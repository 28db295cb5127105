//! The subcommands of `kiln`, one file each; `main.rs` only dispatches.
//!
//! | file | command |
//! |---|---|
//! | `wast.rs` | `kiln wast FILE...`: run spec scripts through the full pipeline |

mod wast;

pub use wast::wast;
