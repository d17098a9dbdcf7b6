//! `handoff man`: the man pages, generated from the clap definitions, so they never
//! drift from the real flags: `handoff.1` on standard output, or with `--dir DIR` that
//! and one page per command (`handoff-open.1`, `handoff-keychain-list.1`, …), as
//! `man handoff-open` expects them.

use std::path::Path;

use crate::error::{Error, ExitCode, Result};
use crate::output::write_stdout;

/// Prints the top-level page, or writes every page into `dir`.
pub fn run(dir: Option<&Path>) -> Result<()> {
    match dir {
        None => write_stdout(&render(&clap_mangen::Man::new(crate::cli::command()))?),
        Some(dir) => write_all(dir),
    }
}

fn write_all(dir: &Path) -> Result<()> {
    let mut command = crate::cli::command().disable_help_subcommand(true);
    command.build();
    let mut pages = Vec::new();
    collect(command, &mut pages);
    for page in &pages {
        let path = dir.join(page.get_filename());
        // Man pages hold no secret: written in place, replacing an older page.
        std::fs::write(&path, render(page)?).map_err(|e| {
            Error::output(format!(
                "cannot write {}: {e}",
                crate::error::shown(&path.display().to_string())
            ))
            .fix("give --dir a directory you can write (it must exist)")
        })?;
    }
    crate::say!(
        "Wrote {} man pages into {}.",
        pages.len(),
        crate::error::shown(&dir.display().to_string())
    );
    Ok(())
}

/// The page of `command` and of each command under it.
fn collect(command: clap::Command, pages: &mut Vec<clap_mangen::Man>) {
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        collect(sub.clone(), pages);
    }
    pages.push(clap_mangen::Man::new(command));
}

fn render(page: &clap_mangen::Man) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    page.render(&mut buf).map_err(|e| {
        Error::new(
            ExitCode::Internal,
            format!("cannot render the man page: {e}"),
        )
    })?;
    Ok(buf)
}
