//! Trampolines between the host's array convention and the wasm convention
//! (both described in `kiln_artifact::vmctx`).
//!
//! * array → wasm, one per function the host can reach: reads the
//!   arguments from the `ValRaw` array, calls the function directly, writes
//!   the results back. A function with several results writes them straight
//!   into the array: it is laid out exactly like a return area.
//! * wasm → array, one per signature of an imported function: spills the
//!   arguments to a stack array, calls the host entry point found in the
//!   callee's `VMHostFuncContext`, traps with `HostError` if the host
//!   reports failure, and reloads the results.

use crate::abi::{array_call_signature, ir_type, wasm_signature};
use crate::translate::traps::to_ir;
use cranelift_codegen::ir::{
    self, types, ExtFuncData, ExternalName, InstBuilder, MemFlagsData, StackSlotData, StackSlotKind, UserExternalName,
    UserFuncName,
};
use cranelift_codegen::isa::TargetIsa;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
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
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);
    let params = b.block_params(entry).to_vec();
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
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);
    let params = b.block_params(entry).to_vec();
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
    // The host reported failure; the runtime holds its error. Leave wasm
    // through the one trap path.
    b.ins().trapz(ok, to_ir(TrapCode::HostError));
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
