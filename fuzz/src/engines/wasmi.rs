//! The two oracles: wasmi 2.x and wasmi 1.x, independent implementations
//! (their executors were rewritten between the majors). Their APIs are
//! nearly the same, so one body serves both; the few differences are the
//! macro's arguments.

use crate::generate::Plan;
use crate::outcome::{Failure, Run, Value};
use kiln_artifact::traps::TrapCode;
use kiln_fuzz_replay::host::{self, HostLog, Ty};

macro_rules! wasmi_engine {
    ($name:ident, $crate_:ident, is_null_element = $is_null:expr) => {
        /// Run `wasm` under this oracle, following `plan`.
        #[allow(deprecated)] // Val::default: wasmi 2 renamed it, wasmi 1 has only the old name
        pub fn $name(wasm: &[u8], plan: &Plan) -> Result<Run, String> {
            use $crate_::{Engine, Instance, Linker, Module, Store, Val};
            let mut config = $crate_::Config::default();
            config
                .wasm_multi_memory(true)
                .wasm_memory64(true)
                .wasm_tail_call(true)
                .wasm_extended_const(true)
                .wasm_wide_arithmetic(true)
                .wasm_custom_page_sizes(true)
                .wasm_simd(true)
                .wasm_relaxed_simd(true)
                // Deeper than the generator's fuel allows: only kiln's
                // stack limit is then in play.
                .set_max_recursion_depth(100_000);
            let engine = Engine::new(&config);
            let module =
                Module::new(&engine, wasm).map_err(|e| format!("{} refused the module: {e}", stringify!($name)))?;
            let mut store = Store::new(&engine, HostLog::default());
            let mut run = Run::default();
            let mut linker = Linker::<HostLog>::new(&engine);
            for (index, (name, params, results)) in host::FUNCTIONS.iter().enumerate() {
                let ty =
                    $crate_::FuncType::new(params.iter().map(|t| val_type(*t)), results.iter().map(|t| val_type(*t)));
                linker
                    .func_new(host::MODULE, name, ty, move |mut caller, args, results| {
                        let args: Vec<Value> = args.iter().map(value).collect();
                        let values =
                            caller.data_mut().call(index, &args).map_err(|e| $crate_::Error::new(e.to_string()))?;
                        for (slot, v) in results.iter_mut().zip(values) {
                            *slot = val(v);
                        }
                        Ok(())
                    })
                    .map_err(|e| e.to_string())?;
            }
            let instance: Instance = match linker.instantiate_and_start(&mut store, &module) {
                Ok(i) => i,
                Err(e) => {
                    run.instantiation = Some(failure(e.as_trap_code(), e.to_string()));
                    run.host = *store.data();
                    return Ok(run);
                }
            };
            for call in &plan.calls {
                let func = instance.get_func(&store, &call.export).ok_or("exported function missing")?;
                let ty = func.ty(&store);
                let args: Vec<Val> = call.args.iter().map(|v| val(*v)).collect();
                let mut results: Vec<Val> = ty.results().iter().map(|t| Val::default(*t)).collect();
                run.calls.push(match func.call(&mut store, &args, &mut results) {
                    Ok(()) => Ok(results.iter().map(|v| value(v)).collect()),
                    Err(e) => Err(failure(e.as_trap_code(), e.to_string())),
                });
            }
            for name in &plan.memories {
                let memory = instance.get_memory(&store, name).ok_or("exported memory missing")?;
                run.memories.push(memory.data(&store).to_vec());
            }
            for name in &plan.globals {
                let global = instance.get_global(&store, name).ok_or("exported global missing")?;
                run.globals.push(value(&global.get(&store)));
            }
            for name in &plan.tables {
                let table = instance.get_table(&store, name).ok_or("exported table missing")?;
                let is_null = $is_null;
                run.tables.push((0..table.size(&store)).map(|i| table.get(&store, i).is_none_or(is_null)).collect());
            }
            run.host = *store.data();
            return Ok(run);

            fn val(v: Value) -> Val {
                match v {
                    Value::I32(x) => Val::I32(x),
                    Value::I64(x) => Val::I64(x),
                    Value::F32(x) => Val::F32($crate_::F32::from_bits(x)),
                    Value::F64(x) => Val::F64($crate_::F64::from_bits(x)),
                    Value::V128(x) => Val::V128(x.into()),
                    Value::FuncRef { .. } => Val::default($crate_::ValType::FuncRef),
                    Value::ExternRef { .. } => Val::default($crate_::ValType::ExternRef),
                    // Never drawn: differential modules have no exceptions.
                    Value::ExnRef { .. } => Val::default($crate_::ValType::ExternRef),
                }
            }

            fn val_type(ty: Ty) -> $crate_::ValType {
                match ty {
                    Ty::I32 => $crate_::ValType::I32,
                    Ty::I64 => $crate_::ValType::I64,
                    Ty::F32 => $crate_::ValType::F32,
                    Ty::F64 => $crate_::ValType::F64,
                }
            }

            /// The oracle's trap, by kiln's name for it.
            fn failure(code: Option<$crate_::TrapCode>, message: String) -> Failure {
                use $crate_::TrapCode as C;
                let kind = match code {
                    Some(C::UnreachableCodeReached) => TrapCode::UnreachableCodeReached,
                    Some(C::MemoryOutOfBounds) => TrapCode::MemoryOutOfBounds,
                    Some(C::TableOutOfBounds) => TrapCode::TableOutOfBounds,
                    Some(C::IndirectCallToNull) => TrapCode::IndirectCallToNull,
                    Some(C::IntegerDivisionByZero) => TrapCode::IntegerDivisionByZero,
                    Some(C::IntegerOverflow) => TrapCode::IntegerOverflow,
                    Some(C::BadConversionToInteger) => TrapCode::BadConversionToInteger,
                    Some(C::StackOverflow) => TrapCode::StackOverflow,
                    Some(C::BadSignature) => TrapCode::BadSignature,
                    _ => return Failure::Error(message),
                };
                Failure::trap(kind)
            }

            fn value(v: &Val) -> Value {
                match v {
                    Val::I32(x) => Value::I32(*x),
                    Val::I64(x) => Value::I64(*x),
                    Val::F32(x) => Value::F32(x.to_bits()),
                    Val::F64(x) => Value::F64(x.to_bits()),
                    Val::V128(x) => Value::V128(x.as_u128()),
                    Val::FuncRef(r) => Value::FuncRef { null: r.is_null() },
                    Val::ExternRef(r) => Value::ExternRef { null: r.is_null() },
                }
            }
        }
    };
}

wasmi_engine!(wasmi2, wasmi, is_null_element = |r: wasmi::Ref| r.is_null());
wasmi_engine!(
    wasmi1,
    wasmi1,
    is_null_element = |v: wasmi1::Val| match v {
        wasmi1::Val::FuncRef(r) => r.is_null(),
        wasmi1::Val::ExternRef(r) => r.is_null(),
        _ => false,
    }
);
