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

use super::Notice;
use super::context::{self, Provenance};
use super::escape;
use super::registry::{Registry, TemplateError};
use crate::model::Topology;
use crate::plan::{Kind, Plan, Step};

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
    // Inside an image, pulldown-cmark writes text into the alt attribute and
    // drops HTML events: text is passed through only outside images.
    let mut in_image = 0usize;
    let events = Parser::new_ext(markdown, options).map(|event| match event {
        Event::Start(Tag::Image { .. }) => {
            in_image += 1;
            event
        }
        Event::End(TagEnd::Image) => {
            in_image = in_image.saturating_sub(1);
            event
        }
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
        // pulldown-cmark escapes `&`, `<` and `>` as `escape::html` does;
        // words with a quote, hyphen or slash need more.
        Event::Text(text) if in_image == 0 && !text.contains(['-', '/', '\\', '"', '\'']) => {
            Event::Text(text)
        }
        Event::Text(text) => Event::Html(CowStr::from(prose(&text))),
        Event::Code(text) => {
            let mut html = String::with_capacity(text.len() + 32);
            html.push_str("<code>");
            push_code(&mut html, &text, true);
            html.push_str("</code>");
            Event::Html(CowStr::from(html))
        }
        other => other,
    });
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events);
    html
}

/// Escaped text whose words with a hyphen or slash are kept whole.
fn prose(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    push_prose(&mut out, text);
    out
}

fn push_prose(out: &mut String, text: &str) {
    for (index, word) in text.split(' ').enumerate() {
        if index > 0 {
            out.push(' ');
        }
        if word.contains(['-', '/', '\\']) {
            out.push_str("<span class=\"nb\">");
            escape::push_html(out, word);
            out.push_str("</span>");
        } else {
            escape::push_html(out, word);
        }
    }
}

/// Escaped code, in unbreakable pieces: a line may end after a `\`, or,
/// unless the code is one `identifier`, at a space. A piece longer than a
/// narrow table column gives in and breaks at its spaces too, rather than
/// run off the paper: long commands in prose, and the odd long folder name.
fn code(text: &str, identifier: bool) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    push_code(&mut out, text, identifier);
    out
}

fn push_code(out: &mut String, text: &str, identifier: bool) {
    let spaces_hold = identifier && !text.contains('\n');
    let flush = |piece: &str, out: &mut String| {
        if piece.is_empty() {
            return;
        }
        let long = piece.chars().count() > 28;
        if spaces_hold && long {
            push_prose(out, piece);
        } else {
            out.push_str("<span class=\"nb\">");
            escape::push_html(out, piece);
            out.push_str("</span>");
        }
    };
    let bytes = text.as_bytes();
    let mut start = 0;
    for (at, c) in text.char_indices() {
        match c {
            ' ' | '\n' if !spaces_hold => {
                flush(&text[start..at], out);
                out.push(c);
                start = at + 1;
            }
            '\\' if bytes.get(at + 1) != Some(&b'\\') => {
                flush(&text[start..=at], out);
                out.push_str("<wbr>");
                start = at + 1;
            }
            _ => {}
        }
    }
    flush(&text[start..], out);
}

/// The page around the runbook's body, split where the body goes: the
/// cover and the contents before it, the end of the page after. `cover` is
/// the change summary for a change runbook's cover, null for a build.
pub fn page_frame(
    topology: &Topology,
    plan: &Plan,
    provenance: &Provenance,
    registry: &Registry,
    notices: &[(String, Notice)],
    cover: Value,
) -> Result<(String, String), TemplateError> {
    let mut phases: Vec<Value> = Vec::new();
    for steps in plan.steps.chunk_by(|a, b| a.phase == b.phase) {
        let mut entries: Vec<Value> = Vec::new();
        for step in steps {
            let number = step.label();
            let before = notices.iter().filter(|(id, _)| *id == step.id);
            for (index, (_, notice)) in before.enumerate() {
                entries.push(json!({
                    "anchor": notice_anchor(&number, index),
                    "heading": notice.heading,
                    "notice": true,
                }));
            }
            entries.push(json!({
                "anchor": format!("step-{}", escape_id(&number)),
                "heading": context::step_heading(step),
                "notice": false,
            }));
        }
        let (Some(first), Some(last)) = (steps.first(), steps.last()) else {
            continue;
        };
        let range = if steps.len() == 1 {
            format!("step {}", first.label())
        } else {
            format!("steps {} to {}", first.label(), last.label())
        };
        phases.push(json!({
            "number": first.phase.to_string(),
            "title": first.phase_title,
            "entries": entries,
            "header": format!("Phase {}: {}, {range}", first.phase, first.phase_title),
        }));
    }
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
        "change": cover,
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
    match page.split_once(BODY_MARKER) {
        Some((before, after)) => Ok((before.to_owned(), after.to_owned())),
        None => Err(TemplateError::Render {
            name: "runbook/page.html.hbs".into(),
            message: format!(
                "the page template must contain {BODY_MARKER} once, where the runbook goes"
            ),
        }),
    }
}

/// Closes a section the body opened.
pub const SECTION_END: &str = "</section>\n";

/// The runbook's head, from its first section: the cover already carries
/// the title block.
pub fn estate_section(head: &str) -> String {
    let head = super::tidy_markdown(head);
    let sections = head
        .find("\n## ")
        .map_or(head.as_str(), |start| &head[start + 1..]);
    format!(
        "<section class=\"estate\">\n{}</section>\n",
        markdown_to_html(sections)
    )
}

/// Opens a phase's section, with its heading; [`SECTION_END`] closes it.
pub fn phase_start(number: u8, heading: &str) -> String {
    format!(
        "<section class=\"phase\" id=\"phase-{number}\">\n{}",
        markdown_to_html(heading)
    )
}

/// A go/no-go gate or the point of no return, before `step`; `index` counts
/// the notices before the same step.
pub fn notice_section(step: &Step, index: usize, notice: &Notice) -> String {
    let class = if notice.gate { "gate" } else { "no-return" };
    format!(
        "<section class=\"{class}\" id=\"{}\">\n{}</section>\n",
        notice_anchor(&step.label(), index),
        markdown_to_html(&notice.markdown)
    )
}

/// A step's section: its Markdown entry, then the sign-off box.
pub fn step_section(
    registry: &Registry,
    step: &Step,
    markdown: &str,
) -> Result<String, TemplateError> {
    let number = step.label();
    let class = if step.kind == Kind::Manual {
        "step manual"
    } else {
        "step"
    };
    let signoff = registry.render("runbook/signoff.html.hbs", &json!({ "number": number }))?;
    Ok(format!(
        "<section class=\"{class}\" id=\"step-{}\">\n{}{signoff}</section>\n",
        escape_id(&number),
        markdown_to_html(&without_done_box(markdown))
    ))
}

/// The last section: handover, or a change's back-out.
pub fn closing_section(markdown: &str) -> String {
    format!(
        "<section class=\"handover\" id=\"handover\">\n{}</section>\n",
        markdown_to_html(markdown)
    )
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
    fn an_image_keeps_the_alt_text_it_had() {
        // Text events became HTML events, which pulldown-cmark leaves out of
        // an image's alt attribute; plain words must not change that.
        let html = markdown_to_html("![Cluster diagram](d.png)\n");
        assert!(html.contains("alt=\"\""), "{html}");
    }

    #[test]
    fn raw_html_in_markdown_is_shown_as_text() {
        let html = markdown_to_html("a <script>alert(1)</script> b\n\n<div>x</div>\n");
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("<div>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
    }
}
