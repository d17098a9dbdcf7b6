//! handoff's CLI integration tests: one binary, one small harness (`support`), one
//! module per area. Real parts only: the real `age`, `ssh-keygen` binaries, moto's IAM
//! server on 127.0.0.1, a private gnome-keyring. A test needing a missing tool skips
//! locally with a printed reason, and fails under CI=true. Linux only (the kernel
//! keyring, gnome-keyring, /proc, signals): on macOS and Windows this binary is empty
//! and the unit tests run (README: "What is tested where").
#![cfg(target_os = "linux")]

mod boundary;
mod bundles;
mod crash;
mod credentials;
mod csv;
mod dist;
mod encoders;
mod hostile;
mod iam;
mod keyring;
mod memory;
mod moto;
mod openpgp;
mod plugins;
mod realism;
mod receipt;
mod signals;
mod signing;
mod stderr;
mod stores;
mod support;
mod terminal;
