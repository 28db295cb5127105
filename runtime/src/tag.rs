//! [`Tag`]: the identity exceptions are thrown with and caught by, and
//! [`Exception`]: a wasm exception as the host sees it.

use crate::error::{Error, Result};
use crate::store::AsContextMut;
use crate::trap::FrameInfo;
use crate::values::{FuncType, Val};
use crate::vm::instance::StoreOpaque;
use std::fmt;

/// A tag of a store. A handle (`Copy`). Two tags are the same tag exactly
/// when their handles are equal: a module that imports a tag catches what
/// is thrown with the one it was given, whatever its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tag {
    store: u64,
    index: usize,
}

/// A tag's definition in its store.
#[derive(Debug, Clone)]
pub(crate) struct StoredTag {
    /// The values an exception with this tag carries (no results).
    pub ty: FuncType,
    /// Canonical id of the type, compared when a tag is imported.
    pub type_id: u32,
}

impl Tag {
    pub(crate) fn from_index(store: &StoreOpaque, index: usize) -> Tag {
        Tag { store: store.id, index }
    }

    pub(crate) fn index_in(&self, store: &StoreOpaque) -> Result<usize> {
        if store.id != self.store {
            return Err(Error::wrong_store("tag"));
        }
        Ok(self.index)
    }

    /// A new tag owned by the host, for exceptions carrying values of
    /// `ty`'s parameter types (`ty` has no results).
    pub fn new(mut store: impl AsContextMut, ty: &FuncType) -> Result<Tag> {
        if !ty.results.is_empty() {
            return Err(Error::ty(format!("a tag's type has no results, found {ty}")));
        }
        let s = store.opaque_mut();
        let type_id = crate::type_registry::id_of(ty);
        s.tags.push(StoredTag { ty: ty.clone(), type_id });
        Ok(Tag { store: s.id, index: s.tags.len() - 1 })
    }

    /// The types of the values its exceptions carry, as a function type
    /// without results.
    pub fn ty(&self, store: impl AsContextMut) -> Result<FuncType> {
        let s = store.opaque();
        Ok(s.tags[self.index_in(s)?].ty.clone())
    }
}

/// A reference to a wasm exception object (`exnref`), as a host holds it:
/// what a `catch_ref` gave wasm, passed to or returned from the host. A
/// `Copy` handle; the object lives as long as the store once the host has
/// seen it (the host may hand it back to wasm at any time, to rethrow).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExnRef {
    store: u64,
    addr: usize,
}

impl ExnRef {
    pub(crate) fn from_raw(store: &StoreOpaque, raw: usize) -> Option<ExnRef> {
        store.exns.root_for_host(raw).then_some(ExnRef { store: store.id, addr: raw })
    }

    pub(crate) fn to_raw(self, store: &StoreOpaque) -> Result<usize> {
        if store.id != self.store {
            return Err(Error::wrong_store("exnref"));
        }
        Ok(self.addr)
    }

    /// The exception's tag and values.
    pub fn exception(&self, store: impl AsContextMut) -> Result<Exception> {
        let s = store.opaque();
        let addr = self.to_raw(s)?;
        let (header, raw) = s.exns.get(addr).ok_or_else(|| Error::msg("exnref to a freed exception"))?;
        let tag = header.tag as usize;
        let values = s.tags[tag].ty.params.iter().zip(raw).map(|(&t, &r)| Val::from_raw(s, r, t)).collect();
        Ok(Exception::thrown(Tag::from_index(s, tag), values))
    }
}

/// A wasm exception: thrown by wasm and not caught before it reached the
/// host (an [`Error`] of kind [`ErrorKind::Exception`](crate::ErrorKind)
/// carries it: [`Error::exception`]), or made by a host function to throw
/// into wasm (return it as `Err(exception.into())`).
#[derive(Debug, Clone, PartialEq)]
pub struct Exception {
    tag: Tag,
    values: Vec<Val>,
    frames: Vec<FrameInfo>,
}

impl Exception {
    /// An exception of `tag` carrying `values`, which must match the tag's
    /// type.
    pub fn new(store: impl AsContextMut, tag: Tag, values: Vec<Val>) -> Result<Exception> {
        let s = store.opaque();
        let ty = &s.tags[tag.index_in(s)?].ty;
        let fits = ty.params.len() == values.len()
            && values.iter().zip(ty.params.iter()).all(|(v, &t)| v.matches(s, t).unwrap_or(false));
        if !fits {
            let found: Vec<String> = values.iter().map(|v| v.ty().to_string()).collect();
            return Err(Error::ty(format!(
                "an exception of tag type {ty} cannot carry values of types [{}]",
                found.join(" ")
            )));
        }
        Ok(Exception { tag, values, frames: Vec::new() })
    }

    pub(crate) fn thrown(tag: Tag, values: Vec<Val>) -> Exception {
        Exception { tag, values, frames: Vec::new() }
    }

    pub(crate) fn with_frames(mut self, frames: Vec<FrameInfo>) -> Exception {
        self.frames = frames;
        self
    }

    /// Its tag.
    pub fn tag(&self) -> Tag {
        self.tag
    }

    /// The values it carries.
    pub fn values(&self) -> &[Val] {
        &self.values
    }

    /// The wasm frames it was thrown through (innermost first), for one
    /// that came from wasm.
    pub fn frames(&self) -> &[FrameInfo] {
        &self.frames
    }
}

impl fmt::Display for Exception {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "uncaught wasm exception (tag {} of its store", self.tag.index)?;
        if !self.values.is_empty() {
            let v: Vec<String> = self.values.iter().map(|v| format!("{v:?}")).collect();
            write!(f, ", values [{}]", v.join(", "))?;
        }
        f.write_str(")")?;
        if let Some(frame) = self.frames.first() {
            write!(f, " thrown in {frame}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Exception {}
