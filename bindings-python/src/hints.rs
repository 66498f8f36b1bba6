//! The arguments whose Python type no Rust type says (callbacks, the checkpoint's union), as
//! types of their own: each extracts like `Py<PyAny>` (no check, as before) and, with the
//! `inspect` feature, tells pyo3's introspection its Python type hint, which `make codegen`
//! writes into `safe_tracker/_native.pyi`.

use pyo3::prelude::*;

#[cfg(feature = "inspect")]
mod hint {
    //! The type hints, built from pyo3's static expressions.

    use pyo3::inspect::{PyStaticConstant, PyStaticExpr};
    use pyo3::{type_hint_identifier, type_hint_subscript, type_hint_union};

    pub const ANY: PyStaticExpr = type_hint_identifier!("typing", "Any");
    pub const BOOL: PyStaticExpr = type_hint_identifier!("builtins", "bool");
    pub const STR: PyStaticExpr = type_hint_identifier!("builtins", "str");
    pub const NONE: PyStaticExpr = PyStaticExpr::Constant {
        value: PyStaticConstant::None,
    };
    const CALLABLE: PyStaticExpr = type_hint_identifier!("collections.abc", "Callable");

    /// `Callable[[bool, Any], None]`.
    pub const COMPLETION: PyStaticExpr =
        type_hint_subscript!(CALLABLE, PyStaticExpr::List { elts: &[BOOL, ANY] }, NONE);
    /// `Callable[[str], str | None]`.
    pub const LOAD: PyStaticExpr = type_hint_subscript!(
        CALLABLE,
        PyStaticExpr::List { elts: &[STR] },
        type_hint_union!(STR, NONE)
    );
    /// `Callable[[str, str], None]`.
    pub const SAVE: PyStaticExpr =
        type_hint_subscript!(CALLABLE, PyStaticExpr::List { elts: &[STR, STR] }, NONE);
    /// `str | tuple[Callable[[str], str | None], Callable[[str, str], None]]`.
    pub const CHECKPOINT: PyStaticExpr = type_hint_union!(
        STR,
        type_hint_subscript!(type_hint_identifier!("builtins", "tuple"), LOAD, SAVE)
    );
}

/// A Python callable taken as it is, typed in the stub by the named constant of `hint`.
macro_rules! callback {
    ($(#[$doc:meta])* $name:ident, $hint:ident) => {
        $(#[$doc])*
        pub(crate) struct $name(pub Py<PyAny>);

        impl<'a, 'py> FromPyObject<'a, 'py> for $name {
            type Error = std::convert::Infallible;

            #[cfg(feature = "inspect")]
            const INPUT_TYPE: pyo3::inspect::PyStaticExpr = hint::$hint;

            fn extract(obj: Borrowed<'a, 'py, PyAny>) -> Result<Self, Self::Error> {
                Ok($name(obj.to_owned().unbind()))
            }
        }
    };
}

callback!(
    /// `callback(ok, payload)`: `(True, answer)` or `(False, exception)`.
    Completion,
    COMPLETION
);
callback!(
    /// A checkpoint's `load(key) -> str | None`.
    LoadCallback,
    LOAD
);
callback!(
    /// A checkpoint's `save(key, state_json)`.
    SaveCallback,
    SAVE
);

/// A poller's checkpoint: a JSON spec (`memory`, `file`, `sqlite`) or a `(load, save)` pair.
pub(crate) enum CheckpointArg {
    /// The JSON spec of a built-in store.
    Spec(String),
    /// The host's own store.
    Callbacks(LoadCallback, SaveCallback),
}

impl<'a, 'py> FromPyObject<'a, 'py> for CheckpointArg {
    type Error = PyErr;

    #[cfg(feature = "inspect")]
    const INPUT_TYPE: pyo3::inspect::PyStaticExpr = hint::CHECKPOINT;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(spec) = obj.extract::<String>() {
            return Ok(CheckpointArg::Spec(spec));
        }
        let (load, save): (LoadCallback, SaveCallback) = obj.extract()?;
        Ok(CheckpointArg::Callbacks(load, save))
    }
}
