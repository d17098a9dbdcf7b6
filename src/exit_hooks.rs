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

/// Overwrites the stack below the caller: on the main thread, down to the deepest
/// point the stack ever reached (the start of its `[stack]` mapping, which the kernel
/// grows as the stack is touched and never shrinks), so no page is touched that never
/// held anything; elsewhere, or when that cannot be read, 1 MiB (a thread's stack
/// is 2 MiB). Touching a fixed 1 MiB cost every run 256 page faults, most of `open`'s
/// lead over `age -d` (issue 13).
#[inline(never)]
pub fn scrub_stack() {
    let here = std::hint::black_box(0u8);
    let here = std::ptr::from_ref(&here) as usize;
    let depth = main_stack()
        .filter(|stack| stack.contains(&here))
        .map_or(1 << 20, |stack| here - stack.start);
    zero_pages(depth.div_ceil(PAGE));
}

const PAGE: usize = 4096;

/// Zeroes `n` stack frames of a page each, one below the other.
#[inline(never)]
fn zero_pages(n: usize) {
    let mut page = [0xA5u8; PAGE];
    std::hint::black_box(&mut page);
    page.zeroize();
    if n > 1 {
        zero_pages(n - 1);
    }
    // Used after the call, so the call cannot become a jump that reuses this frame.
    std::hint::black_box(&page);
}

/// The main thread's stack mapping, from `/proc/self/maps` (Linux; elsewhere none, so
/// the scrub is the fixed 1 MiB).
fn main_stack() -> Option<std::ops::Range<usize>> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    let line = maps.lines().find(|l| l.ends_with("[stack]"))?;
    let (start, rest) = line.split_once('-')?;
    let end = rest.split(' ').next()?;
    let address = |hex| usize::from_str_radix(hex, 16).ok();
    Some(address(start)?..address(end)?)
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
    #[cfg(unix)]
    let _ = rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::STOP);
}

/// Just before exit: scrub the stack; in debug builds, stop for the memory test.
pub fn before_exit() {
    scrub_stack();
    if cfg!(debug_assertions) && std::env::var_os("HANDOFF_TEST_STOP_BEFORE_EXIT").is_some() {
        stop_self();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn the_main_stack_is_found_and_a_test_thread_is_not_on_it() {
        let stack = main_stack().expect("a [stack] line in /proc/self/maps");
        assert!(stack.start < stack.end);
        let here = 0u8;
        // Test threads have stacks of their own: their scrub is the fixed 1 MiB.
        assert!(!stack.contains(&(std::ptr::from_ref(&here) as usize)));
        scrub_stack();
    }

    #[test]
    fn the_scrub_of_a_thread_stays_within_its_stack() {
        // A test thread's stack is 2 MiB: the fixed 1 MiB scrub must not overflow it.
        std::thread::spawn(scrub_stack).join().unwrap();
    }
}
