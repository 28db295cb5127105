//! [`RawBox`]: a heap value that the store owns and compiled code reaches
//! by address.
//!
//! A `Box` cannot be that owner. Rust treats a `Box` as the one way to its
//! contents, as it does `&mut`: moving the box (into a `Vec`, into a
//! struct, as an argument) asserts that nothing else points there, so the
//! addresses handed out before — in a VMContext, a funcref, a table
//! definition pointer — would no longer be valid to use, whatever the
//! machine code does. Miri reports exactly that. A `RawBox` holds only a
//! raw pointer from `Box::into_raw`, from which every access derives, and
//! frees it on drop.

use core::ptr::NonNull;

/// An owned heap value reached through raw pointers only.
pub struct RawBox<T>(NonNull<T>);

// SAFETY: a RawBox owns its value as a Box does; sending or sharing it is
// sending or sharing the value.
unsafe impl<T: Send> Send for RawBox<T> {}
// SAFETY: as above.
unsafe impl<T: Sync> Sync for RawBox<T> {}

impl<T> RawBox<T> {
    /// Move `value` to the heap.
    pub fn new(value: T) -> RawBox<T> {
        RawBox(NonNull::from(Box::leak(Box::new(value))))
    }

    /// The value's address, valid until the `RawBox` is dropped.
    pub fn as_non_null(&self) -> NonNull<T> {
        self.0
    }

    /// The value's address, as [`RawBox::as_non_null`].
    pub fn as_ptr(&self) -> *mut T {
        self.0.as_ptr()
    }
}

impl<T> core::ops::Deref for RawBox<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the pointer came from `Box::leak` and lives until drop;
        // mutation elsewhere goes through raw pointers to fields that are
        // cells or are not read through this reference at the same time.
        unsafe { self.0.as_ref() }
    }
}

impl<T> core::ops::DerefMut for RawBox<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as for `deref`; `&mut self` makes this the only
        // reference handed out by the `RawBox` for its lifetime.
        unsafe { self.0.as_mut() }
    }
}

impl<T> Drop for RawBox<T> {
    fn drop(&mut self) {
        // SAFETY: allocated by `Box` in `new`, freed only here, once.
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

impl<T: core::fmt::Debug> core::fmt::Debug for RawBox<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        (**self).fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::RawBox;

    /// An address handed out stays usable after the owner moves (with a
    /// `Box`, Miri reports the write below as undefined behaviour).
    #[test]
    fn addresses_survive_moves_of_the_owner() {
        let owner = RawBox::new([1u64, 2]);
        let p = owner.as_ptr();
        let mut owners = Vec::new();
        owners.push(owner);
        let moved = owners.pop().unwrap();
        // SAFETY: `p` points into `moved`'s live value; no reference to it
        // is held across the write.
        unsafe { (*p)[1] = 7 };
        assert_eq!(*moved, [1, 7]);
    }
}
