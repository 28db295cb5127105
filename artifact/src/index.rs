//! Typed indices. A raw `u32` index never crosses a module boundary: the
//! index spaces of wasm (imports first, then definitions) and the "defined
//! only" spaces are distinct types, converted by methods of
//! [`crate::info::ModuleInfo`].

use serde::{Deserialize, Serialize};

macro_rules! indices {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u32);

        impl $name {
            /// The index as a `usize`, for indexing vectors.
            #[inline]
            pub fn index(self) -> usize {
                self.0 as usize
            }
            /// An index from a vector position.
            #[inline]
            pub fn new(i: usize) -> Self {
                $name(i as u32)
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    )*};
}

indices! {
    /// Index in the module's type section.
    TypeIndex;
    /// Index in the function index space (imports first).
    FuncIndex;
    /// Index among the functions the module defines.
    DefinedFuncIndex;
    /// Index in the table index space (imports first).
    TableIndex;
    /// Index among the tables the module defines.
    DefinedTableIndex;
    /// Index in the memory index space (imports first).
    MemoryIndex;
    /// Index among the memories the module defines.
    DefinedMemoryIndex;
    /// Index in the global index space (imports first).
    GlobalIndex;
    /// Index among the globals the module defines.
    DefinedGlobalIndex;
    /// Index of a `VMFuncRef` slot in the VMContext (one per escaping function).
    FuncRefIndex;
    /// Index of an element segment.
    ElemIndex;
    /// Index of a data segment.
    DataIndex;
    /// Index in the tag index space (imports first).
    TagIndex;
    /// Index among the module's imports, in declaration order.
    ImportIndex;
}
