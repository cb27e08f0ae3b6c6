//! Open Bandit Dataset campaigns: `<campaign>.csv` (one logged round per row) and
//! `item_context.csv`, as shipped in the `obp` wheel under `obd/<policy>/<campaign>/`.
//!
//! The mapping is a contract other crates rely on:
//! - items are interned in `item_id` order, so the dense item index equals the OBD `item_id`
//!   when ids are `0..n` as shipped; `item_feature_0` becomes the numeric feature of that name
//!   and the other `item_feature_*` columns string attributes;
//! - row `r` (0-based, file order) is round `r`: user `r` (id `"r"`, attributes
//!   `user_feature_*`, features `user-item_affinity_*` in file order) and session `"r"`; the user
//!   and session are created even when the row's events are dropped, so that the dense user
//!   index, the dense session index and `r` coincide;
//! - each row is an impression (position as in the file, from 1; propensity
//!   `propensity_score`; timestamp in whole unix seconds; source `obd/<policy>`), followed, when
//!   `click` is 1, by a click with the same fields.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use assay_core::{Dataset, EventKind};

use crate::error::ImportError;
use crate::parse;
use crate::table::{Table, TableFormat};
use crate::{
    DropReason, Drops, FileReport, Format, ImportReport, LoadOptions, Loaded, UnknownRefs,
};

/// The catalog file of a campaign.
pub(crate) const ITEM_CONTEXT: &str = "item_context.csv";

const COMMA: TableFormat = TableFormat::Delimited(b',');
const NUMERIC_ITEM_FEATURE: &str = "item_feature_0";
const USER_FEATURE_PREFIX: &str = "user_feature_";
const AFFINITY_PREFIX: &str = "user-item_affinity_";

pub(crate) fn load(
    dir: &Path,
    campaign_file: &str,
    options: &LoadOptions,
) -> Result<Loaded, ImportError> {
    let unknown_refs = options.unknown_refs.unwrap_or(UnknownRefs::Fail);
    let campaign = campaign_file.trim_end_matches(".csv");
    // The policy is the name of the folder above the campaign folder (obd/<policy>/<campaign>).
    let policy = std::fs::canonicalize(dir)
        .ok()
        .and_then(|full| {
            full.parent()
                .and_then(|parent| parent.file_name())
                .and_then(|name| name.to_str())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let mut dataset = Dataset {
        name: format!("obd/{policy}/{campaign}"),
        ..Dataset::default()
    };
    let mut drops = Drops::default();
    let item_path = dir.join(ITEM_CONTEXT);
    let (items_report, item_index) = read_item_context(&item_path, &mut dataset)?;
    let source = dataset.sources.intern(&format!("obd/{policy}")) as u16;
    let log_report = read_log(
        &dir.join(campaign_file),
        &item_path,
        &item_index,
        unknown_refs,
        source,
        &mut dataset,
        &mut drops,
    )?;
    Ok(Loaded {
        dataset,
        report: ImportReport {
            format: Format::Obd,
            files: vec![items_report, log_report],
            dropped: drops.into_vec(),
        },
    })
}

fn integer_id(table: &Table, column: usize) -> Result<u64, ImportError> {
    let text = table.get(column);
    text.trim().parse::<u64>().map_err(|_| {
        table.error(
            column,
            format!(
                "expected an item id (an integer >= 0), found {}",
                parse::quoted(text)
            ),
        )
    })
}

/// Reads the catalog and returns, besides the report, the map from OBD item id to dense index.
fn read_item_context(
    path: &Path,
    dataset: &mut Dataset,
) -> Result<(FileReport, HashMap<u64, u32>), ImportError> {
    struct Row {
        id: u64,
        line: u64,
        feature: f32,
        attributes: Vec<String>,
    }
    let mut table = Table::open(path, COMMA)?;
    let id = table.require("item_id", "(an Open Bandit item_context.csv has item_id)")?;
    let feature = table.column(NUMERIC_ITEM_FEATURE);
    // Every other named column is a string attribute; the unnamed first column is pandas' index.
    let attribute_columns: Vec<usize> = (0..table.header().len())
        .filter(|&c| c != id && Some(c) != feature && !table.header()[c].is_empty())
        .collect();
    let attribute_names: Vec<String> = attribute_columns
        .iter()
        .map(|&c| table.header()[c].clone())
        .collect();
    // The catalog is small (tens of items), so rows are collected and sorted by id.
    let mut rows = Vec::new();
    while table.next_row()? {
        let feature_value = match feature {
            Some(column) => {
                parse::finite_f32(table.get(column)).map_err(|m| table.error(column, m))?
            }
            None => 0.0,
        };
        rows.push(Row {
            id: integer_id(&table, id)?,
            line: table.line(),
            feature: feature_value,
            attributes: attribute_columns
                .iter()
                .map(|&c| table.get(c).to_owned())
                .collect(),
        });
    }
    rows.sort_by_key(|row| (row.id, row.line));
    if let Some(pair) = rows.windows(2).find(|pair| pair[0].id == pair[1].id) {
        return Err(ImportError::data(
            path,
            Some(pair[1].line),
            Some("item_id"),
            format!(
                "duplicate item id \"{}\", first on line {}",
                pair[1].id, pair[0].line
            ),
        ));
    }
    let items = &mut dataset.items;
    items.attributes.names = attribute_names;
    items.attributes.values = vec![Vec::with_capacity(rows.len()); attribute_columns.len()];
    if feature.is_some() {
        items.features.names = vec![NUMERIC_ITEM_FEATURE.to_owned()];
    }
    let mut index = HashMap::with_capacity(rows.len());
    for row in rows {
        let dense = items.ids.intern(&row.id.to_string());
        index.insert(row.id, dense);
        items.title.push(String::new());
        items.description.push(String::new());
        items.category.push(String::new());
        items.brand.push(String::new());
        items.price.push(f64::NAN);
        if feature.is_some() {
            items.features.data.push(row.feature);
        }
        for (values, value) in items.attributes.values.iter_mut().zip(row.attributes) {
            values.push(value);
        }
    }
    let report = FileReport {
        path: path.to_owned(),
        rows: table.rows(),
    };
    Ok((report, index))
}

fn read_log(
    path: &Path,
    item_path: &Path,
    item_index: &HashMap<u64, u32>,
    unknown_refs: UnknownRefs,
    source: u16,
    dataset: &mut Dataset,
    drops: &mut Drops,
) -> Result<FileReport, ImportError> {
    const WHY: &str = "(an Open Bandit log has timestamp, item_id, position, click and \
                       propensity_score)";
    let mut table = Table::open(path, COMMA)?;
    let timestamp = table.require("timestamp", WHY)?;
    let item = table.require("item_id", WHY)?;
    let position = table.require("position", WHY)?;
    let click = table.require("click", WHY)?;
    let propensity = table.require("propensity_score", WHY)?;
    let with_prefix = |table: &Table, prefix: &str| -> Vec<usize> {
        (0..table.header().len())
            .filter(|&c| table.header()[c].starts_with(prefix))
            .collect()
    };
    let user_columns = with_prefix(&table, USER_FEATURE_PREFIX);
    let affinity_columns = with_prefix(&table, AFFINITY_PREFIX);
    let users = &mut dataset.users;
    users.attributes.names = user_columns
        .iter()
        .map(|&c| table.header()[c].clone())
        .collect();
    users.attributes.values = vec![Vec::new(); user_columns.len()];
    users.features.names = affinity_columns
        .iter()
        .map(|&c| table.header()[c].clone())
        .collect();
    let mut round_id = String::new();
    let mut round: u64 = 0;
    while table.next_row()? {
        let time = parse::timestamp(table.get(timestamp))
            .and_then(|t| {
                if t == assay_core::NO_TIME {
                    Err(format!(
                        "expected a timestamp (RFC 3339 or unix seconds), found {}",
                        parse::quoted(table.get(timestamp))
                    ))
                } else {
                    Ok(t)
                }
            })
            .map_err(|m| table.error(timestamp, m))?;
        let slot = parse::position(table.get(position)).map_err(|m| table.error(position, m))?;
        if slot == assay_core::NO_POSITION {
            return Err(table.error(
                position,
                "expected a position (an integer from 1 to 65535), found \"\"",
            ));
        }
        let clicked = match table.get(click).trim() {
            "0" => false,
            "1" => true,
            other => {
                return Err(table.error(
                    click,
                    format!("expected 0 or 1, found {}", parse::quoted(other)),
                ))
            }
        };
        let propensity_value =
            parse::propensity(table.get(propensity)).map_err(|m| table.error(propensity, m))?;
        if propensity_value.is_nan() {
            return Err(table.error(propensity, "expected a propensity in (0, 1], found \"\""));
        }
        let item_id = integer_id(&table, item)?;
        for &column in &affinity_columns {
            let value = parse::finite_f32(table.get(column)).map_err(|m| table.error(column, m))?;
            dataset.users.features.data.push(value);
        }
        for (values, &column) in dataset
            .users
            .attributes
            .values
            .iter_mut()
            .zip(&user_columns)
        {
            values.push(table.get(column).to_owned());
        }
        round_id.clear();
        let _ = write!(round_id, "{round}");
        round += 1;
        let user = dataset.users.ids.intern(&round_id);
        let session = dataset.sessions.intern(&round_id);
        let item_dense = match item_index.get(&item_id) {
            Some(&dense) => dense,
            None if unknown_refs == UnknownRefs::Drop => {
                drops.add(DropReason::UnknownItem, path, table.line());
                continue;
            }
            None => {
                return Err(table.error(
                    item,
                    format!("unknown item \"{item_id}\": not in {}", item_path.display()),
                ))
            }
        };
        let mut push = |kind: EventKind| {
            dataset.events.push(
                user,
                item_dense,
                kind,
                f64::NAN,
                time,
                session,
                assay_core::NO_QUERY,
                slot,
                propensity_value,
                source,
            )
        };
        push(EventKind::Impression);
        if clicked {
            push(EventKind::Click);
        }
    }
    Ok(table.report())
}
