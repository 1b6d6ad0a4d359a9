//! Prometheus expositions read by a real parser: the reference Python client's
//! (`prometheus_client.parser`, in the test venv), not a parser of our own that would share
//! our misreadings of the format.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::python;

/// One sample as the parser read it.
#[derive(Debug, Clone)]
pub struct Sample {
    /// The family's name (for a counter, without `_total`).
    pub family: String,
    /// `counter`, `gauge`, ... or `unknown` when no `# TYPE` line named it.
    pub kind: String,
    /// The `# HELP` text.
    pub help: String,
    /// The sample's own name.
    pub name: String,
    /// Its labels, sorted by name.
    pub labels: Vec<(String, String)>,
    /// Its value.
    pub value: f64,
}

/// Parses `text`; panics with the parser's complaint when it is not a valid exposition.
pub fn parse(text: &str) -> Vec<Sample> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/prom_parse.py");
    let mut child = Command::new(python())
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run prom_parse.py");
    child.stdin.take().expect("stdin").write_all(text.as_bytes()).expect("write exposition");
    let out = child.wait_with_output().expect("prom_parse.py output");
    assert!(
        out.status.success(),
        "prometheus_client could not parse the exposition (is prometheus_client in the test \
         venv? scripts/test installs it): {}\n---\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("parser JSON");
    rows.iter()
        .map(|row| {
            let text = |key: &str| row[key].as_str().expect(key).to_owned();
            let mut labels: Vec<(String, String)> = row["labels"]
                .as_object()
                .expect("labels")
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().expect("label value").to_owned()))
                .collect();
            labels.sort();
            Sample {
                family: text("family"),
                kind: text("type"),
                help: text("help"),
                name: text("name"),
                labels,
                value: text("value").parse().expect("a float"),
            }
        })
        .collect()
}

/// The value of sample `name` with exactly `labels` (any order), if present.
pub fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut wanted: Vec<(String, String)> =
        labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    wanted.sort();
    samples.iter().find(|s| s.name == name && s.labels == wanted).map(|s| s.value)
}

/// Every value of label `label` among the samples named `name`.
pub fn label_values(samples: &[Sample], name: &str, label: &str) -> Vec<String> {
    samples
        .iter()
        .filter(|s| s.name == name)
        .filter_map(|s| s.labels.iter().find(|(k, _)| k == label).map(|(_, v)| v.clone()))
        .collect()
}
