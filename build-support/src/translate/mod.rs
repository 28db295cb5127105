//! Wasm function bodies → Cranelift IR.
//!
//! One call of [`FuncTranslator::translate`] validates and translates one
//! defined function into an [`ir::Function`](cranelift_codegen::ir::Function) that follows the wasm calling
//! convention of `kiln_artifact::vmctx` (signature from
//! [`crate::abi::wasm_signature`], named `UserFuncName::user(0, func_index)`).
//! Validation is interleaved with translation: every operator is validated
//! before it is translated, so the translator may rely on well-typed input.
//!
//! | file | holds |
//! |---|---|
//! | `func_translator.rs` | [`FuncTranslator`]: locals, the operator loop, the reusable per-thread state (`FuncState`: value stack, control stack, locals) |
//! | `operators.rs` | `translate_operator`: THE match, grouped by category — find any instruction here |
//! | `unreachable.rs` | operators after `br`/`return`/`unreachable`: validated, tracked for nesting, not translated |
//! | `control.rs` | block/loop/if/else/end/br/br_if/br_table/return, control frames, block parameters |
//! | `env.rs` | `FuncEnv`: everything reached through the VMContext, and every per-function cache |
//! | `bounds.rs` | linear-memory address computation and bounds checks (**sandbox-critical**) |
//! | `memory.rs` | loads, stores, memory.size/grow/copy/fill/init, data.drop |
//! | `tables.rs` | table.get/set/size/grow/fill/copy/init, elem.drop, the checks of `call_indirect` |
//! | `calls.rs` | call, call_indirect, return_call, return_call_indirect, return areas |
//! | `globals.rs` | global.get/global.set |
//! | `interrupts.rs` | fuel accounting and epoch-deadline checks at function entries and loop headers |
//! | `traps.rs` | kiln `TrapCode` ↔ Cranelift `ir::TrapCode`, the single mapping |
//! | `tests.rs` | modules translated, verified and compiled for every ISA; `corpus` and `dump` (ignored) for whole test suites and reading CLIF |
//!
//! What the produced code relies on (the contract with the runtime and the
//! driver):
//!
//! * Every VMContext offset comes from [`VMOffsets`]; nothing is hard-coded.
//! * The only relocations are colocated calls to defined functions
//!   (`ExternalName::User { namespace: 0, index: func_index }`). Builtins,
//!   imports and indirect calls go through pointers loaded from the vmctx.
//! * Every instruction that may trap carries an `ir::TrapCode` that
//!   [`traps::from_ir`] maps back to a kiln `TrapCode`.
//! * Each operator's instructions carry its absolute byte offset in the wasm
//!   binary as source location (for `.kiln.addrmap`).
//! * The prologue checks the stack pointer against
//!   `VMRuntimeLimits::stack_limit` (`ir::Function::stack_limit`).

mod bounds;
mod calls;
mod control;
mod env;
mod func_translator;
mod globals;
mod interrupts;
mod memory;
mod operators;
mod tables;
pub(crate) mod traps;
mod unreachable;

#[cfg(test)]
mod tests;

pub(crate) use func_translator::FuncTranslator;
use kiln_artifact::vmctx::VMOffsets;

/// What the translation of every function of a module shares.
pub(crate) struct TranslateContext<'a> {
    /// The module (types, functions, tables, memories, globals, `func_refs`).
    pub module: &'a kiln_artifact::info::ModuleInfo,
    /// The VMContext layout, for the target's pointer size.
    pub offsets: &'a VMOffsets<u8>,
    /// The target.
    pub isa: &'a dyn cranelift_codegen::isa::TargetIsa,
    /// Settings the compiled code and the runtime share (bounds checks…).
    pub tunables: &'a kiln_artifact::engine::Tunables,
    /// Whether the ISA rounds floats natively (`ceil`, `floor`, `trunc`,
    /// `nearest`). When false (x86_64 without SSE4.1) they become calls of
    /// the rounding builtins, since Cranelift would otherwise emit libcalls,
    /// which kiln artifacts cannot contain.
    pub native_rounding: bool,
}
