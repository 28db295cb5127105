//! # kiln-cli: the `kiln` command line, as a library
//!
//! The binary (`src/main.rs`) only parses arguments; everything it runs
//! lives here so that tests drive exactly the same code:
//!
//! | module | holds |
//! |---|---|
//! | [`commands`] | one function per subcommand of the binary (`kiln run`, `kiln compile`, `kiln wast`) |
//! | [`wast`] | the spec-script runner behind `kiln wast`: every module goes wasm → `kiln_build::compile` → artifact bytes → `kiln::Module::from_bytes` → instantiate; no interpreter |
//!
//! ```no_run
//! let script = "(module (func (export \"one\") (result i32) i32.const 1))\n\
//!               (assert_return (invoke \"one\") (i32.const 1))";
//! let report = kiln_cli::wast::run_script("inline.wast", script, &kiln_build::Config::host());
//! assert_eq!(report.counts().failed, 0);
//! ```

// The only unsafe: loading artifact bytes (`Module::from_bytes`), each
// site allowed where it is and saying why its bytes are kiln's own.
#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod commands;
pub mod wast;
