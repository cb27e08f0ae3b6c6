//! The search index: lexical + vector + document table, kept in step.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use assay_core::{Dataset, Items};
use assay_encoder::Encoder;
use serde::{Deserialize, Serialize};

use crate::fusion::{self, Candidate, Ranked, RetrievalQuery, Retriever};
use crate::intent::{Intent, IntentAccuracy, IntentModel};
use crate::lexical::{LexicalIndex, TEXT_FIELDS};
use crate::options::{
    Explanation, Facets, Filters, Hit, MatchedTerm, Mode, SearchOptions, SearchResults, UNREADABLE,
};
use crate::vector::{HnswParams, VectorIndex};
use crate::{Result, SearchError};

/// Longest accepted query, in bytes.
pub const MAX_QUERY_BYTES: usize = 4096;

/// One searchable document: a catalog item, or an FAQ entry (question as title, answer as
/// description).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ItemDoc {
    /// External id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Longer description.
    pub description: String,
    /// Category path with `/` between levels.
    pub category: String,
    /// Brand.
    pub brand: String,
    /// Price, when known.
    pub price: Option<f64>,
    /// Other attributes as (name, value).
    pub attributes: Vec<(String, String)>,
}

impl ItemDoc {
    /// Item `i` of a catalog.
    pub fn from_items(items: &Items, i: usize) -> ItemDoc {
        let price = items.price.get(i).copied().filter(|p| p.is_finite());
        let attributes = items
            .attributes
            .names
            .iter()
            .zip(&items.attributes.values)
            .filter_map(|(n, col)| {
                let v = col.get(i)?;
                (!v.is_empty()).then(|| (n.clone(), v.clone()))
            })
            .collect();
        let get = |col: &Vec<String>| col.get(i).cloned().unwrap_or_default();
        ItemDoc {
            id: items.ids.name(i as u32).to_owned(),
            title: get(&items.title),
            description: get(&items.description),
            category: get(&items.category),
            brand: get(&items.brand),
            price,
            attributes,
        }
    }

    /// The text the sentence encoder sees: title, then description.
    pub fn embedding_text(&self) -> String {
        match (self.title.is_empty(), self.description.is_empty()) {
            (_, true) => self.title.clone(),
            (true, false) => self.description.clone(),
            (false, false) => format!("{}. {}", self.title, self.description),
        }
    }
}

/// How an index is built.
#[derive(Debug, Clone)]
pub struct IndexConfig {
    /// Where the index lives; `None` keeps everything in RAM.
    pub dir: Option<PathBuf>,
    /// BM25 boosts of title, description, category, brand, attributes.
    pub field_boosts: [f32; 5],
    /// Vector index parameters.
    pub hnsw: HnswParams,
    /// Indexing threads for tantivy.
    pub threads: usize,
    /// Texts handed to the encoder per call while building.
    pub embed_chunk: usize,
}

impl Default for IndexConfig {
    fn default() -> Self {
        IndexConfig {
            dir: None,
            field_boosts: [3.0, 1.0, 2.0, 2.0, 1.0],
            hnsw: HnswParams::default(),
            threads: 1,
            embed_chunk: 2048,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Meta {
    format: u32,
    model_id: String,
    dim: usize,
    field_boosts: [f32; 5],
}

/// Product search over one catalog; see the crate documentation.
pub struct SearchIndex {
    config: IndexConfig,
    encoder: Arc<dyn Encoder>,
    lexical: LexicalIndex,
    vectors: VectorIndex,
    docs: Vec<Option<ItemDoc>>,
    by_id: HashMap<String, u64>,
    intent: IntentModel,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("dir", &self.config.dir)
            .field("model", &self.encoder.model_id())
            .field("docs", &self.len())
            .field("vectors", &self.vectors)
            .finish()
    }
}

/// Builds an index of every item of `dataset` (document key = item index), embedding the items
/// with `encoder`, and persists it under `config.dir` when set.
pub fn build_index(
    dataset: &Dataset,
    encoder: Arc<dyn Encoder>,
    config: &IndexConfig,
) -> Result<SearchIndex> {
    let docs: Vec<ItemDoc> = (0..dataset.items.len())
        .map(|i| ItemDoc::from_items(&dataset.items, i))
        .collect();
    SearchIndex::from_docs(docs, encoder, config)
}

fn lexical_dir(dir: &Path) -> PathBuf {
    dir.join("lexical")
}

/// Whether `lex` is a folder that holds a tantivy index and nothing else: every entry is a
/// plain file that tantivy lists in its `.managed.json`, that list itself, its `meta.json`
/// (which names the segments), or one of its `.tantivy-*.lock` files.
fn is_lexical_index(lex: &Path) -> Result<bool> {
    const MANAGED: &str = ".managed.json";
    if !std::fs::symlink_metadata(lex)
        .map_err(SearchError::io(lex))?
        .is_dir()
    {
        return Ok(false);
    }
    let read_json = |name: &str| -> Result<Option<serde_json::Value>> {
        let path = lex.join(name);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(SearchError::io(&path)(error)),
        }
    };
    let Some(serde_json::Value::Array(managed)) = read_json(MANAGED)? else {
        return Ok(false);
    };
    let managed: Vec<&str> = managed.iter().filter_map(|v| v.as_str()).collect();
    let names_segments = read_json("meta.json")?.is_some_and(|meta| meta.get("segments").is_some());
    if !names_segments {
        return Ok(false);
    }
    for entry in std::fs::read_dir(lex).map_err(SearchError::io(lex))? {
        let entry = entry.map_err(SearchError::io(lex))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let is_file = entry
            .file_type()
            .map_err(SearchError::io(&entry.path()))?
            .is_file();
        let tantivy_lock = name.starts_with(".tantivy-") && name.ends_with(".lock");
        if !is_file || !(name == MANAGED || tantivy_lock || managed.contains(&name.as_ref())) {
            return Ok(false);
        }
    }
    Ok(true)
}

impl SearchIndex {
    /// Builds an index of `docs` (document key = position), replacing whatever is in
    /// `config.dir`.
    pub fn from_docs(
        docs: Vec<ItemDoc>,
        encoder: Arc<dyn Encoder>,
        config: &IndexConfig,
    ) -> Result<SearchIndex> {
        let mut by_id = HashMap::with_capacity(docs.len());
        for (key, d) in docs.iter().enumerate() {
            if by_id.insert(d.id.clone(), key as u64).is_some() {
                return Err(SearchError::InvalidOption(format!(
                    "duplicate item id `{}`",
                    d.id
                )));
            }
        }
        if let Some(dir) = &config.dir {
            let lex = lexical_dir(dir);
            if std::fs::symlink_metadata(&lex).is_ok() {
                // Only ever wipe a lexical index of ours: a folder of someone else's files at
                // that path is refused, not deleted.
                if !is_lexical_index(&lex)? {
                    return Err(SearchError::InvalidOption(format!(
                        "{} exists and is not a search index, or holds files the index did not \
                         write; choose another index folder",
                        lex.display()
                    )));
                }
                std::fs::remove_dir_all(&lex).map_err(SearchError::io(&lex))?;
            }
        }
        let lexical = LexicalIndex::open(
            config.dir.as_deref().map(lexical_dir).as_deref(),
            config.field_boosts,
            config.threads,
        )?;
        let pairs: Vec<(u64, &ItemDoc)> = docs
            .iter()
            .enumerate()
            .map(|(k, d)| (k as u64, d))
            .collect();
        lexical.add(&pairs)?;
        lexical.commit()?;

        let mut vectors = VectorIndex::new(encoder.dim(), config.hnsw);
        let mut embedded: Vec<(u64, Vec<f32>)> = Vec::with_capacity(docs.len());
        for chunk in pairs.chunks(config.embed_chunk.max(1)) {
            let texts: Vec<String> = chunk.iter().map(|(_, d)| d.embedding_text()).collect();
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let vs = encoder.encode(&refs)?;
            embedded.extend(chunk.iter().map(|(k, _)| *k).zip(vs));
        }
        let mut intent = IntentModel::new(encoder.dim());
        for (key, v) in &embedded {
            intent.add(&docs[*key as usize].category, v);
        }
        vectors.extend(&embedded)?;
        let index = SearchIndex {
            config: config.clone(),
            encoder,
            lexical,
            vectors,
            docs: docs.into_iter().map(Some).collect(),
            by_id,
            intent,
        };
        index.save()?;
        Ok(index)
    }

    /// Opens an index persisted under `dir` by [`build_index`] or [`SearchIndex::save`].
    /// `encoder` must be the model the index was built with.
    pub fn open(
        dir: &Path,
        encoder: Arc<dyn Encoder>,
        config: &IndexConfig,
    ) -> Result<SearchIndex> {
        let meta_path = dir.join("meta.json");
        let text = std::fs::read_to_string(&meta_path).map_err(SearchError::io(&meta_path))?;
        let meta: Meta = serde_json::from_str(&text).map_err(|e| SearchError::Format {
            path: meta_path.clone(),
            line: e.line() as u64,
            reason: e.to_string(),
        })?;
        if meta.model_id != encoder.model_id() {
            return Err(SearchError::ModelMismatch {
                dir: dir.to_owned(),
                built: meta.model_id,
                given: encoder.model_id().to_owned(),
            });
        }
        let docs_path = dir.join("docs.jsonl");
        let text = std::fs::read_to_string(&docs_path).map_err(SearchError::io(&docs_path))?;
        let mut docs: Vec<Option<ItemDoc>> = Vec::new();
        let mut by_id = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let (key, doc): (u64, ItemDoc) =
                serde_json::from_str(line).map_err(|e| SearchError::Format {
                    path: docs_path.clone(),
                    line: n as u64 + 1,
                    reason: e.to_string(),
                })?;
            if docs.len() <= key as usize {
                docs.resize(key as usize + 1, None);
            }
            by_id.insert(doc.id.clone(), key);
            docs[key as usize] = Some(doc);
        }
        let vectors = VectorIndex::load(&dir.join("vectors.bin"), config.hnsw)?;
        let mut intent = IntentModel::new(vectors.dim());
        for (key, doc) in docs.iter().enumerate() {
            if let (Some(doc), Some(v)) = (doc, vectors.get(key as u64)) {
                intent.add(&doc.category, v);
            }
        }
        let mut config = config.clone();
        config.dir = Some(dir.to_owned());
        config.field_boosts = meta.field_boosts;
        let lexical =
            LexicalIndex::open(Some(&lexical_dir(dir)), meta.field_boosts, config.threads)?;
        let index = SearchIndex {
            config,
            encoder,
            lexical,
            vectors,
            docs,
            by_id,
            intent,
        };
        // The lexical index commits on every update, the tables only on save(): re-sync it
        // when an update happened after the last save.
        if index.lexical.num_docs() != index.len() as u64 {
            index.lexical.clear()?;
            let pairs: Vec<(u64, &ItemDoc)> = index.live_docs().collect();
            index.lexical.add(&pairs)?;
            index.lexical.commit()?;
        }
        Ok(index)
    }

    fn live_docs(&self) -> impl Iterator<Item = (u64, &ItemDoc)> {
        self.docs
            .iter()
            .enumerate()
            .filter_map(|(k, d)| d.as_ref().map(|d| (k as u64, d)))
    }

    /// Writes the document table, the vectors and the metadata under the index directory
    /// (each through a temporary file); a no-op for an in-RAM index.
    pub fn save(&self) -> Result<()> {
        let Some(dir) = &self.config.dir else {
            return Ok(());
        };
        std::fs::create_dir_all(dir).map_err(SearchError::io(dir))?;
        self.vectors.save(&dir.join("vectors.bin"))?;
        let mut out = String::new();
        for (key, doc) in self.live_docs() {
            let line = serde_json::to_string(&(key, doc))
                .map_err(|e| SearchError::InvalidOption(format!("serialising a document: {e}")))?;
            out.push_str(&line);
            out.push('\n');
        }
        write_atomic(&dir.join("docs.jsonl"), out.as_bytes())?;
        let meta = Meta {
            format: 1,
            model_id: self.encoder.model_id().to_owned(),
            dim: self.vectors.dim(),
            field_boosts: self.config.field_boosts,
        };
        let json = serde_json::to_vec_pretty(&meta)
            .map_err(|e| SearchError::InvalidOption(format!("serialising metadata: {e}")))?;
        write_atomic(&dir.join("meta.json"), &json)
    }

    /// Number of live documents.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// True when the index holds no document.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// The document with external id `id`.
    pub fn get(&self, id: &str) -> Option<&ItemDoc> {
        let key = *self.by_id.get(id)?;
        self.docs.get(key as usize)?.as_ref()
    }

    /// The document key of `id` (the item index for documents from [`build_index`]).
    pub fn key_of(&self, id: &str) -> Option<u64> {
        self.by_id.get(id).copied()
    }

    /// The encoder the index embeds queries with.
    pub fn encoder(&self) -> &Arc<dyn Encoder> {
        &self.encoder
    }

    /// Replaces the encoder used for queries (e.g. the uncached model after a cached build).
    /// It must be the same model.
    pub fn set_encoder(&mut self, encoder: Arc<dyn Encoder>) -> Result<()> {
        if encoder.model_id() != self.encoder.model_id() {
            return Err(SearchError::ModelMismatch {
                dir: self.config.dir.clone().unwrap_or_default(),
                built: self.encoder.model_id().to_owned(),
                given: encoder.model_id().to_owned(),
            });
        }
        self.encoder = encoder;
        Ok(())
    }

    /// Recall@k of the vector index's answers against an exact scan, averaged over `queries`
    /// (1.0 when the index scans exactly; see [`crate::vector::VectorIndex::recall`] for
    /// `tolerance`).
    pub fn ann_recall(&self, queries: &[Vec<f32>], k: usize, tolerance: f32) -> Result<f64> {
        self.vectors.recall(queries, k, tolerance)
    }

    /// Sets the HNSW candidate list size of vector searches (recall against speed).
    pub fn set_ef_search(&mut self, ef: usize) {
        self.vectors.set_ef_search(ef);
    }

    /// True when vector search goes through the HNSW graph (rather than an exact scan).
    pub fn uses_graph(&self) -> bool {
        self.vectors.uses_graph()
    }

    /// Adds new documents or replaces existing ones (matched by id). They are searchable when
    /// this returns; call [`SearchIndex::save`] to persist the tables as well.
    pub fn upsert(&mut self, docs: &[ItemDoc]) -> Result<()> {
        if docs.is_empty() {
            return Ok(());
        }
        let texts: Vec<String> = docs.iter().map(ItemDoc::embedding_text).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let vectors = self.encoder.encode(&refs)?;
        let mut pairs = Vec::with_capacity(docs.len());
        for (doc, v) in docs.iter().zip(vectors) {
            let key = match self.by_id.get(&doc.id) {
                Some(&key) => {
                    self.lexical.remove(key)?;
                    if let (Some(Some(old)), Some(old_v)) =
                        (self.docs.get(key as usize), self.vectors.get(key))
                    {
                        self.intent.remove(&old.category, old_v);
                    }
                    key
                }
                None => {
                    let key = self.docs.len() as u64;
                    self.docs.push(None);
                    self.by_id.insert(doc.id.clone(), key);
                    key
                }
            };
            self.intent.add(&doc.category, &v);
            self.vectors.upsert(key, v)?;
            self.docs[key as usize] = Some(doc.clone());
            pairs.push(key);
        }
        let added: Vec<(u64, &ItemDoc)> = pairs
            .iter()
            .filter_map(|&k| self.docs[k as usize].as_ref().map(|d| (k, d)))
            .collect();
        self.lexical.add(&added)?;
        self.lexical.commit()
    }

    /// Removes the document `id`; it is gone from searches when this returns. Returns whether
    /// it existed.
    pub fn delete(&mut self, id: &str) -> Result<bool> {
        let Some(key) = self.by_id.remove(id) else {
            return Ok(false);
        };
        if let (Some(Some(old)), Some(v)) = (self.docs.get(key as usize), self.vectors.get(key)) {
            self.intent.remove(&old.category, v);
        }
        self.lexical.remove(key)?;
        self.vectors.delete(key);
        self.docs[key as usize] = None;
        self.lexical.commit()?;
        Ok(true)
    }

    /// Predicts the category of a query (nearest category centroid of its embedding).
    pub fn intent(&self, query: &str) -> Result<Option<Intent>> {
        let q = check_query(query)?;
        let v = self.encoder.encode_one(q)?;
        Ok(self.intent.predict(&v).map(|(intent, _)| intent))
    }

    /// Accuracy of [`SearchIndex::intent`] on labelled (query, category path) pairs, leaf and
    /// top level. Queries are embedded in one batch.
    pub fn intent_accuracy(&self, labelled: &[(String, String)]) -> Result<IntentAccuracy> {
        let texts: Vec<&str> = labelled.iter().map(|(q, _)| q.as_str()).collect();
        let vs = self.encoder.encode(&texts)?;
        let mut acc = IntentAccuracy::default();
        for ((_, truth), v) in labelled.iter().zip(vs) {
            acc.add(
                self.intent.predict(&v).map(|(i, _)| i.category).as_deref(),
                truth,
            );
        }
        Ok(acc)
    }

    /// The ranked hits for `query`.
    pub fn search(&self, query: &str, options: &SearchOptions) -> Result<Vec<Hit>> {
        Ok(self.search_full(query, options)?.hits)
    }

    /// BM25's list for `query` alone, `depth` deep; empty when the query has no terms.
    pub(crate) fn lexical_list(&self, query: &str, depth: usize) -> Result<Ranked> {
        let terms = self.lexical.terms(query);
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        self.lexical.search(&terms, &Filters::default(), depth)
    }

    /// Hits with facet counts and the predicted intent.
    pub fn search_full(&self, query: &str, options: &SearchOptions) -> Result<SearchResults> {
        let q = check_query(query)?;
        // A query the encoder cannot read is not embedded at all.
        let unread = self.unread(q, options.mode);
        let vector = if options.mode == Mode::Bm25 || unread.is_some() {
            None
        } else {
            Some(self.encoder.encode_one(q)?)
        };
        self.search_checked(q, vector.as_deref(), options, unread)
    }

    /// [`SearchIndex::search_full`] with the query's embedding already computed (batch
    /// evaluation embeds all queries at once). `vector` is required unless the mode is BM25.
    pub fn search_with_vector(
        &self,
        query: &str,
        vector: Option<&[f32]>,
        options: &SearchOptions,
    ) -> Result<SearchResults> {
        let q = check_query(query)?;
        self.search_checked(q, vector, options, self.unread(q, options.mode))
    }

    /// In hybrid mode, the share of `query`'s tokens unknown to the encoder when it is over
    /// [`UNREADABLE`] and BM25 has terms to rank by: the hybrid is then BM25 alone.
    fn unread(&self, query: &str, mode: Mode) -> Option<f32> {
        (mode == Mode::Hybrid)
            .then(|| self.encoder.unknown_share(query))
            .flatten()
            .filter(|&share| share > UNREADABLE && !self.lexical.terms(query).is_empty())
    }

    /// The search of a checked query; `unread` as [`SearchIndex::unread`] gives it.
    fn search_checked(
        &self,
        query: &str,
        vector: Option<&[f32]>,
        options: &SearchOptions,
        unread: Option<f32>,
    ) -> Result<SearchResults> {
        options.validate()?;
        let terms = self.lexical.terms(query);
        if terms.is_empty() && vector.is_none() {
            return Err(SearchError::EmptyQuery);
        }
        let (vector, mode) = match unread {
            Some(_) => (None, Mode::Bm25),
            None => (vector, options.mode),
        };
        if mode != Mode::Bm25 && vector.is_none() {
            return Err(SearchError::InvalidOption(
                "vector and hybrid modes need the query's embedding".into(),
            ));
        }
        let depth = options.candidates.max(options.k);
        let filters = &options.filters;
        let keep = |key: u64| {
            filters.is_empty()
                || self
                    .docs
                    .get(key as usize)
                    .and_then(Option::as_ref)
                    .is_some_and(|d| filters.accepts(&d.category, &d.brand, d.price))
        };
        let q = RetrievalQuery {
            terms: &terms,
            vector,
            filters,
            keep: &keep,
        };
        let lexical_list = if mode == Mode::Vector {
            Vec::new()
        } else {
            self.lexical.retrieve(&q, depth)?
        };
        let vector_list = if mode == Mode::Bm25 {
            Vec::new()
        } else {
            self.vectors.retrieve(&q, depth)?
        };
        let mut cands = fusion::candidates(&lexical_list, &vector_list);
        fusion::fuse(
            &mut cands,
            &lexical_list,
            &vector_list,
            mode,
            options.fusion,
            options.semantic_ratio,
        );
        let best = fusion::best_fused(&cands);
        let doc = |key: u64| self.docs.get(key as usize).and_then(Option::as_ref);
        let intent = vector.and_then(|v| self.intent.predict(v));
        if let Some((_, probs)) = &intent {
            let signal = |key| doc(key).map(|d| probs.probability_of(&d.category));
            fusion::boost(&mut cands, options.intent_boost, best, signal, |c| {
                &mut c.intent
            });
        }
        if let Some(personal) = &options.personal {
            let signal = |key| doc(key).map(|d| personal.get(&d.id).copied().unwrap_or(0.0));
            fusion::boost(&mut cands, options.personal_weight, best, signal, |c| {
                &mut c.personal
            });
        }
        fusion::rank(&mut cands);
        let mut results = self.results(cands, terms, intent.map(|(i, _)| i), options);
        results.unread_by_encoder = unread;
        Ok(results)
    }

    /// The page of results: the top `k` of the ranked candidates with their explanations, and
    /// facets over all of them.
    fn results(
        &self,
        ranked: Vec<Candidate>,
        terms: Vec<String>,
        intent: Option<Intent>,
        options: &SearchOptions,
    ) -> SearchResults {
        let facets = self.facets(ranked.iter().map(|c| c.key));
        let n_cands = ranked.len();
        let mut unique_terms: Vec<String> = Vec::new();
        for t in terms {
            if !unique_terms.contains(&t) {
                unique_terms.push(t);
            }
        }
        let hits = ranked
            .into_iter()
            .take(options.k)
            .enumerate()
            .filter_map(|(i, c)| {
                let doc = self.docs.get(c.key as usize)?.as_ref()?;
                let explanation = options.explain.then(|| Explanation {
                    matched_terms: self.matched_terms(doc, &unique_terms),
                    bm25: c.bm25.map(|b| b.0),
                    bm25_rank: c.bm25.map(|b| b.1),
                    vector: c.cosine.map(|v| v.0),
                    vector_rank: c.cosine.map(|v| v.1),
                    lexical_contribution: c.lexical,
                    semantic_contribution: c.semantic,
                    intent_contribution: c.intent,
                    personal_contribution: c.personal,
                });
                Some(Hit {
                    id: doc.id.clone(),
                    rank: i + 1,
                    score: c.total(),
                    title: doc.title.clone(),
                    category: doc.category.clone(),
                    brand: doc.brand.clone(),
                    price: doc.price,
                    explanation,
                })
            })
            .collect();
        SearchResults {
            hits,
            facets,
            intent,
            candidates: n_cands,
            unread_by_encoder: None,
        }
    }

    fn matched_terms(&self, doc: &ItemDoc, terms: &[String]) -> Vec<MatchedTerm> {
        let fields = self.lexical.field_terms(doc);
        terms
            .iter()
            .filter_map(|t| {
                let found: Vec<String> = TEXT_FIELDS
                    .iter()
                    .zip(&fields)
                    .filter(|(_, ft)| ft.contains(t))
                    .map(|(name, _)| (*name).to_owned())
                    .collect();
                (!found.is_empty()).then(|| MatchedTerm {
                    term: t.clone(),
                    fields: found,
                })
            })
            .collect()
    }

    fn facets(&self, keys: impl Iterator<Item = u64>) -> Facets {
        const BANDS: [(f64, f64, &str); 7] = [
            (0.0, 25.0, "0-25"),
            (25.0, 50.0, "25-50"),
            (50.0, 100.0, "50-100"),
            (100.0, 250.0, "100-250"),
            (250.0, 500.0, "250-500"),
            (500.0, 1000.0, "500-1000"),
            (1000.0, f64::INFINITY, "1000+"),
        ];
        let mut top: HashMap<String, usize> = HashMap::new();
        let mut leaf: HashMap<String, usize> = HashMap::new();
        let mut brand: HashMap<String, usize> = HashMap::new();
        let mut price = [0usize; 7];
        let mut seen = HashSet::new();
        for key in keys {
            if !seen.insert(key) {
                continue;
            }
            let Some(Some(d)) = self.docs.get(key as usize) else {
                continue;
            };
            if !d.category.is_empty() {
                let first = d.category.split('/').next().unwrap_or("").trim().to_owned();
                *top.entry(first).or_default() += 1;
                *leaf.entry(d.category.clone()).or_default() += 1;
            }
            if !d.brand.is_empty() {
                *brand.entry(d.brand.clone()).or_default() += 1;
            }
            if let Some(p) = d.price {
                if let Some(b) = BANDS.iter().position(|(lo, hi, _)| p >= *lo && p < *hi) {
                    price[b] += 1;
                }
            }
        }
        let sorted = |m: HashMap<String, usize>| {
            let mut v: Vec<(String, usize)> = m.into_iter().collect();
            v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            v
        };
        Facets {
            category: sorted(top),
            leaf_category: sorted(leaf),
            brand: sorted(brand),
            price: BANDS
                .iter()
                .zip(price)
                .filter(|(_, n)| *n > 0)
                .map(|((_, _, name), n)| ((*name).to_owned(), n))
                .collect(),
        }
    }
}

/// Checks a shopper's query before any work is done: at most [`MAX_QUERY_BYTES`] bytes and at
/// least one letter or digit. Returns the trimmed query. Every search runs this check itself;
/// callers use it to reject a bad query before building or opening an index.
pub fn check_query(query: &str) -> Result<&str> {
    if query.len() > MAX_QUERY_BYTES {
        return Err(SearchError::QueryTooLong {
            len: query.len(),
            max: MAX_QUERY_BYTES,
        });
    }
    let q = query.trim();
    if !q.chars().any(char::is_alphanumeric) {
        return Err(SearchError::EmptyQuery);
    }
    Ok(q)
}

pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    assay_fetch::write_atomically(path, |out| std::io::Write::write_all(out, bytes))
        .map_err(SearchError::io(path))
}
