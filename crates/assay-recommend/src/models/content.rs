//! Content-based recommendation over item text with TF-IDF.
//!
//! Each item's document is its title, category path, brand, description and string attributes.
//! Tokens are lowercase alphanumeric runs of at least two characters. Term weights are
//! `tf · idf` with the smoothed `idf = ln((1 + N) / (1 + df)) + 1` (scikit-learn's default), and
//! every item vector is L2-normalised. A user's profile is the mean of their training items'
//! vectors, and an item's score is the cosine between profile and item.

use std::collections::HashMap;
use std::path::Path;

use assay_core::{Dataset, Interactions, UserIdx};
use serde::{Deserialize, Serialize};

use super::{expect_kind, load_f32};
use crate::store::{self, ModelFile, Tensors};
use crate::spec::{non_default, params_from};
use crate::{Fit, History, ModelKind, RecommendError, Recommender, Result, Validate};

/// Hyper-parameters of [`ContentModel`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ContentParams {
    /// Terms in fewer items than this are dropped.
    pub min_df: usize,
}

impl Default for ContentParams {
    fn default() -> ContentParams {
        ContentParams { min_df: 1 }
    }
}

/// Fitted content model: the TF-IDF item-term matrix in CSR.
#[derive(Debug, Clone)]
pub struct ContentModel {
    params: ContentParams,
    history: History,
    n_terms: usize,
    indptr: Vec<u64>,
    terms: Vec<u32>,
    values: Vec<f32>,
}

/// Lowercase alphanumeric tokens of at least two characters.
fn tokenize(text: &str, out: &mut Vec<String>) {
    for token in text.split(|c: char| !c.is_alphanumeric()) {
        if token.chars().count() >= 2 {
            out.push(token.to_lowercase());
        }
    }
}

impl Fit for ContentParams {
    type Model = ContentModel;

    fn fit(
        &self,
        train: &Interactions,
        data: &Dataset,
        _: Option<&Validate<'_>>,
    ) -> Result<ContentModel> {
        let items = &data.items;
        if items.len() != train.n_items() {
            return Err(RecommendError::Data(format!(
                "catalog has {} items, training matrix {}",
                items.len(),
                train.n_items()
            )));
        }
        let mut docs: Vec<Vec<String>> = Vec::with_capacity(items.len());
        for i in 0..items.len() {
            let mut tokens = Vec::new();
            for field in [
                &items.title[i],
                &items.category[i],
                &items.brand[i],
                &items.description[i],
            ] {
                tokenize(field, &mut tokens);
            }
            for column in &items.attributes.values {
                tokenize(&column[i], &mut tokens);
            }
            docs.push(tokens);
        }
        let mut df: HashMap<&str, usize> = HashMap::new();
        for doc in &docs {
            let mut seen: Vec<&str> = doc.iter().map(String::as_str).collect();
            seen.sort_unstable();
            seen.dedup();
            for term in seen {
                *df.entry(term).or_default() += 1;
            }
        }
        let mut vocab: Vec<&str> = df
            .iter()
            .filter(|(_, &n)| n >= self.min_df)
            .map(|(&t, _)| t)
            .collect();
        vocab.sort_unstable();
        let index: HashMap<&str, u32> = vocab
            .iter()
            .enumerate()
            .map(|(k, &t)| (t, k as u32))
            .collect();
        let n_docs = docs.len() as f32;
        let mut indptr = vec![0u64];
        let mut terms = Vec::new();
        let mut values = Vec::new();
        for doc in &docs {
            let mut tf: Vec<(u32, f32)> = Vec::new();
            for token in doc {
                if let Some(&t) = index.get(token.as_str()) {
                    tf.push((t, 1.0));
                }
            }
            tf.sort_unstable_by_key(|&(t, _)| t);
            let mut row: Vec<(u32, f32)> = Vec::new();
            for (t, c) in tf {
                match row.last_mut() {
                    Some(last) if last.0 == t => last.1 += c,
                    _ => row.push((t, c)),
                }
            }
            for entry in &mut row {
                let df = df[vocab[entry.0 as usize]] as f32;
                entry.1 *= ((1.0 + n_docs) / (1.0 + df)).ln() + 1.0;
            }
            let norm = row.iter().map(|e| e.1 * e.1).sum::<f32>().sqrt();
            for (t, v) in row {
                terms.push(t);
                values.push(if norm > 0.0 { v / norm } else { 0.0 });
            }
            indptr.push(terms.len() as u64);
        }
        Ok(ContentModel {
            params: *self,
            history: History::of(train),
            n_terms: vocab.len(),
            indptr,
            terms,
            values,
        })
    }
}

impl ModelKind for ContentParams {
    const NAME: &'static str = "content";
    const ALIASES: &'static [&'static str] = &["tfidf"];

    fn parse(_: &str, params: &str) -> std::result::Result<ContentParams, String> {
        params_from(params, &[])
    }

    fn params_text(&self) -> String {
        non_default(self)
    }

    fn load(dir: &Path) -> Result<ContentModel> {
        ContentModel::load(dir)
    }
}

impl ContentModel {
    /// Reads a model written by [`Recommender::save`].
    pub fn load(dir: &Path) -> Result<ContentModel> {
        let file = ModelFile::read(dir)?;
        expect_kind(&file, "content")?;
        let params: ContentParams = file.params()?;
        let history = History::load(&file)?;
        let indptr = file.u64("tfidf.indptr")?;
        let terms = file.u32("tfidf.terms")?;
        let values = load_f32(&file, "tfidf.values", &[terms.len()])?;
        let n_terms = terms.iter().map(|&t| t as usize + 1).max().unwrap_or(0);
        let consistent = indptr.len() == history.n_items() + 1
            && indptr.windows(2).all(|w| w[0] <= w[1])
            && indptr.last().copied() == Some(terms.len() as u64);
        if !consistent {
            return Err(file.error("tf-idf arrays are inconsistent"));
        }
        Ok(ContentModel {
            params,
            history,
            n_terms,
            indptr,
            terms,
            values,
        })
    }

    fn row(&self, item: u32) -> (&[u32], &[f32]) {
        let range = self.indptr[item as usize] as usize..self.indptr[item as usize + 1] as usize;
        (&self.terms[range.clone()], &self.values[range])
    }
}

impl Recommender for ContentModel {
    fn kind(&self) -> &'static str {
        "content"
    }

    fn history(&self) -> &History {
        &self.history
    }

    fn score_user(&self, user: UserIdx, scores: &mut [f32]) {
        let items = self.history.items_of(user);
        let mut profile = vec![0.0f32; self.n_terms];
        for &i in items {
            let (terms, values) = self.row(i);
            for (&t, &v) in terms.iter().zip(values) {
                profile[t as usize] += v;
            }
        }
        // The mean's 1/|items| cancels in the cosine; divide by the profile norm only.
        let norm = profile.iter().map(|v| v * v).sum::<f32>().sqrt();
        let inv = if norm > 0.0 { 1.0 / norm } else { 0.0 };
        for (j, s) in scores.iter_mut().enumerate() {
            let (terms, values) = self.row(j as u32);
            let dot: f32 = terms
                .iter()
                .zip(values)
                .map(|(&t, &v)| profile[t as usize] * v)
                .sum();
            *s = dot * inv;
        }
    }

    fn write_files(&self, dir: &Path) -> Result<()> {
        let mut tensors = Tensors::default();
        self.history.save(&mut tensors);
        tensors.u64("tfidf.indptr", &self.indptr);
        tensors.u32("tfidf.terms", &self.terms);
        tensors.f32("tfidf.values", &[self.values.len()], &self.values);
        store::write(dir, "content", &self.params, tensors)
    }
}
