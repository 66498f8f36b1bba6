//! `bindings-dotnet/src/Generated/Native.g.cs`: the C# P/Invoke declarations of the C ABI, read from the
//! committed cbindgen header `include/safe_tracker.h` (`csbindgen` cannot read
//! `#[unsafe(no_mangle)]`, so the header is the source). `make codegen` runs this tool again
//! after regenerating the header, so Native.cs follows a changed ABI.
//!
//! The parser knows only the shapes cbindgen emits for this crate: `typedef enum {…} name;`,
//! opaque `typedef struct x x;`, `typedef struct {…} name;` with one field per line,
//! function-pointer typedefs `typedef R (*name)(…);`, function declarations (parameter lists on
//! one or several lines), `/* … */` doc comments above a declaration or a field (they become
//! `/// <summary>` docs, XML-escaped, backticked spans as `<c>`), and the include guard,
//! `#include`s and the `#ifdef __cplusplus` blocks. Anything else (another preprocessor line,
//! a constant, an `extern` declaration, a type it has no mapping for) fails codegen with an
//! error naming the declaration, so an ABI function cannot be dropped silently.
//!
//! Mapping rules (C → C#), applied in this order:
//! - every function: `[DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal
//!   static extern`, under its C name, in `internal static class Native`;
//! - the `safe_status` enum → `ErrorCode` (generated into Generated/Errors.g.cs from the core's table; the
//!   tests check the header's variants against it); any other enum fails;
//! - an explicit entry of [`OVERRIDES`] (function, parameter) wins over the rules below;
//! - a `*_free(T *)` function's handle parameter → `IntPtr` (called from `ReleaseHandle`);
//! - `const char *` / `char *` parameters → `IntPtr` (the wrapper marshals UTF-8 itself with
//!   `Utf8.Alloc`), `char **` → `out IntPtr` (an owned string for `Utf8.Take`);
//! - a `T *` of a type the library only lends to callbacks ([`LENT`]) → `IntPtr`;
//! - an opaque `T *` / `const T *` → its SafeHandle class from [`HANDLES`], `T **` → `out
//!   THandle`; a `const T *` of a type in [`BORROWED`] (`safe_item`: lists and records hand
//!   the C# side borrowed item pointers) also gets an overload taking `IntPtr`;
//! - `const S *` of a header struct → `ref S` (e.g. `ref ClientConfig`); the struct is
//!   generated as `[StructLayout(LayoutKind.Sequential)] internal struct`, fields in
//!   PascalCase, scalar fields mapped as below and pointer fields `IntPtr`;
//! - `uint64_t` → `ulong`, `int64_t` → `long`, `int32_t` → `int`, `uint32_t` → `uint`,
//!   `double` → `double`, `size_t` → `UIntPtr`, `void *` → `IntPtr`,
//!   `bool *` → `[MarshalAs(UnmanagedType.U1)] out bool`;
//! - another scalar pointer (`int64_t *`…) is ambiguous (an out value or a buffer): it fails
//!   unless [`OVERRIDES`] says what it is;
//! - a function-pointer typedef → `[UnmanagedFunctionPointer(CallingConvention.Cdecl)]
//!   internal delegate`, named in PascalCase without `safe_`/`_fn` plus `Callback`
//!   (`safe_record_fn` → `RecordCallback`, `safe_checkpoint_load_fn` →
//!   `CheckpointLoadCallback`); its pointer parameters are `IntPtr` (an opaque one is
//!   borrowed for the call, so never a SafeHandle) and `char **` is `out IntPtr`;
//! - returns: `void`, `safe_status` → `ErrorCode`, scalars as above, `const char *` → `IntPtr`
//!   (borrowed), `const T *` of a [`BORROWED`] type → `IntPtr`; nothing else.
//!
//! Parameter names are camelCase (`user_data` → `userData`, a C# keyword gets `@`). The code
//! is C# 7 (Mono's `mcs`): no function pointers, no `nint`, no nullable annotations.

use std::fmt::Write as _;
use std::path::Path;

use crate::text::{WIDTH, camel, line_comment, spans};

/// The header's path from the repository root.
pub(crate) const HEADER: &str = "include/safe_tracker.h";

/// The SafeHandle class (in src/Interop.cs) of each opaque type. An opaque type of the header
/// that is not listed fails codegen.
const HANDLES: &[(&str, &str)] = &[
    ("safe_client", "ClientHandle"),
    ("safe_poller", "PollerHandle"),
    ("safe_cancel", "CancelHandle"),
    ("safe_sweep", "SweepHandle"),
    ("safe_item_list", "ItemListHandle"),
    ("safe_item", "ItemHandle"),
];

/// Opaque types the library also hands out borrowed (`safe_item_list_get()`, a record
/// callback's `item`): a `const T *` parameter gets an `IntPtr` overload, a `const T *` return
/// is an `IntPtr` (a SafeHandle would free what it does not own).
const BORROWED: &[&str] = &["safe_item"];

/// Explicit C# types of parameters whose C type alone is ambiguous: (function, parameter,
/// C# type). `safe_last_error_ids(int64_t *out, size_t capacity)` fills a buffer of
/// `capacity` ids (an `int64_t *` could as well be one out value). The tests check that every
/// entry still names a parameter of the header.
const OVERRIDES: &[(&str, &str, &str)] = &[
    ("safe_last_error_ids", "out", "[Out] long[]"),
    // A record's item, lent by the sweep until its next call: never a SafeHandle.
    ("safe_sweep_next", "out_item", "out IntPtr"),
];

/// `extern` declarations cbindgen copies into the header from `extern "C"` blocks of the
/// crate: functions of other libraries the crate calls, not exported by libsafe_tracker, so
/// not P/Invoked (none today: the library frees nothing the host allocated). Any other
/// `extern` declaration fails codegen.
const IMPORTED: &[&str] = &[];

/// Opaque types the library only lends to a callback for the length of the call
/// (`safe_state_sink`): a parameter of one is an `IntPtr`, never a SafeHandle.
const LENT: &[&str] = &["safe_state_sink"];

const PREFIX: &str = "safe_";

/// `bindings-dotnet/src/Generated/Native.g.cs`, from the committed header. Panics naming the header when
/// it is missing or holds a declaration the generator does not understand.
pub(crate) fn native_cs(root: &Path) -> String {
    let path = root.join(HEADER);
    let src = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {HEADER} ({}): {e}", path.display()));
    generate(&src).unwrap_or_else(|e| panic!("{HEADER}: {e}"))
}

/// Native.cs from the text of a header.
pub(crate) fn generate(src: &str) -> Result<String, String> {
    render(&parse(src)?)
}

// ---------------------------------------------------------------------------------------------
// The header's model.

/// A C type: `const`? base `*`…
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CType {
    pub konst: bool,
    pub base: String,
    pub ptr: usize,
}

impl std::fmt::Display for CType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let konst = if self.konst { "const " } else { "" };
        let stars = "*".repeat(self.ptr);
        let space = if self.ptr > 0 { " " } else { "" };
        write!(f, "{konst}{}{space}{stars}", self.base)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Param {
    pub ty: CType,
    pub name: String,
}

/// A function declaration or a function-pointer typedef.
#[derive(Debug, Clone)]
pub(crate) struct Func {
    pub doc: Option<String>,
    pub ret: CType,
    pub name: String,
    pub params: Vec<Param>,
}

#[derive(Debug, Clone)]
pub(crate) struct Field {
    pub doc: Option<String>,
    pub ty: CType,
    pub name: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Struct {
    pub doc: Option<String>,
    pub name: String,
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone)]
pub(crate) struct Enum {
    pub name: String,
    /// Checked against Errors.g.cs by the tests only: `make codegen`'s first pass may read a
    /// header older than the core's table.
    #[cfg_attr(not(test), allow(dead_code))]
    pub variants: Vec<(String, i64)>,
}

#[derive(Debug, Default)]
pub(crate) struct Header {
    pub enums: Vec<Enum>,
    pub opaque: Vec<String>,
    pub structs: Vec<Struct>,
    pub callbacks: Vec<Func>,
    pub functions: Vec<Func>,
}

// ---------------------------------------------------------------------------------------------
// Lexing and parsing.

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// A `/* … */` comment's text.
    Doc(String),
    /// A preprocessor line, `#` included.
    Directive(String),
    /// An identifier or a number.
    Word(String),
    Str(String),
    Punct(char),
}

fn lex(src: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = src.chars().collect();
    let line_of = |i: usize| chars[..i].iter().filter(|&&c| c == '\n').count() + 1;
    let mut toks = Vec::new();
    let mut i = 0;
    let mut line_start = true;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '\n' {
            line_start = true;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && next == Some('*') {
            let body = i + 2;
            let end = (body..chars.len().saturating_sub(1))
                .find(|&j| chars[j] == '*' && chars[j + 1] == '/')
                .ok_or_else(|| format!("unterminated comment at line {}", line_of(i)))?;
            toks.push(Tok::Doc(chars[body..end].iter().collect()));
            i = end + 2;
            line_start = false;
        } else if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '#' && line_start {
            let start = i;
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            let line: String = chars[start..i].iter().collect();
            if line.trim_end().ends_with('\\') {
                return Err(format!("unsupported continued preprocessor line `{line}`"));
            }
            toks.push(Tok::Directive(line.trim().to_string()));
        } else if c.is_ascii_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            toks.push(Tok::Word(chars[start..i].iter().collect()));
            line_start = false;
        } else if c == '"' {
            let start = i + 1;
            let end = (start..chars.len())
                .find(|&j| chars[j] == '"')
                .ok_or_else(|| format!("unterminated string at line {}", line_of(i)))?;
            toks.push(Tok::Str(chars[start..end].iter().collect()));
            i = end + 1;
            line_start = false;
        } else if c.is_ascii_punctuation() {
            toks.push(Tok::Punct(c));
            i += 1;
            line_start = false;
        } else {
            return Err(format!("unexpected character {c:?} at line {}", line_of(i)));
        }
    }
    Ok(toks)
}

/// A declaration: the tokens up to its `;`, and the doc comment just above it.
struct Stmt {
    doc: Option<String>,
    toks: Vec<Tok>,
}

/// Splits the tokens into declarations, dropping the include guard, the `#include`s and the
/// `#ifdef __cplusplus` blocks; a doc comment followed by a preprocessor line is dropped.
fn statements(toks: Vec<Tok>) -> Result<Vec<Stmt>, String> {
    let mut out = Vec::new();
    let mut doc = None;
    let mut cur = Vec::new();
    let mut depth = 0usize;
    // Inside `#ifdef __cplusplus`: how many conditionals are open.
    let mut skip = 0usize;
    for tok in toks {
        if skip > 0 {
            if let Tok::Directive(d) = &tok {
                match directive(d).0.as_str() {
                    "if" | "ifdef" | "ifndef" => skip += 1,
                    "endif" => skip -= 1,
                    _ => {}
                }
            }
            continue;
        }
        match tok {
            Tok::Directive(d) => {
                if !cur.is_empty() {
                    return Err(format!(
                        "`{}`: a preprocessor line inside the declaration: `{d}`",
                        show(&cur)
                    ));
                }
                doc = None;
                let (name, args) = directive(&d);
                match (name.as_str(), args.as_slice()) {
                    ("ifdef", [a]) if a == "__cplusplus" => skip = 1,
                    ("ifndef", [_]) | ("define", [_]) | ("include", _) | ("endif", _) => {}
                    _ => return Err(format!("unsupported preprocessor line `{d}`")),
                }
            }
            Tok::Doc(t) if cur.is_empty() => doc = Some(t),
            Tok::Punct(';') if depth == 0 => {
                if cur.is_empty() {
                    return Err("an empty declaration (`;`)".into());
                }
                out.push(Stmt {
                    doc: doc.take(),
                    toks: std::mem::take(&mut cur),
                });
            }
            t => {
                match t {
                    Tok::Punct('{') => depth += 1,
                    Tok::Punct('}') => {
                        depth = depth
                            .checked_sub(1)
                            .ok_or_else(|| format!("`{}`: unbalanced `}}`", show(&cur)))?
                    }
                    _ => {}
                }
                cur.push(t);
            }
        }
    }
    if skip > 0 {
        return Err("unterminated `#ifdef __cplusplus`".into());
    }
    if !cur.is_empty() {
        return Err(format!("`{}`: no `;` at the end", show(&cur)));
    }
    Ok(out)
}

/// `#endif  /* X */` -> ("endif", ["/*", "X", "*/"]).
fn directive(d: &str) -> (String, Vec<String>) {
    let mut words = d.trim_start_matches('#').split_whitespace();
    let name = words.next().unwrap_or_default().to_string();
    let args = words
        .take_while(|w| !w.starts_with("//") && !w.starts_with("/*"))
        .map(str::to_string)
        .collect();
    (name, args)
}

/// The declaration's tokens as C-ish text (docs left out), for error messages.
fn show(toks: &[Tok]) -> String {
    let mut out = String::new();
    for t in toks {
        let s = match t {
            Tok::Doc(_) | Tok::Directive(_) => continue,
            Tok::Word(w) => w.clone(),
            Tok::Str(s) => format!("\"{s}\""),
            Tok::Punct(c) => c.to_string(),
        };
        let glue = matches!(t, Tok::Punct(',' | ')' | ';')) || out.ends_with(['(', '*']);
        if !out.is_empty() && !glue {
            out.push(' ');
        }
        out.push_str(&s);
    }
    out
}

fn word(t: Option<&Tok>) -> Option<&str> {
    match t {
        Some(Tok::Word(w)) => Some(w),
        _ => None,
    }
}

fn is_punct(t: Option<&Tok>, c: char) -> bool {
    t == Some(&Tok::Punct(c))
}

/// Parses a header's text.
pub(crate) fn parse(src: &str) -> Result<Header, String> {
    let mut header = Header::default();
    for stmt in statements(lex(src)?)? {
        declaration(&mut header, stmt)?;
    }
    Ok(header)
}

fn declaration(header: &mut Header, stmt: Stmt) -> Result<(), String> {
    let t = &stmt.toks;
    let text = show(t);
    let fail = |why: String| format!("cannot map `{text}`: {why}");
    let doc = stmt.doc.as_deref().map(doc_text);
    match word(t.first()) {
        Some("typedef") => match word(t.get(1)) {
            Some("enum") => header.enums.push(enum_decl(t).map_err(fail)?),
            Some("struct") if t.len() == 4 && !t.iter().any(|x| is_punct(Some(x), '{')) => {
                match (word(t.get(2)), word(t.get(3))) {
                    (Some(tag), Some(name)) if tag == name => header.opaque.push(name.into()),
                    _ => return Err(fail("an opaque struct is `typedef struct x x;`".into())),
                }
            }
            Some("struct") => {
                let (name, fields) = struct_decl(t).map_err(fail)?;
                header.structs.push(Struct { doc, name, fields });
            }
            _ => header.callbacks.push(callback_decl(t, doc).map_err(fail)?),
        },
        Some("extern") => {
            let f = function(&t[1..], None).map_err(fail)?;
            if !IMPORTED.contains(&f.name.as_str()) {
                return Err(fail(
                    "an `extern` declaration (a function of another library?) is not mapped".into(),
                ));
            }
        }
        _ => header.functions.push(function(t, doc).map_err(fail)?),
    }
    Ok(())
}

/// The tokens between the first `{` and the last `}`, and the one word after it (the name).
fn braced(t: &[Tok]) -> Result<(&[Tok], String), String> {
    let open = t.iter().position(|x| is_punct(Some(x), '{'));
    let close = t.iter().rposition(|x| is_punct(Some(x), '}'));
    match (open, close) {
        (Some(o), Some(c)) if c + 2 == t.len() => match word(t.get(c + 1)) {
            Some(name) => Ok((&t[o + 1..c], name.to_string())),
            None => Err("no name after `}`".into()),
        },
        _ => Err("expected `{ … } name`".into()),
    }
}

fn enum_decl(t: &[Tok]) -> Result<Enum, String> {
    let (body, name) = braced(t)?;
    let mut variants = Vec::new();
    let items = body.split(|x| is_punct(Some(x), ','));
    for item in items {
        let item: Vec<&Tok> = item.iter().filter(|x| !matches!(x, Tok::Doc(_))).collect();
        match item.as_slice() {
            [] => {}
            [Tok::Word(v), Tok::Punct('='), Tok::Word(n)] => variants.push((v.clone(), num(n)?)),
            [Tok::Word(v), Tok::Punct('='), Tok::Punct('-'), Tok::Word(n)] => {
                variants.push((v.clone(), -num(n)?))
            }
            _ => return Err("enum variants must be `NAME = number`".into()),
        }
    }
    Ok(Enum { name, variants })
}

fn num(n: &str) -> Result<i64, String> {
    n.parse().map_err(|_| format!("`{n}` is not a number"))
}

fn struct_decl(t: &[Tok]) -> Result<(String, Vec<Field>), String> {
    let (body, name) = braced(t)?;
    let mut fields = Vec::new();
    let mut chunks: Vec<&[Tok]> = body.split(|x| is_punct(Some(x), ';')).collect();
    if chunks
        .last()
        .is_some_and(|c| c.iter().all(|x| matches!(x, Tok::Doc(_))))
    {
        chunks.pop();
    }
    for chunk in chunks {
        let doc = chunk.iter().rev().find_map(|x| match x {
            Tok::Doc(d) => Some(doc_text(d)),
            _ => None,
        });
        let rest: Vec<Tok> = chunk
            .iter()
            .filter(|x| !matches!(x, Tok::Doc(_)))
            .cloned()
            .collect();
        let (ty, name) = named(&rest).map_err(|e| format!("field `{}`: {e}", show(&rest)))?;
        fields.push(Field { doc, ty, name });
    }
    Ok((name, fields))
}

/// `typedef R (*name)(params)`.
fn callback_decl(t: &[Tok], doc: Option<String>) -> Result<Func, String> {
    let p = t
        .iter()
        .position(|x| is_punct(Some(x), '('))
        .ok_or("not a typedef the generator knows (enum, struct, function pointer)")?;
    let shaped = t.len() >= p + 6
        && is_punct(t.get(p + 1), '*')
        && is_punct(t.get(p + 3), ')')
        && is_punct(t.get(p + 4), '(')
        && is_punct(t.last(), ')');
    let name = match word(t.get(p + 2)) {
        Some(n) if shaped => n,
        _ => return Err("a function-pointer typedef is `typedef R (*name)(params)`".into()),
    };
    Ok(Func {
        doc,
        ret: ctype(&t[1..p])?,
        name: name.to_string(),
        params: params(&t[p + 5..t.len() - 1])?,
    })
}

/// `R name(params)`.
fn function(t: &[Tok], doc: Option<String>) -> Result<Func, String> {
    let p = t
        .iter()
        .position(|x| is_punct(Some(x), '('))
        .ok_or("not a function declaration")?;
    let name = match word(p.checked_sub(1).and_then(|i| t.get(i))) {
        Some(n) if p >= 2 && is_punct(t.last(), ')') => n,
        _ => return Err("a function declaration is `R name(params)`".into()),
    };
    Ok(Func {
        doc,
        ret: ctype(&t[..p - 1])?,
        name: name.to_string(),
        params: params(&t[p + 1..t.len() - 1])?,
    })
}

fn params(t: &[Tok]) -> Result<Vec<Param>, String> {
    if t.is_empty() || (t.len() == 1 && word(t.first()) == Some("void")) {
        return Ok(Vec::new());
    }
    if t.iter().any(|x| is_punct(Some(x), '(')) {
        return Err("a function-pointer parameter needs a typedef".into());
    }
    t.split(|x| is_punct(Some(x), ','))
        .map(|p| {
            let (ty, name) = named(p).map_err(|e| format!("parameter `{}`: {e}", show(p)))?;
            Ok(Param { ty, name })
        })
        .collect()
}

/// `type name` (a parameter or a field).
fn named(t: &[Tok]) -> Result<(CType, String), String> {
    match t.split_last() {
        Some((Tok::Word(name), ty)) if !ty.is_empty() => Ok((ctype(ty)?, name.clone())),
        _ => Err("expected `type name`".into()),
    }
}

fn ctype(t: &[Tok]) -> Result<CType, String> {
    let unsupported = || format!("unsupported type `{}`", show(t));
    let (konst, t) = match word(t.first()) {
        Some("const") => (true, &t[1..]),
        _ => (false, t),
    };
    let base = match word(t.first()) {
        Some(b) if !["const", "struct", "enum", "union", "unsigned", "signed"].contains(&b) => b,
        _ => return Err(unsupported()),
    };
    if !t[1..].iter().all(|x| is_punct(Some(x), '*')) {
        return Err(unsupported());
    }
    Ok(CType {
        konst,
        base: base.to_string(),
        ptr: t.len() - 1,
    })
}

/// A cbindgen `/* … */` comment as paragraphs joined by blank lines (one line each).
fn doc_text(raw: &str) -> String {
    let mut paras: Vec<String> = Vec::new();
    let mut cur = String::new();
    for line in raw.lines() {
        let line = line.trim();
        let line = if line == "*" {
            ""
        } else {
            line.strip_prefix("* ").unwrap_or(line)
        };
        if line.is_empty() {
            if !cur.is_empty() {
                paras.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(line);
    }
    if !cur.is_empty() {
        paras.push(cur);
    }
    paras.join("\n\n")
}

// ---------------------------------------------------------------------------------------------
// C# output.

/// `safe_client_config` -> `ClientConfig`.
fn pascal(c_name: &str) -> String {
    camel(c_name.strip_prefix(PREFIX).unwrap_or(c_name), true)
}

/// `safe_record_fn` -> `RecordCallback`.
fn delegate_name(c_name: &str) -> String {
    let base = c_name.strip_prefix(PREFIX).unwrap_or(c_name);
    format!(
        "{}Callback",
        camel(base.strip_suffix("_fn").unwrap_or(base), true)
    )
}

/// C# keywords (a parameter named so gets `@`).
const KEYWORDS: &str = "\
    abstract as base bool break byte case catch char checked class const continue decimal \
    default delegate do double else enum event explicit extern false finally fixed float for \
    foreach goto if implicit in int interface internal is lock long namespace new null object \
    operator out override params private protected public readonly ref return sbyte sealed \
    short sizeof stackalloc static string struct switch this throw true try typeof uint ulong \
    unchecked unsafe ushort using virtual void volatile while";

/// `user_data` -> `userData`; a C# keyword gets `@`.
fn param_name(c_name: &str) -> String {
    let name = camel(c_name, false);
    if KEYWORDS.split_whitespace().any(|k| k == name) {
        format!("@{name}")
    } else {
        name
    }
}

fn scalar(base: &str) -> Option<&'static str> {
    Some(match base {
        "uint64_t" => "ulong",
        "int64_t" => "long",
        "int32_t" => "int",
        "uint32_t" => "uint",
        "double" => "double",
        "size_t" => "UIntPtr",
        _ => return None,
    })
}

/// A doc as `/// <summary>` lines: XML-escaped, backticked spans as `<c>`, later paragraphs
/// in `<para>`.
fn xml_doc(out: &mut String, indent: &str, doc: Option<&str>) {
    let Some(doc) = doc else { return };
    let paras: Vec<String> = doc
        .split("\n\n")
        .enumerate()
        .map(|(i, p)| {
            let p = p
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
            let p = spans(&p, |s, _| format!("<c>{s}</c>"));
            if i == 0 {
                p
            } else {
                format!("<para>{p}</para>")
            }
        })
        .collect();
    line_comment(
        out,
        indent,
        "/// ",
        &format!("<summary>{}</summary>", paras.join(" ")),
    );
}

/// What the header's names mean in C#.
struct Types<'a> {
    header: &'a Header,
}

/// A parameter's C# type, and the other overload's for a borrowed type.
struct Mapped {
    ty: String,
    borrowed: Option<String>,
}

impl Types<'_> {
    fn is_enum(&self, name: &str) -> bool {
        self.header.enums.iter().any(|e| e.name == name)
    }

    fn is_opaque(&self, name: &str) -> bool {
        self.header.opaque.iter().any(|o| o == name)
    }

    fn is_struct(&self, name: &str) -> bool {
        self.header.structs.iter().any(|s| s.name == name)
    }

    fn is_callback(&self, name: &str) -> bool {
        self.header.callbacks.iter().any(|c| c.name == name)
    }

    fn handle(&self, name: &str) -> Result<&'static str, String> {
        HANDLES
            .iter()
            .find(|(c, _)| *c == name)
            .map(|(_, cs)| *cs)
            .ok_or_else(|| format!("opaque type `{name}` has no SafeHandle class in HANDLES"))
    }

    fn known(&self, name: &str) -> bool {
        ["char", "void", "bool"].contains(&name)
            || scalar(name).is_some()
            || self.is_enum(name)
            || self.is_opaque(name)
            || self.is_struct(name)
            || self.is_callback(name)
    }

    /// A value type by value (a parameter, a field, a return).
    fn value(&self, ty: &CType) -> Option<String> {
        if ty.ptr != 0 {
            return None;
        }
        if ty.base == "safe_status" && self.is_enum(&ty.base) {
            return Some("ErrorCode".into());
        }
        scalar(&ty.base).map(str::to_string)
    }

    fn ret(&self, ty: &CType) -> Result<String, String> {
        if ty.ptr == 0 && ty.base == "void" {
            return Ok("void".into());
        }
        if let Some(v) = self.value(ty) {
            return Ok(v);
        }
        if ty.konst && ty.ptr == 1 && (ty.base == "char" || BORROWED.contains(&ty.base.as_str())) {
            return Ok("IntPtr".into());
        }
        Err(format!("unsupported return type `{ty}`"))
    }

    fn param(&self, f: &Func, p: &Param) -> Result<Mapped, String> {
        let one = |ty: &str| {
            Ok(Mapped {
                ty: ty.to_string(),
                borrowed: None,
            })
        };
        if let Some((_, _, cs)) = OVERRIDES
            .iter()
            .find(|(func, param, _)| *func == f.name && *param == p.name)
        {
            return one(cs);
        }
        let ty = &p.ty;
        let why = |why: &str| Err(format!("parameter `{ty} {}`: {why}", p.name));
        if ty.ptr == 0 {
            if let Some(v) = self.value(ty) {
                return one(&v);
            }
            if self.is_callback(&ty.base) {
                return one(&delegate_name(&ty.base));
            }
            return why("unsupported type");
        }
        let base = ty.base.as_str();
        if f.name.ends_with("_free") && self.is_opaque(base) && ty.ptr == 1 && !ty.konst {
            return one("IntPtr");
        }
        match (base, ty.konst, ty.ptr) {
            ("char", _, 1) | ("void", _, 1) => one("IntPtr"),
            _ if LENT.contains(&base) && ty.ptr == 1 => one("IntPtr"),
            ("char", false, 2) => one("out IntPtr"),
            ("bool", false, 1) => one("[MarshalAs(UnmanagedType.U1)] out bool"),
            _ if self.is_opaque(base) => {
                let handle = self.handle(base)?;
                match (ty.konst, ty.ptr) {
                    (konst, 1) => Ok(Mapped {
                        ty: handle.into(),
                        borrowed: (konst && BORROWED.contains(&base)).then(|| "IntPtr".into()),
                    }),
                    (false, 2) => one(&format!("out {handle}")),
                    _ => why("unsupported pointer to a handle"),
                }
            }
            _ if self.is_struct(base) && ty.konst && ty.ptr == 1 => {
                one(&format!("ref {}", pascal(base)))
            }
            _ if scalar(base).is_some() && ty.ptr == 1 => why(
                "ambiguous (one out value or a buffer?): say which in OVERRIDES \
                 (tools/codegen/src/pinvoke.rs)",
            ),
            _ => why("unsupported type"),
        }
    }

    fn callback_param(&self, p: &Param) -> Result<String, String> {
        let ty = &p.ty;
        if let Some(v) = self.value(ty) {
            return Ok(v);
        }
        match (ty.base.as_str(), ty.konst, ty.ptr) {
            ("char", false, 2) => Ok("out IntPtr".into()),
            (base, _, 1) if base == "char" || base == "void" || self.is_opaque(base) => {
                Ok("IntPtr".into())
            }
            _ => Err(format!("parameter `{ty} {}`: unsupported type", p.name)),
        }
    }

    fn field(&self, f: &Field) -> Result<String, String> {
        if let Some(v) = self.value(&f.ty) {
            return Ok(v);
        }
        if f.ty.ptr > 0 && self.known(&f.ty.base) {
            return Ok("IntPtr".into());
        }
        Err(format!("field `{} {}`: unsupported type", f.ty, f.name))
    }
}

fn render(header: &Header) -> Result<String, String> {
    let types = Types { header };
    for e in &header.enums {
        if e.name != "safe_status" {
            return Err(format!(
                "enum `{}` has no C# mapping (only safe_status, as ErrorCode)",
                e.name
            ));
        }
    }
    for o in header.opaque.iter().filter(|o| !LENT.contains(&o.as_str())) {
        types.handle(o)?;
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "// generated by `make codegen` (tools/codegen) from the C ABI header ({HEADER}); do not edit."
    );
    out.push_str(
        "// The P/Invoke declarations of libsafe_tracker: the functions (class Native, under their C\n\
         // names), the structs and the callback delegates; the mapping rules are in\n\
         // tools/codegen/src/pinvoke.rs. The SafeHandle classes are in src/Interop.cs.\n\
         using System;\n\
         using System.Runtime.InteropServices;\n\
         \n\
         namespace SafeTracker\n\
         {\n",
    );
    for s in &header.structs {
        xml_doc(&mut out, "    ", s.doc.as_deref());
        let _ = writeln!(
            out,
            "    [StructLayout(LayoutKind.Sequential)]\n    internal struct {}\n    {{",
            pascal(&s.name)
        );
        for f in &s.fields {
            let ty = types
                .field(f)
                .map_err(|e| format!("cannot map struct `{}`: {e}", s.name))?;
            xml_doc(&mut out, "        ", f.doc.as_deref());
            let _ = writeln!(out, "        public {ty} {};", camel(&f.name, true));
        }
        out.push_str("    }\n\n");
    }
    for c in &header.callbacks {
        let fail = |e: String| format!("cannot map callback `{}`: {e}", c.name);
        let ret = types.ret(&c.ret).map_err(fail)?;
        let params = c
            .params
            .iter()
            .map(|p| {
                Ok(format!(
                    "{} {}",
                    types.callback_param(p)?,
                    param_name(&p.name)
                ))
            })
            .collect::<Result<Vec<_>, String>>()
            .map_err(fail)?;
        xml_doc(&mut out, "    ", c.doc.as_deref());
        out.push_str("    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]\n");
        signature(
            &mut out,
            "    ",
            &format!("internal delegate {ret} {}", delegate_name(&c.name)),
            &params,
        );
        out.push('\n');
    }
    out.push_str(
        "    /// <summary>The functions of libsafe_tracker, one declaration per function of the header\n    \
         /// (two for a borrowed item: <c>ItemHandle</c> and <c>IntPtr</c>).</summary>\n    \
         internal static class Native\n    \
         {\n        \
         const string Lib = \"safe_tracker\";\n",
    );
    for f in &header.functions {
        let fail = |e: String| format!("cannot map `{}`: {e}", f.name);
        let ret = types.ret(&f.ret).map_err(fail)?;
        let mapped = f
            .params
            .iter()
            .map(|p| types.param(f, p))
            .collect::<Result<Vec<_>, String>>()
            .map_err(fail)?;
        let names: Vec<String> = f.params.iter().map(|p| param_name(&p.name)).collect();
        let mut overloads = vec![mapped.iter().map(|m| m.ty.clone()).collect::<Vec<_>>()];
        if mapped.iter().any(|m| m.borrowed.is_some()) {
            overloads.push(
                mapped
                    .iter()
                    .map(|m| m.borrowed.clone().unwrap_or_else(|| m.ty.clone()))
                    .collect(),
            );
        }
        for (i, tys) in overloads.iter().enumerate() {
            out.push('\n');
            if i == 0 {
                xml_doc(&mut out, "        ", f.doc.as_deref());
            } else {
                out.push_str("        /// <summary>The same, for a borrowed pointer.</summary>\n");
            }
            out.push_str("        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]\n");
            let params: Vec<String> = tys
                .iter()
                .zip(&names)
                .map(|(t, n)| format!("{t} {n}"))
                .collect();
            signature(
                &mut out,
                "        ",
                &format!("internal static extern {ret} {}", f.name),
                &params,
            );
        }
    }
    out.push_str("    }\n}\n");
    Ok(out)
}

/// `head(params);` on one line when it fits, else one parameter per line.
fn signature(out: &mut String, indent: &str, head: &str, params: &[String]) {
    let line = format!("{indent}{head}({});", params.join(", "));
    if line.chars().count() <= WIDTH || params.len() < 2 {
        let _ = writeln!(out, "{line}");
        return;
    }
    let _ = writeln!(out, "{indent}{head}(");
    for (i, p) in params.iter().enumerate() {
        let tail = if i + 1 == params.len() { ");" } else { "," };
        let _ = writeln!(out, "{indent}    {p}{tail}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SNIPPET: &str = r#"
/*
 * A file comment, not a doc.
 */
#ifndef X_H
#define X_H
#include <stdint.h>
/*
 Statuses.
 */
typedef enum {
  /*
   Success.
   */
  SAFE_OK = 0,
  SAFE_PANIC = 91,
} safe_status;

/*
 A client.
 */
typedef struct safe_client safe_client;

typedef struct safe_item safe_item;

/*
 Settings.
 */
typedef struct {
  /*
   The token (required).
   */
  const char *token;
  uint32_t max_attempts;
} safe_client_config;

/*
 Called for each record.

 Then `{"k"}` & <t>.
 */
typedef int32_t (*safe_record_fn)(void *user_data, const safe_item *item, const char *record_json);

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

/*
 Creates a client from `config`.
 */
safe_status safe_client_new(const safe_client_config *config,
                            safe_client **out);

void safe_client_free(safe_client *client);

safe_status safe_sweep(const safe_client *client,
                       safe_record_fn callback,
                       void *user_data,
                       char **out_report_json);

int64_t safe_item_id(const safe_item *item);

const safe_item *safe_first(const safe_client *client, size_t index, bool *found);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* X_H */
"#;

    #[test]
    fn an_extern_declaration_of_another_library_fails() {
        let with_free = SNIPPET.replace(
            "void safe_client_free(safe_client *client);",
            "void safe_client_free(safe_client *client);\n\nextern void free(void *p);",
        );
        let err = parse(&with_free)
            .and_then(|h| render(&h))
            .expect_err("an extern declaration is refused");
        assert!(err.contains("extern void free"), "{err}");
    }

    #[test]
    fn a_lent_type_is_an_intptr_never_a_handle() {
        let lent = SNIPPET.replace(
            "void safe_client_free(safe_client *client);",
            "void safe_client_free(safe_client *client);\n\ntypedef struct safe_state_sink \
             safe_state_sink;\n\nsafe_status safe_state_sink_set(safe_state_sink *sink, const \
             char *state_json);",
        );
        let cs = render(&parse(&lent).unwrap()).unwrap();
        assert!(
            cs.contains("safe_state_sink_set(IntPtr sink, IntPtr stateJson)"),
            "{cs}"
        );
    }

    #[test]
    fn parses_and_maps_a_snippet() {
        let h = parse(SNIPPET).unwrap();
        assert_eq!(h.opaque, ["safe_client", "safe_item"]);
        assert_eq!(
            h.enums[0].variants,
            [("SAFE_OK".to_string(), 0), ("SAFE_PANIC".to_string(), 91)]
        );
        let names: Vec<&str> = h.functions.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "safe_client_new",
                "safe_client_free",
                "safe_sweep",
                "safe_item_id",
                "safe_first"
            ]
        );
        assert_eq!(h.functions[2].params.len(), 4);
        let cs = render(&h).unwrap();
        for line in [
            "    [StructLayout(LayoutKind.Sequential)]\n    internal struct ClientConfig\n    {\n",
            "        /// <summary>The token (required).</summary>\n        public IntPtr Token;\n",
            "        public uint MaxAttempts;\n",
            "    /// <summary>Called for each record. <para>Then <c>{\"k\"}</c> &amp; \
             &lt;t&gt;.</para></summary>\n",
            "    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]\n    internal delegate int \
             RecordCallback(IntPtr userData, IntPtr item, IntPtr recordJson);\n",
            "        /// <summary>Creates a client from <c>config</c>.</summary>\n        \
             [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]\n        \
             internal static extern ErrorCode safe_client_new(\n            ref ClientConfig config,\n            \
             out ClientHandle @out);\n",
            "internal static extern void safe_client_free(IntPtr client);\n",
            "        internal static extern ErrorCode safe_sweep(\n            ClientHandle client,\n            \
             RecordCallback callback,\n            IntPtr userData,\n            out IntPtr outReportJson);\n",
            "internal static extern long safe_item_id(ItemHandle item);\n",
            "internal static extern long safe_item_id(IntPtr item);\n",
            "internal static extern IntPtr safe_first(\n            ClientHandle client,\n            \
             UIntPtr index,\n            [MarshalAs(UnmanagedType.U1)] out bool found);\n",
        ] {
            assert!(cs.contains(line), "missing {line:?} in\n{cs}");
        }
        assert!(!cs.contains("file comment"), "{cs}");
        assert!(!cs.contains("A client."), "{cs}");
    }

    #[test]
    fn unknown_declarations_fail_naming_them() {
        let base = "typedef struct safe_client safe_client;\n";
        for (decl, needle) in [
            (
                "safe_status safe_frob(const safe_widget *w,\n  int32_t n);",
                "safe_frob",
            ),
            ("float safe_ratio(void);", "safe_ratio"),
            (
                "void safe_fill(const safe_client *c, int64_t *out);",
                "OVERRIDES",
            ),
            ("extern int other(void);", "extern"),
            ("#define SAFE_MAX 5", "#define SAFE_MAX 5"),
            ("#if defined(FEATURE)\nvoid safe_x(void);\n#endif", "#if"),
            ("typedef struct safe_gadget safe_gadget;", "safe_gadget"),
            ("typedef enum { A = 1, } other_enum;", "other_enum"),
            ("typedef struct { float f; } safe_s;", "safe_s"),
            ("typedef int32_t (*safe_cb)(float x);", "safe_cb"),
            ("void safe_y(int (*cb)(void));", "safe_y"),
            ("void safe_z(void)", "safe_z"),
        ] {
            let err = generate(&format!("{base}{decl}\n")).unwrap_err();
            assert!(err.contains(needle), "{decl}: {err}");
        }
    }

    #[test]
    #[should_panic(expected = "cannot read include/safe_tracker.h")]
    fn a_missing_header_names_it() {
        native_cs(Path::new("/nonexistent/safe-tracker"));
    }

    #[test]
    fn an_unparseable_header_names_it_and_the_declaration() {
        let dir = std::env::temp_dir().join(format!("pinvoke-test-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("include")).unwrap();
        std::fs::write(dir.join(HEADER), "float safe_ratio(void);\n").unwrap();
        let err = std::panic::catch_unwind(|| native_cs(&dir)).unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        let msg = err.downcast_ref::<String>().unwrap();
        assert!(
            msg.starts_with(
                "include/safe_tracker.h: cannot map `safe_ratio`: unsupported return type"
            ),
            "{msg}"
        );
    }

    #[test]
    fn every_header_function_is_in_native_cs() {
        let root = crate::root();
        let header = std::fs::read_to_string(root.join(HEADER)).unwrap();
        let cs = std::fs::read_to_string(root.join("bindings-dotnet/src/Generated/Native.g.cs"))
            .unwrap();
        // Independent of the parser: every `safe_x(` outside comments and typedefs.
        let mut code = String::new();
        let mut rest = header.as_str();
        while let Some(start) = rest.find("/*") {
            code.push_str(&rest[..start]);
            rest = &rest[start + rest[start..].find("*/").unwrap() + 2..];
        }
        code.push_str(rest);
        let mut count = 0;
        for decl in code.split(';').filter(|d| !d.contains("typedef")) {
            for (i, _) in decl.match_indices('(') {
                let name_start = decl[..i]
                    .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .map_or(0, |s| s + 1);
                let name = &decl[name_start..i];
                if name.starts_with(PREFIX) {
                    count += 1;
                    let needle = format!(" {name}(");
                    assert!(
                        cs.lines()
                            .any(|l| l.contains("static extern") && l.contains(&needle)),
                        "{name} is not in Native.cs"
                    );
                }
            }
        }
        let parsed = parse(&header).unwrap();
        assert_eq!(count, parsed.functions.len());
        assert!(count > 40, "{count}");
    }

    #[test]
    fn every_override_names_a_parameter_of_the_header() {
        let header = parse(&std::fs::read_to_string(crate::root().join(HEADER)).unwrap()).unwrap();
        for (func, param, _) in OVERRIDES {
            assert!(
                header
                    .functions
                    .iter()
                    .any(|f| f.name == *func && f.params.iter().any(|p| p.name == *param)),
                "OVERRIDES: {func}({param}) is not in the header"
            );
        }
        for (c, _) in HANDLES {
            assert!(header.opaque.iter().any(|o| o == c), "HANDLES: {c}");
        }
    }

    #[test]
    fn header_statuses_match_status_cs() {
        let header = parse(&std::fs::read_to_string(crate::root().join(HEADER)).unwrap()).unwrap();
        let status = &header.enums[0];
        let cs = crate::errors::csharp_errors();
        let start = cs.find("public enum ErrorCode").unwrap();
        let codes = &cs[start..start + cs[start..].find("    }\n").unwrap()];
        for (name, n) in &status.variants {
            let member = camel(&name.strip_prefix("SAFE_").unwrap().to_lowercase(), true);
            assert!(
                codes.contains(&format!(" {member} = {n},\n")),
                "{name} = {n}"
            );
        }
        assert_eq!(codes.matches(" = ").count(), status.variants.len());
    }
}
