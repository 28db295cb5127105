//! The host-API target: random sequences of Store, Linker, Instance,
//! Memory, Table, Global and Func operations, checked against a model of
//! what each must do. Handles are used with the wrong store, memories and
//! tables grown at their limits, host functions re-enter wasm, traps
//! happen inside nested calls, and a second module is linked to an
//! instance's exports or to host-made objects (whose state it must then
//! share), or to objects that do not match its imports.
//!
//! Every operation must give the model's answer, or the error the model
//! expects. A handle used with another store must be refused: an `Err`,
//! or for the accessors documented to panic on it (as Wasmtime's do), a
//! panic that says so. Any other panic is a finding.

use crate::rng::Rng;
use crate::runner::{CaseReport, Finding};
use kiln::{
    Caller, Error, ErrorKind, Extern, ExternRef, Func, FuncType, Global, GlobalType, Instance, Limits, Linker, Memory,
    MemoryType, Module, RefType, Store, Table, TableType, TrapCode, Val, ValType,
};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

const PAGE: usize = 65536;
const MAX_PAGES: u64 = 4;
const MAX_TABLE: u64 = 10;

/// The guest every store instantiates, compiled with the fuzzer.
static GUEST: kiln::Artifact = kiln::include_wasm!("src/host_api_guest.wat");
/// A guest importing a memory, a table, a global and a function, and
/// exporting them again.
static IMPORTER: kiln::Artifact = kiln::include_wasm!("src/host_api_importer.wat");

fn module() -> &'static Module {
    static MODULE: OnceLock<Module> = OnceLock::new();
    MODULE.get_or_init(|| Module::new(&GUEST).expect("the guest loads"))
}

fn importer() -> &'static Module {
    static MODULE: OnceLock<Module> = OnceLock::new();
    MODULE.get_or_init(|| Module::new(&IMPORTER).expect("the importer loads"))
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
    /// Importers linked to this instance's memory, table and global: each
    /// must always show the model's state too.
    importers: Vec<Instance>,
}

fn world() -> kiln::Result<World> {
    let mut store = Store::new(());
    let mut linker = Linker::new();
    linker.func_wrap("host", "cb", callback)?;
    let instance = linker.instantiate(&mut store, module())?;
    Ok(World { store, instance, memory: vec![0; PAGE], table: vec![Some("add"), None], g_i32: 0, importers: vec![] })
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
        let op = rng.below(18);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            step(op, &mut worlds, w, &mut rng, &mut log)?;
            check_importers(&mut worlds[w])
        }));
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

/// Call export `name` of `instance`, which runs compiled code: under Miri
/// the runtime must refuse that, and the answer is `None`.
fn call_compiled(
    store: &mut Store<()>,
    instance: Instance,
    name: &str,
    args: &[Val],
    results: usize,
) -> Result<Option<Vec<Val>>, String> {
    let f = instance.get_func(&mut *store, name).ok_or_else(|| format!("no export {name}"))?;
    let mut r = vec![Val::I32(0); results];
    match f.call(&mut *store, args, &mut r) {
        Ok(()) if !cfg!(miri) => Ok(Some(r)),
        Err(e) if cfg!(miri) && e.to_string().contains("under Miri") => Ok(None),
        other => Err(format!("{name} gave {other:?}")),
    }
}

/// Every importer of `w` sees the model's memory, global and table.
fn check_importers(w: &mut World) -> Result<(), String> {
    for &imp in &w.importers {
        let memory = imp.get_memory(&mut w.store, "memory").ok_or("importer: no memory")?;
        expect(memory.data(&w.store) == w.memory.as_slice(), || "an importer's memory differs from the model".into())?;
        let g = imp.get_global(&mut w.store, "g").ok_or("importer: no g")?;
        let v = g.get(&mut w.store);
        expect(v == Val::I32(w.g_i32), || format!("an importer's global is {v:?}, the model {}", w.g_i32))?;
        let table = imp.get_table(&mut w.store, "table").ok_or("importer: no table")?;
        expect(table.size(&mut w.store) == w.table.len() as u64, || "an importer's table size differs".into())?;
        for (i, entry) in w.table.iter().enumerate() {
            let null = matches!(table.get(&mut w.store, i as u64), Some(Val::FuncRef(None)));
            expect(null == entry.is_none(), || format!("an importer's table element {i} differs from the model"))?;
        }
    }
    Ok(())
}

/// Link an importer to host-made objects (`kind` 0), or to a set with one
/// that does not match its imports (1–6), which must be refused.
fn link_host_objects(w: &mut World, kind: u64, rng: &mut Rng, log: &mut Vec<String>) -> Result<(), String> {
    let s = &mut w.store;
    let err = |e: Error| e.to_string();
    let min = 1 + rng.below(2);
    let table_type =
        |min| TableType { element: RefType::FUNCREF, limits: Limits { min, max: Some(10) }, table64: false };
    let memory = Memory::new(&mut *s, MemoryType::new(min, Some(4))).map_err(err)?;
    let table = Table::new(&mut *s, table_type(2), Val::FuncRef(None)).map_err(err)?;
    let global = Global::new(&mut *s, GlobalType { content: ValType::I32, mutable: true }, Val::I32(7)).map_err(err)?;
    let sub = Func::wrap(&mut *s, |a: i32, b: i32| a.wrapping_sub(b));
    let mut items: [(&str, Extern); 4] =
        [("memory", memory.into()), ("table", table.into()), ("g", global.into()), ("add", sub.into())];
    let what = match kind {
        0 => "host-made memory, table, global and function",
        1 => {
            items[0].1 = Memory::new(&mut *s, MemoryType::new(1, None)).map_err(err)?.into();
            "a memory without a maximum"
        }
        2 => {
            items[0].1 = Memory::new(&mut *s, MemoryType::new(1, Some(5))).map_err(err)?.into();
            "a memory whose maximum is too large"
        }
        3 => {
            items[1].1 = Table::new(&mut *s, table_type(1), Val::FuncRef(None)).map_err(err)?.into();
            "a table too small"
        }
        4 => {
            let ty = GlobalType { content: ValType::I64, mutable: true };
            items[2].1 = Global::new(&mut *s, ty, Val::I64(1)).map_err(err)?.into();
            "a global of another type"
        }
        5 => {
            let ty = GlobalType { content: ValType::I32, mutable: false };
            items[2].1 = Global::new(&mut *s, ty, Val::I32(1)).map_err(err)?.into();
            "an immutable global"
        }
        _ => {
            items[3].1 = Func::wrap(&mut *s, |a: i64| a).into();
            "a function of another type"
        }
    };
    log.push(format!("link an importer to {what}"));
    let mut linker = Linker::new();
    for (name, item) in items {
        linker.define("env", name, item).map_err(err)?;
    }
    let r = linker.instantiate(&mut *s, importer());
    if kind != 0 {
        return expect(r.as_ref().is_err_and(|e| e.kind() == ErrorKind::Link), || {
            format!("linking {what} gave {:?}", r.as_ref().map(|_| ()))
        });
    }
    let imp = r.map_err(|e| format!("linking host-made objects: {e}"))?;
    // The importer's exports are the host's objects.
    let m = imp.get_memory(&mut *s, "memory").ok_or("importer: no memory")?;
    expect(m.size(&mut *s) == min, || "the importer's memory has another size".into())?;
    let offset = rng.below(min * PAGE as u64) as usize;
    let byte = rng.next_u64() as u8;
    memory.write(&mut *s, offset, &[byte]).map_err(err)?;
    let mut back = [0u8];
    m.read(&mut *s, offset, &mut back).map_err(err)?;
    expect(back[0] == byte, || "a byte written to the host's memory reads otherwise through the importer".into())?;
    if let Some(r) = call_compiled(s, imp, "load", &[Val::I32(offset as i32)], 1)? {
        expect(r[0] == Val::I32(i32::from(byte)), || format!("the importer's load gave {:?}", r[0]))?;
    }
    let delta = rng.below(4);
    let grown = memory.grow(&mut *s, delta);
    expect(grown.is_ok() == (min + delta <= 4) && m.size(&mut *s) == memory.size(&mut *s), || {
        format!("growing the host's memory by {delta}: {grown:?}, the importer sees {} pages", m.size(&mut *s))
    })?;
    let g = imp.get_global(&mut *s, "g").ok_or("importer: no g")?;
    let v = rng.next_u64() as i32;
    g.set(&mut *s, Val::I32(v)).map_err(err)?;
    expect(global.get(&mut *s) == Val::I32(v), || "a global set through the importer reads otherwise".into())?;
    let t = imp.get_table(&mut *s, "table").ok_or("importer: no table")?;
    table.set(&mut *s, 1, Val::FuncRef(Some(sub))).map_err(err)?;
    expect(matches!(t.get(&mut *s, 1), Some(Val::FuncRef(Some(_)))), || {
        "the importer's table misses an element".into()
    })?;
    // The importer's `add` is the host function: it runs even under Miri.
    let add = imp.get_func(&mut *s, "add").ok_or("importer: no add")?;
    let (a, b) = (rng.next_u64() as i32, rng.next_u64() as i32);
    let mut r = [Val::I32(0)];
    add.call(&mut *s, &[Val::I32(a), Val::I32(b)], &mut r).map_err(err)?;
    expect(r[0] == Val::I32(a.wrapping_sub(b)), || format!("the imported host function gave {:?}", r[0]))
}

fn call(w: &mut World, name: &str, args: &[Val], results: usize) -> kiln::Result<Vec<Val>> {
    let f = w.instance.get_func(&mut w.store, name).ok_or_else(|| Error::msg(format!("no export {name}")))?;
    let mut r = vec![Val::I32(0); results];
    f.call(&mut w.store, args, &mut r)?;
    Ok(r)
}

/// The operations that call into compiled code.
const CALLS_WASM: [u64; 8] = [0, 2, 3, 4, 5, 12, 13, 14];

fn step(op: u64, worlds: &mut [World], wi: usize, rng: &mut Rng, log: &mut Vec<String>) -> Result<(), String> {
    let n_worlds = worlds.len();
    let w = &mut worlds[wi];
    // Miri interprets Rust, not machine code: there the runtime refuses
    // calls into compiled code, and every other operation runs as usual,
    // so Miri checks the runtime's unsafe code under all of them.
    if cfg!(miri) && CALLS_WASM.contains(&op) {
        log.push(format!("operation {op} calls wasm: refused under Miri"));
        let r = call(w, "add", &[Val::I32(1), Val::I32(2)], 1);
        return expect(r.as_ref().is_err_and(|e| e.to_string().contains("under Miri")), || {
            format!("a call into compiled code under Miri gave {r:?}")
        });
    }
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
        16 => {
            log.push("link an importer to this instance's memory, table, global and add".into());
            let memory = w.instance.get_memory(&mut w.store, "memory").ok_or("no memory")?;
            let table = w.instance.get_table(&mut w.store, "table").ok_or("no table")?;
            let global = w.instance.get_global(&mut w.store, "g_i32").ok_or("no g_i32")?;
            let add = w.instance.get_func(&mut w.store, "add").ok_or("no add")?;
            let mut linker = Linker::new();
            let items: [(&str, Extern); 4] =
                [("memory", memory.into()), ("table", table.into()), ("g", global.into()), ("add", add.into())];
            for (name, item) in items {
                linker.define("env", name, item).map_err(|e| e.to_string())?;
            }
            let imp = linker.instantiate(&mut w.store, importer()).map_err(|e| format!("linking the importer: {e}"))?;
            w.importers.push(imp);
            let addr = rng.below(w.memory.len() as u64) as usize;
            if let Some(r) = call_compiled(&mut w.store, imp, "load", &[Val::I32(addr as i32)], 1)? {
                expect(r[0] == Val::I32(i32::from(w.memory[addr])), || format!("the importer's load gave {:?}", r[0]))?;
            }
            let (a, b) = (rng.next_u64() as i32, rng.next_u64() as i32);
            if let Some(r) = call_compiled(&mut w.store, imp, "add", &[Val::I32(a), Val::I32(b)], 1)? {
                expect(r[0] == Val::I32(a.wrapping_add(b)), || format!("the importer's add gave {:?}", r[0]))?;
            }
            // Writes through the importer's handles are the instance's;
            // the check after every step compares the rest.
            let v = rng.next_u64() as i32;
            let g = imp.get_global(&mut w.store, "g").ok_or("importer: no g")?;
            g.set(&mut w.store, Val::I32(v)).map_err(|e| e.to_string())?;
            w.g_i32 = v;
            let m = imp.get_memory(&mut w.store, "memory").ok_or("importer: no memory")?;
            let byte = rng.next_u64() as u8;
            m.write(&mut w.store, addr, &[byte]).map_err(|e| e.to_string())?;
            w.memory[addr] = byte;
            Ok(())
        }
        17 => link_host_objects(w, rng.below(7), rng, log),
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

#[cfg(test)]
mod tests {
    /// Host-API cases through the library. Under Miri (see the README,
    /// "Fuzzing") this checks the runtime's unsafe code for undefined
    /// behaviour in every operation but calls into compiled code.
    /// `KILN_HOST_API_SEEDS=FIRST..END` picks other seeds.
    #[test]
    fn host_api_cases_find_nothing() {
        let seeds = std::env::var("KILN_HOST_API_SEEDS").ok().and_then(|v| {
            let (a, b) = v.split_once("..")?;
            Some(a.parse::<u64>().ok()?..b.parse::<u64>().ok()?)
        });
        let seeds = seeds.unwrap_or(if cfg!(miri) { 0..6 } else { 0..300 });
        for seed in seeds {
            let report = super::case(seed);
            assert!(report.finding.is_none(), "seed {seed}: {}", report.finding.map(|f| f.what).unwrap_or_default());
        }
    }
}
