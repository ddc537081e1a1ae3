//! `stratus models --server a,b,c`: whether every replica serves the same
//! model versions from the same libraries (sha256), and where they drift.
//! The check a rollout of a new model version ends with.

use comfy_table::{Cell, Table, presets};
use stratus_client::proto;

/// What one replica answered to ListModels.
pub struct Replica {
    /// Its endpoint.
    pub url: String,
    /// Its models, or why it did not answer.
    pub models: Result<Vec<proto::ModelInfo>, tonic::Status>,
}

/// One model version across the replicas.
#[derive(Debug, PartialEq)]
pub struct Row {
    pub name: String,
    pub version: String,
    /// Each distinct sha256 with the replicas serving it.
    pub libraries: Vec<(String, Vec<String>)>,
    /// Replicas that answered but do not serve this version.
    pub missing_on: Vec<String>,
}

impl Row {
    fn agrees(&self) -> bool {
        self.libraries.len() == 1 && self.missing_on.is_empty()
    }

    fn verdict(&self) -> String {
        let mut problems = Vec::new();
        if !self.missing_on.is_empty() {
            problems.push(format!("missing on {}", self.missing_on.join(", ")));
        }
        if self.libraries.len() > 1 {
            let shas: Vec<String> = self
                .libraries
                .iter()
                .map(|(sha, on)| format!("{} on {}", short(sha), on.join(", ")))
                .collect();
            problems.push(format!("sha256 differs: {}", shas.join("; ")));
        }
        if problems.is_empty() {
            "yes".to_owned()
        } else {
            format!("DRIFT: {}", problems.join("; "))
        }
    }
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// Compares the replicas that answered, model version by model version, in
/// name then version order.
pub fn compare(replicas: &[Replica]) -> Vec<Row> {
    let answered: Vec<(&str, &[proto::ModelInfo])> = replicas
        .iter()
        .filter_map(|r| r.models.as_deref().ok().map(|m| (r.url.as_str(), m)))
        .collect();
    let mut keys: Vec<(&str, &str)> = answered
        .iter()
        .flat_map(|(_, models)| models.iter().map(|m| (m.name.as_str(), m.version.as_str())))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys.into_iter()
        .map(|(name, version)| {
            let mut row = Row {
                name: name.to_owned(),
                version: version.to_owned(),
                libraries: Vec::new(),
                missing_on: Vec::new(),
            };
            for (url, models) in &answered {
                match models
                    .iter()
                    .find(|m| m.name == name && m.version == version)
                {
                    Some(model) => {
                        match row
                            .libraries
                            .iter_mut()
                            .find(|(sha, _)| *sha == model.sha256)
                        {
                            Some((_, on)) => on.push((*url).to_owned()),
                            None => row
                                .libraries
                                .push((model.sha256.clone(), vec![(*url).to_owned()])),
                        }
                    }
                    None => row.missing_on.push((*url).to_owned()),
                }
            }
            row
        })
        .collect()
}

/// Whether every replica answered and all serve the same model versions
/// from the same libraries.
pub fn agree(replicas: &[Replica]) -> bool {
    replicas.iter().all(|r| r.models.is_ok()) && compare(replicas).iter().all(Row::agrees)
}

/// The table, then one line per replica that did not answer, then the
/// verdict.
pub fn render(replicas: &[Replica]) -> String {
    let rows = compare(replicas);
    let mut table = Table::new();
    table
        .load_preset(presets::NOTHING)
        .set_header(["NAME", "VERSION", "SHA256", "SERVED BY", "SAME EVERYWHERE"].map(Cell::new));
    let answered = replicas.iter().filter(|r| r.models.is_ok()).count();
    for row in &rows {
        let served: usize = row.libraries.iter().map(|(_, on)| on.len()).sum();
        let shas: Vec<&str> = row.libraries.iter().map(|(sha, _)| short(sha)).collect();
        table.add_row(vec![
            Cell::new(&row.name),
            Cell::new(&row.version),
            Cell::new(shas.join(" / ")),
            Cell::new(format!("{served}/{answered}")),
            Cell::new(row.verdict()),
        ]);
    }
    let mut out = format!("{table}\n");
    for replica in replicas {
        if let Err(status) = &replica.models {
            out.push_str(&format!(
                "{} did not answer: {:?}: {}\n",
                replica.url,
                status.code(),
                status.message()
            ));
        }
    }
    let drifting = rows.iter().filter(|r| !r.agrees()).count();
    let unanswered = replicas.len() - answered;
    out.push_str(&match (drifting, unanswered) {
        (0, 0) => format!("all {} replicas serve the same models\n", replicas.len()),
        (0, n) => format!("the {answered} replicas that answered agree; {n} did not answer\n"),
        (1, _) => "DRIFT: 1 model version differs between replicas\n".to_owned(),
        (d, _) => format!("DRIFT: {d} model versions differ between replicas\n"),
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(name: &str, version: &str, sha: &str) -> proto::ModelInfo {
        proto::ModelInfo {
            name: name.into(),
            version: version.into(),
            sha256: sha.into(),
            ..Default::default()
        }
    }

    fn replica(url: &str, models: Vec<proto::ModelInfo>) -> Replica {
        Replica {
            url: url.into(),
            models: Ok(models),
        }
    }

    #[test]
    fn same_libraries_everywhere_agree() {
        let replicas = [
            replica("a", vec![model("naive", "1", "aa")]),
            replica("b", vec![model("naive", "1", "aa")]),
        ];
        let out = render(&replicas);
        assert!(
            out.contains("all 2 replicas serve the same models"),
            "{out}"
        );
        assert!(out.contains("2/2") && out.contains("yes"), "{out}");
    }

    #[test]
    fn a_missing_version_and_a_different_library_are_flagged() {
        let replicas = [
            replica(
                "a",
                vec![model("naive", "1", "aa"), model("naive", "2", "bb")],
            ),
            replica("b", vec![model("naive", "1", "cc")]),
            Replica {
                url: "c".into(),
                models: Err(tonic::Status::unavailable("connection refused")),
            },
        ];
        let rows = compare(&replicas);
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0].libraries,
            [
                ("aa".into(), vec!["a".into()]),
                ("cc".into(), vec!["b".into()])
            ]
        );
        assert_eq!(rows[1].missing_on, ["b"]);
        let out = render(&replicas);
        assert!(!agree(&replicas));
        assert!(out.contains("DRIFT: 2 model versions differ"), "{out}");
        assert!(out.contains("missing on b"), "{out}");
        assert!(out.contains("c did not answer: Unavailable"), "{out}");
    }
}
