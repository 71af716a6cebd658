//! The printable runbook: `runbook.html`, one self-contained file.
//!
//! The content is the Markdown runbook's, turned into HTML by pulldown-cmark;
//! the page around it (cover with approvals, contents, print CSS, a sign-off
//! box after each step) comes from `runbook/page.html.hbs` and
//! `runbook/signoff.html.hbs`. Raw HTML inside the Markdown is never passed
//! through: it is shown as text, so a value that slipped past Markdown
//! escaping still cannot become markup.

use pulldown_cmark::{CowStr, Event, Options, Parser};
use serde_json::{Value, json};

use super::RunbookParts;
use super::context::Provenance;
use super::registry::{Registry, TemplateError};
use crate::model::Topology;
use crate::plan::Plan;

/// Where the page template wants the body; the body is generated, never templated.
pub const BODY_MARKER: &str = "<!-- runsheet:body -->";

/// Markdown → HTML with tables, task lists and footnotes; raw HTML escaped.
pub fn markdown_to_html(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_TASKLISTS | Options::ENABLE_FOOTNOTES;
    let events = Parser::new_ext(markdown, options).map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(CowStr::from(raw.to_string())),
        other => other,
    });
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events);
    html
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
            let steps: Vec<Value> = phase
                .steps
                .iter()
                .map(
                    |step| json!({ "number": step.number, "title": step.title, "host": step.host }),
                )
                .collect();
            json!({ "number": phase.number.to_string(), "title": phase.title, "steps": steps })
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
        "phases": phases,
        "step_count": plan.steps.len().to_string(),
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
    body.push_str(&markdown_to_html(&super::tidy_markdown(&parts.head)));
    body.push_str("</section>\n");
    for phase in &parts.phases {
        body.push_str(&format!(
            "<section class=\"phase\" id=\"phase-{}\">\n",
            phase.number
        ));
        body.push_str(&markdown_to_html(&phase.heading));
        for step in &phase.steps {
            let class = if step.manual { "step manual" } else { "step" };
            body.push_str(&format!(
                "<section class=\"{class}\" id=\"step-{}\">\n",
                escape_id(&step.number)
            ));
            body.push_str(&markdown_to_html(&step.markdown));
            body.push_str(&registry.render(
                "runbook/signoff.html.hbs",
                &json!({ "number": step.number }),
            )?);
            body.push_str("</section>\n");
        }
        body.push_str("</section>\n");
    }
    if !parts.tail.is_empty() {
        body.push_str("<section class=\"phase backout\" id=\"backout\">\n");
        body.push_str(&markdown_to_html(&super::tidy_markdown(&parts.tail)));
        body.push_str("</section>\n");
    }
    body.push_str(after);
    Ok(body)
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
