//! The one integration-test binary (`autotests = false`): each module is a
//! family of tests against the public library and the real binary.

mod build;
mod change;
mod cli;
mod coverage;
mod dialect;
mod diff;
mod golden;
mod guards;
mod harness;
mod health;
mod html;
mod invalid;
mod markdown;
mod powershell;
mod prover;
mod psversion;
mod readme;
mod restarts;
mod schema;
mod window;
mod window_guards;
mod wording;
