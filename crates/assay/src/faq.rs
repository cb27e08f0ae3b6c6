//! `assay faq`: answers from a shop's FAQ, or a plain "no confident answer".

use std::path::PathBuf;

use anyhow::Context;
use assay_encoder::EncoderSpec;
use assay_search::{FaqIndex, FaqPair};
use clap::Args;
use serde::Serialize;

use crate::catalog::open_encoder;
use crate::cli::EncoderArg;
use crate::output::{print_json, Table};
use crate::BadInput;

/// The flags of `assay faq`.
#[derive(Debug, Args)]
pub struct FaqArgs {
    /// The shop project: a directory holding assay.toml (with a `[faq]` table), or the file.
    pub data: PathBuf,
    /// The shopper's question (at most 4096 bytes).
    #[arg(required_unless_present = "eval", conflicts_with = "eval")]
    pub question: Option<String>,
    /// Instead of one question, measure the FAQ on a file of test questions: columns
    /// `question` and `faq_id` (the entry that answers it, empty when the FAQ cannot and the
    /// right reply is to abstain), optionally `kind`, such as a shop simulator's
    /// `truth/faq_questions.csv`. Prints the top-1 accuracy and how often it abstains, per
    /// kind and in all.
    #[arg(long, value_name = "FILE")]
    pub eval: Option<PathBuf>,
    /// Number of answers to show.
    #[arg(short, long, default_value_t = 3)]
    pub k: usize,
    /// The least cosine similarity between the question and the best FAQ entry for a
    /// confident answer; below it the command says it has no confident answer.
    #[arg(long, default_value_t = 0.5)]
    pub threshold: f32,
    /// The sentence encoder.
    #[arg(long, value_enum, default_value = "minilm")]
    pub encoder: EncoderArg,
    /// This model folder instead of the fetched all-MiniLM-L6-v2 (with --encoder ort, run on
    /// ONNX Runtime in fp32).
    #[arg(long, value_name = "DIR")]
    pub encoder_model: Option<PathBuf>,
    /// Print the answers as JSON.
    #[arg(long)]
    pub json: bool,
}

/// One ranked answer, with the FAQ entry's id.
#[derive(Debug, Serialize)]
struct Answer {
    id: String,
    question: String,
    answer: String,
    score: f32,
    cosine: Option<f32>,
    bm25: Option<f32>,
}

#[derive(Debug, Serialize)]
struct Reply {
    question: String,
    /// Whether the best answer clears the threshold.
    confident: bool,
    threshold: f32,
    answers: Vec<Answer>,
}

/// Runs `assay faq`.
pub fn run(args: FaqArgs) -> anyhow::Result<()> {
    if !(0.0..=1.0).contains(&args.threshold) {
        return Err(BadInput(format!(
            "--threshold must be a cosine between 0 and 1, found {}",
            args.threshold
        ))
        .into());
    }
    if args.k == 0 {
        return Err(BadInput("--k must be at least 1".to_owned()).into());
    }
    let faq = assay_import::read_project_faq(&args.data)?;
    let spec = EncoderSpec {
        model_dir: args.encoder_model.clone(),
        ..crate::catalog::encoder_spec_of(args.encoder, 0)
    };
    // Read before the encoder loads, so that a bad file fails at once.
    let questions = args
        .eval
        .as_deref()
        .map(|path| assay_import::read_faq_questions(path, &faq.entries))
        .transpose()
        .map_err(|e| BadInput(format!("--eval: {e}")))?;
    let encoder = open_encoder(&spec)?;
    let index = build(&faq.entries, encoder)?;
    if let Some(questions) = questions {
        let tallies = evaluate(&index, &faq.entries, &questions, args.threshold)?;
        if args.json {
            return print_json(&serde_json::json!({
                "threshold": args.threshold,
                "kinds": tallies,
            }));
        }
        print_tallies(&tallies, args.threshold)?;
        return Ok(());
    }
    let question = args.question.as_deref().unwrap_or_default();
    let reply = answer(&index, &faq.entries, question, args.k, args.threshold)?;
    if args.json {
        return print_json(&reply);
    }
    print_reply(&reply);
    Ok(())
}

/// Indexes the FAQ entries in RAM.
fn build(
    entries: &[assay_import::FaqEntry],
    encoder: std::sync::Arc<dyn assay_encoder::Encoder>,
) -> anyhow::Result<FaqIndex> {
    let pairs = entries
        .iter()
        .map(|e| FaqPair {
            question: e.question.clone(),
            answer: e.answer.clone(),
        })
        .collect();
    FaqIndex::build(pairs, encoder).context("indexing the FAQ")
}

/// Ranks the FAQ entries for `question`; the reply is confident when the best entry's cosine
/// reaches `threshold`.
fn answer(
    index: &FaqIndex,
    entries: &[assay_import::FaqEntry],
    question: &str,
    k: usize,
    threshold: f32,
) -> anyhow::Result<Reply> {
    let hits = index.answer(question, k)?;
    let answers: Vec<Answer> = hits
        .into_iter()
        .map(|hit| {
            // The index hands back the entry's question; questions name their entry (the first
            // one, should a FAQ repeat a question).
            let id = entries
                .iter()
                .find(|e| e.question == hit.question && e.answer == hit.answer)
                .map(|e| e.id.clone())
                .unwrap_or_default();
            Answer {
                id,
                question: hit.question,
                answer: hit.answer,
                score: hit.score,
                cosine: hit.cosine,
                bm25: hit.bm25,
            }
        })
        .collect();
    let confident = answers
        .first()
        .and_then(|a| a.cosine)
        .is_some_and(|c| c >= threshold);
    Ok(Reply {
        question: question.to_owned(),
        confident,
        threshold,
        answers,
    })
}

/// How a FAQ answered test questions of one kind (or all of them, kind `all`).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
struct Tally {
    kind: String,
    asked: u32,
    /// Questions with an entry that answers them.
    answerable: u32,
    /// Answerable questions whose best entry is the right one, whatever the threshold.
    top1_right: u32,
    /// Answerable questions answered, with the right entry, above the threshold.
    answered_right: u32,
    /// Answerable questions abstained on.
    abstained_answerable: u32,
    /// Questions the FAQ cannot answer.
    unanswerable: u32,
    /// Of those, the ones abstained on (the right reply).
    abstained_unanswerable: u32,
    /// Confident replies with a wrong entry, or to a question the FAQ cannot answer.
    wrong_answers: u32,
    /// top1_right / answerable.
    top1_accuracy: Option<f64>,
    /// abstained_answerable / answerable.
    abstention_answerable: Option<f64>,
    /// abstained_unanswerable / unanswerable.
    abstention_unanswerable: Option<f64>,
}

impl Tally {
    fn add(&mut self, expected: Option<&str>, reply: &Reply) {
        let best = reply.answers.first().map(|a| a.id.as_str());
        self.asked += 1;
        match expected {
            Some(id) => {
                let right = best == Some(id);
                self.answerable += 1;
                self.top1_right += u32::from(right);
                self.answered_right += u32::from(right && reply.confident);
                self.abstained_answerable += u32::from(!reply.confident);
                self.wrong_answers += u32::from(!right && reply.confident);
            }
            None => {
                self.unanswerable += 1;
                self.abstained_unanswerable += u32::from(!reply.confident);
                self.wrong_answers += u32::from(reply.confident);
            }
        }
    }

    fn finish(mut self) -> Tally {
        let share = |n: u32, of: u32| (of > 0).then(|| f64::from(n) / f64::from(of));
        self.top1_accuracy = share(self.top1_right, self.answerable);
        self.abstention_answerable = share(self.abstained_answerable, self.answerable);
        self.abstention_unanswerable = share(self.abstained_unanswerable, self.unanswerable);
        self
    }
}

/// Answers every test question: one tally per kind (in the order first seen), then `all`.
fn evaluate(
    index: &FaqIndex,
    entries: &[assay_import::FaqEntry],
    questions: &[assay_import::FaqQuestion],
    threshold: f32,
) -> anyhow::Result<Vec<Tally>> {
    let mut kinds: Vec<Tally> = Vec::new();
    let mut all = Tally {
        kind: "all".into(),
        ..Tally::default()
    };
    for q in questions {
        let reply = answer(index, entries, &q.question, 1, threshold)?;
        let expected = q.entry.as_deref();
        all.add(expected, &reply);
        if let Some(kind) = &q.kind {
            let at = match kinds.iter().position(|t| &t.kind == kind) {
                Some(at) => at,
                None => {
                    kinds.push(Tally {
                        kind: kind.clone(),
                        ..Tally::default()
                    });
                    kinds.len() - 1
                }
            };
            kinds[at].add(expected, &reply);
        }
    }
    kinds.push(all);
    Ok(kinds.into_iter().map(Tally::finish).collect())
}

fn print_tallies(tallies: &[Tally], threshold: f32) -> std::io::Result<()> {
    let percent =
        |share: Option<f64>| share.map_or("-".to_owned(), |s| format!("{:.1}%", 100.0 * s));
    let mut table = Table::new(&[
        "kind",
        "asked",
        "top-1 right",
        "answered right",
        "abstained (answerable)",
        "abstained (unanswerable)",
        "wrong answers",
    ]);
    for t in tallies {
        table.row(vec![
            t.kind.clone(),
            t.asked.to_string(),
            format!(
                "{}/{} {}",
                t.top1_right,
                t.answerable,
                percent(t.top1_accuracy)
            ),
            format!("{}/{}", t.answered_right, t.answerable),
            format!(
                "{}/{} {}",
                t.abstained_answerable,
                t.answerable,
                percent(t.abstention_answerable)
            ),
            format!(
                "{}/{} {}",
                t.abstained_unanswerable,
                t.unanswerable,
                percent(t.abstention_unanswerable)
            ),
            t.wrong_answers.to_string(),
        ]);
    }
    println!("FAQ test questions at threshold {threshold:.2} (top-1 right: whatever the threshold; answered right: right and confident)");
    table.print()
}

fn print_reply(reply: &Reply) {
    match reply.answers.first() {
        Some(best) if reply.confident => {
            println!("{}", best.answer);
            println!(
                "  (FAQ {}: \"{}\", cosine {:.3})",
                best.id,
                best.question,
                best.cosine.unwrap_or(0.0)
            );
        }
        best => {
            println!(
                "No confident answer: no FAQ entry is close enough to this question (threshold \
                 {:.2}).",
                reply.threshold
            );
            if let Some(best) = best {
                println!(
                    "  closest: FAQ {}: \"{}\" (cosine {:.3})",
                    best.id,
                    best.question,
                    best.cosine.unwrap_or(0.0)
                );
            }
        }
    }
    if reply.answers.len() > 1 {
        println!("Other candidates:");
        for a in &reply.answers[1..] {
            println!(
                "  {}: \"{}\" (cosine {:.3})",
                a.id,
                a.question,
                a.cosine.unwrap_or(0.0)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use assay_encoder::EncoderKind;

    /// Answers every question of a simulated shop's `truth/faq_questions.csv`, by kind.
    fn measure(spec: &EncoderSpec, threshold: f32) -> (BTreeMap<String, Tally>, u32) {
        let tmp = tempfile::tempdir().unwrap();
        let shop = tmp.path().join("shop");
        assay_sim::simulate(&assay_sim::SimConfig::small(5), &shop).unwrap();
        let faq = assay_import::read_project_faq(&shop).unwrap();
        let index = build(&faq.entries, open_encoder(spec).unwrap()).unwrap();
        let questions =
            assay_import::read_faq_questions(&shop.join("truth/faq_questions.csv"), &faq.entries)
                .unwrap();
        let tallies = evaluate(&index, &faq.entries, &questions, threshold).unwrap();
        eprintln!("{} at {threshold}: {tallies:?}", spec.kind.name());
        let tallies = tallies.into_iter().map(|t| (t.kind.clone(), t)).collect();
        (tallies, faq.entries.len() as u32)
    }

    fn reply(best: &str, confident: bool) -> Reply {
        Reply {
            question: String::new(),
            confident,
            threshold: 0.5,
            answers: vec![Answer {
                id: best.into(),
                question: String::new(),
                answer: String::new(),
                score: 0.0,
                cosine: None,
                bm25: None,
            }],
        }
    }

    #[test]
    fn tally_counts_by_hand() {
        let mut t = Tally::default();
        t.add(Some("a"), &reply("a", true)); // right and answered
        t.add(Some("a"), &reply("a", false)); // right at top 1, abstained
        t.add(Some("b"), &reply("a", true)); // wrong answer
        t.add(Some("b"), &reply("a", false)); // wrong at top 1, abstained
        t.add(None, &reply("a", false)); // abstained, rightly
        t.add(None, &reply("a", true)); // answered what it cannot answer
        let t = t.finish();
        assert_eq!((t.asked, t.answerable, t.unanswerable), (6, 4, 2));
        assert_eq!((t.top1_right, t.answered_right), (2, 1));
        assert_eq!((t.abstained_answerable, t.abstained_unanswerable), (2, 1));
        assert_eq!(t.wrong_answers, 2);
        assert_eq!(t.top1_accuracy, Some(0.5));
        assert_eq!(t.abstention_answerable, Some(0.5));
        assert_eq!(t.abstention_unanswerable, Some(0.5));
        assert_eq!(Tally::default().finish().top1_accuracy, None);
    }

    #[test]
    fn simulated_faq_questions_are_answered_or_abstained_on() {
        // The encoder `--encoder hash` opens, at the default threshold.
        let spec = EncoderSpec {
            kind: EncoderKind::Hash,
            threads: 0,
            onnx_model: None,
            model_dir: None,
        };
        let (tally, n_entries) = measure(&spec, 0.5);
        // Every entry is asked once as written, and its own question is its best match: it shares
        // every word with it, both lexically and in the bag of words. (Whether the reply is
        // confident depends on the answer's length too: the embedding covers both.)
        assert_eq!(tally["exact"].asked, n_entries);
        assert_eq!(tally["exact"].top1_right, n_entries);
        assert_eq!(tally["paraphrase"].asked, n_entries);
        // Off-topic questions share at most a few function words with shop questions.
        let off = &tally["unanswerable"];
        assert!(
            off.abstained_unanswerable * 10 >= off.asked * 8,
            "{tally:?}"
        );
    }

    /// The same with the MiniLM sample pack. Measured at 0.5: exact 34 of 34 right and
    /// confident, paraphrases 23 of 34 right at top 1, all 12 off-topic questions abstained on.
    #[test]
    fn simulated_faq_with_minilm() {
        let Some(dir) = assay_fetch::samples::sample_data_or_skip(assay_fetch::Pack::Minilm) else {
            return;
        };
        let spec = EncoderSpec {
            kind: EncoderKind::Minilm,
            threads: 0,
            onnx_model: None,
            model_dir: Some(dir),
        };
        let (tally, n_entries) = measure(&spec, 0.5);
        // An entry's own question shares every word with it, so it is the best match.
        assert_eq!(tally["exact"].asked, n_entries);
        assert_eq!(tally["exact"].top1_right, n_entries);
        // Floors well below what was measured: most paraphrases find their entry, and
        // off-topic questions are abstained on as often as with the bag of words.
        let para = &tally["paraphrase"];
        assert!(para.top1_right * 2 >= para.asked, "{tally:?}");
        let off = &tally["unanswerable"];
        assert!(
            off.abstained_unanswerable * 10 >= off.asked * 8,
            "{tally:?}"
        );
        // The overall row adds up the kinds.
        let all = &tally["all"];
        assert_eq!(
            all.asked,
            tally
                .values()
                .filter(|t| t.kind != "all")
                .map(|t| t.asked)
                .sum::<u32>()
        );
    }
}
