//! Names and doc comments in each language's spelling, and word wrapping.

use std::fmt::Write as _;

/// Lines are wrapped to this width (comments and docstrings included).
pub(crate) const WIDTH: usize = 100;

/// `InvalidConfig` -> `INVALID_CONFIG`.
pub(crate) fn upper_snake(name: &str) -> String {
    let mut out = String::new();
    for (i, ch) in name.chars().enumerate() {
        if ch.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(ch.to_ascii_uppercase());
    }
    out
}

/// `items_by_seq` -> `itemsBySeq` (`upper_first` gives `ItemsBySeq`).
pub(crate) fn camel(snake: &str, upper_first: bool) -> String {
    let mut out = String::new();
    let mut up = upper_first;
    for ch in snake.chars() {
        if ch == '_' {
            up = true;
        } else if up {
            out.push(ch.to_ascii_uppercase());
            up = false;
        } else {
            out.push(ch);
        }
    }
    out
}

/// Rewrites every backticked span of `doc` with `f(text, is_method_name)`.
pub(crate) fn spans(doc: &str, f: impl Fn(&str, bool) -> String) -> String {
    let mut out = String::new();
    let mut parts = doc.split('`');
    out.push_str(parts.next().unwrap_or_default());
    let mut inside = true;
    for part in parts {
        if inside {
            let method = part.contains('_')
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            out.push_str(&f(part, method));
        } else {
            out.push_str(part);
        }
        inside = !inside;
    }
    out
}

pub(crate) fn python_doc(doc: &str) -> String {
    spans(doc, |s, _| format!("``{s}``"))
}

pub(crate) fn node_doc(doc: &str) -> String {
    spans(doc, |s, method| {
        if method {
            format!("`{}`", camel(s, false))
        } else {
            format!("`{s}`")
        }
    })
}

pub(crate) fn c_doc(doc: &str) -> String {
    spans(doc, |s, method| {
        if method {
            format!("safe_{s}()")
        } else {
            format!("`{s}`")
        }
    })
}

pub(crate) fn csharp_doc(doc: &str) -> String {
    let escaped = doc
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    spans(&escaped, |s, method| {
        if method {
            format!("<c>{}</c>", camel(s, true))
        } else {
            format!("<c>{s}</c>")
        }
    })
}

/// `base`, then `more` as a second sentence.
pub(crate) fn with(base: String, more: Option<&str>) -> String {
    match more {
        Some(m) => format!("{base} {m}"),
        None => base,
    }
}

/// Greedy word wrap: every line at most `width` characters (a longer word stands alone).
pub(crate) fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// `text` as line comments `prefix` + line, indented by `indent`.
pub(crate) fn line_comment(out: &mut String, indent: &str, prefix: &str, text: &str) {
    for line in wrap(text, WIDTH - indent.len() - prefix.len()) {
        let _ = writeln!(out, "{indent}{prefix}{line}");
    }
}

/// `/** text */` as JSDoc, continuation lines ` * `.
pub(crate) fn jsdoc(out: &mut String, text: &str) {
    let lines = wrap(text, WIDTH - 6);
    for (i, line) in lines.iter().enumerate() {
        let lead = if i == 0 { "/** " } else { " * " };
        let tail = if i + 1 == lines.len() { " */" } else { "" };
        let _ = writeln!(out, "{lead}{line}{tail}");
    }
}

/// `sequentialOrgId` -> `sequential_org_id` (a snake_case name stays as it is).
pub(crate) fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, ch) in name.chars().enumerate() {
        if ch.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(ch.to_ascii_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}
