//! `kiln-build`: the kiln compiler.
//!
//! Turns a WebAssembly module into a kiln artifact — an ELF image holding
//! the machine code for one target and the metadata the `kiln` runtime needs
//! to run it without a compiler:
//!
//! ```no_run
//! let wasm = wat::parse_str(r#"(module (func (export "add") (param i32 i32) (result i32)
//!     local.get 0 local.get 1 i32.add))"#).unwrap();
//! let artifact: Vec<u8> = kiln_build::compile(&wasm, &kiln_build::Config::host())?;
//! # Ok::<(), kiln_build::Error>(())
//! ```
//!
//! | module | holds |
//! |---|---|
//! | `config` | [`Config`]: target triple, CPU features, opt level, tunables |
//! | `isa` | triple + features → Cranelift ISA and flags |
//! | `module_env` | one pass over the wasm payloads → `ModuleInfo` + function bodies |
//! | `compile` | validate, translate and compile every function on all cores |
//! | `translate/` | wasm operators → Cranelift IR (find any instruction in `translate/operators.rs`) |
//! | `abi` | Cranelift signatures of the wasm, array and builtin conventions |
//! | `trampolines` | host→wasm array trampolines and wasm→host trampolines |
//! | `emit/` | the ELF image: text layout, sections, symbols |
//! | [`cache`] | content-hash cache of artifacts |
//! | `build_script` | [`configure`], the one-line build.rs helper |
//! | `plugins` | [`Plugins`]: a folder of modules → a table of embedded artifacts, from build.rs |
//! | [`embed`] | the Rust code that embeds an artifact in place (shared by the macro and `plugins`) |
//! | `interface` | [`module_interface`]: an artifact's imports and exports, for code generators |

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod abi;
mod build_script;
pub mod cache;
mod compile;
pub use compile::Progress;
mod config;
mod debuginfo;
pub mod embed;
mod emit;
mod error;
pub mod features;
mod interface;
mod isa;
mod module_env;
mod plugins;
mod trampolines;
mod translate;

pub use build_script::{configure, Configure};
pub use config::{
    Config, OptLevel, ENV_BRANCH_PROTECTION, ENV_CONSUME_FUEL, ENV_DEBUG_INFO, ENV_EPOCH_INTERRUPTION, ENV_OPT_LEVEL,
    ENV_TARGET, ENV_TARGET_FEATURES,
};
pub use error::{Error, ErrorKind, IntoOffset, Result};
pub use interface::{module_interface, Export, ExternType, Import, ModuleInterface};
pub use plugins::{Plugins, Table};

/// Compile a WebAssembly binary into artifact bytes for `config`'s target.
pub fn compile(wasm: &[u8], config: &Config) -> Result<Vec<u8>> {
    compile::compile(wasm, config, &|_, _| {})
}

/// [`compile`], telling `progress(functions done, functions in total)`
/// after each function body is compiled (from the compiling threads), for
/// a progress bar.
pub fn compile_with_progress(wasm: &[u8], config: &Config, progress: Progress<'_>) -> Result<Vec<u8>> {
    compile::compile(wasm, config, progress)
}

/// The Cranelift IR of each defined function as kiln translates it from
/// wasm (before Cranelift optimises it): `(function index, CLIF text)`,
/// for `kiln compile --emit clif`.
pub fn clif(wasm: &[u8], config: &Config) -> Result<Vec<(u32, String)>> {
    compile::clif(wasm, config)
}

/// Read a `.wasm` or `.wat` file (by content: text is accepted whatever the
/// extension) and return the wasm binary.
pub fn read_module(path: &std::path::Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    wat_to_wasm(&bytes).map_err(|e| e.in_file(path.display().to_string()))
}

/// Turn text or binary wasm into binary wasm.
pub fn wat_to_wasm(bytes: &[u8]) -> Result<Vec<u8>> {
    if bytes.starts_with(b"\0asm") {
        return Ok(bytes.to_vec());
    }
    wat::parse_bytes(bytes).map(|b| b.into_owned()).map_err(|e| Error::text(e.to_string()))
}
