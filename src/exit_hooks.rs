//! What happens just before the process exits: the main thread's stack is overwritten
//! (secrets pass through stack frames the allocator never sees), and, in debug builds
//! only, two test switches: `HANDOFF_TEST_STOP_BEFORE_EXIT` stops the process (SIGSTOP)
//! so a test can read its whole memory, and `HANDOFF_TEST_NO_WIPE` turns the
//! zero-on-free allocator off to show that it matters. Release builds have neither.

use zeroize::Zeroize;

/// At start: debug-only switches.
pub fn at_start() {
    if cfg!(debug_assertions) && std::env::var_os("HANDOFF_TEST_NO_WIPE").is_some() {
        crate::alloc::disable_wiping_for_tests();
    }
}

/// Overwrites up to 1 MiB of the stack below the caller.
#[inline(never)]
pub fn scrub_stack() {
    let mut buf = [0xA5u8; 1 << 20];
    std::hint::black_box(&mut buf);
    buf.zeroize();
    std::hint::black_box(&buf);
}

/// Just before exit: scrub the stack; in debug builds, stop for the memory test.
pub fn before_exit() {
    scrub_stack();
    if cfg!(debug_assertions) && std::env::var_os("HANDOFF_TEST_STOP_BEFORE_EXIT").is_some() {
        let _ =
            rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::STOP);
    }
}
