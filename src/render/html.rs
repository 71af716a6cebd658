//! The printable runbook: `runbook.html`, one self-contained file.
//!
//! The content is the Markdown runbook's, turned into HTML by pulldown-cmark;
//! the page around it (cover with approvals, contents, print CSS, a sign-off
//! box after each step) comes from `runbook/page.html.hbs` and
//! `runbook/signoff.html.hbs`. Raw HTML inside the Markdown is never passed
//! through: it is shown as text, so a value that slipped past Markdown
//! escaping still cannot become markup.

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd};
use serde_json::{Value, json};

use super::RunbookParts;
use super::context::{self, Provenance};
use super::escape;
use super::registry::{Registry, TemplateError};
use crate::model::Topology;
use crate::plan::Plan;

/// Where the page template wants the body; the body is generated, never templated.
pub const BODY_MARKER: &str = "<!-- runsheet:body -->";

/// Markdown → HTML with tables, task lists and footnotes; raw HTML escaped.
///
/// An operator types what the page shows, so identifiers never break across
/// lines: inline code (names, addresses, shares, paths) breaks only after a
/// `\`; a command block also at its spaces; words of text that hold a
/// hyphen or a slash (host names such as `NODE-A`) never break.
pub fn markdown_to_html(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_TASKLISTS | Options::ENABLE_FOOTNOTES;
    let mut in_code_block = false;
    let events = Parser::new_ext(markdown, options).map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Html(CowStr::from(prose(&raw))),
        Event::Start(Tag::CodeBlock(kind)) => {
            in_code_block = true;
            Event::Start(Tag::CodeBlock(kind))
        }
        Event::End(TagEnd::CodeBlock) => {
            in_code_block = false;
            Event::End(TagEnd::CodeBlock)
        }
        Event::Text(text) if in_code_block => Event::Html(CowStr::from(code(&text, false))),
        Event::Text(text) => Event::Html(CowStr::from(prose(&text))),
        Event::Code(text) => {
            Event::Html(CowStr::from(format!("<code>{}</code>", code(&text, true))))
        }
        other => other,
    });
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events);
    html
}

/// Escaped text whose words with a hyphen or slash are kept whole.
fn prose(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (index, word) in text.split(' ').enumerate() {
        if index > 0 {
            out.push(' ');
        }
        if word.contains(['-', '/', '\\']) {
            out.push_str("<span class=\"nb\">");
            out.push_str(&html_text(word));
            out.push_str("</span>");
        } else {
            out.push_str(&html_text(word));
        }
    }
    out
}

/// Escaped code, in unbreakable pieces: a line may end after a `\`, or,
/// unless the code is one `identifier`, at a space. A piece longer than a
/// narrow table column gives in and breaks at its spaces too, rather than
/// run off the paper: long commands in prose, and the odd long folder name.
fn code(text: &str, identifier: bool) -> String {
    let spaces_hold = identifier && !text.contains('\n');
    let mut out = String::with_capacity(text.len() * 2);
    let mut piece = String::new();
    let flush = |piece: &mut String, out: &mut String| {
        if piece.is_empty() {
            return;
        }
        let long = piece.chars().count() > 28;
        if spaces_hold && long {
            out.push_str(&prose(piece));
        } else {
            out.push_str("<span class=\"nb\">");
            out.push_str(&html_text(piece));
            out.push_str("</span>");
        }
        piece.clear();
    };
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\n' if !spaces_hold => {
                flush(&mut piece, &mut out);
                out.push(c);
            }
            '\\' if chars.peek() != Some(&'\\') => {
                piece.push(c);
                flush(&mut piece, &mut out);
                out.push_str("<wbr>");
            }
            _ => piece.push(c),
        }
    }
    flush(&mut piece, &mut out);
    out
}

fn html_text(text: &str) -> String {
    escape::html(text).unwrap_or_default()
}

/// The whole page; `change` is the change summary for a change runbook's
/// cover, null for a build.
pub fn page(
    topology: &Topology,
    plan: &Plan,
    provenance: &Provenance,
    registry: &Registry,
    parts: &RunbookParts,
    change: Value,
) -> Result<String, TemplateError> {
    let phases: Vec<Value> = parts
        .phases
        .iter()
        .map(|phase| {
            let mut entries: Vec<Value> = Vec::new();
            for step in &phase.steps {
                for (index, notice) in step.notices.iter().enumerate() {
                    entries.push(json!({
                        "anchor": notice_anchor(&step.number, index),
                        "heading": notice.heading,
                        "notice": true,
                    }));
                }
                entries.push(json!({
                    "anchor": format!("step-{}", escape_id(&step.number)),
                    "heading": step.heading,
                    "notice": false,
                }));
            }
            let first = phase.steps.first().map_or("", |s| s.number.as_str());
            let last = phase.steps.last().map_or("", |s| s.number.as_str());
            let steps = if first == last {
                format!("step {first}")
            } else {
                format!("steps {first} to {last}")
            };
            json!({
                "number": phase.number.to_string(),
                "title": phase.title,
                "entries": entries,
                "header": format!("Phase {}: {}, {steps}", phase.number, phase.title),
            })
        })
        .collect();
    let clusters: Vec<Value> = topology
        .clusters
        .iter()
        .map(|cluster| json!({ "name": cluster.name, "cms": cluster.mailbox.name, "nodes": cluster.nodes.join(" and ") }))
        .collect();
    let context = json!({
        "generator": provenance.generator,
        "version": provenance.version,
        "topology_sha256": provenance.topology_sha256,
        "from_topology_sha256": provenance.from_topology_sha256,
        "change": change,
        "estate": {
            "name": topology.name,
            "fqdn": topology.domain.fqdn,
            "windows_name": topology.platform.windows.display_name(),
        },
        "clusters": clusters,
        "contacts": context::contacts_value(topology),
        "phases": phases,
        "window": context::window_value(plan),
        "step_count": plan.steps.len().to_string(),
        "footer": format!("Runbook {}", topology.name),
    });
    let page = registry.render("runbook/page.html.hbs", &context)?;
    let Some((before, after)) = page.split_once(BODY_MARKER) else {
        return Err(TemplateError::Render {
            name: "runbook/page.html.hbs".into(),
            message: format!(
                "the page template must contain {BODY_MARKER} once, where the runbook goes"
            ),
        });
    };

    let mut body = String::with_capacity(page.len() + parts.markdown_len() * 2);
    body.push_str(before);
    body.push_str("<section class=\"estate\">\n");
    // The cover already carries the title block: the page starts at the
    // runbook's first section.
    let head = super::tidy_markdown(&parts.head);
    let sections = head
        .find("\n## ")
        .map_or(head.as_str(), |start| &head[start + 1..]);
    body.push_str(&markdown_to_html(sections));
    body.push_str("</section>\n");
    for phase in &parts.phases {
        body.push_str(&format!(
            "<section class=\"phase\" id=\"phase-{}\">\n",
            phase.number
        ));
        body.push_str(&markdown_to_html(&phase.heading));
        for step in &phase.steps {
            for (index, notice) in step.notices.iter().enumerate() {
                let class = if notice.gate { "gate" } else { "no-return" };
                body.push_str(&format!(
                    "<section class=\"{class}\" id=\"{}\">\n",
                    notice_anchor(&step.number, index)
                ));
                body.push_str(&markdown_to_html(&notice.markdown));
                body.push_str("</section>\n");
            }
            let class = if step.manual { "step manual" } else { "step" };
            body.push_str(&format!(
                "<section class=\"{class}\" id=\"step-{}\">\n",
                escape_id(&step.number)
            ));
            body.push_str(&markdown_to_html(&without_done_box(&step.markdown)));
            body.push_str(&registry.render(
                "runbook/signoff.html.hbs",
                &json!({ "number": step.number }),
            )?);
            body.push_str("</section>\n");
        }
        body.push_str("</section>\n");
    }
    body.push_str("<section class=\"handover\" id=\"handover\">\n");
    body.push_str(&markdown_to_html(&parts.handover));
    body.push_str("</section>\n");
    body.push_str(after);
    Ok(body)
}

/// The Markdown runbook's "Step NNN done" box; on paper the sign-off table
/// below the step says it, with initials and times.
fn without_done_box(markdown: &str) -> String {
    markdown
        .lines()
        .filter(|line| !(line.starts_with("- [ ] Step ") && line.ends_with(" done")))
        .collect::<Vec<_>>()
        .join("\n")
}

fn notice_anchor(number: &str, index: usize) -> String {
    format!("before-{}-{index}", escape_id(number))
}

/// Step numbers are digits; anything else would not belong in an id.
fn escape_id(number: &str) -> String {
    number.chars().filter(char::is_ascii_alphanumeric).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_html_in_markdown_is_shown_as_text() {
        let html = markdown_to_html("a <script>alert(1)</script> b\n\n<div>x</div>\n");
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("<div>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
    }
}
