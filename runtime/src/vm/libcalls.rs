//! The builtins compiled code calls through the `VMBuiltins` table (the list
//! is `kiln_artifact::for_each_builtin!`).
//!
//! Rules for every builtin: it never unwinds (a panic would cross an
//! `extern "C"` boundary and abort, so bodies are written not to panic and
//! wrapped in `catch_unwind` as a last resort) and never longjmps — except
//! `throw` and `host_throw` (in `throw.rs`), which leave to a landing pad
//! or to the host with nothing of theirs left to drop. One that
//! can fail returns 0 and the compiled code traps at a recorded trap site
//! with the code listed for it, so every trap leaves wasm the same way.

use crate::vm::instance::{instance_of, InstanceData, StoreOpaque};
use crate::vm::vmctx::VMContext;

/// Run a builtin body on the caller's instance and store.
///
/// # Safety
/// `vmctx` must be the VMContext of a live instance, called from its
/// compiled code (so the host holds no other reference to the store).
pub(crate) unsafe fn with_instance<R>(
    vmctx: *mut VMContext,
    fail: R,
    f: impl FnOnce(&mut InstanceData, &mut StoreOpaque) -> R,
) -> R {
    // SAFETY: guaranteed by the caller.
    let inst = unsafe { instance_of(vmctx) };
    // SAFETY: wasm is running, so the entry point lent its exclusive borrow
    // of the store to this call; the instance lives in the store's own
    // boxes, disjoint from what the body mutates (memories, tables).
    let store = unsafe { inst.store() };
    // SAFETY: as above; `inst` and `store` alias only in the instance list,
    // which no builtin modifies.
    let inst = unsafe { &mut *(inst as *mut InstanceData) };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(inst, store))).unwrap_or(fail)
}

use super::instance::range;

unsafe extern "C" fn memory_grow(vmctx: *mut VMContext, memory: u32, delta: u64) -> u64 {
    // SAFETY: called by compiled code with its own vmctx.
    unsafe {
        with_instance(vmctx, u64::MAX, |inst, store| {
            let Some(&m) = inst.memories.get(memory as usize) else { return u64::MAX };
            store.grow_memory(m, delta).unwrap_or(u64::MAX)
        })
    }
}

unsafe extern "C" fn memory_copy(
    vmctx: *mut VMContext,
    dst_mem: u32,
    dst: u64,
    src_mem: u32,
    src: u64,
    len: u64,
) -> u8 {
    // SAFETY: called by compiled code with its own vmctx.
    unsafe {
        with_instance(vmctx, 0, |inst, store| {
            let (Some(&d), Some(&s)) = (inst.memories.get(dst_mem as usize), inst.memories.get(src_mem as usize))
            else {
                return 0;
            };
            let done = if d == s {
                store.memories[d].copy_within(src, dst, len)
            } else {
                // Distinct memories (one may be shared with other threads):
                // through a buffer, after checking both ranges.
                let fits = |m: usize, at: u64| {
                    at.checked_add(len).is_some_and(|end| end <= store.memories[m].byte_len() as u64)
                };
                if !fits(s, src) || !fits(d, dst) {
                    return 0;
                }
                let mut tmp = vec![0; len as usize];
                store.memories[s].read(src, &mut tmp).and_then(|()| store.memories[d].write(dst, &tmp))
            };
            u8::from(done.is_some())
        })
    }
}

unsafe extern "C" fn memmove(_: *mut VMContext, dst: *mut u8, src: *const u8, len: u64) {
    // SAFETY: the compiled code checked that `[src, src + len)` and
    // `[dst, dst + len)` lie in one unshared memory's accessible bytes (so
    // `len` fits in usize), which nothing else borrows while wasm runs;
    // `copy` allows the ranges to overlap.
    unsafe { std::ptr::copy(src, dst, len as usize) }
}

unsafe extern "C" fn memset(_: *mut VMContext, dst: *mut u8, value: u32, len: u64) {
    // SAFETY: as for `memmove`, for the one range.
    unsafe { std::ptr::write_bytes(dst, value as u8, len as usize) }
}

unsafe extern "C" fn memory_fill(vmctx: *mut VMContext, memory: u32, dst: u64, value: u32, len: u64) -> u8 {
    // SAFETY: called by compiled code with its own vmctx.
    unsafe {
        with_instance(vmctx, 0, |inst, store| {
            let Some(&m) = inst.memories.get(memory as usize) else { return 0 };
            u8::from(store.memories[m].fill(dst, len, value as u8).is_some())
        })
    }
}

unsafe extern "C" fn memory_init(vmctx: *mut VMContext, memory: u32, data: u32, dst: u64, src: u32, len: u32) -> u8 {
    // SAFETY: called by compiled code with its own vmctx.
    unsafe {
        with_instance(vmctx, 0, |inst, store| {
            let Some(&m) = inst.memories.get(memory as usize) else { return 0 };
            let Some(seg) = inst.module.info().data.get(data as usize) else { return 0 };
            let seg_bytes: &[u8] = if inst.dropped_data[data as usize] {
                &[]
            } else {
                inst.module.data_section().get(seg.bytes.start as usize..seg.bytes.end() as usize).unwrap_or(&[])
            };
            let Some(sr) = range(src as u64, len as u64, seg_bytes.len()) else { return 0 };
            u8::from(store.memories[m].write(dst, &seg_bytes[sr]).is_some())
        })
    }
}

unsafe extern "C" fn data_drop(vmctx: *mut VMContext, data: u32) {
    // SAFETY: called by compiled code with its own vmctx.
    unsafe {
        with_instance(vmctx, (), |inst, _| {
            if let Some(d) = inst.dropped_data.get_mut(data as usize) {
                *d = true;
            }
        })
    }
}

unsafe extern "C" fn table_grow(vmctx: *mut VMContext, table: u32, delta: u64, init: *mut u8) -> u64 {
    // SAFETY: called by compiled code with its own vmctx.
    unsafe {
        with_instance(vmctx, u64::MAX, |inst, store| {
            let Some(&t) = inst.tables.get(table as usize) else { return u64::MAX };
            store.grow_table(t, delta, init as usize).unwrap_or(u64::MAX)
        })
    }
}

unsafe extern "C" fn table_fill(vmctx: *mut VMContext, table: u32, dst: u64, value: *mut u8, len: u64) -> u8 {
    // SAFETY: called by compiled code with its own vmctx.
    unsafe {
        with_instance(vmctx, 0, |inst, store| {
            let Some(&t) = inst.tables.get(table as usize) else { return 0 };
            let elems = &mut store.tables[t].elements;
            let Some(r) = range(dst, len, elems.len()) else { return 0 };
            elems[r].fill(value as usize);
            1
        })
    }
}

unsafe extern "C" fn table_copy(
    vmctx: *mut VMContext,
    dst_table: u32,
    src_table: u32,
    dst: u64,
    src: u64,
    len: u64,
) -> u8 {
    // SAFETY: called by compiled code with its own vmctx.
    unsafe {
        with_instance(vmctx, 0, |inst, store| {
            let (Some(&d), Some(&s)) = (inst.tables.get(dst_table as usize), inst.tables.get(src_table as usize))
            else {
                return 0;
            };
            let src_len = store.tables[s].elements.len();
            let dst_len = store.tables[d].elements.len();
            let (Some(sr), Some(dr)) = (range(src, len, src_len), range(dst, len, dst_len)) else { return 0 };
            if d == s {
                store.tables[d].elements.copy_within(sr, dr.start);
            } else {
                let tmp = store.tables[s].elements[sr].to_vec();
                store.tables[d].elements[dr].copy_from_slice(&tmp);
            }
            1
        })
    }
}

unsafe extern "C" fn table_init(vmctx: *mut VMContext, table: u32, elem: u32, dst: u64, src: u32, len: u32) -> u8 {
    // SAFETY: called by compiled code with its own vmctx.
    unsafe {
        with_instance(vmctx, 0, |inst, store| {
            let Some(&t) = inst.tables.get(table as usize) else { return 0 };
            let items: &[usize] = match inst.elements.get(elem as usize) {
                Some(Some(items)) => items,
                Some(None) => &[],
                None => return 0,
            };
            let Some(sr) = range(src as u64, len as u64, items.len()) else { return 0 };
            let elems = &mut store.tables[t].elements;
            let Some(dr) = range(dst, len as u64, elems.len()) else { return 0 };
            elems[dr].copy_from_slice(&items[sr]);
            1
        })
    }
}

unsafe extern "C" fn elem_drop(vmctx: *mut VMContext, elem: u32) {
    // SAFETY: called by compiled code with its own vmctx.
    unsafe {
        with_instance(vmctx, (), |inst, _| {
            if let Some(e) = inst.elements.get_mut(elem as usize) {
                *e = None;
            }
        })
    }
}

extern "C" fn is_subtype(_: *mut VMContext, actual: u32, expected: u32) -> u8 {
    u8::from(crate::type_registry::is_subtype(actual, expected))
}

fn wait_timeout(ns: i64) -> Option<std::time::Duration> {
    u64::try_from(ns).ok().map(std::time::Duration::from_nanos)
}

unsafe extern "C" fn memory_atomic_wait32(_: *mut VMContext, addr: *const u8, expected: u32, timeout: i64) -> u32 {
    // SAFETY: compiled code checked alignment and bounds of `addr` in a
    // shared memory, which never moves and outlives the call.
    unsafe { super::parking::wait(addr, super::parking::Expected::U32(expected), wait_timeout(timeout)) as u32 }
}

unsafe extern "C" fn memory_atomic_wait64(_: *mut VMContext, addr: *const u8, expected: u64, timeout: i64) -> u32 {
    // SAFETY: as for `memory_atomic_wait32`.
    unsafe { super::parking::wait(addr, super::parking::Expected::U64(expected), wait_timeout(timeout)) as u32 }
}

extern "C" fn memory_atomic_notify(_: *mut VMContext, addr: *const u8, count: u32) -> u32 {
    super::parking::notify(addr, count)
}

unsafe extern "C" fn epoch_interrupt(vmctx: *mut VMContext) -> u8 {
    // SAFETY: called by compiled code with its own vmctx.
    unsafe { with_instance(vmctx, 0, |_, store| u8::from(store.epoch_deadline_reached())) }
}

// The rounding builtins (used where the ISA has no rounding instruction).
// WebAssembly requires a NaN operand to give an arithmetic (quiet) NaN,
// while the software `floor`/`ceil`/… may return a signalling NaN
// unchanged, so NaN is handled first: same payload, quiet bit set (a
// canonical NaN stays canonical).

fn quiet_f32(x: f32) -> f32 {
    f32::from_bits(x.to_bits() | 0x0040_0000)
}
fn quiet_f64(x: f64) -> f64 {
    f64::from_bits(x.to_bits() | 0x0008_0000_0000_0000)
}

extern "C" fn ceil_f32(_: *mut VMContext, x: f32) -> f32 {
    if x.is_nan() {
        quiet_f32(x)
    } else {
        x.ceil()
    }
}
extern "C" fn ceil_f64(_: *mut VMContext, x: f64) -> f64 {
    if x.is_nan() {
        quiet_f64(x)
    } else {
        x.ceil()
    }
}
extern "C" fn floor_f32(_: *mut VMContext, x: f32) -> f32 {
    if x.is_nan() {
        quiet_f32(x)
    } else {
        x.floor()
    }
}
extern "C" fn floor_f64(_: *mut VMContext, x: f64) -> f64 {
    if x.is_nan() {
        quiet_f64(x)
    } else {
        x.floor()
    }
}
extern "C" fn trunc_f32(_: *mut VMContext, x: f32) -> f32 {
    if x.is_nan() {
        quiet_f32(x)
    } else {
        x.trunc()
    }
}
extern "C" fn trunc_f64(_: *mut VMContext, x: f64) -> f64 {
    if x.is_nan() {
        quiet_f64(x)
    } else {
        x.trunc()
    }
}
extern "C" fn nearest_f32(_: *mut VMContext, x: f32) -> f32 {
    if x.is_nan() {
        quiet_f32(x)
    } else {
        x.round_ties_even()
    }
}
extern "C" fn nearest_f64(_: *mut VMContext, x: f64) -> f64 {
    if x.is_nan() {
        quiet_f64(x)
    } else {
        x.round_ties_even()
    }
}

// One rounding, as FMA instructions do (software on CPUs without them);
// a NaN result keeps wasm's rule of any NaN being allowed.
extern "C" fn fma_f32(_: *mut VMContext, x: f32, y: f32, z: f32) -> f32 {
    x.mul_add(y, z)
}
extern "C" fn fma_f64(_: *mut VMContext, x: f64, y: f64, z: f64) -> f64 {
    x.mul_add(y, z)
}

macro_rules! builtins_table {
    ($( $(#[$doc:meta])* $name:ident ( $($p:ident : $t:ident),* ) $(-> $ret:ident)? $(=> $trap:ident)? ; )*) => {
        /// The table compiled code indexes by `BuiltinIndex`.
        #[repr(C)]
        struct VMBuiltins {
            $($name: *const u8,)*
        }

        // SAFETY: the table holds only function addresses, immutable.
        unsafe impl Sync for VMBuiltins {}

        static BUILTINS: VMBuiltins = VMBuiltins {
            $($name: $name as *const u8,)*
        };
    };
}

use super::throw::{exn_is, exn_new, exn_release, host_throw, throw};

kiln_artifact::for_each_builtin!(builtins_table);

/// Address of the builtins table every VMContext points to.
pub fn builtins_table() -> *const u8 {
    (&BUILTINS as *const VMBuiltins).cast()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_artifact::builtins::BuiltinIndex;

    #[test]
    fn table_order_matches_the_list() {
        assert_eq!(std::mem::size_of::<VMBuiltins>(), BuiltinIndex::ALL.len() * std::mem::size_of::<usize>());
        let base = builtins_table() as usize;
        let memory_grow_slot = base + BuiltinIndex::memory_grow.offset(std::mem::size_of::<usize>() as u8) as usize;
        // SAFETY: the slot lies inside the static table.
        let p = unsafe { (memory_grow_slot as *const *const u8).read() };
        assert_eq!(p, memory_grow as *const u8);
    }

    #[test]
    fn rounding_quiets_signalling_nans() {
        let vm = std::ptr::null_mut();
        let snan32 = f32::from_bits(0x7fa0_0000);
        let snan64 = f64::from_bits(0x7ff4_0000_0000_0000);
        for f in [ceil_f32, floor_f32, trunc_f32, nearest_f32] {
            assert_eq!(f(vm, snan32).to_bits(), 0x7fe0_0000);
            assert_eq!(f(vm, -snan32).to_bits(), 0xffe0_0000);
            assert_eq!(f(vm, f32::NAN).to_bits(), f32::NAN.to_bits());
        }
        for f in [ceil_f64, floor_f64, trunc_f64, nearest_f64] {
            assert_eq!(f(vm, snan64).to_bits(), 0x7ffc_0000_0000_0000);
            assert_eq!(f(vm, f64::NAN).to_bits(), f64::NAN.to_bits());
        }
        assert_eq!(floor_f32(vm, -1.5), -2.0);
        assert_eq!(nearest_f64(vm, 2.5), 2.0);
    }
}
