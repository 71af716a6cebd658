//! The replication health gate, named once: the scripts read its numbers
//! from the render context ([`value`]) and the runbook texts print the same
//! numbers through the macros below (step texts are `&'static str`, so the
//! numbers are literals that `concat!` can splice).
//!
//! Facts (Microsoft pages, Exchange 2007 SP1–SP3):
//! - Get-StorageGroupCopyStatus, aa997246(v=exchg.80): the documented output
//!   fields include `Identity`, `StorageGroupName`, `SummaryCopyStatus`,
//!   `Suspend`, `SuspendComment`, `CopyQueueLength`, `ReplayQueueLength`;
//!   `Name` is only the default table's column header.
//! - "Improvements to the Get-StorageGroupCopyStatus Cmdlet in SP1",
//!   bb629521(v=exchg.80): `LastLogGenerated`; an idle copy could report
//!   Healthy before a log was replayed (RTM), hence the check that a log
//!   written after a mount was copied and replayed.
//! - "Managing Cluster Continuous Replication", aa997676(v=exchg.80):
//!   `Initializing` means no log has been closed yet and the replication
//!   service waits for a closed log (typically right after it started).

use serde_json::{Value, json};

/// Logs that may wait to be copied to the passive node when the gate passes.
#[macro_export]
macro_rules! health_copy_queue_max {
    () => {
        0
    };
}

/// Logs that may wait to be replayed on the passive node when the gate passes.
#[macro_export]
macro_rules! health_replay_queue_max {
    () => {
        0
    };
}

/// How long a gate waits for its copies, in minutes.
#[macro_export]
macro_rules! health_wait_minutes {
    () => {
        10
    };
}

/// How often a gate reads the copy status while it waits, in seconds.
#[macro_export]
macro_rules! health_poll_seconds {
    () => {
        15
    };
}

/// The gate in the runbook's words.
#[macro_export]
macro_rules! health_gate {
    () => {
        concat!(
            "each copy `Healthy`, not suspended (`Suspend` False), at most ",
            $crate::health_copy_queue_max!(),
            " log(s) waiting to be copied (`CopyQueueLength`) and at most ",
            $crate::health_replay_queue_max!(),
            " waiting to be replayed (`ReplayQueueLength`) in the same reading; the step reads the status every ",
            $crate::health_poll_seconds!(),
            " seconds for up to ",
            $crate::health_wait_minutes!(),
            " minutes"
        )
    };
}

/// What `Initializing` means, in the runbook's words.
#[macro_export]
macro_rules! health_initializing {
    () => {
        "A copy that is `Initializing` right after a resume or on a new storage group waits for a closed log: that is no reason to reseed; let users' mail (or a test message to a mailbox of that database; a new database has no mailbox: create a test mailbox in it with `New-Mailbox -Database`, send it a message, and remove the mailbox after the window) fill a log and run the step again."
    };
}

/// The reseed procedure, in the runbook's words.
#[macro_export]
macro_rules! health_reseed {
    () => {
        "Before any reseed, rule out what a reseed does not fix: Active Directory replication (a change read from a domain controller that has not received it yet: wait and check again) and the Microsoft Exchange Replication service on the passive node (restart it there, `Restart-Service MSExchangeRepl`, and check again). Only then reseed, on the passive node, in an elevated Exchange Management Shell there: `Suspend-StorageGroupCopy -Identity <CMS\\storage group> -SuspendComment Reseed -Confirm:$false`; move the passive copy's database file, logs and checkpoint of that storage group aside into a new folder (never delete them: they are the way back); then `Update-StorageGroupCopy -Identity <CMS\\storage group> -Confirm:$false`, which copies the database from the active node over the network and resumes the copy. Do not rely on `-DeleteExistingFiles`: it removes only some of the files and fails when others are left."
    };
}

pub const COPY_QUEUE_MAX: u32 = health_copy_queue_max!();
pub const REPLAY_QUEUE_MAX: u32 = health_replay_queue_max!();
pub const WAIT_MINUTES: u32 = health_wait_minutes!();
pub const POLL_SECONDS: u32 = health_poll_seconds!();

/// The gate's numbers for the scripts, as strings: they reach PowerShell
/// through the `ps` helper like every other value.
pub fn value() -> Value {
    json!({
        "copy_queue_max": COPY_QUEUE_MAX.to_string(),
        "replay_queue_max": REPLAY_QUEUE_MAX.to_string(),
        "wait_minutes": WAIT_MINUTES.to_string(),
        "poll_seconds": POLL_SECONDS.to_string(),
        "reseed": strip_code(health_reseed!()),
    })
}

/// The runbook's text without its Markdown code marks, for a script message.
fn strip_code(text: &str) -> String {
    text.replace('`', "")
}
