//! The `handoff` binary: harden the process, parse the command line, run, and map the
//! result to a documented exit code. Errors are printed once, on stderr.

#[global_allocator]
static ALLOCATOR: handoff::alloc::ZeroOnFree = handoff::alloc::ZeroOnFree;

fn main() -> std::process::ExitCode {
    handoff::harden::harden_process();
    handoff::exit_hooks::at_start();
    handoff::interrupt::install();
    let cli = handoff::cli::parse();
    let code = match handoff::run(cli) {
        Ok(()) => {
            handoff::interrupt::report_finished();
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            handoff::say!("handoff: {e}");
            std::process::ExitCode::from(e.code.code())
        }
    };
    handoff::exit_hooks::before_exit();
    code
}
