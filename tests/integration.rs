//! The one integration-test binary (`autotests = false`): each module is a
//! family of tests against the public library and the real binary.

mod cli;
mod harness;
mod invalid;
mod readme;
mod schema;
