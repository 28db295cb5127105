//! # kiln: WebAssembly baked into your binary
//!
//! `include_wasm!` compiles a WebAssembly module **at build time** (with
//! Cranelift, for the target being built) into an artifact embedded in the
//! binary; this crate loads it at startup and runs it sandboxed. No
//! compiler, parser or validator is linked into the application.
//!
//! ```
//! // build.rs (optional for native builds, required for cross builds):
//! // fn main() { kiln_build::configure(); }
//!
//! static PLUGIN: kiln::Artifact = kiln::include_wasm!("../examples/hello/plugins/greet.wat");
//!
//! fn main() -> Result<(), kiln::Error> {
//!     let module = kiln::Module::new(&PLUGIN)?;          // no compiler runs here
//!     let mut store = kiln::Store::new(Vec::<String>::new());
//!     let mut linker = kiln::Linker::new();
//!     linker.func_wrap("host", "log", |mut caller: kiln::Caller<'_, Vec<String>>, ptr: i32, len: i32| {
//!         let memory = caller.get_export("memory").and_then(|e| e.into_memory()).ok_or(kiln::Error::msg("no memory"))?;
//!         let mut buf = vec![0; len as usize];
//!         memory.read(&mut caller, ptr as usize, &mut buf)?;   // checked guest range
//!         caller.data_mut().push(String::from_utf8_lossy(&buf).into_owned());
//!         Ok::<(), kiln::Error>(())
//!     })?;
//!     let instance = linker.instantiate(&mut store, &module)?;
//!     let alloc = instance.get_typed_func::<i32, i32>(&mut store, "alloc")?;
//!     let greet = instance.get_typed_func::<(i32, i32), i32>(&mut store, "greet")?;
//!     let memory = instance.get_memory(&mut store, "memory").unwrap();
//!     let name = alloc.call(&mut store, 4)?;
//!     memory.write(&mut store, name as usize, b"kiln")?;
//!     assert_eq!(greet.call(&mut store, (name, 4))?, 12);
//!     assert_eq!(store.data(), &["Hello, kiln!".to_string()]);
//!     Ok(())
//! }
//! ```
//!
//! The shape is Wasmtime's: [`Module`] (loaded code, shareable across
//! threads), [`Store`] (instances and host data), [`Linker`] (imports by
//! name), [`Instance`], [`Func`] / [`TypedFunc`], [`Memory`], [`Table`],
//! [`Global`], [`Val`]. A trap — `unreachable`, an out-of-bounds access,
//! stack exhaustion, a failing host function — is an [`Error`] carrying a
//! [`Trap`], never a crash of the host.
//!
//! | module | holds |
//! |---|---|
//! | `module` | loading: ELF checks, `.kiln.engine` checks (`engine_check`), metadata validation |
//! | `store`, `linker`, `instance` | the embedding API |
//! | `func`, `func/typed` | dynamic and typed calls, host functions |
//! | `memory`, `table`, `global` | host access to instance state |
//! | `shared_memory` | memories shared by stores on several threads |
//! | [`profiling`] | naming plugin code for profilers (perf maps for copied code) |
//! | `vm/` | the unsafe core: code memory, signals, traps, VMContext, builtins |
//! | [`artifact`](kiln_artifact) | the artifact format shared with `kiln-build` |

#![deny(unsafe_code)]
#![deny(missing_docs)]

mod artifact;
mod engine_check;
mod error;
pub mod func;
mod global;
mod instance;
mod linker;
mod memory;
mod module;
pub mod profiling;
mod shared_memory;
mod store;
mod table;
mod tag;
mod trap;
mod type_registry;
mod values;
pub mod vm;
#[cfg(feature = "wasi")]
pub mod wasi;

pub use artifact::Artifact;
pub use error::{Error, ErrorKind, Result};
pub use func::{Func, IntoFunc, TypedFunc, WasmParams, WasmResults, WasmRet, WasmTy};
pub use global::Global;
pub use instance::{Extern, Instance};
pub use kiln_macro::include_wasm;
pub use linker::Linker;
pub use memory::Memory;
pub use module::{ExportType, ExternType, ImportType, Module};
pub use shared_memory::{SharedMemory, WaitResult};
pub use store::{AsContextMut, Caller, EpochCounter, ExternRef, Store, StoreLimits, UpdateDeadline};
pub use table::Table;
pub use tag::{Exception, ExnRef, Tag};
pub use trap::{FrameInfo, FrameSymbol, MemoryFault, Trap, TrapCode};
pub use values::{FuncType, GlobalType, Limits, MemoryType, RefType, TableType, Val, ValType};

/// The artifact format, shared with `kiln-build`.
pub use kiln_artifact as artifact_format;

#[doc(hidden)]
pub mod __private {
    /// The runtime's version; the macro's expansion checks it equals its own.
    pub const VERSION: &str = env!("CARGO_PKG_VERSION");

    /// `a == b` in const context.
    pub const fn version_eq(a: &str, b: &str) -> bool {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        let mut i = 0;
        while i < a.len() {
            if a[i] != b[i] {
                return false;
            }
            i += 1;
        }
        true
    }
}
