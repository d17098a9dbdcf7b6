//! Progress of a run that talks to AWS, on stderr: a spinner with a line per finished
//! step on a terminal, plain lines otherwise, nothing when quiet. The lines carry IAM's
//! answers, so each is escaped for the terminal.

/// Reports progress on stderr: a spinner with a line per finished step on a terminal,
/// plain lines otherwise, nothing with --quiet.
pub struct Progress {
    quiet: bool,
    spinner: Option<indicatif::ProgressBar>,
}

impl Progress {
    /// A reporter; `quiet` prints nothing.
    pub fn new(quiet: bool) -> Progress {
        use std::io::IsTerminal;
        let spinner = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let pb = indicatif::ProgressBar::new_spinner();
            if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {msg}") {
                pb.set_style(style);
            }
            pb.set_message("talking to AWS…");
            pb.enable_steady_tick(std::time::Duration::from_millis(100));
            pb
        });
        Progress { quiet, spinner }
    }

    /// Reports one finished step (escaped for the terminal).
    pub fn step(&self, line: impl AsRef<str>) {
        if self.quiet {
            return;
        }
        match &self.spinner {
            // IAM's answers (ARNs, ids, policy names) end up in these lines.
            Some(pb) => pb.println(format!("• {}", crate::sanitize::escape_raw(line.as_ref()))),
            None => crate::say!("• {}", crate::sanitize::escape_raw(line.as_ref())),
        }
    }
}

impl Progress {
    /// Runs `f` (a question on the terminal) with the spinner hidden and still: its
    /// redraws would erase the question's line.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.spinner {
            Some(pb) => pb.suspend(f),
            None => f(),
        }
    }

    /// A reporter that prints nothing (`--quiet`, `--json`, tests).
    pub fn silent() -> Progress {
        Progress {
            quiet: true,
            spinner: None,
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(pb) = &self.spinner {
            pb.finish_and_clear();
        }
    }
}
