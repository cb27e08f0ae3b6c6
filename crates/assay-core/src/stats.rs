//! Summary statistics of a dataset: what `assay data stats` prints.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use crate::{time, Dataset, EventKind, NO_POSITION, NO_TIME};

/// Counts and rates of a whole dataset.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Stats {
    /// Dataset name.
    pub name: String,
    /// Users in the user table (including users without events).
    pub users: usize,
    /// Items in the catalog (including items without events).
    pub items: usize,
    /// All events.
    pub events: usize,
    /// Distinct (user, item) pairs with at least one non-impression event: the interactions.
    pub interactions: usize,
    /// `1 - interactions / (users * items)`.
    pub sparsity: f64,
    /// Events per kind (only kinds present).
    pub by_kind: BTreeMap<EventKind, usize>,
    /// Clicks per impression, when the log has impressions.
    pub ctr: Option<f64>,
    /// Purchases per click, when the log has clicks and records purchases at all.
    pub conversion: Option<f64>,
    /// Sum of purchase values, when the log has purchases.
    pub revenue: Option<f64>,
    /// Distinct display positions seen.
    pub positions: usize,
    /// Search judgments.
    pub judgments: usize,
    /// Earliest and latest event time as `YYYY-MM-DD`, when timed.
    pub time_range: Option<(String, String)>,
    /// Share of interactions that fall on the items outside the most popular 20% of items.
    pub long_tail_share: f64,
    /// Per data source.
    pub per_source: Vec<GroupStats>,
    /// Per UTC day, when timed.
    pub per_day: Vec<GroupStats>,
    /// Per display position, when positioned.
    pub per_position: Vec<GroupStats>,
}

/// Counts of one slice of the log (a source, a day, a position).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GroupStats {
    /// The slice's label.
    pub key: String,
    /// Events in the slice.
    pub events: usize,
    /// Impressions in the slice.
    pub impressions: usize,
    /// Clicks in the slice.
    pub clicks: usize,
    /// Purchases in the slice.
    pub purchases: usize,
    /// Clicks per impression, when the slice has impressions.
    pub ctr: Option<f64>,
}

#[derive(Default, Clone, Copy)]
struct Tally {
    events: usize,
    impressions: usize,
    clicks: usize,
    purchases: usize,
}

impl Tally {
    fn add(&mut self, kind: EventKind) {
        self.events += 1;
        match kind {
            EventKind::Impression => self.impressions += 1,
            EventKind::Click => self.clicks += 1,
            EventKind::Purchase => self.purchases += 1,
            _ => {}
        }
    }

    fn finish(self, key: String) -> GroupStats {
        GroupStats {
            key,
            events: self.events,
            impressions: self.impressions,
            clicks: self.clicks,
            purchases: self.purchases,
            ctr: ratio(self.clicks, self.impressions),
        }
    }
}

fn ratio(num: usize, den: usize) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// Computes the statistics of `data` in one pass over the log (plus a sort of item counts).
pub fn summarize(data: &Dataset) -> Stats {
    let ev = &data.events;
    let mut by_kind: BTreeMap<EventKind, usize> = BTreeMap::new();
    let mut per_source = vec![Tally::default(); data.sources.len().max(1)];
    let mut per_day: BTreeMap<i64, Tally> = BTreeMap::new();
    let mut per_position: BTreeMap<u16, Tally> = BTreeMap::new();
    let mut pairs: HashSet<(u32, u32)> = HashSet::new();
    let mut item_pairs = vec![0usize; data.items.len()];
    let mut revenue = 0.0;
    let (mut t_min, mut t_max) = (i64::MAX, i64::MIN);
    for e in 0..ev.len() {
        let kind = ev.kind[e];
        *by_kind.entry(kind).or_default() += 1;
        if let Some(tally) = per_source.get_mut(ev.source[e] as usize) {
            tally.add(kind);
        }
        let t = ev.timestamp[e];
        if t != NO_TIME {
            per_day.entry(t.div_euclid(86_400)).or_default().add(kind);
            t_min = t_min.min(t);
            t_max = t_max.max(t);
        }
        if ev.position[e] != NO_POSITION {
            per_position.entry(ev.position[e]).or_default().add(kind);
        }
        if kind == EventKind::Purchase && ev.value[e].is_finite() {
            revenue += ev.value[e];
        }
        if kind != EventKind::Impression && pairs.insert((ev.user[e], ev.item[e])) {
            item_pairs[ev.item[e] as usize] += 1;
        }
    }
    let count = |kind| by_kind.get(&kind).copied().unwrap_or(0);
    let cells = data.users.len() as f64 * data.items.len() as f64;
    Stats {
        name: data.name.clone(),
        users: data.users.len(),
        items: data.items.len(),
        events: ev.len(),
        interactions: pairs.len(),
        sparsity: if cells > 0.0 {
            1.0 - pairs.len() as f64 / cells
        } else {
            1.0
        },
        ctr: ratio(count(EventKind::Click), count(EventKind::Impression)),
        // A log without any purchase events does not record conversions; 0% would mislead.
        conversion: if count(EventKind::Purchase) > 0 {
            ratio(count(EventKind::Purchase), count(EventKind::Click))
        } else {
            None
        },
        revenue: (count(EventKind::Purchase) > 0).then_some(revenue),
        positions: per_position.len(),
        judgments: data.judgments.len(),
        time_range: (t_min <= t_max).then(|| (time::date_of(t_min), time::date_of(t_max))),
        long_tail_share: long_tail_share(item_pairs),
        by_kind,
        per_source: per_source
            .into_iter()
            .enumerate()
            .filter(|(_, t)| t.events > 0)
            .map(|(s, t)| {
                let name = if s < data.sources.len() {
                    data.sources.name(s as u32)
                } else {
                    ""
                };
                t.finish(name.to_owned())
            })
            .collect(),
        per_day: per_day
            .into_iter()
            .map(|(d, t)| t.finish(time::date_of(d * 86_400)))
            .collect(),
        per_position: per_position
            .into_iter()
            .map(|(p, t)| t.finish(p.to_string()))
            .collect(),
    }
}

/// Share of interactions on items outside the top 20% by interaction count (the "short head").
fn long_tail_share(mut per_item: Vec<usize>) -> f64 {
    let total: usize = per_item.iter().sum();
    if total == 0 {
        return 0.0;
    }
    per_item.sort_unstable_by(|a, b| b.cmp(a));
    let head = (per_item.len() as f64 * 0.2).ceil() as usize;
    let head_sum: usize = per_item[..head].iter().sum();
    (total - head_sum) as f64 / total as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NO_QUERY, NO_SESSION};

    #[test]
    fn counts_rates_and_slices_by_hand() {
        let mut data = Dataset::default();
        let app = data.sources.intern("app") as u16;
        let web = data.sources.intern("web") as u16;
        for i in 0..5 {
            data.items.intern(&format!("i{i}"));
        }
        let u = data.users.intern("u");
        let v = data.users.intern("v");
        let day = 86_400;
        use EventKind::*;
        let log = [
            (u, 0, Impression, 1, app, 0),
            (u, 0, Click, 1, app, 10),
            (u, 1, Impression, 2, app, 20),
            (v, 0, Impression, 1, web, day),
            (v, 0, Click, 1, web, day + 5),
            (v, 0, Purchase, 0, web, day + 9),
        ];
        for (user, item, kind, pos, src, t) in log {
            let value = if kind == Purchase { 25.0 } else { f64::NAN };
            data.events.push(
                user,
                item,
                kind,
                value,
                t,
                NO_SESSION,
                NO_QUERY,
                pos,
                f64::NAN,
                src,
            );
        }
        let s = summarize(&data);
        assert_eq!((s.users, s.items, s.events), (2, 5, 6));
        // Non-impression pairs: (u, 0) and (v, 0).
        assert_eq!(s.interactions, 2);
        assert_eq!(s.sparsity, 1.0 - 2.0 / 10.0);
        assert_eq!(s.ctr, Some(2.0 / 3.0));
        assert_eq!(s.conversion, Some(0.5));
        assert_eq!(s.revenue, Some(25.0));
        assert_eq!(s.positions, 2);
        assert_eq!(s.per_source.len(), 2);
        assert_eq!(
            (s.per_source[1].key.as_str(), s.per_source[1].purchases),
            ("web", 1)
        );
        assert_eq!(s.per_day.len(), 2);
        assert_eq!(s.per_day[0].key, "1970-01-01");
        assert_eq!(s.per_position[0].ctr, Some(1.0));
        assert_eq!(s.per_position[1].ctr, Some(0.0));
        // All interactions are on item 0, which is the head (top 20% of 5 items = 1 item).
        assert_eq!(s.long_tail_share, 0.0);
        assert_eq!(
            s.time_range,
            Some(("1970-01-01".into(), "1970-01-02".into()))
        );
    }

    #[test]
    fn long_tail_share_by_hand() {
        // 10 items; head = top 2 (counts 5 and 4), tail = 1 * 8 = 8 of 17.
        let counts = vec![5, 4, 1, 1, 1, 1, 1, 1, 1, 1];
        assert!((long_tail_share(counts) - 8.0 / 17.0).abs() < 1e-12);
    }
}
