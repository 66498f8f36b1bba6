//! The tenants file of a fleet (TOML): a `[defaults]` table and one `[[tenant]]` entry per
//! agency, validated as a whole into [`TenantSpec`]s before anything starts.
//!
//! ```toml
//! [defaults]
//! base_url = "https://securelb.trackerproducts.com/api/"
//! interval = 600     # seconds between sweep starts (at least 60)
//! jitter = 30        # up to this many seconds of random extra wait
//! expand = ["form_data", "case"]
//!
//! [[tenant]]
//! name = "north-pd"
//! organization_id = 101
//! office_id = 1
//! token_file = "tokens/north-pd"   # relative to this file
//! updated = true
//! ```

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::{ClientConfig, Pacing};
use crate::error::{Error, Result};
use crate::poller::{Expand, PollerOptions, UpdatedOptions};

/// The keys a `[defaults]` table or a `[[tenant]]` entry may hold (`name` and the token keys
/// only in an entry).
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: Option<String>,
    base_url: Option<String>,
    organization_id: Option<u64>,
    office_id: Option<u64>,
    token_file: Option<PathBuf>,
    token_env: Option<String>,
    token: Option<String>,
    allow_inline_token: Option<bool>,
    expand: Option<ExpandList>,
    gap_tolerance: Option<u32>,
    interval: Option<f64>,
    jitter: Option<f64>,
    read_ahead: Option<u32>,
    requests_per_second: Option<f64>,
    updated: Option<bool>,
    enabled: Option<bool>,
    unsafe_min_interval: Option<f64>,
}

/// `expand` as a list or a comma-separated string.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
enum ExpandList {
    Text(String),
    List(Vec<String>),
}

impl ExpandList {
    fn joined(&self) -> String {
        match self {
            ExpandList::Text(t) => t.clone(),
            ExpandList::List(l) => l.join(","),
        }
    }
}

/// One agency of the fleet, ready to run. `Debug` never shows the token.
#[derive(Debug, Clone)]
pub struct TenantSpec {
    /// Its unique name (letters, digits, `.`, `_`, `-`): in logs, metrics and the store.
    pub name: String,
    /// The client's configuration (base URL, organisation, office, token, pacing).
    pub client: ClientConfig,
    /// The new-item poller's options.
    pub items: PollerOptions,
    /// The updated-items stream's options, when `updated = true`.
    pub updated: Option<UpdatedOptions>,
    /// `enabled = false` keeps the entry without running it.
    pub enabled: bool,
    /// Changes whenever the entry's settings change (a stable hash of them, never of the
    /// token): a changed tenant restarts on reload, and a disabled account is retried only
    /// after it changes. Shown by `fleet status` and kept in the store.
    pub revision: String,
    /// Changes when the token changes (a hash keyed per process, so it tells nothing about
    /// the token outside it): a reload with a new token restarts the tenant.
    pub token_check: TokenCheck,
}

/// A per-process keyed hash of a tenant's token ([`TenantSpec::token_check`]); its `Debug`
/// shows nothing.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TokenCheck(u64);

impl std::fmt::Debug for TokenCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCheck(…)")
    }
}

impl TokenCheck {
    fn of(token: &str) -> TokenCheck {
        static KEY: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
        let key = KEY.get_or_init(rand::random::<u64>);
        TokenCheck(crate::poller::stable_hash(&format!("{key:016x}|{token}")))
    }
}

impl TenantSpec {
    /// The organisation this tenant polls.
    pub fn organization_id(&self) -> u64 {
        self.client.credentials.organization_id
    }
}

/// A validated tenants file.
#[derive(Debug, Clone)]
pub struct TenantsFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// Every entry, in file order (disabled ones too).
    pub tenants: Vec<TenantSpec>,
    /// What is allowed but unwise (an inline token), for the log.
    pub warnings: Vec<String>,
    /// The tenants whose token is inline in the file (`allow_inline_token`): such a file is
    /// not copied into a shared store, which would hold the token then.
    pub inline_tokens: Vec<String>,
}

/// How a tenants file is read.
#[derive(Debug, Clone, Default)]
pub struct TenantsOptions {
    /// Allows plain `http://` to a host that is not loopback (the CLI's
    /// `--allow-insecure-http`).
    pub allow_insecure_http: bool,
    /// The `host_language` of the tenants' clients (their User-Agent).
    pub host_language: Option<String>,
}

impl TenantsFile {
    /// Reads and validates `path`; relative token files are relative to its folder.
    pub fn load(path: &Path, options: &TenantsOptions) -> Result<TenantsFile> {
        TenantsFile::load_with_text(path, options).map(|(file, _)| file)
    }

    /// [`TenantsFile::load`], also returning the text that was validated (to store it as a
    /// shared fleet's tenant set).
    pub fn load_with_text(path: &Path, options: &TenantsOptions) -> Result<(TenantsFile, String)> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::InvalidConfig(format!(
                "cannot read the tenants file {}: {e}",
                path.display()
            ))
        })?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut file = TenantsFile::parse(&text, dir, options)
            .map_err(|e| prefix(e, &path.display().to_string()))?;
        file.path = path.to_path_buf();
        Ok((file, text))
    }

    /// Validates a tenants file's text (token files relative to `dir`). Every problem is
    /// reported at once, each naming its tenant and key.
    pub fn parse(text: &str, dir: &Path, options: &TenantsOptions) -> Result<TenantsFile> {
        // toml's own Display quotes the offending line, which may hold a token: only the line,
        // the column and the message are reported.
        let table: toml::Table = toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|span| {
                    let before = &text[..span.start.min(text.len())];
                    let line = before.matches('\n').count() + 1;
                    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                    format!(" at line {line}, column {column}")
                })
                .unwrap_or_default();
            Error::InvalidConfig(format!(
                "not valid TOML{at}: {}",
                without_quoted(e.message())
            ))
        })?;
        let mut problems = Vec::new();
        let mut defaults = Entry::default();
        let mut entries = Vec::new();
        for (key, value) in table {
            match key.as_str() {
                "defaults" => match entry_of(value) {
                    Ok(d) => defaults = d,
                    Err(e) => problems.push(format!("[defaults]: {e}")),
                },
                "tenant" => match value {
                    toml::Value::Array(list) => entries = list,
                    _ => problems.push("`tenant` must be an array of tables ([[tenant]])".into()),
                },
                other => problems.push(format!(
                    "unknown top-level key `{other}` (expected [defaults] and [[tenant]])"
                )),
            }
        }
        for key in [
            "name",
            "token",
            "token_file",
            "token_env",
            "allow_inline_token",
        ] {
            if defaults_has(&defaults, key) {
                problems.push(format!("[defaults]: `{key}` belongs in each [[tenant]]"));
            }
        }
        let mut tenants = Vec::new();
        let mut warnings = Vec::new();
        let mut inline_tokens = Vec::new();
        let mut names: HashMap<String, usize> = HashMap::new();
        let mut orgs: BTreeMap<u64, String> = BTreeMap::new();
        for (i, value) in entries.into_iter().enumerate() {
            let label_of = |name: Option<&str>| match name {
                Some(n) => format!("tenant `{n}`"),
                None => format!("tenant #{}", i + 1),
            };
            let raw_name = value
                .get("name")
                .and_then(|v| v.as_str())
                .map(str::to_string);
            let label = label_of(raw_name.as_deref());
            let entry = match entry_of(value) {
                Ok(e) => e,
                Err(e) => {
                    problems.push(format!("{label}: {e}"));
                    continue;
                }
            };
            if entry.token.is_some() {
                inline_tokens.push(raw_name.clone().unwrap_or_else(|| label.clone()));
            }
            match resolve(&entry, &defaults, dir, options, &mut warnings, &label) {
                Ok(spec) => {
                    if let Some(first) = names.insert(spec.name.clone(), i) {
                        problems.push(format!(
                            "{label}: `name` is also the name of tenant #{}",
                            first + 1
                        ));
                    }
                    let org = spec.organization_id();
                    if let Some(other) = orgs.insert(org, spec.name.clone()) {
                        problems.push(format!(
                            "{label}: `organization_id` {org} is also tenant `{other}`'s: \
                             sequence numbers and stored items are per organisation, so one \
                             store holds one tenant per organisation (another office or another \
                             SAFE deployment with the same id needs a separate store)"
                        ));
                    }
                    tenants.push(spec);
                }
                Err(mut p) => problems.append(&mut p),
            }
        }
        if !problems.is_empty() {
            let n = problems.len();
            return Err(Error::InvalidConfig(format!(
                "{n} problem{} in the tenants file:\n  - {}",
                if n == 1 { "" } else { "s" },
                problems.join("\n  - ")
            )));
        }
        Ok(TenantsFile {
            path: PathBuf::new(),
            tenants,
            warnings,
            inline_tokens,
        })
    }

    /// The tenants to run (`enabled`).
    pub fn enabled(&self) -> impl Iterator<Item = &TenantSpec> {
        self.tenants.iter().filter(|t| t.enabled)
    }
}

fn prefix(e: Error, path: &str) -> Error {
    match e {
        Error::InvalidConfig(m) => Error::InvalidConfig(format!("{path}: {m}")),
        other => other,
    }
}

/// One `[defaults]` or `[[tenant]]` table as an [`Entry`]; an error names the key whose
/// value is wrong (serde's message for a wrong type names only the type), each such key.
fn entry_of(value: toml::Value) -> std::result::Result<Entry, String> {
    let whole = match value.clone().try_into::<Entry>() {
        Ok(entry) => return Ok(entry),
        Err(e) => one_line(&e),
    };
    let toml::Value::Table(table) = value else {
        return Err(format!("must be a table, not {whole}"));
    };
    // Every key holds an `Option`, so a table of one key fails only for that key.
    let wrong: Vec<String> = table
        .into_iter()
        .filter_map(|(key, v)| {
            let alone = toml::Value::Table(toml::Table::from_iter([(key.clone(), v)]));
            let e = alone.try_into::<Entry>().err()?;
            let message = one_line(&e);
            // An unknown key's message names it already.
            Some(match message.contains(&format!("`{key}`")) {
                true => message,
                false => format!("`{key}`: {message}"),
            })
        })
        .collect();
    match wrong.is_empty() {
        true => Err(whole),
        false => Err(wrong.join("; ")),
    }
}

/// A deserialization error of one table, without the value it quotes when that may be a
/// token (a value given to a token key), on one line.
fn one_line(e: &toml::de::Error) -> String {
    let text = e
        .message()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    without_quoted(&text)
}

/// `text` with every double-quoted value replaced by `"…"` (a value may be a token; key names
/// are quoted with backticks and stay).
fn without_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut inside = false;
    for c in text.chars() {
        if c == '"' {
            if inside {
                out.push('…');
            }
            out.push(c);
            inside = !inside;
        } else if !inside {
            out.push(c);
        }
    }
    out
}

fn defaults_has(d: &Entry, key: &str) -> bool {
    match key {
        "name" => d.name.is_some(),
        "token" => d.token.is_some(),
        "token_file" => d.token_file.is_some(),
        "token_env" => d.token_env.is_some(),
        _ => d.allow_inline_token.is_some(),
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn seconds(label: &str, key: &str, secs: f64, problems: &mut Vec<String>) -> Option<Duration> {
    match crate::config::setting_secs(key, secs) {
        Ok(d) => Some(d),
        Err(e) => {
            problems.push(format!("{label}: `{key}`: {}", strip(&e)));
            None
        }
    }
}

fn strip(e: &Error) -> String {
    match e {
        Error::InvalidConfig(m) => m.clone(),
        other => other.to_string(),
    }
}

/// One entry with the defaults applied, or every problem it has.
fn resolve(
    entry: &Entry,
    defaults: &Entry,
    dir: &Path,
    options: &TenantsOptions,
    warnings: &mut Vec<String>,
    label: &str,
) -> std::result::Result<TenantSpec, Vec<String>> {
    let mut problems = Vec::new();
    let name = match &entry.name {
        Some(n) if valid_name(n) => n.clone(),
        Some(_) => {
            problems.push(format!(
                "{label}: `name` must be 1 to 64 letters, digits, `.`, `_` or `-`"
            ));
            String::new()
        }
        None => {
            problems.push(format!("{label}: `name` is missing"));
            String::new()
        }
    };
    macro_rules! pick {
        ($field:ident) => {
            entry.$field.clone().or_else(|| defaults.$field.clone())
        };
    }
    let organization_id = pick!(organization_id);
    let office_id = pick!(office_id);
    if organization_id.is_none() {
        problems.push(format!("{label}: `organization_id` is missing"));
    }
    if office_id.is_none() {
        problems.push(format!("{label}: `office_id` is missing"));
    }
    let token = token(entry, dir, label, warnings, &mut problems);

    let mut items = PollerOptions::default();
    if let Some(e) = pick!(expand) {
        match Expand::parse(&e.joined()) {
            Ok(x) => items.expand = x,
            Err(err) => problems.push(format!("{label}: `expand`: {}", strip(&err))),
        }
    }
    if let Some(g) = pick!(gap_tolerance) {
        items.gap_tolerance = g;
    }
    if let Some(r) = pick!(read_ahead) {
        items.read_ahead = r;
    }
    let interval = pick!(interval).and_then(|s| seconds(label, "interval", s, &mut problems));
    let jitter = pick!(jitter).and_then(|s| seconds(label, "jitter", s, &mut problems));
    if let Some(j) = jitter {
        items.jitter = j;
    }
    let floor = pick!(unsafe_min_interval)
        .and_then(|s| seconds(label, "unsafe_min_interval", s, &mut problems));
    if let Some(i) = interval {
        items.interval = i;
    }
    items.unsafe_min_interval = floor;
    let updated = pick!(updated).unwrap_or(false).then(|| UpdatedOptions {
        interval: interval.unwrap_or(UpdatedOptions::default().interval),
        jitter: jitter.unwrap_or(UpdatedOptions::default().jitter),
        unsafe_min_interval: floor,
        ..UpdatedOptions::default()
    });

    let mut builder = ClientConfig::builder()
        .allow_insecure_http(options.allow_insecure_http)
        .host_language(
            options
                .host_language
                .clone()
                .unwrap_or_else(|| "fleet".into()),
        );
    if let Some(u) = pick!(base_url) {
        builder = builder.base_url(u);
    }
    if let Some(o) = organization_id {
        builder = builder.organization_id(o);
    }
    if let Some(o) = office_id {
        builder = builder.office_id(o);
    }
    if let Some(rate) = pick!(requests_per_second) {
        if !rate.is_finite() || rate < 0.0 {
            problems.push(format!(
                "{label}: `requests_per_second` must be a number of 0 or more"
            ));
        } else {
            builder = builder.pacing(if rate == 0.0 {
                Pacing::unlimited()
            } else {
                Pacing::per_second(rate)
            });
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let Some(token) = token else {
        return Err(problems);
    };
    let client = match builder.token(&token).build() {
        Ok(c) => c,
        Err(e) => return Err(vec![format!("{label}: {}", strip(&e))]),
    };
    if floor.is_some() && !crate::config::is_loopback(&client.base_url) {
        return Err(vec![format!(
            "{label}: `unsafe_min_interval` lowers the sweep floor for a loopback simulator \
             only, not {}",
            client.base_url
        )]);
    }
    if let Err(e) = items.validate() {
        return Err(vec![format!("{label}: {}", strip(&e))]);
    }
    let enabled = pick!(enabled).unwrap_or(true);
    let mut merged = defaults.clone();
    merge(&mut merged, entry);
    merged.token = None;
    let canonical = serde_json::to_string(&merged).unwrap_or_default();
    Ok(TenantSpec {
        name,
        client,
        items,
        updated,
        enabled,
        revision: format!("{:016x}", crate::poller::stable_hash(&canonical)),
        token_check: TokenCheck::of(&token),
    })
}

/// `defaults` overridden by what `entry` sets.
fn merge(defaults: &mut Entry, entry: &Entry) {
    let e = serde_json::to_value(entry).unwrap_or_default();
    let mut d = serde_json::to_value(&*defaults).unwrap_or_default();
    if let (Some(d), Some(e)) = (d.as_object_mut(), e.as_object()) {
        for (k, v) in e {
            if !v.is_null() {
                d.insert(k.clone(), v.clone());
            }
        }
    }
    if let Ok(m) = serde_json::from_value(d) {
        *defaults = m;
    }
}

/// The token from exactly one of `token_file`, `token_env` or (allowed) `token`.
fn token(
    entry: &Entry,
    dir: &Path,
    label: &str,
    warnings: &mut Vec<String>,
    problems: &mut Vec<String>,
) -> Option<String> {
    let given = [
        entry.token_file.is_some(),
        entry.token_env.is_some(),
        entry.token.is_some(),
    ];
    match given.iter().filter(|g| **g).count() {
        0 => {
            problems.push(format!(
                "{label}: no token: set `token_file` (a file holding it) or `token_env` (a \
                 variable holding it)"
            ));
            return None;
        }
        1 => {}
        _ => {
            problems.push(format!(
                "{label}: set only one of `token_file`, `token_env` and `token`"
            ));
            return None;
        }
    }
    let text = if let Some(file) = &entry.token_file {
        let path = if file.is_absolute() {
            file.clone()
        } else {
            dir.join(file)
        };
        match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                problems.push(format!(
                    "{label}: `token_file`: cannot read {}: {e}",
                    path.display()
                ));
                return None;
            }
        }
    } else if let Some(var) = &entry.token_env {
        match std::env::var(var) {
            Ok(t) => t,
            Err(_) => {
                problems.push(format!(
                    "{label}: `token_env`: the environment variable {var} is not set"
                ));
                return None;
            }
        }
    } else {
        if entry.allow_inline_token != Some(true) {
            problems.push(format!(
                "{label}: `token` inline is refused (the file may be shared or committed): use \
                 `token_file` or `token_env`, or set `allow_inline_token = true`"
            ));
            return None;
        }
        warnings.push(format!(
            "{label}: the token is inline in the tenants file; prefer `token_file` or `token_env`"
        ));
        entry.token.clone().unwrap_or_default()
    };
    let text = text.trim().to_string();
    if text.is_empty() {
        problems.push(format!("{label}: the token is empty"));
        return None;
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, dir: &Path) -> Result<TenantsFile> {
        TenantsFile::parse(text, dir, &TenantsOptions::default())
    }

    fn problems(text: &str, dir: &Path) -> String {
        match parse(text, dir) {
            Err(Error::InvalidConfig(m)) => m,
            other => panic!("expected InvalidConfig, got {other:?}"),
        }
    }

    #[test]
    fn defaults_apply_and_entries_override_them() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("north.token"), "north-secret-1\n").unwrap();
        let file = parse(
            r#"
            [defaults]
            base_url = "http://127.0.0.1:9/api/"
            interval = 120
            expand = "form_data,case"
            unsafe_min_interval = 0

            [[tenant]]
            name = "north-pd"
            organization_id = 101
            office_id = 1
            token_file = "north.token"
            updated = true

            [[tenant]]
            name = "south-so"
            organization_id = 102
            office_id = 7
            token = "south-secret-2"
            allow_inline_token = true
            interval = 300
            expand = ["custody"]
            enabled = false
            "#,
            dir.path(),
        )
        .unwrap();
        let [north, south] = &file.tenants[..] else {
            panic!("two tenants")
        };
        assert_eq!(north.name, "north-pd");
        assert_eq!(north.organization_id(), 101);
        assert_eq!(north.items.interval, Duration::from_secs(120));
        assert!(north.items.expand.form_data && north.items.expand.case);
        assert!(!north.items.expand.custody);
        assert_eq!(
            north.updated.as_ref().unwrap().interval,
            Duration::from_secs(120)
        );
        assert_eq!(south.items.interval, Duration::from_secs(300));
        assert!(south.items.expand.custody && !south.items.expand.form_data);
        assert!(south.updated.is_none() && !south.enabled);
        assert_eq!(file.enabled().count(), 1);
        assert_eq!(file.warnings.len(), 1);
        assert!(file.warnings[0].contains("south-so"));
        let debug = format!("{file:?}");
        assert!(!debug.contains("north-secret-1") && !debug.contains("south-secret-2"));
        assert_ne!(north.revision, south.revision);
    }

    #[test]
    fn every_problem_is_reported_with_its_tenant_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let text = problems(
            r#"
            [defaults]
            token_env = "X"

            [[tenant]]
            name = "a"
            organization_id = 5
            office_id = 1
            token_env = "SAFE_TRACKER_TEST_UNSET_VARIABLE"

            [[tenant]]
            name = "a"
            organization_id = 5
            token = "inline"
            colour = "red"

            [[tenant]]
            name = "b c"
            organization_id = 6
            office_id = 1
            token_file = "missing.token"
            interval = -1

            [[tenant]]
            name = "d"
            organization_id = "seven"
            office_id = 1
            updated = "yes"
            token = "inline"
            allow_inline_token = true
            "#,
            dir.path(),
        );
        for expected in [
            "[defaults]: `token_env` belongs in each [[tenant]]",
            "tenant `a`: `token_env`: the environment variable SAFE_TRACKER_TEST_UNSET_VARIABLE",
            "tenant `a`: unknown field `colour`",
            "tenant `b c`: `name` must be",
            "tenant `b c`: `token_file`: cannot read",
            "tenant `b c`: `interval`",
            "tenant `d`: `organization_id`: invalid type: string",
            "; `updated`: invalid type: string",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
        }
    }

    #[test]
    fn one_organisation_per_store_and_unique_names() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t"), "tok-123").unwrap();
        let entry = |name: &str, org: u64, office: u64| {
            format!(
                "[[tenant]]\nname = \"{name}\"\norganization_id = {org}\noffice_id = {office}\n\
                 token_file = \"t\"\nbase_url = \"http://127.0.0.1:9/api/\"\n"
            )
        };
        let text = problems(
            &format!(
                "{}{}{}",
                entry("x", 1, 1),
                entry("y", 1, 2),
                entry("x", 2, 1)
            ),
            dir.path(),
        );
        assert!(
            text.contains("tenant `y`: `organization_id` 1 is also tenant `x`'s"),
            "{text}"
        );
        assert!(text.contains("separate store"), "{text}");
        assert!(
            text.contains("tenant `x`: `name` is also the name of tenant #1"),
            "{text}"
        );
    }

    #[test]
    fn inline_tokens_need_the_opt_in_and_the_floor_needs_loopback() {
        let dir = tempfile::tempdir().unwrap();
        let text = problems(
            "[[tenant]]\nname = \"a\"\norganization_id = 1\noffice_id = 1\ntoken = \"t-1\"\n\
             [[tenant]]\nname = \"b\"\norganization_id = 2\noffice_id = 1\ntoken = \"t-2\"\n\
             allow_inline_token = true\nbase_url = \"https://safe.example/api/\"\n\
             unsafe_min_interval = 0\n",
            dir.path(),
        );
        assert!(
            text.contains("tenant `a`: `token` inline is refused"),
            "{text}"
        );
        assert!(text.contains("tenant `b`: `unsafe_min_interval` lowers the sweep floor for a loopback simulator only"), "{text}");
        assert!(!text.contains("t-1") && !text.contains("t-2"), "{text}");
    }

    #[test]
    fn a_token_never_appears_in_a_syntax_error() {
        let dir = tempfile::tempdir().unwrap();
        for text in [
            "[[tenant]]\nname = \"a\"\ntoken = \"s3cret-token-value\nallow_inline_token = true\n",
            "[[tenant]]\nname = \"a\"\ntoken = \"s3cret-token-value\"\ntoken = \"s3cret-token-value\"\n",
            "[[tenant]]\nname = \"a\"\norganization_id = \"s3cret-token-value\"\n",
        ] {
            let message = problems(text, dir.path());
            assert!(!message.contains("s3cret"), "{message}");
            assert!(
                message.contains("line") || message.contains("tenant `a`"),
                "{message}"
            );
        }
    }

    #[test]
    fn the_revision_follows_the_entry_and_the_token_check_its_token() {
        let dir = tempfile::tempdir().unwrap();
        let spec = |token: &str, interval: u32| {
            std::fs::write(dir.path().join("t"), token).unwrap();
            parse(
                &format!(
                    "[[tenant]]\nname = \"a\"\norganization_id = 1\noffice_id = 1\n\
                     token_file = \"t\"\ninterval = {interval}\n"
                ),
                dir.path(),
            )
            .unwrap()
            .tenants
            .remove(0)
        };
        let first = spec("tok-1", 600);
        let same = spec("tok-1", 600);
        assert_eq!(
            (&first.revision, first.token_check),
            (&same.revision, same.token_check)
        );
        let new_token = spec("tok-2", 600);
        assert_eq!(
            first.revision, new_token.revision,
            "the revision never hashes the token"
        );
        assert_ne!(first.token_check, new_token.token_check);
        assert_ne!(first.revision, spec("tok-1", 900).revision);
        assert!(!format!("{first:?}").contains("tok-1"));
    }
}
