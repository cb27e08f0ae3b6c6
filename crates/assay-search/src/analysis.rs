//! Text analysis shared by indexing and querying: English words are lower-cased and stemmed,
//! Chinese runs are segmented with jieba. The choice is made per run of characters, so one
//! field may hold both ("Leiting 无线蓝牙耳机").

use std::sync::OnceLock;

use jieba_rs::Jieba;
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, Stemmer, TextAnalyzer, Token, TokenStream, Tokenizer,
};

/// Name under which [`analyzer`] is registered in the tantivy index.
pub(crate) const ANALYZER: &str = "assay_mixed";

static JIEBA: OnceLock<Jieba> = OnceLock::new();

fn jieba() -> &'static Jieba {
    JIEBA.get_or_init(Jieba::new)
}

/// True for characters of the CJK scripts that need a word segmenter.
pub(crate) fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0xF900..=0xFAFF | 0x20000..=0x2A6DF)
}

/// The language group a query is reported in: `zh` when it has a CJK character, else `en`.
pub fn query_language(query: &str) -> &'static str {
    if query.chars().any(is_cjk) {
        "zh"
    } else {
        "en"
    }
}

/// Splits text into alphanumeric runs; CJK runs go through jieba's search-mode segmentation.
#[derive(Clone, Default)]
pub(crate) struct MixedTokenizer;

/// The tokens of one text, produced eagerly.
pub(crate) struct MixedTokenStream {
    tokens: Vec<Token>,
    next: usize,
}

impl TokenStream for MixedTokenStream {
    fn advance(&mut self) -> bool {
        self.next += 1;
        self.next <= self.tokens.len()
    }
    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}

fn push(tokens: &mut Vec<Token>, text: &str, from: usize) {
    let position = tokens.len();
    tokens.push(Token {
        offset_from: from,
        offset_to: from + text.len(),
        position,
        text: text.to_owned(),
        position_length: 1,
    });
}

/// Tokenizes `text` into (unnormalised) words.
fn split(text: &str, tokens: &mut Vec<Token>) {
    // Runs of alphanumeric characters, each further split where the script changes.
    let mut start: Option<(usize, bool)> = None;
    let flush = |tokens: &mut Vec<Token>, from: usize, to: usize, cjk: bool| {
        let run = &text[from..to];
        if cjk {
            for word in jieba().cut_for_search(run, true) {
                if !word.word.trim().is_empty() {
                    push(tokens, word.word, from + word.byte_start);
                }
            }
        } else {
            push(tokens, run, from);
        }
    };
    for (i, c) in text.char_indices() {
        let word_char = c.is_alphanumeric();
        let cjk = is_cjk(c);
        match start {
            Some((_, run_cjk)) if word_char && run_cjk == cjk => {}
            Some((from, run_cjk)) => {
                flush(tokens, from, i, run_cjk);
                start = word_char.then_some((i, cjk));
            }
            None => start = word_char.then_some((i, cjk)),
        }
    }
    if let Some((from, cjk)) = start {
        flush(tokens, from, text.len(), cjk);
    }
}

impl Tokenizer for MixedTokenizer {
    type TokenStream<'a> = MixedTokenStream;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> MixedTokenStream {
        let mut tokens = Vec::new();
        split(text, &mut tokens);
        MixedTokenStream { tokens, next: 0 }
    }
}

/// The analyzer of every text field: mixed tokenizer, long tokens dropped, lower case,
/// English Snowball stemmer (which leaves Chinese words as they are).
pub(crate) fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(MixedTokenizer)
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(Stemmer::new(Language::English))
        .build()
}

/// The analysed terms of `text`, in order, duplicates kept.
pub(crate) fn terms(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_is_stemmed_and_chinese_segmented() {
        let mut a = analyzer();
        assert_eq!(
            terms(&mut a, "Running Shoes, RED!"),
            vec!["run", "shoe", "red"]
        );
        let zh = terms(&mut a, "无线蓝牙耳机");
        assert!(zh.contains(&"蓝牙".to_string()), "{zh:?}");
        assert!(zh.contains(&"耳机".to_string()), "{zh:?}");
        let mixed = terms(&mut a, "Leiting无线耳机 pro");
        assert_eq!(mixed.first().map(String::as_str), Some("leit"));
        assert!(mixed.contains(&"耳机".to_string()), "{mixed:?}");
        assert_eq!(mixed.last().map(String::as_str), Some("pro"));
        assert!(terms(&mut a, "  ,;  ").is_empty());
    }
}
