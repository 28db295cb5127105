//! Trampolines between the host's array convention and the wasm convention
//! (both described in `kiln_artifact::vmctx`).
//!
//! * array → wasm, one per function the host can reach: reads the
//!   arguments from the `ValRaw` array, calls the function directly, writes
//!   the results back. A function with several results writes them straight
//!   into the array: it is laid out exactly like a return area.
//! * wasm → array, one per signature of an imported function: spills the
//!   arguments to a stack array, calls the host entry point found in the
//!   callee's `VMHostFuncContext`, and reloads the results. If the host
//!   reports failure, the `host_throw` builtin throws the host's exception
//!   into wasm (from this frame, so the caller's handlers see it), or
//!   returns and the trampoline traps with `HostError`.
//! * the throw stub, one per module: what `throw` calls (see
//!   `translate/exceptions.rs`).

use crate::abi::{array_call_signature, builtin_signature, ir_type, throw_stub_signature, wasm_signature};
use crate::translate::traps::to_ir;
use cranelift_codegen::ir::{
    self, types, ExtFuncData, ExternalName, InstBuilder, MemFlagsData, StackSlotData, StackSlotKind, UserExternalName,
    UserFuncName,
};
use cranelift_codegen::isa::TargetIsa;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use kiln_artifact::builtins::BuiltinIndex;
use kiln_artifact::index::{FuncIndex, TypeIndex};
use kiln_artifact::traps::TrapCode;
use kiln_artifact::types::FuncType;
use kiln_artifact::vmctx::{VMOffsets, VAL_RAW_SIZE};

/// Namespace of `UserExternalName`s that name wasm functions by index.
pub(crate) const NS_WASM_FUNC: u32 = 0;
/// Namespace for array-to-wasm trampolines (only in function names).
pub(crate) const NS_ARRAY_TRAMPOLINE: u32 = 1;
/// Namespace for wasm-to-array trampolines (only in function names).
pub(crate) const NS_WASM_TO_ARRAY: u32 = 2;
/// Namespace of the module's throw stub (index 0), called by `throw`.
pub(crate) const NS_THROW_STUB: u32 = 3;

fn value_flags() -> MemFlagsData {
    MemFlagsData::trusted().with_endianness(ir::Endianness::Little)
}

/// `(callee_vmctx, caller_vmctx, values, len) -> u8` calling `func` directly.
pub(crate) fn array_to_wasm(
    isa: &dyn TargetIsa,
    ctx: &mut FunctionBuilderContext,
    func: FuncIndex,
    ty: &FuncType,
) -> ir::Function {
    let ptr = isa.pointer_type();
    let mut f =
        ir::Function::with_name_signature(UserFuncName::user(NS_ARRAY_TRAMPOLINE, func.0), array_call_signature(isa));
    let callee_sig = f.import_signature(wasm_signature(isa, ty));
    let name = f.declare_imported_user_function(UserExternalName { namespace: NS_WASM_FUNC, index: func.0 });
    let callee = f.import_function(ExtFuncData {
        name: ExternalName::user(name),
        signature: callee_sig,
        colocated: true,
        patchable: false,
    });
    let mut b = FunctionBuilder::new(&mut f, ctx);
    let params = entry_block(&mut b);
    let (callee_vmctx, caller_vmctx, values) = (params[0], params[1], params[2]);

    let mut args = vec![callee_vmctx, caller_vmctx];
    for (i, &p) in ty.params.iter().enumerate() {
        let v = b.ins().load(ir_type(p, ptr), value_flags(), values, (i as u32 * VAL_RAW_SIZE) as i32);
        args.push(v);
    }
    if ty.uses_return_area() {
        args.push(values);
    }
    let call = b.ins().call(callee, &args);
    if !ty.uses_return_area() {
        if let Some(&r) = b.inst_results(call).first() {
            b.ins().store(value_flags(), r, values, 0);
        }
    }
    let ok = b.ins().iconst(types::I8, 1);
    b.ins().return_(&[ok]);
    b.finalize(isa.frontend_config());
    f
}

/// The wasm-convention entry of host functions of type `ty`.
pub(crate) fn wasm_to_array(
    isa: &dyn TargetIsa,
    ctx: &mut FunctionBuilderContext,
    offsets: &VMOffsets<u8>,
    type_index: TypeIndex,
    ty: &FuncType,
) -> ir::Function {
    let ptr = isa.pointer_type();
    let mut f =
        ir::Function::with_name_signature(UserFuncName::user(NS_WASM_TO_ARRAY, type_index.0), wasm_signature(isa, ty));
    let array_sig = f.import_signature(array_call_signature(isa));
    let slots = ty.params.len().max(ty.results.len()).max(1) as u32;
    let slot = f.create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, slots * VAL_RAW_SIZE, 4));
    let mut b = FunctionBuilder::new(&mut f, ctx);
    let params = entry_block(&mut b);
    let (callee_vmctx, caller_vmctx) = (params[0], params[1]);

    let values = b.ins().stack_addr(ptr, slot, 0);
    for (i, &p) in params[2..2 + ty.params.len()].iter().enumerate() {
        b.ins().store(value_flags(), p, values, (i as u32 * VAL_RAW_SIZE) as i32);
    }
    let entry_point = b.ins().load(
        ptr,
        MemFlagsData::trusted().with_readonly(),
        callee_vmctx,
        offsets.host_func_context_array_call() as i32,
    );
    let len = b.ins().iconst(ptr, ty.params.len().max(ty.results.len()) as i64);
    let call = b.ins().call_indirect(array_sig, entry_point, &[callee_vmctx, caller_vmctx, values, len]);
    let ok = b.inst_results(call)[0];
    let failed = b.create_block();
    let done = b.create_block();
    b.ins().brif(ok, done, &[], failed, &[]);
    b.seal_block(failed);
    b.seal_block(done);
    // The host reported failure; the runtime holds its error. An exception
    // is thrown from here; anything else leaves wasm through the one trap
    // path.
    b.switch_to_block(failed);
    let fp = frame_for_walk(isa, &mut b);
    call_builtin(isa, &mut b, offsets, caller_vmctx, BuiltinIndex::host_throw, &[fp]);
    b.ins().trap(to_ir(TrapCode::HostError));
    b.switch_to_block(done);
    if ty.uses_return_area() {
        let ret_area = params[2 + ty.params.len()];
        for (i, &r) in ty.results.iter().enumerate() {
            let off = (i as u32 * VAL_RAW_SIZE) as i32;
            let v = b.ins().load(ir_type(r, ptr), value_flags(), values, off);
            b.ins().store(value_flags(), v, ret_area, off);
        }
        b.ins().return_(&[]);
    } else {
        let results: Vec<_> =
            ty.results.iter().map(|&r| b.ins().load(ir_type(r, ptr), value_flags(), values, 0)).collect();
        b.ins().return_(&results);
    }
    b.finalize(isa.frontend_config());
    f
}

/// Start the function in its entry block; its parameters.
fn entry_block(b: &mut FunctionBuilder<'_>) -> Vec<ir::Value> {
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);
    b.block_params(entry).to_vec()
}

/// Call builtin `b` of the runtime through the VMBuiltins table of
/// `vmctx` (an instance's).
fn call_builtin(
    isa: &dyn TargetIsa,
    b: &mut FunctionBuilder<'_>,
    offsets: &VMOffsets<u8>,
    vmctx: ir::Value,
    builtin: BuiltinIndex,
    args: &[ir::Value],
) {
    let ptr = isa.pointer_type();
    let sig = b.import_signature(builtin_signature(isa, builtin));
    let flags = MemFlagsData::trusted().with_readonly();
    let table = b.ins().load(ptr, flags, vmctx, offsets.builtins() as i32);
    let callee = b.ins().load(ptr, flags, table, builtin.offset(offsets.ptr_size()) as i32);
    let mut all = vec![vmctx];
    all.extend_from_slice(args);
    b.ins().call_indirect(sig, callee, &all);
}

/// What the runtime's frame walk starts from for this function's frame:
/// its frame pointer, or on s390x its stack pointer (where the backchain
/// is; Cranelift's frame pointer there is the caller's stack pointer).
fn frame_for_walk(isa: &dyn TargetIsa, b: &mut FunctionBuilder<'_>) -> ir::Value {
    let ptr = isa.pointer_type();
    if matches!(isa.triple().architecture, target_lexicon::Architecture::S390x) {
        b.ins().get_stack_pointer(ptr)
    } else {
        b.ins().get_frame_pointer(ptr)
    }
}

/// The module's throw stub: `(vmctx, vmctx, exn)`. It hands the exception
/// and its own frame pointer to the `throw` builtin, which finds the
/// handler from the stub's caller outwards and never returns.
pub(crate) fn throw_stub(
    isa: &dyn TargetIsa,
    ctx: &mut FunctionBuilderContext,
    offsets: &VMOffsets<u8>,
) -> ir::Function {
    let mut f = ir::Function::with_name_signature(UserFuncName::user(NS_THROW_STUB, 0), throw_stub_signature(isa));
    let mut b = FunctionBuilder::new(&mut f, ctx);
    let params = entry_block(&mut b);
    let (vmctx, exn) = (params[0], params[2]);
    let fp = frame_for_walk(isa, &mut b);
    call_builtin(isa, &mut b, offsets, vmctx, BuiltinIndex::throw, &[exn, fp]);
    b.ins().trap(to_ir(TrapCode::UnreachableCodeReached));
    b.finalize(isa.frontend_config());
    f
}
