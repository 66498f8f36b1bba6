//! Every language's error-code table, from the core's one table ([`ErrorCode::ALL`]: number,
//! name, doc, class).

use std::fmt::Write as _;

use safe_tracker::ErrorCode;

use crate::GENERATED;
use crate::text::*;

/// The statuses of the C ABI (and so of C#) that are not core codes: name, number, doc.
pub(crate) const ABI_STATUSES: [(&str, u32, &str); 3] = [
    ("Ok", 0, "Success."),
    (
        "InvalidArgument",
        90,
        "A NULL pointer, invalid UTF-8, or a call from inside a callback.",
    ),
    ("Panic", 91, "A panic inside the library was caught."),
];

/// What a language adds to one code's class.
#[derive(Default)]
pub(crate) struct Extra {
    /// The Python base classes (default `SafeError`).
    python_bases: Option<&'static str>,
    /// A sentence appended to the Python docstring (reST).
    python_doc: Option<&'static str>,
    /// A sentence appended to the TypeScript doc (JSDoc).
    node_doc: Option<&'static str>,
    /// Members of the TypeScript class (one per line, without indentation).
    node_members: &'static [&'static str],
    /// A sentence appended to the C doc.
    c_doc: Option<&'static str>,
    /// A sentence appended to the C# doc (XML doc).
    csharp_doc: Option<&'static str>,
}

pub(crate) fn extra(code: ErrorCode) -> Extra {
    match code {
        ErrorCode::Validation => Extra {
            python_doc: Some("``field`` names the field at fault, when known."),
            node_doc: Some("`field` names the field at fault, when known."),
            ..Extra::default()
        },
        ErrorCode::Timeout => Extra {
            python_bases: Some("SafeError, builtins.TimeoutError"),
            python_doc: Some("Also a built-in ``TimeoutError``."),
            ..Extra::default()
        },
        ErrorCode::RateLimited => Extra {
            python_doc: Some(
                "``retry_after`` is the wait the server asked for (seconds), when it said.",
            ),
            node_doc: Some(
                "`retryAfter` is the wait the server asked for (seconds), when it said.",
            ),
            c_doc: Some("safe_last_error_retry_after() gives the wait the server asked for."),
            csharp_doc: Some(
                "<see cref=\"SafeTrackerException.RetryAfter\"/> is the wait the server asked for.",
            ),
            ..Extra::default()
        },
        ErrorCode::DuplicateNumber => Extra {
            python_bases: Some("_DuplicateNumberFields"),
            python_doc: Some(
                "``seq`` is the number, ``ids`` the ids of its items (ascending; an item without \
                 an id is not listed). Nothing was dropped: no item is chosen for you.",
            ),
            node_doc: Some("`seq` is the number, `ids` the ids of its items (ascending)."),
            node_members: &[
                "/** The number. */",
                "readonly seq: number;",
                "/** The ids of its items, ascending. */",
                "readonly ids: number[];",
            ],
            c_doc: Some(
                "safe_last_error_seq() and safe_last_error_ids() give the number and the item ids.",
            ),
            csharp_doc: Some(
                "<see cref=\"SafeTrackerException.Seq\"/> and <see cref=\"SafeTrackerException.Ids\"/> give \
                 the number and the item ids.",
            ),
        },
        _ => Extra::default(),
    }
}

/// The core's codes, ascending by number.
pub(crate) fn codes() -> Vec<ErrorCode> {
    let mut all = ErrorCode::ALL.to_vec();
    all.sort_by_key(|c| c.as_u32());
    for c in &all {
        let doc = c.doc();
        assert!(
            !doc.contains("\"\"\"")
                && !doc.ends_with('"')
                && !doc.contains('\\')
                && !doc.contains("*/"),
            "the doc of {c:?} cannot be quoted in every language: {doc:?}"
        );
    }
    all
}

pub(crate) fn class_name(code: ErrorCode) -> String {
    format!("{}Error", code.name())
}

/// `bindings-python/python/safe_tracker/_error_codes.py`.
pub(crate) fn python() -> String {
    let codes = codes();
    let mut out = String::new();
    let _ = writeln!(out, "# {GENERATED}.");
    out.push_str(
        "\"\"\"The core's stable error codes and one exception class per code.\n\
         \n\
         The hand-written parts (``SafeError``, pickling, ``DuplicateNumberError``'s fields) are in\n\
         ``_errors.py``; what a class adds is in ``tools/codegen``.\n\
         \"\"\"\n\
         \n\
         from __future__ import annotations\n\
         \n",
    );
    if codes.iter().any(|&c| {
        extra(c)
            .python_bases
            .is_some_and(|b| b.contains("builtins."))
    }) {
        out.push_str("import builtins\n");
    }
    out.push_str(
        "from typing import Dict, List, Optional, Tuple, Type\n\
         \n\
         from ._errors import SafeError, _DuplicateNumberFields\n\
         \n\
         __all__ = [\n",
    );
    for &c in &codes {
        let _ = writeln!(out, "    \"{}\",", class_name(c));
    }
    out.push_str("    \"ERRORS_BY_CODE\",\n]\n");
    for &c in &codes {
        let x = extra(c);
        let doc = with(python_doc(c.doc()), x.python_doc);
        let _ = write!(
            out,
            "\n\nclass {}({}):\n",
            class_name(c),
            x.python_bases.unwrap_or("SafeError")
        );
        // Lines of at most WIDTH: indent, opening and closing quotes included.
        let lines = wrap(&doc, WIDTH - 10);
        for (i, line) in lines.iter().enumerate() {
            let lead = if i == 0 { "    \"\"\"" } else { "    " };
            let tail = if i + 1 == lines.len() { "\"\"\"" } else { "" };
            let _ = writeln!(out, "{lead}{line}{tail}");
        }
        let _ = writeln!(out, "\n    code = {}", c.as_u32());
    }
    out.push_str("\n\nERROR_CODES: Tuple[Tuple[int, str, str], ...] = (\n");
    for &c in &codes {
        let _ = writeln!(
            out,
            "    ({}, \"{}\", \"{}\"),",
            c.as_u32(),
            c.name(),
            c.class().name()
        );
    }
    out.push_str(
        ")\n\
         \"\"\"Every stable code of the core as ``(code, name, class)``, ascending.\"\"\"\n\
         \n\
         ERRORS_BY_CODE: Dict[int, Type[SafeError]] = {\n",
    );
    for &c in &codes {
        let _ = writeln!(out, "    {}: {},", c.as_u32(), class_name(c));
    }
    out.push_str(
        "}\n\
         \"\"\"Every exception class by its stable code.\"\"\"\n\
         \n\
         \n\
         def _from_native(\n    code: int,\n    message: str,\n    status: Optional[int],\n    \
         path: Optional[str],\n    retry_after: Optional[float],\n    field: Optional[str],\n    \
         seq: Optional[int] = None,\n    ids: Optional[List[int]] = None,\n) -> SafeError:\n    \
         \"\"\"The exception of a native error (called by ``safe_tracker._native``).\"\"\"\n    \
         cls = ERRORS_BY_CODE.get(code, SafeError)\n    \
         return cls._from_details(message, status, path, retry_after, field, seq, ids)\n",
    );
    out
}

/// `bindings-node/lib/error-codes.js`.
pub(crate) fn node_table() -> String {
    let mut out = String::new();
    let _ = writeln!(out, "// {GENERATED}.");
    out.push_str(
        "'use strict';\n\
         \n\
         /** Every stable error code of the core: `[code, name, class]`, ascending. */\n\
         module.exports = [\n",
    );
    for c in codes() {
        let _ = writeln!(
            out,
            "  [{}, '{}', '{}'],",
            c.as_u32(),
            c.name(),
            c.class().name()
        );
    }
    out.push_str("];\n");
    out
}

/// `bindings-node/lib/error-classes.d.ts`.
pub(crate) fn node_types() -> String {
    let mut out = String::new();
    let _ = writeln!(out, "// {GENERATED}.");
    out.push_str(
        "// One class per stable error code of the core (re-exported by index.d.ts).\n\
         import { SafeError } from './index.js';\n",
    );
    for c in codes() {
        let x = extra(c);
        out.push('\n');
        jsdoc(&mut out, &with(node_doc(c.doc()), x.node_doc));
        if x.node_members.is_empty() {
            let _ = writeln!(out, "export class {} extends SafeError {{}}", class_name(c));
        } else {
            let _ = writeln!(out, "export class {} extends SafeError {{", class_name(c));
            for m in x.node_members {
                let _ = writeln!(out, "  {m}");
            }
            out.push_str("}\n");
        }
    }
    out
}

/// `bindings-node/lib/error-classes.mjs`.
pub(crate) fn node_esm() -> String {
    let mut out = String::new();
    let _ = writeln!(out, "// {GENERATED}.");
    out.push_str(
        "// The error classes of the ESM entry: the CommonJS entry's objects (`instanceof` works\n\
         // across both). index.mjs re-exports them.\n\
         import cjs from './index.js';\n\
         \n\
         export const {\n",
    );
    for c in codes() {
        let _ = writeln!(out, "  {},", class_name(c));
    }
    out.push_str("} = cjs;\n");
    out
}

/// `bindings-c/src/status.rs` (cbindgen turns `safe_status` into the header's enum).
pub(crate) fn c_status() -> String {
    let codes = codes();
    let mut out = String::new();
    let _ = writeln!(out, "// {GENERATED}.");
    out.push_str(
        "//! The statuses of the C ABI: every core error code under its own number, and this ABI's\n\
         //! own (0, and 90+).\n\
         \n\
         use safe_tracker::ErrorCode;\n\
         \n\
         /// Result of every fallible call. Numbers are the core's stable error codes; 90+ are this ABI's.\n\
         #[repr(C)]\n\
         #[derive(Debug, Clone, Copy, PartialEq, Eq)]\n\
         pub enum safe_status {\n",
    );
    let mut rows: Vec<(u32, String, String)> = ABI_STATUSES
        .iter()
        .map(|(name, n, doc)| (*n, upper_snake(name), doc.to_string()))
        .collect();
    for &c in &codes {
        rows.push((
            c.as_u32(),
            upper_snake(c.name()),
            with(c_doc(c.doc()), extra(c).c_doc),
        ));
    }
    rows.sort_by_key(|r| r.0);
    for (n, name, doc) in &rows {
        line_comment(&mut out, "    ", "/// ", doc);
        let _ = writeln!(out, "    SAFE_{name} = {n},");
    }
    out.push_str(
        "}\n\
         \n\
         impl safe_status {\n    \
         /// The status of a core error code: its own, of the same number.\n    \
         pub(crate) const fn from_code(code: ErrorCode) -> safe_status {\n        \
         match code {\n",
    );
    for &c in &codes {
        let _ = writeln!(
            out,
            "            ErrorCode::{} => safe_status::SAFE_{},",
            c.name(),
            upper_snake(c.name())
        );
    }
    out.push_str(
        "            // `ErrorCode` is `#[non_exhaustive]`, so a match needs this arm; the check below\n            \
         // runs this function for every core code when the crate compiles, so a code added\n            \
         // to the core without `make codegen` stops the build here.\n            \
         _ => panic!(\"a core error code has no status: run `make codegen`\"),\n        \
         }\n    \
         }\n\
         }\n\
         \n\
         // Every core code has its own status, of the same number: checked at compile time.\n\
         const _: () = {\n    \
         let mut i = 0;\n    \
         while i < ErrorCode::ALL.len() {\n        \
         let code = ErrorCode::ALL[i];\n        \
         assert!(\n            \
         safe_status::from_code(code) as u32 == code as u32,\n            \
         \"a core error code has a status of another number: run `make codegen`\"\n        \
         );\n        \
         i += 1;\n    \
         }\n\
         };\n",
    );
    out
}

/// The C# exception class of a status: its name and `Exception`, except where .NET's `System`
/// already has the name (`Timeout` → `RequestTimeoutException`, never shadowing
/// `System.TimeoutException` in a file that uses both namespaces).
pub(crate) fn csharp_exception(name: &str) -> String {
    match name {
        "Timeout" => "RequestTimeoutException".into(),
        other => format!("{other}Exception"),
    }
}

/// The C# name of a core error class (`transient` → `Transient`).
fn csharp_class(class: &str) -> String {
    camel(class, true)
}

/// `bindings-dotnet/src/Generated/Errors.g.cs`: the `ErrorCode` enum (the core's codes and the
/// ABI's own), the `ErrorClass` enum, what each code's class is and whether a poller keeps
/// running after it, and one exception class per code with the factory that picks it.
pub(crate) fn csharp_errors() -> String {
    // (number, name, doc, class)
    let mut rows: Vec<(u32, String, String, String)> = ABI_STATUSES
        .iter()
        .map(|(name, n, doc)| (*n, name.to_string(), csharp_doc(doc), "Library".to_string()))
        .collect();
    for c in codes() {
        rows.push((
            c.as_u32(),
            c.name().to_string(),
            with(csharp_doc(c.doc()), extra(c).csharp_doc),
            csharp_class(c.class().name()),
        ));
    }
    rows.sort_by_key(|r| r.0);
    let mut out = String::new();
    let _ = writeln!(out, "// {GENERATED}.");
    out.push_str(
        "// The hand-written part of the exceptions (SafeTrackerException: its properties and how it\n\
         // is read from the library's last error) is in src/Errors.cs.\n\
         namespace SafeTracker\n\
         {\n    \
         /// <summary>The library's statuses: the stable error codes shared by every language, and\n    \
         /// this library's own (<see cref=\"Ok\"/>, 90+).</summary>\n    \
         public enum ErrorCode\n    \
         {\n",
    );
    for (n, name, doc, _) in &rows {
        line_comment(
            &mut out,
            "        ",
            "/// ",
            &format!("<summary>{doc}</summary>"),
        );
        let _ = writeln!(out, "        {name} = {n},");
    }
    out.push_str("    }\n\n");
    out.push_str(
        "    /// <summary>What kind of failure a code is: what a caller does about it.</summary>\n    \
         public enum ErrorClass\n    \
         {\n",
    );
    for class in safe_tracker::ErrorClass::ALL {
        line_comment(
            &mut out,
            "        ",
            "/// ",
            &format!("<summary>{}</summary>", csharp_doc(class.doc())),
        );
        let _ = writeln!(out, "        {},", csharp_class(class.name()));
    }
    out.push_str(
        "        /// <summary>This library's own statuses (90+): a bad argument, or a caught panic.</summary>\n        \
         Library,\n    \
         }\n\n",
    );
    out.push_str(
        "    /// <summary>What each <see cref=\"ErrorCode\"/> means, from the core's one table.</summary>\n    \
         public static class ErrorCodes\n    \
         {\n        \
         /// <summary>The class of <paramref name=\"code\"/> (<see cref=\"ErrorClass.Library\"/> for\n        \
         /// <see cref=\"ErrorCode.Ok\"/> and this library's own statuses).</summary>\n        \
         public static ErrorClass ClassOf(ErrorCode code)\n        \
         {\n            \
         switch (code)\n            \
         {\n",
    );
    for (_, name, _, class) in &rows {
        if class != "Library" {
            let _ = writeln!(
                out,
                "                case ErrorCode.{name}: return ErrorClass.{class};"
            );
        }
    }
    out.push_str(
        "                default: return ErrorClass.Library;\n            \
         }\n        \
         }\n\n        \
         /// <summary>True when the same call may succeed later without any change (the network or\n        \
         /// the server failed).</summary>\n        \
         public static bool IsTransient(ErrorCode code)\n        \
         {\n            \
         return ClassOf(code) == ErrorClass.Transient;\n        \
         }\n\n        \
         /// <summary>True when a poller's run-for-ever loop keeps going after this error (its next\n        \
         /// sweep retries); every other error ends the loop.</summary>\n        \
         public static bool KeepsPollerRunning(ErrorCode code)\n        \
         {\n",
    );
    let running: Vec<String> = safe_tracker::ErrorClass::ALL
        .iter()
        .filter(|c| c.keeps_poller_running())
        .map(|c| format!("ClassOf(code) == ErrorClass.{}", csharp_class(c.name())))
        .collect();
    let _ = writeln!(out, "            return {};", running.join(" || "));
    out.push_str("        }\n    }\n\n");
    for (_, name, doc, _) in &rows {
        if name == "Ok" {
            continue;
        }
        let class = csharp_exception(name);
        line_comment(
            &mut out,
            "    ",
            "/// ",
            &format!("<summary>{doc}</summary>"),
        );
        let _ = writeln!(
            out,
            "    public partial class {class} : SafeTrackerException\n    \
             {{\n        \
             internal {class}(ErrorDetails details, System.Exception inner) : base(details, inner) {{ }}\n    \
             }}\n"
        );
    }
    out.push_str(
        "    public partial class SafeTrackerException\n    \
         {\n        \
         /// <summary>The exception class of <paramref name=\"details\"/>'s code.</summary>\n        \
         internal static SafeTrackerException Create(ErrorDetails details, System.Exception inner)\n        \
         {\n            \
         switch (details.Code)\n            \
         {\n",
    );
    for (_, name, _, _) in &rows {
        if name != "Ok" {
            let _ = writeln!(
                out,
                "                case ErrorCode.{name}: return new {}(details, inner);",
                csharp_exception(name)
            );
        }
    }
    out.push_str(
        "                default: return new SafeTrackerException(details, inner);\n            \
         }\n        \
         }\n    \
         }\n\
         }\n",
    );
    out
}
