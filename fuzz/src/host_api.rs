//! The host-API target: random sequences of Store, Linker, Instance,
//! Memory, Table, Global and Func operations, checked against a model of
//! what each must do. Handles are used with the wrong store, memories and
//! tables grown at their limits, host functions re-enter wasm, traps
//! happen inside nested calls.
//!
//! Every operation must give the model's answer, or the error the model
//! expects. A handle used with another store must be refused: an `Err`,
//! or for the accessors documented to panic on it (as Wasmtime's do), a
//! panic that says so. Any other panic is a finding.

use crate::rng::Rng;
use crate::runner::{CaseReport, Finding};
use kiln::{Caller, Error, ExternRef, Func, FuncType, Instance, Linker, Module, Store, TrapCode, Val, ValType};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

const PAGE: usize = 65536;
const MAX_PAGES: u64 = 4;
const MAX_TABLE: u64 = 10;

const GUEST: &str = r#"(module
  (import "host" "cb" (func $cb (param i32) (result i32)))
  (type $bin (func (param i32 i32) (result i32)))
  (memory (export "memory") 1 4)
  (table (export "table") 2 10 funcref)
  (global (export "g_i32") (mut i32) (i32.const 0))
  (global (export "g_f64") (mut f64) (f64.const 0))
  (global (export "g_ext") (mut externref) (ref.null extern))
  (global (export "c_i64") i64 (i64.const 42))
  (func $add (export "add") (type $bin) (i32.add (local.get 0) (local.get 1)))
  (func (export "trap") unreachable)
  (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "store") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "call_host") (param i32) (result i32) (call $cb (local.get 0)))
  (func (export "indirect") (param i32 i32 i32) (result i32)
    (call_indirect (type $bin) (local.get 1) (local.get 2) (local.get 0)))
  (func $deep (export "deep") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $deep (i32.sub (local.get 0) (i32.const 1)))))))
  (elem (i32.const 0) $add))"#;

fn module() -> &'static Module {
    static MODULE: OnceLock<Module> = OnceLock::new();
    MODULE.get_or_init(|| {
        let wasm = wat::parse_str(GUEST).expect("the guest is valid text");
        let bytes = kiln_build::compile(&wasm, &kiln_build::Config::host()).expect("the guest compiles");
        // SAFETY: the bytes come straight from kiln_build::compile.
        unsafe { Module::from_bytes(&bytes) }.expect("the guest loads")
    })
}

/// What the host callback does for argument `n`, and so what `call_host(n)`
/// must return: `n % 4` = 0 returns `n`; 1 fails in the host; 2 re-enters
/// wasm to compute `add(n, 1)`; 3 re-enters `call_host(n - 4)`, or for
/// `n < 4` calls `trap`.
fn expected_call_host(n: i32) -> Result<i32, &'static str> {
    match n.rem_euclid(4) {
        0 => Ok(n),
        1 => Err("host"),
        2 => Ok(n.wrapping_add(1)),
        _ if n >= 4 => expected_call_host(n - 4),
        _ => Err("unreachable"),
    }
}

fn callback(mut caller: Caller<'_, ()>, n: i32) -> kiln::Result<i32> {
    let export = |c: &mut Caller<'_, ()>, name: &str| {
        c.get_export(name).and_then(|e| e.into_func()).ok_or_else(|| Error::msg(format!("no export {name}")))
    };
    match n.rem_euclid(4) {
        0 => Ok(n),
        1 => Err(Error::msg("the host callback refused")),
        2 => {
            let add = export(&mut caller, "add")?;
            let mut r = [Val::I32(0)];
            add.call(&mut caller, &[Val::I32(n), Val::I32(1)], &mut r)?;
            Ok(r[0].i32().unwrap_or_default())
        }
        _ => {
            let (name, args) = if n >= 4 { ("call_host", vec![Val::I32(n - 4)]) } else { ("trap", vec![]) };
            let f = export(&mut caller, name)?;
            let mut r = vec![Val::I32(0); usize::from(n >= 4)];
            f.call(&mut caller, &args, &mut r)?;
            Ok(r.first().and_then(Val::i32).unwrap_or_default())
        }
    }
}

/// One store, its instance, and the model of its state.
struct World {
    store: Store<()>,
    instance: Instance,
    memory: Vec<u8>,
    table: Vec<Option<&'static str>>,
    g_i32: i32,
}

fn world() -> kiln::Result<World> {
    let mut store = Store::new(());
    let mut linker = Linker::new();
    linker.func_wrap("host", "cb", callback)?;
    let instance = linker.instantiate(&mut store, module())?;
    Ok(World { store, instance, memory: vec![0; PAGE], table: vec![Some("add"), None], g_i32: 0 })
}

fn trap_code(e: &Error) -> Option<TrapCode> {
    e.trap().map(|t| t.code())
}

/// Run host-API case `seed`.
pub fn case(seed: u64) -> CaseReport {
    let mut rng = Rng::new("host-api", seed);
    let mut report = CaseReport::default();
    let mut log: Vec<String> = Vec::new();
    let mut worlds: Vec<World> = Vec::new();
    for _ in 0..1 + rng.below(3) {
        match world() {
            Ok(w) => worlds.push(w),
            Err(e) => {
                report.finding = Some(Finding { what: format!("the guest does not instantiate: {e}"), files: vec![] });
                return report;
            }
        }
    }
    let steps = 20 + rng.below(60);
    for _ in 0..steps {
        let w = rng.below(worlds.len() as u64) as usize;
        let op = rng.below(16);
        let outcome = catch_unwind(AssertUnwindSafe(|| step(op, &mut worlds, w, &mut rng, &mut log)));
        let problem = match outcome {
            Ok(Ok(())) => None,
            Ok(Err(problem)) => Some(problem),
            Err(panic) => {
                let msg = crate::runner::panic_message(&*panic);
                let wrong_store = log.last().is_some_and(|l| l.starts_with("wrong store"));
                if wrong_store && msg.contains("store") {
                    report.count("wrong-store panics", 1);
                    None
                } else {
                    Some(format!("panicked: {msg}"))
                }
            }
        };
        if let Some(problem) = problem {
            let what = format!("{problem}\noperations:\n{}", log.join("\n"));
            report.finding = Some(Finding { what, files: vec![] });
            return report;
        }
        report.count("operations", 1);
    }
    report
}

/// Check `cond`, or say what went wrong.
fn expect(cond: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(what())
    }
}

fn call(w: &mut World, name: &str, args: &[Val], results: usize) -> kiln::Result<Vec<Val>> {
    let f = w.instance.get_func(&mut w.store, name).ok_or_else(|| Error::msg(format!("no export {name}")))?;
    let mut r = vec![Val::I32(0); results];
    f.call(&mut w.store, args, &mut r)?;
    Ok(r)
}

fn step(op: u64, worlds: &mut [World], wi: usize, rng: &mut Rng, log: &mut Vec<String>) -> Result<(), String> {
    let n_worlds = worlds.len();
    let w = &mut worlds[wi];
    let pages = (w.memory.len() / PAGE) as u64;
    match op {
        0 => {
            let (a, b) = (rng.next_u64() as i32, rng.next_u64() as i32);
            log.push(format!("add({a}, {b})"));
            let r = call(w, "add", &[Val::I32(a), Val::I32(b)], 1).map_err(|e| e.to_string())?;
            expect(r[0] == Val::I32(a.wrapping_add(b)), || format!("add gave {:?}", r[0]))
        }
        1 => {
            // Wrong arity, wrong types, too little room for results.
            let (args, room) = match rng.below(3) {
                0 => (vec![Val::I32(1)], 1),
                1 => (vec![Val::I64(1), Val::I32(2)], 1),
                _ => (vec![Val::I32(1), Val::I32(2)], 0),
            };
            log.push(format!("add{args:?} with room for {room}"));
            expect(call(w, "add", &args, room).is_err(), || "a mistyped call succeeded".into())
        }
        2 => {
            log.push("trap()".into());
            let e = call(w, "trap", &[], 0).err();
            expect(e.as_ref().and_then(trap_code) == Some(TrapCode::UnreachableCodeReached), || {
                format!("trap gave {e:?}")
            })
        }
        3 | 4 => {
            let addr = if rng.chance(3, 4) { rng.below(w.memory.len() as u64) as u32 } else { rng.next_u64() as u32 };
            let in_range = (addr as usize) < w.memory.len();
            if op == 3 {
                log.push(format!("load({addr})"));
                match call(w, "load", &[Val::I32(addr as i32)], 1) {
                    Ok(r) => expect(in_range && r[0] == Val::I32(i32::from(w.memory[addr as usize])), || {
                        format!("load gave {:?}", r[0])
                    }),
                    Err(e) => {
                        expect(!in_range && trap_code(&e) == Some(TrapCode::MemoryOutOfBounds), || format!("load: {e}"))
                    }
                }
            } else {
                let v = rng.next_u64() as u8;
                log.push(format!("store({addr}, {v})"));
                match call(w, "store", &[Val::I32(addr as i32), Val::I32(i32::from(v))], 0) {
                    Ok(_) if in_range => {
                        w.memory[addr as usize] = v;
                        Ok(())
                    }
                    Ok(_) => Err("an out-of-range store succeeded".into()),
                    Err(e) => expect(!in_range && trap_code(&e) == Some(TrapCode::MemoryOutOfBounds), || {
                        format!("store: {e}")
                    }),
                }
            }
        }
        5 | 6 => {
            let delta = *rng.pick(&[0u64, 1, 2, 3, 5, 65536, u32::MAX as u64]);
            let fits = pages + delta <= MAX_PAGES;
            let old = if op == 5 {
                log.push(format!("wasm grow({delta})"));
                let r = call(w, "grow", &[Val::I32(delta as i32)], 1).map_err(|e| e.to_string())?;
                let old = r[0].i32().unwrap_or(-2);
                expect(if fits { old == pages as i32 } else { old == -1 }, || format!("memory.grow gave {old}"))?;
                fits
            } else {
                log.push(format!("host grow({delta})"));
                let memory = w.instance.get_memory(&mut w.store, "memory").ok_or("no memory")?;
                let r = memory.grow(&mut w.store, delta);
                expect(if fits { r.as_ref().ok() == Some(&pages) } else { r.is_err() }, || {
                    format!("Memory::grow gave {r:?}")
                })?;
                fits
            };
            if old {
                w.memory.resize(((pages + delta) as usize) * PAGE, 0);
            }
            let memory = w.instance.get_memory(&mut w.store, "memory").ok_or("no memory")?;
            expect(memory.data(&w.store) == w.memory.as_slice(), || "memory differs from the model after growth".into())
        }
        7 => {
            let offset =
                if rng.chance(3, 4) { rng.below(w.memory.len() as u64) as usize } else { rng.next_u64() as usize };
            let len = rng.below(300) as usize;
            let bytes = rng.bytes(len);
            log.push(format!("host write({offset}, {len} bytes) and read back"));
            let memory = w.instance.get_memory(&mut w.store, "memory").ok_or("no memory")?;
            let fits = offset.checked_add(len).is_some_and(|end| end <= w.memory.len());
            let r = memory.write(&mut w.store, offset, &bytes);
            expect(r.is_ok() == fits, || format!("Memory::write gave {r:?}"))?;
            if fits {
                w.memory[offset..offset + len].copy_from_slice(&bytes);
            }
            let mut back = vec![0; len];
            let r = memory.read(&mut w.store, offset, &mut back);
            expect(r.is_ok() == fits && (!fits || back == bytes), || format!("Memory::read gave {r:?}"))
        }
        8 => {
            let g = w.instance.get_global(&mut w.store, "g_i32").ok_or("no g_i32")?;
            let c = w.instance.get_global(&mut w.store, "c_i64").ok_or("no c_i64")?;
            let v = rng.next_u64() as i32;
            log.push(format!("globals: set g_i32 {v}, mistyped and immutable sets"));
            expect(g.set(&mut w.store, Val::I32(v)).is_ok(), || "setting g_i32 failed".into())?;
            w.g_i32 = v;
            expect(g.set(&mut w.store, Val::I64(1)).is_err(), || "g_i32 took an i64".into())?;
            expect(c.set(&mut w.store, Val::I64(1)).is_err(), || "an immutable global was set".into())?;
            expect(c.get(&mut w.store) == Val::I64(42), || "c_i64 changed".into())?;
            expect(g.get(&mut w.store) == Val::I32(w.g_i32), || "g_i32 differs from the model".into())
        }
        9 => {
            log.push("externref global".into());
            let g = w.instance.get_global(&mut w.store, "g_ext").ok_or("no g_ext")?;
            let r = ExternRef::new(&mut w.store, rng.next_u64());
            g.set(&mut w.store, Val::ExternRef(Some(r))).map_err(|e| e.to_string())?;
            let back = g.get(&mut w.store);
            expect(back == Val::ExternRef(Some(r)), || format!("g_ext gave {back:?}"))
        }
        10 => {
            let table = w.instance.get_table(&mut w.store, "table").ok_or("no table")?;
            let delta = *rng.pick(&[0u64, 1, 3, 8, 1 << 20, u32::MAX as u64]);
            log.push(format!("table grow({delta})"));
            let fits = w.table.len() as u64 + delta <= MAX_TABLE;
            let r = table.grow(&mut w.store, delta, Val::FuncRef(None));
            expect(if fits { r.as_ref().ok() == Some(&(w.table.len() as u64)) } else { r.is_err() }, || {
                format!("Table::grow gave {r:?}")
            })?;
            if fits {
                w.table.resize(w.table.len() + delta as usize, None);
            }
            expect(table.size(&mut w.store) == w.table.len() as u64, || "table size differs from the model".into())
        }
        11 => {
            let table = w.instance.get_table(&mut w.store, "table").ok_or("no table")?;
            let i = rng.below(w.table.len() as u64 + 2);
            let name = *rng.pick(&["add", "trap", "null"]);
            log.push(format!("table set({i}, {name})"));
            let v = match name {
                "null" => Val::FuncRef(None),
                _ => Val::FuncRef(w.instance.get_func(&mut w.store, name)),
            };
            let r = table.set(&mut w.store, i, v);
            let in_range = (i as usize) < w.table.len();
            expect(r.is_ok() == in_range, || format!("Table::set gave {r:?}"))?;
            if in_range {
                w.table[i as usize] = (name != "null").then_some(name);
            }
            Ok(())
        }
        12 => {
            let i = rng.below(w.table.len() as u64 + 2) as i32;
            let (a, b) = (rng.next_u64() as i32, rng.next_u64() as i32);
            log.push(format!("indirect({i}, {a}, {b})"));
            let r = call(w, "indirect", &[Val::I32(i), Val::I32(a), Val::I32(b)], 1);
            let expected = match w.table.get(i as usize) {
                None => Err(TrapCode::TableOutOfBounds),
                Some(None) => Err(TrapCode::IndirectCallToNull),
                Some(Some("add")) => Ok(a.wrapping_add(b)),
                Some(Some(_)) => Err(TrapCode::BadSignature),
            };
            let got = r
                .as_ref()
                .map(|v| v[0].i32().unwrap_or_default())
                .map_err(|e| trap_code(e).unwrap_or(TrapCode::HostError));
            expect(got == expected, || format!("indirect gave {got:?}, the model {expected:?}"))
        }
        13 => {
            let n = rng.below(40) as i32;
            log.push(format!("call_host({n})"));
            let r = call(w, "call_host", &[Val::I32(n)], 1);
            match (expected_call_host(n), r) {
                (Ok(x), Ok(v)) => expect(v[0] == Val::I32(x), || format!("call_host gave {:?}", v[0])),
                (Err("host"), Err(e)) => {
                    expect(trap_code(&e) == Some(TrapCode::HostError) || e.to_string().contains("refused"), || {
                        format!("call_host: {e}")
                    })
                }
                (Err(_), Err(e)) => {
                    expect(trap_code(&e) == Some(TrapCode::UnreachableCodeReached), || format!("call_host: {e}"))
                }
                (x, r) => Err(format!("call_host gave {r:?}, the model {x:?}")),
            }
        }
        14 => {
            let n = *rng.pick(&[0i32, 10, 1000, 100_000, 10_000_000]);
            log.push(format!("deep({n})"));
            match call(w, "deep", &[Val::I32(n)], 1) {
                Ok(v) => expect(v[0] == Val::I32(n), || format!("deep gave {:?}", v[0])),
                Err(e) => {
                    expect(n >= 100_000 && trap_code(&e) == Some(TrapCode::StackOverflow), || format!("deep: {e}"))
                }
            }
        }
        _ if n_worlds > 1 => {
            // A handle of this store, used with another.
            let other = (wi + 1 + rng.below(n_worlds as u64 - 1) as usize) % n_worlds;
            let kind = rng.below(6);
            log.push(format!("wrong store: handle kind {kind} of store {wi} used with store {other}"));
            let w = &mut worlds[wi];
            let func = w.instance.get_func(&mut w.store, "add").ok_or("no add")?;
            let memory = w.instance.get_memory(&mut w.store, "memory").ok_or("no memory")?;
            let global = w.instance.get_global(&mut w.store, "g_i32").ok_or("no global")?;
            let table = w.instance.get_table(&mut w.store, "table").ok_or("no table")?;
            let foreign_ref = ExternRef::new(&mut w.store, 7u8);
            let o = &mut worlds[other];
            let refused = match kind {
                0 => func.call(&mut o.store, &[Val::I32(1), Val::I32(2)], &mut [Val::I32(0)]).is_err(),
                1 => memory.write(&mut o.store, 0, &[1]).is_err(),
                2 => global.set(&mut o.store, Val::I32(5)).is_err(),
                3 => table.set(&mut o.store, 0, Val::FuncRef(None)).is_err(),
                4 => {
                    // A function of one store stored into another's table.
                    let t = o.instance.get_table(&mut o.store, "table").ok_or("no table")?;
                    t.set(&mut o.store, 0, Val::FuncRef(Some(func))).is_err()
                }
                _ => {
                    let g = o.instance.get_global(&mut o.store, "g_ext").ok_or("no g_ext")?;
                    g.set(&mut o.store, Val::ExternRef(Some(foreign_ref))).is_err()
                }
            };
            expect(refused, || "a handle of another store was accepted".into())
        }
        _ => {
            log.push("host function: Func::wrap and call".into());
            let f = Func::wrap(&mut w.store, |a: i32| a.wrapping_mul(3));
            let ty: FuncType = f.ty(&mut w.store);
            expect(ty.params.as_ref() == [ValType::I32], || format!("Func::wrap type {ty:?}"))?;
            let mut r = [Val::I32(0)];
            f.call(&mut w.store, &[Val::I32(5)], &mut r).map_err(|e| e.to_string())?;
            expect(r[0] == Val::I32(15), || format!("host function gave {:?}", r[0]))
        }
    }
}
