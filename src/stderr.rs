//! Messages on standard error that never fail the run. `eprintln!` panics when stderr
//! is gone (a closed terminal, a closed pipe), which would abort a rollback halfway;
//! here a message that cannot be written is dropped.

use std::io::Write;

/// Writes the message and a newline; an error writing is ignored.
pub fn line(message: std::fmt::Arguments) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_fmt(message);
    let _ = err.write_all(b"\n");
}

/// Writes the message with no newline (a prompt); an error writing is ignored.
pub fn text(message: std::fmt::Arguments) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_fmt(message);
    let _ = err.flush();
}

/// `eprintln!` that never panics: see [`line`].
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::stderr::line(format_args!($($arg)*))
    };
}
