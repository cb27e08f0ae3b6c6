//! FAQ files: declared under `[faq]` in `assay.toml`, read on their own.

use std::fs;

use assay_import::{read_faq, read_project_faq, FaqEntry};

fn project(faq_name: &str, faq: &str, declare: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("items.csv"), "id,title\na,Shirt\n").unwrap();
    fs::write(dir.path().join("events.csv"), "user,item\nu,a\n").unwrap();
    let mut toml = "[items]\npath = \"items.csv\"\nid = \"id\"\ntitle = \"title\"\n\n\
                    [[events]]\npath = \"events.csv\"\nuser = \"user\"\nitem = \"item\"\n\
                    kind = { constant = \"purchase\" }\n"
        .to_owned();
    if declare {
        toml.push_str(&format!("\n[faq]\npath = \"{faq_name}\"\n"));
    }
    fs::write(dir.path().join("assay.toml"), toml).unwrap();
    fs::write(dir.path().join(faq_name), faq).unwrap();
    dir
}

#[test]
fn a_declared_csv_faq_is_read_in_file_order() {
    let dir = project(
        "faq.csv",
        "id,question,answer\nship,How long is shipping?,Three days.\nret,\"Can I return it?\",\"Yes, within 30 days.\"\n",
        true,
    );
    let faq = read_project_faq(dir.path()).unwrap();
    assert_eq!(
        faq.entries,
        vec![
            FaqEntry {
                id: "ship".into(),
                question: "How long is shipping?".into(),
                answer: "Three days.".into()
            },
            FaqEntry {
                id: "ret".into(),
                question: "Can I return it?".into(),
                answer: "Yes, within 30 days.".into()
            },
        ]
    );
    assert_eq!(faq.file.rows, 2);
    // The dataset itself still loads with the [faq] table present.
    let loaded = assay_import::load(
        dir.path(),
        &assay_import::LoadOptions::new(assay_import::UnknownRefs::Fail),
    )
    .unwrap();
    assert_eq!(loaded.dataset.items.len(), 1);
}

#[test]
fn without_an_id_column_ids_are_row_numbers() {
    let dir = project("faq.tsv", "question\tanswer\nQ1\tA1\nQ2\tA2\n", true);
    let faq = read_faq(&dir.path().join("faq.tsv")).unwrap();
    let ids: Vec<&str> = faq.entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["1", "2"]);
}

#[test]
fn jsonl_faq_is_read() {
    let dir = project(
        "faq.jsonl",
        "{\"id\":\"x\",\"question\":\"Q\",\"answer\":\"A\"}\n",
        true,
    );
    let faq = read_project_faq(&dir.path().join("assay.toml")).unwrap();
    assert_eq!(faq.entries[0].id, "x");
    assert_eq!(faq.entries[0].answer, "A");
}

#[test]
fn errors_name_file_line_and_field() {
    let dir = project("faq.csv", "id,question,answer\na,Q,A\na,Q2,A2\n", true);
    let e = read_project_faq(dir.path()).unwrap_err().to_string();
    assert!(
        e.contains("faq.csv") && e.contains('3') && e.contains("id"),
        "{e}"
    );
    assert!(e.contains("duplicate id 'a'"), "{e}");

    let dir = project("faq.csv", "id,question,answer\na,Q,\n", true);
    let e = read_project_faq(dir.path()).unwrap_err().to_string();
    assert!(e.contains("faq.csv:2") && e.contains("answer"), "{e}");

    let dir = project("faq.csv", "id,question\na,Q\n", true);
    let e = read_project_faq(dir.path()).unwrap_err().to_string();
    assert!(e.contains("missing column 'answer'"), "{e}");
}

#[test]
fn a_project_without_faq_says_how_to_declare_one() {
    let dir = project("faq.csv", "question,answer\nQ,A\n", false);
    let e = read_project_faq(dir.path()).unwrap_err().to_string();
    assert!(e.contains("assay.toml") && e.contains("[faq]"), "{e}");
}

#[test]
fn unknown_keys_in_faq_are_refused() {
    let dir = project("faq.csv", "question,answer\nQ,A\n", true);
    let toml = dir.path().join("assay.toml");
    let text = fs::read_to_string(&toml).unwrap() + "column = \"q\"\n";
    fs::write(&toml, text).unwrap();
    let e = read_project_faq(dir.path()).unwrap_err().to_string();
    assert!(e.contains("faq") && e.contains("column"), "{e}");
}
