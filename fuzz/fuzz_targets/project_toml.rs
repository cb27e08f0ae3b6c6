//! The `assay.toml` of a shop project: the input is the configuration, read beside fixed, valid
//! data files (items, users, two event files, judgments, a FAQ) that it may name in any way.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use assay_fuzz::{check_dataset, check_error, scratch, write};
use assay_import::{load, read_project_faq, LoadOptions, PROJECT_FILE};
use libfuzzer_sys::fuzz_target;

const FILES: [(&str, &str); 6] = [
    (
        "items.csv",
        "sku,name,desc,category_path,brand,price,color\n\
         A1,Red dress,\"Long, red\",Women/Dresses/Maxi,Acme,19.90,red\n\
         B2,Blue shirt,,Men/Shirts,,,blue\n\
         C3,Socks,,,,0,\n",
    ),
    (
        "users.tsv",
        "customer_id\tsegment\tregion\nu1\tvip\teu\nu2\tnew\t\n",
    ),
    (
        "events.csv",
        "customer_id,sku,event_type,amount,ts,session_id,query,pos,p_log,channel\n\
         u1,A1,impression,,2024-01-01T10:00:00Z,s1,red dress,1,0.25,app\n\
         u1,A1,click,,2024-01-01T10:00:05.5+01:00,s1,red dress,1,0.25,app\n\
         u2,B2,Add_To_Cart,,1704103200,s2,,,,web\n\
         u2,B2,purchase,25.5,1704103200.9,s2,,,,\n\
         u9,B2,click,,,,,,,web\n",
    ),
    (
        "partner.jsonl",
        "{\"customer_id\": \"u1\", \"sku\": \"C3\", \"amount\": 4}\n\
         {\"customer_id\": \"u2\", \"sku\": \"A1\", \"amount\": null}\n",
    ),
    (
        "judgments.tsv",
        "query_id\tquery\titem_id\tgrade\nq1\tred dress\tA1\t2\nq2\tsocks\tZZ\t1\n",
    ),
    (
        "faq.tsv",
        "id\tquestion\tanswer\nf1\tHow do I return?\tWithin 30 days.\n",
    ),
];

fuzz_target!(|data: &[u8]| {
    // The configuration names files by path; keep the reader among the files above rather than
    // let it wander into devices (`/dev/zero`, `/dev/stdin`) that never end.
    let escapes = |needle: &[u8]| data.windows(needle.len()).any(|w| w == needle);
    if escapes(b"dev") || escapes(b"proc") || escapes(b"sys") || escapes(b"\\u") || escapes(b"\\U")
    {
        return;
    }
    // Readers never write, so the data files are written once and only the configuration changes.
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = scratch("project_toml");
        for (name, text) in FILES {
            write(&dir, name, text.as_bytes());
        }
        dir
    });
    let toml = write(dir, PROJECT_FILE, data);
    // The configuration's own `unknown_refs` applies: the data files are fixed, so overriding it
    // would only read them again.
    match load(dir, &LoadOptions::default()) {
        Ok(loaded) => {
            check_dataset(&loaded.dataset);
            let rows: u64 = loaded.report.files.iter().map(|f| f.rows).sum();
            let dropped: u64 = loaded.report.dropped.iter().map(|d| d.count).sum();
            assert!(dropped <= rows, "{dropped} rows dropped of {rows}");
            let data = &loaded.dataset;
            let kept = (data.items.len() + data.events.len() + data.judgments.len()) as u64;
            assert!(kept <= rows, "{kept} rows kept of {rows} read");
        }
        Err(error) => check_error(&error),
    }
    // Without the word there is no `[faq]` table, and the answer is the same refusal every time.
    if data.windows(3).any(|w| w == b"faq") {
        match read_project_faq(&toml) {
            Ok(faq) => {
                assert_eq!(
                    faq.entries.len() as u64,
                    faq.file.rows,
                    "one entry per FAQ row"
                );
            }
            Err(error) => check_error(&error),
        }
    }
});
