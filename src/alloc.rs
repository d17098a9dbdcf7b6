//! The zero-on-free global allocator: every heap block is wiped before it goes back
//! to the system allocator, so secrets that passed through buffers we do not own (the
//! age crate's plaintext chunks, the SDK's raw response, serde's scratch space) do not
//! outlive their use in freed memory. A spike on this machine found 1–2 copies of the
//! secret in freed heap without it and none with it, at no measurable cost.
//!
//! With `memlock`, one of the two modules with `unsafe` code.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, Ordering};

use zeroize::Zeroize;

/// Wraps [`System`], wiping each block on `dealloc` and on the old block of a `realloc`.
pub struct ZeroOnFree;

/// Debug builds only: lets the memory test switch wiping off to prove that it matters
/// (the counterfactual). Release builds have no such switch.
static WIPE: AtomicBool = AtomicBool::new(true);

/// Turns wiping off for the rest of the process (debug builds only; a no-op in release).
pub fn disable_wiping_for_tests() {
    if cfg!(debug_assertions) {
        WIPE.store(false, Ordering::Relaxed);
    }
}

fn wipe(ptr: *mut u8, len: usize) {
    if len == 0 || !WIPE.load(Ordering::Relaxed) {
        return;
    }
    // SAFETY: `ptr` points to a live block of at least `len` bytes owned by the caller
    // (GlobalAlloc guarantees this for the block being freed or moved), and nothing else
    // reads it any more. `zeroize` uses volatile writes, so the compiler cannot drop
    // them as dead stores before `free`.
    unsafe { std::slice::from_raw_parts_mut(ptr, len) }.zeroize();
}

// SAFETY: every method forwards to `System`, which upholds GlobalAlloc's contract; the
// only additions are writes to memory the caller owns until the forwarded call returns.
unsafe impl GlobalAlloc for ZeroOnFree {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours, forwarded unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours, forwarded unchanged.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        wipe(ptr, layout.size());
        // SAFETY: `ptr` was allocated by `System` with `layout` (we only hand out
        // `System` blocks), and the caller gives it up here.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Never let the system allocator move the block: it would free the old copy
        // without wiping it. Allocate, copy, wipe, free instead.
        // SAFETY: the caller guarantees `new_size` rounded up to `layout.align()` does
        // not overflow isize, which is what `from_size_align_unchecked` requires.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: `new_layout` has a non-zero size (the caller guarantees new_size > 0).
        let new_ptr = unsafe { System.alloc(new_layout) };
        if !new_ptr.is_null() {
            // SAFETY: both blocks are live, distinct, and at least `min` bytes long.
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, new_ptr, layout.size().min(new_size));
            }
            wipe(ptr, layout.size());
            // SAFETY: as in `dealloc`; on failure (null) the old block stays the
            // caller's, as GlobalAlloc requires.
            unsafe { System.dealloc(ptr, layout) }
        }
        new_ptr
    }
}
