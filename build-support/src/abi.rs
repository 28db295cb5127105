//! Cranelift signatures of the calling conventions in
//! `kiln_artifact::vmctx` (wasm, array, builtins), shared by the translator
//! and the trampolines so both sides of every call agree.

use cranelift_codegen::ir::{types, AbiParam, ArgumentPurpose, Signature, Type};
use cranelift_codegen::isa::{CallConv, TargetIsa};
use kiln_artifact::types::{FuncType, ValType};

/// The Cranelift type of a wasm value on a target with pointer type `ptr`.
pub fn ir_type(ty: ValType, ptr: Type) -> Type {
    match ty {
        ValType::I32 => types::I32,
        ValType::I64 => types::I64,
        ValType::F32 => types::F32,
        ValType::F64 => types::F64,
        ValType::V128 => types::I8X16,
        ValType::Ref(_) => ptr,
    }
}

/// Calling convention of wasm functions.
pub const WASM_CALL_CONV: CallConv = CallConv::Tail;

/// `(callee_vmctx, caller_vmctx, params…) -> result` or, with more than one
/// result, `(callee_vmctx, caller_vmctx, params…, ret_area)`.
pub fn wasm_signature(isa: &dyn TargetIsa, ty: &FuncType) -> Signature {
    let ptr = isa.pointer_type();
    let mut sig = Signature::new(WASM_CALL_CONV);
    sig.params.push(AbiParam::special(ptr, ArgumentPurpose::VMContext));
    sig.params.push(AbiParam::new(ptr));
    sig.params.extend(ty.params.iter().map(|&t| AbiParam::new(ir_type(t, ptr))));
    if ty.uses_return_area() {
        sig.params.push(AbiParam::new(ptr));
    } else {
        sig.returns.extend(ty.results.iter().map(|&t| AbiParam::new(ir_type(t, ptr))));
    }
    sig
}

/// The throw stub's: `(vmctx, vmctx, exn)` in the wasm convention, so
/// that a throw can be a `try_call`.
pub fn throw_stub_signature(isa: &dyn TargetIsa) -> Signature {
    let ptr = isa.pointer_type();
    let mut sig = Signature::new(WASM_CALL_CONV);
    sig.params.push(AbiParam::special(ptr, ArgumentPurpose::VMContext));
    sig.params.push(AbiParam::new(ptr));
    sig.params.push(AbiParam::new(ptr));
    sig
}

/// `(callee_vmctx, caller_vmctx, values: *mut ValRaw, len: usize) -> u8`
/// in the platform's C convention.
pub fn array_call_signature(isa: &dyn TargetIsa) -> Signature {
    let ptr = isa.pointer_type();
    let mut sig = Signature::new(isa.default_call_conv());
    sig.params.push(AbiParam::new(ptr));
    sig.params.push(AbiParam::new(ptr));
    sig.params.push(AbiParam::new(ptr));
    sig.params.push(AbiParam::new(ptr));
    sig.returns.push(AbiParam::new(types::I8));
    sig
}

/// A parameter of a function of the platform's C convention, which the
/// runtime implements in Rust: 32-bit integers are widened to 64 bits the
/// way the platform ABI makes the caller do it. The runtime's builtins take
/// unsigned 32-bit integers: riscv64's psABI sign-extends every 32-bit
/// integer (whatever its signedness) and s390x's extends by signedness
/// (zero for `u32`); x86_64 and aarch64 leave the upper half undefined.
fn c_param(isa: &dyn TargetIsa, ty: Type) -> AbiParam {
    let param = AbiParam::new(ty);
    if ty != types::I32 {
        return param;
    }
    match isa.triple().architecture {
        target_lexicon::Architecture::Riscv64(_) => param.sext(),
        target_lexicon::Architecture::S390x => param.uext(),
        _ => param,
    }
}

macro_rules! builtin_sig {
    ($( $(#[$doc:meta])* $name:ident ( $($p:ident : $t:ident),* ) $(-> $ret:ident)? $(=> $trap:ident)? ; )*) => {
        /// The Cranelift signature of a builtin.
        pub fn builtin_signature(isa: &dyn TargetIsa, b: kiln_artifact::builtins::BuiltinIndex) -> Signature {
            let ptr = isa.pointer_type();
            let mut sig = Signature::new(isa.default_call_conv());
            match b {
                $(kiln_artifact::builtins::BuiltinIndex::$name => {
                    $(sig.params.push(c_param(isa, builtin_sig!(@ty $t, ptr)));)*
                    $(builtin_sig!(@ret sig, $ret, ptr);)?
                    $(let _ = stringify!($trap); sig.returns.push(AbiParam::new(types::I8));)?
                })*
            }
            sig
        }
    };
    (@ty vmctx, $ptr:ident) => { $ptr };
    (@ty ptr, $ptr:ident) => { $ptr };
    (@ty i32, $ptr:ident) => { types::I32 };
    (@ty i64, $ptr:ident) => { types::I64 };
    (@ty f32, $ptr:ident) => { types::F32 };
    (@ty f64, $ptr:ident) => { types::F64 };
    (@ret $sig:ident, void, $ptr:ident) => { };
    (@ret $sig:ident, $t:ident, $ptr:ident) => { $sig.returns.push(AbiParam::new(builtin_sig!(@ty $t, $ptr))) };
}

kiln_artifact::for_each_builtin!(builtin_sig);
