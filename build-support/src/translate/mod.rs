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
//! | `simd.rs` | every v128 instruction (SIMD and relaxed SIMD), and the sequences used where Cranelift would need a helper call |
//! | `tables.rs` | table.get/set/size/grow/fill/copy/init, elem.drop, the checks of `call_indirect` |
//! | `calls.rs` | call, call_indirect, return_call, return_call_indirect, return areas |
//! | `exceptions.rs` | throw, throw_ref, try_table, legacy try/catch/rethrow/delegate, `try_call` handlers |
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
//!   (`ExternalName::User { namespace: 0, index: func_index }`) and to the
//!   module's throw stub (namespace 3, index 0). Builtins,
//!   imports and indirect calls go through pointers loaded from the vmctx.
//! * Every instruction that may trap carries an `ir::TrapCode` that
//!   [`traps::from_ir`] maps back to a kiln `TrapCode`.
//! * Each operator's instructions carry its absolute byte offset in the wasm
//!   binary as source location (for `.kiln.addrmap`).
//! * The prologue checks the stack pointer against
//!   `VMRuntimeLimits::stack_limit` (`ir::Function::stack_limit`).

mod atomics;
mod bounds;
mod calls;
mod control;
mod env;
mod exceptions;
mod func_translator;
mod globals;
mod interrupts;
mod memory;
mod operators;
mod simd;
mod tables;
pub(crate) mod traps;
mod unreachable;

#[cfg(test)]
mod tests;

pub(crate) use func_translator::FuncTranslator;
use kiln_artifact::engine::RelaxedSimd;
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
    /// What the target does natively, where kiln must choose a lowering.
    pub lowering: Lowering,
}

impl<'a> TranslateContext<'a> {
    /// The context for `module` on `isa`; the lowering follows from the
    /// ISA and the relaxed-SIMD choice.
    pub fn new(
        module: &'a kiln_artifact::info::ModuleInfo,
        offsets: &'a VMOffsets<u8>,
        isa: &'a dyn cranelift_codegen::isa::TargetIsa,
        tunables: &'a kiln_artifact::engine::Tunables,
        relaxed_simd_deterministic: bool,
    ) -> Self {
        let lowering = Lowering::of(isa, relaxed_simd_deterministic);
        TranslateContext { module, offsets, isa, tunables, lowering }
    }
}

/// The target's abilities that decide between Cranelift's lowering of an
/// instruction and one of kiln's: Cranelift falls back to helper calls
/// (libcalls) for some instructions on some CPUs, and artifacts contain no
/// calls outside their own text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Lowering {
    /// The target is x86_64.
    pub x86: bool,
    /// `ceil`/`floor`/`trunc`/`nearest` (scalar and vector) are
    /// instructions; otherwise (x86_64 without SSE4.1) they call the
    /// rounding builtins.
    pub native_rounding: bool,
    /// A fused multiply-add instruction exists (x86_64 needs FMA).
    pub native_fma: bool,
    /// x86_64 only: `pshufb` exists (SSSE3); without it byte permutations
    /// Cranelift cannot do with SSE2 go through a stack slot.
    pub pshufb: bool,
    /// The target can hold `v128` values at all (riscv64 needs V).
    pub simd: bool,
    /// How relaxed-SIMD instructions behave.
    pub relaxed: RelaxedSimd,
    /// aarch64 branch protection: every indirect branch target must be a
    /// landing pad.
    pub landing_pads: bool,
}

impl Lowering {
    /// The abilities of `isa`; relaxed SIMD follows the target unless
    /// `deterministic` is asked for (only x86_64 differs).
    pub fn of(isa: &dyn cranelift_codegen::isa::TargetIsa, deterministic: bool) -> Lowering {
        use target_lexicon::Architecture;
        let flag = |name: &str| isa.isa_flags().iter().any(|f| f.name == name && f.as_bool() == Some(true));
        let arch = isa.triple().architecture;
        let x86 = arch == Architecture::X86_64;
        Lowering {
            x86,
            native_rounding: !x86 || flag("has_sse41"),
            native_fma: isa.has_native_fma(),
            pshufb: x86 && flag("has_ssse3"),
            simd: !matches!(arch, Architecture::Riscv64(_)) || flag("has_v"),
            relaxed: if x86 && !deterministic { RelaxedSimd::X86 } else { RelaxedSimd::Deterministic },
            landing_pads: flag("use_bti"),
        }
    }

    /// Refuse `v128` values where the target cannot hold them. Called
    /// wherever one may first appear: signatures, locals, block types,
    /// callee types, globals, SIMD instructions.
    pub fn check_v128(
        &self,
        tys: impl IntoIterator<Item = kiln_artifact::types::ValType>,
        offset: impl crate::error::IntoOffset,
    ) -> crate::error::Result<()> {
        if !self.simd && tys.into_iter().any(|t| t == kiln_artifact::types::ValType::V128) {
            return Err(crate::error::Error::unsupported(
                "v128 values (the target has no vector registers: riscv64 needs the V extension)",
                offset,
            ));
        }
        Ok(())
    }
}
