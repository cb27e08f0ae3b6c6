//! RecBole atomic files: `<name>.inter`, and `<name>.item` / `<name>.user` when present.
//!
//! Files are tab-separated with a header of `name:type` fields, type one of `token`,
//! `token_seq` (space-separated tokens), `float` or `float_seq`. See
//! <https://recbole.io/docs/user_guide/data/atomic_files.html>.

use std::path::Path;

use assay_core::{Dataset, EventKind};

use crate::error::ImportError;
use crate::parse;
use crate::refs::{new_id, required_id, Ref, RefCheck};
use crate::table::{Table, TableFormat};
use crate::{Drops, FileReport, Format, ImportReport, LoadOptions, Loaded, UnknownRefs};

/// The type half of a `name:type` header field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldType {
    Token,
    TokenSeq,
    Float,
    FloatSeq,
}

/// Which [`assay_core::Items`] column a `.item` field feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ItemField {
    Id,
    Title,
    Description,
    /// Genres and categories: the category column, with `token_seq` tokens joined by `/`, and
    /// also kept whole as a string attribute.
    Category,
    Brand,
    Price,
    Attribute,
    Feature,
}

const TAB: TableFormat = TableFormat::Delimited(b'\t');

pub(crate) fn load(dir: &Path, name: &str, options: &LoadOptions) -> Result<Loaded, ImportError> {
    let unknown_refs = options.unknown_refs.unwrap_or(UnknownRefs::Fail);
    let mut dataset = Dataset {
        name: name.to_owned(),
        ..Dataset::default()
    };
    let mut files = Vec::new();
    let mut drops = Drops::default();
    let item_path = dir.join(format!("{name}.item"));
    let has_items = item_path.is_file();
    if has_items {
        files.push(read_items(&item_path, &mut dataset)?);
    }
    let user_path = dir.join(format!("{name}.user"));
    let has_users = user_path.is_file();
    if has_users {
        files.push(read_users(&user_path, &mut dataset)?);
    }
    let inter_path = dir.join(format!("{name}.inter"));
    let source = dataset.sources.intern(name) as u16;
    let catalog = Catalogs {
        items: has_items.then_some(item_path.as_path()),
        users: has_users.then_some(user_path.as_path()),
    };
    files.push(read_inter(
        &inter_path,
        &catalog,
        unknown_refs,
        source,
        &mut dataset,
        &mut drops,
    )?);
    Ok(Loaded {
        dataset,
        report: ImportReport {
            format: Format::RecBole,
            files,
            dropped: drops.into_vec(),
        },
    })
}

/// Splits each `name:type` header field, renames the columns to the bare names and returns the
/// types.
fn field_types(table: &mut Table) -> Result<Vec<FieldType>, ImportError> {
    let mut names = Vec::with_capacity(table.header().len());
    let mut types = Vec::with_capacity(table.header().len());
    for raw in table.header() {
        let parsed = raw.rsplit_once(':').and_then(|(name, kind)| {
            let kind = match kind {
                "token" => FieldType::Token,
                "token_seq" => FieldType::TokenSeq,
                "float" => FieldType::Float,
                "float_seq" => FieldType::FloatSeq,
                _ => return None,
            };
            Some((name, kind))
        });
        match parsed {
            Some((name, kind)) if !name.is_empty() => {
                names.push(name.to_owned());
                types.push(kind);
            }
            _ => {
                return Err(ImportError::data(
                    table.path(),
                    Some(1),
                    Some(raw),
                    "expected a RecBole header field 'name:type' with type token, token_seq, \
                     float or float_seq",
                ))
            }
        }
    }
    table.rename_columns(names);
    Ok(types)
}

fn item_field(name: &str, kind: FieldType) -> ItemField {
    match name {
        "item_id" => ItemField::Id,
        "title" | "name" => ItemField::Title,
        _ if name.ends_with("_title") => ItemField::Title,
        "description" => ItemField::Description,
        "class" | "genre" | "genres" | "category" | "categories" => ItemField::Category,
        "brand" => ItemField::Brand,
        "price" if kind == FieldType::Float => ItemField::Price,
        _ if kind == FieldType::Float => ItemField::Feature,
        _ => ItemField::Attribute,
    }
}

fn read_items(path: &Path, dataset: &mut Dataset) -> Result<FileReport, ImportError> {
    let mut table = Table::open(path, TAB)?;
    let types = field_types(&mut table)?;
    let id = table.require("item_id", "(the item id field of a RecBole .item file)")?;
    let mut fields: Vec<ItemField> = Vec::with_capacity(types.len());
    // Only the first title-like and first category-like fields feed those columns.
    let (mut seen_title, mut seen_category) = (false, false);
    for (column, &kind) in types.iter().enumerate() {
        let mut field = item_field(&table.header()[column], kind);
        if field == ItemField::Title && std::mem::replace(&mut seen_title, true) {
            field = ItemField::Attribute;
        }
        if field == ItemField::Category && std::mem::replace(&mut seen_category, true) {
            field = ItemField::Attribute;
        }
        fields.push(field);
    }
    let items = &mut dataset.items;
    // Attributes: the string fields not mapped elsewhere, plus the category kept whole.
    let attribute_columns: Vec<usize> = (0..fields.len())
        .filter(|&c| matches!(fields[c], ItemField::Attribute | ItemField::Category))
        .collect();
    let feature_columns: Vec<usize> = (0..fields.len())
        .filter(|&c| fields[c] == ItemField::Feature)
        .collect();
    items.attributes.names = attribute_columns
        .iter()
        .map(|&c| table.header()[c].clone())
        .collect();
    items.attributes.values = vec![Vec::new(); attribute_columns.len()];
    items.features.names = feature_columns
        .iter()
        .map(|&c| table.header()[c].clone())
        .collect();
    let find = |wanted: ItemField| fields.iter().position(|&f| f == wanted);
    let (title, description, category, brand, price) = (
        find(ItemField::Title),
        find(ItemField::Description),
        find(ItemField::Category),
        find(ItemField::Brand),
        find(ItemField::Price),
    );
    let mut lines: Vec<u64> = Vec::new();
    while table.next_row()? {
        let id_text = new_id(&table, id, Ref::Item, &items.ids, &lines)?;
        let price_value = table.parse(price, f64::NAN, parse::price)?;
        for &column in &feature_columns {
            let value = parse::optional_finite_f32(table.get(column))
                .map_err(|m| table.error(column, m))?;
            items.features.data.push(value);
        }
        items.ids.intern(id_text);
        lines.push(table.line());
        items.title.push(table.text(title));
        items.description.push(table.text(description));
        items.category.push(match category {
            Some(column) if types[column] == FieldType::TokenSeq => table
                .get(column)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join("/"),
            _ => table.text(category),
        });
        items.brand.push(table.text(brand));
        items.price.push(price_value);
        table.push_texts(&attribute_columns, &mut items.attributes.values);
    }
    Ok(table.report())
}

fn read_users(path: &Path, dataset: &mut Dataset) -> Result<FileReport, ImportError> {
    let mut table = Table::open(path, TAB)?;
    let types = field_types(&mut table)?;
    let id = table.require("user_id", "(the user id field of a RecBole .user file)")?;
    let feature_columns: Vec<usize> = (0..types.len())
        .filter(|&c| c != id && types[c] == FieldType::Float)
        .collect();
    let attribute_columns: Vec<usize> = (0..types.len())
        .filter(|&c| c != id && types[c] != FieldType::Float)
        .collect();
    let users = &mut dataset.users;
    users.attributes.names = attribute_columns
        .iter()
        .map(|&c| table.header()[c].clone())
        .collect();
    users.attributes.values = vec![Vec::new(); attribute_columns.len()];
    users.features.names = feature_columns
        .iter()
        .map(|&c| table.header()[c].clone())
        .collect();
    let mut lines: Vec<u64> = Vec::new();
    while table.next_row()? {
        let id_text = new_id(&table, id, Ref::User, &users.ids, &lines)?;
        for &column in &feature_columns {
            let value = parse::optional_finite_f32(table.get(column))
                .map_err(|m| table.error(column, m))?;
            users.features.data.push(value);
        }
        users.ids.intern(id_text);
        lines.push(table.line());
        table.push_texts(&attribute_columns, &mut users.attributes.values);
    }
    Ok(table.report())
}

/// The `.item` and `.user` files, when present: events must then name their ids.
struct Catalogs<'a> {
    items: Option<&'a Path>,
    users: Option<&'a Path>,
}

fn read_inter(
    path: &Path,
    catalogs: &Catalogs<'_>,
    unknown_refs: UnknownRefs,
    source: u16,
    dataset: &mut Dataset,
    drops: &mut Drops,
) -> Result<FileReport, ImportError> {
    let mut table = Table::open(path, TAB)?;
    field_types(&mut table)?;
    let user = table.require("user_id", "(the user id field of a RecBole .inter file)")?;
    let item = table.require("item_id", "(the item id field of a RecBole .inter file)")?;
    let rating = table.column("rating");
    let timestamp = table.column("timestamp");
    let kind = if rating.is_some() {
        EventKind::Rating
    } else {
        EventKind::Click
    };
    let mut check = RefCheck {
        events: path,
        drop_unknown: unknown_refs == UnknownRefs::Drop,
        hint: "",
        drops,
    };
    while table.next_row()? {
        let item_text = required_id(&table, item, Ref::Item)?;
        let user_text = required_id(&table, user, Ref::User)?;
        let known_item = dataset.items.ids.get(item_text);
        if !check.keep(
            &table,
            item,
            Ref::Item,
            known_item.is_some(),
            catalogs.items,
        )? {
            continue;
        }
        let known_user = dataset.users.ids.get(user_text);
        if !check.keep(
            &table,
            user,
            Ref::User,
            known_user.is_some(),
            catalogs.users,
        )? {
            continue;
        }
        let value = table.parse(rating, f64::NAN, parse::finite)?;
        let time = table.parse(timestamp, assay_core::NO_TIME, parse::timestamp)?;
        // Without a catalog (or user file) to check against, ids name new entries.
        let item_index = known_item.unwrap_or_else(|| dataset.items.intern(item_text));
        let user_index = known_user.unwrap_or_else(|| dataset.users.intern(user_text));
        dataset.events.push(
            user_index,
            item_index,
            kind,
            value,
            time,
            assay_core::NO_SESSION,
            assay_core::NO_QUERY,
            assay_core::NO_POSITION,
            f64::NAN,
            source,
        );
    }
    Ok(table.report())
}
