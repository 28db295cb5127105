//! The GDB JIT interface (read by gdb and lldb): each loaded module whose
//! artifact carries a debug image (`.kiln.gdbjit`, written when it was
//! compiled with debug info) is announced to an attached debugger, which
//! then knows its functions by name and, with DWARF in the module, its
//! source lines — for code running in place and copied code alike.
//!
//! The protocol: the process exports `__jit_debug_descriptor`, a list of
//! in-memory object files, and `__jit_debug_register_code`, an empty
//! function the debugger breaks on; after changing the list, the process
//! says which entry changed and how, and calls the function. The list is
//! changed under one process-wide lock.
//!
//! The symbols are exported only with the `debug-builtins` feature (on by
//! default): a program linking another runtime that defines them too can
//! turn it off.

use std::ptr::null_mut;
#[cfg(feature = "debug-builtins")]
use std::sync::Mutex;

#[repr(C)]
struct JitCodeEntry {
    next_entry: *mut JitCodeEntry,
    prev_entry: *mut JitCodeEntry,
    symfile_addr: *const u8,
    symfile_size: u64,
}

/// The list a debugger reads, in the layout of the protocol (version 1).
#[repr(C)]
pub struct JitDescriptor {
    version: u32,
    action_flag: u32,
    relevant_entry: *mut JitCodeEntry,
    first_entry: *mut JitCodeEntry,
}

#[cfg(feature = "debug-builtins")]
const JIT_REGISTER_FN: u32 = 1;
#[cfg(feature = "debug-builtins")]
const JIT_UNREGISTER_FN: u32 = 2;

/// Read by the debugger, by name.
#[cfg(feature = "debug-builtins")]
#[no_mangle]
pub static mut __jit_debug_descriptor: JitDescriptor =
    JitDescriptor { version: 1, action_flag: 0, relevant_entry: null_mut(), first_entry: null_mut() };

/// The debugger's breakpoint, by name: it must stay a real function that
/// is called.
#[cfg(feature = "debug-builtins")]
#[no_mangle]
#[inline(never)]
pub extern "C" fn __jit_debug_register_code() {
    std::hint::black_box(());
}

/// Serialises every change of the list.
#[cfg(feature = "debug-builtins")]
static LOCK: Mutex<()> = Mutex::new(());

/// Apply `action` to `entry` and tell the debugger.
#[cfg(feature = "debug-builtins")]
fn notify(entry: *mut JitCodeEntry, action: u32) {
    // SAFETY: the descriptor is only written here and in `link`/`unlink`,
    // all under LOCK, which the callers hold; a debugger reads it only
    // while the process is stopped in `__jit_debug_register_code`.
    unsafe {
        let d = &raw mut __jit_debug_descriptor;
        (*d).relevant_entry = entry;
        (*d).action_flag = action;
    }
    __jit_debug_register_code();
}

#[cfg(feature = "debug-builtins")]
fn first_entry() -> *mut *mut JitCodeEntry {
    // SAFETY: taking the field's address creates no reference.
    unsafe { &raw mut __jit_debug_descriptor.first_entry }
}

/// A module announced to debuggers; dropping it withdraws it.
pub struct GdbJitRegistration {
    entry: *mut JitCodeEntry,
    // Read by the debugger through `entry`: must outlive the entry.
    _image: Box<[u8]>,
}

// SAFETY: the entry is only touched under LOCK, and the image is never
// written after registration.
unsafe impl Send for GdbJitRegistration {}
// SAFETY: as for Send; the type has no `&self` methods.
unsafe impl Sync for GdbJitRegistration {}

/// The image of `.kiln.gdbjit` with every recorded address moved by
/// `text`, the address the text runs at; `None` for an empty or damaged
/// section (debug information is never a reason to fail a load).
pub fn relocated_image(section: &[u8], text: usize) -> Option<Box<[u8]>> {
    let count = u32::from_le_bytes(section.get(..4)?.try_into().ok()?) as usize;
    let image_at = count.checked_mul(4)?.checked_add(4)?;
    let mut image: Box<[u8]> = section.get(image_at..)?.into();
    for i in 0..count {
        let at = 4 + 4 * i;
        let offset = u32::from_le_bytes(section[at..at + 4].try_into().ok()?) as usize;
        let field = image.get_mut(offset..offset.checked_add(8)?)?;
        let value = u64::from_ne_bytes(field.try_into().ok()?).wrapping_add(text as u64);
        field.copy_from_slice(&value.to_ne_bytes());
    }
    Some(image)
}

/// Announce the module whose text starts at `text`, if its artifact has a
/// debug image.
pub fn register(section: &[u8], text: usize) -> Option<GdbJitRegistration> {
    if section.is_empty() || !cfg!(feature = "debug-builtins") {
        return None;
    }
    let image = relocated_image(section, text)?;
    let entry = Box::into_raw(Box::new(JitCodeEntry {
        next_entry: null_mut(),
        prev_entry: null_mut(),
        symfile_addr: image.as_ptr(),
        symfile_size: image.len() as u64,
    }));
    #[cfg(feature = "debug-builtins")]
    {
        let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: LOCK is held; `entry` is a fresh allocation and the list
        // holds only live entries (each removed before it is freed).
        unsafe {
            let head = first_entry();
            (*entry).next_entry = *head;
            if !(*head).is_null() {
                (**head).prev_entry = entry;
            }
            *head = entry;
        }
        notify(entry, JIT_REGISTER_FN);
    }
    Some(GdbJitRegistration { entry, _image: image })
}

impl Drop for GdbJitRegistration {
    fn drop(&mut self) {
        #[cfg(feature = "debug-builtins")]
        {
            let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
            let entry = self.entry;
            // SAFETY: LOCK is held and `entry` is in the list (linked by
            // `register`, removed only here).
            unsafe {
                let (prev, next) = ((*entry).prev_entry, (*entry).next_entry);
                if prev.is_null() {
                    *first_entry() = next;
                } else {
                    (*prev).next_entry = next;
                }
                if !next.is_null() {
                    (*next).prev_entry = prev;
                }
            }
            notify(entry, JIT_UNREGISTER_FN);
        }
        // SAFETY: allocated by `register` with Box::into_raw and no longer
        // reachable from the list.
        drop(unsafe { Box::from_raw(self.entry) });
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn damaged_sections_give_no_image() {
        assert!(super::relocated_image(&[], 0).is_none());
        assert!(super::relocated_image(&[5, 0, 0, 0], 0).is_none());
        // One fixup pointing past the image.
        let mut s = vec![1, 0, 0, 0, 4, 0, 0, 0];
        s.extend_from_slice(&[0; 8]);
        assert!(super::relocated_image(&s, 0x1000).is_none());
        // One in range: the address moves by the text's.
        let mut s = vec![1, 0, 0, 0, 0, 0, 0, 0];
        s.extend_from_slice(&0x40u64.to_ne_bytes());
        let image = super::relocated_image(&s, 0x1000).unwrap();
        assert_eq!(u64::from_ne_bytes(image[..8].try_into().unwrap()), 0x1040);
    }
}
