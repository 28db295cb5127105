//! Throwing and catching: the builtins behind `throw`, `throw_ref`,
//! landing pads and legacy `catch`, and the unwinder that finds a handler.
//!
//! ```text
//!  wasm: throw $t ──► exn_new (object) ──► throw stub ──► throw(vmctx, exn, stub fp)
//!                                                         │ walk frames from the stub's caller:
//!                                                         │   return address in `.kiln.exceptions`?
//!                                                         │   resolve each handler's tag in the frame's
//!                                                         │   instance (vmctx spilled in the frame)
//!                                                         ├─ match ──► resume_to_handler(pad, sp, fp, exn)
//!                                                         └─ none up to the host ──► Pending::Exception,
//!                                                            leave wasm like a trap: Err(Exception)
//!  host fn returns Err(Exception) ──► host-call trampoline ──► host_throw(vmctx, trampoline fp) ──► same walk
//! ```
//!
//! The walk reads only inside the stack between the throw and the
//! innermost activation, at strictly increasing frame addresses, and stops
//! at the first return address outside kiln code: an exception never
//! crosses host frames. A host function that calls back into wasm sees an
//! exception from there as an `Err`, and throws it on only if it returns it.

use super::exn::Header;
use super::instance::{instance_of, InstanceData, Pending, StoreOpaque};
use super::libcalls::with_instance;
use super::sys;
use super::traphandlers;
use super::vmctx::{VMContext, ValRaw};
use crate::tag::{Exception, Tag};
use crate::values::Val;
use kiln_artifact::exceptions::{ExceptionTable, CATCH_ALL};
use kiln_artifact::traps::TrapCode;

/// Where a throw goes.
#[derive(Clone, Copy)]
enum Action {
    /// To a landing pad.
    Handler { pc: usize, sp: usize, fp: usize },
    /// Out of wasm, to the host: the exception is pending in the store;
    /// `pc` and `fp` locate the throwing frame for the backtrace.
    Host { pc: usize, fp: usize },
}

/// `exn_new`: an object for the caller's tag `tag`, values zeroed.
pub(crate) unsafe extern "C" fn exn_new(vmctx: *mut VMContext, tag: u32) -> usize {
    // SAFETY: called by compiled code with its own vmctx.
    unsafe {
        with_instance(vmctx, 0, |inst, store| {
            let Some(&id) = inst.tags.get(tag as usize) else { return 0 };
            let len = store.tags[id].ty.params.len();
            store.exns.alloc(id as u32, &vec![ValRaw::default(); len])
        })
    }
}

/// `exn_release`: a by-value `catch` landed.
pub(crate) unsafe extern "C" fn exn_release(vmctx: *mut VMContext, exn: usize) {
    // SAFETY: called by compiled code with its own vmctx.
    unsafe { with_instance(vmctx, (), |_, store| store.exns.release(exn)) }
}

/// `exn_is`: legacy `catch $tag`.
pub(crate) unsafe extern "C" fn exn_is(vmctx: *mut VMContext, exn: usize, tag: u32) -> u32 {
    // SAFETY: called by compiled code with its own vmctx.
    unsafe {
        with_instance(vmctx, 0, |inst, store| {
            let Some((h, _)) = store.exns.get(exn) else { return 0 };
            u32::from(inst.tags.get(tag as usize) == Some(&(h.tag as usize)))
        })
    }
}

/// `throw`: the throw stub's frame pointer is `fp`.
pub(crate) unsafe extern "C" fn throw(vmctx: *mut VMContext, exn: usize, fp: usize) {
    // SAFETY: called by the throw stub with the thrower's vmctx; `fp` is
    // the stub's frame pointer, on this thread's stack below the
    // activation.
    let action = unsafe { with_instance(vmctx, None, |_, store| Some(find(store, exn, fp))) };
    // SAFETY: nothing of this frame needs dropping from here on, and the
    // frames between here and the target are compiled code, the stub and
    // `with_instance`'s, which own nothing.
    unsafe { go(action, exn) }
}

/// `host_throw`: a host function called through the trampoline whose
/// frame pointer is `fp` failed. Throws if it threw; returns otherwise.
pub(crate) unsafe extern "C" fn host_throw(vmctx: *mut VMContext, fp: usize) {
    // SAFETY: called by the trampoline with its caller's vmctx.
    let thrown = unsafe {
        with_instance(vmctx, None, |_, store| {
            if !matches!(&store.pending, Some(Pending::Error(e)) if e.exception().is_some()) {
                return None;
            }
            let Some(Pending::Error(e)) = store.pending.take() else { return None };
            match e.into_exception() {
                Ok(x) => {
                    // Checked when it was made, except for the store.
                    let raw: Option<Vec<ValRaw>> = x.values().iter().map(|v| v.to_raw(store).ok()).collect();
                    match (x.tag().index_in(store), raw) {
                        (Ok(tag), Some(raw)) => {
                            let exn = store.exns.alloc(tag as u32, &raw);
                            Some((find(store, exn, fp), exn))
                        }
                        _ => {
                            store.pending = Some(Pending::Error(crate::Error::wrong_store("thrown exception's tag")));
                            None
                        }
                    }
                }
                Err(e) => {
                    store.pending = Some(Pending::Error(e));
                    None
                }
            }
        })
    };
    if let Some((action, exn)) = thrown {
        // SAFETY: as in `throw`: the trampoline and this frame own nothing.
        unsafe { go(Some(action), exn) }
    }
}

/// Carry out `action` for the object `exn`.
///
/// # Safety
/// Called from a builtin that compiled code called, with nothing left to
/// drop in any frame below the target.
unsafe fn go(action: Option<Action>, exn: usize) -> ! {
    match action {
        // SAFETY: the handler was found in a live wasm frame of this
        // activation (the caller's contract covers the frames below it).
        Some(Action::Handler { pc, sp, fp }) => unsafe { sys::resume_to_handler(pc, sp, fp, exn) },
        // SAFETY: as above; `fp` is a wasm frame of this activation.
        Some(Action::Host { pc, fp }) => unsafe { traphandlers::raise_trap(TrapCode::HostError, pc, fp) },
        // A builtin body that failed (a panic): leave wasm with a host error.
        // SAFETY: as above.
        None => unsafe { traphandlers::raise_trap(TrapCode::HostError, 0, 0) },
    }
}

/// Find where exception `exn` goes, throwing from the frame whose frame
/// pointer is `fp` (a stub's or trampoline's: the walk starts with its
/// caller). If nowhere in wasm, leave it pending for the host.
fn find(store: &mut StoreOpaque, exn: usize, fp: usize) -> Action {
    let Some((header, _)) = store.exns.get(exn) else {
        store.pending = Some(Pending::Error(crate::Error::msg("throw of an exception object this store does not own")));
        return Action::Host { pc: 0, fp: 0 };
    };
    let top = traphandlers::current_activation() as usize;
    let Some((first_pc, first_fp)) = walk_step(fp, fp, top) else {
        return escape(store, exn, header, 0, 0);
    };
    let (mut pc, mut fp) = (first_pc, first_fp);
    while super::code_registry::is_kiln_code(pc) {
        if let Some(target) = handler_in_frame(store, header.tag, pc, fp, top) {
            return target;
        }
        let Some((ret, older)) = walk_step(fp, fp, top) else { break };
        (pc, fp) = (ret, older);
    }
    // Return addresses point after the call: the backtrace's first entry
    // is taken as exact, so point it at the call.
    escape(store, exn, header, first_pc.wrapping_sub(1), first_fp)
}

/// One frame-walk step inside `[low, top)`, only to older frames.
fn walk_step(fp: usize, low: usize, top: usize) -> Option<(usize, usize)> {
    // SAFETY: `[low, top)` is the live stack of this thread between a
    // frame of the current call chain and the innermost activation, which
    // lives in an older frame of the same stack.
    let (ret, older) = unsafe { sys::next_older_frame(fp, low, top) }?;
    (older > fp).then_some((ret, older))
}

/// The handler for tag `tag` at return address `pc` of the wasm frame `fp`,
/// if its call site has one.
fn handler_in_frame(store: &StoreOpaque, tag: u32, pc: usize, fp: usize, top: usize) -> Option<Action> {
    let (module, text_start) = store.instances.iter().find_map(|i| {
        let r = i.module.code_range();
        r.contains(&pc).then_some((&i.module, r.start))
    })?;
    let table = ExceptionTable::parse(module.exceptions_section()).ok()?;
    let site = table.lookup(u32::try_from(pc - text_start).ok()?)?;
    let sp = sys::stack_pointer_at_call(fp, site.frame_offset)?;
    let slot = sp.checked_add(site.context_offset as usize)?;
    let word = core::mem::size_of::<usize>();
    if slot < sp || slot.checked_add(word)? > top || !slot.is_multiple_of(word) {
        return None;
    }
    // SAFETY: `slot` is an aligned word of this thread's live stack, inside
    // the frame of a wasm function (below its frame pointer, above the
    // stack pointer of its call), where the compiler spilled its vmctx.
    let vmctx = unsafe { (slot as *const usize).read() } as *mut VMContext;
    if vmctx.is_null() {
        return None;
    }
    // SAFETY: the slot holds the vmctx of the function whose frame this
    // is, a live instance of this activation's store.
    let inst: &InstanceData = unsafe { instance_of(vmctx) };
    if !core::ptr::eq(inst.store, store) {
        return None;
    }
    for (t, landing) in site.handlers() {
        if t == CATCH_ALL || inst.tags.get(t as usize) == Some(&(tag as usize)) {
            return Some(Action::Handler { pc: text_start + landing as usize, sp, fp });
        }
    }
    None
}

/// No handler: copy the exception out for the host and free the object
/// unless wasm still holds it.
fn escape(store: &mut StoreOpaque, exn: usize, header: Header, pc: usize, fp: usize) -> Action {
    let tag = header.tag as usize;
    let params = store.tags[tag].ty.params.clone();
    let values = match store.exns.get(exn) {
        Some((_, raw)) => params.iter().zip(raw).map(|(&t, &r)| Val::from_raw(store, r, t)).collect(),
        None => Vec::new(),
    };
    store.exns.release(exn);
    store.pending = Some(Pending::Exception(Exception::thrown(Tag::from_index(store, tag), values)));
    Action::Host { pc, fp }
}
