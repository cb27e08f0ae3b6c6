// tidy: long file: the assay.toml schema is checked by hand, key by key, so that every message
// can name its key; splitting the checks from the schema they check would scatter one table.
//! A shop's own files, mapped to the domain model by an `assay.toml`.
//!
//! The configuration is checked by hand rather than through serde so that every message can name
//! the offending key in the user's terms (`events[0].kind`) and list what is accepted.

use std::path::Path;

use assay_core::{Dataset, EventKind, IdMap};

use crate::error::ImportError;
use crate::parse;
use crate::refs::{new_id, required_id, Ref, RefCheck};
use crate::table::{Table, TableFormat};
use crate::{judgments, Drops, FileReport, Format, ImportReport, LoadOptions, Loaded, UnknownRefs};

const TOP_KEYS: &[&str] = &[
    "name",
    "items",
    "users",
    "events",
    "judgments",
    "faq",
    "options",
];
const ITEM_KEYS: &[&str] = &[
    "path",
    "id",
    "title",
    "description",
    "category",
    "brand",
    "price",
    "attributes",
    "image",
    "image_file",
    "image_ids",
];
const USER_KEYS: &[&str] = &["path", "id", "attributes"];
const EVENT_KEYS: &[&str] = &[
    "path",
    "user",
    "item",
    "kind",
    "value",
    "timestamp",
    "session",
    "query",
    "position",
    "propensity",
    "source",
];
const JUDGMENT_KEYS: &[&str] = &["path"];
const FAQ_KEYS: &[&str] = &["path"];
const OPTION_KEYS: &[&str] = &["unknown_refs"];

/// The parsed `assay.toml`.
#[derive(Debug)]
struct Config {
    name: Option<String>,
    items: ItemsSpec,
    users: Option<UsersSpec>,
    events: Vec<EventsSpec>,
    judgments: Option<String>,
    faq: Option<String>,
    unknown_refs: Option<UnknownRefs>,
}

#[derive(Debug)]
struct ItemsSpec {
    path: String,
    id: String,
    title: Option<String>,
    description: Option<String>,
    category: Option<String>,
    brand: Option<String>,
    price: Option<String>,
    attributes: Vec<String>,
    /// The column holding each item's image vector (floats separated by spaces or commas).
    image: Option<String>,
    /// A file of image vectors keyed by item id (safetensors, or `.npy` with `image_ids`).
    image_file: Option<String>,
    /// The item ids of a `.npy` file's rows, one per line.
    image_ids: Option<String>,
}

#[derive(Debug)]
struct UsersSpec {
    path: String,
    id: String,
    attributes: Vec<String>,
}

#[derive(Debug)]
struct EventsSpec {
    /// `events[i]`, for messages.
    key: String,
    path: String,
    user: String,
    item: String,
    kind: ColumnOr<EventKind>,
    value: Option<String>,
    timestamp: Option<String>,
    session: Option<String>,
    query: Option<String>,
    position: Option<String>,
    propensity: Option<String>,
    source: Option<ColumnOr<String>>,
}

/// A value given per row by a column, or once for the whole file.
#[derive(Debug)]
enum ColumnOr<T> {
    Column(String),
    Constant(T),
}

/// Reads the `assay.toml` at `toml_path` and every file it names.
pub(crate) fn load(toml_path: &Path, options: &LoadOptions) -> Result<Loaded, ImportError> {
    let config = read_config(toml_path)?;
    let dir = toml_path.parent().unwrap_or(Path::new(""));
    let unknown_refs = options
        .unknown_refs
        .or(config.unknown_refs)
        .unwrap_or(UnknownRefs::Fail);
    let mut dataset = Dataset {
        name: config.name.clone().unwrap_or_else(|| directory_name(dir)),
        ..Dataset::default()
    };
    let mut files = Vec::new();
    let mut drops = Drops::default();

    let items_path = dir.join(&config.items.path);
    files.push(read_items(&items_path, &config.items, &mut dataset)?);
    if let Some(file) = &config.items.image_file {
        let ids = config.items.image_ids.as_ref().map(|p| dir.join(p));
        dataset.items.image = Some(crate::image_file::read(
            &dir.join(file),
            ids.as_deref(),
            &dataset.items.ids,
        )?);
    }
    let users_path = match &config.users {
        Some(spec) => {
            let path = dir.join(&spec.path);
            files.push(read_users(&path, spec, &mut dataset)?);
            Some(path)
        }
        None => None,
    };
    for spec in &config.events {
        let refs = Refs {
            items_path: &items_path,
            users_path: users_path.as_deref(),
            unknown_refs,
        };
        files.push(read_events(
            &dir.join(&spec.path),
            spec,
            &refs,
            &mut dataset,
            &mut drops,
        )?);
    }
    if let Some(path) = &config.judgments {
        let (judgments, file) =
            judgments::read(&dir.join(path), &dataset.items, unknown_refs, &mut drops)?;
        dataset.judgments = judgments;
        files.push(file);
    }
    Ok(Loaded {
        dataset,
        report: ImportReport {
            format: Format::Project,
            files,
            dropped: drops.into_vec(),
        },
    })
}

/// The FAQ file the `assay.toml` at `toml_path` declares under `[faq]`, resolved against its
/// directory; `None` when it declares none.
pub(crate) fn faq_path(toml_path: &Path) -> Result<Option<std::path::PathBuf>, ImportError> {
    let config = read_config(toml_path)?;
    let dir = toml_path.parent().unwrap_or(Path::new(""));
    Ok(config.faq.map(|path| dir.join(path)))
}

/// The last component of `dir`, resolving `.` and the empty path through the file system.
fn directory_name(dir: &Path) -> String {
    let named = |path: &Path| {
        path.file_name()
            .and_then(|name| name.to_str())
            .map(str::to_owned)
    };
    named(dir)
        .or_else(|| {
            let base = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            std::fs::canonicalize(base).ok().and_then(|p| named(&p))
        })
        .unwrap_or_else(|| "project".to_owned())
}

// ---------------------------------------------------------------------------------------------
// assay.toml

fn read_config(path: &Path) -> Result<Config, ImportError> {
    let text = crate::capped::read_small(path)?;
    let text = match String::from_utf8(text) {
        Ok(text) => text,
        Err(e) => {
            let offset = e.utf8_error().valid_up_to();
            let line = e.as_bytes()[..offset]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            return Err(config_error(
                path,
                None,
                format!("line {line}: invalid UTF-8 at byte {offset} of the file"),
            ));
        }
    };
    let root: toml::Table = match text.parse() {
        Ok(root) => root,
        Err(e) => {
            return Err(located_toml_error(path, &text, &e).unwrap_or_else(|| {
                config_error(path, None, format!("invalid TOML: {}", e.message()))
            }))
        }
    };
    let cfg = ConfigReader { path };
    cfg.check_keys(&root, "", TOP_KEYS, "top-level keys")?;
    let name = cfg.opt_string(&root, "", "name")?;

    let items_table = cfg.table(&root, "items")?.ok_or_else(|| {
        config_error(
            path,
            Some("items"),
            "missing table [items]: declare the catalog file and its id column",
        )
    })?;
    cfg.check_keys(items_table, "items", ITEM_KEYS, "keys in [items]")?;
    let items = ItemsSpec {
        path: cfg.string(items_table, "items", "path")?,
        id: cfg.string(items_table, "items", "id")?,
        title: cfg.opt_string(items_table, "items", "title")?,
        description: cfg.opt_string(items_table, "items", "description")?,
        category: cfg.opt_string(items_table, "items", "category")?,
        brand: cfg.opt_string(items_table, "items", "brand")?,
        price: cfg.opt_string(items_table, "items", "price")?,
        attributes: cfg.string_list(items_table, "items", "attributes")?,
        image: cfg.opt_string(items_table, "items", "image")?,
        image_file: cfg.opt_string(items_table, "items", "image_file")?,
        image_ids: cfg.opt_string(items_table, "items", "image_ids")?,
    };
    if items.image.is_some() && items.image_file.is_some() {
        return Err(config_error(
            path,
            Some("items.image_file"),
            "items.image_file: give image vectors either as a column (items.image) or as a file (items.image_file), not both",
        ));
    }
    if items.image_ids.is_some() && items.image_file.is_none() {
        return Err(config_error(
            path,
            Some("items.image_ids"),
            "items.image_ids names the rows of items.image_file, which is missing",
        ));
    }

    let users = match cfg.table(&root, "users")? {
        Some(table) => {
            cfg.check_keys(table, "users", USER_KEYS, "keys in [users]")?;
            Some(UsersSpec {
                path: cfg.string(table, "users", "path")?,
                id: cfg.string(table, "users", "id")?,
                attributes: cfg.string_list(table, "users", "attributes")?,
            })
        }
        None => None,
    };

    let event_tables = match root.get("events") {
        Some(toml::Value::Array(array)) if !array.is_empty() => array,
        Some(toml::Value::Array(_)) | None => {
            return Err(config_error(
                path,
                Some("events"),
                "missing [[events]]: declare at least one event file",
            ))
        }
        Some(other) => {
            return Err(config_error(
                path,
                Some("events"),
                format!(
                    "key 'events': expected one or more [[events]] tables, found {}",
                    other.type_str()
                ),
            ))
        }
    };
    let mut events = Vec::with_capacity(event_tables.len());
    for (index, value) in event_tables.iter().enumerate() {
        let key = format!("events[{index}]");
        let Some(table) = value.as_table() else {
            return Err(config_error(
                path,
                Some(&key),
                format!("key '{key}': expected a table, found {}", value.type_str()),
            ));
        };
        cfg.check_keys(table, &key, EVENT_KEYS, "keys in [[events]]")?;
        let kind = match cfg.column_or_constant(table, &key, "kind")? {
            None => {
                return Err(config_error(
                    path,
                    Some(&format!("{key}.kind")),
                    format!("missing key '{key}.kind'"),
                ))
            }
            Some(ColumnOr::Column(column)) => ColumnOr::Column(column),
            Some(ColumnOr::Constant(text)) => match EventKind::parse(&text) {
                Some(kind) => ColumnOr::Constant(kind),
                None => {
                    return Err(config_error(
                        path,
                        Some(&format!("{key}.kind")),
                        format!(
                            "key '{key}.kind': expected an event kind ({}), found {}",
                            accepted_kinds(),
                            parse::quoted(&text)
                        ),
                    ))
                }
            },
        };
        events.push(EventsSpec {
            path: cfg.string(table, &key, "path")?,
            user: cfg.string(table, &key, "user")?,
            item: cfg.string(table, &key, "item")?,
            kind,
            value: cfg.opt_string(table, &key, "value")?,
            timestamp: cfg.opt_string(table, &key, "timestamp")?,
            session: cfg.opt_string(table, &key, "session")?,
            query: cfg.opt_string(table, &key, "query")?,
            position: cfg.opt_string(table, &key, "position")?,
            propensity: cfg.opt_string(table, &key, "propensity")?,
            source: cfg.column_or_constant(table, &key, "source")?,
            key,
        });
    }

    let judgments = match cfg.table(&root, "judgments")? {
        Some(table) => {
            cfg.check_keys(table, "judgments", JUDGMENT_KEYS, "keys in [judgments]")?;
            Some(cfg.string(table, "judgments", "path")?)
        }
        None => None,
    };
    let faq = match cfg.table(&root, "faq")? {
        Some(table) => {
            cfg.check_keys(table, "faq", FAQ_KEYS, "keys in [faq]")?;
            Some(cfg.string(table, "faq", "path")?)
        }
        None => None,
    };
    let unknown_refs = match cfg.table(&root, "options")? {
        Some(table) => {
            cfg.check_keys(table, "options", OPTION_KEYS, "keys in [options]")?;
            match cfg.opt_string(table, "options", "unknown_refs")?.as_deref() {
                None => None,
                Some("fail") => Some(UnknownRefs::Fail),
                Some("drop") => Some(UnknownRefs::Drop),
                Some(other) => {
                    return Err(config_error(
                        path,
                        Some("options.unknown_refs"),
                        format!(
                            "key 'options.unknown_refs': expected \"fail\" or \"drop\", found {}",
                            parse::quoted(other)
                        ),
                    ))
                }
            }
        }
        None => None,
    };
    Ok(Config {
        name,
        items,
        users,
        events,
        judgments,
        faq,
        unknown_refs,
    })
}

/// A TOML syntax error as `line N, column M: reason`.
fn located_toml_error(path: &Path, text: &str, error: &toml::de::Error) -> Option<ImportError> {
    let span = error.span()?;
    let before = text.get(..span.start)?;
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |at| at + 1) + 1;
    Some(config_error(
        path,
        None,
        format!(
            "invalid TOML at line {line}, column {column}: {}",
            error.message()
        ),
    ))
}

fn config_error(path: &Path, key: Option<&str>, message: impl Into<String>) -> ImportError {
    ImportError::Config {
        path: path.to_owned(),
        key: key.map(str::to_owned),
        message: message.into(),
    }
}

fn accepted_kinds() -> String {
    EventKind::ALL
        .iter()
        .map(|kind| kind.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn dotted(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

struct ConfigReader<'a> {
    path: &'a Path,
}

impl ConfigReader<'_> {
    fn check_keys(
        &self,
        table: &toml::Table,
        prefix: &str,
        accepted: &[&str],
        label: &str,
    ) -> Result<(), ImportError> {
        for key in table.keys() {
            if !accepted.contains(&key.as_str()) {
                let full = dotted(prefix, key);
                return Err(config_error(
                    self.path,
                    Some(&full),
                    format!(
                        "unknown key '{full}'; accepted {label}: {}",
                        accepted.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    fn table<'t>(
        &self,
        root: &'t toml::Table,
        key: &str,
    ) -> Result<Option<&'t toml::Table>, ImportError> {
        match root.get(key) {
            None => Ok(None),
            Some(toml::Value::Table(table)) => Ok(Some(table)),
            Some(other) => Err(config_error(
                self.path,
                Some(key),
                format!(
                    "key '{key}': expected a table [{key}], found {}",
                    other.type_str()
                ),
            )),
        }
    }

    fn opt_string(
        &self,
        table: &toml::Table,
        prefix: &str,
        key: &str,
    ) -> Result<Option<String>, ImportError> {
        match table.get(key) {
            None => Ok(None),
            Some(toml::Value::String(text)) => Ok(Some(text.clone())),
            Some(other) => {
                let full = dotted(prefix, key);
                Err(config_error(
                    self.path,
                    Some(&full),
                    format!(
                        "key '{full}': expected a string, found {}",
                        other.type_str()
                    ),
                ))
            }
        }
    }

    fn string(&self, table: &toml::Table, prefix: &str, key: &str) -> Result<String, ImportError> {
        match self.opt_string(table, prefix, key)? {
            Some(text) => Ok(text),
            None => {
                let full = dotted(prefix, key);
                Err(config_error(
                    self.path,
                    Some(&full),
                    format!("missing key '{full}'"),
                ))
            }
        }
    }

    fn string_list(
        &self,
        table: &toml::Table,
        prefix: &str,
        key: &str,
    ) -> Result<Vec<String>, ImportError> {
        let full = dotted(prefix, key);
        let expected = |found: &str| {
            config_error(
                self.path,
                Some(&full),
                format!("key '{full}': expected an array of column names, found {found}"),
            )
        };
        match table.get(key) {
            None => Ok(Vec::new()),
            Some(toml::Value::Array(values)) => values
                .iter()
                .map(|value| match value {
                    toml::Value::String(text) => Ok(text.clone()),
                    other => Err(expected(&format!("an array holding {}", other.type_str()))),
                })
                .collect(),
            Some(other) => Err(expected(other.type_str())),
        }
    }

    fn column_or_constant(
        &self,
        table: &toml::Table,
        prefix: &str,
        key: &str,
    ) -> Result<Option<ColumnOr<String>>, ImportError> {
        let full = dotted(prefix, key);
        let expected = |found: &str| {
            config_error(
                self.path,
                Some(&full),
                format!(
                    "key '{full}': expected a column name or {{ constant = \"...\" }}, found {found}"
                ),
            )
        };
        match table.get(key) {
            None => Ok(None),
            Some(toml::Value::String(column)) => Ok(Some(ColumnOr::Column(column.clone()))),
            Some(toml::Value::Table(inner)) => {
                for inner_key in inner.keys() {
                    if inner_key != "constant" {
                        let name = format!("{full}.{inner_key}");
                        return Err(config_error(
                            self.path,
                            Some(&name),
                            format!("unknown key '{name}'; accepted keys: constant"),
                        ));
                    }
                }
                match inner.get("constant") {
                    Some(toml::Value::String(text)) => Ok(Some(ColumnOr::Constant(text.clone()))),
                    Some(other) => Err(expected(&format!("{{ constant = {} }}", other.type_str()))),
                    None => Err(expected("an empty table")),
                }
            }
            Some(other) => Err(expected(other.type_str())),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Data files

fn declared(key: &str) -> String {
    format!("(declared by {key} in assay.toml)")
}

fn optional_column(
    table: &mut Table,
    column: Option<&str>,
    key: &str,
) -> Result<Option<usize>, ImportError> {
    match column {
        Some(name) => table.require(name, &declared(key)).map(Some),
        None => Ok(None),
    }
}

fn read_items(
    path: &Path,
    spec: &ItemsSpec,
    dataset: &mut Dataset,
) -> Result<FileReport, ImportError> {
    let mut table = Table::open(path, TableFormat::from_extension(path))?;
    let id = table.require(&spec.id, &declared("items.id"))?;
    let title = optional_column(&mut table, spec.title.as_deref(), "items.title")?;
    let description =
        optional_column(&mut table, spec.description.as_deref(), "items.description")?;
    let category = optional_column(&mut table, spec.category.as_deref(), "items.category")?;
    let brand = optional_column(&mut table, spec.brand.as_deref(), "items.brand")?;
    let price = optional_column(&mut table, spec.price.as_deref(), "items.price")?;
    let mut attributes = Vec::with_capacity(spec.attributes.len());
    for name in &spec.attributes {
        attributes.push(table.require(name, &declared("items.attributes"))?);
    }
    let image = optional_column(&mut table, spec.image.as_deref(), "items.image")?;
    let items = &mut dataset.items;
    items.attributes.names = spec.attributes.clone();
    items.attributes.values = vec![Vec::new(); attributes.len()];
    let mut vectors = image.map(|_| assay_core::ItemVectors::default());
    // The line that fixed the vectors' dimension, for messages.
    let mut dim_line = 0;
    // The line of each item, to name both lines of a duplicate.
    let mut lines: Vec<u64> = Vec::new();
    while table.next_row()? {
        let id_text = new_id(&table, id, Ref::Item, &items.ids, &lines)?;
        let price_value = table.parse(price, f64::NAN, parse::price)?;
        items.ids.intern(id_text);
        lines.push(table.line());
        items.title.push(table.text(title));
        items.description.push(table.text(description));
        items.category.push(table.text(category));
        items.brand.push(table.text(brand));
        items.price.push(price_value);
        table.push_texts(&attributes, &mut items.attributes.values);
        if let (Some(column), Some(vectors)) = (image, vectors.as_mut()) {
            read_image(&table, column, vectors, &mut dim_line)?;
        }
    }
    items.image = vectors;
    Ok(table.report())
}

use crate::image_file::MAX_IMAGE_DIM;

/// Appends the current row's image vector to `vectors`: floats separated by spaces or
/// commas, finite, as many as in the first row.
fn read_image(
    table: &Table,
    column: usize,
    vectors: &mut assay_core::ItemVectors,
    dim_line: &mut u64,
) -> Result<(), ImportError> {
    let start = vectors.data.len();
    let mut n = 0usize;
    for text in table
        .get(column)
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
    {
        n += 1;
        let value = text.parse::<f32>().ok().filter(|v| v.is_finite());
        let Some(value) = value else {
            vectors.data.truncate(start);
            return Err(table.error(
                column,
                format!(
                    "value {n} of the image vector is {}, expected a finite number",
                    parse::quoted(text)
                ),
            ));
        };
        if n > MAX_IMAGE_DIM {
            return Err(table.error(
                column,
                format!("the image vector has more than {MAX_IMAGE_DIM} values"),
            ));
        }
        vectors.data.push(value);
    }
    if n == 0 {
        return Err(table.error(
            column,
            "the image vector is empty; every item needs one (floats separated by spaces)",
        ));
    }
    if *dim_line == 0 {
        vectors.dim = n;
        *dim_line = table.line();
    } else if n != vectors.dim {
        return Err(table.error(
            column,
            format!(
                "the image vector has {n} values, expected {} as on line {}",
                vectors.dim, dim_line
            ),
        ));
    }
    Ok(())
}

fn read_users(
    path: &Path,
    spec: &UsersSpec,
    dataset: &mut Dataset,
) -> Result<FileReport, ImportError> {
    let mut table = Table::open(path, TableFormat::from_extension(path))?;
    let id = table.require(&spec.id, &declared("users.id"))?;
    let mut attributes = Vec::with_capacity(spec.attributes.len());
    for name in &spec.attributes {
        attributes.push(table.require(name, &declared("users.attributes"))?);
    }
    let users = &mut dataset.users;
    users.attributes.names = spec.attributes.clone();
    users.attributes.values = vec![Vec::new(); attributes.len()];
    let mut lines: Vec<u64> = Vec::new();
    while table.next_row()? {
        let id_text = new_id(&table, id, Ref::User, &users.ids, &lines)?;
        users.ids.intern(id_text);
        lines.push(table.line());
        table.push_texts(&attributes, &mut users.attributes.values);
    }
    Ok(table.report())
}

/// Where an event file's kinds come from, resolved against its header.
#[derive(Clone, Copy)]
enum KindSource {
    Column(usize),
    Constant(EventKind),
}

/// Where events' references point, and what to do when they miss.
struct Refs<'a> {
    items_path: &'a Path,
    /// `None` when there is no user file: users are then created from events.
    users_path: Option<&'a Path>,
    unknown_refs: UnknownRefs,
}

/// A one-entry cache in front of an [`IdMap`]: a session's events usually come in a run, so
/// comparing with the previous row's text skips most hash look-ups.
#[derive(Default)]
struct LastSeen {
    text: String,
    index: Option<u32>,
}

impl LastSeen {
    fn intern(&mut self, map: &mut IdMap, text: &str) -> u32 {
        if let Some(index) = self.index {
            if self.text == text {
                return index;
            }
        }
        let index = map.intern(text);
        self.text.clear();
        self.text.push_str(text);
        self.index = Some(index);
        index
    }
}

/// The kind of an event from its cell; exact lowercase names are tried first because
/// [`EventKind::parse`] allocates.
fn kind_of(text: &str) -> Option<EventKind> {
    EventKind::ALL
        .iter()
        .copied()
        .find(|kind| kind.as_str() == text)
        .or_else(|| EventKind::parse(text))
}

/// The `u16` index of source `name`, adding it if new.
fn source_index(sources: &mut IdMap, name: &str) -> Result<u16, String> {
    if sources.get(name).is_none() && sources.len() > u16::MAX as usize {
        return Err(format!(
            "too many distinct sources (at most {}): {}",
            u16::MAX as usize + 1,
            parse::quoted(name)
        ));
    }
    Ok(sources.intern(name) as u16)
}

fn read_events(
    path: &Path,
    spec: &EventsSpec,
    refs: &Refs<'_>,
    dataset: &mut Dataset,
    drops: &mut Drops,
) -> Result<FileReport, ImportError> {
    let key = |field: &str| format!("{}.{field}", spec.key);
    let mut table = Table::open(path, TableFormat::from_extension(path))?;
    let user = table.require(&spec.user, &declared(&key("user")))?;
    let item = table.require(&spec.item, &declared(&key("item")))?;
    let kind = match &spec.kind {
        ColumnOr::Column(name) => KindSource::Column(table.require(name, &declared(&key("kind")))?),
        ColumnOr::Constant(kind) => KindSource::Constant(*kind),
    };
    let value = optional_column(&mut table, spec.value.as_deref(), &key("value"))?;
    let timestamp = optional_column(&mut table, spec.timestamp.as_deref(), &key("timestamp"))?;
    let session = optional_column(&mut table, spec.session.as_deref(), &key("session"))?;
    let query = optional_column(&mut table, spec.query.as_deref(), &key("query"))?;
    let position = optional_column(&mut table, spec.position.as_deref(), &key("position"))?;
    let propensity = optional_column(&mut table, spec.propensity.as_deref(), &key("propensity"))?;
    let stem = path
        .file_stem()
        .and_then(|stem| stem.to_str())
        .unwrap_or("events");
    let default_name = match &spec.source {
        Some(ColumnOr::Constant(name)) => name.as_str(),
        _ => stem,
    };
    // Interned on first use, so a file whose rows all name their source adds no unused one.
    let mut default_source: Option<u16> = None;
    let source = match &spec.source {
        Some(ColumnOr::Column(name)) => Some(table.require(name, &declared(&key("source")))?),
        _ => None,
    };

    let (mut last_session, mut last_query) = (LastSeen::default(), LastSeen::default());
    let mut check = RefCheck {
        events: path,
        drop_unknown: refs.unknown_refs == UnknownRefs::Drop,
        hint: "; set unknown_refs = \"drop\" in [options] to skip such events",
        drops,
    };
    while table.next_row()? {
        // Parse every cell before touching the dataset, so an error or a drop leaves no trace.
        let item_text = required_id(&table, item, Ref::Item)?;
        let known_item = dataset.items.ids.get(item_text);
        if !check.keep(
            &table,
            item,
            Ref::Item,
            known_item.is_some(),
            Some(refs.items_path),
        )? {
            continue;
        }
        let user_text = required_id(&table, user, Ref::User)?;
        let known_user = dataset.users.ids.get(user_text);
        if !check.keep(
            &table,
            user,
            Ref::User,
            known_user.is_some(),
            refs.users_path,
        )? {
            continue;
        }
        let kind_value = match kind {
            KindSource::Constant(kind) => kind,
            KindSource::Column(column) => {
                let text = table.get(column);
                kind_of(text).ok_or_else(|| {
                    table.error(
                        column,
                        format!(
                            "expected an event kind ({}), found {}",
                            accepted_kinds(),
                            parse::quoted(text)
                        ),
                    )
                })?
            }
        };
        let value_number = table.parse(value, f64::NAN, parse::optional_finite)?;
        let propensity_number = table.parse(propensity, f64::NAN, parse::propensity)?;
        let time = table.parse(timestamp, assay_core::NO_TIME, parse::timestamp)?;
        let slot = table.parse(position, assay_core::NO_POSITION, parse::position)?;
        let source_value = match source {
            Some(column) if !table.get(column).is_empty() => {
                source_index(&mut dataset.sources, table.get(column))
                    .map_err(|m| table.error(column, m))?
            }
            _ => match default_source {
                Some(index) => index,
                None => {
                    let index = source_index(&mut dataset.sources, default_name)
                        .map_err(|m| ImportError::data(path, None, None, m))?;
                    *default_source.insert(index)
                }
            },
        };
        let session_index = match session {
            Some(column) if !table.get(column).is_empty() => {
                last_session.intern(&mut dataset.sessions, table.get(column))
            }
            _ => assay_core::NO_SESSION,
        };
        let query_index = match query {
            Some(column) if !table.get(column).is_empty() => {
                last_query.intern(&mut dataset.queries, table.get(column))
            }
            _ => assay_core::NO_QUERY,
        };
        // Without a catalog (or user file) to check against, ids name new entries.
        let item_index = known_item.unwrap_or_else(|| dataset.items.intern(item_text));
        let user_index = known_user.unwrap_or_else(|| dataset.users.intern(user_text));
        dataset.events.push(
            user_index,
            item_index,
            kind_value,
            value_number,
            time,
            session_index,
            query_index,
            slot,
            propensity_number,
            source_value,
        );
    }
    Ok(table.report())
}
