//! Keeps the pages that hold handoff's own copies of a secret out of swap (`mlock`) and
//! out of core dumps (`MADV_DONTDUMP`). Best effort by design: an unprivileged user's
//! RLIMIT_MEMLOCK may be small or zero, and a failure here must never stop a command
//! (the zero-on-free allocator and the no-core-dump settings still hold). Pages stay
//! locked after the secret is freed: a lock belongs to a page, not to a value, and one
//! page can hold two secrets; the kernel drops every lock when the process exits.
//!
//! Unix only: on Windows nothing is locked (VirtualLock would need a crate of bindings
//! and more `unsafe` code), which SECURITY.md says.
//!
//! With `alloc`, one of the two modules with `unsafe` code.
#![allow(unsafe_code)]

/// Locks the pages covering `len` bytes at `addr`, and marks them not to be dumped.
/// Any error (a limit, an unmapped address) is ignored.
#[cfg(unix)]
pub fn lock_range(addr: *const u8, len: usize) {
    use std::ffi::c_void;
    if len == 0 {
        return;
    }
    let page = rustix::param::page_size();
    let start = addr as usize & !(page - 1);
    let Some(end) = (addr as usize)
        .checked_add(len)
        .map(|e| e.next_multiple_of(page))
    else {
        return;
    };
    let (ptr, size) = (start as *mut c_void, end - start);
    // SAFETY: mlock and madvise(MADV_DONTDUMP) change only the kernel's flags for whole
    // pages (never their contents, never a mapping's existence), so no memory that Rust
    // code can see is read, written or freed. On an address that is not mapped they fail
    // with ENOMEM, which is ignored.
    unsafe {
        let _ = rustix::mm::mlock(ptr, size);
        #[cfg(target_os = "linux")]
        let _ = rustix::mm::madvise(ptr, size, rustix::mm::Advice::LinuxDontDump);
    }
}

/// Elsewhere: nothing.
#[cfg(not(unix))]
pub fn lock_range(_addr: *const u8, _len: usize) {}

/// Locks the pages holding `bytes`.
pub fn lock(bytes: &[u8]) {
    lock_range(bytes.as_ptr(), bytes.len());
}

/// Locks the pages of a vector's whole allocation (its spare capacity too, so that the
/// secret written into it later is covered).
pub fn lock_allocation(v: &Vec<u8>) {
    lock_range(v.as_ptr(), v.capacity());
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn locked_kib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("VmLck:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    #[test]
    fn locks_pages_or_fails_quietly() {
        let v = vec![7u8; 3 * 4096];
        lock_allocation(&v);
        // Root (CAP_IPC_LOCK) or a generous limit: the pages are locked. Otherwise the
        // call must simply have done nothing.
        let limit = rustix::process::getrlimit(rustix::process::Resource::Memlock).current;
        if rustix::process::geteuid().is_root() || limit.is_none_or(|l| l >= 1 << 20) {
            assert!(locked_kib() >= 12, "VmLck {} kB", locked_kib());
        }
        lock_range(std::ptr::null(), 0);
        lock_range(8 as *const u8, 16); // unmapped: ignored
        lock_range(usize::MAX as *const u8, 16); // overflow: ignored
    }
}
