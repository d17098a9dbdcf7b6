//! Signals as failures. SIGINT, SIGTERM and SIGHUP are received by a thread of their
//! own (signal-hook's self-pipe iterator), so no code runs in an async signal handler.
//! Outside a change they act as they would by default: the process ends by the signal.
//! While a command is changing something (a [`Changing`] guard is alive), the first one
//! is recorded and reported; the call in flight finishes, the next step's [`check`]
//! fails, and the command rolls back what it made. A second one says what would be
//! left; a third ends the process at once (exit 128 + the signal), leaving what is not
//! undone to `handoff recover`. SIGXFSZ is caught and ignored, so that a write past
//! `ulimit -f` fails with EFBIG (an error, then the rollback) instead of killing the
//! process mid-change; Rust's runtime already ignores SIGPIPE. On Windows, Ctrl-C
//! (SIGINT) and SIGTERM are caught by the C runtime's handler and polled from the same
//! kind of thread; there is no SIGHUP or SIGXFSZ there.

use std::sync::Mutex;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

#[cfg(unix)]
use signal_hook::consts::signal::{SIGHUP, SIGXFSZ};
use signal_hook::consts::signal::{SIGINT, SIGTERM};
/// No such signal arrives on Windows: numbers no other signal there has.
#[cfg(not(unix))]
const SIGHUP: i32 = 1;
#[cfg(not(unix))]
const SIGXFSZ: i32 = 25;

use crate::error::{Error, ExitCode};

/// How many [`Changing`] guards are alive.
static CHANGING: AtomicUsize = AtomicUsize::new(0);
/// The first signal received during a change (0: none).
static RECEIVED: AtomicI32 = AtomicI32::new(0);
/// How many were received during a change.
static COUNT: AtomicUsize = AtomicUsize::new(0);
/// How many of those the signal thread has finished with (notice said, flag set): what
/// the test switch waits for, so the step after it sees the signal.
static HANDLED: AtomicUsize = AtomicUsize::new(0);
/// What would be left if the process stopped now, in words, and the command that would
/// clean it up (kept by the rollback).
static LEFT: Mutex<(Vec<String>, String)> = Mutex::new((Vec::new(), String::new()));
/// The helper program running for handoff (`pass`, and gpg under it), if any: a signal
/// that ends handoff ends it too, so none is left behind waiting for input.
static CHILD: AtomicI32 = AtomicI32::new(0);
/// Debug builds: how many entries of `HANDOFF_TEST_SIGNAL` have fired.
static FIRED: AtomicUsize = AtomicUsize::new(0);

/// Starts the thread that receives the signals. Without it (it failed to start), the
/// signals keep their default action.
#[cfg(unix)]
pub fn install() {
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP, SIGXFSZ])
    else {
        return;
    };
    let _ = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                received(signal);
            }
        });
}

/// Windows: the C runtime's handler sets a flag per signal, and a thread polls them
/// (two Ctrl-C within one 20 ms poll count as one).
#[cfg(not(unix))]
pub fn install() {
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;
    let flags: Vec<(i32, Arc<AtomicBool>)> = [SIGINT, SIGTERM]
        .into_iter()
        .filter_map(|signal| {
            let flag = Arc::new(AtomicBool::new(false));
            signal_hook::flag::register(signal, Arc::clone(&flag))
                .ok()
                .map(|_| (signal, flag))
        })
        .collect();
    let _ = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            loop {
                for (signal, flag) in &flags {
                    if flag.swap(false, Ordering::SeqCst) {
                        received(*signal);
                    }
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        });
}

/// Alive while a helper program handoff waits for runs (see [`child`]).
pub struct ChildRunning(());

/// Notes that the helper with process id `pid`, the leader of a process group of its
/// own, runs until the guard is dropped: a signal that ends handoff meanwhile sends
/// that group (pass, and the gpg it started) SIGTERM first.
pub fn child(pid: u32) -> ChildRunning {
    CHILD.store(i32::try_from(pid).unwrap_or(0), Ordering::SeqCst);
    ChildRunning(())
}

impl Drop for ChildRunning {
    fn drop(&mut self) {
        CHILD.store(0, Ordering::SeqCst);
    }
}

/// Ends the helper program, if one runs (Unix; elsewhere it is left to the OS).
fn end_child() {
    let pid = CHILD.swap(0, Ordering::SeqCst);
    #[cfg(unix)]
    if let Some(pid) = rustix::process::Pid::from_raw(pid) {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::TERM);
    }
    #[cfg(not(unix))]
    let _ = pid;
}

/// As if handoff had no handler: the process ends by this signal (and so does the
/// helper program it waits for).
fn default_action(signal: i32) {
    end_child();
    #[cfg(unix)]
    let _ = signal_hook::low_level::emulate_default_handler(signal);
    #[cfg(not(unix))]
    signal_hook::low_level::exit(128 + signal);
}

fn received(signal: i32) {
    if signal == SIGXFSZ {
        return;
    }
    if CHANGING.load(Ordering::SeqCst) == 0 {
        default_action(signal);
        return;
    }
    during_change(signal);
    HANDLED.fetch_add(1, Ordering::SeqCst);
}

/// A signal during a change: the first is noted, the second says what is left, the
/// third ends the process.
fn during_change(signal: i32) {
    let n = COUNT.fetch_add(1, Ordering::SeqCst) + 1;
    let name = name(signal);
    match n {
        // The notice first (for at most SHORT), then the flag: the run's own error,
        // which the flag brings on, then comes after it, in the order things happened.
        1 => {
            notice(
                format!(
                    "handoff: {name} received: no new change will start; the one in flight finishes first"
                ),
                SHORT,
            );
            let _ = RECEIVED.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
        }
        2 => {
            let left = LEFT.lock().map(|l| l.0.join(", ")).unwrap_or_default();
            let left = if left.is_empty() {
                "nothing of this run's is left to undo".to_string()
            } else {
                format!("stopping now would leave {left}")
            };
            notice(
                format!(
                    "handoff: {name} again: the rollback goes on ({left}); send it once more to stop at once"
                ),
                SHORT,
            );
        }
        _ => {
            let (left, command) = LEFT.lock().map(|l| l.clone()).unwrap_or_default();
            let text = if left.is_empty() {
                format!("handoff: stopped at once by {name}")
            } else {
                format!(
                    "handoff: stopped at once by {name}, leaving {}; clean up with: handoff recover (or: {command})",
                    left.join(", ")
                )
            };
            notice(text, LAST_WORDS);
            end_child();
            signal_hook::low_level::exit(128 + signal);
        }
    }
}

/// How long the signal thread waits for a notice to be written.
const SHORT: std::time::Duration = std::time::Duration::from_millis(200);
/// How long the third signal waits for its notice before the process ends anyway.
const LAST_WORDS: std::time::Duration = std::time::Duration::from_secs(1);

/// Says `text` on a thread of its own, waiting at most `wait` for it: a blocked
/// stderr (output paused with Ctrl-S, a stopped pager) must not keep the signal thread
/// from the next signal, nor the third from ending the process.
fn notice(text: String, wait: std::time::Duration) {
    let (done, written) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("notice".into())
        .spawn(move || {
            crate::say!("{text}");
            let _ = done.send(());
        });
    if spawned.is_ok() {
        let _ = written.recv_timeout(wait);
    }
}

/// How the user knows the signal.
fn name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "SIGINT (Ctrl-C)",
        SIGTERM => "SIGTERM",
        SIGHUP => "SIGHUP (the terminal closed)",
        _ => "a signal",
    }
}

/// Alive while a command changes something: signals are then deferred to [`check`].
pub struct Changing(());

/// Starts a change: from now until the guard is dropped, SIGINT, SIGTERM and SIGHUP
/// no longer end the process at once.
pub fn changing() -> Changing {
    CHANGING.fetch_add(1, Ordering::SeqCst);
    Changing(())
}

impl Drop for Changing {
    fn drop(&mut self) {
        CHANGING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The first signal received during a change, if any.
pub fn signal() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// Before each change: fails once a signal was received, naming the change that will
/// not be made.
pub fn check(next: &str) -> Result<(), Error> {
    match signal() {
        None => Ok(()),
        Some(s) => Err(Error::new(
            exit_code(s),
            format!("stopped by {} before {next}", name(s)),
        )
        .fix("nothing is half-done; run the command again when you are ready")),
    }
}

/// The exit code for a signal: 128 + its number, as shells report it.
pub fn exit_code(signal: i32) -> ExitCode {
    match signal {
        SIGHUP => ExitCode::Hangup,
        SIGTERM => ExitCode::Terminated,
        _ => ExitCode::Interrupted,
    }
}

/// After a run that finished: a signal that came during its last change (which was
/// completed, as every change is) is said, so that the user knows nothing was stopped.
pub fn report_finished() {
    if let Some(s) = signal() {
        crate::say!(
            "handoff: {} came during the last change, which completed: the run finished",
            name(s)
        );
    }
}

/// Records what would be left in AWS if the process stopped now, and the command that
/// would clean it up (for the second and third signals' messages).
pub fn set_left(left: Vec<String>, command: String) {
    if let Ok(mut l) = LEFT.lock() {
        *l = (left, command);
    }
}

/// Debug builds only: `HANDOFF_TEST_SIGNAL=POINT:SIG[,POINT:SIG…]` sends SIG (INT,
/// TERM, HUP, KILL, or STOP to pause there) to this process at the named points, one entry after the other
/// (each fires once), and waits until it has been received, so that a test can
/// interrupt each step exactly there. Points are a change's AWS action or step name,
/// right after its answer arrived (`CreateUser`, …, `keychain`, `bundle`, `deliver`,
/// `DeleteAccessKey`, revoke's `delete`), `undo`, before each rollback step, and
/// `recover`, before each of recover's undos.
pub fn test_point(point: &str) {
    if !cfg!(debug_assertions) {
        return;
    }
    let Some(spec) = std::env::var_os("HANDOFF_TEST_SIGNAL") else {
        return;
    };
    let spec = spec.to_string_lossy();
    let next = FIRED.load(Ordering::SeqCst);
    let Some((at, sig)) = spec.split(',').nth(next).and_then(|e| e.rsplit_once(':')) else {
        return;
    };
    if at != point {
        return;
    }
    FIRED.fetch_add(1, Ordering::SeqCst);
    send_self(sig);
}

/// Sends this process the signal named INT, TERM, HUP, KILL or STOP, and waits until
/// the signal thread has counted it (Unix; a test switch only).
#[cfg(not(unix))]
fn send_self(_sig: &str) {}

#[cfg(unix)]
fn send_self(sig: &str) {
    use rustix::process::{Signal, getpid, kill_process};
    let signal = match sig {
        "INT" => Signal::INT,
        "TERM" => Signal::TERM,
        "HUP" => Signal::HUP,
        "KILL" => Signal::KILL,
        // Paused there until the test sends SIGCONT: it can act meanwhile.
        "STOP" => {
            let _ = kill_process(getpid(), Signal::STOP);
            return;
        }
        _ => return,
    };
    let before = HANDLED.load(Ordering::SeqCst);
    let _ = kill_process(getpid(), signal);
    for _ in 0..500 {
        if HANDLED.load(Ordering::SeqCst) > before {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}
