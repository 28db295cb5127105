//! kiln's side of a case: artifact bytes → `Module::from_bytes` →
//! instantiate → call, exactly as an application loading an artifact at
//! run time does, and everything observable read back.

use crate::host::{HostLog, Ty, FUNCTIONS, MODULE};
use crate::outcome::{Failure, Run, Value};
use crate::plan::Plan;
use kiln::{FuncType, Linker, Module, Store, Val, ValType};

/// Run the plan on artifact bytes.
///
/// # Safety
///
/// The bytes must be an artifact as `kiln_build::compile` wrote it (see
/// `Module::from_bytes`): its checksum refuses damage, not a crafted file.
pub unsafe fn run(artifact: &[u8], plan: &Plan) -> Result<Run, String> {
    // SAFETY: the caller vouches for the bytes (this function's contract).
    let module = unsafe { Module::from_bytes(artifact) }.map_err(|e| format!("load: {e}"))?;
    let mut store = Store::new(HostLog::default());
    let mut run = Run::default();
    let instance = match linker().and_then(|l| l.instantiate(&mut store, &module)) {
        Ok(i) => i,
        Err(e) => {
            run.instantiation = Some(failure(e));
            run.host = *store.data();
            return Ok(run);
        }
    };
    for call in &plan.calls {
        let func = instance.get_func(&mut store, &call.export).ok_or("exported function missing")?;
        let ty = func.ty(&mut store);
        let args: Vec<Val> = call.args.iter().map(|v| to_val(*v)).collect();
        let mut results: Vec<Val> = ty.results.iter().map(|t| Val::default_for(*t)).collect();
        run.calls.push(match func.call(&mut store, &args, &mut results) {
            Ok(()) => Ok(results.iter().map(from_val).collect()),
            Err(e) => Err(failure(e)),
        });
    }
    run.host = *store.data();
    for name in &plan.memories {
        let memory = instance.get_memory(&mut store, name).ok_or("exported memory missing")?;
        run.memories.push(memory.data(&store).to_vec());
    }
    for name in &plan.globals {
        let global = instance.get_global(&mut store, name).ok_or("exported global missing")?;
        run.globals.push(from_val(&global.get(&mut store)));
    }
    for name in &plan.tables {
        let table = instance.get_table(&mut store, name).ok_or("exported table missing")?;
        let elements = (0..table.size(&mut store))
            .map(|i| {
                table
                    .get(&mut store, i)
                    .is_none_or(|v| matches!(v, Val::FuncRef(None) | Val::ExternRef(None) | Val::ExnRef(None)))
            })
            .collect();
        run.tables.push(elements);
    }
    Ok(run)
}

/// Every function of [`FUNCTIONS`], logging its calls in the store.
fn linker() -> kiln::Result<Linker<HostLog>> {
    let mut linker = Linker::<HostLog>::new();
    for (index, (name, params, results)) in FUNCTIONS.iter().enumerate() {
        let types = |tys: &[Ty]| tys.iter().map(|t| val_type(*t)).collect();
        let ty = FuncType { params: types(params), results: types(results) };
        linker.func_new(MODULE, name, ty, move |mut caller, args, results| {
            let args: Vec<Value> = args.iter().map(from_val).collect();
            let values = caller.data_mut().call(index, &args).map_err(kiln::Error::host)?;
            for (slot, v) in results.iter_mut().zip(values) {
                *slot = to_val(v);
            }
            Ok(())
        })?;
    }
    Ok(linker)
}

fn val_type(ty: Ty) -> ValType {
    match ty {
        Ty::I32 => ValType::I32,
        Ty::I64 => ValType::I64,
        Ty::F32 => ValType::F32,
        Ty::F64 => ValType::F64,
    }
}

fn failure(e: kiln::Error) -> Failure {
    match e.trap() {
        // kiln reports a host function's error as a trap of its own kind;
        // the interpreters, as an error: the same thing.
        Some(t) if t.code() == kiln_artifact::traps::TrapCode::HostError => Failure::Error(e.to_string()),
        Some(t) => Failure::trap(t.code()),
        None => Failure::Error(e.to_string()),
    }
}

fn to_val(v: Value) -> Val {
    match v {
        Value::I32(x) => Val::I32(x),
        Value::I64(x) => Val::I64(x),
        Value::F32(x) => Val::F32(x),
        Value::F64(x) => Val::F64(x),
        Value::V128(x) => Val::V128(x),
        Value::FuncRef { .. } => Val::FuncRef(None),
        Value::ExternRef { .. } => Val::ExternRef(None),
        Value::ExnRef { .. } => Val::ExnRef(None),
    }
}

fn from_val(v: &Val) -> Value {
    match *v {
        Val::I32(x) => Value::I32(x),
        Val::I64(x) => Value::I64(x),
        Val::F32(x) => Value::F32(x),
        Val::F64(x) => Value::F64(x),
        Val::V128(x) => Value::V128(x),
        Val::FuncRef(f) => Value::FuncRef { null: f.is_none() },
        Val::ExternRef(r) => Value::ExternRef { null: r.is_none() },
        Val::ExnRef(r) => Value::ExnRef { null: r.is_none() },
    }
}
