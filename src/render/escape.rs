//! Escaping for every language runsheet writes. Pure functions, one per
//! context; templates reach them through the helpers table in `registry`.
//!
//! The validation rules in `check::quoting` call the same predicates, so a
//! value that passes validation is one these functions can always carry.

use std::fmt::Write as _;

/// Why a value cannot be written safely in a given language.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unsafe(pub String);

/// Why a value cannot travel inside a double-quoted argument of a `.cmd` file,
/// or `None` when it can.
pub fn cmd_refusal(value: &str) -> Option<String> {
    if let Some(c) = value.chars().find(|c| !(' '..='~').contains(c)) {
        return Some(if c.is_control() {
            format!("a control character (U+{:04X})", u32::from(c))
        } else {
            format!("`{c}`, which is not ASCII; cmd files are ASCII")
        });
    }
    if value.contains('"') {
        return Some("a double quote, which cannot be carried inside a quoted cmd argument".into());
    }
    if value.ends_with('\\') {
        return Some(r#"a trailing `\`, which would escape the closing quote"#.into());
    }
    None
}

/// A cmd argument: double-quoted, `%` doubled. Scripts run with delayed
/// expansion off, so `!` needs nothing; `& ^ ( ) < > |` are inert inside quotes.
pub fn cmd_arg(value: &str) -> Result<String, Unsafe> {
    if let Some(reason) = cmd_refusal(value) {
        return Err(Unsafe(format!(
            "cannot write {value:?} in a cmd file: it contains {reason}"
        )));
    }
    Ok(format!("\"{}\"", value.replace('%', "%%")))
}

/// Text inside a cmd `echo` or `rem`: no quotes to hide in, so every
/// metacharacter is caret-escaped.
pub fn cmd_text(value: &str) -> Result<String, Unsafe> {
    if let Some(c) = value.chars().find(|c| !(' '..='~').contains(c)) {
        return Err(Unsafe(format!(
            "cannot write {value:?} in a cmd file: {c:?} is not printable ASCII"
        )));
    }
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '%' => out.push_str("%%"),
            '^' | '&' | '|' | '<' | '>' | '(' | ')' | '"' => {
                out.push('^');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    Ok(out)
}

/// A dotted IPv4 address or mask for a `.cmd` line, where it may stand
/// unquoted (`/ipaddr:192.168.10.30/255.255.255.0`, `findstr`). Anything but
/// an address is refused, so nothing else can slip in unquoted.
pub fn cmd_ip(value: &str) -> Result<String, Unsafe> {
    value
        .parse::<std::net::Ipv4Addr>()
        .map(|address| address.to_string())
        .map_err(|_| Unsafe(format!("{value:?} is not an IPv4 address")))
}

/// A drive root (`E:\`) for `if exist`, from a bare letter.
pub fn cmd_drive(value: &str) -> Result<String, Unsafe> {
    let mut chars = value.chars();
    match (chars.next(), chars.next()) {
        (Some(letter), None) if letter.is_ascii_alphabetic() => {
            Ok(format!("{}:\\", letter.to_ascii_uppercase()))
        }
        _ => Err(Unsafe(format!("{value:?} is not a drive letter"))),
    }
}

/// Characters PowerShell takes as a single quote. U+2018..U+201B count, so a
/// name typed in Word ("O’Brien") would end the literal early.
fn is_ps_single_quote(c: char) -> bool {
    matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}')
}

/// Why a value cannot travel in a PowerShell literal: only control characters,
/// which would break the script's lines and the runbook.
pub fn ps_refusal(value: &str) -> Option<String> {
    value
        .chars()
        .find(|c| c.is_control())
        .map(|c| format!("a control character (U+{:04X})", u32::from(c)))
}

/// A PowerShell single-quoted literal: no `$` or backtick expansion; every
/// single quote, typographic ones included, doubled.
pub fn ps_literal(value: &str) -> Result<String, Unsafe> {
    if let Some(reason) = ps_refusal(value) {
        return Err(Unsafe(format!(
            "cannot write {value:?} in PowerShell: it contains {reason}"
        )));
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if is_ps_single_quote(c) {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    Ok(out)
}

/// Text in a PowerShell `#` comment: anything but a line break is inert there.
pub fn ps_comment(value: &str) -> Result<String, Unsafe> {
    match ps_refusal(value) {
        Some(reason) => Err(Unsafe(format!(
            "cannot write {value:?} in a PowerShell comment: it contains {reason}"
        ))),
        None => Ok(value.to_owned()),
    }
}

/// Why a value cannot be an Exchange or cluster object name.
pub fn name_refusal(value: &str) -> Option<String> {
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Some(format!("a control character (U+{:04X})", u32::from(c)));
    }
    ['\\', '/', '"']
        .into_iter()
        .find(|c| value.contains(*c))
        .map(|c| {
            format!("`{c}`, which breaks Exchange identities (Server\\StorageGroup\\Database)")
        })
}

/// Why a value cannot be a Windows path: characters Windows forbids in names.
pub fn path_refusal(value: &str) -> Option<String> {
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Some(format!("a control character (U+{:04X})", u32::from(c)));
    }
    let rest = value.get(2..).unwrap_or_default();
    ['<', '>', '"', '|', '?', '*', ':']
        .into_iter()
        .find(|c| rest.contains(*c))
        .map(|c| format!("`{c}`, which Windows does not allow in a path"))
}

/// Markdown inline code: a backtick fence longer than any run inside.
pub fn md_code(value: &str) -> Result<String, Unsafe> {
    let longest = value.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if value.starts_with('`') || value.ends_with('`') || value.is_empty() {
        " "
    } else {
        ""
    };
    Ok(format!("{fence}{pad}{value}{pad}{fence}"))
}

/// A Markdown fenced code block holding one command line: the fence is
/// longer than any backtick run inside, and a line break is refused.
pub fn md_command(value: &str) -> Result<String, Unsafe> {
    if value.contains(['\n', '\r']) {
        return Err(Unsafe(format!(
            "a command line cannot span lines: {value:?}"
        )));
    }
    let longest = value.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat((longest + 1).max(3));
    Ok(format!("{fence}text\n{value}\n{fence}"))
}

/// Markdown text: the characters that could start markup are
/// backslash-escaped (CommonMark allows that for any ASCII punctuation), the
/// rest stays readable in the raw file.
pub fn md_text(value: &str) -> Result<String, Unsafe> {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '&' | '|' | '~' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    Ok(out)
}

/// Blueprint prose (why, expect, verify…), which marks commands with
/// backticks and warnings with `**`: balanced code spans and bold runs are
/// kept, everything else is escaped as [`md_text`]. Not for model values,
/// which go through `md_text`/`md_code`.
pub fn md_prose(value: &str) -> Result<String, Unsafe> {
    if !value.matches('`').count().is_multiple_of(2) {
        return md_text(value);
    }
    let mut out = String::with_capacity(value.len());
    for (index, part) in value.split('`').enumerate() {
        if !index.is_multiple_of(2) {
            out.push('`');
            out.push_str(&part.replace(['\n', '\r'], " "));
            out.push('`');
        } else {
            out.push_str(&md_bold_text(part)?);
        }
    }
    Ok(out)
}

/// [`md_text`], keeping balanced `**` around bold runs.
fn md_bold_text(value: &str) -> Result<String, Unsafe> {
    if !value.matches("**").count().is_multiple_of(2) {
        return md_text(value);
    }
    let mut out = String::with_capacity(value.len());
    for (index, part) in value.split("**").enumerate() {
        if !index.is_multiple_of(2) {
            out.push_str("**");
            out.push_str(&md_text(part)?);
            out.push_str("**");
        } else {
            out.push_str(&md_text(part)?);
        }
    }
    Ok(out)
}

/// A Markdown table cell: inline code whose pipes are escaped, since GFM
/// splits cells on `|` even inside code spans.
pub fn md_cell(value: &str) -> Result<String, Unsafe> {
    Ok(md_code(value)?.replace('|', "\\|"))
}

/// HTML text and attribute values.
pub fn html(value: &str) -> Result<String, Unsafe> {
    let mut out = String::with_capacity(value.len());
    push_html(&mut out, value);
    Ok(out)
}

/// [`html`], appended to `out`.
pub fn push_html(out: &mut String, value: &str) {
    let mut rest = value;
    while let Some(at) = rest.find(['&', '<', '>', '"', '\'']) {
        out.push_str(&rest[..at]);
        out.push_str(match rest.as_bytes()[at] {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            _ => "&#39;",
        });
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
}

/// A quoted CSS string for `content:` in the page's print style: quotes and
/// backslashes escaped, and `<`, `>`, `&` as hex escapes so that nothing in it
/// can close the `<style>` element.
pub fn css_string(value: &str) -> Result<String, Unsafe> {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '<' | '>' | '&' | '\'' => {
                let _ = write!(out, "\\{:X} ", u32::from(c));
            }
            c if c.is_control() => {
                let _ = write!(out, "\\{:X} ", u32::from(c));
            }
            _ => out.push(c),
        }
    }
    out.push('"');
    Ok(out)
}

/// Lower-case ASCII slug for file names: runs of anything else become `-`.
pub fn slug(value: &str) -> String {
    let mut out = String::new();
    for c in value.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        // Names made only of non-ASCII letters still need a stable file name.
        let mut hex = String::from("x");
        for byte in value.bytes().take(8) {
            let _ = write!(hex, "{byte:02x}");
        }
        return hex;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prose_keeps_balanced_bold_and_code_and_escapes_the_rest() {
        assert_eq!(
            md_prose("run `a*b`, **never accept** it").unwrap(),
            "run `a*b`, **never accept** it"
        );
        assert_eq!(md_prose("a ** b").unwrap(), md_text("a ** b").unwrap());
        assert_ne!(md_prose("a ** b").unwrap(), "a ** b");
    }

    #[test]
    fn powershell_doubles_every_kind_of_single_quote() {
        assert_eq!(ps_literal("O'Brien").unwrap(), "'O''Brien'");
        assert_eq!(
            ps_literal("O\u{2019}Brien").unwrap(),
            "'O\u{2019}\u{2019}Brien'"
        );
        assert_eq!(ps_literal("$env:x `n").unwrap(), "'$env:x `n'");
        assert!(ps_literal("a\nb").is_err());
    }

    #[test]
    fn cmd_quotes_doubles_percent_and_refuses_what_it_cannot_carry() {
        assert_eq!(cmd_arg("C:\\100% & more").unwrap(), "\"C:\\100%% & more\"");
        assert!(cmd_arg("say \"hi\"").is_err());
        assert!(cmd_arg("C:\\dir\\").is_err());
        assert!(cmd_arg("caf\u{e9}").is_err());
    }

    #[test]
    fn cmd_ip_and_drive_accept_only_their_shape() {
        assert_eq!(cmd_ip("10.0.0.1").unwrap(), "10.0.0.1");
        assert!(cmd_ip("10.0.0.1 & calc").is_err());
        assert_eq!(cmd_drive("e").unwrap(), "E:\\");
        assert!(cmd_drive("E:").is_err());
    }

    #[test]
    fn cmd_text_escapes_metacharacters() {
        assert_eq!(cmd_text("a & b (c) 5%").unwrap(), "a ^& b ^(c^) 5%%");
    }

    #[test]
    fn markdown_code_spans_survive_backticks() {
        assert_eq!(md_code("a`b").unwrap(), "``a`b``");
        assert_eq!(md_code("`x").unwrap(), "`` `x ``");
        assert_eq!(md_cell("a|b").unwrap(), "`a\\|b`");
    }

    #[test]
    fn markdown_commands_are_fenced_beyond_any_backtick_run() {
        assert_eq!(md_command("dir").unwrap(), "```text\ndir\n```");
        assert_eq!(
            md_command("a ```` b").unwrap(),
            "`````text\na ```` b\n`````"
        );
        assert!(md_command("a\nb").is_err());
    }

    #[test]
    fn html_escapes_markup() {
        assert_eq!(
            html("<script>&'\"").unwrap(),
            "&lt;script&gt;&amp;&#39;&quot;"
        );
    }

    #[test]
    fn css_strings_cannot_close_the_style_element() {
        assert_eq!(css_string("a\"b\\c").unwrap(), "\"a\\\"b\\\\c\"");
        assert_eq!(css_string("</style>").unwrap(), "\"\\3C /style\\3E \"");
    }

    #[test]
    fn slugs_are_stable_ascii() {
        assert_eq!(slug("First Storage Group"), "first-storage-group");
        assert_eq!(slug("Ünïcode SG!"), "n-code-sg");
        assert_eq!(slug("ÄÖ"), "xc384c396");
    }
}
