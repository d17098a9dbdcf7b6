//! What happens just before the process exits: the main thread's stack is overwritten
//! (secrets pass through stack frames the allocator never sees), and, in debug builds
//! only, three test switches: `HANDOFF_TEST_STOP_BEFORE_EXIT` stops the process (SIGSTOP)
//! so a test can read its whole memory, `HANDOFF_TEST_STOP_AT=POINT` stops it at a named
//! point so a test can race it (see [`stop_at`]), and `HANDOFF_TEST_NO_WIPE` turns the
//! zero-on-free allocator off to show that it matters. Release builds have none.

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

/// Debug builds only: stops the process (SIGSTOP) when `HANDOFF_TEST_STOP_AT` names
/// `point`, so that a test can change the world under it and resume it with SIGCONT.
/// Points: `credentials-rename` (the merged credentials file is written to its temporary
/// file, not yet renamed into place).
pub fn stop_at(point: &str) {
    if cfg!(debug_assertions)
        && std::env::var_os("HANDOFF_TEST_STOP_AT").is_some_and(|p| p == point)
    {
        stop_self();
    }
}

fn stop_self() {
    let _ = rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::STOP);
}

/// Just before exit: scrub the stack; in debug builds, stop for the memory test.
pub fn before_exit() {
    scrub_stack();
    if cfg!(debug_assertions) && std::env::var_os("HANDOFF_TEST_STOP_BEFORE_EXIT").is_some() {
        stop_self();
    }
}
