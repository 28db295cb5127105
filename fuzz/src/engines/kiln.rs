//! kiln: compile → artifact bytes → `Module::from_bytes` → instantiate →
//! call, exactly as an application loading an artifact at run time does.

use crate::generate::Plan;
use crate::outcome::{Failure, Run, Value};
use kiln::{Instance, Module, Store, Val};

/// The compiler configuration of a differential case: every feature the
/// generator may use, deterministic relaxed SIMD (the oracles implement
/// the proposal's deterministic results), and either the baseline CPU or
/// all features of this one, so both lowerings of each instruction are
/// exercised.
pub fn config(native_cpu: bool) -> kiln_build::Config {
    let mut config = if native_cpu { kiln_build::Config::native() } else { kiln_build::Config::host() };
    config.wasm_wide_arithmetic(true).wasm_custom_page_sizes(true).relaxed_simd_deterministic(true);
    config
}

/// Compile `wasm` to artifact bytes.
pub fn compile(wasm: &[u8], native_cpu: bool) -> Result<Vec<u8>, String> {
    kiln_build::compile(wasm, &config(native_cpu)).map_err(|e| e.to_string())
}

/// Run the plan on artifact bytes that `compile` wrote.
pub fn run(artifact: &[u8], plan: &Plan) -> Result<Run, String> {
    // SAFETY: the bytes come straight from kiln_build::compile in this
    // process; nothing has touched them.
    let module = unsafe { Module::from_bytes(artifact) }.map_err(|e| format!("load: {e}"))?;
    let mut store = Store::new(());
    let mut run = Run::default();
    let instance = match Instance::new(&mut store, &module, &[]) {
        Ok(i) => i,
        Err(e) => {
            run.instantiation = Some(failure(e));
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

fn failure(e: kiln::Error) -> Failure {
    match e.trap() {
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
