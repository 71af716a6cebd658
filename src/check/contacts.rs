//! Contacts: someone the operator cannot reach is no contact.

use crate::diag::{Code, Diagnostic};
use crate::model::Topology;

pub(super) fn check(topology: &Topology, found: &mut Vec<Diagnostic>) {
    for (i, contact) in topology.contacts.iter().enumerate() {
        let blank = |value: &Option<String>| value.as_deref().is_none_or(|v| v.trim().is_empty());
        if blank(&contact.phone) && blank(&contact.email) {
            found.push(
                Diagnostic::error(
                    Code::ContactUnreachable,
                    format!("/contacts/{i}"),
                    format!(
                        "contact {} ({}) has neither a phone number nor an e-mail address",
                        contact.name, contact.role
                    ),
                )
                .with_help("add `phone:` or `email:` (or both): the operator must be able to reach them during the window"),
            );
        }
    }
}
