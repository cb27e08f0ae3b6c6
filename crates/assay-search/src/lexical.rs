//! The tantivy side: schema, documents, BM25 with per-field boosts, filters as zero-score clauses.

use std::ops::Bound;
use std::path::Path;
use std::sync::Mutex;

use tantivy::collector::TopDocs;
use tantivy::directory::MmapDirectory;
use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, Occur, Query, RangeQuery, TermQuery,
};
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, STRING,
};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::analysis::{analyzer, ANALYZER};
use crate::fusion::{Ranked, RetrievalQuery, Retriever};
use crate::index::ItemDoc;
use crate::options::{normalize_path, Filters};
use crate::{Result, SearchError};

/// Names of the text fields, in the order of [`LexicalIndex::text_fields`].
pub(crate) const TEXT_FIELDS: [&str; 5] =
    ["title", "description", "category", "brand", "attributes"];

/// The inverted index and its writer.
pub(crate) struct LexicalIndex {
    /// Kept for the lifetime of the reader and writer.
    _index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    key: Field,
    text: [Field; 5],
    boosts: [f32; 5],
    category_prefix: Field,
    brand_exact: Field,
    price: Field,
    analyzer: Mutex<TextAnalyzer>,
}

fn schema() -> Schema {
    let mut b = Schema::builder();
    b.add_u64_field("key", NumericOptions::default().set_indexed().set_fast());
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(ANALYZER)
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    for name in TEXT_FIELDS {
        b.add_text_field(name, text.clone());
    }
    b.add_text_field("category_prefix", STRING);
    b.add_text_field("brand_exact", STRING);
    b.add_f64_field("price", NumericOptions::default().set_indexed().set_fast());
    b.build()
}

impl LexicalIndex {
    /// Opens or creates the index in `dir`, or in RAM when `dir` is `None`.
    pub(crate) fn open(
        dir: Option<&Path>,
        boosts: [f32; 5],
        threads: usize,
    ) -> Result<LexicalIndex> {
        let schema = schema();
        let index = match dir {
            None => Index::create_in_ram(schema.clone()),
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(SearchError::io(dir))?;
                let mmap = MmapDirectory::open(dir).map_err(|e| SearchError::Io {
                    path: dir.to_owned(),
                    source: std::io::Error::other(e.to_string()),
                })?;
                Index::open_or_create(mmap, schema.clone())?
            }
        };
        index.tokenizers().register(ANALYZER, analyzer());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let writer =
            index.writer_with_num_threads(threads.clamp(1, 8), 64_000_000 * threads.clamp(1, 8))?;
        let field = |name: &str| schema.get_field(name);
        let mut text = [field("title")?; 5];
        for (slot, name) in text.iter_mut().zip(TEXT_FIELDS) {
            *slot = field(name)?;
        }
        Ok(LexicalIndex {
            key: field("key")?,
            text,
            boosts,
            category_prefix: field("category_prefix")?,
            brand_exact: field("brand_exact")?,
            price: field("price")?,
            _index: index,
            reader,
            writer: Mutex::new(writer),
            analyzer: Mutex::new(analyzer()),
        })
    }

    fn writer(&self) -> Result<std::sync::MutexGuard<'_, IndexWriter>> {
        self.writer
            .lock()
            .map_err(|_| SearchError::InvalidOption("index writer lock poisoned".into()))
    }

    /// Analyses `text` with the index's analyzer.
    pub(crate) fn terms(&self, text: &str) -> Vec<String> {
        match self.analyzer.lock() {
            Ok(mut a) => crate::analysis::terms(&mut a, text),
            Err(_) => crate::analysis::terms(&mut analyzer(), text),
        }
    }

    fn document(&self, key: u64, doc: &ItemDoc) -> TantivyDocument {
        let mut d = TantivyDocument::default();
        d.add_u64(self.key, key);
        let attributes = doc
            .attributes
            .iter()
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let values = [
            doc.title.as_str(),
            doc.description.as_str(),
            &doc.category.replace('/', " "),
            doc.brand.as_str(),
            &attributes,
        ];
        for (field, value) in self.text.iter().zip(values) {
            if !value.is_empty() {
                d.add_text(*field, value);
            }
        }
        let path = normalize_path(&doc.category).to_lowercase();
        let mut prefix = String::new();
        for level in path.split('/').filter(|l| !l.is_empty()) {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(level);
            d.add_text(self.category_prefix, &prefix);
        }
        if !doc.brand.is_empty() {
            d.add_text(self.brand_exact, doc.brand.to_lowercase());
        }
        if let Some(p) = doc.price {
            d.add_f64(self.price, p);
        }
        d
    }

    /// Adds documents without committing.
    pub(crate) fn add(&self, docs: &[(u64, &ItemDoc)]) -> Result<()> {
        let writer = self.writer()?;
        for (key, doc) in docs {
            writer.add_document(self.document(*key, doc))?;
        }
        Ok(())
    }

    /// Removes the document with `key` (without committing).
    pub(crate) fn remove(&self, key: u64) -> Result<()> {
        self.writer()?
            .delete_term(Term::from_field_u64(self.key, key));
        Ok(())
    }

    /// Commits pending changes and makes them visible to searches.
    pub(crate) fn commit(&self) -> Result<()> {
        self.writer()?.commit()?;
        self.reader.reload()?;
        Ok(())
    }

    /// Wipes every document (without committing).
    pub(crate) fn clear(&self) -> Result<()> {
        self.writer()?.delete_all_documents()?;
        Ok(())
    }

    fn filter_clauses(&self, filters: &Filters) -> Vec<(Occur, Box<dyn Query>)> {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let zero = |q: Box<dyn Query>| -> Box<dyn Query> { Box::new(ConstScoreQuery::new(q, 0.0)) };
        if let Some(cat) = &filters.category {
            let term =
                Term::from_field_text(self.category_prefix, &normalize_path(cat).to_lowercase());
            clauses.push((
                Occur::Must,
                zero(Box::new(TermQuery::new(term, IndexRecordOption::Basic))),
            ));
        }
        if !filters.brands.is_empty() {
            let any: Vec<(Occur, Box<dyn Query>)> = filters
                .brands
                .iter()
                .map(|b| {
                    let term = Term::from_field_text(self.brand_exact, &b.to_lowercase());
                    let q: Box<dyn Query> =
                        Box::new(TermQuery::new(term, IndexRecordOption::Basic));
                    (Occur::Should, q)
                })
                .collect();
            clauses.push((Occur::Must, zero(Box::new(BooleanQuery::new(any)))));
        }
        if filters.price_min.is_some() || filters.price_max.is_some() {
            let bound = |v: Option<f64>| match v {
                Some(v) => Bound::Included(Term::from_field_f64(self.price, v)),
                None => Bound::Unbounded,
            };
            let q = RangeQuery::new(bound(filters.price_min), bound(filters.price_max));
            clauses.push((Occur::Must, zero(Box::new(q))));
        }
        clauses
    }

    /// The `limit` best documents for the analysed `terms` under `filters`: (key, BM25 score).
    /// The score is the sum over terms and fields of `boost * BM25(term, field)`.
    pub(crate) fn search(
        &self,
        terms: &[String],
        filters: &Filters,
        limit: usize,
    ) -> Result<Vec<(u64, f32)>> {
        let mut unique: Vec<&String> = Vec::new();
        for t in terms {
            if !unique.contains(&t) {
                unique.push(t);
            }
        }
        if unique.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for term in unique {
            for (field, boost) in self.text.iter().zip(self.boosts) {
                if boost <= 0.0 {
                    continue;
                }
                let q = TermQuery::new(
                    Term::from_field_text(*field, term),
                    IndexRecordOption::WithFreqs,
                );
                should.push((Occur::Should, Box::new(BoostQuery::new(Box::new(q), boost))));
            }
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> =
            vec![(Occur::Must, Box::new(BooleanQuery::new(should)))];
        clauses.extend(self.filter_clauses(filters));
        let query = BooleanQuery::new(clauses);
        let searcher = self.reader.searcher();
        // Equal scores are ordered by item key, never by how documents fell into segments (which
        // varies with indexing threads): one more than `limit` is collected, and more while the
        // last collected score still ties with the one at the cut-off.
        let mut want = limit.saturating_add(1);
        loop {
            let top = searcher.search(&query, &TopDocs::with_limit(want).order_by_score())?;
            let complete = top.len() < want;
            let mut out = Vec::with_capacity(top.len());
            let mut columns: Vec<Option<tantivy::columnar::Column<u64>>> =
                vec![None; searcher.segment_readers().len()];
            for (score, addr) in top {
                let seg = addr.segment_ord as usize;
                if columns[seg].is_none() {
                    columns[seg] = Some(
                        searcher
                            .segment_reader(addr.segment_ord)
                            .fast_fields()
                            .u64("key")?,
                    );
                }
                if let Some(key) = columns[seg].as_ref().and_then(|c| c.first(addr.doc_id)) {
                    out.push((key, score));
                }
            }
            out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            let settled =
                out.len() <= limit || out.last().map(|l| l.1) < out.get(limit - 1).map(|c| c.1);
            if complete || settled {
                out.truncate(limit);
                return Ok(out);
            }
            want = want.saturating_mul(2);
        }
    }

    /// Number of live documents visible to searches.
    pub(crate) fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// The analysed terms of each text field of `doc`, for explanations.
    pub(crate) fn field_terms(&self, doc: &ItemDoc) -> [Vec<String>; 5] {
        let attributes = doc
            .attributes
            .iter()
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        [
            self.terms(&doc.title),
            self.terms(&doc.description),
            self.terms(&doc.category.replace('/', " ")),
            self.terms(&doc.brand),
            self.terms(&attributes),
        ]
    }
}

impl Retriever for LexicalIndex {
    /// BM25 over the query's terms, with the filters applied inside the index.
    fn retrieve(&self, query: &RetrievalQuery<'_>, depth: usize) -> Result<Ranked> {
        self.search(query.terms, query.filters, depth)
    }
}
