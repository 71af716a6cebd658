//! The template registries: one per output language, built once per run.
//!
//! Every registry runs in strict mode (a missing value is an error, not an
//! empty string) with HTML escaping off (handlebars would otherwise turn `&`
//! into `&amp;` inside a `.cmd`). Values reach output only through the
//! escaping helpers of [`HELPERS`]; the same table drives registration and the
//! scan that refuses a template with a raw interpolation, embedded or
//! overriding.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use handlebars::template::{DecoratorTemplate, Template, TemplateElement};
use handlebars::{
    Context, Handlebars, Helper, HelperDef, HelperResult, Output, RenderContext, RenderError,
    RenderErrorReason, Renderable,
};
use rayon::prelude::*;

use super::escape::{self, Unsafe};

/// The language a template writes, which decides the helpers it may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Language {
    Cmd,
    PowerShell,
    Markdown,
    Html,
}

type EscapeFn = fn(&str) -> Result<String, Unsafe>;

/// Escaping helpers: name, function, language that may use it.
pub const HELPERS: &[(&str, EscapeFn, Language)] = &[
    ("cmd", escape::cmd_arg, Language::Cmd),
    ("cmd_text", escape::cmd_text, Language::Cmd),
    ("cmd_ip", escape::cmd_ip, Language::Cmd),
    ("cmd_drive", escape::cmd_drive, Language::Cmd),
    ("ps", escape::ps_literal, Language::PowerShell),
    ("ps_comment", escape::ps_comment, Language::PowerShell),
    ("md_code", escape::md_code, Language::Markdown),
    ("md_text", escape::md_text, Language::Markdown),
    ("md_prose", escape::md_prose, Language::Markdown),
    ("md_cell", escape::md_cell, Language::Markdown),
    ("md_command", escape::md_command, Language::Markdown),
    ("html", escape::html, Language::Html),
    ("css_string", escape::css_string, Language::Html),
];

/// Block helpers: they render their own content, which is scanned like the rest.
pub const BLOCK_HELPERS: &[(&str, Language)] = &[("say", Language::Cmd)];

/// The embedded templates: name (also the override file name), language, text.
pub const TEMPLATES: &[(&str, Language, &str)] = &[
    (
        "cmd/_footer.cmd.hbs",
        Language::Cmd,
        include_str!("../../templates/cmd/_footer.cmd.hbs"),
    ),
    (
        "cmd/_header.cmd.hbs",
        Language::Cmd,
        include_str!("../../templates/cmd/_header.cmd.hbs"),
    ),
    (
        "cmd/_restart.cmd.hbs",
        Language::Cmd,
        include_str!("../../templates/cmd/_restart.cmd.hbs"),
    ),
    (
        "cmd/_servermanager.cmd.hbs",
        Language::Cmd,
        include_str!("../../templates/cmd/_servermanager.cmd.hbs"),
    ),
    (
        "cmd/add-node.cmd.hbs",
        Language::Cmd,
        include_str!("../../templates/cmd/add-node.cmd.hbs"),
    ),
    (
        "cmd/create-cluster.cmd.hbs",
        Language::Cmd,
        include_str!("../../templates/cmd/create-cluster.cmd.hbs"),
    ),
    (
        "cmd/exchange-prerequisites.cmd.hbs",
        Language::Cmd,
        include_str!("../../templates/cmd/exchange-prerequisites.cmd.hbs"),
    ),
    (
        "cmd/install-failover-clustering.cmd.hbs",
        Language::Cmd,
        include_str!("../../templates/cmd/install-failover-clustering.cmd.hbs"),
    ),
    (
        "cmd/execution-policy.cmd.hbs",
        Language::Cmd,
        include_str!("../../templates/cmd/execution-policy.cmd.hbs"),
    ),
    (
        "cmd/ps1-launcher.cmd.hbs",
        Language::Cmd,
        include_str!("../../templates/cmd/ps1-launcher.cmd.hbs"),
    ),
    (
        "cmd/preflight.cmd.hbs",
        Language::Cmd,
        include_str!("../../templates/cmd/preflight.cmd.hbs"),
    ),
    (
        "cmd/quorum.cmd.hbs",
        Language::Cmd,
        include_str!("../../templates/cmd/quorum.cmd.hbs"),
    ),
    (
        "cmd/restore-execution-policy.cmd.hbs",
        Language::Cmd,
        include_str!("../../templates/cmd/restore-execution-policy.cmd.hbs"),
    ),
    (
        "cmd/witness-share.cmd.hbs",
        Language::Cmd,
        include_str!("../../templates/cmd/witness-share.cmd.hbs"),
    ),
    (
        "ps1/_adminpath.ps1.hbs",
        Language::PowerShell,
        include_str!("../../templates/ps1/_adminpath.ps1.hbs"),
    ),
    (
        "ps1/_clusterwmi.ps1.hbs",
        Language::PowerShell,
        include_str!("../../templates/ps1/_clusterwmi.ps1.hbs"),
    ),
    (
        "ps1/_copyhealth.ps1.hbs",
        Language::PowerShell,
        include_str!("../../templates/ps1/_copyhealth.ps1.hbs"),
    ),
    (
        "ps1/_exchange.ps1.hbs",
        Language::PowerShell,
        include_str!("../../templates/ps1/_exchange.ps1.hbs"),
    ),
    (
        "ps1/_move.ps1.hbs",
        Language::PowerShell,
        include_str!("../../templates/ps1/_move.ps1.hbs"),
    ),
    (
        "ps1/_restart.ps1.hbs",
        Language::PowerShell,
        include_str!("../../templates/ps1/_restart.ps1.hbs"),
    ),
    (
        "ps1/_setup.ps1.hbs",
        Language::PowerShell,
        include_str!("../../templates/ps1/_setup.ps1.hbs"),
    ),
    (
        "ps1/_snapin.ps1.hbs",
        Language::PowerShell,
        include_str!("../../templates/ps1/_snapin.ps1.hbs"),
    ),
    (
        "ps1/_header.ps1.hbs",
        Language::PowerShell,
        include_str!("../../templates/ps1/_header.ps1.hbs"),
    ),
    (
        "ps1/_change.ps1.hbs",
        Language::PowerShell,
        include_str!("../../templates/ps1/_change.ps1.hbs"),
    ),
    (
        "ps1/change-precheck.ps1.hbs",
        Language::PowerShell,
        include_str!("../../templates/ps1/change-precheck.ps1.hbs"),
    ),
    (
        "ps1/change-move-configuration.ps1.hbs",
        Language::PowerShell,
        include_str!("../../templates/ps1/change-move-configuration.ps1.hbs"),
    ),
    (
        "ps1/change-move-files.ps1.hbs",
        Language::PowerShell,
        include_str!("../../templates/ps1/change-move-files.ps1.hbs"),
    ),
    (
        "ps1/change-mount-and-resume.ps1.hbs",
        Language::PowerShell,
        include_str!("../../templates/ps1/change-mount-and-resume.ps1.hbs"),
    ),
    (
        "ps1/change-remove-storage-group.ps1.hbs",
        Language::PowerShell,
        include_str!("../../templates/ps1/change-remove-storage-group.ps1.hbs"),
    ),
    (
        "ps1/_change_move.ps1.hbs",
        Language::PowerShell,
        include_str!("../../templates/ps1/_change_move.ps1.hbs"),
    ),
    (
        "ps1/_files.ps1.hbs",
        Language::PowerShell,
        include_str!("../../templates/ps1/_files.ps1.hbs"),
    ),
    (
        "ps1/_filemove.ps1.hbs",
        Language::PowerShell,
        include_str!("../../templates/ps1/_filemove.ps1.hbs"),
    ),
    (
        "ps1/cluster-networks.ps1.hbs",
        Language::PowerShell,
        include_str!("../../templates/ps1/cluster-networks.ps1.hbs"),
    ),
    (
        "ps1/create-storage-folders.ps1.hbs",
        Language::PowerShell,
        include_str!("../../templates/ps1/create-storage-folders.ps1.hbs"),
    ),
    (
        "ps1/create-storage-groups.ps1.hbs",
        Language::PowerShell,
        include_str!("../../templates/ps1/create-storage-groups.ps1.hbs"),
    ),
    (
        "ps1/final-verification.ps1.hbs",
        Language::PowerShell,
        include_str!("../../templates/ps1/final-verification.ps1.hbs"),
    ),
    (
        "ps1/mount-and-resume.ps1.hbs",
        Language::PowerShell,
        include_str!("../../templates/ps1/mount-and-resume.ps1.hbs"),
    ),
    (
        "ps1/move-database-files.ps1.hbs",
        Language::PowerShell,
        include_str!("../../templates/ps1/move-database-files.ps1.hbs"),
    ),
    (
        "ps1/setup-active-cms.ps1.hbs",
        Language::PowerShell,
        include_str!("../../templates/ps1/setup-active-cms.ps1.hbs"),
    ),
    (
        "ps1/setup-passive-node.ps1.hbs",
        Language::PowerShell,
        include_str!("../../templates/ps1/setup-passive-node.ps1.hbs"),
    ),
    (
        "ps1/suspend-and-move-paths.ps1.hbs",
        Language::PowerShell,
        include_str!("../../templates/ps1/suspend-and-move-paths.ps1.hbs"),
    ),
    (
        "ps1/validate-cluster.ps1.hbs",
        Language::PowerShell,
        include_str!("../../templates/ps1/validate-cluster.ps1.hbs"),
    ),
    (
        "ps1/verify-cms.ps1.hbs",
        Language::PowerShell,
        include_str!("../../templates/ps1/verify-cms.ps1.hbs"),
    ),
    (
        "runbook/_overview.md.hbs",
        Language::Markdown,
        include_str!("../../templates/runbook/_overview.md.hbs"),
    ),
    (
        "runbook/_window.md.hbs",
        Language::Markdown,
        include_str!("../../templates/runbook/_window.md.hbs"),
    ),
    (
        "runbook/gate.md.hbs",
        Language::Markdown,
        include_str!("../../templates/runbook/gate.md.hbs"),
    ),
    (
        "runbook/handover.md.hbs",
        Language::Markdown,
        include_str!("../../templates/runbook/handover.md.hbs"),
    ),
    (
        "runbook/no-return.md.hbs",
        Language::Markdown,
        include_str!("../../templates/runbook/no-return.md.hbs"),
    ),
    (
        "runbook/page.html.hbs",
        Language::Html,
        include_str!("../../templates/runbook/page.html.hbs"),
    ),
    (
        "runbook/phase.md.hbs",
        Language::Markdown,
        include_str!("../../templates/runbook/phase.md.hbs"),
    ),
    (
        "runbook/runbook.md.hbs",
        Language::Markdown,
        include_str!("../../templates/runbook/runbook.md.hbs"),
    ),
    (
        "runbook/_dryrun.md.hbs",
        Language::Markdown,
        include_str!("../../templates/runbook/_dryrun.md.hbs"),
    ),
    (
        "runbook/_running.md.hbs",
        Language::Markdown,
        include_str!("../../templates/runbook/_running.md.hbs"),
    ),
    (
        "runbook/change.md.hbs",
        Language::Markdown,
        include_str!("../../templates/runbook/change.md.hbs"),
    ),
    (
        "runbook/change-backout.md.hbs",
        Language::Markdown,
        include_str!("../../templates/runbook/change-backout.md.hbs"),
    ),
    (
        "runbook/signoff.html.hbs",
        Language::Html,
        include_str!("../../templates/runbook/signoff.html.hbs"),
    ),
    (
        "runbook/step-head.md.hbs",
        Language::Markdown,
        include_str!("../../templates/runbook/step-head.md.hbs"),
    ),
    (
        "runbook/step-tail.md.hbs",
        Language::Markdown,
        include_str!("../../templates/runbook/step-tail.md.hbs"),
    ),
    (
        "manual/change-confirm-removal.md.hbs",
        Language::Markdown,
        include_str!("../../templates/manual/change-confirm-removal.md.hbs"),
    ),
    (
        "manual/check-cms-in-console.md.hbs",
        Language::Markdown,
        include_str!("../../templates/manual/check-cms-in-console.md.hbs"),
    ),
    (
        "manual/restart-active-node.md.hbs",
        Language::Markdown,
        include_str!("../../templates/manual/restart-active-node.md.hbs"),
    ),
    (
        "manual/restart-if-asked.md.hbs",
        Language::Markdown,
        include_str!("../../templates/manual/restart-if-asked.md.hbs"),
    ),
    (
        "manual/restart-after-prerequisites.md.hbs",
        Language::Markdown,
        include_str!("../../templates/manual/restart-after-prerequisites.md.hbs"),
    ),
    (
        "manual/restart-passive-node.md.hbs",
        Language::Markdown,
        include_str!("../../templates/manual/restart-passive-node.md.hbs"),
    ),
    (
        "manual/validate-cluster.md.hbs",
        Language::Markdown,
        include_str!("../../templates/manual/validate-cluster.md.hbs"),
    ),
];

/// A template that cannot be loaded, compiled or rendered.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error(
        "{path}: not a runsheet template name; known names are listed by `runsheet templates -o DIR`"
    )]
    Unknown { path: PathBuf },
    #[error("cannot read template {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("template {name}: {message}")]
    Unsafe { name: String, message: String },
    #[error("template {name} does not compile: {message}")]
    Compile { name: String, message: String },
    #[error("rendering {name}: {message}")]
    Render { name: String, message: String },
    /// The window breaks a rule of the platform model: a defect of the
    /// blueprint, reported instead of printing the window.
    #[error("{0}")]
    Unproven(String),
}

/// The registries of one run: per language, the helpers (and an override's
/// partials); per template, its text and, once compiled, the template.
pub struct Registry {
    cmd: Handlebars<'static>,
    powershell: Handlebars<'static>,
    markdown: Handlebars<'static>,
    html: Handlebars<'static>,
    templates: BTreeMap<String, Entry>,
    /// Embedded partials not overridden, by the name templates include them by.
    partials: BTreeMap<String, Entry>,
}

/// A template by name. Embedded templates compile when first rendered (a
/// build uses none of the change window's, and compiling is most of a small
/// build's time); overrides compile at once, so that a mistake in a file
/// the user wrote is reported whether or not this run renders it.
struct Entry {
    language: Language,
    text: String,
    /// Embedded: the embedded partials it includes are spliced in (see
    /// [`Registry::splice_partials`]). An override keeps its `{{> …}}`, so
    /// that its errors name the lines of the files the user wrote.
    embedded: bool,
    compiled: OnceLock<Result<Template, String>>,
}

impl Entry {
    fn new(language: Language, text: String, embedded: bool) -> Entry {
        Entry {
            language,
            text,
            embedded,
            compiled: OnceLock::new(),
        }
    }
}

struct EscapeHelper(EscapeFn);

impl HelperDef for EscapeHelper {
    fn call<'reg: 'rc, 'rc>(
        &self,
        helper: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let param = helper
            .param(0)
            .ok_or(RenderErrorReason::ParamNotFoundForIndex("escape", 0))?;
        if param.is_value_missing() {
            let path = param.relative_path().cloned();
            return Err(RenderErrorReason::MissingVariable(path).into());
        }
        let text = match param.value() {
            serde_json::Value::String(text) => text.clone(),
            serde_json::Value::Number(number) => number.to_string(),
            serde_json::Value::Bool(value) => value.to_string(),
            other => {
                return Err(RenderErrorReason::Other(format!(
                    "`{}` needs a text value, found {other}",
                    helper.name()
                ))
                .into());
            }
        };
        let escaped = (self.0)(&text)
            .map_err(|error| RenderError::from(RenderErrorReason::Other(error.0)))?;
        out.write(&escaped)?;
        Ok(())
    }
}

/// `{{#say}}text{{/say}}` in a `.cmd`: the message goes to the console and to
/// the log beside the script (cmd has no tee).
struct SayHelper;

impl HelperDef for SayHelper {
    fn call<'reg: 'rc, 'rc>(
        &self,
        helper: &Helper<'rc>,
        registry: &'reg Handlebars<'reg>,
        context: &'rc Context,
        render_context: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let inner = match helper.template() {
            Some(template) => template.renders(registry, context, render_context)?,
            None => return Err(RenderErrorReason::BlockContentRequired.into()),
        };
        out.write(&format!("echo {inner}\r\n>>\"%LOG%\" echo {inner}"))?;
        Ok(())
    }
}

fn new_handlebars() -> Handlebars<'static> {
    let mut handlebars = Handlebars::new();
    handlebars.set_strict_mode(true);
    handlebars.register_escape_fn(handlebars::no_escape);
    for (name, function, _) in HELPERS {
        handlebars.register_helper(name, Box::new(EscapeHelper(*function)));
    }
    handlebars.register_helper("say", Box::new(SayHelper));
    handlebars
}

/// The name a partial is called by: `cmd/_header.cmd.hbs` → `cmd_header`.
fn partial_name(name: &str) -> Option<String> {
    let (dir, file) = name.split_once('/')?;
    let stem = file.strip_prefix('_')?.split('.').next()?;
    Some(format!("{dir}_{stem}"))
}

impl Registry {
    /// Builds the registries from the embedded templates, replaced by any
    /// same-named file under `overrides`.
    pub fn new(overrides: Option<&Path>) -> Result<Registry, TemplateError> {
        let mut sources: BTreeMap<String, (Language, String)> = TEMPLATES
            .iter()
            .map(|(name, language, text)| ((*name).to_owned(), (*language, (*text).to_owned())))
            .collect();
        let mut overridden: BTreeSet<String> = BTreeSet::new();
        if let Some(dir) = overrides {
            for (relative, path) in override_files(dir)? {
                let Some(name) = template_name(&relative) else {
                    return Err(TemplateError::Unknown { path });
                };
                let Some((language, _)) = sources.get(name).cloned() else {
                    return Err(TemplateError::Unknown { path });
                };
                let name = name.to_owned();
                let text =
                    std::fs::read_to_string(&path).map_err(|source| TemplateError::Read {
                        path: path.clone(),
                        source,
                    })?;
                overridden.insert(name.clone());
                sources.insert(name, (language, text));
            }
        }
        let mut registry = Registry {
            cmd: new_handlebars(),
            powershell: new_handlebars(),
            markdown: new_handlebars(),
            html: new_handlebars(),
            templates: BTreeMap::new(),
            partials: BTreeMap::new(),
        };
        for (name, (language, text)) in &sources {
            scan(name, *language, text)?;
            let embedded = !overridden.contains(name);
            if !overridden.is_empty() {
                // Embedded templates have embedded partials spliced in; an
                // override includes partials (or whole templates, by name)
                // through handlebars. Registering compiles each file in name
                // order, so an override that does not compile is refused
                // here, first one first, whether or not this run renders it.
                let registered = partial_name(name).unwrap_or_else(|| name.clone());
                registry
                    .handlebars_mut(*language)
                    .register_template_string(&registered, text.as_str())
                    .map_err(|error| TemplateError::Compile {
                        name: name.clone(),
                        message: error.to_string(),
                    })?;
            }
            match partial_name(name) {
                Some(partial) => {
                    if embedded {
                        let entry = Entry::new(*language, text.clone(), true);
                        registry.partials.insert(partial, entry);
                    }
                }
                None => {
                    let entry = Entry::new(*language, text.clone(), embedded);
                    registry.templates.insert(name.clone(), entry);
                }
            }
        }
        Ok(registry)
    }

    fn handlebars_mut(&mut self, language: Language) -> &mut Handlebars<'static> {
        match language {
            Language::Cmd => &mut self.cmd,
            Language::PowerShell => &mut self.powershell,
            Language::Markdown => &mut self.markdown,
            Language::Html => &mut self.html,
        }
    }

    /// Compiles the named templates now, on every core; the first error,
    /// in the order given, is returned.
    pub fn prepare<'n>(&self, names: impl Iterator<Item = &'n str>) -> Result<(), TemplateError> {
        let names: Vec<&str> = names.collect();
        let compiled: Vec<Result<(), TemplateError>> = names
            .par_iter()
            .map(|name| self.template(name).map(|_| ()))
            .collect();
        compiled.into_iter().collect()
    }

    /// Compiles a template or partial; `including` names the partials being
    /// compiled around it.
    fn compile(
        &self,
        name: &str,
        entry: &Entry,
        including: &mut Vec<String>,
    ) -> Result<Template, String> {
        let mut template =
            Template::compile_with_name(&entry.text, name.to_owned()).map_err(|e| e.to_string())?;
        if entry.embedded {
            self.splice_partials(&mut template, entry.language, including)?;
        }
        Ok(template)
    }

    /// Replaces each `{{> name}}` of an embedded partial of the same
    /// language (no parameters, no indent) by the partial's compiled
    /// elements: what handlebars renders for it, without the copy of the
    /// whole context it makes for every partial, and compiled once rather
    /// than as text copied into every template that includes it (handlebars
    /// takes time quadratic in a template's length to compile it).
    fn splice_partials(
        &self,
        template: &mut Template,
        language: Language,
        including: &mut Vec<String>,
    ) -> Result<(), String> {
        let elements = std::mem::take(&mut template.elements);
        let mut mapping = std::mem::take(&mut template.mapping).into_iter();
        for mut element in elements {
            let position = mapping.next();
            let partial = match &element {
                TemplateElement::PartialExpression(decorator) => {
                    self.spliceable(decorator, language, including)
                }
                _ => None,
            };
            if let Some((name, entry)) = partial {
                including.push(name.to_owned());
                let compiled = entry
                    .compiled
                    .get_or_init(|| self.compile(name, entry, including));
                including.pop();
                let partial = compiled.as_ref().map_err(Clone::clone)?;
                template.elements.extend(partial.elements.iter().cloned());
                template.mapping.extend(partial.mapping.iter().cloned());
                continue;
            }
            match &mut element {
                TemplateElement::HelperBlock(helper) => {
                    for inner in [&mut helper.template, &mut helper.inverse]
                        .into_iter()
                        .flatten()
                    {
                        self.splice_partials(inner, language, including)?;
                    }
                }
                TemplateElement::DecoratorBlock(decorator)
                | TemplateElement::PartialBlock(decorator) => {
                    if let Some(inner) = &mut decorator.template {
                        self.splice_partials(inner, language, including)?;
                    }
                }
                _ => {}
            }
            template.elements.push(element);
            if let Some(position) = position {
                template.mapping.push(position);
            }
        }
        Ok(())
    }

    /// The embedded partial a `{{> name}}` includes, if it can be spliced:
    /// same language, no parameters or indent, and not one being compiled
    /// around it (a cycle is left to handlebars, which reports it).
    fn spliceable<'s>(
        &'s self,
        decorator: &DecoratorTemplate,
        language: Language,
        including: &[String],
    ) -> Option<(&'s str, &'s Entry)> {
        if !decorator.params.is_empty()
            || !decorator.hash.is_empty()
            || decorator
                .indent
                .as_deref()
                .is_some_and(|indent| !indent.is_empty())
            || decorator.template.is_some()
        {
            return None;
        }
        let name = decorator.name.as_name()?;
        let (name, entry) = self.partials.get_key_value(name)?;
        (entry.language == language && !including.iter().any(|open| open == name))
            .then_some((name.as_str(), entry))
    }

    /// The compiled template and the registry of its language.
    fn template(&self, name: &str) -> Result<(&Template, &Handlebars<'static>), TemplateError> {
        let Some(entry) = self.templates.get(name) else {
            return Err(TemplateError::Render {
                name: name.to_owned(),
                message: "no such template".into(),
            });
        };
        let compiled = entry
            .compiled
            .get_or_init(|| self.compile(name, entry, &mut Vec::new()));
        let template = compiled
            .as_ref()
            .map_err(|message| TemplateError::Compile {
                name: name.to_owned(),
                message: message.clone(),
            })?;
        let handlebars = match entry.language {
            Language::Cmd => &self.cmd,
            Language::PowerShell => &self.powershell,
            Language::Markdown => &self.markdown,
            Language::Html => &self.html,
        };
        Ok((template, handlebars))
    }

    /// Renders a template with a JSON context.
    pub fn render(&self, name: &str, context: &serde_json::Value) -> Result<String, TemplateError> {
        let mut out = Vec::new();
        self.render_into(name, &Context::from(context.clone()), &mut out)?;
        String::from_utf8(out).map_err(|error| TemplateError::Render {
            name: name.to_owned(),
            message: error.to_string(),
        })
    }

    /// Renders a template with a context built once and shared by several
    /// templates, appending the text to `out`: no copy of the context, and
    /// no buffer per template.
    pub fn render_into(
        &self,
        name: &str,
        context: &Context,
        out: &mut Vec<u8>,
    ) -> Result<(), TemplateError> {
        let (template, handlebars) = self.template(name)?;
        // What `Handlebars::render_with_context_to_write` does with a
        // registered template, for one compiled here.
        let mut render_context = RenderContext::new(template.name.as_ref());
        template
            .render(
                handlebars,
                context,
                &mut render_context,
                &mut BytesOutput(out),
            )
            .map_err(|error| TemplateError::Render {
                name: name.to_owned(),
                message: render_message(&error, context.data()),
            })
    }
}

/// Rendered text appended to a byte buffer.
struct BytesOutput<'a>(&'a mut Vec<u8>);

impl Output for BytesOutput<'_> {
    fn write(&mut self, segment: &str) -> std::io::Result<()> {
        self.0.extend_from_slice(segment.as_bytes());
        Ok(())
    }
}

fn render_message(error: &RenderError, context: &serde_json::Value) -> String {
    let mut message = match error.reason() {
        RenderErrorReason::MissingVariable(Some(path)) => unknown_value(path, context),
        RenderErrorReason::MissingVariable(None) => "a value the template uses is missing".into(),
        other => other.to_string(),
    };
    if let (Some(line), Some(column)) = (error.line_no, error.column_no) {
        message = format!("line {line}, column {column}: {message}");
    }
    message
}

/// `{{cluster.nmae}}`: say which name is unknown and which names exist
/// where it was looked for, as far as the path leads from the top.
fn unknown_value(path: &str, context: &serde_json::Value) -> String {
    let mut here = context;
    let mut walked: Vec<&str> = Vec::new();
    for part in path.split(['.', '/']).filter(|part| !part.is_empty()) {
        match here.get(part) {
            Some(next) if next.is_object() => {
                here = next;
                walked.push(part);
            }
            _ => break,
        }
    }
    let mut known: Vec<&str> = here
        .as_object()
        .map(|object| object.keys().map(String::as_str).collect())
        .unwrap_or_default();
    known.sort_unstable();
    let place = if walked.is_empty() {
        "at the top level".to_owned()
    } else {
        format!("in `{}`", walked.join("."))
    };
    format!(
        "`{path}` is not a value this template knows; known names {place}: {} (inside `{{{{#each}}}}` the names are the item's)",
        known.join(", ")
    )
}

/// The template an override file replaces: by its path under the override
/// directory (`cmd/quorum.cmd.hbs`, as `runsheet templates` writes them) or,
/// as mdBook's themes do, by its file name alone (`quorum.cmd.hbs`); file
/// names are unique across the template folders.
fn template_name(relative: &str) -> Option<&'static str> {
    TEMPLATES.iter().map(|(name, _, _)| *name).find(|name| {
        *name == relative || (!relative.contains('/') && name.rsplit('/').next() == Some(relative))
    })
}

/// Every file under an override directory, by relative path.
fn override_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, TemplateError> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let entries = std::fs::read_dir(&current).map_err(|source| TemplateError::Read {
            path: current.clone(),
            source,
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| TemplateError::Read {
                path: current.clone(),
                source,
            })?;
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let relative = path.strip_prefix(dir).unwrap_or(&path);
            let name = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            found.push((name, path));
        }
    }
    found.sort();
    Ok(found)
}

/// Refuses a template with an interpolation that bypasses the escaping
/// helpers of its language: every `{{…}}` is a block, a partial, a comment,
/// `else`, or starts with one of its helpers.
pub fn scan(name: &str, language: Language, text: &str) -> Result<(), TemplateError> {
    let mut rest = text;
    let mut line = 1;
    while let Some(start) = rest.find("{{") {
        line += rest[..start].matches('\n').count();
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err(TemplateError::Unsafe {
                name: name.to_owned(),
                message: format!("line {line}: unclosed `{{{{`"),
            });
        };
        let inner = after[..end]
            .trim_start_matches('{')
            .trim_start_matches('~')
            .trim();
        check_tag(inner, language).map_err(|message| TemplateError::Unsafe {
            name: name.to_owned(),
            message: format!("line {line}: `{{{{{}}}}}` {message}", &after[..end]),
        })?;
        if after[..end].starts_with('{') {
            return Err(TemplateError::Unsafe {
                name: name.to_owned(),
                message: format!("line {line}: triple braces are not allowed"),
            });
        }
        rest = &after[end + 2..];
        line += after[..end].matches('\n').count();
    }
    Ok(())
}

fn check_tag(inner: &str, language: Language) -> Result<(), String> {
    let first = inner.split_whitespace().next().unwrap_or_default();
    if inner.starts_with('!') || inner.starts_with('>') || first == "else" {
        return Ok(());
    }
    if let Some(block) = first.strip_prefix('#').or_else(|| first.strip_prefix('/')) {
        return match block {
            "if" | "unless" | "each" | "with" => Ok(()),
            other
                if BLOCK_HELPERS
                    .iter()
                    .any(|(name, lang)| *name == other && *lang == language) =>
            {
                Ok(())
            }
            other => Err(format!("uses block `{other}`, which is not allowed here")),
        };
    }
    match HELPERS.iter().find(|(name, _, _)| *name == first) {
        Some((_, _, lang)) if *lang == language => Ok(()),
        Some(_) => Err(format!("uses `{first}`, a helper of another language")),
        None => Err("interpolates a value without an escaping helper".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_template_passes_the_scan_and_compiles() {
        // New scans every template; embedded ones compile when first used.
        let registry = Registry::new(None).expect("registry");
        let templates = TEMPLATES
            .iter()
            .map(|(name, _, _)| *name)
            .filter(|name| partial_name(name).is_none());
        if let Err(error) = registry.prepare(templates) {
            panic!("{error}");
        }
        for (name, _, text) in TEMPLATES {
            if partial_name(name).is_some() {
                assert!(Template::compile(text).is_ok(), "{name}");
            } else {
                let (template, _) = registry.template(name).expect("compiled");
                assert!(
                    !includes_partial(template),
                    "{name} still includes a partial"
                );
            }
        }
    }

    /// Whether a compiled template still has a `{{> …}}`, which without
    /// overrides no registry has a partial for.
    fn includes_partial(template: &Template) -> bool {
        template.elements.iter().any(|element| match element {
            TemplateElement::PartialExpression(_) | TemplateElement::PartialBlock(_) => true,
            TemplateElement::HelperBlock(helper) => [&helper.template, &helper.inverse]
                .into_iter()
                .flatten()
                .any(includes_partial),
            TemplateElement::DecoratorBlock(decorator) => {
                decorator.template.as_ref().is_some_and(includes_partial)
            }
            _ => false,
        })
    }

    #[test]
    fn an_override_that_does_not_compile_is_refused_before_rendering() {
        // A change template: a build never renders it, and still refuses it.
        let dir = std::env::temp_dir().join(format!("runsheet-override-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("ps1")).expect("mkdir");
        std::fs::write(
            dir.join("ps1/change-precheck.ps1.hbs"),
            "{{#if step.title}}\nunclosed\n",
        )
        .expect("write");
        let refused = Registry::new(Some(&dir));
        let _ = std::fs::remove_dir_all(&dir);
        match refused {
            Err(TemplateError::Compile { name, .. }) => {
                assert_eq!(name, "ps1/change-precheck.ps1.hbs");
            }
            Err(other) => panic!("{other}"),
            Ok(_) => panic!("an override that does not compile was accepted"),
        }
    }

    #[test]
    fn the_scan_refuses_raw_and_foreign_interpolation() {
        assert!(scan("t", Language::Cmd, "echo {{cmd_text step.title}}").is_ok());
        assert!(scan("t", Language::Cmd, "echo {{step.title}}").is_err());
        assert!(scan("t", Language::Cmd, "echo {{{cmd step.title}}}").is_err());
        assert!(scan("t", Language::Cmd, "echo {{ps step.title}}").is_err());
        assert!(scan("t", Language::PowerShell, "{{#each x}}{{ps this}}{{/each}}").is_ok());
        assert!(scan("t", Language::PowerShell, "{{#each x}}{{this}}{{/each}}").is_err());
        assert!(scan("t", Language::PowerShell, "{{lookup x 'y'}}").is_err());
    }

    #[test]
    fn template_file_names_are_unique_so_overrides_can_use_them_alone() {
        let mut names: Vec<&str> = TEMPLATES
            .iter()
            .filter_map(|(name, _, _)| name.rsplit('/').next())
            .collect();
        names.sort_unstable();
        let count = names.len();
        names.dedup();
        assert_eq!(names.len(), count);
        assert_eq!(template_name("quorum.cmd.hbs"), Some("cmd/quorum.cmd.hbs"));
        assert_eq!(
            template_name("cmd/quorum.cmd.hbs"),
            Some("cmd/quorum.cmd.hbs")
        );
        assert_eq!(template_name("ps1/quorum.cmd.hbs"), None);
    }
}
