//! Process hardening done once at start: no core dumps (a crash must not write the
//! secrets in memory to disk) and not dumpable (other processes of the same user cannot
//! ptrace us or read /proc/PID/mem). Best effort: a failure here never stops the command.
//! Unix only: on Windows nothing is set (SECURITY.md says what that leaves).

/// Sets RLIMIT_CORE to 0 and marks the process not dumpable.
pub fn harden_process() {
    #[cfg(unix)]
    unix();
}

#[cfg(unix)]
fn unix() {
    let none = rustix::process::Rlimit {
        current: Some(0),
        maximum: Some(0),
    };
    let _ = rustix::process::setrlimit(rustix::process::Resource::Core, none);
    #[cfg(target_os = "linux")]
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
}
